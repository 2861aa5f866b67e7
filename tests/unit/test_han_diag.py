# HAN diagnostics (firmware/han/diag.py) on the simulated medium: a device registered with
# its install code joins the coordinator at 4 m, reports, moves to 10 m; the coordinator's
# diagnostics hold the installation link quality (persisted), the live and smoothed link
# quality, frames, acknowledgements, missing acks, refused frames, the battery from a
# Power Configuration report, and the transaction log entries; the console's read-only
# HUB STATUS line answers them as JSON lines. Portable: tiers 1 and 2.
import json

from app import console
from hal.clock import FakeClock
from han import radio_sim
from han import diag as hd
from han.node import JOINER_ADD, HanNode, joiner_handler
from han.nwk.layer import REFUSED_MIC, REFUSED_NOT_FOR_US
from registers import logs
from registers.memfs import MemoryFs
from registers.store import RecordStore
from support import NoAllocation
from zb_net import run_medium

T0 = 1795694400  # 2026-11-26 12:00:00 UTC
COORD = bytes.fromhex("0004A30B00C0FFEE")
DEVICE = bytes.fromhex("0004A30B12345678")
OTHER = bytes.fromhex("0004A30B0BADF00D")  # never registered
CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")  # HAN.md's vector
# radio_sim: RSSI = 0 dBm - 40 - 30 log10(d); LQI = int((RSSI + 95) * 255 / 50).
LQI_4M, RSSI_4M = 188, -58  # -58.06 dBm
LQI_10M, RSSI_10M = 127, -70  # -70.0 dBm: 127.5


class Bench:
    def __init__(self):
        self.medium = radio_sim.Medium(seed=3)
        self.clock = FakeClock()
        self.clock.set_time(T0)
        self.t = 0
        self.lines = []
        self.store = RecordStore(MemoryFs())
        self.logs = logs.EventLogs(RecordStore(MemoryFs()))
        self.events = []
        self.coord = HanNode(radio_sim.SimRadio(self.medium, (0.0, 0.0), 26), self.clock,
                             "coordinator", COORD, self.store,
                             radio_sim.make_rng(1).getrandbits, out=self.lines.append,
                             channel_mask=1 << 15)
        self.diag = hd.HanDiag.attach(self.coord, self.store, self.on_transaction)
        self.coord.start()
        self.dev_radio = radio_sim.SimRadio(self.medium, (4.0, 0.0), 26)
        self.device = HanNode(self.dev_radio, self.clock, "device", DEVICE,
                              RecordStore(MemoryFs()), radio_sim.make_rng(2).getrandbits,
                              install_code=CODE, out=self.lines.append, report_ms=1000,
                              channel_mask=1 << 15)
        self.device.start()
        self.nodes = [self.coord, self.device]

    def on_transaction(self, utc, code, a, b):
        self.events.append((code, a, b))
        self.logs.add(logs.TRANSACTION, utc, code, a, b)

    def run(self, seconds):
        self.t = run_medium(self.medium, self.clock, self.t, self.t + int(seconds * 1000000),
                            lambda: self.nodes)[0]

    def status(self):
        out = []
        self.diag.report(out.append, self.logs.log(logs.TRANSACTION))
        return out


def _joined():
    b = Bench()
    b.run(1)
    parse, apply = joiner_handler(b.coord)
    apply(parse(bytes([JOINER_ADD]) + DEVICE + CODE))
    b.run(12)
    assert "han zigbee joined short 0x0001 tclk verified" in b.lines
    return b


def _devices(lines):
    return [json.loads(x[len("HUB DEV "):]) for x in lines if x.startswith("HUB DEV ")]


