# The supervisor: every asyncio task of the meter runs under it (issue 10 item 2; seed 003
# 11.7 g: the fault log records time, task and error code).
#
# - A task is registered with an id (TASK_*), a factory (a function returning a new
#   coroutine: how to (re)start it) and a progress deadline in ms.
# - Progress: the supervisor drives each task's coroutine through a thin forwarding
#   awaitable (_Watched) and counts every suspension of the task (each await that yields
#   to the scheduler) as progress; a task can also report it itself with alive(task_id).
#   So a task that awaits something that never comes, or sleeps far past its deadline,
#   stops making progress; a task that never yields stops the whole scheduler, the
#   supervisor too, and the watchdog expires the same way.
# - An exception escaping a task: one fault-log entry (EV_TASK_FAULT, a = task id, b =
#   error_code(exception)), then a restart after a back-off of 1 s, 2 s, 4 s ... capped at
#   60 s; the back-off returns to 1 s once the task has run 5 minutes without a fault.
# - A task past its deadline: one fault-log entry (EV_TASK_HUNG, a = task id, b = seconds
#   since its last progress) and the watchdog is never fed again: the board resets. It is
#   not cancelled or restarted: a hung task may hold a bus or a half-written record, and a
#   reset is the one recovery that is known to be clean.
# - The watchdog is fed by step() only while no task is hung.
#
# step(now_ms) is a polled state machine (host tests drive it with hal.clock.FakeClock);
# run() is the asyncio wrapper. Faults reach the logs through record_fault(code, a, b),
# injected by main: the supervisor imports no subsystem.
from micropython import const

# Task ids: the `a` of EV_TASK_FAULT / EV_TASK_HUNG entries (never renumber).
TASK_METROLOGY = const(1)
TASK_REGISTERS = const(2)
TASK_P1 = const(3)
TASK_HAN = const(4)
TASK_SUPPLY = const(5)
TASK_STATUS = const(6)
TASK_CONSOLE = const(7)
TASK_SNTP = const(8)
TASK_UPDATE = const(9)  # a new firmware image's health check (app/update.py)
_TASK_SLOTS = const(10)  # ids 1..9

# Fault-log event codes: the numbers of registers.logs (a unit test keeps them equal).
EV_TASK_FAULT = const(42)
EV_TASK_HUNG = const(43)

# Error codes (the `b` of EV_TASK_FAULT), by exception class; the first match wins, so a
# subclass comes before its base. OSError: ERR_OS_BASE + errno (EIO 5 -> 261).
ERR_OTHER = const(1)
ERR_VALUE = const(2)
ERR_TYPE = const(3)
ERR_INDEX = const(4)
ERR_KEY = const(5)
ERR_ZERO_DIVISION = const(6)
ERR_OVERFLOW = const(7)
ERR_MEMORY = const(8)
ERR_ATTRIBUTE = const(9)
ERR_NOT_IMPLEMENTED = const(10)
ERR_RUNTIME = const(11)
ERR_ASSERTION = const(12)
ERR_NAME = const(13)
ERR_IMPORT = const(14)
ERR_STOP_ITERATION = const(15)
ERR_OS_BASE = const(256)

_ERROR_CLASSES = (
    (OSError, ERR_OS_BASE), (ValueError, ERR_VALUE), (TypeError, ERR_TYPE),
    (IndexError, ERR_INDEX), (KeyError, ERR_KEY), (ZeroDivisionError, ERR_ZERO_DIVISION),
    (OverflowError, ERR_OVERFLOW), (MemoryError, ERR_MEMORY),
    (AttributeError, ERR_ATTRIBUTE), (NotImplementedError, ERR_NOT_IMPLEMENTED),
    (RuntimeError, ERR_RUNTIME), (AssertionError, ERR_ASSERTION), (NameError, ERR_NAME),
    (ImportError, ERR_IMPORT), (StopIteration, ERR_STOP_ITERATION),
)

BACKOFF_MS = const(1000)
BACKOFF_MAX_MS = const(60000)
HEALTHY_MS = const(300000)  # a run this long without a fault resets the back-off
POLL_MS = const(250)  # run(): how often step() runs

