# The hub's OTA Upgrade server (cluster 0x0019, ZCL 07-5123 chapter 11; cluster.py has the
# payloads). Images are OTA files in the hub's file system, named prefix + anything
# (default "ota-"); each is verified whole with OtaImage (integrity code and our HMAC
# authentication with the signing key of its manufacturer and image type) when added and
# at start-up, and only a verified one is offered. A stored file that fails at start-up is
# refused and on_alert(code) is called (issue 13: corruption found at power-up is an
# alert; code: the OtaImage verdict, E_INTEGRITY, E_AUTH ...).
#
#   s = OtaServer(fs, keys, ticks, utc, min_block_ms=250, on_alert=None)
#   hub.router.add_server(ep, s); s.attach(hub.router, ep); s.start()
#   s.add(name, now)   a file just written: verified, offered, and Image Notify (unicast)
#                      to each device known to run an older version of its kind
#
# keys: {(manufacturer, image_type): signing key} (the provisioning record's); utc():
# the hub's UTC seconds since 1970 or None. Answers:
#   Query Next Image    the newest verified image of the client's manufacturer and image
#                       type (hardware version in the image's range when it has one),
#                       only when newer than the client's; else NO_IMAGE_AVAILABLE
#   Image Block         data read from the file at the requested offset, at most
#                       min(maximum data size, MAX_DATA): one unfragmented APS payload.
#                       Rate control: one block per device per min_block_ms; a request
#                       sooner gets WAIT_FOR_DATA (current time, request time, the minimum
#                       block period). An unknown image or an offset past its end: ABORT
#   Upgrade End         SUCCESS: Upgrade End Response with upgrade time 0 (now); other
#                       statuses (INVALID_IMAGE ...) are counted and Default-Responded
# A Read Attributes Response from a client's attributes (read_client) fills versions.
from micropython import const

from han.ota import cluster as oc
from han.ota.header import u16
from han.ota.image import E_AUTH, E_HEADER, OK, OtaImage, verify_stream
from han.se.router import SE_PROFILE
from han.se.server import ClusterServer
from han.zcl import dispatch as zd
from han.zcl import frame as zf
from han.zcl import general as zg

MAX_DATA = const(65)  # 82 (APS payload, han/zigbee.py) - 3 ZCL header - 14 block fields
EPOCH2000 = const(946684800)  # ZCL UTCTime counts from 2000-01-01 (2.6.2.19)
_S = const(1000000)
NOTIFY_RETRY_US = const(1000000)  # an Image Notify the APS layer refused: again in 1 s
NOTIFY_AGAIN_US = const(30000000)  # one not followed by a query: again in 30 s


class _Image:
    def __init__(self, name, r, size):
        self.name = name
        self.manufacturer = r.manufacturer
        self.image_type = r.image_type
        self.version = r.file_version
        self.size = size
        self.hw = r.hw_versions
        self.dest = r.destination


class _Device:
    def __init__(self, ep):
        self.ep = ep
        self.manufacturer = -1
        self.image_type = -1
        self.version = -1
        self.last_us = 0
        self.served = False
        self.pending = None  # an image announced, until the device queries
        self.notified_at = 0
        self.blocks = 0
        self.bytes = 0