def test_installation_and_live_link_quality_frames_and_log():
    b = _joined()
    d = _devices(b.status())
    assert len(d) == 1
    dev = d[0]
    assert dev["eui64"] == "0004a30b12345678"
    assert dev["short"] == "0x0001"
    assert dev["state"] == "verified"
    assert dev["kind"] == "rx-on"
    assert (dev["install_lqi"], dev["install_rssi"]) == (LQI_4M, RSSI_4M)
    # registered after 1 s, joined within the 12 s run, as the log says
    assert T0 + 1 <= dev["install_utc"] <= T0 + 13
    log = b.logs.log(logs.TRANSACTION)
    joined = [log.entry(k) for k in range(log.count) if log.entry(k)[2] == hd.EV_HAN_JOINED]
    assert dev["install_utc"] == joined[0][1]
    assert (dev["lqi"], dev["rssi"], dev["lqi_avg"], dev["rssi_avg"]) == \
        (LQI_4M, RSSI_4M, LQI_4M, RSSI_4M)
    assert dev["frames_in"] > 10 and dev["frames_out"] > 5
    assert dev["acks"] >= 5  # the Default Response to each report (1 s), APS-acked
    assert dev["failures"] == 0 and dev["battery_pct"] is None
    assert abs(dev["last_seen_utc"] - b.clock.time()) <= 1
    # The log: the device asked before it was registered (denied, its capability 0xC8:
    # allocate address, security, rx on), then the join, the link key, one acks entry
    # (at most one per hour).
    codes = [e[0] for e in b.events]
    assert codes[:3] == [hd.EV_HAN_JOIN_DENIED, hd.EV_HAN_JOINED, hd.EV_HAN_KEY_VERIFIED]
    assert b.events[0] == (hd.EV_HAN_JOIN_DENIED, 0x12345678, 0xC8)
    assert b.events[1] == (hd.EV_HAN_JOINED, 0x12345678, 0x0001)
    assert codes.count(hd.EV_HAN_ACKS) == 1
    # Moved to 10 m: the last frame says so at once, the mean after a few dozen frames;
    # the installation stays.
    b.dev_radio.position = (10.0, 0.0)
    b.run(60)
    dev = _devices(b.status())[0]
    assert (dev["lqi"], dev["rssi"]) == (LQI_10M, RSSI_10M)
    assert (dev["lqi_avg"], dev["rssi_avg"]) == (LQI_10M, RSSI_10M)
    assert (dev["install_lqi"], dev["install_rssi"]) == (LQI_4M, RSSI_4M)


def test_installation_record_survives_a_reboot_and_removal_forgets_it():
    b = _joined()
    again = hd.HanDiag(b.coord.inventory, b.coord.zb.table, b.clock, b.store)
    assert again.installation(DEVICE)[:2] == (LQI_4M, RSSI_4M)
    assert again.installation(OTHER) is None
    b.coord.unregister(DEVICE)
    assert b.events[-1] == (hd.EV_HAN_REMOVED, 0x12345678, 0x0001)
    assert hd.HanDiag(b.coord.inventory, b.coord.zb.table, b.clock, b.store) \
        .installation(DEVICE) is None


