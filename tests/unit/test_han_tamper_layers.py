# HAN anomaly tamper (seed 003 10.7) at the NWK and APS layers and the trust centre (issue
# 13): the comms hub as han/node.py wires it (HanNode coordinator: inventory, tamper
# detector, its hooks on the NWK and APS refusals and the trust centre's refused joins)
# on the simulated medium of tests/unit/zb_net.py. Each attack is made as an attacker
# would (APS-secured frames replayed inside fresh NWK security, APS frames under a wrong
# link key, unregistered devices that keep asking to join, a flood of valid frames): one
# tamper episode per attack and source, and the legitimate traffic goes on. Then an hour
# of mixed attacks from several sources through the real log path (registers/logs.py):
# the tamper log's flash writes and evictions stay within its documented budget.
# Portable: tiers 1 and 2.
from app.tasks import han_tamper_logger
from han import radio_sim
from han import tamper as tp
from han.mac import frame as fr
from han.mac.mac import RX_OK
from han.node import HanNode
from han.nwk.layer import REFUSED_MIC, REFUSED_REPLAY
from registers import logs as lg
from registers.memfs import MemoryFs
from registers.store import RecordStore
from support import NoAllocation
from zb_net import MASK, NETWORK_KEY, Net, zcl

METERING = 0x0702
SE_PROFILE = 0x0109


def low32(ext):
    return (ext[4] << 24) | (ext[5] << 16) | (ext[6] << 8) | ext[7]


def _boot_hub(net, on_tamper):
    """The coordinator of net as the firmware runs it: a HanNode (han/node.py) whose
    ZigbeeNode takes the place of zb_net's, its frames recorded as zb_net records them."""
    c = net.coord
    c.radio = radio_sim.SimRadio(net.medium, c.pos, 26)
    c.boots += 1
    hub = HanNode(c.radio, net.clock, "coordinator", c.ext, c.store,
                  radio_sim.make_rng(c.seed * 1000 + c.boots).getrandbits,
                  network_key=NETWORK_KEY, out=c.events.append, channel_mask=MASK,
                  pan_id=0x4D45, on_tamper=on_tamper)
    zb = hub.zb
    zb.on_app = c._app
    zb.aps.on_confirm = lambda tid, status: c.confirms.append((tid, status))
    c.node = zb
    hub.start()
    return hub


def _hub_net(devices=1, registered=None, on_tamper=None):
    """A hub and its devices (none sleepy), the first `registered` of them registered and
    joined. Returns (net, hub, tamper events as (kind, device))."""
    net = Net(devices=devices, sleepy=0)
    events = []
    if on_tamper is None:
        def on_tamper(utc, kind, device):
            events.append((kind, device))
    hub = _boot_hub(net, on_tamper)
    net.run(3)
    n = devices if registered is None else registered
    for d in net.devs[:n]:
        hub.zb.tc.register(d.ext, d.link_key)
    for d in net.devs:
        d.boot()
    assert net.run(20, until=lambda: all(d.node.state == 2 and d.node.joiner.state == 4
                                         for d in net.devs[:n]))
    return net, hub, events


def _report(net, d, tag, aps_secure=False, ack=True):
    return d.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(tag), 5,
                       net.clock.ticks_us(), ack=ack, aps_secure=aps_secure)


def _got(node, tag):
    return [p for (_, _, _, _, p) in node.received if p[1] == tag]


def _flows(net, d, tag):
    # Legitimate traffic after an attack: APS-secured and plain reports both arrive and
    # are acknowledged.
    n0 = len(d.confirms)
    assert _report(net, d, tag, aps_secure=True)
    assert _report(net, d, tag + 1)
    net.run(3)
    assert len(_got(net.coord, tag)) == 1 and len(_got(net.coord, tag + 1)) == 1
    assert [s for _, s in d.confirms[n0:]] == [0, 0]


def _aps_spy(node):
    seen = []
    up = node.nwk.on_data

    def spy(nh, view, off, n, secured, index, now):
        seen.append((view[off], bytes(view[off:off + n])))
        up(nh, view, off, n, secured, index, now)
    node.nwk.on_data = spy
    return seen


def test_no_tamper_event_from_a_normal_join_and_traffic():
    net, hub, events = _hub_net(devices=2)
    for i in range(5):
        for j, d in enumerate(net.devs):
            assert _report(net, d, 0x10 + 2 * j, aps_secure=i % 2 == 0)
        net.run(2)
    assert len(_got(net.coord, 0x10)) == 5 and len(_got(net.coord, 0x12)) == 5
    assert events == [] and hub.tamper.events == [0] * 6