# Task states.
_IDLE = const(0)  # not registered
_RUNNING = const(1)
_BACKOFF = const(2)  # faulted, waiting to restart
_DUE = const(3)  # to be started by the asyncio wrapper (step() returned its bit)
_DONE = const(4)  # returned: it ran for the number of seconds it was given


def error_code(exc):
    """The stable code of an exception (see ERR_*)."""
    for cls, code in _ERROR_CLASSES:
        if isinstance(exc, cls):
            if code == ERR_OS_BASE:
                errno = getattr(exc, "errno", None)
                if errno is None:
                    errno = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 0
                return ERR_OS_BASE + (errno & 0xFFFF)
            return code
    return ERR_OTHER


class _Watched:
    """Forwards an awaited coroutine's protocol unchanged (send, throw, StopIteration for
    its return) and reports progress each time the coroutine suspends."""

    def __init__(self, supervisor, task_id, coro):
        self._sup = supervisor
        self._id = task_id
        self._coro = coro

    def __await__(self):
        return self

    __iter__ = __await__  # MicroPython's await takes the iterator

    def __next__(self):
        return self.send(None)

    def send(self, value):
        out = self._coro.send(value)
        self._sup.alive(self._id)
        return out

    def throw(self, *args):
        out = self._coro.throw(*args)
        self._sup.alive(self._id)
        return out

    def close(self):
        self._coro.close()


# Fault injection for tests (tests/emu/test_watchdog.py sets it at the REPL before
# main.run): the task with id HANG_TASK runs for HANG_AFTER_MS, then stops making progress
# (it awaits an event nobody sets). Production never sets it; it costs one compare per
# task start.
HANG_TASK = 0
HANG_AFTER_MS = 0


class _Hanging(_Watched):
    def __init__(self, supervisor, task_id, coro, after_ms):
        _Watched.__init__(self, supervisor, task_id, coro)
        self._t0 = supervisor.clock.ticks_ms()
        self._after = after_ms
        self._hung = False

    def send(self, value):
        if self._hung:
            return self._coro.send(value)
        clock = self._sup.clock
        if clock.ticks_diff(clock.ticks_ms(), self._t0) >= self._after:
            import asyncio

            self._hung = True
            self._coro = asyncio.Event().wait()
            return self._coro.send(None)
        return _Watched.send(self, value)


