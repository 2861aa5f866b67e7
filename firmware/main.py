# Entry point: wire the subsystems for one board from its contract (docs/boards.md), its
# market profile and its provisioning record, and run them under the supervisor on asyncio.
# On a real board MicroPython runs this file at boot (__name__ == "__main__"); on the
# emulated board tools/emu_run.py types `import main; main.run(...)` at the REPL.
import sys

import asyncio
from app.status import StatusIndicator, heap_free
from app.version import FIRMWARE_NAME, FIRMWARE_VERSION

ALERT_UNPROVISIONED = "unprovisioned"
ALERT_CLOCK = "clock-unsynced"


def banner(hal):
    impl = sys.implementation
    runtime = "{} {}".format(impl.name, ".".join(str(v) for v in impl.version[:3]))
    return "{} {} board={} runtime={} heap_free={}".format(
        FIRMWARE_NAME, FIRMWARE_VERSION, hal.name, runtime, heap_free())


def make_registers(hal, profile, clock_trusted=True):
    """The registers on the board's flash, restored from it, keeping the market's time zone
    and factory calendar; None without flash. clock_trusted: see MeterRegisters.boot."""
    if hal.flash is None:
        return None
    from registers.meter import MeterRegisters
    from registers.storage import open_filesystem

    fs = getattr(hal, "fs", None)  # opened at boot by open_updater: the same littlefs
    if fs is None:
        fs, _ = open_filesystem(hal.flash)
    registers = MeterRegisters(hal.clock, fs, std_offset_s=profile.std_offset_s,
                               dst_rule=profile.dst_rule, calendar=profile.default_calendar())
    registers.boot(clock_trusted=clock_trusted)
    return registers


def make_metrology(hal, board, sink, on_event=None):
    """The metrology for the board's front end: a metering IC (hal.meter_ic) or an ADC block
    sampler (hal.adc); None on boards with neither."""
    if not hasattr(board, "metrology_config"):
        return None
    chip = getattr(hal, "meter_ic", None)
    if chip is not None:
        from metrology.ic_front import ICMetrology

        return ICMetrology(board.metrology_config(), chip, sink=sink, clock=hal.clock,
                           on_event=on_event)
    if hal.adc is None:
        return None
    from metrology.frontend import Metrology

    return Metrology(board.metrology_config(), sink=sink, clock=hal.clock, on_event=on_event)


def restore_calibration(registers, metrology):
    """Apply the stored calibration (whatever the meter's keys: a meter without a
    configuration key still meters calibrated). Returns its store."""
    from metrology.calibration import CalibrationStore

    store = CalibrationStore(registers.store, metrology.config.phases)
    stored = store.load()  # None when absent or out of range
    if stored is not None:
        try:
            metrology.set_calibration(stored)
        except ValueError:
            pass  # a record this front end cannot use: it meters uncalibrated
    return store


def make_config_session(registers, metrology, key, handlers=None):
    """The authenticated configuration path (registers/config.py) with the metrology's
    calibration command (when there is a metrology); its stored calibration is applied now.
    handlers: more {op: (parse, apply)} (e.g. OP_PROVISION). Only a configuration channel
    holding the key reaches it: neither H1 (push only) nor the HAN is given it."""
    from registers.config import OP_SET_CALIBRATION, REJECT_RANGE, ConfigSession, Rejected

    handlers = dict(handlers or {})
    if metrology is not None:
        from metrology.calibration import Calibration

        phases = metrology.config.phases
        store = restore_calibration(registers, metrology)

        def parse_calibration(payload):
            cal = Calibration.decode(payload)  # ValueError: not a whole record
            problem = cal.range_error(phases)
            if problem is None:
                try:
                    metrology.check_calibration(cal)  # what set_calibration would refuse
                except ValueError as e:
                    problem = str(e)
            if problem is not None:
                raise Rejected(REJECT_RANGE, problem)
            return cal

        def apply_calibration(cal):
            store.save(cal)  # first: a flash error leaves the old calibration everywhere
            metrology.set_calibration(cal)

        handlers[OP_SET_CALIBRATION] = (parse_calibration, apply_calibration)
    return ConfigSession(registers, key, handlers)


