"""make run's HAN (tools/emu_run.py, --han coordinator): its own simulated 802.15.4 medium
(tools/han/medium_server.py) with a gas meter and an in-home display joining the board.

- the host gas meter: firmware/han/se/gasmeter.py under a HAN node (role "gas") whose radio
  is a link to the medium server, its register and network in a record store in RAM;
- the host display: tools/ihd/display.py's HostDisplay;
- or, with --gas-board, the gas meter as a second emulated board (tools/emu.py) on the same
  medium, provisioned with its own identity and keys, running main.run(han="gas").

Each is registered on the board through the configuration path (a signed OP_HAN_JOINER
line typed on its console, as tools.config han-join does). What they print reaches make
run's console a whole line at a time, prefixed: "[gas] " (one JSON line per report sent),
"[ihd] " (one JSON line per change of what the display shows), "[gas-board] " (the gas
board's console, without its per-second status and metering lines).
"""

import collections
import os
import random
import shutil
import tempfile
import threading
import time

from tools import fwpath
from tools.emu import PROMPT, ROOT, EmulatedBoard, EmulatorError

fwpath.setup()

# The host gas meter: EUI-64, install code (6 octets + CRC-16/X-25) and the equipment
# identifier P1 prints for it (0-1:96.1.0).
HOST_GAS_EXT = bytes.fromhex("0004A30B0000D003")
HOST_GAS_CODE = bytes.fromhex("C1D2E3F4A5B68062")
HOST_GAS_ID = b"G0099000000000003"
HOST_GAS_START_L = 1234567  # its index when make run starts: 1 234.567 m3

# The gas meter as a second emulated board (--gas-board): its provisioning record
# (tools.provision's JSON form); the install code gets its CRC appended (D1..E8 7343).
GAS_BOARD_RECORD = {
    "serial": "EMU-GAS-0004",
    "p1_equipment_id": "G0099000000000004",
    "han_eui64": "0004A30B0000D004",
    "han_install_code": "D1E2F3A4B5C6D7E87343",
    "config_key": bytes(range(0x60, 0x80)).hex(),
}
GAS_REPORT_S = 300  # the gas meter's default: DSMR 5's 5 minutes


def register_han_device(board, config_key, ext, code, echo=None, timeout=10):
    """Type a signed OP_HAN_JOINER command (tools.config han-join) on the board's console,
    as an installer does, and wait for the meter's answer. False when it is refused."""
    from tools import config
    from tools.emu_config import signed_line

    start = len(board.console_log)
    board.write_console(signed_line(config_key, config.fwconfig.OP_HAN_JOINER,
                                    config.han_joiner_payload(ext.hex(), code.hex())) + "\r")
    try:
        board.wait_console(b"CFG OK %d" % config.fwconfig.OP_HAN_JOINER, timeout=timeout,
                           echo=echo, start=start)
    except EmulatorError:
        return False
    return True


