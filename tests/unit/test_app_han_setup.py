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
