# End-device timeouts and aging (ZigBee 05-3474-21 3.4.11, 3.6.10; han/nwk/aging.py) on the
# simulated star network (tests/unit/zb_net.py): a child asking for 10 s (Table 3-54
# index 0) that falls silent is aged out after more than 10 s and not before; a sleepy
# child that polls, or a receiver-on child that sends MAC poll keepalives, never is; an
# aged-out child's held frames are dropped, it is told to rejoin when it is heard again,
# rejoins with its keys and traffic resumes, and frames captured before the aging stay
# refused as replays. The timeout index and the aged mark survive a coordinator reboot
# in the network record, whose layout did not change. Portable: tiers 1 and 2.
from han import radio_sim
from han.mac import frame as fr
from han.mac.indirect import HELD
from han.nwk import layer as nl
from han.nwk.devices import JOINED, VERIFIED, DeviceTable
from zb_net import Net, zcl

METERING = 0x0702
SE_PROFILE = 0x0109


def _net(sleepy, timeout_index):
    net = Net(devices=1, sleepy=1 if sleepy else 0)
    net.devs[0].ed_timeout = timeout_index
    net.coord.boot()
    net.run(3)
    net.register_all()
    net.devs[0].boot()
    assert net.run(20, until=net.joined)
    net.run(1)  # the End Device Timeout Request and its response
    return net


def _entry(net):
    t = net.coord.node.table
    return t, t.find_ext(net.devs[0].ext)


def _run_until_aged(net, step=0.25, limit=40):
    """Run in small steps until the child is aged out; the coordinator's second then."""
    t, i = _entry(net)
    left = limit
    while not t.aged[i] and left > 0:
        net.run(step)
        left -= step
    assert t.aged[i]
    return t.now_s


def test_timeout_request_is_answered_and_kept():
    net = _net(sleepy=False, timeout_index=0)
    t, i = _entry(net)
    assert t.timeout[i] == 0
    ka = net.devs[0].node.keepalive
    # SUCCESS, parent information: MAC data poll keepalive (3.4.12.3.2, bit 0).
    assert ka.status == 0 and ka.parent_info == 0x01
    # Receiver on: it does not poll by itself, so it keeps its parent with polls every
    # quarter of the 10 s.
    assert ka.needed and ka.period_s == 2


def test_silent_child_is_aged_out_after_its_timeout_and_not_before():
    net = _net(sleepy=False, timeout_index=0)
    t, i = _entry(net)
    net.run(30)  # keepalive polls: never aged out
    assert not t.aged[i] and net.devs[0].node.keepalive.polls >= 10
    net.devs[0].kill()
    last = t.last_seen[i]
    while t.now_s < last + 10:
        net.run(0.25)
        assert not t.aged[i], "aged out at %d s, last heard %d s" % (t.now_s, last)
    aged_at = _run_until_aged(net)
    assert last + 10 < aged_at <= last + 12
    assert "zigbee child 0x%04x aged out" % t.short_of(i) in net.coord.events
    assert net.coord.node.aging.aged_out == 1
    # Keys, registration and counters are kept (not forgotten).
    assert t.state[i] == VERIFIED and t.nwk_in[i] > 0
    # No longer listed as a child by the ZDO server.
    assert net.coord.node._children() == []


def test_polling_sleepy_child_is_never_aged_out():
    net = _net(sleepy=True, timeout_index=0)
    t, i = _entry(net)
    assert not net.devs[0].node.keepalive.needed  # its 0.5 s polls are the keepalive
    net.run(90)
    assert not t.aged[i] and net.coord.node.aging.aged_out == 0
    now = net.clock.ticks_us()
    net.coord.node.send(t.short_of(i), 1, METERING, SE_PROFILE, 1, zcl(0x01), 5, now)
    net.run(3)
    assert [p for (_, _, _, _, p) in net.devs[0].received] == [zcl(0x01)]


def test_aged_out_sleepy_child_loses_its_held_frames_then_rejoins():
    net = _net(sleepy=True, timeout_index=0)
    t, i = _entry(net)
    dev = net.devs[0]
    dev.kill()
    short = t.short_of(i)
    now = net.clock.ticks_us()
    tid = net.coord.node.send(short, 1, METERING, SE_PROFILE, 1, zcl(0x02), 5, now)
    assert tid
    net.run(1)
    slots = net.coord.node.mac._slots
    assert any(slots.state[k] == HELD and slots.dst[k] == short
               for k in range(len(slots.state)))
    _run_until_aged(net)
    net.run(0.5)
    assert not any(slots.state[k] == HELD and slots.dst[k] == short
                   for k in range(len(slots.state)))
    assert (tid, 0xA7) in net.coord.confirms  # APS NO_ACK: given up, not delivered
    # The device comes back (it resumes the saved network, knowing nothing): its first
    # poll gets a Leave with rejoin, it rejoins secured and traffic resumes.
    dev.boot()
    assert net.run(20, until=lambda: dev.node.rejoins_done == 1 and dev.node.state == 2)
    net.run(2)
    assert not t.aged[i]
    assert any("leave with rejoin" in e for e in dev.events)
    assert net.coord.node.aging.leaves_sent >= 1
    assert t.state[i] == VERIFIED and dev.node.st.has_key  # keys kept: no new join
    now = net.clock.ticks_us()
    dev.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x03), 5, now)
    net.coord.node.send(short, 1, METERING, SE_PROFILE, 1, zcl(0x04), 5, now)
    net.run(4)
    assert (short, 1, 1, METERING, zcl(0x03)) in net.coord.received
    assert (0x0000, 1, 1, METERING, zcl(0x04)) in dev.received


