# How many displays the hub reports to (firmware/han/se/hub.py REPORT_SLOTS): each of our
# displays subscribes to 5 attributes (han/se/ihd_peer.py: demand, summation and today's
# consumption on the ESI endpoint 1; the gas mirror's summation and its capture time on
# endpoint 2). A 4th display once found the 16 slots taken and got no reports at all
# (tools.han se-day --displays 4). Eight are served; the 9th gets INSUFFICIENT_SPACE
# (0x89), and its other records too. Configure Reporting octets by hand (ZCL 07-5123
# 2.5.7). Portable: tiers 1 and 2.
from hal.clock import FakeClock
from han.se.hub import Hub
from registers.clock import DST_EU
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView

T0 = 1795694400

# Configure Reporting (fc 00, cmd 06), direction 0, per record: attribute, type, min, max,
# reportable change (sized by the type).
ESI = ("0004" "2a" "0100" "1e00" "010000"           # InstantaneousDemand int24, 1..30 s
       "0000" "25" "0500" "3c00" "010000000000"     # CurrentSummationDelivered uint48
       "0104" "22" "0500" "2c01" "010000")          # CurrentDayConsumptionDelivered uint24
MIRROR = ("0000" "25" "0100" "8403" "010000000000"  # the gas summation, 1..900 s
          "0700" "e2" "0100" "8403" "01000000")     # ReadingSnapShotTime UTC


def test_eight_displays_get_their_reports_the_ninth_is_told_there_is_no_room():
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(T0)
    hub = Hub(regs.clock, RegistersView(regs), 3600, DST_EU, clock, store=regs.store,
              power_w=lambda: 1500)
    sent = []

    def send(dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack, secure):
        sent.append((dst, src_ep, bytes(payload[:n])))
        return 1

    hub.router.send = send
    for k in range(9):
        short = 0x0010 + k
        for ep, records, seq in ((1, ESI, 0x40 + k), (2, MIRROR, 0x60 + k)):
            frame = bytes.fromhex("00%02x06" % seq) + b"".join(
                b"\x00" + bytes.fromhex(r) for r in _split(records))
            del sent[:]
            hub.router.receive(short, 1, ep, 0x0702, 0x0109, frame, 0, len(frame), 0, False)
            answer = sent[0][2]
            if k < 8:
                # Configure Reporting Response, all records SUCCESS: one status octet.
                assert answer == bytes.fromhex("18%02x0700" % seq), (k, ep, answer.hex())
            else:
                # Each record's status 0x89, direction 00 and its attribute.
                ids = [r[:4] for r in _split(records)]
                want = "18%02x07" % seq + "".join("89" "00" + a for a in ids)
                assert answer == bytes.fromhex(want), (k, ep, answer.hex())
    assert hub.engine.used() == 40


def _split(records):
    """The records of a hex string of attribute records (id, type, min, max, change)."""
    sizes = {"2a": 3, "22": 3, "25": 6, "e2": 4}
    out = []
    i = 0
    while i < len(records):
        t = records[i + 4:i + 6]
        n = 2 * (2 + 1 + 2 + 2 + sizes[t])
        out.append(records[i:i + n])
        i += n
    return out
