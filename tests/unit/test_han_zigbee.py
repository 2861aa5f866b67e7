# The ZigBee star network (firmware/han/zigbee.py with han/nwk, han/aps, han/tc) on the
# simulated medium (tests/unit/zb_net.py): install-code join with the R21 trust-centre
# link key exchange, APS data with acks both ways, and the faults of issue 11 tried as an
# attacker would: coordinator reboot during traffic (no replay accepted, no rejoin
# needed), coordinator gone for minutes (devices rejoin), unregistered joiners, forged
# unsecured frames, a full device table, key update and switch, removal. Portable: tiers
# 1 and 2.
from han import radio_sim
from han.mac import cmdframes as cf
from han.mac import commands as cmd
from han.mac import frame as fr
from han.nwk import layer as nl
from han.nwk.devices import EMPTY, VERIFIED
from han.tc.keys import install_code_link_key
from zb_net import NETWORK_KEY, Net, device_ext, zcl
from support import raises

METERING = 0x0702
SE_PROFILE = 0x0109


def _joined_net(devices=2, sleepy=1, pcap=None, endpoints=()):
    net = Net(devices=devices, sleepy=sleepy, pcap=pcap)
    net.coord.endpoints = endpoints
    net.coord.boot()
    net.run(3)
    net.register_all()
    for d in net.devs:
        d.boot()
    assert net.run(20, until=net.joined)
    return net


def _traffic(net, rounds, tag, to_devices=True):
    for i in range(rounds):
        now = net.clock.ticks_us()
        for j, d in enumerate(net.devs):
            if d.node is not None and d.node.state == 2:
                d.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(tag, i, j), 5, now)
            if to_devices and net.coord.node is not None:
                net.coord.node.send(d.node.mac.short_addr, 1, METERING, SE_PROFILE, 1,
                                    zcl(tag | 0x80, i, j), 5, now)
        net.run(2)


def _got(node, tag):
    return sorted(p for (_, _, _, _, p) in node.received if p[1] == tag)


def test_install_code_join_gives_each_device_a_unique_verified_tc_link_key():
    net = _joined_net()
    t = net.coord.node.table
    keys = []
    for d in net.devs:
        i = t.find_ext(d.ext)
        assert t.state[i] == VERIFIED
        assert d.node.table.state[0] == VERIFIED
        assert bytes(t.tclk[i]) == bytes(d.node.table.tclk[0])
        assert bytes(t.tclk[i]) != bytes(d.link_key)
        assert d.node.st.has_key and bytes(d.node.st.key) == NETWORK_KEY
        keys.append(bytes(t.tclk[i]))
    assert keys[0] != keys[1]
    # The first device's link key is HAN.md's install-code vector.
    assert bytes(net.devs[0].link_key) == bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
    assert net.coord.node.tc.keys_verified == 2


def test_aps_data_both_ways_acknowledged():
    net = _joined_net()
    _traffic(net, 5, 1)
    for j, d in enumerate(net.devs):
        assert _got(net.coord, 1).count(zcl(1, 0, j)) == 1
        assert len([p for p in _got(net.coord, 1) if p[4] == j]) == 5
        assert len(_got(d, 0x81)) == 5
        assert [s for _, s in d.confirms] == [0] * 5
    assert [s for _, s in net.coord.confirms] == [0] * 10


def test_unregistered_device_is_refused_and_gets_no_key():
    net = Net(devices=1, sleepy=0)
    net.coord.boot()
    net.run(3)
    net.devs[0].boot()  # its install code was never registered
    net.run(12)
    d = net.devs[0].node
    assert not d.st.has_key and d.state != 2
    assert net.coord.node.tc.denied >= 1
    assert net.coord.node.role_sm.association_denied >= 1
    assert net.coord.node.table.count() == 0


