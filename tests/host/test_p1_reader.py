"""tools.p1: the host P1 reader, on captures of other vendors' meters (the dsmr_parser
vectors), on our own telegrams in every profile, on a damaged stream and live on a pty."""
import io
import json
import os
import threading
import time

import pytest

from hal.clock import FakeClock
from hal.sim import SimPin, SimUART
from h1 import profiles
from h1.crypt import FrameEncryptor
from h1.push import P1Push
from p1_simsource import SimSource
from registers.counters import RamCounterStore
from tools import p1

VECTORS = "tests/vectors/p1/"
VENDOR_TELEGRAMS = ["telegram_v5", "telegram_v4_2", "telegram_fluvius_v171",
                    "telegram_fluvius_v171_alt", "telegram_iskra_ie",
                    "telegram_sagemcom_t210_d_r", "telegram_unpadded_crc",
                    "telegram_v5_eon_hu", "telegram_v5_two_mbus"]
KEY = "0123456789ABCDEF0123456789ABCDEF"


def read_json(path, *extra):
    out = io.StringIO()
    status = p1.main(["read", path, "--json"] + list(extra), out=out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    return status, records[:-1], records[-1]


def vector(name):
    with open(VECTORS + name + ".txt", "rb") as f:
        return f.read()


@pytest.mark.parametrize("name", VENDOR_TELEGRAMS)
def test_vendor_captures(tmp_path, name):
    path = tmp_path / "capture.bin"
    path.write_bytes(vector(name))
    status, records, summary = read_json(str(path))
    assert status == 0 and len(records) == 1 and summary["garbage_bytes"] == 0
    assert records[0]["crc"] == "ok" and records[0]["values"]


def test_damaged_stream(tmp_path):
    good = vector("telegram_v5")
    bad = bytearray(vector("telegram_fluvius_v171"))
    bad[200] ^= 0x01  # a digit of a value
    cut = vector("telegram_v4_2")[:300]
    glued = vector("telegram_v5_two_mbus").rstrip(b"\r\n")  # next header right after CRC
    stream = (b"\x00\xffnoise" + good + bytes(bad) + cut + glued + vector("telegram_iskra_ie")
              + good[:100])
    path = tmp_path / "damaged.bin"
    path.write_bytes(stream)
    status, records, summary = read_json(str(path))
    assert status == 1
    kinds = [(r["kind"], r.get("crc")) for r in records]
    assert kinds == [("telegram", "ok"), ("telegram", "bad"), ("partial", None),
                     ("telegram", "ok"), ("telegram", "ok")]
    assert records[3]["profile"] == "nl" and records[1]["profile"] == "be"
    assert summary["garbage_bytes"] == 7 and summary["pending_bytes"] == 100


def push_output(profile, seconds, encryptor=None):
    clock = FakeClock(utc=0)
    clock.advance_ms(1735682330 * 1000 + 500)
    uart = SimUART()
    push = P1Push(uart, SimPin(1), clock, profiles.by_name(profile), SimSource(1735682330),
                  encryptor=encryptor)
    for _ in range(seconds * 100):
        push.step()
        clock.advance_ms(10)
    return uart.written()


@pytest.mark.parametrize("profile", [p.name for p in profiles.PROFILES])
def test_our_push_in_every_profile(tmp_path, profile):
    path = tmp_path / "p1.bin"
    path.write_bytes(push_output(profile, 21))
    status, records, summary = read_json(str(path), "--profile", profile, "--min-telegrams", "3")
    assert status == 0 and summary["garbage_bytes"] == 0 and summary["pending_bytes"] == 0
    expected = 21 if profiles.by_name(profile).period_s == 1 else 3
    assert len(records) == expected
    assert all(r["crc"] == "ok" and r["ok"] for r in records)


def test_encrypted_push_needs_and_uses_the_key(tmp_path):
    enc = FrameEncryptor(bytes.fromhex(KEY), b"MPYH1SIM", RamCounterStore(), 4000)
    path = tmp_path / "lu.bin"
    path.write_bytes(push_output("lu", 25, enc))
    status, records, _ = read_json(str(path), "--key", KEY)
    assert status == 0 and [r["frame_counter"] for r in records] == [0, 1, 2]
    assert all(r["authenticated"] and r["crc"] == "ok" for r in records)
    assert records[0]["profile"] == "lu"
    assert records[0]["system_title"] == b"MPYH1SIM".hex().upper()
    assert "ELECTRICITY_IMPORTED_TOTAL" in records[0]["values"]
    status, records, _ = read_json(str(path))  # no key: reported, not decoded
    assert status == 1 and all(not r["ok"] for r in records)
    status, records, _ = read_json(str(path), "--key", "00" * 16)
    assert status == 1 and not records[0]["authenticated"]


def test_smarty_vector(tmp_path):
    status, records, _ = read_json(VECTORS + "smarty_encrypted_packet.bin", "--key", "AA" * 16)
    assert status == 0 and records[0]["frame_counter"] == 0x10000001
    assert records[0]["authenticated"] and records[0]["crc"] == "ok"


def test_live_on_a_pty_measures_the_period():
    master, slave = os.openpty()
    telegram = vector("telegram_v5")

    def meter():
        time.sleep(0.5)  # let the reader open the port first
        for _ in range(6):
            # Split writes: a reader must reassemble telegrams across reads.
            os.write(master, telegram[:333])
            time.sleep(0.01)
            os.write(master, telegram[333:])
            time.sleep(0.19)

    writer = threading.Thread(target=meter)
    out = io.StringIO()
    writer.start()
    status = p1.main(["read", os.ttyname(slave), "--json", "--seconds", "2.2"], out=out)
    writer.join()
    os.close(master)
    os.close(slave)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    summary = records[-1]
    assert status == 0 and summary["kinds"] == {"telegram": 6}
    period = summary["period"]
    assert period["intervals"] == 5 and 0.15 < period["mean_s"] < 0.3
    assert period["jitter_stdev_s"] < 0.05
