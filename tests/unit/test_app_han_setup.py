# The hub's wiring (firmware/app/han_setup.py make_hub) over real registers: the demand the
# HAN's Metering server gives is the meter's power rounded as P1 rounds 1-0:1.7.0 (halves
# away from zero: 1234.5 W -> 1235, -0.5 W -> -1), never truncated; a display's Message
# Confirmation becomes an EV_HAN_MESSAGE_CONFIRMED entry (13) in the standard event log
# (log 0) with the message id and the display's short address, at the meter's time.
# Portable: tiers 1 and 2.
from app.han_setup import make_hub
from hal.clock import FakeClock
from registers.clock import DST_EU
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.view import RegistersView

T0 = 1795694400  # 2026-11-26 12:00:00 UTC


class Obj:
    pass


def _hub(p_w):
    clock = FakeClock()
    regs = MeterRegisters(clock, MemoryFs())
    regs.set_clock(T0)
    hal = Obj()
    hal.name, hal.clock = "test", clock
    market = Obj()
    market.std_offset_s, market.dst_rule = 3600, DST_EU
    metrology = Obj()
    metrology.total = Obj()
    metrology.total.p_w = p_w
    lines = []
    hub = make_hub(hal, regs, RegistersView(regs), market, metrology, lines.append)
    return hub, regs, metrology.total, lines


def test_the_hubs_demand_is_rounded_as_p1s():
    hub, _, total, _ = _hub(1234.5)
    demand = hub.electricity.demand
    for p_w, w in ((1234.5, 1235), (1234.49, 1234), (2496.7, 2497), (0.4, 0),
                   (-0.5, -1), (-1500.2, -1500), (-1500.6, -1501)):
        total.p_w = p_w
        assert demand() == w, (p_w, demand())


def test_a_message_confirmation_is_written_to_the_standard_log():
    hub, regs, _, lines = _hub(0.0)
    messaging = hub.router.servers[(1, 0x0703)]
    messaging.on_confirmed(849347655, 849347660, 0x0002)
    log = regs.logs.log(0)
    _, utc, code, _, a, b = log.entry(0)
    assert (utc, code, a, b) == (T0, 13, 849347655, 0x0002)
    assert lines[-1] == "han message 849347655 confirmed by 0x0002 (its time 849347660)"
    messaging.on_confirmed(849347655, 849347661, -1)  # no source known: 0xFFFF
    assert log.entry(0)[4:] == (849347655, 0xFFFF)


def test_file_versions_of_the_firmware_version():
    from app.version import file_version

    # 0xMMmmpppp (app/version.py), as the OTA header's file version carries it.
    assert file_version("0.1.0") == 0x00010000
    assert file_version("2.3.4") == 0x02030004


def test_the_hubs_ota_server_checks_stored_images_at_power_up():
    from app.han_setup import add_ota_server
    from ota_images import KEY, build

    hub, regs, _, lines = _hub(0.0)
    fs = regs.store.fs
    good = build([(b"main.py", b"print('v2')\n")], 0x00010002)
    bad = bytearray(good)
    bad[100] ^= 0x01  # one bit of the archive: the integrity code no longer holds
    for name, data in (("ota-good", good), ("ota-bad", bad)):
        with fs.open(name, "wb") as f:
            f.write(data)
    hal = Obj()
    hal.clock = FakeClock()  # the board's ticks (the server's block pacing)
    server = add_ota_server(hub, hal, regs, KEY, lines.append)
    # The good one is offered; the bad one is not, and the fault log (1) says so:
    # EV_HAN_IMAGE_CORRUPT (49), a = the verdict.
    assert [(i.name, i.version) for i in server.images] == [("ota-good", 0x00010002)]
    assert [name for name, _ in server.refused] == ["ota-bad"]
    _, _, code, _, a, _ = regs.logs.log(1).entry(0)
    assert code == 49 and a == server.refused[0][1] != 0
    assert lines[-1] == "han ota stored image refused (verdict %d)" % a
    # The Hub lists the OTA Upgrade cluster (0x0019) on its ESI endpoint.
    assert 0x0019 in hub.router.simple_descriptors()[0][4]