class HostMedium:
    """make run's own medium in a thread, and the host HAN devices joining the board."""

    def __init__(self, pcap=None, linktype=195):
        from tools.han.medium_server import MediumServer

        self._dir = tempfile.mkdtemp(prefix="han-")
        self.path = os.path.join(self._dir, "medium.sock")
        self.server = MediumServer(self.path, pcap=pcap, linktype=linktype).start_thread()
        self._stop = threading.Event()
        self._threads = []
        self.lines = collections.deque()  # prefixed lines for make run's console
        self.gas = None  # the host gas meter's GasMeter, once started
        self.gas_joined = False

    def _thread(self, target, *args):
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def start_gas(self, report_s=GAS_REPORT_S):
        self._thread(self._gas, report_s)

    def start_display(self):
        self._thread(self._display)

    def start_device(self, ext, code):
        """The stand-in HAN device (han/node.py role "device", a report every 5 s)."""
        self._thread(self._device, ext, code)

    def _device(self, ext, code):
        from hal.clock import SystemClock
        from han.node import HanNode
        from han.radio_bridge import BridgeRadio
        from registers.memfs import MemoryFs
        from registers.store import RecordStore
        from tools.han.medium_server import SocketStream

        clock = SystemClock()
        node = HanNode(BridgeRadio(SocketStream(self.path)), clock, "device", ext,
                       RecordStore(MemoryFs()), random.Random(7).getrandbits,
                       install_code=code, out=lambda s: None, report_ms=5000)
        self._loop(node, clock)

    def _loop(self, node, clock):
        node.start()
        while not self._stop.is_set():
            wait = node.step(clock.ticks_us())  # -1: only a frame wakes it
            time.sleep((2000 if wait < 0 else min(wait, 2000)) / 1e6)

    def _gas(self, report_s):
        from hal.clock import SystemClock
        from han.node import HanNode
        from han.radio_bridge import BridgeRadio
        from han.se.gasmeter import GasMeter
        from registers.memfs import MemoryFs
        from registers.store import RecordStore
        from tools.han.medium_server import SocketStream

        clock = SystemClock(int(time.time()))
        store = RecordStore(MemoryFs())  # its volume register and its network, in RAM

        def show(line):
            self.lines.append("[gas] " + line)

        def event(line):  # its network events: only joining is worth a console line
            if line.startswith("han zigbee"):
                show(line)
                if line.startswith("han zigbee joined"):
                    self.gas_joined = True

        self.gas = meter = GasMeter(clock, store, HOST_GAS_ID, report_s=report_s,
                                    seed=0xD003, start_litres=HOST_GAS_START_L, out=show)
        node = HanNode(BridgeRadio(SocketStream(self.path)), clock, "gas", HOST_GAS_EXT,
                       store, random.Random(3).getrandbits, install_code=HOST_GAS_CODE,
                       out=event, se=meter)
        self._loop(node, clock)

    def _display(self):
        from tools.ihd.display import HostDisplay

        host = HostDisplay(self.path)
        host.run(on_line=lambda line: self.lines.append("[ihd] " + line), stop=self._stop)

    def drain(self, echo):
        while self.lines:
            echo.text(self.lines.popleft() + "\n")

    def stop(self, echo):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)
        self.drain(echo)
        self.server.shutdown()
        shutil.rmtree(self._dir, ignore_errors=True)
        s = self.server.summary()
        echo.text("[emu] HAN medium: %d nodes, %d frames on air%s\n" % (
            s["nodes"], s["frames_on_air"],
            " (capture: %s)" % self.server.pcap_path if self.server.pcap_path else ""))


class GasBoard:
    """The gas meter as a second emulated board on the medium at path (--gas-board)."""

    QUIET = ("status ", "meter ")  # its console lines make run does not show

    def __init__(self, medium, record=None, flash_dir=None):
        from tools import provision

        self.record_json = dict(record or GAS_BOARD_RECORD)
        self.record = provision.from_json(self.record_json)
        self._own_dir = flash_dir is None
        self.flash_dir = flash_dir or tempfile.mkdtemp(prefix="gas-board-")
        self.board = EmulatedBoard(han_medium=medium, flash_dir=self.flash_dir)
        self.start = 0
        self._shown = 0

    def boot(self, report_s=GAS_REPORT_S, seconds=None, natmods=()):
        """Boot, serve the natmods (AES for CCM*), write the provisioning record, run the
        gas meter; returns without waiting for it to join."""
        b = self.board
        b.start()
        b.open_console()
        b.set_data_request(0)  # nobody reads its P1
        b.wait_console(PROMPT, timeout=30)
        if natmods:
            b.provide_natmods(natmods)
        b.raw_exec("import board, binascii, app.provision as p\n"
                   "print(p.install(board, binascii.unhexlify(%r), False))\n"
                   % self.record.encode().hex())
        self.start = self._shown = len(b.console_log)
        b.write_console("import main; main.run(utc=%d, han='gas', gas_report_s=%d%s)\r" % (
            int(time.time()), report_s, "" if seconds is None else ", seconds=%d" % seconds))
        return self

    def text(self):
        return self.board.console_log[self.start:].decode(errors="replace")

    def joined(self):
        return self.board.console_log.find(b"han zigbee joined", self.start) >= 0

    def pump(self, timeout=0.0):
        self.board.pump(timeout)

    def show(self, echo):
        """Its new whole console lines, prefixed, except the quiet ones."""
        log = self.board.console_log
        end = log.rfind(b"\n", self._shown) + 1
        if end <= self._shown:
            return
        for line in bytes(log[self._shown:end]).decode(errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith(self.QUIET):
                echo.text("[gas-board] %s\n" % line)
        self._shown = end

    def stop(self):
        self.board.stop()
        if self._own_dir:
            shutil.rmtree(self.flash_dir, ignore_errors=True)


def natmod_paths():
    import glob

    return sorted(glob.glob(os.path.join(ROOT, "build", "natmod", "armv7m", "*.mpy")))
