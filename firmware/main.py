# Entry point: wire the subsystems for one board from its config and run them on asyncio.
# On a real board MicroPython runs this file at boot (__name__ == "__main__"); on the
# emulated board tools/emu.py types `import main; main.run(...)` at the REPL.
import sys

import asyncio
from app.status import StatusIndicator, heap_free, status_line
from app.version import FIRMWARE_NAME, FIRMWARE_VERSION


def sleep_ms(ms):
    # MicroPython's asyncio has sleep_ms; CPython's has only sleep(seconds).
    if hasattr(asyncio, "sleep_ms"):
        return asyncio.sleep_ms(ms)
    return asyncio.sleep(ms / 1000)


def banner(hal):
    impl = sys.implementation
    runtime = "{} {}".format(impl.name, ".".join(str(v) for v in impl.version[:3]))
    return "{} {} board={} runtime={} heap_free={}".format(
        FIRMWARE_NAME, FIRMWARE_VERSION, hal.name, runtime, heap_free())


def metering_line(metrology):
    """Per-phase Vrms, Irms, P, PF and the frequency of the last period."""
    parts = []
    for k, r in enumerate(metrology.results):
        parts.append("L{} {:.1f}V {:.3f}A {:.0f}W PF{:+.3f}".format(
            k + 1, r.vrms, r.irms, r.p_w, r.pf))
    return "meter {} f={:.2f}Hz".format(" | ".join(parts), metrology.results[0].freq_hz)


async def status_task(hal, indicator, seconds=None, out=print, metrology=None):
    """Once a second: advance the LED pattern and print the status (and metering) line."""
    clock = hal.clock
    start = clock.ticks_ms()
    uptime = 0
    while seconds is None or uptime < seconds:
        next_at = clock.ticks_add(start, (uptime + 1) * 1000)
        delay = clock.ticks_diff(next_at, clock.ticks_ms())
        if delay > 0:
            await sleep_ms(delay)
        uptime += 1
        indicator.tick()
        out(status_line(uptime, clock, hal.data_request, indicator))
        if metrology is not None and metrology.periods:
            out(metering_line(metrology))


def tariff_calendar(profile_name):
    """The factory tariff calendar for a P1 profile's market: BE numbers day 1 and night 2
    (07:00-22:00 day), NL low 1 and normal 2 (07:00-23:00 normal), elsewhere one tariff."""
    from registers import tou

    if profile_name == "be":
        return tou.day_night(1, 2, 420, 1320)
    if profile_name in ("nl", "nl4"):
        return tou.day_night(2, 1)
    return tou.single_tariff(1)


def make_registers(hal, calendar):
    """The registers on the board's flash (littlefs), restored from it; None without flash."""
    if hal.flash is None:
        return None
    from registers.meter import MeterRegisters
    from registers.storage import open_filesystem

    fs, _ = open_filesystem(hal.flash)
    registers = MeterRegisters(hal.clock, fs, calendar=calendar)
    registers.boot()
    return registers


def make_metrology(hal, board, sink):
    """The metrology for the board's ADC (None on boards without an ADC sampler yet)."""
    if hal.adc is None or not hasattr(board, "metrology_config"):
        return None
    from metrology.frontend import Metrology

    return Metrology(board.metrology_config(), sink=sink, clock=hal.clock)


def make_config_session(registers, metrology, key):
    """The authenticated configuration path (registers/config.py) with the metrology's
    calibration command; its stored calibration is applied now. Only a configuration
    channel holding the key reaches it: neither H1 (push only) nor the HAN is given it."""
    from metrology.calibration import Calibration, CalibrationStore
    from registers.config import OP_SET_CALIBRATION, ConfigSession

    store = CalibrationStore(registers.store, metrology.config.phases)
    stored = store.load()
    if stored is not None:
        metrology.set_calibration(stored)

    def set_calibration(payload):
        cal = Calibration.decode(payload)  # ValueError: refused, nothing changed
        metrology.set_calibration(cal)
        store.save(cal)

    return ConfigSession(registers, key, {OP_SET_CALIBRATION: set_calibration})


async def registers_task(registers, clock, seconds=None):
    """The registers' polled state machine, once a second (tariff switches, demand, load
    profile, billing, persistence)."""
    done = 0
    while seconds is None or done < seconds:
        registers.step(clock.time())
        done += 1
        await sleep_ms(1000 - clock.time_ms() % 1000)


def make_counter_store(registers):
    """The persisted frame counters (registers/counters.py) that P1's encryption and the
    HAN's MAC security share: one store object, so their records never race."""
    if registers is None:
        return None
    from registers.counters import FlashCounterStore

    return FlashCounterStore(registers.store)


