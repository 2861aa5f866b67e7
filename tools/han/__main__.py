"""python -m tools.han sim --devices N --seconds S --pcap FILE [--seed S] [--json] [--associate]
python -m tools.han se-day [--hours 24] [--displays 3] [--gas-report-s 300] [--seed N] [--json]
python -m tools.han medium --listen PATH [--seconds S] [--pcap FILE] [--seed S] [--json]
python -m tools.han sniff --medium PATH --channel N --pcap FILE [--seconds S] [--json]
python -m tools.han install-code HEX [--json]
python -m tools.han decode CAPTURE [--key HEX ...] [--install-code HEX ...] [--json]"""
import argparse
import json
import sys

from tools.han import sim


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tools.han")
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sim", help="coordinator + N devices on the simulated medium")
    s.add_argument("--devices", type=int, default=None,
                   help="end devices (default 10; 3 with --associate)")
    s.add_argument("--seconds", type=float, default=60.0)
    s.add_argument("--pcap", help="write every transmission to this pcap file")
    s.add_argument("--linktype", type=int, choices=(195, 283), default=195)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--period", type=float, default=sim.DEVICE_PERIOD_S,
                   help="seconds between a device's reports (mean)")
    s.add_argument("--sleepy", type=int, default=1, help="how many devices sleep and poll")
    s.add_argument("--loss", type=float, default=0.0, help="base loss probability per frame")
    s.add_argument("--json", action="store_true")
    s.add_argument("--associate", action="store_true",
                   help="start unassociated: scans, association, secured traffic, orphan "
                        "rejoin, disassociation (tools/han/assoc_sim.py; --devices default 3)")
    m = sub.add_parser("medium", help="the simulated medium as a server for nodes in other "
                                      "processes (emulated boards' UART2, host nodes)")
    m.add_argument("--listen", required=True, metavar="PATH", help="unix socket to listen on")
    m.add_argument("--seconds", type=float, default=None, help="default: until Ctrl-C")
    m.add_argument("--pcap", help="write every transmission to this pcap file")
    m.add_argument("--linktype", type=int, choices=(195, 283), default=195)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--spacing", type=float, default=3.0, help="metres between nodes")
    m.add_argument("--json", action="store_true", help="print a JSON summary at the end")
    n = sub.add_parser("sniff", help="a sniffer node on a medium server: every frame heard on "
                                     "a channel, to a pcap (firmware/han/sniffer.py)")
    n.add_argument("--medium", required=True, metavar="PATH", help="the medium's socket")
    n.add_argument("--channel", type=int, required=True)
    n.add_argument("--pcap", required=True)
    n.add_argument("--linktype", type=int, choices=(195, 283), default=283)
    n.add_argument("--seconds", type=float, default=None, help="default: until Ctrl-C")
    n.add_argument("--json", action="store_true")
    ic = sub.add_parser("install-code", help="install code (6, 8, 12 or 16 octets, with or "
                                             "without its CRC-16/X-25) -> link key, "
                                             "key-transport key, key-load key")
    ic.add_argument("code", metavar="HEX", help="hex octets; spaces, ':' and '-' allowed")
    ic.add_argument("--json", action="store_true")
    from tools.han import decode  # python -m tools.han decode CAPTURE [--key HEX] ...

    decode.add_parser(sub)
    from tools.han import se_day_cli  # python -m tools.han se-day: a simulated day (issue 12)

    se_day_cli.add_parser(sub)
    a = ap.parse_args(argv)
    if a.command == "decode":
        return decode.run(a)
    if a.command == "se-day":
        return se_day_cli.main(a)
    if a.command == "install-code":
        return _install_code(a)
    if a.command == "medium":
        return _medium(a)
    if a.command == "sniff":
        return _sniff(a)
    if a.associate:
        from tools.han import assoc_sim
        devices = 3 if a.devices is None else a.devices
        result = assoc_sim.run(devices=devices, sleepy=a.sleepy, pcap=a.pcap, seed=a.seed,
                               linktype=a.linktype, seconds=a.seconds)
    else:
        devices = 10 if a.devices is None else a.devices
        result = sim.run(devices=devices, seconds=a.seconds, pcap=a.pcap, seed=a.seed,
                         period_s=a.period, sleepy=a.sleepy, base_loss=a.loss,
                         linktype=a.linktype)
    _show(result, a.json)
    return 0


