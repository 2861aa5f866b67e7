# The MRF24J40 driver (firmware/hal/radio/mrf24j40.py) in a HAN session: driver over the
# register-level fake chip (tests/unit/fake_mrf24j40.py), the chip a node of the
# simulated medium (han.radio_sim.Medium) next to SimRadio nodes. The MAC and roles
# (han.mac) run unchanged over it, with the chip doing CSMA-CA, ACK wait and retries.
# Session 1: an end device over the MRF24J40 scans, associates with a SimRadio
# coordinator and exchanges secured frames both ways. Session 2: the coordinator is the
# MRF24J40 (frame pending through ACKTMOUT.DRPACK) and serves a sleepy SimRadio device by
# indirect transmission and a sleepy MRF24J40 device that sleeps and wakes its chip.
# Captures are checked with Debian's tshark. Tier 1 only.
import random
import subprocess

import pytest

from fake_mrf24j40 import FakeMrf24j40
from hal.clock import FakeClock
from han import radio_sim
from han.mac import commands as cmd
from han.mac.mac import Mac
from han.mac.roles import Coordinator, EndDevice
from han.mac.security import MacSecurity
from registers.counters import RamCounterStore
from han.pcap import PcapWriter
from hal.radio.mrf24j40 import Mrf24j40
from tools.han.sim import APP_DISPATCH, COORD_EXT, KEY_INDEX, NETWORK_KEY, device_ext

KEY_OPTION = 'uat:ieee802154_keys:"%s","1","No hash"' % NETWORK_KEY.hex().upper()
CHANNEL_MASK = (1 << 15) | (1 << 20)
REPORTS = 4
SLEEPY_POLL_US = 300000


class Session:
    """A coordinator and devices, each on a SimRadio or on the MRF24J40 driver + fake."""

    def __init__(self, pcap, seed):
        self.medium = radio_sim.Medium(seed=seed)
        self.clock = FakeClock()
        self.rng = random.Random(seed)
        self.chips = []
        self.waited_us = 0
        self._file = open(pcap, "wb")
        self.writer = PcapWriter(self._file, 195)
        self.medium.sniffer = self.writer.write
        self.steppers = []
        self.t = 0  # simulated microseconds, the medium's and the clock's time

    def _sleep_us(self, us):
        # The simulation does not charge the driver's waits to the clock; they are summed.
        self.waited_us += us

    def radio(self, kind, pos):
        if kind == "sim":
            return radio_sim.SimRadio(self.medium, pos, 11), None
        chip = FakeMrf24j40(rand_bits=random.Random(self.rng.getrandbits(32)).getrandbits)
        chip.attach(self.medium, pos)
        self.chips.append(chip)
        return Mrf24j40(chip.spi, chip.cs, self._sleep_us, reset=chip.reset_pin,
                        int_pin=chip.int_pin), chip

    def mac(self, radio, ext, sleepy=False):
        sec = MacSecurity(ext, RamCounterStore())
        sec.keys.add(NETWORK_KEY, 1, KEY_INDEX)
        return Mac(radio, self.clock, ext, 0xFFFF, 0xFFFF,
                   random.Random(self.rng.getrandbits(32)).getrandbits,
                   rx_on_when_idle=not sleepy, security=sec,
                   poll_interval_us=SLEEPY_POLL_US if sleepy else 0)

    def run(self, until, seconds=12.0):
        """Step everything until until(now) is True or `seconds` more have passed."""
        t = self.t
        end = t + int(seconds * 1e6)
        while t < end:
            self.medium.advance(t)
            for chip in self.chips:
                chip.advance(t)
            now = self.clock.ticks_us()
            if until(now):
                break
            wakes = []
            for role, mac in self.steppers:
                for w in (role.step(now), mac.step(now), role.step(now)):
                    if w >= 0:
                        wakes.append(w)
            nxt = t + (min(wakes) if wakes else 1000)
            for ev in [self.medium.next_event()] + [c.next_event() for c in self.chips]:
                if ev is not None:
                    nxt = min(nxt, ev)
            nxt = min(max(nxt, t + 1), end)
            self.clock.advance_us(nxt - t)
            t = nxt
        self.t = t
        return t

    def close(self):
        self._file.close()


