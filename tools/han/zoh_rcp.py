"""A fake OpenThread radio co-processor (RCP) on the simulated 802.15.4 medium, for
zigbee-on-host's OT RCP driver (tools/zoh, docs/han.md "A foreign trust centre").

The host talks Spinel (draft-rquattle-spinel-unified) in HDLC-lite frames; this RCP answers
what zigbee-on-host 0.3.0's driver (dist/drivers/ot-rcp-driver.js) asks and nothing more:

- start(): PROTOCOL_VERSION, NCP_VERSION, INTERFACE_TYPE, RCP_API_VERSION,
  RCP_MIN_HOST_API_VERSION, then RESET (answered by an unsolicited LAST_STATUS
  RESET_SOFTWARE);
- formNetwork(): PHY_ENABLED, PHY_CHAN, PHY_TX_POWER, MAC_15_4_LADDR / SADDR / PANID,
  MAC_RX_ON_WHEN_IDLE_MODE, MAC_RAW_STREAM_ENABLED set; PHY_TX_POWER, PHY_RSSI,
  PHY_RX_SENSITIVITY, PHY_CCA_THRESHOLD get;
- STREAM_RAW set: a PSDU (with 2 FCS octets the radio replaces) and the transmit metadata
  (channel, CSMA-CA backoffs, retries, CSMA on/off, ...); answered with LAST_STATUS OK,
  NO_ACK or CCA_FAILURE once CSMA-CA, the ACK wait and the retries are over;
- received frames (address-filtered, acknowledged by the transceiver) go up unsolicited as
  STREAM_RAW with rssi / noise floor / flags metadata and the PHY struct (channel, LQI);
- MAC_SCAN_STATE = ENERGY over MAC_SCAN_MASK for MAC_SCAN_PERIOD ms each:
  MAC_ENERGY_SCAN_RESULT per channel, then MAC_SCAN_STATE = IDLE; MAC_PROMISCUOUS_MODE
  (sniffer: no filtering, no ACKs).

Frame pending in the ACK of a data request: the driver never fills the RCP's source-match
table (no MAC_SRC_MATCH_* property in its dist), so, as an OpenThread radio does with
source matching disabled, every ACK of a data request says frame pending = 1; the host
then answers the poll with whatever it holds (the association response, or nothing).

The transceiver is a han.radio_sim.SimRadio on the caller's Medium (auto-ACK at
aTurnaroundTime, filtering, half duplex); the RCP is polled: feed(bytes from the host),
step(now_us), take_output() -> bytes for the host.
"""
import random

from tools import fwpath

fwpath.setup()
from han import radio_sim  # noqa: E402
from han.mac import frame as fr  # noqa: E402
from han.mac.commands import CMD_DATA_REQUEST  # noqa: E402
from han.mac.fcs import fcs16  # noqa: E402
from hal.radio import TX_OK  # noqa: E402
from tools.han.zoh_spinel import *  # noqa: E402,F401,F403 (numbers and codec)

PROTOCOL_VERSION = (4, 3)  # Thread Spinel protocol 4.3, what OT RCPs report today
INTERFACE_TYPE_THREAD = 3
RCP_API_VERSION = 11  # the host's SPINEL_RCP_API_VERSION (dist/spinel/spinel.js)
RCP_MIN_HOST_API_VERSION = 4
NCP_VERSION = "METER-FAKE-RCP/0.1; SIMULATED-802.15.4-MEDIUM"

# 802.15.4-2006 MAC constants at 2.4 GHz (Table 86, 7.4.2): CSMA-CA and the ACK wait.
UNIT_BACKOFF_US = 320  # aUnitBackoffPeriod, 20 symbols
MIN_BE = 3
MAX_BE = 5
ACK_WAIT_US = 864  # macAckWaitDuration, 54 symbols
NOISE_FLOOR_DBM = -100

# Transmit states.
_T_IDLE = 0
_T_BACKOFF = 1
_T_ON_AIR = 2
_T_ACK_WAIT = 3

_RX_FIFO = 64  # frames the fake keeps (a real RCP has a few buffers and a fast UART)