def _show(result, as_json):
    if as_json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print("%-20s %s" % (k, v))


def _medium(a):
    from tools.han.medium_server import MediumServer

    server = MediumServer(a.listen, seed=a.seed, pcap=a.pcap, linktype=a.linktype,
                          spacing=a.spacing)
    if not a.json:
        print("medium listening on %s" % a.listen, flush=True)
    try:
        server.serve(a.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    result = server.summary()
    _show(result, a.json)
    return 0


def _sniff(a):
    import time

    from tools.han.medium_server import SocketStream  # sets up the firmware path
    from hal.clock import SystemClock
    from han.radio_bridge import BridgeRadio
    from han.sniffer import Sniffer

    clock = SystemClock(utc_at_boot=int(time.time()))
    with open(a.pcap, "wb") as f:
        sniffer = Sniffer(BridgeRadio(SocketStream(a.medium)), f, clock, a.channel,
                          a.linktype)
        sniffer.start()
        end = None if a.seconds is None else time.monotonic() + a.seconds
        try:
            while end is None or time.monotonic() < end:
                sniffer.step()
                time.sleep(0.002)
        except KeyboardInterrupt:
            pass
        sniffer.stop()
    result = {"frames": sniffer.frames, "channel": a.channel, "pcap": a.pcap}
    print(json.dumps(result) if a.json else "sniffed %d frames on channel %d into %s" % (
        sniffer.frames, a.channel, a.pcap))
    return 0


def _install_code(a):
    from tools import fwpath

    fwpath.setup()
    from han.tc import keys
    from native.crc16 import crc16_x25

    text = a.code.strip()
    for sep in (" ", ":", "-"):
        text = text.replace(sep, "")
    if text[:2].lower() == "0x":
        text = text[2:]
    try:
        code = bytes.fromhex(text)
    except ValueError:
        print("install-code: not hex: %r" % a.code, file=sys.stderr)
        return 2
    n = len(code)
    # BDB 10.1: 6, 8, 12 or 16 octets, then the CRC-16/X-25 little endian. With and without
    # the CRC the lengths overlap only at 8 (6+2 or a bare 8): 8 octets are taken as a 6-octet
    # code with its CRC when the last two octets are the CRC of the first six, else as bare.
    bare = {6, 8, 12, 16}
    with_crc = set(keys.INSTALL_CODE_LENGTHS)
    if n in with_crc and (n not in bare or _crc_ok(code, crc16_x25)):
        full = code
    elif n in bare:
        crc = crc16_x25(code)
        full = code + bytes((crc & 0xFF, crc >> 8))
    else:
        print("install-code: %d octets; need 6, 8, 12 or 16 (+2 for the CRC)" % n,
              file=sys.stderr)
        return 2
    try:
        link = keys.install_code_link_key(full)
    except ValueError as e:
        crc = crc16_x25(full[:-2])
        print("install-code: %s (given %s, computed %02X%02X)" % (
            e, full[-2:].hex().upper(), crc & 0xFF, crc >> 8), file=sys.stderr)
        return 2
    result = {"install_code": full.hex().upper(), "crc": full[-2:].hex().upper(),
              "link_key": link.hex().upper(),
              "key_transport_key": keys.key_transport_key(link).hex().upper(),
              "key_load_key": keys.key_load_key(link).hex().upper()}
    _show(result, a.json)
    return 0


def _crc_ok(code, crc16_x25):
    return crc16_x25(code[:-2]) == code[-2] | (code[-1] << 8)


if __name__ == "__main__":
    sys.exit(main())