def _payload(kind, a, b):
    p = bytearray(24)
    p[0] = APP_DISPATCH
    p[1] = kind
    p[2] = a
    p[3] = b
    return p


def _collect(mac, into):
    def on_data(f, buf, lqi):
        into.append(bytes(buf[f.header_len:f.header_len + f.payload_len]))
    mac.on_data = on_data


def _tshark(pcap, *args):
    return subprocess.run(["tshark", "-r", pcap] + list(args), capture_output=True,
                          text=True, check=True).stdout


def _exchange(s, coord_mac, devs, got_coord, got_dev):
    """Each device sends REPORTS reports, 100 ms apart and 20 ms after the previous
    device (traffic light enough that no frame meets a busy channel five times); the
    coordinator one message to each. Returns when everything has arrived (or 30 s)."""
    sent = {"reports": 0, "messages": 0}
    for i in range(REPORTS):
        for k, d in enumerate(devs):
            now = s.clock.ticks_us()
            assert d.mac.send(d.mac.coordinator_short, _payload(0x01, k, i), 24, now)
            sent["reports"] += 1
            if i == 1:
                assert coord_mac.send(d.mac.short_addr, _payload(0x80, k, 0), 16, now,
                                      indirect=d.sleepy)
                sent["messages"] += 1
            target = now + 20000
            s.run(lambda now: s.clock.ticks_diff(now, target) >= 0, seconds=1.0)
        target = s.clock.ticks_us() + 100000
        s.run(lambda now: s.clock.ticks_diff(now, target) >= 0, seconds=1.0)
    s.run(lambda now: len(got_coord) >= sent["reports"]
          and all(len(got_dev[k]) >= 1 for k in range(len(devs))), seconds=30.0)
    return sent


def _session(tmp_path, coordinator_kind, device_kinds, seed):
    pcap = str(tmp_path / ("mrf-%s.pcap" % coordinator_kind))
    s = Session(pcap, seed)
    cradio, cchip = s.radio(coordinator_kind, (0.0, 0.0))
    cmac = s.mac(cradio, COORD_EXT)
    coord = Coordinator(cmac, CHANNEL_MASK, random.Random(seed).getrandbits)
    s.steppers.append((coord, cmac))
    coord.start(0)
    devs = []
    for k, (kind, sleepy) in enumerate(device_kinds):
        radio, chip = s.radio(kind, (3.0 + 2.0 * k, 1.0))
        mac = s.mac(radio, device_ext(k + 1), sleepy)
        dev = EndDevice(mac, CHANNEL_MASK, 0 if sleepy else cmd.CAP_RX_ON_IDLE)
        dev.sleepy = sleepy
        dev.chip = chip
        s.steppers.append((dev, mac))
        devs.append(dev)
    t = s.run(lambda now: coord.state == 3)
    for d in devs:
        d.join(s.clock.ticks_us())
    t = s.run(lambda now: all(d.associated for d in devs))
    got_coord = []
    got_dev = [[] for _ in devs]
    _collect(cmac, got_coord)
    for k, d in enumerate(devs):
        _collect(d.mac, got_dev[k])
    sent = _exchange(s, cmac, devs, got_coord, got_dev)
    s.close()
    return {"session": s, "coord": coord, "cmac": cmac, "cchip": cchip, "devs": devs,
            "got_coord": got_coord, "got_dev": got_dev, "sent": sent, "pcap": pcap, "t": t}


@pytest.fixture(scope="module")
def device_on_mrf(tmp_path_factory):
    return _session(tmp_path_factory.mktemp("mrf1"), "sim", [("mrf", False)], seed=3)


@pytest.fixture(scope="module")
def coordinator_on_mrf(tmp_path_factory):
    return _session(tmp_path_factory.mktemp("mrf2"), "mrf",
                    [("sim", True), ("mrf", True), ("sim", False)], seed=5)


