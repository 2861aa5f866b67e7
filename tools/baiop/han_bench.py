"""The HAN side of a BAIOP run against the emulated board (docs/bap/han.md): the board is
the ZigBee coordinator on a simulated 802.15.4 medium served by this process
(tools/han/medium_server.py, captured as a sniffer would: pcap LINKTYPE 283 with channel,
RSSI and LQI), and around it the devices a test lab brings:

- our gas meter role and our in-home display (tools/emu_han.py, tools/ihd), registered
  with their install codes through the signed configuration path, as an installer does;
- a device registered with one install code that joins with another (it must never get
  the network key), and one that was never registered (its association must be refused);
- a raw radio of the lab's own on the medium, for frames no well-behaved device sends
  (a replayed frame).

Registrations persist on the board's flash; a reboot of the board (a supply failure)
leaves the medium and the devices running, so the cases see the hub resume its network.
"""
import time

from tools import emu_han
from tools.provision import with_crc

# The devices of the session: EUI-64 and install code (6 octets + CRC-16/X-25, BDB 10.1).
WRONG_CODE_EXT = bytes.fromhex("0004A30B0000D0E1")
WRONG_CODE_REGISTERED = bytes.fromhex("A1A2A3A4A5A6")  # what the installer typed
WRONG_CODE_USED = bytes.fromhex("B1B2B3B4B5B6")  # what the device holds
UNREGISTERED_EXT = bytes.fromhex("0004A30B0000D0E2")
UNREGISTERED_CODE = bytes.fromhex("C1C2C3C4C5C6")
GAS_REPORT_S = 10  # shorter than the 300 s default so that a run sees several reports
DISPLAY_AFTER_GAS_S = 25  # tools/emu_run.py: a sleepy joiner first, the display after
LINKTYPE_TAP = 283
MAX_FRAME_RETRIES = 3  # aMaxFrameRetries (802.15.4-2006 Table 86)
ACK_WAIT_S = 0.2  # the medium's ACK, through its server, for the lab radio's frames


class HanBench:
    """The medium, the host devices and what they printed (lines, in arrival order)."""

    def __init__(self, pcap):
        self.pcap = pcap
        # The lab's sniffer: a TAP capture (channel, RSSI, LQI with every frame).
        self.host = emu_han.HostMedium(pcap, LINKTYPE_TAP)
        self.path = self.host.path
        self.lines = []  # "[gas] ..." and "[ihd] ..." lines of the host devices
        self.registered = {}  # ext -> install code with CRC, as the installer typed it
        self._display_due = None
        self.started = False

    def enrol(self, board, config_key, out=lambda s: None):
        """Register the devices on the board (its console, signed lines) and start the
        gas meter; the display and the probes start once the gas meter joined."""
        from tools.ihd.display import DEFAULT_CODE, DEFAULT_EXT

        wanted = ((emu_han.HOST_GAS_EXT, emu_han.HOST_GAS_CODE), (DEFAULT_EXT, DEFAULT_CODE),
                  (WRONG_CODE_EXT, with_crc(WRONG_CODE_REGISTERED)))
        for ext, code in wanted:
            if not emu_han.register_han_device(board, config_key, ext, code):
                raise RuntimeError("the board refused to register %s" % ext.hex())
            self.registered[ext] = code
        self.host.start_gas(GAS_REPORT_S)
        self._display_due = time.monotonic() + DISPLAY_AFTER_GAS_S
        self.started = True

    def pump(self):
        """Collect the devices' lines; start the display and the probes when due."""
        while self.host.lines:
            self.lines.append(self.host.lines.popleft())
        if self._display_due is not None and (self.host.gas_joined or
                                              time.monotonic() >= self._display_due):
            self._display_due = None
            self.host.start_display()
            self.host.start_device(WRONG_CODE_EXT, with_crc(WRONG_CODE_USED))
            self.host.start_device(UNREGISTERED_EXT, with_crc(UNREGISTERED_CODE))

    def flush(self):
        self.host.server.flush_capture()

    def inject(self, psdu, channel):
        """Transmit a MAC frame from the lab's own radio (which appends the FCS, as
        802.15.4 transceivers do). A frame that asks for an acknowledgement is sent again
        until one comes, up to aMaxFrameRetries times, as a device's MAC does (the hub
        hears nothing while it transmits itself). True when acknowledged, or not asked."""
        from hal.radio import TX_OK
        from han.radio_bridge import BridgeRadio
        from tools.han.medium_server import SocketStream

        with open(self.pcap + ".injected", "a") as f:  # hancap.py leaves them out
            f.write(bytes(psdu).hex() + "\n")
        wants_ack = bool(psdu[0] & 0x20)  # frame control: ACK request (802.15.4 7.2.1.1.4)
        stream = SocketStream(self.path)
        try:
            radio = BridgeRadio(stream)
            radio.on()
            radio.set_channel(channel)
            for _ in range(1 + MAX_FRAME_RETRIES):
                radio.prepare(psdu, len(psdu))
                end = time.monotonic() + 2
                while radio.transmit() != TX_OK and time.monotonic() < end:
                    time.sleep(0.01)
                while radio.tx_busy() and time.monotonic() < end:
                    time.sleep(0.005)
                if not wants_ack or _acked(radio, psdu[2]):
                    return True
            return False
        finally:
            stream.close()

    def stop(self):
        class _Quiet:
            def text(self, s):
                pass

        self.host.stop(_Quiet())


def _acked(radio, seq, wait_s=ACK_WAIT_S):
    """An ACK frame (type 2) with sequence number seq heard within wait_s."""
    buf = bytearray(127)
    end = time.monotonic() + wait_s
    while time.monotonic() < end:
        if radio.pending_packet():
            n = radio.read(buf)
            if n >= 3 and buf[0] & 0x07 == 2 and buf[2] == seq:
                return True
        else:
            time.sleep(0.002)
    return False