def test_wrong_install_code_cannot_open_the_network_key():
    net = Net(devices=1, sleepy=0)
    net.coord.boot()
    net.run(3)
    d = net.devs[0]
    wrong = install_code_link_key(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"))
    d.link_key = bytes(16)  # the device holds another key than the one registered
    net.coord.node.tc.register(d.ext, wrong)
    d.boot()
    net.run(12)
    assert not d.node.st.has_key
    assert any("no network key" in e for e in d.events)


def test_coordinator_reboot_is_invisible_and_replays_stay_refused():
    net = _joined_net()
    _traffic(net, 2, 1)
    frames = []
    sniff = net.medium.sniffer

    def keep(t, frame, n, ch, rssi, lqi):
        frames.append(bytes(frame[:n]))
        if sniff:
            sniff(t, frame, n, ch, rssi, lqi)
    net.medium.sniffer = keep
    _traffic(net, 2, 2)
    net.medium.sniffer = sniff
    net.coord.kill()
    net.run(0.3)
    net.coord.boot()
    assert net.coord.node.resumed
    n0 = len(net.coord.received)
    _traffic(net, 4, 3)
    # Traffic resumed at once, without any rejoin.
    assert len(net.coord.received) - n0 == 8
    for d in net.devs:
        assert not any("lost" in e or "rejoin" in e for e in d.events)
        assert len(_got(d, 0x83)) == 4
    # Replay the data frames captured before the reboot from an attacker's radio.
    att = radio_sim.SimRadio(net.medium, (2.0, 2.0), 15)
    att.on()
    refused = net.coord.node.nwk.rx_refused[nl.REFUSED_REPLAY]
    n0 = len(net.coord.received)
    data = [f for f in frames if f[0] & 7 == fr.FT_DATA and f[5:7] == b"\x00\x00"]
    assert len(data) >= 4
    for f in data:
        att.prepare(bytearray(f[:-2]), len(f) - 2)
        att.transmit()
        net.run(0.05)
    assert len(net.coord.received) == n0
    assert net.coord.node.nwk.rx_refused[nl.REFUSED_REPLAY] - refused >= 4


def test_devices_rejoin_after_the_coordinator_was_gone_for_minutes():
    net = _joined_net()
    net.coord.kill()
    _traffic(net, 3, 4, to_devices=False)
    net.run(170)
    assert all(any("parent lost" in e for e in d.events) for d in net.devs)
    net.coord.boot()
    assert net.run(60, until=lambda: all(d.node.state == 2 for d in net.devs))
    assert all(d.node.rejoins_done == 1 for d in net.devs)
    n0 = len(net.coord.received)
    _traffic(net, 3, 5)
    assert len(net.coord.received) - n0 == 6


def test_forged_unsecured_frames_change_nothing():
    net = _joined_net(devices=1, sleepy=0)
    d = net.devs[0]
    att = radio_sim.SimRadio(net.medium, (2.0, 2.0), 15)
    att.on()
    f = fr.FrameFields()
    buf = bytearray(127)
    # A MAC disassociation notification "from the coordinator" to the device, and one
    # "from the device" to the coordinator (2006 7.3.3: unsecured commands).
    n = cf.disassoc_notification(f, buf, 0x4D45, d.ext, net.coord.ext,
                                 cmd.DISASSOC_BY_COORDINATOR)
    att.prepare(buf, n)
    att.transmit()
    net.run(0.1)
    n = cf.disassoc_notification(f, buf, 0x4D45, net.coord.ext, d.ext,
                                 cmd.DISASSOC_BY_DEVICE)
    att.prepare(buf, n)
    att.transmit()
    net.run(0.1)
    # An unsecured NWK Leave and an unsecured APS Switch Key from "the coordinator", and
    # an unsecured data frame with the device's address and next MAC sequence number.
    for nwk_payload in (bytes([0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x04, 0x40]),
                        bytes([0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x05,
                               0x09, 0x07])):
        f.clear()
        f.frame_type = fr.FT_DATA
        f.dst_mode = fr.ADDR_SHORT
        f.dst_pan = 0x4D45
        f.dst_addr = d.node.mac.short_addr
        f.src_mode = fr.ADDR_SHORT
        f.src_addr = 0x0000
        f.pan_id_compression = True
        n = fr.encode(f, nwk_payload, len(nwk_payload), buf)
        att.prepare(buf, n)
        att.transmit()
        net.run(0.1)
    assert d.node.state == 2 and d.node.role_sm.associated
    assert net.coord.node.role_sm.dev_used[0] == 1
    assert d.node.st.key_seq == 0
    _traffic(net, 3, 6)
    assert len(_got(net.coord, 6)) == 3 and len(_got(d, 0x86)) == 3


def test_full_table_refuses_registration_and_association_without_raising():
    net = Net(devices=1, sleepy=0)
    net.coord.boot()
    net.run(3)
    tc = net.coord.node.tc
    for i in range(16):
        assert tc.register(device_ext(100 + i), bytes(16)) == i
    assert tc.register(device_ext(200), bytes(16)) == -1
    tc.allow_default_key = True  # even then: no room, PAN_AT_CAPACITY, nothing raised
    net.devs[0].boot()
    net.run(5)
    assert net.coord.node.role_sm.association_denied >= 1
    assert net.devs[0].node.role_sm.status in (-1, cmd.ASSOC_PAN_AT_CAPACITY)


def test_network_key_update_and_switch_reach_every_device():
    net = _joined_net()
    new_key = bytes(range(0x40, 0x50))
    net.coord.node.tc.update_network_key(new_key, net.clock.ticks_us())
    net.run(20)
    assert net.coord.node.st.key_seq == 1 and bytes(net.coord.node.st.key) == new_key
    for d in net.devs:
        assert d.node.st.key_seq == 1 and bytes(d.node.st.key) == new_key
    _traffic(net, 3, 7)
    assert len(_got(net.coord, 7)) == 6


def test_key_update_interrupted_by_a_coordinator_reboot_completes():
    # The switch time of a key update is in RAM: the coordinator reboots 2 s into the
    # 15 s before the switch. Back up, it sends the next key again and switches.
    net = _joined_net()
    new_key = bytes(range(0x50, 0x60))
    net.coord.node.tc.update_network_key(new_key, net.clock.ticks_us())
    net.run(2)
    net.coord.boot()
    net.run(25)
    assert "zigbee key update 1 resumed" in net.coord.events
    assert net.coord.node.st.key_seq == 1 and bytes(net.coord.node.st.key) == new_key
    for d in net.devs:
        assert d.node.st.key_seq == 1 and bytes(d.node.st.key) == new_key
    _traffic(net, 3, 8)
    assert len(_got(net.coord, 8)) == 6


def test_device_that_missed_switch_key_follows_the_new_key_and_keeps_it():
    net = _joined_net(devices=1, sleepy=0)
    d = net.devs[0]
    new_key = bytes(range(0x60, 0x70))
    net.coord.node.tc.update_network_key(new_key, net.clock.ticks_us())
    net.run(2)  # the next key reached the device
    d.kill()
    net.run(20)  # the coordinator switched; the device's Switch Key went nowhere
    d.boot()
    assert d.node.st.key_seq == 0 and d.node.st.has_alt
    _traffic(net, 1, 8)  # the coordinator's frame under the new key switches the device
    assert len(_got(d, 0x88)) == 1
    d.boot()  # a reboot keeps the key it switched to
    assert d.node.st.key_seq == 1 and bytes(d.node.st.key) == new_key
    _traffic(net, 2, 9)
    assert len(_got(net.coord, 9)) == 2


def test_removed_device_leaves_and_is_forgotten():
    net = _joined_net(devices=1, sleepy=0)
    d = net.devs[0]
    assert net.coord.node.tc.remove(d.ext, net.clock.ticks_us())
    net.run(2)
    assert net.coord.node.table.state[0] == EMPTY
    assert d.node.state == 0 and not d.node.st.has_key
    assert not net.coord.node.tc.remove(d.ext, net.clock.ticks_us())


def _fill_mac_queue(node):
    """Queue frames to a free address until the coordinator's MAC has no slot left (a
    busy hub: reports, held frames for sleepy devices)."""
    n = 0
    while node.nwk.send(0x0123, b"busy", 4, net_now(node)):
        n += 1
    assert n > 0
    return n


def net_now(node):
    return node.mac.clock.ticks_us()


def test_removal_leave_waits_for_a_busy_transmit_queue():
    # A hub whose MAC had no free slot at the removal (HAN-FUN-005, a BAIOP run on CI):
    # the NWK Leave was dropped and the device stayed on the network with its keys. The
    # Leave is now owed until it can be queued, indirect for a sleepy device.
    for sleepy in (0, 1):
        net = _joined_net(devices=1, sleepy=sleepy)
        d = net.devs[0]
        _fill_mac_queue(net.coord.node)
        assert net.coord.node.tc.remove(d.ext, net.clock.ticks_us())
        net.run(10)
        assert net.coord.node.table.state[0] == EMPTY
        assert d.node.state == 0 and not d.node.st.has_key, sleepy


def test_table_register_checks_sizes():
    net = Net(devices=0)
    net.coord.boot()
    raises(ValueError, net.coord.node.tc.register, b"\x01" * 7, bytes(16))
    raises(ValueError, net.coord.node.tc.register, b"\x01" * 8, bytes(15))


def test_zdo_requests_are_answered_by_the_coordinator():
    # An energy service interface on endpoint 1 (SE 1.4 device 0x0500) with Basic and
    # Metering servers: a device finds it and reads the node descriptor (ZigBee 2.4.3).
    net = _joined_net(devices=1, sleepy=0,
                      endpoints=[(1, SE_PROFILE, 0x0500, 1, [0x0000, METERING], [])])
    dev = net.devs[0]
    now = net.clock.ticks_us()
    # Node_Desc_req (0x0002) for 0x0000; Match_Desc_req (0x0006) for Metering servers;
    # Active_EP_req (0x0005); Mgmt_Permit_Joining_req (0x0036) 60 s.
    for cluster, payload in ((0x0002, "110000"), (0x0006, "120000090101020700"),
                             (0x0005, "130000"), (0x0036, "143C01")):
        p = bytes.fromhex(payload)
        assert dev.node.send(0x0000, 0, cluster, 0x0000, 0, p, len(p), now, ack=False)
        net.run(1)
    got = {(c, p) for (src, c, p) in dev.zdo_in if src == 0x0000}
    # Node_Desc_rsp: coordinator, 2.4 GHz band (0x08 << 3), capability 0x8F, manufacturer
    # 0, transfer sizes 82, server mask primary TC + network manager, revision 22 << 9.
    assert (0x8002, bytes.fromhex("1100" "0000" "00408f0000" "525200" "412c" "5200" "00")) \
        in got
    assert (0x8006, bytes.fromhex("1200000001" "01")) in got
    assert (0x8005, bytes.fromhex("1300000001" "01")) in got
    assert (0x8036, bytes.fromhex("148d")) in got  # joining is the trust centre's choice
    # Four requests and the device's Device_annce (which gets no answer, 2.4.3.1.11).
    assert net.coord.node.zdo.requests == 5 and net.coord.node.zdo.malformed == 0
    assert "zigbee device_annce 0x%04x" % dev.node.mac.short_addr in net.coord.events


# --- APS security on application data (05-3474-21 4.4.1, SE 1.4 5.4.6) --------------------
def _aps_spy(node):
    """(src, APS frame control, APS counter) of every APS frame node's NWK layer hands up."""
    seen = []
    up = node.nwk.on_data

    def spy(nh, view, off, n, secured, index, now):
        seen.append((nh.src, view[off], bytes(view[off:off + n])))
        up(nh, view, off, n, secured, index, now)
    node.nwk.on_data = spy
    return seen


def test_aps_secured_data_both_ways_is_delivered_flagged_and_acknowledged_secured():
    net = _joined_net()
    c = net.coord
    spy_c = _aps_spy(c.node)
    spies = [_aps_spy(d.node) for d in net.devs]
    for i in range(3):
        now = net.clock.ticks_us()
        for j, d in enumerate(net.devs):
            assert d.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x30, i, j), 5,
                               now, aps_secure=True)
            assert c.node.send(d.node.mac.short_addr, 1, METERING, SE_PROFILE, 1,
                               zcl(0xB0, i, j), 5, now, aps_secure=True)
        net.run(2)
    for j, d in enumerate(net.devs):
        assert len(_got(d, 0xB0)) == 3 and all(d.received_secured)
        assert [s for _, s in d.confirms] == [0] * 3
    assert len(_got(c, 0x30)) == 6 and all(c.received_secured)
    assert [s for _, s in c.confirms] == [0] * 6
    # On the air (inside NWK security): data frames with the APS security bit (0x20), and
    # their acks (frame type 2) secured too, 2.2.8.4.2.
    for seen in [spy_c] + spies:
        data = [fc for (_, fc, _) in seen if fc & 3 == 0]
        acks = [fc for (_, fc, _) in seen if fc & 3 == 2]
        assert data and all(fc & 0x20 for fc in data)
        assert acks and all(fc & 0x20 for fc in acks)
    # Unsecured data is still flagged as such.
    now = net.clock.ticks_us()
    net.devs[0].node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x31), 5, now)
    net.run(2)
    assert c.received[-1][4] == zcl(0x31) and c.received_secured[-1] is False
    assert net.coord.node.aps.rx_wrong_key == 0


