"""Write a meter's provisioning record (identity and keys, firmware/app/provision.py).

    python -m tools.provision --file device.json --port /dev/ttyUSB0 [--board esp32c6]
    python -m tools.provision --file device.json --out record.bin      (no board: the bytes)
    python -m tools.provision --file device.json --hex                  (print them as hex)

device.json holds the fields by name; binary fields are hex strings, text fields plain:

    {"serial": "MTR-000123", "p1_equipment_id": "E0043007123456789",
     "system_title": "4D50590000000123", "han_eui64": "0004A30B00C0FFEE",
     "han_install_code": "83FED3407A939723A5C639B26916D505",
     "p1_key": "000102030405060708090A0B0C0D0E0F",
     "config_key": "<32..128 hex digits>", "han_network_key": "<32 hex digits>",
     "wifi_ssid": "home", "wifi_psk": "a WPA2 passphrase", "ntp_server": "pool.ntp.org",
     "ota_key": "<32..128 hex digits: the HAN firmware images' signing key>"}

Only "serial" is required. An install code given without its CRC (6, 8, 12 or 16 octets)
gets its CRC-16/X-25 appended; one given with it must match. The record is validated here
and again on the board, which refuses it whole if any field is wrong.

With --port the record goes onto the board with mpremote: the running firmware is
interrupted, app.provision.install() writes the record into the meter's record store on
its flash, and the board is soft-reset so that the meter starts with its identity. The emulated
board takes the same path over its console pty (make run provisions it by itself).
"""

import argparse
import json
import os
import subprocess
import sys

from tools import fwpath

fwpath.setup()

from app import provision  # noqa: E402
from native.crc16 import crc16_x25  # noqa: E402

MPREMOTE = os.path.join(fwpath.ROOT, ".venv", "bin", "mpremote")
_TEXT = ("serial", "p1_equipment_id", "wifi_ssid", "wifi_psk", "ntp_server")
_CODE_LENGTHS = (6, 8, 12, 16)


def with_crc(code):
    """An install code with its CRC-16/X-25 (little endian) appended when it has none."""
    if len(code) in _CODE_LENGTHS:
        crc = crc16_x25(code)
        return code + bytes((crc & 0xFF, crc >> 8))
    return code


def from_json(doc):
    """A validated Provisioning from the JSON document's dict; ValueError names the field."""
    if not isinstance(doc, dict):
        raise ValueError("the provisioning file must hold one JSON object")
    fields = {}
    for name, value in doc.items():
        if name not in provision._NAMES:
            raise ValueError("unknown field %r (known: %s)"
                             % (name, ", ".join(sorted(provision._NAMES))))
        if not isinstance(value, str):
            raise ValueError("%s: a string is expected" % name)
        if name in _TEXT:
            data = value.encode("utf-8" if name == "wifi_ssid" else "ascii", "strict")
        else:
            try:
                data = bytes.fromhex(value)
            except ValueError:
                raise ValueError("%s: not a hex string" % name) from None
            if name == "han_install_code":
                data = with_crc(data)
        fields[name] = data
    return provision.Provisioning(**fields)


def load_file(path):
    with open(path) as f:
        return from_json(json.load(f))


def board_script(record):
    """What runs on the board (MicroPython) to install the record."""
    return ("import board, binascii, app.provision as p\n"
            "print('provisioned:', p.install(board, binascii.unhexlify(%r)))\n"
            % record.hex())


def install_over_mpremote(port, record, mpremote=MPREMOTE):
    # A soft reset afterwards: the board runs boot.py/main.py again, with its identity.
    proc = subprocess.run([mpremote, "connect", port, "exec", board_script(record),
                           "soft-reset"], capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    if proc.returncode != 0 or "provisioned:" not in out:
        raise RuntimeError("the board refused the record:\n" + out.strip())
    return out.strip()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tools.provision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--file", required=True, help="device.json with the fields")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port of the board (mpremote)")
    where.add_argument("--out", help="write the binary record to this file")
    where.add_argument("--hex", action="store_true", help="print the record as hex")
    args = parser.parse_args(argv)
    try:
        prov = load_file(args.file)
    except (OSError, ValueError) as e:
        print("provision: %s: %s" % (args.file, e), file=sys.stderr)
        return 2
    record = prov.encode()
    if args.hex:
        print(record.hex())
    elif args.out:
        with open(args.out, "wb") as f:
            f.write(record)
        print("provision: %d bytes, %s -> %s" % (len(record), prov.summary(), args.out))
    else:
        try:
            print(install_over_mpremote(args.port, record))
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
            print("provision: %s" % e, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
