# A HAN session on the simulated medium (tools/han/sim.py, firmware/han/radio_sim.py):
# coordinator + 10 devices, one of them sleepy (indirect transmission), at the documented
# traffic level (docs/han.md: each device reports every 0.2 s on average, 24-byte payloads,
# ~55 data frames/s on one channel) with real contention; the capture is checked with
# tshark: every frame dissected, no Malformed, every FCS valid, and with the key the
# decrypted payloads visible. Tier 1 only.
import json
import subprocess
import sys

import pytest

from han.pcap import LINKTYPE_IEEE802_15_4_TAP
from tools.han import sim

KEY_OPTION = 'uat:ieee802154_keys:"%s","1","No hash"' % sim.NETWORK_KEY.hex().upper()


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    pcap = str(tmp_path_factory.mktemp("han") / "session.pcap")
    result = sim.run(devices=10, seconds=60, pcap=pcap, seed=1, period_s=0.2, sleepy=1)
    return result, pcap


def test_pdr_with_contention(session):
    r, _ = session
    assert r["sent"] > 3000
    assert r["collisions"] > 0 and r["retries"] > 0  # there is contention
    assert r["pdr"] >= 0.99, r
    assert r["indirect_sent"] >= 50
    assert r["indirect_delivered"] >= 0.99 * r["indirect_sent"], r
    assert r["security_errors"] == 0


def _tshark(pcap, *args):
    return subprocess.run(["tshark", "-r", pcap] + list(args), capture_output=True,
                          text=True, check=True).stdout


def test_tshark_dissects_everything(session):
    r, pcap = session
    verbose = _tshark(pcap, "-V", "-o", KEY_OPTION)
    assert "Malformed" not in verbose and "Bad FCS" not in verbose
    fcs = _tshark(pcap, "-T", "fields", "-e", "wpan.fcs_ok").split()
    assert len(fcs) == r["pcap_frames"] == r["frames_on_air"]
    assert set(fcs) == {"1"}


def test_tshark_decrypts_with_the_key(session):
    r, pcap = session
    rows = _tshark(pcap, "-o", KEY_OPTION, "-T", "fields", "-e", "wpan.security",
                   "-e", "data.data").splitlines()
    secured = [row for row in rows if row.startswith("1")]
    assert len(secured) > 3000
    # Every secured frame shows its plaintext: our payloads start with 0x3F, sender, counter.
    assert all(row.split("\t")[1].startswith("3f") for row in secured)
    # Without the key the same frames show only ciphertext.
    rows = _tshark(pcap, "-T", "fields", "-e", "wpan.security", "-e", "data.data").splitlines()
    plain = [row for row in rows if row.startswith("1") and row.split("\t")[1].startswith("3f")]
    assert len(plain) < len(secured) // 50


def test_tap_linktype_carries_channel_rssi_lqi(tmp_path):
    pcap = str(tmp_path / "tap.pcap")
    sim.run(devices=3, seconds=2, pcap=pcap, seed=2, linktype=LINKTYPE_IEEE802_15_4_TAP)
    out = _tshark(pcap, "-T", "fields", "-e", "wpan-tap.ch_num", "-e", "wpan-tap.rss",
                  "-e", "wpan-tap.lqi", "-e", "wpan.fcs_ok").splitlines()
    assert out
    for line in out:
        ch, rss, lqi, ok = line.split("\t")
        assert ch == str(sim.CHANNEL) and -100 < float(rss) < 0 and 0 <= int(lqi) <= 255
        assert ok == "1"


def test_cli_prints_the_figures(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tools.han", "sim", "--devices", "3",
                          "--seconds", "3", "--pcap", str(tmp_path / "c.pcap"), "--seed", "4",
                          "--json"], capture_output=True, text=True, check=True).stdout
    r = json.loads(out)
    for k in ("sent", "delivered", "pdr", "retries", "collisions", "indirect_delivered"):
        assert k in r
    assert r["delivered"] <= r["sent"] and 0 < r["pdr"] <= 1