def test_aps_secured_data_under_another_key_is_refused_and_counted():
    net = _joined_net(devices=1, sleepy=0)
    c, d = net.coord, net.devs[0]
    aps = c.node.aps
    t = d.node.table
    n0, w0, r0 = len(c.received), aps.rx_wrong_key, aps.rx_refused
    # Under its install-code link key although its TC link key is verified.
    t.state[0] = 3  # JOINED: the device's data key is its link key for this frame
    now = net.clock.ticks_us()
    assert d.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x40), 5, now, ack=False,
                       aps_secure=True)
    net.run(1)
    t.state[0] = VERIFIED
    # Under a key the coordinator does not hold.
    good = bytes(t.tclk[0])
    t.tclk[0][:] = bytes(range(0xA0, 0xB0))
    now = net.clock.ticks_us()
    assert d.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x41), 5, now, ack=False,
                       aps_secure=True)
    net.run(1)
    t.tclk[0][:] = good
    assert len(c.received) == n0
    assert aps.rx_wrong_key == w0 + 2 and aps.rx_refused == r0 + 2
    # The genuine key still works.
    now = net.clock.ticks_us()
    tid = d.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x42), 5, now, aps_secure=True)
    net.run(2)
    assert c.received[-1][4] == zcl(0x42) and c.received_secured[-1] is True
    assert d.confirms == [(tid, 0)]  # acknowledged (by a secured ack)


