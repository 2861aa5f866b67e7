# The OTA Upgrade client of a device role (cluster 0x0019, ZCL 07-5123 chapter 11;
# cluster.py has the payloads, server.py the hub's side).
#
#   c = OtaClient(store, ticks, manufacturer, image_type, key, version=0)
#   gas_meter.add_ota(c)     (or router.add_client(ep, CLUSTER, c.frame); c.attach(...))
#   c.step(now) while the node is joined: microseconds until it wants the next call
#
# It queries the server (hub, endpoint 1) at start-up, when an Image Notify names a newer
# image of its kind, and every query_s. An offered newer image is fetched block by block
# (Image Block Request, at most one per MinimumBlockPeriod; a WAIT_FOR_DATA sets that
# period and waits until its request time) and appended to the file `part` on the
# device's own store as each block arrives; the file's length is the FileOffset. Each
# block is also fed to an OtaImage (this device's manufacturer, image type and signing
# key), which refuses a wrong image at its header. A power cut keeps the file: at boot the
# record says a download was under way, the stored prefix is fed again to a fresh OtaImage
# (hash states cannot be saved) and the download goes on from the file's length.
# When the image is whole and its verdict is OK, it is read once more from the file (it
# may have rotted in flash meanwhile), the archive's files written under `stage`, and only
# when that pass is OK too is the record switched to "staged": Upgrade End Request SUCCESS,
# and at the Upgrade End Response (upgrade time 0 or past: now) the record's active version
# becomes the new one (CurrentFileVersion). A failed verdict: Upgrade End Request
# INVALID_IMAGE, the file deleted, that version not fetched again before the next query.
# A sleepy device polls fast while busy() (han/se/gasmeter.py).
#
# Record "otacl" (kind 0xB9): active version u32, state u8 (0 idle, 1 downloading,
# 2 staged), then the image being fetched: manufacturer u16, image type u16, version u32,
# size u32 (little endian).
import struct

from micropython import const

from han.deadline import Deadline
from han.ota import cluster as oc
from han.ota.archive import extract
from han.ota.image import COMPLETE, E_HEADER, OK, OtaImage
from han.se.router import SE_PROFILE
from han.zcl import dispatch as zd
from han.zcl import frame as zf
from han.zcl import general as zg
from han.zcl import types as zt

KIND = const(0xB9)
_REC = const(17)
IDLE = const(0)
DOWNLOADING = const(1)
STAGED = const(2)
RETRY_US = const(5000000)  # a request unanswered this long is sent again
QUERY_S = const(86400)  # 11.11.1: a client queries now and then; ours once a day
QUERY_RETRY_S = const(120)  # no answer to the query (hub away): ask again this much later
END_TRIES = const(5)  # Upgrade End Requests unanswered before switching anyway (11.11.4)
MAX_DATA = const(64)
_S = const(1000000)


