"""Signed configuration commands typed on an emulated board's console during `make run`
(`--config-at "SECONDS SUBCOMMAND ARGS..."`, docs/emulated-board.md): the same commands
`python -m tools.config` builds (docs/config.md), signed with the board's provisioned
config_key, each sent when the meter has run SECONDS, so a session can script a tariff
switch, a message or a price change while P1 and the HAN are watched.

`--console-at "SECONDS LINE"` types LINE as it is (e.g. the read-only `HUB STATUS` that
python -m tools.hub status sends; its answer shows in the console output).

Counters: the meter refuses a counter not above the last one it consumed, so every command
this process signs takes max(last + 1, UNIX time) (several in one second stay distinct).
"""
import shlex
import time

from tools import config

_last_counter = 0


def next_counter():
    global _last_counter
    _last_counter = max(_last_counter + 1, int(time.time()))
    return _last_counter


def signed_line(key, op, payload):
    """The console line (without its end of line) of op/payload signed with key."""
    cmd = config.command(op, next_counter(), payload)
    return config.console_line(cmd, config.sign(key, cmd))


class Scheduled:
    def __init__(self, at, words, op=None, payload=None, line=None):
        self.at = at
        self.words = words
        self.op = op
        self.payload = payload
        self.line = line  # typed as it is (no signature)


def parse_line(spec):
    """A --console-at value: seconds, then the line to type."""
    at, _, line = spec.strip().partition(" ")
    try:
        at = float(at)
    except ValueError:
        raise ValueError("--console-at %r: %r is not a number of seconds" % (spec, at))
    if at < 0 or not line.strip():
        raise ValueError("--console-at %r: SECONDS LINE expected" % spec)
    return Scheduled(at, [line.strip()], line=line.strip())


def parse(spec):
    """A --config-at value: seconds, then a tools.config subcommand and its arguments.
    Built at once (files read, values checked as tools.config does), so a bad command
    stops make run before the board boots. ValueError with the reason."""
    try:
        words = shlex.split(spec)
    except ValueError as e:
        raise ValueError("--config-at %r: %s" % (spec, e))
    if len(words) < 2:
        raise ValueError("--config-at %r: SECONDS SUBCOMMAND [ARGS...] expected" % spec)
    try:
        at = float(words[0])
    except ValueError:
        raise ValueError("--config-at %r: %r is not a number of seconds" % (spec, words[0]))
    if at < 0:
        raise ValueError("--config-at %r: seconds must be >= 0" % spec)
    try:
        args = config.parser().parse_args(words[1:])
    except SystemExit:  # argparse has printed why
        raise ValueError("--config-at %r: not a tools.config subcommand" % spec)
    try:
        op, payload = config.build(args)
    except (OSError, ValueError) as e:
        raise ValueError("--config-at %r: %s" % (spec, e))
    return Scheduled(at, words[1:], op, payload)


class Schedule:
    """The --config-at commands in time order; send_due(elapsed, board, key, echo) types
    those due on the console (their CFG answer shows in the console output)."""

    def __init__(self, specs, lines=()):
        self.pending = sorted([parse(s) for s in specs] + [parse_line(s) for s in lines],
                              key=lambda s: s.at)

    def send_due(self, elapsed, board, key, echo):
        while self.pending and self.pending[0].at <= elapsed:
            s = self.pending.pop(0)
            if s.line is not None:
                echo.text("[emu] console at %g s: %s\n" % (s.at, s.line))
                board.write_console(s.line + "\r")
                continue
            if key is None:
                echo.text("[emu] config at %g s: no config_key provisioned, %s not sent\n"
                          % (s.at, s.words[0]))
                continue
            echo.text("[emu] config at %g s: %s\n" % (s.at, " ".join(
                shlex.quote(w) for w in s.words)))
            board.write_console(signed_line(key, s.op, s.payload) + "\r")