def _int8(v):
    return bytes([max(-128, min(127, int(round(v)))) & 0xFF])


class RcpRadio(radio_sim.SimRadio):
    """The RCP's transceiver: a SimRadio whose ACKs to data requests always carry frame
    pending (source matching off) and whose receive FIFO is deeper."""

    _ALL = type("_All", (), {"__contains__": lambda self, k: True,
                             "add": lambda self, k: None,
                             "discard": lambda self, k: None,
                             "clear": lambda self: None})()

    def __init__(self, medium, position, channel=11):
        super().__init__(medium, position, channel)
        self._none = set()
        self._pending = self._none
        self._df = fr.FrameFields()

    def deliver(self, frame, rssi, lqi, end):
        f = self._df
        poll = (fr.decode(frame, len(frame), f, True) == fr.OK and f.frame_type == fr.FT_CMD
                and f.header_len < len(frame) - 2 and frame[f.header_len] == CMD_DATA_REQUEST)
        self._pending = self._ALL if poll else self._none
        super().deliver(frame, rssi, lqi, end)
        self._pending = self._none

    def _queue(self, frame, rssi, lqi):
        if len(self._rxq) >= _RX_FIFO:
            self.rx_overflow += 1
            return
        self._rxq.append((frame[:-2], rssi, lqi))


