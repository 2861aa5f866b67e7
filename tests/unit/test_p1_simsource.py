# The sim meter (tests/unit/p1_simsource.py) and the snapshot contract (firmware/h1/
# snapshot.py). Portable: tier 1 and tier 2.
from h1.snapshot import MeterSnapshot
from p1_simsource import SimSource
from support import NoAllocation

START = 1735682330  # 2024-12-31 21:58:50 UTC = 22:58:50 CET


def test_deterministic():
    a = SimSource(START)
    b = SimSource(START)
    a.update(START + 777)
    for t in range(1, 778):
        b.update(START + t)
    sa, sb = a.snapshot, b.snapshot
    assert sa.import_wh == sb.import_wh and sa.voltage_dv == sb.voltage_dv
    assert sa.gas_litres == sb.gas_litres and sa.current_ma == sb.current_ma


def test_energy_integrates_power_and_tariff_switches_at_23_local():
    src = SimSource(START)
    s = src.snapshot
    assert s.tariff == 2
    before = s.import_wh[0] + s.import_wh[1]
    total_before = s.import_total_wh
    watt_seconds = 0
    for t in range(1, 121):
        watt_seconds += s.power_import_w  # the power of each second, integrated by hand
        src.update(START + t)
    # 22:58:50 + 70 s = 23:00:00 CET: tariff 1 (low) from then on.
    assert s.tariff == 1
    gained = s.import_wh[0] + s.import_wh[1] - before
    assert watt_seconds // 3600 - 1 <= gained <= watt_seconds // 3600
    assert s.import_total_wh - total_before == gained
    assert s.power_import_w == sum(s.power_import_w_l)


def test_gas_reading_every_five_minutes():
    src = SimSource(START)
    s = src.snapshot
    seen = []
    for t in range(1, 901):
        src.update(START + t)
        if not seen or seen[-1][0] != s.gas_utc:
            seen.append((s.gas_utc, s.gas_litres))
    times = [g for g, _ in seen]
    assert all(g % 300 == 0 for g in times)
    assert [b - a for a, b in zip(times, times[1:])] == [300, 300, 300]
    litres = [v for _, v in seen]
    assert litres == sorted(litres) and litres[-1] > litres[0]


def test_copy_from_is_complete_and_allocates_nothing():
    src = SimSource(START)
    src.update(START + 1000)
    copy = MeterSnapshot()
    copy.copy_from(src.snapshot)  # warm-up
    src.update(START + 1001)
    with NoAllocation():
        copy.copy_from(src.snapshot)
    a, b = copy, src.snapshot
    for name in dir(b):
        if name.startswith("_"):
            continue
        value = getattr(b, name)
        if callable(value):
            continue
        if isinstance(value, bytearray):
            n = getattr(b, name + "_len")
            assert getattr(a, name)[:n] == value[:n], name
        else:
            assert getattr(a, name) == value, name