def test_missing_ack_refused_frames_battery_and_denied_join():
    b = _joined()
    # The device goes silent: a frame to it gets no APS ack after the retries.
    b.dev_radio.off()
    b.medium.radios.remove(b.dev_radio)
    b.nodes = [b.coord]
    b.coord.zb.send(0x0001, 1, 0x0702, 0x0109, 1, bytearray(b"\x10\x01\x00\x00\x00"), 5,
                    b.clock.ticks_us())
    b.run(30)
    assert (hd.EV_HAN_NO_ACK, 0x12345678, 0x0001) in b.events
    # Refusals as the NWK layer reports them (a wrong MIC; a frame for another node is
    # no failure of the sender); the tamper detector behind still sees them.
    now = b.clock.ticks_us()
    b.coord.zb.nwk.on_refused(REFUSED_MIC, bytearray(DEVICE), now)
    b.coord.zb.nwk.on_refused(REFUSED_NOT_FOR_US, 0x0001, now)
    assert b.events[-1] == (hd.EV_HAN_REJECTED, 0x12345678, REFUSED_MIC)
    assert b.coord.tamper._mic_count[0] == 1
    # Power Configuration report (ZCL 3.3.2.2.3): 3.0 V, 100 % (200 half percent).
    z = bytearray(b"\x18\x07\x0a\x20\x00\x20\x1e\x21\x00\x20\xc8")
    b.coord.zb.on_app(0x0001, 1, 1, 0x0001, 0x0109, z, 0, len(z), now)
    dev = _devices(b.status())[0]
    assert dev["no_acks"] == 1 and dev["refused"] == 1
    assert dev["failures"] == dev["no_acks"] + dev["refused"] + dev["tx_failures"] + \
        dev["security_errors"]
    assert (dev["battery_mv"], dev["battery_pct"]) == (3000, 100)
    # An unregistered device's association request is refused and logged.
    r = radio_sim.SimRadio(b.medium, (2.0, 0.0), 26)
    other = HanNode(r, b.clock, "device", OTHER, RecordStore(MemoryFs()),
                    radio_sim.make_rng(5).getrandbits, install_code=CODE,
                    out=b.lines.append, channel_mask=1 << 15)
    other.start()
    b.nodes = [b.coord, other]
    b.run(4)
    assert (hd.EV_HAN_JOIN_DENIED, 0x0BADF00D) in [e[:2] for e in b.events]


def test_per_frame_hooks_allocate_nothing():
    b = _joined()
    inv = b.coord.inventory
    i = inv.find_ext(DEVICE)
    f = _Frame()
    diag = b.diag
    tid = b.coord.zb.aps._p_tid[0]
    b.coord.zb.aps._p_dst[0] = 0x0001
    before = diag._acks[i]
    with NoAllocation():
        for _ in range(20):
            diag.rx_frame(f, 0, 200, -50, 0)
            diag.tx_done(0x0001, None, 0, 0)
            diag._confirm(tid, 0)
    assert diag._acks[i] == before + 20


class _Frame:
    # A received data frame from short address 0x0001 (the fields the hooks read).
    def __init__(self):
        from han.mac import frame as fr

        self.frame_type = fr.FT_DATA
        self.src_mode = fr.ADDR_SHORT
        self.src_addr = 0x0001
        self.src_ext = bytearray(8)
        self.security = False
        self.payload_len = 20


def test_console_answers_hub_status_read_only():
    b = _joined()
    out = []
    c = console.ConsoleConfig(None, out.append,
                              lambda w: b.diag.report(w, b.logs.log(logs.TRANSACTION)))
    from registers.config import TAG_SIZE

    line = b"noise\r\nHUB STATUS  \r\nCFG 0001000000 " + b"00" * TAG_SIZE + b"\r\n"
    c.feed(line, len(line))
    assert out[0].startswith("HUB DEV {")
    n_log = b.logs.log(logs.TRANSACTION).count
    assert out[-2] == "HUB END 1 %d" % n_log
    entries = [json.loads(x[len("HUB LOG "):]) for x in out if x.startswith("HUB LOG ")]
    assert [e["code"] for e in entries][:3] == [hd.EV_HAN_JOIN_DENIED, hd.EV_HAN_JOINED,
                                                hd.EV_HAN_KEY_VERIFIED]
    assert entries[1]["a"] == 0x12345678 and entries[1]["b"] == 1
    assert entries[0]["seq"] < entries[1]["seq"] < entries[2]["seq"]  # oldest first
    assert out[-1] == "CFG REJECTED error"  # no configuration session: refused
    for x in out:
        assert len(x) < 700
    # No secret on the line: neither the install code, its key nor the network key.
    text = "".join(out).lower()
    for secret in (CODE, b.coord.zb.st.key, b.coord.zb.table.link_key[0],
                   b.coord.zb.table.tclk[0]):
        assert "".join("%02x" % x for x in secret) not in text
    # Without a HAN coordinator the line is answered empty.
    out2 = []
    c2 = console.ConsoleConfig(None, out2.append)
    c2.feed(b"HUB STATUS\n", 11)
    assert out2 == ["HUB END 0 0"]