def provisioning_handler(registers):
    """(parse, apply) of OP_PROVISION: a new provisioning record, validated whole, stored;
    it takes effect at the next boot (identity and keys are wired at start-up)."""
    from app import provision
    from registers.config import REJECT_MALFORMED, Rejected

    def parse(payload):
        try:
            return provision.Provisioning.decode(payload)
        except ValueError as e:
            raise Rejected(REJECT_MALFORMED, str(e))

    def apply(record):
        provision.save(registers.store, record)

    return parse, apply


def make_counter_store(registers):
    """The persisted frame counters (registers/counters.py) of P1's encryption (the HAN's
    ZigBee counters are kept by han/nwk/store.py in the same record store)."""
    if registers is None:
        return None
    from registers.counters import FlashCounterStore

    return FlashCounterStore(registers.store)


def make_p1(hal, source, profile, key=None, system_title=None, counters=None):
    """The P1 push for the board's UART and Data Request line. An encrypting profile (lu)
    with a key frames its telegrams in AES-128-GCM under the provisioned system title, the
    frame counter persisted (never reused for a key); without a key it sends plaintext."""
    from h1.push import P1Push

    encryptor = None
    if profile.encrypted and key:
        from h1.builder import max_telegram_length
        from h1.crypt import FrameEncryptor
        from registers.counters import RamCounterStore

        if system_title is None:
            raise ValueError("P1 encryption needs the provisioned system_title")
        encryptor = FrameEncryptor(key, system_title, counters or RamCounterStore(),
                                   max_telegram_length(profile, profile.header))
    return P1Push(hal.p1_uart, hal.data_request, hal.clock, profile, source,
                  encryptor=encryptor)


# Progress deadlines (ms) of the supervised tasks (app/supervisor.py): a few times the
# longest a healthy task waits between two of its awaits (registers, status, P1: 1 s; a
# registers step may also write flash; supply monitor 20 ms; metrology 20 ms plus up to a
# second of backlog on a slow emulated core; HAN 2 ms; console 50 ms).
DEADLINE_MS = {"registers": 10000, "supply": 2000, "metrology": 5000, "p1": 5000,
               "han": 5000, "status": 5000, "console": 5000, "sntp": 15000, "update": 5000}


def make_supervisor(hal, registers, out=print):
    """The supervisor of every task (app/supervisor.py), its faults logged in the registers'
    fault log, and the cause of this boot's reset logged there first (unless a power-on:
    the standard log has that as EV_POWER_UP)."""
    from app.supervisor import Supervisor

    record = None
    if registers is not None:
        from registers.logs import EV_RESET_CAUSE, EV_TASK_HUNG, FAULT

        def record(code, a, b):
            registers.record_event(FAULT, registers.clock.utc(), code, a, b)
            if code == EV_TASK_HUNG:
                # The watchdog resets the board next: save as on a supply failure (the
                # warning writes energy, logs and counters).
                registers.power_fail_warning()

        if hal.watchdog is not None:
            cause = hal.watchdog.reset_cause()
            if cause != 1:  # hal.watchdog.RESET_POWER_ON
                registers.record_event(FAULT, registers.clock.utc(), EV_RESET_CAUSE, cause, 0)
                registers.flush(force=True)
    return Supervisor(hal.clock, hal.watchdog, record, out=out)


def status_fields(registers, provisioning, indicator, source=None):
    """The status line's tail: whether the clock is synchronised (the alert follows it),
    and who the meter is. Each second it also checks the gas meter's silence (P1 does only
    while Data Request is high)."""
    who = provisioning.serial.decode() if provisioning is not None else ALERT_UNPROVISIONED

    def fields():
        synced = registers is None or registers.clock.synced
        if synced:
            indicator.clear_alert(ALERT_CLOCK)
        if source is not None and registers is not None:
            source.check_gas(registers.clock.utc())
        return "clock_synced={} id={}".format("yes" if synced else "no", who)

    return fields