class OtaClient:
    def __init__(self, store, ticks, manufacturer, image_type, key, version=0,
                 hw_version=-1, part="ota.part", stage="ota-stage/", query_s=QUERY_S,
                 server=(0x0000, 1), ieee=None, on_activate=None):
        self.store = store
        self.fs = store.fs
        self.ticks = ticks
        self.manufacturer = manufacturer
        self.image_type = image_type
        self.hw_version = hw_version
        self.part = part
        self.stage = stage
        self.query_s = query_s
        self.server = server
        self.ieee = ieee
        self.on_activate = on_activate
        self.send = None
        self.ep = 1
        self.reader = OtaImage(key, manufacturer=manufacturer, image_type=image_type)
        self._rec = store.slots("otacl", KIND, _REC)
        self._rb = bytearray(_REC)
        self._buf = bytearray(48)
        self._io = bytearray(64)
        self._h = zf.ZclHeader()
        self._f = oc.OtaFields()
        self._seq = 0
        self.version = version  # CurrentFileVersion: the active image's
        self.state = IDLE
        self.t_manufacturer = self.t_type = self.t_version = self.t_size = 0
        self.offset = 0  # FileOffset: octets of the image stored
        self.status = oc.ST_NORMAL
        self.min_period_ms = 0
        self.refused_version = -1
        # The answer the last request asks for (-1: none) and its sequence number. It
        # stays expected after the retry timer ran out, until a newer request replaces
        # it: a sleepy device gets answers only when it polls, so they can come late.
        self._await = -1
        self._await_seq = -1
        self._waiting = False  # the retry timer of the last request runs
        # Ticks before which no request goes out: now, not 0 (ticks wrap every 2**30 us
        # and need not start at 0 at a boot: 0 may read as up to 9 minutes ahead).
        self._sent_at = ticks.ticks_us()
        self._next = Deadline(ticks)  # the next request (due at once)
        self._query_due = True
        self._end_tries = 0
        self.queries = 0
        self.blocks = 0
        self.bytes = 0
        self.refed = 0  # octets of a stored prefix fed again after a boot
        self.waits = 0
        self.failures = 0
        self.activations = 0
        self.table = zd.AttrTable([
            zd.Attr(oc.A_UPGRADE_SERVER_ID, zt.IEEE_ADDR, zd.READ,
                    getter=lambda: self.ieee or b"\xff" * 8),
            zd.Attr(oc.A_FILE_OFFSET, zt.UINT32, zd.READ, getter=lambda: self.offset),
            zd.Attr(oc.A_CURRENT_FILE_VERSION, zt.UINT32, zd.READ,
                    getter=lambda: self.version),
            zd.Attr(oc.A_IMAGE_UPGRADE_STATUS, zt.ENUM8, zd.READ, getter=lambda: self.status),
            zd.Attr(oc.A_MANUFACTURER_ID, zt.UINT16, zd.READ, value=manufacturer),
            zd.Attr(oc.A_IMAGE_TYPE_ID, zt.UINT16, zd.READ, value=image_type),
            zd.Attr(oc.A_MINIMUM_BLOCK_PERIOD, zt.UINT16, zd.READ,
                    getter=lambda: self.min_period_ms)])
        self._restore()

    def attach(self, router, ep, send):
        """On router's endpoint ep; frames leave through send (the node's or the role's)."""
        router.add_client(ep, oc.CLUSTER, self.frame)
        self.ep = ep
        self.send = send

    # --- the record and the stored prefix ------------------------------------------------
    def _save(self):
        struct.pack_into("<IBHHII", self._rb, 0, self.version, self.state,
                         self.t_manufacturer, self.t_type, self.t_version, self.t_size)
        self._rec.save(self._rb, _REC)

    def _remove(self, name):
        try:
            self.fs.remove(name)
        except OSError:
            pass

    def _restore(self):
        n = self._rec.load(self._rb)
        if n != _REC:
            return
        (self.version, self.state, self.t_manufacturer, self.t_type, self.t_version,
         self.t_size) = struct.unpack_from("<IBHHII", self._rb, 0)
        if self.state == STAGED:
            self._remove(self.part)
            self.status = oc.ST_DOWNLOAD_COMPLETE
            self._query_due = False
            return
        if self.state != DOWNLOADING:
            return
        # Resume: the stored prefix through a fresh reader, then on from its length.
        r = self.reader
        r.reset(self.t_size)
        st = OK
        try:
            f = self.fs.open(self.part, "rb")
        except OSError:
            f = None
        if f is not None:
            try:
                while True:
                    k = f.readinto(self._io)
                    if not k:
                        break
                    st = r.feed(self._io, k)
                    self.refed += k
                    if st >= E_HEADER:
                        break
            finally:
                f.close()
        if st >= E_HEADER:
            self._abandon()
            return
        self.offset = r.offset
        self.status = oc.ST_DOWNLOAD_IN_PROGRESS
        self._query_due = False
        if r.status == COMPLETE:
            self._complete()

    def _abandon(self):
        self._remove(self.part)
        self.state = IDLE
        self.offset = 0
        self.status = oc.ST_NORMAL
        self._await = -1
        self._waiting = False
        self._save()

    # --- frames out ----------------------------------------------------------------------
    def _header(self, command):
        self._seq = (self._seq + 1) & 0xFF
        zf.set_header(self._h, zf.FT_CLUSTER, zf.TO_SERVER, self._seq, command, True)
        return zf.build(self._h, self._buf, 0)

    def _out(self, n, command, now):
        self._await = command
        self._await_seq = self._seq
        self._waiting = True
        self._sent_at = now
        return self.send(self.server[0], self.server[1], oc.CLUSTER, SE_PROFILE, self.ep,
                         self._buf, n, now, True, False)

    def _query(self, now):
        p = self._header(oc.QUERY_NEXT_IMAGE_REQ)
        n = oc.put_query_next_request(self._buf, p, self.manufacturer, self.image_type,
                                      self.version, self.hw_version)
        self.queries += 1
        self._query_due = False
        self._out(n, oc.QUERY_NEXT_IMAGE_RSP, now)

    def _request(self, now):
        p = self._header(oc.IMAGE_BLOCK_REQ)
        n = oc.put_block_request(self._buf, p, self.t_manufacturer, self.t_type,
                                 self.t_version, self.offset, MAX_DATA, None,
                                 self.min_period_ms)
        self._out(n, oc.IMAGE_BLOCK_RSP, now)

    def _end(self, status, now):
        p = self._header(oc.UPGRADE_END_REQ)
        n = oc.put_end_request(self._buf, p, status, self.t_manufacturer, self.t_type,
                               self.t_version)
        if status == oc.SUCCESS:
            self._end_tries += 1
            self._out(n, oc.UPGRADE_END_RSP, now)
        else:
            self.send(self.server[0], self.server[1], oc.CLUSTER, SE_PROFILE, self.ep,
                      self._buf, n, now, True, False)

    def busy(self):
        """A download or an answer is under way (a sleepy device polls fast)."""
        return self._waiting or self.state != IDLE

    def step(self, now):
        c = self.ticks
        if self._waiting:
            left = RETRY_US - c.ticks_diff(now, self._sent_at)
            if left > 0:
                return left
            self._waiting = False  # unanswered: sent again below (a query: later)
            if self._await == oc.QUERY_NEXT_IMAGE_RSP:
                self._next.set(now, QUERY_RETRY_S * _S)
                self._query_due = True
        wait = self._next.wait(now)
        if wait > 0:
            return wait
        if self.state == DOWNLOADING:
            self._request(now)
            return RETRY_US
        if self.state == STAGED:
            if self._end_tries >= END_TRIES:
                self._activate()
                return -1
            self._end(oc.SUCCESS, now)
            return RETRY_US
        if self._query_due:
            self._query(now)
            return RETRY_US
        self._query_due = True  # the next periodic query
        self._next.set(now, self.query_s * _S)
        return self._next.wait(now)

    # --- frames in -----------------------------------------------------------------------
    def frame(self, src, src_ep, h, buf, off, end, out, now):
        """The router's client handler for cluster 0x0019 on our endpoint."""
        if h.direction != zf.TO_CLIENT:
            return -1
        if h.frame_type == zf.FT_GLOBAL:
            if h.command == zg.READ_ATTRIBUTES:
                return zd.respond(self.table, h, buf, off, end, out, True, self._h)
            return 0 if h.command == zg.DEFAULT_RSP else -1
        if src != self.server[0]:
            return 0
        f = self._f
        try:
            oc.parse(h.command, buf, off, end, f)
        except ValueError:
            return 0
        cmd = h.command
        if cmd == oc.IMAGE_NOTIFY:
            if self.state == IDLE and not self._waiting and (f.payload_type < 1 or (
                    f.manufacturer == self.manufacturer and (f.payload_type < 2 or (
                        f.image_type == self.image_type and (f.payload_type < 3 or (
                            f.file_version > self.version
                            and f.file_version != self.refused_version)))))):
                self._query_due = True
                self._next.set(now, 0)
            return 0
        if cmd != self._await or h.seq != self._await_seq:
            return 0  # unasked, or answers a request sent again since
        self._await = -1
        self._waiting = False
        if cmd == oc.QUERY_NEXT_IMAGE_RSP:
            self._offered(f, now)
        elif cmd == oc.IMAGE_BLOCK_RSP:
            self._block(f, buf, now)
        elif cmd == oc.UPGRADE_END_RSP:
            if f.file_version == self.t_version and self.state == STAGED:
                self._activate()
        return 0

    def _offered(self, f, now):
        self._next.set(now, self.query_s * _S)
        self._query_due = False  # answered, late or not: the next query is the daily one
        if f.status != oc.SUCCESS or f.manufacturer != self.manufacturer \
                or f.image_type != self.image_type or f.file_version <= self.version \
                or f.file_version == self.refused_version:
            return
        self._remove(self.part)
        self.t_manufacturer = f.manufacturer
        self.t_type = f.image_type
        self.t_version = f.file_version
        self.t_size = f.image_size
        self.state = DOWNLOADING
        self.offset = 0
        self.status = oc.ST_DOWNLOAD_IN_PROGRESS
        self.reader.reset(f.image_size)
        self._save()
        self._next.set(now, 0)

    def _block(self, f, buf, now):
        if self.state != DOWNLOADING:
            return
        if f.status == oc.WAIT_FOR_DATA:
            self.waits += 1
            if f.min_period >= 0:
                self.min_period_ms = f.min_period
            d = f.request_time - f.current_time
            d = d * _S if d > 0 else 0
            if d < self.min_period_ms * 1000:
                d = self.min_period_ms * 1000
            self._next.set(now, d)
            return
        if f.status != oc.SUCCESS:  # ABORT: the server has it no more
            self.failures += 1
            self._abandon()
            self._query_due = True  # it may have it again soon (a hub restoring its files)
            self._next.set(now, QUERY_RETRY_S * _S)
            return
        if f.manufacturer != self.t_manufacturer or f.image_type != self.t_type \
                or f.file_version != self.t_version or f.file_offset != self.offset \
                or f.data_len == 0:
            self._next.set(now, 0)  # not the block asked for: ask again
            return
        n = f.data_len
        w = self.fs.open(self.part, "ab")
        try:
            w.write(memoryview(buf)[f.data_off:f.data_off + n])
        finally:
            w.close()
        self.blocks += 1
        self.bytes += n
        st = self.reader.feed(memoryview(buf)[f.data_off:], n)
        self.offset += n
        # The period counts from the response's arrival: the server served it before,
        # so the next request cannot reach it sooner than the period after (11.10.11).
        self._next.set(now, self.min_period_ms * 1000)
        if st >= E_HEADER:
            self._failed(now)
        elif st == COMPLETE:
            self._complete(now)

    def _failed(self, now):
        self.failures += 1
        self.refused_version = self.t_version
        if now is not None:
            self._end(oc.INVALID_IMAGE, now)
        self._abandon()

    def _complete(self, now=None):
        """The whole image is stored: the verdict, then staging from the file."""
        if self.reader.finish() != OK or self._stage() != OK:
            self._failed(now)
            return
        self.state = STAGED
        self.status = oc.ST_DOWNLOAD_COMPLETE
        self._end_tries = 0
        self._save()
        self._remove(self.part)
        if now is not None:
            self._next.set(now, 0)

    def _stage(self):
        return extract(self.fs, self.part, self.t_size, self.reader, self._io, self.stage)

    def _activate(self):
        self.version = self.t_version
        self.state = IDLE
        self.offset = 0
        self.status = oc.ST_NORMAL
        self.activations += 1
        self._save()
        if self.on_activate is not None:
            self.on_activate(self.version, self.stage)