def test_replayed_aps_secured_frames_are_one_replay_episode():
    # An insider (holder of the network key) wraps a captured APS-secured frame of the
    # device in new, valid NWK frames: the NWK layer accepts them, the APS counter refuses
    # each: one REPLAY episode, by the device's address.
    net, hub, events = _hub_net()
    d = net.devs[0]
    seen = _aps_spy(net.coord.node)
    assert _report(net, d, 0x20, aps_secure=True)
    net.run(2)
    captured = [f for (fc, f) in seen if fc & 3 == 0 and fc & 0x20]
    assert len(captured) == 1 and len(_got(net.coord, 0x20)) == 1
    refused = net.coord.node.aps.rx_refused
    f = captured[0]
    for _ in range(6):
        assert d.node.nwk.send(0x0000, f, len(f), net.clock.ticks_us())
        net.run(0.5)
    assert net.coord.node.aps.rx_refused == refused + 6
    assert len(_got(net.coord, 0x20)) == 1  # none delivered again
    assert events == [(tp.TAMPER_REPLAY, low32(d.ext))]
    _flows(net, d, 0x22)
    assert len(events) == 1


def test_aps_frames_under_a_wrong_link_key_are_one_mic_failures_episode():
    net, hub, events = _hub_net()
    d = net.devs[0]
    t = d.node.table
    good = bytes(t.tclk[0])
    t.tclk[0][:] = bytes(range(0xA0, 0xB0))  # a key the hub never gave it
    # One frame may be a device with an old key: no event yet.
    assert _report(net, d, 0x30, aps_secure=True, ack=False)
    net.run(1)
    assert events == []
    for i in range(5):
        assert _report(net, d, 0x31 + i, aps_secure=True, ack=False)
        net.run(1)
    t.tclk[0][:] = good
    assert net.coord.node.aps.rx_wrong_key == 6
    assert [p for (_, _, _, _, p) in net.coord.received if 0x30 <= p[1] <= 0x35] == []
    assert events == [(tp.TAMPER_MIC_FAILURES, low32(d.ext))]
    _flows(net, d, 0x40)
    assert len(events) == 1


def test_unregistered_devices_asking_again_and_again_are_one_episode_each():
    # Device 0 is registered; devices 1 and 2 never are and keep asking (han/zlink.py
    # backs off from 5 s to 60 s) for six minutes: one UNKNOWN_JOINER episode per source.
    net, hub, events = _hub_net(devices=3, registered=1)
    d = net.devs[0]
    for k in range(12):
        assert _report(net, d, 0x50)
        net.run(30)
    denied = hub.zb.tc.denied
    assert denied >= 2 * 8  # 5, 10, 20, 40, 60, 60... s: 8 or more each in 6 min
    assert sorted(events) == sorted([(tp.TAMPER_UNKNOWN_JOINER, low32(net.devs[1].ext)),
                                     (tp.TAMPER_UNKNOWN_JOINER, low32(net.devs[2].ext))])
    assert len(_got(net.coord, 0x50)) == 12
    assert hub.zb.table.count() == 1
    _flows(net, d, 0x52)
    assert len(events) == 2


def test_one_refused_join_before_registration_is_no_event():
    # The installer's usual order: the device is powered, refused, registered, joins.
    net, hub, events = _hub_net(devices=1, registered=0)
    net.run(4)
    d = net.devs[0]
    assert hub.zb.tc.denied >= 1
    hub.zb.tc.register(d.ext, d.link_key)
    assert net.run(30, until=lambda: d.node.state == 2 and d.node.joiner.state == 4)
    _flows(net, d, 0x58)
    assert events == []


def test_a_flood_of_valid_frames_is_one_flood_episode_and_all_are_delivered():
    net, hub, events = _hub_net()
    d = net.devs[0]
    sent = 0
    # 80 valid, NWK-secured frames a second (unacknowledged at APS) for 3 s: above
    # FLOOD_FRAMES_PER_S (50), documented as ten times a device's rate.
    for k in range(240):
        if d.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x60, k & 0xFF), 5,
                       net.clock.ticks_us(), ack=False):
            sent += 1
        net.run(0.0125)
    net.run(1)
    assert sent == 240
    assert len(_got(net.coord, 0x60)) == 240  # valid: all taken, counted as a flood
    assert events == [(tp.TAMPER_FLOOD, low32(d.ext))]
    net.run(15)  # a quiet gap longer than TAMPER_EPISODE_GAP_US
    _flows(net, d, 0x62)
    assert len(events) == 1


# --- an hour of mixed attacks through the tamper log ---------------------------------------
class _Registers:
    """record_event of registers.meter.MeterRegisters over the EventLogs alone."""

    def __init__(self, logs):
        self.logs = logs

    def record_event(self, log_id, utc, code, a=0, b=0):
        self.logs.add(log_id, utc, code, a, b)


class _Frame:
    """A received MAC data frame from a short address (the fields the hooks read)."""

    def __init__(self, short):
        self.frame_type = fr.FT_DATA
        self.src_mode = fr.ADDR_SHORT
        self.src_addr = short
        self.src_ext = bytearray(8)
        self.security = False
        self.payload_len = 40


