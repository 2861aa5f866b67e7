"""The whole-meter benchmark's arithmetic (tools/bench_meter.py), on hand-worked counts."""

import json

from tools import bench_meter


def test_busy_share_from_timer0_counts():
    # 60 s at 25 MHz = 1 500 000 000 TIMER0 ticks (40 instructions each); 1 200 000 000 of
    # them idle leaves 300 000 000 busy ticks = 12e9 instructions, 2e8 per second, which is
    # 119.05 % of 168e6 cycles per second.
    f = bench_meter.figures((1000, 1000 + 1500000000), (77, 77 + 1200000000))
    assert f["emulated_s"] == 60.0
    assert f["total_instructions"] == 60000000000
    assert f["idle_instructions"] == 48000000000
    assert f["busy_instructions"] == 12000000000
    assert f["busy_instructions_per_s"] == 200000000
    assert f["share_of_168mhz_percent"] == 119.05


def test_merge_replaces_only_the_whole_meter_row(tmp_path):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps([{"benchmark": "crc"}, {"benchmark": bench_meter.TITLE,
                                                       "old": 1}]))
    bench_meter.merge_json(str(path), {"benchmark": bench_meter.TITLE, "new": 2})
    assert json.loads(path.read_text()) == [{"benchmark": "crc"},
                                            {"benchmark": bench_meter.TITLE, "new": 2}]
