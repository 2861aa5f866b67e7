# Power-cut campaign for the HAN trust centre's state (issue 11): the coordinator's
# "hannet" and "hanctr" records (han/nwk/store.py) in the registers' record store, on the
# flash and cut machinery of tools/powercut.py.
#
#   .venv/bin/python -m tools.powercut_han --cuts N --seed S [--runtime micropython|cpython]
#
# runtime micropython (default): this file under build/micropython, the coordinator's
#   flash real littlefs (vfs.VfsLfs2) on hal.sim.RamBlockDevice, cut at a random
#   program/erase operation; runtime cpython: registers.memfs.MemoryFs(atomic=False),
#   which tears a file write at a random byte.
#
# A coordinator (han.zigbee.ZigbeeNode) and up to 6 end devices (one sleepy) on
# han.radio_sim: APS data both ways, registrations, removals and network key updates at
# random; the devices' flash is never cut. When the coordinator's flash loses power the
# node dies at once (its radio too); after an outage it reboots from the flash and the
# campaign checks:
#   corrupt         the store does not mount, a record saved is gone, or a record is
#                   neither the last one completed nor the one the cut interrupted
#   lost_devices    a device whose registration completed (and whose removal did not
#                   start) is missing or has another link key
#   resurrected     a device whose removal completed is back
#   wrong_keys      the network key / sequence is neither the last saved nor the one the
#                   cut interrupted
#   counter_reuse   the outgoing NWK or APS counter after the reboot is not above every
#                   one the coordinator used on air before, or a frame on air reuses one
#   incoming_regressions  an incoming counter below the last persisted one
#   stale_incoming  an incoming counter above anything its device sent (a previous
#                   occupant's: the device would be refused as a replay)
#   warned_losses   after the early warning (a quarter of the cuts: the incoming counters
#                   saved, then the cut) anything differs from RAM at the cut
import sys

IS_MICROPYTHON = sys.implementation.name == "micropython"
if IS_MICROPYTHON:
    # MicroPython runs this file from tools/, first on its path: moved to the end, or
    # tools/han (the host tools) would hide the firmware's han package.
    sys.path.append(sys.path.pop(0))
    from powercut import Lcg, _arg, _json, _note
    from powercut_han_rig import COORD_EXT, TABLE, Rig, _air
else:
    from tools.powercut import Lcg, _arg, _json, _note
    from tools.powercut_han_rig import COORD_EXT, TABLE, Rig, _air

NET_LEN = 62 + 42 * TABLE  # han/nwk/store.py _NET_HEAD + the table
CTR_LEN = 8 + 8 * TABLE
FAILURES = ("corrupt", "lost_devices", "resurrected", "wrong_keys", "counter_reuse",
            "incoming_regressions", "stale_incoming", "warned_losses")


def _net_snapshot(st):
    return (st.key_seq, bytes(st.key))


def _ctr_snapshot(table):
    return [bytes(table.ext[i]) if table.state[i] else None for i in range(table.size)]


def _counters(payload):
    import struct

    out = []
    for i in range(TABLE):
        nwk, aps = struct.unpack_from("<II", payload, 8 + 8 * i)
        out.append((-1 if nwk == 0xFFFFFFFF else nwk, -1 if aps == 0xFFFFFFFF else aps))
    return out


