"""Robot Framework keyword library of the HAN BAIOP cases (tools/baiop/suites/han_*.robot,
docs/bap/han.md).

Two sources: live, the emulated board as ZigBee coordinator among the lab's devices
(tools/baiop/han_bench.py: its console, the devices' lines, the medium's capture, a probe
radio), or offline, a sniffer capture of a real session (--han-pcap with the install codes,
--han-key). What goes over the air is read by tshark (tools/baiop/hancap.py), values on P1
by dsmr_parser, the hub's diagnostics by tools.hub's parser: never by the firmware's code.
Keywords about the air live in HanAirKeywords (hanair.py), about the ZCL attributes on
the air in HanZclKeywords (hanzcl.py), about the hub's console, the lab's devices and P1
in HanHubKeywords (hanhub.py).
"""
import os

from robot.api import logger
from robot.libraries.BuiltIn import BuiltIn

from tools.baiop.hanair import HanAirKeywords, HanCounterKeywords
from tools.baiop.hancap import HanCapture
from tools.baiop.hanflow import HanFlowKeywords
from tools.baiop.hanhub import HanHubKeywords
from tools.baiop.hanreg import HanRegistrationKeywords
from tools.baiop.hanzcl import HanReportingKeywords, HanZclKeywords


class HanLibrary(HanAirKeywords, HanCounterKeywords, HanHubKeywords, HanZclKeywords,
                 HanReportingKeywords, HanFlowKeywords, HanRegistrationKeywords):
    ROBOT_LIBRARY_SCOPE = "GLOBAL"

    def __init__(self):
        self.mode = None  # "live", "pcap" or "" (no HAN)
        self.profile = "nl"
        self.cap = None
        self.target = None
        self.p1 = bytearray()  # P1 octets read while waiting for the HAN

    def open_han(self, han, keys=""):
        """Once per run (the first HAN suite's setup): where the HAN cases look."""
        if self.mode is not None:
            return
        keys = [k for k in keys.split(",") if k]
        p1 = BuiltIn().get_library_instance("tools.baiop.P1Library")
        self.profile = p1.profile
        if han.startswith("pcap:"):
            self.mode = "pcap"
            self.cap = HanCapture(han[5:], keys)
        elif han.startswith("live:"):
            self.target = p1.target
            bench = self.target.bench
            self.mode = "live"
            self.cap = HanCapture(han[5:], [c.hex() for c in bench.registered.values()])
        else:
            self.mode = ""

    def skip_unless_han(self, *needs):
        """Skip a case the source cannot give: any HAN at all, or 'live' (the hub's
        console, the lab's devices and probe)."""
        if not self.mode:
            BuiltIn().skip("no HAN in this run (the emu target, or --han-pcap CAPTURE)")
        if "live" in needs and self.mode != "live":
            BuiltIn().skip("needs the hub's console and the lab's devices (the emu target)")

    # --- waiting on the live session ---------------------------------------------------
    def run_han_for(self, seconds):
        """Let the session run (the board, the medium, the devices), keeping P1's bytes."""
        if self.mode == "live":
            self.p1 += self.target.capture(float(seconds), cont=True).data
        self._refresh()

    def wait_until_console_shows(self, text, timeout=60):
        return self._wait(lambda: text in self.target.console(), timeout,
                          "the console showed no %r" % text)

    def wait_until_device_prints(self, prefix, key, timeout=60):
        """A JSON line of a lab device ('[gas] ' or '[ihd] ') with key not null."""
        def seen():
            return any(v.get(key) is not None for v in self.device_lines(prefix))
        return self._wait(seen, timeout, "no %s line with %s" % (prefix.strip(), key))

    def _wait(self, cond, timeout, message, step=0.25):
        waited = 0.0
        while not cond():
            if waited >= float(timeout):
                raise AssertionError("%s within %s s" % (message, timeout))
            self.run_han_for(step)
            waited += step
        logger.info("after %.0f s" % waited)

    def _refresh(self):
        if self.mode == "live":
            self.target.bench.flush()

    def device_lines(self, prefix):
        import json

        out = []
        for line in self.target.bench.lines:
            if line.startswith(prefix):
                try:
                    out.append(json.loads(line[len(prefix):]))
                except ValueError:
                    pass
        return out

    def keep_han_logs(self):
        """The hub's console and the lab devices' lines next to the capture (the output
        directory), for whoever reads a failed case."""
        self._refresh()
        if self.mode != "live":
            return
        out = os.path.dirname(self.cap.pcap)
        with open(os.path.join(out, "han-console.txt"), "w") as f:
            f.write(self.target.console())
        with open(os.path.join(out, "han-devices.txt"), "w") as f:
            f.write("\n".join(self.target.bench.lines) + "\n")
        logger.info("HAN capture %s, hub console han-console.txt, devices han-devices.txt"
                    % self.cap.pcap)