async def main_task(hal, board, seconds=None, out=print, profile="nl", key=None, han=None,
                    han_ext=None, han_key=None, clock_trusted=True, gas_report_s=None,
                    update=None, healthy_s=None):
    from app import provision
    from app import supervisor as sv
    from app.source import MeterSource
    from app.tasks import MetrologyEventLog, registers_task, status_task, supply_monitor_task
    from h1 import profiles
    from h1.push import run as p1_run
    from registers.logs import EV_PROVISIONING, STANDARD
    from registers.view import RegistersView

    market = profiles.by_name(profile)
    indicator = StatusIndicator(hal.leds)
    registers = make_registers(hal, market, clock_trusted)
    record = provision.load(registers.store) if registers is not None else None
    if record is None:
        # It meters all the same; P1 goes out without identity lines (nothing invented).
        indicator.raise_alert(ALERT_UNPROVISIONED)
        out("provisioning: none on this meter (python -m tools.provision)")
    else:
        out("provisioning: " + record.summary())
    events = None
    if registers is not None:
        registers.record_event(STANDARD, registers.clock.utc(), EV_PROVISIONING,
                               0 if record is None else 1, 0)
        if not registers.clock.synced:
            indicator.raise_alert(ALERT_CLOCK)
        events = MetrologyEventLog(registers)
        if update is not None:  # the A/B update's outcomes (app/update.py)
            update.log_notes(registers.record_event, registers.clock.utc())
    metrology = make_metrology(hal, board, registers,
                               events.on_event if events is not None else None)
    if events is not None and metrology is not None:
        events.detector = metrology.events
    view = RegistersView(registers) if registers is not None else None
    source = MeterSource(hal.clock, view, metrology, std_offset_s=market.std_offset_s,
                         identity=record.p1_equipment_id if record is not None else None,
                         indicator=indicator)
    supervisor = make_supervisor(hal, registers, out)
    config_key = record.config_key if record is not None else None
    node = None
    price_store = None
    if registers is not None:
        from registers.prices import PriceStore

        price_store = PriceStore(registers.store)  # the HAN's prices (OP_SET_PRICES)
        price_store.load()
    hub_status = None  # the console's HUB STATUS (han/diag.py)
    if han is not None:
        from app.han_setup import make_han

        node = make_han(hal, han, record, registers, han_ext, han_key, out, view, market,
                        metrology, price_store, gas_report_s=gas_report_s, update=update)
        if node.role == "coordinator":
            from app.han_setup import make_hub_status

            hub_status = make_hub_status(node, registers)
    if registers is not None:
        session = None
        if config_key is not None:
            from registers import prices as reg_prices
            from registers.config import OP_HAN_JOINER, OP_PROVISION, OP_SET_PRICES

            handlers = {OP_PROVISION: provisioning_handler(registers)}
            hub = None
            if node is not None and node.role == "coordinator":
                from han.node import joiner_handler

                handlers[OP_HAN_JOINER] = joiner_handler(node)
                hub = node.se
            # Stored even without the HAN; a running hub publishes the new prices at once.
            from app.han_setup import price_config

            handlers[OP_SET_PRICES] = reg_prices.handler(
                price_store, None if hub is None else
                (lambda p: hub.set_prices(price_config(p))))
            session = make_config_session(registers, metrology, config_key, handlers)
        elif metrology is not None:
            restore_calibration(registers, metrology)
        supervisor.add(sv.TASK_REGISTERS, lambda: registers_task(registers, hal.clock, seconds),
                       DEADLINE_MS["registers"])
        if hal.power_warning is not None:
            supervisor.add(sv.TASK_SUPPLY,
                           lambda: supply_monitor_task(
                               hal.power_warning, registers, out,
                               also=(node.power_fail_warning,) if node is not None else ()),
                           DEADLINE_MS["supply"])
        if (record is not None and record.ntp_server and record.wifi_ssid
                and hasattr(board, "ntp_socket_opener")):
            from app import sntp

            opener = board.ntp_socket_opener(record.wifi_ssid.decode(),
                                             (record.wifi_psk or b"").decode(),
                                             record.ntp_server.decode())
            supervisor.add(sv.TASK_SNTP, lambda: sntp.sync_task(registers, opener, out),
                           DEADLINE_MS["sntp"])
        if session is not None or hub_status is not None:
            from app import console

            port = console.default_port(hal.console)
            if port is not None:
                supervisor.add(sv.TASK_CONSOLE,
                               lambda: console.run(session, port, out, hub_status=hub_status),
                               DEADLINE_MS["console"])
    if metrology is not None:
        from metrology.task import run as metrology_run

        supervisor.add(sv.TASK_METROLOGY,
                       lambda: metrology_run(metrology, hal.adc, hal.clock, seconds),
                       DEADLINE_MS["metrology"])
    counters = make_counter_store(registers)
    if hal.p1_uart is not None and hal.data_request is not None:
        push = make_p1(hal, source, market, key or (record.p1_key if record else None),
                       record.system_title if record else None, counters)
        supervisor.add(sv.TASK_P1, lambda: p1_run(push, seconds), DEADLINE_MS["p1"])
    if node is not None:
        supervisor.add(sv.TASK_HAN, lambda: node.run(seconds), DEADLINE_MS["han"])
    if update is not None and update.trying():
        from app.update import HEALTHY_S, health_task

        supervisor.add(sv.TASK_UPDATE,
                       lambda: health_task(
                           supervisor, update, hal.clock, healthy_s or HEALTHY_S,
                           lambda: update.log_notes(registers.record_event,
                                                    registers.clock.utc())),
                       DEADLINE_MS["update"])
    state = status_fields(registers, record, indicator, source)
    supervisor.add(sv.TASK_STATUS,
                   lambda: status_task(hal, indicator, seconds, out, metrology, state),
                   DEADLINE_MS["status"])
    try:
        # With seconds, the run ends when the status task has printed its last line.
        await supervisor.run(until=sv.TASK_STATUS)
    finally:
        supervisor.stop()  # the emulated board's watchdog stops; real ones cannot