def test_an_hour_of_mixed_attacks_stays_within_the_tamper_log_budget():
    store = RecordStore(MemoryFs())
    logs = lg.EventLogs(store)
    tlog = logs.log(lg.TAMPER)
    writes = []
    save = tlog.slots.save

    def counted(payload, length):
        writes.append(length)
        return save(payload, length)
    tlog.slots.save = counted
    net, hub, _ = _hub_net(devices=2, on_tamper=han_tamper_logger(_Registers(logs)))
    clock = net.clock
    clock.set_time(1700000000)
    # The log as the attack finds it: full of 40 older entries (code 1000 + k), on flash.
    t0 = clock.time()
    for k in range(40):
        tlog.store(t0 - 86400 + k, 1000 + k, k, 0)
    logs.flush(t0)
    writes.clear()
    zb = hub.zb
    a, b = net.devs
    strangers = [bytes.fromhex("00124B00DEAD00%02X" % k) for k in range(3)]
    flood = _Frame(b.node.mac.short_addr)
    # One hour, one step a second (as MeterRegisters.step runs flush_due). Each minute:
    # device a's APS frames replayed and device b's NWK frames failing their MIC during
    # the first 20 s, device b flooding (60 frames) in second 30; the three strangers ask
    # to join every 5 s during the first minute of every seventh.
    for s in range(3600):
        sec = s % 60
        now = clock.ticks_us()
        if sec < 20:
            zb.aps.on_refused(REFUSED_REPLAY, a.ext, now)
            zb.nwk.on_refused(REFUSED_MIC, bytearray(b.ext), now)
        if sec == 30:
            for k in range(60):
                zb.monitor.rx_frame(flood, RX_OK, 200, -40, clock.ticks_us())
                clock.advance_us(10000)
        if s % 420 < 60 and sec % 5 == 0:
            for ext in strangers:
                zb.role_sm.admit(ext, 0x8E)
        clock.advance_us(1000000 - (600000 if sec == 30 else 0))
        logs.flush_due(clock.time())
    ev = hub.tamper.events
    # Episodes: 60 per hour each of replays, MIC failures and floods (a quiet gap of
    # 40 s > 10 s between bursts), one per stranger per seventh minute (9 windows).
    assert (ev[tp.TAMPER_REPLAY], ev[tp.TAMPER_MIC_FAILURES], ev[tp.TAMPER_FLOOD]) == \
        (60, 60, 60)
    assert ev[tp.TAMPER_UNKNOWN_JOINER] == 3 * 9
    assert ev[tp.TAMPER_UNKNOWN_DEVICE] == 0
    # The budget (registers/logs.py as documented): a rate-limited write at most once per
    # FLUSH_S = 300 s: at most 3600 / 300 + 1 = 13 writes in the hour; admission BURST =
    # 10 entries, then one per REFILL_S = 300 s: at most 10 + 3600 / 300 = 22 new entries,
    # so at least 40 - 22 = 18 of the older entries are still there.
    assert 1 <= len(writes) <= 13
    assert len(writes) >= 11  # the attack keeps the log dirty: about one write per 300 s
    entries = [tlog.entry(age) for age in range(tlog.count)]
    new = [e for e in entries if e[2] == lg.EV_TAMPER]
    old = [e for e in entries if e[2] >= 1000]
    assert tlog.count == 40 and len(new) + len(old) == 40
    assert 10 <= len(new) <= 22 and len(old) >= 18
    assert [e[2] for e in old] == list(range(1039, 1039 - len(old), -1))  # newest kept
    kinds = set(e[4] for e in new)
    assert kinds <= {tp.TAMPER_REPLAY, tp.TAMPER_MIC_FAILURES, tp.TAMPER_FLOOD,
                     tp.TAMPER_UNKNOWN_JOINER}
    devices = set(e[5] for e in new)
    assert devices <= set([low32(a.ext), low32(b.ext)] + [low32(e) for e in strangers])
    # What was refused is counted and reported in the fault log (EV_EVENTS_SUPPRESSED).
    fault = logs.log(lg.FAULT)
    reported = sum(fault.entry(k)[5] for k in range(fault.count)
                   if fault.entry(k)[2] == lg.EV_EVENTS_SUPPRESSED
                   and fault.entry(k)[4] == lg.TAMPER)
    total = 60 * 3 + 3 * 9
    assert reported + tlog.suppressed + len(new) + sum(e[3] for e in new) == total


def test_refusal_and_denial_hooks_allocate_nothing_within_an_episode():
    net, hub, events = _hub_net()
    zb = hub.zb
    d = net.devs[0]
    ext = bytearray(d.ext)
    stranger = bytearray(bytes.fromhex("00124B00DEADBEEF"))
    now = net.clock.ticks_us()
    # The episodes start (their callbacks allocate); the frames after them must not.
    for _ in range(3):
        zb.aps.on_refused(REFUSED_REPLAY, ext, now)
        zb.nwk.on_refused(REFUSED_MIC, ext, now)
        zb.role_sm.admit(stranger, 0x8E)
    assert len(events) == 3
    with NoAllocation():
        for _ in range(20):
            zb.aps.on_refused(REFUSED_REPLAY, ext, now)
            zb.nwk.on_refused(REFUSED_MIC, ext, now)
            hub.tamper.join_denied(stranger, now)
    assert len(events) == 3
