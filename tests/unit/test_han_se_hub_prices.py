# Hub.set_prices (firmware/han/se/hub.py): prices set through the configuration path reach
# the HAN at once. A hub booted without prices gains a Price server on its ESI endpoint
# (Match_Desc lists it); a new table replaces the server, keeps its subscribers and pushes
# the new price at the next step. Publish Price octets worked by hand from SE 1.4 D.4.2.4.1
# (as in test_han_se_price.py). Portable: tiers 1 and 2.
from hal.clock import FakeClock
from han.se.hub import Hub
from han.se.price import PriceConfig
from registers.clock import DST_EU
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView

T0 = 1735689600  # 2025-01-01 00:00:00 UTC; ZCL UTC 789004800 = 0x2F074200, on air 0042072F
# The optional fields, all unused (test_han_se_price.py).
UNUSED = "FF" "FFFFFFFF" "FF" "FFFFFFFF" "FF" "00" "00" "00" "00" "00" "00" "00" "00"


def _hub():
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(T0)
    regs.energy.tariff = 1
    hub = Hub(regs.clock, RegistersView(regs), 3600, DST_EU, clock,
              identity=(b"meter-fw", b"hub", b"0.1.0"))
    sent = []

    def send(dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack, secure):
        sent.append((dst, cluster, bytes(payload[:n])))
        return 1  # an APS transaction id: queued

    hub.router.send = send
    return hub, sent


def _get_current_price(hub, seq):
    frame = bytes([0x01, seq, 0x00, 0x01])  # cluster specific, to server; Rx On When Idle
    assert hub.router.receive(0x0001, 1, 1, 0x0700, 0x0109, frame, 0, 4, 0, True)


def test_prices_set_at_run_time_are_published_at_once():
    hub, sent = _hub()
    esi = hub.router.simple_descriptors()[0]
    assert hub.price is None and 0x0700 not in esi[4]
    # No Price server yet: UNSUPPORTED_CLUSTER (0xC3) to the request (command 0x00).
    _get_current_price(hub, 0x20)
    assert sent == [(0x0001, 0x0700, bytes.fromhex("18" "20" "0b" "00" "c3"))]
    del sent[:]

    hub.set_prices(PriceConfig(0x12345678, 752, [(b"Enkel", 150, 2)]))
    assert esi[4].count(0x0700) == 1  # the descriptor the ZDO server holds
    _get_current_price(hub, 0x21)
    # provider 0x12345678, "Enkel", event id = now, SEK 752 = 0x02F0, digit 2 tier 1,
    # 1 tier register tier 1, start now, until changed, 150 = 0x96 (1.50 SEK/kWh).
    first = ("78563412" "05" "456e6b656c" "0042072F" "0042072F" "00" "F002" "21" "11"
             "0042072F" "FFFF" "96000000" + UNUSED)
    assert sent == [(0x0001, 0x0700, bytes.fromhex("19" "21" "00" + first))]
    hub.step(0)  # the tier the request saw first is still pushed (seq 1)
    assert sent[1] == (0x0001, 0x0700, bytes.fromhex("19" "01" "00" + first))
    hub.step(0)
    assert len(sent) == 2
    del sent[:]

    old = hub.price
    hub.set_prices(PriceConfig(1, 978, [(b"Dal", 2345, 4), (b"Normaal", 2789, 4)]))
    assert hub.price is not old and hub.price.subscribers[:1] == [0x0001]
    assert hub.router.servers[(1, 0x0700)] is hub.price
    assert [s for _, s in hub.router.pushers if s is old] == []
    assert esi[4].count(0x0700) == 1
    hub.step(0)
    # provider 1, "Dal", event id now + 1 (0x2F074201: larger than the last), EUR 978 =
    # 0x03D2, digit 4 tier 1, 2 tiers register tier 1, 2345 = 0x0929 (0.2345 EUR/kWh).
    second = ("01000000" "03" "44616c" "0142072F" "0042072F" "00" "D203" "41" "21"
              "0042072F" "FFFF" "29090000" + UNUSED)
    assert sent == [(0x0001, 0x0700, bytes.fromhex("19" "02" "00" + second))]
    hub.step(0)
    assert len(sent) == 1
    _get_current_price(hub, 0x22)
    assert sent[1] == (0x0001, 0x0700, bytes.fromhex("19" "22" "00" + second))


def test_a_hub_built_with_prices_serves_them():
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(T0)
    hub = Hub(regs.clock, RegistersView(regs), 3600, DST_EU, clock,
              prices=PriceConfig(1, 978, [(b"Dal", 2345, 4)]))
    assert hub.price is not None and hub.router.servers[(1, 0x0700)] is hub.price
    assert hub.router.simple_descriptors()[0][4].count(0x0700) == 1
