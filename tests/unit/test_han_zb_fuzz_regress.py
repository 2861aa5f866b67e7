# What the ZigBee fuzz (tests/host/test_han_zb_fuzz.py) found, one case each, on a joined
# coordinator + end device (tests/unit/zb_net.py): frames that were counted twice or not
# at all, an APS command read past its end, and a replay of the join's Transport Key
# accepted once the TC link key had replaced the install-code key. Tiers 1 and 2.
from han.mac import frame as fr
from han.nwk import layer as nl
from han.nwk.security import KEY_DATA
from han.zdo.server import ZdoServer
from zb_net import Net, zcl

NEXT_KEY = bytes.fromhex("000102030405060708090A0B0C0D0E0F")


def _joined(frames=None):
    net = Net(devices=1, sleepy=0)
    if frames is not None:
        net.medium.sniffer = lambda t, f, n, ch, rssi, lqi: frames.append(bytes(f[:n - 2]))
    net.coord.boot()
    net.run(3)
    net.register_all()
    net.devs[0].boot()
    assert net.run(20, until=net.joined)
    net.medium.sniffer = None
    return net, net.coord.node, net.devs[0].node


def _join_transport_key(frames):
    """The join's Transport Key to 0x0001 as it went on air: NWK unsecured, APS-secured
    command."""
    f = fr.FrameFields()
    for m in frames:
        if fr.decode(m, len(m), f, False) or f.frame_type != fr.FT_DATA or f.dst_addr != 1:
            continue
        nwk = m[f.header_len:]
        if not nwk[1] & 0x02 and nwk[8] & 0x23 == 0x21:
            return m
    raise AssertionError("no Transport Key in the capture")


def _nwk_counts(nwk):
    return (list(nwk.rx_refused), nwk.rx_accepted, nwk.rx_unsecured)


def test_secured_nwk_command_with_unknown_identifier_is_counted_once():
    # It was counted accepted (after its MIC) and refused malformed, twice.
    net, c, d = _joined()
    refused, accepted, unsecured = _nwk_counts(c.nwk)
    d.nwk.send(0x0000, b"\x20\x00", 2, net.clock.ticks_us(), command=True)  # 0x20: unknown
    net.run(1)
    assert c.nwk.rx_refused[nl.REFUSED_MALFORMED] == refused[nl.REFUSED_MALFORMED] + 1
    assert sum(c.nwk.rx_refused) == sum(refused) + 1
    assert (c.nwk.rx_accepted, c.nwk.rx_unsecured) == (accepted, unsecured)


def test_aps_frames_not_taken_are_counted_refused():
    # Group delivery, an inter-PAN frame and an empty APS command, each NWK-secured by the
    # joined device: dropped without a count before.
    net, c, d = _joined()
    frames = [
        bytes.fromhex("0C" "0100" "0207" "0901" "01" "05" "AA"),  # data, group 0x0001
        bytes.fromhex("03" "0207" "0901" "AA"),  # inter-PAN frame type
    ]
    r0, a0 = c.aps.rx_refused, c.aps.rx_accepted
    for f in frames:
        d.nwk.send(0x0000, f, len(f), net.clock.ticks_us())
        net.run(0.5)
    d.aps.send_command(0x0000, b"", 0, net.clock.ticks_us(), KEY_DATA, d.table.tclk[0])
    net.run(0.5)
    assert c.aps.rx_refused == r0 + 3
    assert c.aps.rx_accepted == a0
    assert net.coord.received == []