class OtaServer(ClusterServer):
    def __init__(self, fs, keys, ticks, utc, prefix="ota-", min_block_ms=250, on_alert=None):
        ClusterServer.__init__(self, oc.CLUSTER, zd.AttrTable([]))
        self.fs = fs
        self.keys = keys
        self.ticks = ticks
        self.utc = utc
        self.prefix = prefix
        self.min_block_ms = min_block_ms
        self.on_alert = on_alert
        self.router = None
        self.ep = 1
        self.images = []
        self.refused = []  # (name, verdict) of files not offered
        self.devices = {}  # short address -> _Device
        self.versions = {}  # short address -> CurrentFileVersion read from its client
        self._f = None  # the image file last read from, kept open
        self._fname = None
        self._blk = bytearray(MAX_DATA)
        self._fields = oc.OtaFields()
        self._rec = zg.AttrRecord()
        self._nh = zf.ZclHeader()
        self._nb = bytearray(24)
        self._seq = 0
        self._src = -1
        self.blocks_served = 0
        self.bytes_served = 0
        self.waits = 0
        self.aborts = 0
        self.upgrades_ended = 0
        self.upgrade_failures = 0

    def attach(self, router, ep):
        """The router the server is on (unsolicited frames leave through router.send)."""
        self.router = router
        self.ep = ep

    # --- the stored images ---------------------------------------------------------------
    def start(self):
        """Verify every stored image (power-up): the good ones are offered."""
        self.images = []
        self.refused = []
        names = [e[0] for e in self.fs.ilistdir("")]
        for name in names:
            if name.startswith(self.prefix):
                self._verify(name, True)

    def _key(self, m, t):
        k = self.keys
        return k(m, t) if callable(k) else k.get((m, t))

    def _verify(self, name, alert):
        self._close()
        head = bytearray(14)
        try:
            f = self.fs.open(name, "rb")
        except OSError:
            return E_HEADER
        try:
            if f.readinto(head) != 14:
                verdict = E_HEADER
            else:
                m, t = u16(head, 10), u16(head, 12)
                key = self._key(m, t)
                r = OtaImage(key, manufacturer=m, image_type=t, stack_version=None)
                f.seek(0)
                verdict = E_AUTH if key is None else verify_stream(f, bytearray(64), r)
        finally:
            f.close()
        if verdict != OK:
            self.refused.append((name, verdict))
            if alert and self.on_alert is not None:
                self.on_alert(verdict)
            return verdict
        for i in range(len(self.images)):
            if self.images[i].name == name:
                del self.images[i]
                break
        self.images.append(_Image(name, r, r.total_size))
        return OK

    def add(self, name, now):
        """A file just stored under name: its verdict (OK: offered and announced)."""
        v = self._verify(name, False)
        if v == OK:
            img = self.images[-1]
            for short, d in self.devices.items():
                if d.manufacturer == img.manufacturer and d.image_type == img.image_type \
                        and d.version < img.version:
                    self.notify(short, d.ep, img, now)
        return v

    def _close(self):
        if self._f is not None:
            self._f.close()
            self._f = None
            self._fname = None

    def _next(self, m, t, version, hw):
        best = None
        for img in self.images:
            if img.manufacturer != m or img.image_type != t or img.version <= version:
                continue
            if img.hw is not None and hw >= 0 and not img.hw[0] <= hw <= img.hw[1]:
                continue
            if best is None or img.version > best.version:
                best = img
        return best

    def _find(self, m, t, version):
        for img in self.images:
            if img.manufacturer == m and img.image_type == t and img.version == version:
                return img
        return None

    # --- frames out ----------------------------------------------------------------------
    def _header(self, frame_type, direction, command):
        self._seq = (self._seq + 1) & 0xFF
        zf.set_header(self._nh, frame_type, direction, self._seq, command, True)
        return zf.build(self._nh, self._nb, 0)

    def notify(self, dst, dst_ep, img, now):
        """Image Notify, payload type 3 (manufacturer, image type, version), query jitter
        100: unicast, the client queries at once (11.13.3.4). Until the device's next
        Query Next Image, step() announces it again every NOTIFY_AGAIN_US (sooner when the
        APS layer refused it): a notify lost (the sleepy device away, rebooting) would
        otherwise leave it to its daily query."""
        p = self._header(zf.FT_CLUSTER, zf.TO_CLIENT, oc.IMAGE_NOTIFY)
        n = oc.put_image_notify(self._nb, p, 3, 100, img.manufacturer, img.image_type,
                                img.version)
        sent = self.router.send(dst, dst_ep, oc.CLUSTER, SE_PROFILE, self.ep, self._nb, n,
                                now, True, False)
        d = self.devices.get(dst)
        if d is None:
            d = self.devices[dst] = _Device(dst_ep)
        d.pending = img
        d.notified_at = self.ticks.ticks_add(now, 0 if sent else NOTIFY_RETRY_US
                                             - NOTIFY_AGAIN_US)
        return sent

    def announce(self, short, ep, now):
        """Image Notify of each verified image to a device known from the network's table
        (the hub restarted: its device list is empty); a client of another kind ignores
        those not of its manufacturer and image type."""
        for img in self.images:
            self.notify(short, ep, img, now)

    def step(self, now):
        """The hub's periodic call: Image Notifies refused earlier, again. Microseconds
        until it wants the next call (-1: none pending)."""
        wait = -1
        for short, d in self.devices.items():
            if d.pending is None:
                continue
            left = NOTIFY_AGAIN_US - self.ticks.ticks_diff(now, d.notified_at)
            if left <= 0:
                self.notify(short, d.ep, d.pending, now)
                left = NOTIFY_AGAIN_US - self.ticks.ticks_diff(now, d.notified_at)
            if wait < 0 or left < wait:
                wait = left
        return wait

    def read_client(self, dst, dst_ep, now):
        """Read Attributes of the client's CurrentFileVersion and ImageUpgradeStatus (the
        answer lands in versions[dst])."""
        p = self._header(zf.FT_GLOBAL, zf.TO_CLIENT, zg.READ_ATTRIBUTES)
        p = zg.put16(self._nb, p, oc.A_CURRENT_FILE_VERSION)
        p = zg.put16(self._nb, p, oc.A_IMAGE_UPGRADE_STATUS)
        return self.router.send(dst, dst_ep, oc.CLUSTER, SE_PROFILE, self.ep, self._nb, p,
                                now, True, False)

    # --- frames in -----------------------------------------------------------------------
    def handle(self, h, buf, off, end, out, unicast, src=-1):
        self._src = src
        if h.frame_type == zf.FT_GLOBAL and h.direction == zf.TO_SERVER \
                and h.command == zg.READ_ATTRIBUTES_RSP:
            rec = self._rec
            try:
                while off < end:
                    off = zg.next_read_record(buf, off, end, rec)
                    if rec.attr_id == oc.A_CURRENT_FILE_VERSION and rec.status == zg.SUCCESS:
                        self.versions[src] = rec.value
            except ValueError:
                pass
            return 0
        return ClusterServer.handle(self, h, buf, off, end, out, unicast, src)

    def _device(self, src):
        d = self.devices.get(src)
        if d is None:
            ep = self.router.peer_ep.get(src, 1) if self.router is not None else 1
            d = self.devices[src] = _Device(ep)
        return d

    def command(self, h, buf, off, end, out, unicast):
        f = self._fields
        try:
            oc.parse(h.command, buf, off, end, f)
        except ValueError:
            st = zg.UNSUP_CLUSTER_COMMAND if h.command not in (
                oc.QUERY_NEXT_IMAGE_REQ, oc.IMAGE_BLOCK_REQ, oc.UPGRADE_END_REQ) \
                else zg.MALFORMED_COMMAND
            return self.default_response(h, out, st, unicast)
        c = h.command
        src = self._src
        if c == oc.QUERY_NEXT_IMAGE_REQ:
            d = self._device(src)
            d.pending = None  # it asked: announced
            d.manufacturer = f.manufacturer
            d.image_type = f.image_type
            d.version = f.file_version
            img = self._next(f.manufacturer, f.image_type, f.file_version, f.hw_version)
            p = self.response_header(h, out, zf.FT_CLUSTER, oc.QUERY_NEXT_IMAGE_RSP)
            if img is None:
                return oc.put_query_next_response(out, p, oc.NO_IMAGE_AVAILABLE)
            return oc.put_query_next_response(out, p, oc.SUCCESS, img.manufacturer,
                                              img.image_type, img.version, img.size)
        if c == oc.IMAGE_BLOCK_REQ:
            return self._block(h, f, out, src)
        if c == oc.UPGRADE_END_REQ:
            if f.status != oc.SUCCESS:
                self.upgrade_failures += 1
                return self.default_response(h, out, zg.SUCCESS, unicast)
            self.upgrades_ended += 1
            d = self.devices.get(src)
            if d is not None:
                d.version = f.file_version
            p = self.response_header(h, out, zf.FT_CLUSTER, oc.UPGRADE_END_RSP)
            return oc.put_end_response(out, p, f.manufacturer, f.image_type, f.file_version,
                                       self._utc2000(), 0)
        return self.default_response(h, out, zg.UNSUP_CLUSTER_COMMAND, unicast)

    def _utc2000(self):
        u = self.utc()
        return 0 if u is None or u < EPOCH2000 else u - EPOCH2000

    def _block(self, h, f, out, src):
        img = self._find(f.manufacturer, f.image_type, f.file_version)
        p = self.response_header(h, out, zf.FT_CLUSTER, oc.IMAGE_BLOCK_RSP)
        if img is None or f.file_offset >= img.size:
            self.aborts += 1
            return oc.put_status(out, p, oc.ABORT)
        d = self._device(src)
        c = self.ticks
        now = c.ticks_us()
        period = self.min_block_ms * 1000
        if d.served:
            # Served more than half a tick period ago (2**29 us), the difference wraps
            # negative: that block is long past, not in the future.
            ago = c.ticks_diff(now, d.last_us)
            left = period - ago
            if 0 <= ago and left > 0:
                self.waits += 1
                cur = self._utc2000()
                return oc.put_block_wait(out, p, cur, cur + (left + _S - 1) // _S,
                                         self.min_block_ms)
        n = min(f.max_data, MAX_DATA, img.size - f.file_offset)
        if self._fname != img.name:
            self._close()
            self._f = self.fs.open(img.name, "rb")
            self._fname = img.name
        self._f.seek(f.file_offset)
        got = self._f.readinto(self._blk)
        if got < n:
            self.aborts += 1
            return oc.put_status(out, p, oc.ABORT)  # the file changed under us
        q = oc.put_block_response(out, p, img.manufacturer, img.image_type, img.version,
                                  f.file_offset, n)
        blk = self._blk
        for i in range(n):
            out[q + i] = blk[i]
        d.last_us = now
        d.served = True
        d.blocks += 1
        d.bytes += n
        self.blocks_served += 1
        self.bytes_served += n
        return q + n