class Supervisor:
    def __init__(self, clock, watchdog=None, record_fault=None, backoff_ms=BACKOFF_MS,
                 backoff_max_ms=BACKOFF_MAX_MS, healthy_ms=HEALTHY_MS, out=None):
        self.clock = clock
        self.watchdog = watchdog
        self.record_fault = record_fault
        self.out = out
        self.backoff_ms = backoff_ms
        self.backoff_max_ms = backoff_max_ms
        self.healthy_ms = healthy_ms
        n = _TASK_SLOTS
        self._factory = [None] * n
        self._deadline = [0] * n
        self._state = [_IDLE] * n
        self._last = [0] * n  # ticks_ms of the last progress
        self._started = [0] * n  # ticks_ms of the last (re)start
        self._healthy = [False] * n  # ran healthy_ms since the last start
        self._restart_at = [0] * n
        self._next_backoff = [0] * n
        self.faults = [0] * n
        self.restarts = [0] * n
        self._hung = [False] * n  # found past its deadline (latched: logged once)
        self.hung = 0  # id of the first task found hung (0: none); latched
        self.feeds = 0
        self.stopped = False

    # ---- registration and progress ------------------------------------------------------
    def add(self, task_id, factory, deadline_ms):
        """Register a task; step() asks for its first start at once."""
        if not 0 < task_id < _TASK_SLOTS or self._state[task_id] != _IDLE:
            raise ValueError("bad or duplicate task id")
        self._factory[task_id] = factory
        self._deadline[task_id] = deadline_ms
        self._next_backoff[task_id] = self.backoff_ms
        self._state[task_id] = _BACKOFF
        self._restart_at[task_id] = self.clock.ticks_ms()

    def alive(self, task_id):
        """Progress report. Allocation-free (a small-int store)."""
        self._last[task_id] = self.clock.ticks_ms()

    def state(self, task_id):
        return self._state[task_id]

    def running(self, task_id):
        return self._state[task_id] == _RUNNING

    # ---- the polled state machine -------------------------------------------------------
    def step(self, now_ms):
        """Check every task at now_ms (ticks_ms); feed the watchdog if none is hung. Returns
        a bit mask (1 << task_id) of the tasks to start now: the caller starts each with
        start(task_id)."""
        clock = self.clock
        due = 0
        for tid in range(1, _TASK_SLOTS):
            state = self._state[tid]
            if state == _RUNNING:
                if not self._healthy[tid] and \
                        clock.ticks_diff(now_ms, self._started[tid]) >= self.healthy_ms:
                    self._healthy[tid] = True
                    self._next_backoff[tid] = self.backoff_ms
                age = clock.ticks_diff(now_ms, self._last[tid])
                if age > self._deadline[tid] and not self._hung[tid]:
                    self._hung[tid] = True
                    if self.hung == 0:
                        self.hung = tid
                    self._log(EV_TASK_HUNG, tid, age // 1000)
                    self._say("supervisor: task %d hung %d ms: watchdog no longer fed"
                              % (tid, age))
            elif state == _BACKOFF:
                if clock.ticks_diff(now_ms, self._restart_at[tid]) >= 0:
                    self._state[tid] = _DUE
                    due |= 1 << tid
        if self.hung == 0 and not self.stopped and self.watchdog is not None:
            self.watchdog.feed()
            self.feeds += 1
        return due

    def start(self, task_id):
        """A new coroutine for the task, to hand to the scheduler (asyncio.create_task, or a
        test's own driver): its factory's coroutine under _Watched, faults caught."""
        now = self.clock.ticks_ms()
        self._state[task_id] = _RUNNING
        self._started[task_id] = now
        self._last[task_id] = now
        self._healthy[task_id] = False
        coro = self._factory[task_id]()
        if task_id == HANG_TASK:
            return self._run_task(task_id, _Hanging(self, task_id, coro, HANG_AFTER_MS))
        return self._run_task(task_id, _Watched(self, task_id, coro))

    async def _run_task(self, task_id, watched):
        try:
            await watched
        except Exception as e:  # noqa: BLE001 - every fault is logged, then restarted
            self.failed(task_id, e)
            return
        if self._state[task_id] == _RUNNING:
            self._state[task_id] = _DONE

    def failed(self, task_id, exc):
        """The task raised exc: log it and schedule the restart after its back-off."""
        now = self.clock.ticks_ms()
        code = error_code(exc)
        self.faults[task_id] += 1
        self._log(EV_TASK_FAULT, task_id, code)
        delay = self._next_backoff[task_id]
        self._next_backoff[task_id] = min(delay * 2, self.backoff_max_ms)
        self._restart_at[task_id] = self.clock.ticks_add(now, delay)
        self._state[task_id] = _BACKOFF
        self.restarts[task_id] += 1
        self._say("supervisor: task %d failed (%s, code %d): restart in %d ms"
                  % (task_id, type(exc).__name__, code, delay))

    def stop(self):
        """Stop feeding, and stop the watchdog where the hardware can (the emulated board):
        the meter's run has ended (main.run(seconds=...))."""
        self.stopped = True
        stop = getattr(self.watchdog, "stop", None)
        if stop is not None:
            stop()

    def _log(self, code, a, b):
        if self.record_fault is not None:
            try:
                self.record_fault(code, a, b)
            except Exception:  # noqa: BLE001 - logging must not stop supervision
                pass

    def _say(self, text):
        if self.out is not None:
            self.out(text)

    # ---- asyncio ------------------------------------------------------------------------
    def done(self, task_id):
        return self._state[task_id] == _DONE

    async def run(self, until=0, poll_ms=POLL_MS):
        """Start the registered tasks, restart the failed ones, feed the watchdog: until
        stop(), or until task `until` has returned (a run for a given number of seconds),
        which stops the supervisor."""
        import asyncio

        from hal.aio import sleep_ms

        while not self.stopped:
            if until and self._state[until] == _DONE:
                self.stop()
                return
            due = self.step(self.clock.ticks_ms())
            tid = 1
            while due:
                if due & (1 << tid):
                    asyncio.create_task(self.start(tid))
                    due &= ~(1 << tid)
                tid += 1
            await sleep_ms(poll_ms)
