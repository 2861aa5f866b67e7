# What the HAN power-cut campaign (tools/powercut_han.py) watches besides the flash: the
# frame counters the coordinator and the devices use on air, read from the simulated medium
# as a sniffer would (MAC, NWK header and auxiliary header; the NWK payload opened with the
# network keys the campaign handed out to read the APS auxiliary header), and the record
# saves of the coordinator's NetStore (which payload completed, which one the cut
# interrupted). Runs under MicroPython and CPython alike.
from han.aps import frame as af
from han.mac import frame as mf
from han.nwk import frame as nf
from han.nwk import security as ns


class AirWatch:
    """medium.sniffer: the highest NWK and APS frame counter each extended address used
    on air. coord: the coordinator's extended address; floor_nwk/floor_aps: the highest
    counters it used before its current boot (any counter at or below them on air now is
    a reuse: the same CCM* nonce under the same key)."""

    def __init__(self, coord):
        self.coord = bytes(coord)
        self.keys = {}  # key sequence number -> [network keys that had it]
        self.nwk_max = {}  # ext -> highest NWK counter seen on air
        self.aps_max = {}
        self.before = {}  # ext -> highest NWK counter of its previous incarnation
        self.floor_nwk = -1
        self.floor_aps = -1
        self.reuse = 0  # coordinator frames on air with a counter at or below the floor
        self.frames = 0
        self.opened = 0
        self.unopened = 0
        self.notes = []
        self._f = mf.FrameFields()
        self._h = nf.NwkHeader()
        self._ah = af.ApsHeader()
        self._aux = ns.AuxHeader()
        self._sec = ns.NwkSecurity()

    def add_key(self, seq, key):
        ks = self.keys.setdefault(seq, [])
        if bytes(key) not in ks:
            ks.append(bytes(key))

    def new_boot(self):
        self.floor_nwk = self.nwk_max.get(self.coord, -1)
        self.floor_aps = self.aps_max.get(self.coord, -1)

    def forget(self, ext):
        """A device was reset (removed, its flash wiped): its counters start again."""
        self.before[bytes(ext)] = self.nwk_max.pop(bytes(ext), -1)
        self.aps_max.pop(bytes(ext), None)

    def _seen(self, table, ext, counter, floor, layer):
        ext = bytes(ext)
        if counter > table.get(ext, -1):
            table[ext] = counter
        if ext == self.coord and counter <= floor:
            self.reuse += 1
            if len(self.notes) < 5:
                self.notes.append("%s counter %d on air, at or below %d used before the "
                                  "boot" % (layer, counter, floor))

    def __call__(self, t, frame, n, channel, rssi, lqi):
        f = self._f
        if mf.decode(frame, n, f) != mf.OK or f.frame_type != mf.FT_DATA:
            return
        self.frames += 1
        m = f.payload_len
        buf = bytearray(frame[f.header_len:f.header_len + m])
        h = self._h
        try:
            hl = nf.parse(buf, m, h)
        except ValueError:
            return
        if h.frame_type == nf.FT_INTERPAN:
            return
        if h.security:
            aux = self._aux
            try:
                k = ns.parse_aux(buf, hl, m, aux)
            except ValueError:
                return
            self._seen(self.nwk_max, aux.src64, aux.frame_counter, self.floor_nwk, "NWK")
            plain = self._open(buf, m, hl, aux.key_seq)
            if plain < 0 or h.frame_type != nf.FT_DATA:
                return
            start = hl + k
            aps = bytearray(buf[start:start + plain])
        elif h.frame_type == nf.FT_DATA:
            aps = bytearray(buf[hl:m])
        else:
            return
        ah = self._ah
        try:
            ahl = af.parse(aps, 0, len(aps), ah)
        except ValueError:
            return
        if ah.security:
            aux = self._aux
            try:
                ns.parse_aux(aps, ahl, len(aps), aux)
            except ValueError:
                return
            if aux.ext_nonce:
                self._seen(self.aps_max, aux.src64, aux.frame_counter, self.floor_aps, "APS")

    def _open(self, buf, m, hl, seq):
        for key in self.keys.get(seq, ()):
            trial = bytearray(buf)
            try:
                n = self._sec.decrypt(trial, m, key, hl)
            except ValueError:
                continue
            buf[:] = trial
            self.opened += 1
            return n
        self.unopened += 1
        return -1


class SaveLog:
    """Wraps the coordinator NetStore's two RecordSlots: for each record the payload of
    the last save that completed (acked) and of the save the power cut interrupted
    (pending), with what the caller's snapshot() said about the state being saved.
    dead(): True once the supply has failed (later saves are not the interrupted one)."""

    def __init__(self, dead):
        self.dead = dead
        self.acked = {}  # record name -> (payload bytes, snapshot)
        self.pending = {}
        self.errors = 0  # saves that failed while the supply was up

    def wrap(self, slots, name, snapshot):
        orig = slots.save
        log = self

        def save(payload, length):
            if log.dead():
                return orig(payload, length)
            entry = (bytes(payload[:length]), snapshot())
            log.pending[name] = entry
            try:
                seq = orig(payload, length)
            except OSError:
                if not log.dead():
                    log.errors += 1
                raise
            log.acked[name] = entry
            log.pending.pop(name, None)
            return seq

        slots.save = save

    def new_boot(self):
        self.pending = {}

    def candidates(self, name):
        out = []
        for d in (self.acked, self.pending):
            if name in d:
                out.append(d[name])
        return out
