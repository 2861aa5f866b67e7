# Simulated HAL backends (firmware/hal/sim.py, clock.py, radio.py).
from hal import IOCTL_BLOCK_COUNT, IOCTL_BLOCK_ERASE, IOCTL_BLOCK_SIZE, radio
from hal.clock import FakeClock, SystemClock
from hal.adc_sim import PhaseScenario, Scenario, ScenarioADC
from hal.sim import PowerCut, RamBlockDevice, SimLeds, SimPin, SimUART
from support import IS_MICROPYTHON, NoAllocation, raises


def test_uart_inject_and_read_in_order():
    u = SimUART(rx_size=8)
    assert u.any() == 0
    buf = bytearray(4)
    assert u.readinto(buf) is None
    u.inject(b"abcdef")
    assert u.any() == 6
    assert u.readinto(buf) == 4 and bytes(buf) == b"abcd"
    assert u.readinto(buf) == 2 and bytes(buf[:2]) == b"ef"
    raises(OverflowError, u.inject, b"123456789")


def test_uart_records_writes():
    u = SimUART(invert_tx=True)
    assert u.write(b"/XMX5") == 5
    u.write(bytearray(b"\r\n"))
    assert u.written() == b"/XMX5\r\n"
    assert u.written() == b""


def test_pin_levels():
    p = SimPin()
    assert p.value() == 0
    p.value(5)
    assert p.value() == 1


def test_leds():
    leds = SimLeds(2)
    leds.set(1, True)
    assert leds.state == [False, True]


def test_fake_clock_ticks_wrap_like_micropython():
    c = FakeClock(utc=1700000000, ticks_ms=(1 << 30) - 5)
    t0 = c.ticks_ms()
    c.advance_ms(10)
    t1 = c.ticks_ms()
    assert t1 < t0  # wrapped
    assert c.ticks_diff(t1, t0) == 10
    assert c.ticks_diff(t0, t1) == -10
    assert c.ticks_add(t0, 10) == t1
    assert c.time() == 1700000000
    raises(ValueError, c.advance_ms, -1)


def test_system_clock_set_time():
    c = SystemClock(utc_at_boot=1000)
    assert 1000 <= c.time() <= 1001
    c.set_time(1700000000)
    assert 1700000000 <= c.time() <= 1700000001


def test_block_device_geometry_and_roundtrip():
    bd = RamBlockDevice(block_size=512, block_count=8)
    assert bd.ioctl(IOCTL_BLOCK_COUNT, 0) == 8
    assert bd.ioctl(IOCTL_BLOCK_SIZE, 0) == 512
    buf = bytearray(512)
    bd.readblocks(3, buf)
    assert buf == bytearray(b"\xff" * 512)
    data = bytearray(range(256)) + bytearray(range(256))
    bd.writeblocks(3, data)  # simple protocol: erase + program
    bd.readblocks(3, buf)
    assert buf == data


def test_block_device_programs_like_nor_flash():
    bd = RamBlockDevice(block_size=256, block_count=2)
    bd.ioctl(IOCTL_BLOCK_ERASE, 0)
    bd.writeblocks(0, b"\x0f\xf0", 0)
    bd.writeblocks(0, b"\xf0\xff", 0)  # programming cannot set bits back to 1
    out = bytearray(2)
    bd.readblocks(0, out)
    assert out == b"\x00\xf0"


def test_block_device_power_cut_leaves_partial_write():
    bd = RamBlockDevice(block_size=256, block_count=2, cut_after=1)
    bd.ioctl(IOCTL_BLOCK_ERASE, 1)  # the one operation that still succeeds
    raises(PowerCut, bd.writeblocks, 1, b"\x00" * 16, 0)
    out = bytearray(16)
    bd.readblocks(1, out)
    assert out == b"\x00" * 8 + b"\xff" * 8  # stopped half way
    raises(PowerCut, bd.ioctl, IOCTL_BLOCK_ERASE, 0)


def test_block_device_read_write_do_not_allocate():
    # littlefs calls these with the heap locked (MicroPython tier proves it).
    bd = RamBlockDevice(block_size=256, block_count=2)
    rbuf = bytearray(64)
    wbuf = bytearray(b"\x5a" * 64)
    with NoAllocation():
        bd.writeblocks(0, wbuf, 64)
        bd.readblocks(0, rbuf, 64)
    assert rbuf == wbuf


def test_littlefs_on_ram_block_device():
    if not IS_MICROPYTHON:
        return  # vfs.VfsLfs2 is MicroPython's; CPython has no littlefs binding
    import os
    import vfs

    bd = RamBlockDevice(block_size=512, block_count=32)
    vfs.VfsLfs2.mkfs(bd)
    vfs.mount(vfs.VfsLfs2(bd), "/t_lfs")
    try:
        with open("/t_lfs/x", "wb") as f:
            f.write(b"meter")
        with open("/t_lfs/x", "rb") as f:
            assert f.read() == b"meter"
        assert os.listdir("/t_lfs") == ["x"]
    finally:
        vfs.umount("/t_lfs")


def test_scenario_adc_codes():
    # 230 V rms at 0.25 V/LSB is 1301.08 LSB peak; 10 A at 0.05 A/LSB is 282.84 LSB peak,
    # lagging 90 degrees. 8 kHz at 50 Hz: 160 frames per cycle; no noise, no errors.
    import array
    import math

    sc = Scenario(phases=[PhaseScenario(230.0, 10.0, 90.0)], rate_hz=8000, v_scale=0.25,
                  i_scale=0.05, noise_lsb=0.0)
    adc = ScenarioADC(sc)
    samples = array.array("h", [0] * 320)
    assert adc.read_block(samples) == 160
    v_peak = 230.0 * math.sqrt(2) / 0.25
    i_peak = 10.0 * math.sqrt(2) / 0.05
    assert samples[0] == 2048 and samples[1] == 2048 - round(i_peak)
    assert samples[2 * 40] == 2048 + round(v_peak)  # a quarter cycle in
    assert samples[2 * 40 + 1] == 2048
    again = ScenarioADC(sc)
    other = array.array("h", [0] * 320)
    again.read_block(other)
    assert other == samples


def test_scenario_adc_clips_at_the_rails_and_noise_is_seeded():
    import array

    loud = ScenarioADC(Scenario(phases=[PhaseScenario(230.0, 200.0, 0.0)], rate_hz=8000,
                                i_scale=0.05))
    samples = array.array("h", [0] * 320)
    loud.read_block(samples)
    currents = [samples[k] for k in range(1, 320, 2)]
    assert max(currents) == 4095 and min(currents) == 0
    a = array.array("h", [0] * 64)
    b = array.array("h", [0] * 64)
    ScenarioADC(Scenario(noise_lsb=2.0, seed=5)).read_block(a)
    ScenarioADC(Scenario(noise_lsb=2.0, seed=5)).read_block(b)
    assert a == b
    ScenarioADC(Scenario(noise_lsb=2.0, seed=6)).read_block(b)
    assert a != b


def test_null_radio():
    r = radio.NullRadio()
    r.prepare(b"\x41\x88", 2)
    assert r.transmit() == radio.TX_ERR  # off
    r.on()
    assert r.transmit() == radio.TX_OK
    assert r.read(bytearray(127)) == 0
    assert r.channel_clear()
    raises(ValueError, r.set_channel, 27)
    raises(ValueError, r.prepare, bytes(128), 128)
    raises(NotImplementedError, radio.Radio().transmit)