def test_aged_out_child_rejoins_and_its_old_frames_stay_replays():
    net = _net(sleepy=False, timeout_index=0)
    t, i = _entry(net)
    dev = net.devs[0]
    frames = []
    net.medium.sniffer = lambda t_, frame, n, ch, rssi, lqi: frames.append(bytes(frame[:n]))
    now = net.clock.ticks_us()
    for k in range(3):
        dev.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x10, k), 5, now)
        net.run(2)
        now = net.clock.ticks_us()
    net.medium.sniffer = None
    dev.kill()
    _run_until_aged(net)
    nwk_before = t.nwk_in[i]
    net.coord.boot()  # a reboot in between: the aged mark and the timeout are kept
    t, i = _entry(net)
    assert t.aged[i] and t.timeout[i] == 0 and t.nwk_in[i] == nwk_before
    net.run(1)
    dev.boot()
    assert net.run(20, until=lambda: dev.node.rejoins_done == 1 and dev.node.state == 2)
    net.run(1)
    assert not t.aged[i]
    n0 = len(net.coord.received)
    now = net.clock.ticks_us()
    dev.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x11), 5, now)
    net.run(2)
    assert len(net.coord.received) == n0 + 1
    # The data frames captured before the aging, replayed from an attacker's radio.
    att = radio_sim.SimRadio(net.medium, (2.0, 2.0), 15)
    att.on()
    refused = net.coord.node.nwk.rx_refused[nl.REFUSED_REPLAY]
    data = [f for f in frames if f[0] & 7 == fr.FT_DATA and f[5:7] == b"\x00\x00"]
    assert len(data) >= 3
    for f in data:
        att.prepare(bytearray(f[:-2]), len(f) - 2)
        att.transmit()
        net.run(0.05)
    assert len(net.coord.received) == n0 + 1
    assert net.coord.node.nwk.rx_refused[nl.REFUSED_REPLAY] - refused >= 3


def test_frames_of_an_aged_out_child_are_not_delivered_until_it_rejoins():
    # The child never went away but sent nothing for longer than its timeout (its
    # keepalive off): aged out; its next data frame is authenticated but not delivered,
    # answered with a Leave with rejoin, and once it has rejoined its data goes through.
    net = _net(sleepy=False, timeout_index=0)
    t, i = _entry(net)
    dev = net.devs[0]
    dev.node.keepalive.needed = False
    _run_until_aged(net)
    n0 = len(net.coord.received)
    stale0 = net.coord.node.nwk.rx_stale
    now = net.clock.ticks_us()
    dev.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x21), 5, now, ack=False)
    assert net.run(10, until=lambda: dev.node.rejoins_done == 1 and dev.node.state == 2)
    assert net.coord.node.nwk.rx_stale == stale0 + 1
    assert len(net.coord.received) == n0
    net.run(1)
    now = net.clock.ticks_us()
    dev.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x22), 5, now)
    net.run(2)
    assert [p for (_, _, _, _, p) in net.coord.received[n0:]] == [zcl(0x22)]


def test_table_record_keeps_its_layout_and_reads_records_written_before():
    t = DeviceTable(2)
    t.register(b"\x00\x04\xa3\x0b\x00\x00\x01\x00", bytes(range(16)))
    t.register(b"\x00\x04\xa3\x0b\x00\x00\x01\x01", bytes(range(16, 32)))
    t.state[0] = VERIFIED
    t.state[1] = JOINED
    out = bytearray(DeviceTable.table_bytes(2))
    assert len(out) == 2 * 42  # state, capability, ext, link key, TC link key
    t.pack_table(out, 0)
    # Default timeouts, nothing aged: the state octet is the bare state, as written
    # before the timeouts were kept.
    assert out[0] == 4 and out[42] == 3
    t.timeout[0] = 0
    t.aged[0] = 1
    t.timeout[1] = 14
    t.pack_table(out, 0)
    # 0x80 aged | (0 ^ 8) << 3 | 4 ; (14 ^ 8) << 3 | 3
    assert out[0] == 0xC4 and out[42] == 0x33
    u = DeviceTable(2)
    u.unpack_table(out, 0)
    assert (u.state[0], u.timeout[0], u.aged[0]) == (VERIFIED, 0, 1)
    assert (u.state[1], u.timeout[1], u.aged[1]) == (JOINED, 14, 0)
    old = bytearray(out)
    old[0] = 4  # an entry of a record written before: VERIFIED, nothing else
    old[42] = 3
    u.unpack_table(old, 0)
    assert (u.state[0], u.timeout[0], u.aged[0]) == (VERIFIED, 8, 0)
    assert (u.state[1], u.timeout[1], u.aged[1]) == (JOINED, 8, 0)