def test_aps_secured_frame_replayed_inside_fresh_nwk_security_is_refused():
    # An insider (any holder of the network key) wraps a captured APS-secured frame in a
    # new NWK frame: the APS frame counter refuses it.
    net = _joined_net(devices=1, sleepy=0)
    c, d = net.coord, net.devs[0]
    seen = _aps_spy(c.node)
    now = net.clock.ticks_us()
    d.node.send(0x0000, 1, METERING, SE_PROFILE, 1, zcl(0x50), 5, now, aps_secure=True)
    net.run(2)
    captured = [f for (src, fc, f) in seen if fc & 3 == 0 and fc & 0x20]
    assert len(captured) == 1 and len(c.received) >= 1
    n0, r0 = len(c.received), c.node.aps.rx_refused
    now = net.clock.ticks_us()
    f = captured[0]
    assert d.node.nwk.send(0x0000, f, len(f), now)
    net.run(1)
    assert len(c.received) == n0
    assert c.node.aps.rx_refused == r0 + 1


def test_aps_secure_needs_a_unicast_peer_with_a_link_key():
    net = _joined_net(devices=1, sleepy=0)
    now = net.clock.ticks_us()
    c = net.coord.node
    assert c.send(0xFFFD, 1, METERING, SE_PROFILE, 1, zcl(0x60), 5, now, aps_secure=True) == 0
    assert c.send(0x0042, 1, METERING, SE_PROFILE, 1, zcl(0x60), 5, now, aps_secure=True) == 0
    # 82 octets fit unsecured; APS security takes 17 of them (auxiliary header and MIC).
    assert c.send(0x0001, 1, METERING, SE_PROFILE, 1, bytes(70), 70, now,
                  aps_secure=True) == 0
    assert c.send(0x0001, 1, METERING, SE_PROFILE, 1, bytes(65), 65, now,
                  aps_secure=True) > 0
