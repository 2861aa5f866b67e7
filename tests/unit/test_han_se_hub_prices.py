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
# Publish Price of PriceConfig(0x12345678, 752, [(b"Enkel", 150, 2)]) at T0: provider
# 0x12345678, "Enkel", event id = now, SEK 752 = 0x02F0, digit 2 tier 1, 1 tier register
# tier 1, start now, until changed, 150 = 0x96 (1.50 SEK/kWh).
ENKEL = ("78563412" "05" "456e6b656c" "0042072F" "0042072F" "00" "F002" "21" "11"
         "0042072F" "FFFF" "96000000" + UNUSED)


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
    assert sent == [(0x0001, 0x0700, bytes.fromhex("19" "21" "00" + ENKEL))]
    hub.step(0)  # the tier the request saw first is still pushed (seq 1)
    assert sent[1] == (0x0001, 0x0700, bytes.fromhex("19" "01" "00" + ENKEL))
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


def test_a_display_that_asked_before_the_prices_gets_them_when_they_are_set():
    # SE 1.4 D.4.2.4.1: Publish Price is also sent "when an update to the pricing
    # information is available". A display asked once, before the prices existed, and was
    # refused (UNSUPPORTED_CLUSTER); it is pushed the first price at the next step.
    hub, sent = _hub()
    _get_current_price(hub, 0x20)
    # 0x0002 asks without Rx On When Idle (options 0x00): a sleepy device polls instead.
    assert hub.router.receive(0x0002, 1, 1, 0x0700, 0x0109, bytes([0x01, 0x30, 0x00, 0x00]),
                              0, 4, 0, True)
    # 0x0003 asked, then left the network: nothing is pushed to its old address.
    assert hub.router.receive(0x0003, 1, 1, 0x0700, 0x0109, bytes([0x01, 0x31, 0x00, 0x01]),
                              0, 4, 0, True)
    hub.device_removed(0x0003)
    assert [d for d, _, _ in sent] == [0x0001, 0x0002, 0x0003]
    del sent[:]
    hub.set_prices(PriceConfig(0x12345678, 752, [(b"Enkel", 150, 2)]))
    hub.step(0)
    assert sent == [(0x0001, 0x0700, bytes.fromhex("19" "01" "00" + ENKEL))]
    hub.step(0)
    assert len(sent) == 1


def test_push_subscribers_are_kept_through_a_reboot():
    # A display subscribes once, after joining (Get Last Message; Get Current Price with
    # Rx On When Idle) and never learns of a hub restart: a hub booted again over the same
    # store pushes the next price and message to it (record "hansub", kind 0xBC).
    from registers.store import RecordStore

    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(T0)
    regs.energy.tariff = 1
    store = RecordStore(MemoryFs())
    text = [b""]

    def hub(prices=None):  # prices: those stored, as main.py builds the hub at boot
        view = RegistersView(regs)
        view.text_message = lambda: text[0]
        h = Hub(regs.clock, view, 3600, DST_EU, clock, store=store, prices=prices)
        sent = []

        def send(dst, dst_ep, cluster, profile, src_ep, payload, n, now, ack, secure):
            sent.append((dst, cluster, bytes(payload[:n])))
            return 1

        h.router.send = send
        return h, sent

    h, sent = hub()
    # 0x0001: Get Last Message (cluster 0x0703, command 0x00, no payload) and an early
    # Get Current Price; 0x0002 only the Get Last Message.
    for src, seq in ((0x0001, 0x40), (0x0002, 0x41)):
        assert h.router.receive(src, 1, 1, 0x0703, 0x0109, bytes([0x01, seq, 0x00]), 0, 3, 0,
                                True)
        h.save_reporting()  # after each frame, as the node does
    _get_current_price(h, 0x42)
    h.save_reporting()
    h, sent = hub()  # a power cut: the same store, a new hub
    h.set_prices(PriceConfig(0x12345678, 752, [(b"Enkel", 150, 2)]))
    text[0] = b"Hallo"
    h.step(0)
    # The price to 0x0001 only; the message to both.
    assert sorted((d, c) for d, c, _ in sent) == [(0x0001, 0x0700), (0x0001, 0x0703),
                                                  (0x0002, 0x0703)], sent
    # Display Message (command 0x00) carrying "Hallo" (length 5, then the octets).
    assert all(p[2] == 0x00 and b"\x05Hallo" in p for d, c, p in sent if c == 0x0703)
    message_id = [p[3:7] for _, c, p in sent if c == 0x0703][0]
    h.save_reporting()

    # Another power cut: nothing is sent again, and the message keeps its id.
    h, sent = hub(PriceConfig(0x12345678, 752, [(b"Enkel", 150, 2)]))
    h.step(0)
    h.step(0)
    assert sent == []
    assert h.router.receive(0x0002, 1, 1, 0x0703, 0x0109, bytes([0x01, 0x50, 0x00]), 0, 3, 0,
                            True)
    assert sent[0][2][2] == 0x00 and sent[0][2][3:7] == message_id
    h.save_reporting()
    del sent[:]

    # A tariff switch while the hub was off is published when it is back.
    regs.energy.tariff = 2
    h, sent = hub(PriceConfig(0x12345678, 752, [(b"Enkel", 150, 2), (b"Dal", 120, 2)]))
    h.step(0)
    assert [(d, c) for d, c, _ in sent] == [(0x0001, 0x0700)]