def test_device_on_mrf24j40_associates_and_exchanges_secured_frames(device_on_mrf):
    r = device_on_mrf
    dev = r["devs"][0]
    assert dev.associated and 0 < dev.mac.short_addr < 0xFFFE
    assert r["coord"].channel == 15 and dev.chip.channel == 15  # the chip's RFCON0 latched
    assert dev.chip.pan_id() == r["coord"].pan_id == dev.mac.pan_id
    assert dev.chip.short_addr() == dev.mac.short_addr
    reports = {p[:4] for p in r["got_coord"]}
    assert reports == {bytes(_payload(0x01, 0, i)[:4]) for i in range(REPORTS)}
    assert [p[:4] for p in r["got_dev"][0]] == [bytes(_payload(0x80, 0, 0)[:4])]
    assert dev.mac.rx_security_errors == 0 and r["cmac"].rx_security_errors == 0
    # The chip sent the frames and acknowledged the coordinator's (association response,
    # message) by itself; nothing was lost in its single-frame RX FIFO.
    assert dev.chip.transmissions >= 1 + 1 + 1 + REPORTS  # beacon req, assoc, poll, data
    assert dev.chip.rx_overwritten == 0 and dev.chip.spi_errors == 0
    assert dev.mac.radio.rx_errors == 0


def test_coordinator_on_mrf24j40_serves_sleepy_devices(coordinator_on_mrf):
    r = coordinator_on_mrf
    devs = r["devs"]
    assert all(d.associated for d in devs)
    assert len({d.mac.short_addr for d in devs}) == 3
    assert r["cchip"].channel == r["coord"].channel and r["cchip"].short[0x00] & 0x08
    assert len(r["got_coord"]) == 3 * REPORTS
    for k in range(3):
        assert [p[:4] for p in r["got_dev"][k]] == [bytes(_payload(0x80, k, 0)[:4])]
    # Indirect messages went out after data requests acknowledged with frame pending
    # (DRPACK), and DRPACK is clear again once nothing is queued.
    assert r["cmac"].indirect_sent >= 2 and not r["cchip"].short[0x12] & 0x80
    # The sleepy device on the MRF24J40 put its chip to sleep between polls and woke it
    # for each (immediate sleep and register wake-up, 2 ms oscillator start each time).
    chip = devs[1].chip
    assert chip.sleeps >= devs[1].mac.polls >= 5 and chip.wakes >= chip.sleeps - 1
    assert r["session"].waited_us >= 2000 * chip.wakes
    # The coordinator chip's ACKs to data requests carried frame pending while a message
    # was queued (DRPACK), and only then.
    rows = _tshark(r["pcap"], "-T", "fields", "-e", "wpan.frame_type", "-e", "wpan.seq_no",
                   "-e", "wpan.cmd", "-e", "wpan.pending").splitlines()
    answers = []  # frame pending bit of the ACK that followed each data request
    for prev, row in zip(rows, rows[1:]):
        p, a = prev.split("\t"), row.split("\t")
        if p[0] == "0x0003" and p[2] == "0x04" and a[0] == "0x0002" and a[1] == p[1]:
            answers.append(a[3])
    # Three association responses and two messages were held for polling devices.
    assert 5 <= answers.count("1") <= 10 and answers.count("0") >= 15


def test_tshark_dissects_both_sessions(device_on_mrf, coordinator_on_mrf):
    for r in (device_on_mrf, coordinator_on_mrf):
        pcap = r["pcap"]
        verbose = _tshark(pcap, "-V", "-o", KEY_OPTION)
        assert "Malformed" not in verbose and "Bad FCS" not in verbose
        fcs = _tshark(pcap, "-T", "fields", "-e", "wpan.fcs_ok").split()
        assert len(fcs) == r["session"].writer.frames and set(fcs) == {"1"}
        # ACK frames the chip sent itself are on the air with the right sequence numbers.
        acks = _tshark(pcap, "-Y", "wpan.frame_type == 2", "-T", "fields", "-e", "wpan.seq_no")
        assert acks.split()
        rows = _tshark(pcap, "-o", KEY_OPTION, "-Y", "wpan.security == 1", "-T", "fields",
                       "-e", "data.data").split()
        n_secured = r["sent"]["reports"] + r["sent"]["messages"]
        assert len(rows) >= n_secured and all(row.startswith("3f") for row in rows)