class FakeRcp:
    """Spinel RCP over an RcpRadio. Polled: feed(), step(now), take_output()."""

    def __init__(self, medium, position=(0.0, 0.0), seed=7):
        self.medium = medium
        self.radio = RcpRadio(medium, position)
        self.rng = random.Random(seed)
        self._deframer = HdlcDeframer()
        self._out = bytearray()
        self._rxbuf = bytearray(fr.MAX_PHY_PACKET)
        self._f = fr.FrameFields()
        self._txq = []  # (tid, psdu without FCS, metadata dict)
        self._tx = None
        self._tstate = _T_IDLE
        self._scan = None  # energy scan: [channels, period_us, index, end, best_dbm]
        self._reset_state()
        # Statistics.
        self.frames_up = 0  # received frames passed to the host
        self.frames_sent = 0  # STREAM_RAW transmissions that ended
        self.no_ack = 0
        self.cca_failures = 0
        self.commands = 0
        self.unknown = []  # (command, property) the fake did not serve

    def _reset_state(self):
        r = self.radio
        r.reset()
        r.set_channel(11)
        self.props = {
            PROP_PHY_ENABLED: False, PROP_PHY_CHAN: 11, PROP_PHY_TX_POWER: 0,
            PROP_PHY_CCA_THRESHOLD: int(radio_sim.CCA_THRESHOLD_DBM),
            PROP_MAC_15_4_LADDR: bytes(8), PROP_MAC_15_4_SADDR: 0xFFFE,
            PROP_MAC_15_4_PANID: 0xFFFF, PROP_MAC_RAW_STREAM_ENABLED: False,
            PROP_MAC_PROMISCUOUS_MODE: 0, PROP_MAC_RX_ON_WHEN_IDLE_MODE: False,
            PROP_MAC_SCAN_STATE: SCAN_IDLE, PROP_MAC_SCAN_MASK: b"",
            PROP_MAC_SCAN_PERIOD: 100,
        }
        self._txq = []
        self._tx = None
        self._tstate = _T_IDLE
        self._scan = None

    # --- host side ---------------------------------------------------------------------
    def feed(self, data):
        for frame in self._deframer.push(data):
            self._spinel(frame)

    def take_output(self):
        out = bytes(self._out)
        self._out.clear()
        return out

    def _send(self, tid, cmd, payload):
        self._out += hdlc_encode(bytes([0x80 | (tid & 0x0F)]) + pack_uint(cmd) + payload)

    def _value_is(self, tid, prop, value):
        self._send(tid, CMD_PROP_VALUE_IS, pack_uint(prop) + value)

    def _status(self, tid, status):
        self._value_is(tid, PROP_LAST_STATUS, pack_uint(status))

    def _spinel(self, frame):
        if len(frame) < 2 or frame[0] >> 6 != 2:  # FLG must be 0b10
            return
        tid = frame[0] & 0x0F
        cmd, p = unpack_uint(frame, 1)
        self.commands += 1
        if cmd == CMD_RESET:
            self._reset_state()
            self._status(0, STATUS_RESET_SOFTWARE)  # unsolicited, as after a boot
            return
        if cmd not in (CMD_PROP_VALUE_GET, CMD_PROP_VALUE_SET):
            self.unknown.append((cmd, None))
            self._status(tid, STATUS_INVALID_COMMAND)
            return
        prop, p = unpack_uint(frame, p)
        value = frame[p:]
        if cmd == CMD_PROP_VALUE_GET:
            v = self._get(prop)
            if v is None:
                self.unknown.append((cmd, prop))
                self._status(tid, STATUS_PROP_NOT_FOUND)
            else:
                self._value_is(tid, prop, v)
            return
        if prop == PROP_STREAM_RAW:
            self._stream_raw(tid, value)
            return
        st = self._set(prop, value)
        if st != STATUS_OK:
            if st == STATUS_PROP_NOT_FOUND:
                self.unknown.append((cmd, prop))
            self._status(tid, st)
        else:
            self._value_is(tid, prop, self._get(prop))

    def _get(self, prop):
        pr = self.props
        if prop == PROP_PROTOCOL_VERSION:
            return pack_uint(PROTOCOL_VERSION[0]) + pack_uint(PROTOCOL_VERSION[1])
        if prop == PROP_NCP_VERSION:
            return NCP_VERSION.encode() + b"\0"
        if prop == PROP_INTERFACE_TYPE:
            return pack_uint(INTERFACE_TYPE_THREAD)
        if prop == PROP_RCP_API_VERSION:
            return pack_uint(RCP_API_VERSION)
        if prop == PROP_RCP_MIN_HOST_API_VERSION:
            return pack_uint(RCP_MIN_HOST_API_VERSION)
        if prop in (PROP_PHY_ENABLED, PROP_MAC_RAW_STREAM_ENABLED,
                    PROP_MAC_RX_ON_WHEN_IDLE_MODE):
            return bytes([1 if pr[prop] else 0])
        if prop in (PROP_PHY_CHAN, PROP_MAC_PROMISCUOUS_MODE, PROP_MAC_SCAN_STATE):
            return bytes([pr[prop]])
        if prop in (PROP_PHY_TX_POWER, PROP_PHY_CCA_THRESHOLD):
            return _int8(pr[prop])
        if prop == PROP_PHY_RSSI:
            e = self.medium.energy_at(self.radio, self.medium.now)
            return _int8(max(e, NOISE_FLOOR_DBM))
        if prop == PROP_PHY_RX_SENSITIVITY:
            return _int8(radio_sim.SENSITIVITY_DBM)
        if prop == PROP_MAC_15_4_LADDR:
            return bytes(pr[prop])
        if prop in (PROP_MAC_15_4_SADDR, PROP_MAC_15_4_PANID, PROP_MAC_SCAN_PERIOD):
            return pr[prop].to_bytes(2, "little")
        if prop == PROP_MAC_SCAN_MASK:
            return bytes(pr[prop])
        return None

    def _set(self, prop, v):
        pr = self.props
        r = self.radio
        try:
            if prop in (PROP_PHY_ENABLED, PROP_MAC_RAW_STREAM_ENABLED,
                        PROP_MAC_RX_ON_WHEN_IDLE_MODE):
                pr[prop] = v[0] != 0
            elif prop == PROP_PHY_CHAN:
                if not 11 <= v[0] <= 26:
                    return STATUS_INVALID_ARGUMENT
                pr[prop] = v[0]
                r.set_channel(v[0])
            elif prop in (PROP_PHY_TX_POWER, PROP_PHY_CCA_THRESHOLD):
                pr[prop] = v[0] - 256 if v[0] > 127 else v[0]
            elif prop == PROP_MAC_15_4_LADDR:
                if len(v) != 8:
                    return STATUS_INVALID_ARGUMENT
                pr[prop] = bytes(v)  # EUI-64, big endian on the wire: our written order
            elif prop in (PROP_MAC_15_4_SADDR, PROP_MAC_15_4_PANID, PROP_MAC_SCAN_PERIOD):
                pr[prop] = v[0] | (v[1] << 8)
            elif prop == PROP_MAC_PROMISCUOUS_MODE:
                pr[prop] = v[0]
                r.set_promiscuous(v[0] != 0)
            elif prop == PROP_MAC_SCAN_MASK:
                pr[prop] = bytes(v)
            elif prop == PROP_MAC_SCAN_STATE:
                pr[prop] = v[0]
                if v[0] == SCAN_ENERGY:
                    self._start_energy_scan()
                elif v[0] == SCAN_IDLE:
                    self._scan = None
                    r.set_channel(pr[PROP_PHY_CHAN])
            else:
                return STATUS_PROP_NOT_FOUND
        except IndexError:
            return STATUS_INVALID_ARGUMENT
        r.set_addresses(pr[PROP_MAC_15_4_PANID], pr[PROP_MAC_15_4_SADDR],
                        pr[PROP_MAC_15_4_LADDR])
        if pr[PROP_PHY_ENABLED]:
            r.on()
        else:
            r.off()
        return STATUS_OK

    # --- transmit ----------------------------------------------------------------------
    def _stream_raw(self, tid, v):
        if len(v) < 2:
            self._status(tid, STATUS_INVALID_ARGUMENT)
            return
        n = v[0] | (v[1] << 8)
        if n < 3 or n > fr.MAX_PHY_PACKET or len(v) < 2 + n:
            self._status(tid, STATUS_INVALID_ARGUMENT)
            return
        psdu = bytes(v[2:2 + n - 2])  # the 2 FCS octets are the radio's to write
        m = v[2 + n:]
        meta = {"channel": m[0] if len(m) > 0 else self.props[PROP_PHY_CHAN],
                "backoffs": m[1] if len(m) > 1 else 4,
                "retries": m[2] if len(m) > 2 else 3,
                "csma": (m[3] != 0) if len(m) > 3 else True,
                "rx_channel": m[15] if len(m) > 15 else None}
        if not self.props[PROP_PHY_ENABLED]:
            self._status(tid, STATUS_FAILURE)
            return
        self._txq.append((tid, psdu, meta))

    def _tx_begin(self, now):
        tid, psdu, meta = self._txq.pop(0)
        self._tx = {"tid": tid, "psdu": psdu, "meta": meta, "nb": 0, "be": MIN_BE,
                    "tries": 0, "seq": psdu[2] if len(psdu) > 2 else 0,
                    "ack": bool(psdu[0] & 0x20), "t": now}
        if 11 <= meta["channel"] <= 26:
            self.radio.set_channel(meta["channel"])
        self._backoff(now, first=True)

    def _backoff(self, now, first=False):
        t = self._tx
        if not t["meta"]["csma"]:
            t["t"] = now
        else:
            slots = self.rng.randrange(1 << t["be"])
            t["t"] = now + slots * UNIT_BACKOFF_US
        self._tstate = _T_BACKOFF

    def _tx_done(self, status):
        t = self._tx
        self._tx = None
        self._tstate = _T_IDLE
        rx_ch = t["meta"]["rx_channel"]
        self.radio.set_channel(rx_ch if rx_ch and 11 <= rx_ch <= 26
                               else self.props[PROP_PHY_CHAN])
        self.frames_sent += 1
        if status == STATUS_NO_ACK:
            self.no_ack += 1
        elif status == STATUS_CCA_FAILURE:
            self.cca_failures += 1
        self._status(t["tid"], status)

    def _tx_step(self, now):
        t = self._tx
        r = self.radio
        if self._tstate == _T_BACKOFF and now >= t["t"]:
            if t["meta"]["csma"] and not r.channel_clear():
                t["nb"] += 1
                t["be"] = min(t["be"] + 1, MAX_BE)
                if t["nb"] > t["meta"]["backoffs"]:
                    self._tx_done(STATUS_CCA_FAILURE)
                    return
                self._backoff(now)
                return
            r.prepare(t["psdu"], len(t["psdu"]))
            if r.transmit() != TX_OK:
                self._tx_done(STATUS_FAILURE)
                return
            self._tstate = _T_ON_AIR
        elif self._tstate == _T_ON_AIR and not r.tx_busy():
            if not t["ack"]:
                self._tx_done(STATUS_OK)
                return
            t["t"] = self.medium.now + ACK_WAIT_US
            self._tstate = _T_ACK_WAIT
        elif self._tstate == _T_ACK_WAIT and self.medium.now >= t["t"]:
            # The ACK did not come (an ACK read in _receive ends the wait early).
            t["tries"] += 1
            if t["tries"] > t["meta"]["retries"]:
                self._tx_done(STATUS_NO_ACK)
                return
            t["nb"] = 0
            t["be"] = MIN_BE
            self._backoff(now)

    # --- receive -----------------------------------------------------------------------
    def _receive(self):
        r = self.radio
        f = self._f
        while r.pending_packet():
            n = r.read(self._rxbuf)
            psdu = bytes(self._rxbuf[:n])
            if fr.decode(psdu, n, f, False) == fr.OK and f.frame_type == fr.FT_ACK:
                t = self._tx
                # The ACK may be read in the step that sees the frame's end (the medium
                # advanced past both): ON_AIR with the radio idle counts as the wait.
                if (t is not None and t["ack"] and f.seq == t["seq"] and not r.tx_busy()
                        and self._tstate in (_T_ON_AIR, _T_ACK_WAIT)):
                    self._tx_done(STATUS_OK)
                if not self.props[PROP_MAC_PROMISCUOUS_MODE]:
                    continue  # an RCP consumes ACKs itself
            if not self.props[PROP_MAC_RAW_STREAM_ENABLED]:
                continue
            crc = fcs16(psdu, n)
            data = psdu + bytes([crc & 0xFF, crc >> 8])
            rssi = r.last_rssi()
            lqi = r.last_lqi()
            meta = (_int8(rssi) + _int8(NOISE_FLOOR_DBM) + bytes(2)  # flags
                    + (10).to_bytes(2, "little") + bytes([r.channel, lqi]) + bytes(8))
            self._value_is(0, PROP_STREAM_RAW, len(data).to_bytes(2, "little") + data + meta)
            self.frames_up += 1

    # --- energy scan -------------------------------------------------------------------
    def _start_energy_scan(self):
        chans = [c for c in self.props[PROP_MAC_SCAN_MASK] if 11 <= c <= 26]
        period = self.props[PROP_MAC_SCAN_PERIOD] * 1000
        self._scan = [chans, period, -1, 0, -128.0]

    def _scan_step(self, now):
        s = self._scan
        chans, period = s[0], s[1]
        if s[2] >= 0:
            e = self.medium.energy_at(self.radio, self.medium.now)
            if e > s[4]:
                s[4] = e
            if now < s[3]:
                return
            self._value_is(0, PROP_MAC_ENERGY_SCAN_RESULT,
                           bytes([chans[s[2]]]) + _int8(max(s[4], NOISE_FLOOR_DBM)))
        s[2] += 1
        if s[2] >= len(chans):
            self._scan = None
            self.props[PROP_MAC_SCAN_STATE] = SCAN_IDLE
            self.radio.set_channel(self.props[PROP_PHY_CHAN])
            self._value_is(0, PROP_MAC_SCAN_STATE, bytes([SCAN_IDLE]))
            return
        self.radio.set_channel(chans[s[2]])
        s[3] = now + period
        s[4] = -128.0

    # --- the polled machine ------------------------------------------------------------
    def step(self, now):
        """Do what is due at `now` (the medium already advanced to it)."""
        pr = self.props
        if pr[PROP_PHY_ENABLED] and (pr[PROP_MAC_RX_ON_WHEN_IDLE_MODE] or self._tx):
            self.radio.on()
        self._receive()
        if self._scan is not None:
            self._scan_step(now)
        if self._tx is not None:
            self._tx_step(now)
        if self._tx is None and self._txq and self._scan is None:
            self._tx_begin(now)
            self._tx_step(now)

    def busy(self):
        return self._tx is not None or bool(self._txq) or self._scan is not None