def make_han(hal, board, role, ext=None, counters=None, registers=None, out=print, key=None):
    """The HAN node (han/node.py) on the board's radio, or None when no role is asked. key:
    the network key (16 bytes); a simulated board has a fixed one (board.han_key()), a real
    one is given the key it was provisioned with."""
    if role is None:
        return None
    if hal.radio is None:
        raise ValueError("board %s has no HAN radio (none fitted or it does not answer)"
                         % hal.name)
    if key is None:
        if not hasattr(board, "han_key"):
            raise ValueError("no HAN network key: pass han_key (16 bytes)")
        key = board.han_key()
    if ext is None:
        if not hasattr(board, "han_ext"):
            raise ValueError("no extended address: pass han_ext (8 bytes)")
        ext = board.han_ext()
    import random

    from han.counters import HanCounterStore
    from han.node import HanNode

    # Backoffs and sequence numbers must differ between devices: seed from the address.
    random.seed((ext[4] << 24 | ext[5] << 16 | ext[6] << 8 | ext[7]) & 0x3FFFFFFF)
    store = HanCounterStore(counters) if counters is not None else None
    return HanNode(hal.radio, hal.clock, role, ext, key, random.getrandbits,
                   counters=store, out=out, registers=registers)


def make_p1(hal, source, profile_name="nl", key=None, system_title=b"MPY00001",
            registers=None, counters=None):
    """The P1 push for the board's UART and Data Request line, profile chosen by name. An
    encrypting profile (lu) with a key frames its telegrams in AES-128-GCM, the frame
    counter persisted in the registers' store (never reused for a key); without a key it
    sends plaintext."""
    from h1 import profiles
    from h1.push import P1Push

    profile = profiles.by_name(profile_name)
    encryptor = None
    if profile.encrypted and key:
        from h1.builder import max_telegram_length
        from h1.crypt import FrameEncryptor, RamCounterStore

        if counters is None:
            counters = make_counter_store(registers) or RamCounterStore()
        encryptor = FrameEncryptor(key, system_title, counters,
                                   max_telegram_length(profile, profile.header))
    return P1Push(hal.p1_uart, hal.data_request, hal.clock, profile, source,
                  encryptor=encryptor)


async def supply_monitor_task(pin, registers, out=print, poll_ms=20):
    """On the supply monitor's early warning, persist the registers at once (one small
    record: the hold-up time of the supply is short). Once per warning."""
    warned = False
    while True:
        if pin.value():
            if not warned:
                registers.power_fail_warning()
                out("power-fail warning: registers saved")
                warned = True
        else:
            warned = False
        await sleep_ms(poll_ms)


async def main_task(hal, board, seconds=None, out=print, profile="nl", key=None, han=None,
                    han_ext=None, han_key=None):
    from app.source import MeterSource
    from h1.push import run as p1_run
    from registers.view import RegistersView

    indicator = StatusIndicator(hal.leds)
    registers = make_registers(hal, tariff_calendar(profile))
    metrology = make_metrology(hal, board, registers)
    view = RegistersView(registers) if registers is not None else None
    source = MeterSource(hal.clock, view, metrology)
    if registers is not None and metrology is not None and hasattr(board, "config_key"):
        make_config_session(registers, metrology, board.config_key())
    if registers is not None:
        asyncio.create_task(registers_task(registers, hal.clock, seconds))
        if hal.power_warning is not None:
            asyncio.create_task(supply_monitor_task(hal.power_warning, registers, out))
    if metrology is not None:
        from metrology.task import run as metrology_run

        asyncio.create_task(metrology_run(metrology, hal.adc, hal.clock, seconds))
    counters = make_counter_store(registers)
    if hal.p1_uart is not None and hal.data_request is not None:
        asyncio.create_task(p1_run(make_p1(hal, source, profile, key, registers=registers,
                                           counters=counters), seconds))
    node = make_han(hal, board, han, han_ext, counters, registers, out, han_key)
    if node is not None:
        asyncio.create_task(node.run(seconds))
    await status_task(hal, indicator, seconds, out, metrology)


def run(seconds=None, board_module=None, out=print, profile="nl", utc=None, key=None,
        han=None, han_ext=None, han_key=None):
    """Run the meter. utc: set the wall clock first (boards without an RTC; the emulated
    board's runner passes the host's time). key: the P1 encryption key (16 bytes) for an
    encrypting profile. han: None (no HAN), "coordinator" (the hub) or "device" (a HAN
    device stand-in, han/node.py); han_ext: its 8-byte extended address; han_key: the HAN
    network key (16 bytes; the emulated board has a fixed one)."""
    if board_module is None:
        import board as board_module
    hal = board_module.make_hal()
    if utc is not None:
        hal.clock.set_time(utc)
    out(banner(hal))
    asyncio.run(main_task(hal, board_module, seconds, out, profile, key, han, han_ext,
                          han_key))
    return hal


if __name__ == "__main__":
    run()