def _check_boot(rig, log, fs, node, res, warned_ram):
    """The checks of the header after one reboot; the coordinator node is loaded."""
    from registers.store import RecordStore

    cut = res["cuts"]
    raw = RecordStore(fs)
    for name, kind, size in (("hannet", 0xB0, NET_LEN), ("hanctr", 0xB1, CTR_LEN)):
        buf = bytearray(size)
        n = raw.slots(name, kind, size).load(buf)
        cands = log.candidates(name)
        if not cands:
            continue
        if n < 0 or bytes(buf[:n]) not in [c[0] for c in cands]:
            res["corrupt"] += 1
            _note(res, "cut %d: %s is neither the saved nor the interrupted record"
                  % (cut, name))
    t = node.table
    st = node.st
    if "hannet" in log.acked and not node.resumed:
        res["corrupt"] += 1
        _note(res, "cut %d: the saved network was not resumed" % cut)
    for d in rig.ids:
        i = t.find_ext(d["ext"])
        if d["reg"] == "acked" and (i < 0 or bytes(t.link_key[i]) != d["key"]):
            res["lost_devices"] += 1
            _note(res, "cut %d: device %s lost" % (cut, d["ext"].hex()))
        if d["reg"] == "removed" and i >= 0:
            res["resurrected"] += 1
            _note(res, "cut %d: removed device %s is back" % (cut, d["ext"].hex()))
    keys = [c[1] for c in log.candidates("hannet")]
    if keys and (st.key_seq, bytes(st.key)) not in keys:
        res["wrong_keys"] += 1
        _note(res, "cut %d: network key %d not one in force" % (cut, st.key_seq))
    air = rig.air
    for layer, out, used in (("NWK", st.nwk_out, air.nwk_max), ("APS", st.aps_out,
                                                                 air.aps_max)):
        top = used.get(COORD_EXT, -1)
        if out <= top:
            res["counter_reuse"] += 1
            _note(res, "cut %d: %s counter resumes at %d, %d was used" % (cut, layer, out, top))
    saved = log.acked.get("hanctr")
    if saved is not None:
        pend = log.pending.get("hanctr")
        low = _counters(saved[0])
        alt = _counters(pend[0]) if pend is not None else low
        for i in range(TABLE):
            ext = saved[1][i]
            if ext is None or t.state[i] == 0 or bytes(t.ext[i]) != ext:
                continue
            for k, now in ((0, t.nwk_in[i]), (1, t.aps_in[i])):
                if now < min(low[i][k], alt[i][k]):
                    res["incoming_regressions"] += 1
                    _note(res, "cut %d: entry %d counter %d below saved %d"
                          % (cut, i, now, low[i][k]))
    for i in range(TABLE):
        if t.state[i] >= 2:
            sent = air.nwk_max.get(bytes(t.ext[i]), -1)
            if t.nwk_in[i] > sent:
                res["stale_incoming"] += 1
                _note(res, "cut %d: entry %d incoming %d, its device sent at most %d (before "
                      "its last removal: %d)" % (cut, i, t.nwk_in[i], sent,
                                                 air.before.get(bytes(t.ext[i]), -1)))
    if warned_ram is not None:
        tb = bytearray(t.table_bytes(TABLE))
        t.pack_table(tb, 0)
        cb = bytearray(8 * TABLE)
        t.pack_counters(cb, 0)
        now_state = (bytes(tb), bytes(cb), st.key_seq, bytes(st.key), st.has_alt,
                     bytes(st.alt_key))
        if now_state != warned_ram[0] or st.nwk_out < warned_ram[1] \
                or st.aps_out < warned_ram[2]:
            res["warned_losses"] += 1
            _note(res, "cut %d: state after a warned cut differs from RAM" % cut)


def _ram(node):
    t = node.table
    st = node.st
    tb = bytearray(t.table_bytes(TABLE))
    t.pack_table(tb, 0)
    cb = bytearray(8 * TABLE)
    t.pack_counters(cb, 0)
    return ((bytes(tb), bytes(cb), st.key_seq, bytes(st.key), st.has_alt,
             bytes(st.alt_key)), st.nwk_out, st.aps_out)


def _operate(rig, node, res, op):
    """One administrative or traffic action on the running coordinator."""
    rng = rig.rng
    now = rig.clock.ticks_us()
    tc = node.tc
    if op == 0:  # register a device that is not in the table
        free = [d for d in rig.ids if not d["reg"] or d["reg"] == "removed"]
        if free:
            d = free[rng.below(len(free))]
            d["key"] = bytes(rng.below(256) for _ in range(16))
            d["reg"] = "pending"
            tc.register(d["ext"], d["key"])
            d["reg"] = "acked"
            res["registrations"] += 1
            rig.boot_device(d)
    elif op == 1:  # remove one
        regs = [d for d in rig.ids if d["reg"] == "acked"]
        if len(regs) > 1:
            d = regs[rng.below(len(regs))]
            d["reg"] = "removing"
            tc.remove(d["ext"], now)
            rig.reset_device(d)
            d["reg"] = "removed"
            res["removals"] += 1
    elif op == 2 and not node.st.has_alt:  # network key update
        key = bytes(rng.below(256) for _ in range(16))
        rig.air.add_key((node.st.key_seq + 1) & 0xFF, key)
        tc.update_network_key(key, now)
        res["key_updates"] += 1
    else:  # traffic both ways
        for d in rig.ids:
            n = d["node"]
            if n is not None and n.state == 2 and rng.below(2) == 0:
                n.send(0x0000, 1, 0x0702, 0x0109, 1, b"\x01\x02\x03", 3, now)
            if n is not None and n.state == 2 and rng.below(3) == 0:
                node.send(n.mac.short_addr, 1, 0x0702, 0x0109, 1, b"\x04\x05", 2, now)


