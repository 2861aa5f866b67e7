# The meter as H1 sees it (firmware/app/source.py): only real data. No identity, text or gas
# reading is invented; identity and text appear when given; the instantaneous values are
# metrology's. Portable: tier 1 and tier 2.
from app.source import MeterSource
from h1.snapshot import MeterSnapshot
from hal.clock import FakeClock

UTC = 1735682340  # 2024-12-31 21:59:00 UTC (winter)
SUMMER_UTC = 1751328000  # 2025-07-01 00:00:00 UTC


class _Phase:
    def __init__(self, vrms, irms, p_w, q_var):
        self.vrms = vrms
        self.irms = irms
        self.p_w = p_w
        self.q_var = q_var


class _Total:
    def __init__(self, p_w, q_var, s_va):
        self.p_w = p_w
        self.q_var = q_var
        self.s_va = s_va


class _Metrology:
    def __init__(self, periods):
        self.periods = periods
        self.results = [_Phase(230.04, 6.5004, 1495.6, -12.5),
                        _Phase(229.96, 0.0, 0.0, 0.0),
                        _Phase(231.0, 1.25, -287.4, 30.2)]
        self.total = _Total(1208.2, 17.7, 1790.6)


def _capture(source, utc=UTC):
    snap = MeterSnapshot()
    source.capture(snap, utc)
    return snap


def test_nothing_invented_without_identity_or_text():
    snap = _capture(MeterSource(FakeClock(UTC)))
    assert snap.utc == UTC and snap.dst == 0 and snap.utc_offset_s == 3600
    assert snap.equipment_id_len == 0 and snap.text_len == 0 and snap.mbus_valid == 0
    # No metrology period yet: no power rather than a made-up one.
    assert snap.power_import_w == 0 and snap.voltage_dv == [0, 0, 0]
    assert snap.import_total_wh == 0


def test_identity_and_text_when_given():
    snap = _capture(MeterSource(FakeClock(UTC), identity=b"E0051234", text=b"hello"))
    assert bytes(snap.equipment_id[:snap.equipment_id_len]) == b"E0051234"
    assert bytes(snap.text[:snap.text_len]) == b"hello"
    assert snap.mbus_valid == 0


def test_summer_time_without_registers():
    assert _capture(MeterSource(FakeClock(UTC)), SUMMER_UTC).dst == 1


def test_instantaneous_values_come_from_metrology():
    source = MeterSource(FakeClock(UTC), metrology=_Metrology(periods=0))
    assert _capture(source).power_import_w == 0  # no complete period yet
    source.metrology.periods = 1
    snap = _capture(source)
    assert snap.voltage_dv == [2300, 2300, 2310]
    assert snap.current_ma == [6500, 0, 1250]
    assert snap.power_import_w_l == [1496, 0, 0]
    assert snap.power_export_w_l == [0, 0, 287]
    assert snap.reactive_import_var_l == [0, 0, 30]
    assert snap.reactive_export_var_l == [13, 0, 0]
    assert (snap.power_import_w, snap.power_export_w) == (1208, 0)
    assert (snap.reactive_import_var, snap.apparent_import_va) == (18, 1791)


def test_p1_shows_the_tariffs_the_calendar_uses():
    # The energy registers hold 4 tariffs (registers/meter.py); P1 shows 1 and 2 always and
    # more only when the active calendar switches to them (docs/bap/h1.md H1-INF-007): the
    # emulated meter printed 1-0:1.8.3 and 1.8.4 with the factory two-tariff calendar, which
    # DSMR 5.0.2's readers (dsmr_parser V5) do not know.
    from registers import tou
    from registers.memfs import MemoryFs
    from registers.meter import MeterRegisters
    from registers.view import RegistersView

    regs = MeterRegisters(FakeClock(UTC), MemoryFs(), calendar=tou.day_night(2, 1))
    regs.boot(UTC)
    source = MeterSource(FakeClock(UTC), RegistersView(regs))
    assert regs.energy.tariffs == 4 and _capture(source).tariff_count == 2
    four = tou.build([(1, 1, 0)], [(0,) * 7], [[(0, 1), (360, 2), (720, 3), (1080, 4)]])
    regs.tariffs.set_active(four)
    assert _capture(source).tariff_count == 4
    regs.tariffs.set_active(tou.single_tariff(1))
    assert _capture(source).tariff_count == 2