def test_one_octet_request_key_is_refused_before_the_trust_centre_reads_it():
    # Request Key without its key type, APS-secured with the device's TC link key: the
    # TC read the key type past the frame (a stale octet). Refused by the APS layer now.
    net, c, d = _joined()
    i = c.table.find_ext(d.mac.ext_addr)
    r0, tc0 = c.aps.rx_refused, c.tc.refused_commands
    # A stale 0x04 (TC link key type) where the key type would be read.
    d.aps.send_command(0x0000, b"\x08\x04", 2, net.clock.ticks_us(), KEY_DATA,
                       d.table.tclk[0])
    net.run(1)
    pending = bytes(c.tc._pending[i])
    d.aps.send_command(0x0000, b"\x08", 1, net.clock.ticks_us(), KEY_DATA, d.table.tclk[0])
    net.run(1)
    assert c.aps.rx_refused == r0 + 1
    assert bytes(c.tc._pending[i]) == pending  # no new TC link key was drawn
    assert c.tc.refused_commands == tc0


def test_join_transport_key_replayed_after_tclk_exchange_is_refused():
    # The join's Transport Key (APS counter 0, under the install-code key) replayed once
    # the TC link key is confirmed: the APS counter had been forgotten with the key change
    # (a new counter space for the new key), so the old frame opened with the install-code
    # key and was taken again (network key rewritten, the state saved). Refused now, and
    # the next frames under the TC link key still start their own counter space.
    frames = []
    net, c, d = _joined(frames)
    join_tk = _join_transport_key(frames)
    assert d.table.aps_in[0] == -1  # forgotten at Confirm Key
    r0, a0 = d.aps.rx_refused, d.aps.rx_accepted
    net.devs[0].radio._rxq.append((join_tk, -40.0, 200))
    net.run(1)
    assert d.aps.rx_refused == r0 + 1 and d.aps.rx_accepted == a0
    assert d.table.aps_in[0] == -1
    # A network key update under the TC link key is still followed.
    c.tc.update_network_key(NEXT_KEY, net.clock.ticks_us())
    net.run(20)
    assert bytes(d.st.key) == NEXT_KEY and bytes(c.st.key) == NEXT_KEY
    now = net.clock.ticks_us()
    d.send(0x0000, 1, 0x0702, 0x0109, 1, zcl(0x42), 5, now)
    net.run(3)
    assert (0x0001, 1, 1, 0x0702, zcl(0x42)) in net.coord.received


def test_join_transport_key_replayed_after_a_device_reboot_is_refused():
    # The same replay after the device rebooted: the APS layer's guard for the install-code
    # key's counters is in RAM, so the joiner itself refuses a network key under the
    # install-code key once the TC link key is verified (outside a new association).
    frames = []
    net, c, d = _joined(frames)
    join_tk = _join_transport_key(frames)
    d = net.devs[0].boot()  # a reboot from its flash, before any frame under the TC key
    net.run(1)
    assert d.table.aps_in[0] == -1  # nothing guards the install-code key's counters now
    saves = d.store.net_saves
    net.devs[0].radio._rxq.append((join_tk, -40.0, 200))
    net.run(1)
    assert d.joiner.refused_commands == 1 and d.store.net_saves == saves
    # The network still works, and a key update under the TC link key is followed.
    c.tc.update_network_key(NEXT_KEY, net.clock.ticks_us())
    net.run(20)
    assert bytes(d.st.key) == NEXT_KEY
    now = net.clock.ticks_us()
    d.send(0x0000, 1, 0x0702, 0x0109, 1, zcl(0x43), 5, now)
    net.run(3)
    assert (0x0001, 1, 1, 0x0702, zcl(0x43)) in net.coord.received


def test_short_unserved_zdo_request_counted_malformed_only():
    # Power_Desc_req without its NWKAddrOfInterest: counted unsupported and malformed.
    s = ZdoServer(0x0000, bytes(8), (0, False, False, 0x08, 0x8F, 0, 82, 82, 0, 82, 0), [])
    out = bytearray(32)
    assert s.handle(0x0003, b"\x01\x00", 2, out) is None
    assert (s.requests, s.malformed, s.unsupported) == (1, 1, 0)
    assert s.handle(0x0003, b"\x02\x34\x12", 3, out) == (0x8003, 4)
    assert bytes(out[:4]) == b"\x02\x84\x34\x12"
    assert (s.requests, s.malformed, s.unsupported) == (2, 1, 1)