def run(seconds=None, board_module=None, out=print, profile="nl", utc=None, key=None,
        han=None, han_ext=None, han_key=None, gas_report_s=None, healthy_s=None,
        limit_s=None):
    """Run the meter. utc: a time sync before the start (the emulated board's runner passes
    the host's time); without it the board's clock is trusted only if it keeps time through
    power cuts (board.CLOCK_KEEPS_TIME), else the registers resume from the persisted time,
    unsynchronised. key: overrides the provisioned P1 key (16 bytes). han: None (no HAN),
    "coordinator" (the hub, ZigBee coordinator and trust centre), "gas" (the gas meter),
    "display" (the in-home display) or "device" (a ZigBee end device sending stand-in
    reports; app/han_setup.py); han_ext and han_key override the provisioned EUI-64 and the
    coordinator's network key. The coordinator admits the devices registered through the
    configuration op OP_HAN_JOINER (python -m tools.config han-join EUI64 CODE).
    gas_report_s: the gas meter's report interval (default 300 s, DSMR 5's cadence).
    The image that runs is the A/B update's choice (app/update.py); a new one confirms
    itself after healthy_s without a task fault and is rolled back when it raises or has not
    confirmed within limit_s (defaults: app/update.py HEALTHY_S and LIMIT_S)."""
    if board_module is None:
        import board as board_module
    hal = board_module.make_hal()
    trusted = getattr(board_module, "CLOCK_KEEPS_TIME", False)
    if utc is not None:
        hal.clock.set_time(utc)
        trusted = True
    # The boot part's own imports, all before a switch: after it the firmware's packages
    # are the new image's, which may lack or change these.
    from app.update import LIMIT_S, guard_trial, open_updater, slot_path, use_slot

    updater = open_updater(hal, out)

    start, name = main_task, banner  # this module's (the frozen image) until a switch
    switched = False  # modules of a slot may be loaded
    while True:
        slot = updater.choose() if updater is not None else 0
        try:
            if slot or switched:
                path = slot_path(hal.fs, slot) if slot else None  # OSError: no slots here
                switched = True
                use_slot(path)
                import main as m  # the image's main.py, or the frozen one when it has none

                start, name = m.main_task, m.banner
            out(name(hal))
            asyncio.run(guard_trial(start(
                hal, board_module, seconds, out, profile, key, han, han_ext, han_key,
                trusted, gas_report_s, update=updater, healthy_s=healthy_s),
                updater, hal.clock, limit_s or LIMIT_S))
            return hal
        except Exception as e:  # a new image that fails to start: the previous one runs
            if updater is None or not updater.trying():
                raise
            out("update: the new image failed: %r" % (e,))
            updater.failed()


if __name__ == "__main__":
    run()