def _adopt(rig, node):
    """After a reboot, an operation the cut interrupted is decided by the table."""
    for d in rig.ids:
        i = node.table.find_ext(d["ext"])
        if d["reg"] == "pending":
            d["reg"] = "acked" if i >= 0 else False
            if i >= 0:
                rig.boot_device(d)
        elif d["reg"] == "removing":
            if i >= 0:
                d["reg"] = "acked"
            else:
                rig.reset_device(d)
                d["reg"] = "removed"


def campaign(cuts, seed, runtime):
    from registers.store import RecordStore

    rng = Lcg(seed)
    rig = Rig(runtime, rng, seed)
    log = _air().SaveLog(rig.dead)
    res = {"cuts": 0, "boots": 0, "warned_cuts": 0, "net_saves": 0, "counter_saves": 0,
           "registrations": 0, "removals": 0, "key_updates": 0, "frames_on_air": 0,
           "accepted_from_devices": 0, "reboot_checks": 0, "cut_hannet": 0,
           "cut_hanctr": 0, "key_switches": 0,
           "boots_with_key_update_pending": 0,
           "incidents": []}
    for k in FAILURES:
        res[k] = 0
    warned_ram = None
    sim_us = 0
    while res["cuts"] < cuts:
        rig.flash.disarm()
        try:
            fs = rig.mount()
        except OSError:
            res["corrupt"] += 1
            rig.flash.reformat()
            fs = rig.mount()
        log.new_boot()
        rig.air.new_boot()
        node = rig.boot_coordinator(RecordStore(fs))
        if res["boots"]:
            _check_boot(rig, log, fs, node, res, warned_ram)
            res["reboot_checks"] += 1
            _adopt(rig, node)
        res["boots"] += 1
        log.wrap(node.store._net, "hannet", lambda st=node.st: _net_snapshot(st))
        log.wrap(node.store._ctr, "hanctr", lambda t=node.table: _ctr_snapshot(t))
        rig.air.add_key(node.st.key_seq, node.st.key)
        if node.st.has_alt:
            rig.air.add_key(node.st.alt_seq, node.st.alt_key)
        if node.st.has_alt:
            res["boots_with_key_update_pending"] += 1
        seq0 = node.st.key_seq
        warned = rng.below(4) == 0
        warn_at = 5 + rng.below(60) if warned else -1
        if not warned:
            rig.flash.arm()
        warned_ram = None
        accepted0 = node.nwk.rx_accepted
        try:
            node.start()
            if res["boots"] == 1:
                rig.run(3)
                for _ in range(3):
                    _operate(rig, node, res, 0)
            tick = 0
            while True:
                r = rng.below(24)
                _operate(rig, node, res, r if r < 3 else 3)
                if rig.dead() or not rig.run(1):
                    break
                tick += 1
                if tick == warn_at:
                    # Early warning: the incoming counters go to the flash now; the
                    # network record is written on every change already.
                    node.power_fail_warning()
                    warned_ram = _ram(node)
                    rig.flash.cut_now()
                    break
        except OSError:
            if not rig.dead():
                raise
        res["cuts"] += 1
        res["warned_cuts"] += 1 if warned else 0
        res["key_switches"] += 1 if node.st.key_seq != seq0 else 0
        for name in log.pending:
            res["cut_" + name] += 1  # a save of this record was under way at the cut
        res["net_saves"] += node.store.net_saves
        res["counter_saves"] += node.store.counter_saves
        res["accepted_from_devices"] += node.nwk.rx_accepted - accepted0
        sim_us += rig.t
        rig.kill_coordinator()
        # Outage: the devices run on (and rejoin when it lasts).
        outage = 10 + rng.below(90) if rng.below(8) == 0 else 0.05 + rng.below(300) / 100
        rig.run(outage)
    res["errors"] = log.errors
    res["frames_on_air"] = rig.air.frames
    res["undecrypted_frames"] = rig.air.unopened
    res["simulated_hours"] = round(rig.t / 3600e6, 2)
    res["counter_reuse"] += rig.air.reuse
    res["coord_nwk_counter"] = rig.air.nwk_max.get(COORD_EXT, -1)
    res["coord_aps_counter"] = rig.air.aps_max.get(COORD_EXT, -1)
    for text in rig.air.notes:
        _note(res, text)
    res["runtime"] = runtime
    return res


def micropython_main(argv):
    print(_json(campaign(int(_arg(argv, "--cuts", "100")), int(_arg(argv, "--seed", "1")),
                         "micropython")))


def _passed(result):
    return all(result[k] == 0 for k in FAILURES) and result["errors"] == 0


def cpython_main(argv=None):
    from tools.powercut import host_main

    return host_main("python -m tools.powercut_han", None, __file__, campaign, _passed, argv)


if __name__ == "__main__":
    if IS_MICROPYTHON:
        micropython_main(sys.argv)
    else:
        sys.exit(cpython_main())
