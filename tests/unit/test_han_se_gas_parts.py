# The parts of the gas meter role and of the hub's gas relay without a network: the
# simulated register (han/se/gasreg.py: a pure function of time from its anchor, never
# backwards, kept in the record store), the hub's relay (han/se/gasrelay.py: units read
# once, converted with the device's own Multiplier and Divisor, nothing assumed), and the
# meter's report frame (han/se/gasmeter.py), built without allocation. Frames and values
# worked by hand from ZCL 07-5123 and SE 1.4. Portable: tiers 1 and 2.
from hal.clock import FakeClock
from han import radio_sim
from han.node import HanNode
from han.se.gasmeter import GasMeter
from han.se.gasreg import GasRegister, day_factor
from han.se.gasrelay import GasRelay
from registers.memfs import MemoryFs
from registers.store import RecordStore
from support import NoAllocation, raises
from test_han_se_gas import CODE, EQUIPMENT_ID, SEED, Scenario, day_k

T0 = 1795694400  # 2026-11-26 12:00:00 UTC (13:00 CET)
EPOCH2000 = 946684800


def cet(utc):
    return utc + 3600


def test_register_follows_the_scenario_and_is_a_pure_function_of_time():
    r = GasRegister(None, 1000, SEED)
    assert r.advance(T0, cet) == 1000 and r.utc == T0  # anchored, nothing counted
    one = GasRegister(None, 1000, SEED)
    one.advance(T0, cet)
    s = Scenario(T0, 1000)
    t = T0
    # Odd steps across hour and day boundaries give what one step gives.
    for step in (1, 7, 599, 3001, 3600, 86399, 13, 40000):
        t += step
        assert r.advance(t, cet) == s.at(t)
    assert one.advance(t, cet) == r.litres and one.ml == r.ml
    # Never backwards.
    assert r.advance(t - 500, cet) == s.at(t) and r.utc == t


def test_register_an_hour_by_hand():
    # 06:00-07:00 UTC is 07:00-08:00 CET: 260 ml/s x k/8 for 3 600 s.
    start = T0 + 18 * 3600  # 2026-11-27 06:00 UTC
    r = GasRegister(None, 0, SEED)
    r.advance(start, cet)
    k = day_k(SEED, cet(start) // 86400)
    assert r.advance(start + 3600, cet) == 260 * k // 8 * 3600 // 1000
    assert day_factor(SEED, 12345) == day_k(SEED, 12345)
    # Seeded days differ: every factor 6..10 appears within 60 days.
    assert sorted(set(day_factor(SEED, d) for d in range(20000, 20060))) == [6, 7, 8, 9, 10]


def test_register_is_kept_in_the_record_store():
    store = RecordStore(MemoryFs())
    r = GasRegister(store, 5000, SEED)
    assert not r.load()
    r.advance(T0, cet)  # the anchor is saved
    r.advance(T0 + 1800, cet)  # not yet: once an hour
    assert r.saves == 1
    r.advance(T0 + 3700, cet)
    assert r.saves == 2
    again = GasRegister(store, 0, SEED)
    assert again.load() and (again.litres, again.ml, again.utc) == (r.litres, r.ml, r.utc)
    r.advance(T0 + 5000, cet)
    again.advance(T0 + 5000, cet)
    assert again.litres == r.litres == Scenario(T0, 5000).at(T0 + 5000)
    raises(ValueError, GasRegister, None, 100000000)
    raises(ValueError, GasRegister, None, 0, 1, (1,) * 23)


def _report(seq, litres, capture, serial=None):
    # Report Attributes (fc 0x18), CurrentSummationDelivered uint48, ReadingSnapShotTime
    # UTC, [MeterSerialNumber octet string].
    f = bytes([0x18, seq, 0x0A]) + b"\x00\x00\x25" + litres.to_bytes(6, "little") \
        + b"\x07\x00\xe2" + (capture - EPOCH2000).to_bytes(4, "little")
    if serial is not None:
        f += b"\x08\x03\x41" + bytes([len(serial)]) + serial
    return f


def _units(seq, uom=1, mult=1, div=1000, dtype=1, serial=EQUIPMENT_ID):
    # Read Attributes Response (fc 0x18, cmd 0x01): records id, status, type, value;
    # None: UNSUPPORTED_ATTRIBUTE (0x86).
    f = bytes([0x18, seq, 0x01])
    for a, t, v, n in ((0x0300, 0x30, uom, 1), (0x0301, 0x22, mult, 3),
                       (0x0302, 0x22, div, 3), (0x0306, 0x18, dtype, 1)):
        f += a.to_bytes(2, "little")
        f += b"\x86" if v is None else bytes([0, t]) + v.to_bytes(n, "little")
    f += b"\x08\x03\x00\x41" + bytes([len(serial)]) + serial
    return f


class Relay:
    def __init__(self):
        self.sent = []
        self.got = []
        self.relay = GasRelay(self.on_gas, self.send)

    def on_gas(self, litres, capture, ident):
        self.got.append((litres, capture, bytes(ident)))
        return True

    def send(self, dst, dst_ep, payload, n, now):
        self.sent.append((dst, dst_ep, bytes(payload[:n])))
        return 1

    def report(self, frame, src=0x0005):
        self.relay.report(src, 1, frame, 3, len(frame), 0)

    def answer(self, frame, src=0x0005):
        return self.relay.read_response(src, frame[1], frame, 3, len(frame), 0)


def test_relay_reads_the_units_once_and_converts_with_them():
    x = Relay()
    x.report(_report(1, 1234567, T0, EQUIPMENT_ID))
    # Nothing relayed yet; a Read Attributes (fc 0x00, seq 0x81) of UnitOfMeasure,
    # Multiplier, Divisor, MeteringDeviceType, MeterSerialNumber to the reporter.
    assert x.got == []
    assert x.sent == [(0x0005, 1, bytes.fromhex("00" "81" "00" "0003" "0103" "0203"
                                                "0603" "0803"))]
    assert x.answer(_units(0x81))
    assert x.got == [(1234567, T0, EQUIPMENT_ID)]
    x.report(_report(2, 1234600, T0 + 300))
    assert x.got[-1] == (1234600, T0 + 300, EQUIPMENT_ID) and len(x.sent) == 1
    # Another device in 10-litre units (Divisor 100) and a Multiplier of 5: 777 x 5 x
    # 1000 / 100 = 38 850 litres.
    x.report(_report(1, 777, T0 + 10), src=0x0007)
    assert x.sent[-1][0] == 0x0007 and x.answer(_units(0x82, mult=5, div=100), src=0x0007)
    assert x.got[-1] == (38850, T0 + 10, EQUIPMENT_ID)
    # Rounded down: Divisor 3 (a third of a m3): 10 x 1000 / 3 = 3 333.33 -> 3 333.
    x.report(_report(1, 10, T0 + 20), src=0x0009)
    x.answer(_units(0x83, div=3), src=0x0009)
    assert x.got[-1] == (3333, T0 + 20, EQUIPMENT_ID)
    # An answer nobody asked for (wrong sequence) is not ours.
    assert not x.answer(_units(0x99))


def test_a_units_read_the_aps_layer_refused_is_asked_again_by_step():
    # The hub's APS layer full when the first reading came: the read is not sent; the
    # hub's step asks again (within 50 ms) rather than leaving the reading to be replaced
    # by the meter's next report (it would never reach P1).
    x = Relay()
    refuse = [True]

    def send(dst, dst_ep, payload, n, now):
        if refuse[0]:
            return 0
        return Relay.send(x, dst, dst_ep, payload, n, now)
    x.relay.send = send
    x.report(_report(1, 1234567, T0, EQUIPMENT_ID))
    assert x.sent == [] and x.relay.step(0) == 50000  # still refused: call again soon
    refuse[0] = False
    assert x.relay.step(0) == -1 and len(x.sent) == 1  # the read went out
    assert x.relay.step(0) == -1 and len(x.sent) == 1  # in flight: not sent twice
    assert x.answer(_units(x.sent[0][2][1]))
    assert x.got == [(1234567, T0, EQUIPMENT_ID)]


def test_relay_assumes_nothing():
    x = Relay()
    # A summation without its capture time is no reading: nothing read, nothing relayed.
    f = bytes.fromhex("18" "01" "0a" "0000" "25" "0a0000000000")
    x.report(f)
    assert x.sent == [] and x.got == []
    # Multiplier unsupported: the device does not say its units; never relayed.
    x.report(_report(2, 1000, T0))
    x.answer(_units(0x81, mult=None))
    x.report(_report(3, 1001, T0 + 300))
    assert x.got == [] and x.relay.no_units == 2 and len(x.sent) == 1
    # kWh, or an electricity meter: not gas.
    for src, kw in ((0x0010, dict(uom=0)), (0x0011, dict(dtype=0))):
        x.report(_report(1, 5, T0), src=src)
        x.answer(_units(x.sent[-1][2][1], **kw), src=src)
    assert x.got == [] and x.relay.not_gas == 2
    # A report naming another meter on an address: its units are read again.
    x.report(_report(1, 50, T0), src=0x0012)
    x.answer(_units(x.sent[-1][2][1]), src=0x0012)
    assert x.got == [(50, T0, EQUIPMENT_ID)]
    n = len(x.sent)
    x.report(_report(2, 3, T0 + 300, b"G9"), src=0x0012)
    assert len(x.sent) == n + 1 and len(x.got) == 1
    x.answer(_units(x.sent[-1][2][1], serial=b"G9"), src=0x0012)
    assert x.got[-1] == (3, T0 + 300, b"G9")


def test_relay_reads_litres_and_the_bcd_forms():
    # UnitOfMeasure 0x07 (litres) and the BCD forms 0x81 (m3) and 0x87 (litres), SE 1.4
    # D.3.2.2.4.1: each nibble of the summation a decimal digit. By hand: m3 BCD with
    # Divisor 1000, raw 0x1234567 -> 1 234.567 m3 = 1 234 567 L; litres BCD, Multiplier 10,
    # raw 0x4321 -> 43 210 L; binary litres 98 765 with Divisor 1 -> 98 765 L.
    x = Relay()
    for src, raw, kw, litres in ((0x0020, 0x1234567, dict(uom=0x81), 1234567),
                                 (0x0021, 0x4321, dict(uom=0x87, mult=10, div=1), 43210),
                                 (0x0022, 98765, dict(uom=0x07, div=1), 98765)):
        x.report(_report(1, raw, T0, EQUIPMENT_ID), src=src)
        x.answer(_units(x.sent[-1][2][1], **kw), src=src)
        assert x.got[-1] == (litres, T0, EQUIPMENT_ID), (hex(raw), kw)
    # A nibble above 9 in a BCD summation is no reading.
    n = len(x.got)
    x.report(_report(2, 0x12345A7, T0 + 300), src=0x0020)
    assert len(x.got) == n and x.relay.not_bcd == 1
    # Cubic feet (0x02) and its BCD form are not what P1 prints: not relayed.
    for src, uom in ((0x0023, 0x02), (0x0024, 0x82)):
        x.report(_report(1, 5, T0), src=src)
        x.answer(_units(x.sent[-1][2][1], uom=uom), src=src)
    assert len(x.got) == n and x.relay.not_gas == 2


class _Slots:
    def __init__(self):
        self.v = [0, 0]

    def on_gas(self, litres, capture, ident):
        self.v[0] = litres
        self.v[1] = capture
        return True


def test_relay_and_report_building_allocate_nothing_after_warm_up():
    keep = _Slots()
    relay = GasRelay(keep.on_gas, lambda dst, ep, p, n, now: 1)
    frame = bytearray(_report(1, 1234567, T0, EQUIPMENT_ID))
    relay.report(5, 1, frame, 3, len(frame), 0)
    rsp = _units(0x81)
    relay.read_response(5, 0x81, rsp, 3, len(rsp), 0)
    frame = bytearray(_report(2, 1234999, T0 + 300))
    n = len(frame)
    with NoAllocation():
        relay.report(5, 1, frame, 3, n, 0)
    assert keep.v == [1234999, T0 + 300]
    g = GasMeter(FakeClock(), None, EQUIPMENT_ID)
    g.reading.litres = 1234567
    g.reading.utc = T0
    out = bytearray(64)
    g.build_report(out, True)
    with NoAllocation():
        n1 = g.build_report(out, True)
        n2 = g.build_report(out, False)
    # fc 0x18, seq 3 (the third frame), Report Attributes; 0x0000 uint48 1 234 567 =
    # 0x12D687; 0x0007 UTC T0 - 2000-01-01 = 849 009 600 = 0x329ADBC0; (only in the
    # first) 0x0308 octet string of the 17-octet identifier.
    assert n2 == 19 and out[:n2] == bytes.fromhex("18" "03" "0a" "0000" "25" "87d612000000"
                                                  "0700" "e2" "c0db9a32")
    assert n1 == 19 + 4 + len(EQUIPMENT_ID)


def test_gas_meter_refuses_what_it_cannot_be():
    c = FakeClock()
    raises(ValueError, GasMeter, c, None, b"")
    raises(ValueError, GasMeter, c, None, b"X" * 25)  # MeterSerialNumber: 24 octets
    raises(ValueError, GasMeter, c, None, EQUIPMENT_ID, report_s=5)
    raises(ValueError, GasMeter, c, None, EQUIPMENT_ID, poll_ms=7680)  # > persistence
    g = GasMeter(c, None, EQUIPMENT_ID)
    assert g.router.simple_descriptors() == [
        (1, 0x0109, 0x0501, 1, [0x0000, 0x0003, 0x0702], [0x000A])]
    # Battery powered (Basic PowerSource 0x03); gas (MeteringDeviceType 1); m3, Divisor
    # 1000, F8(3,3); the identifier as MeterSerialNumber.
    basic = g.router.servers[(1, 0x0000)]
    assert basic.attr(0x0007).get() == 0x03
    m = g.metering
    assert [m.attr(a).get() for a in (0x0306, 0x0300, 0x0301, 0x0302, 0x0303)] == \
        [1, 1, 1, 1000, 0x2B]
    assert m.attr(0x0308).get() == EQUIPMENT_ID
    radio = radio_sim.SimRadio(radio_sim.Medium(seed=1), (0.0, 0.0), 26)
    raises(ValueError, HanNode, radio, c, "gas", b"\x00\x04\xa3\x0b\x00\x47\xa5\x01",
           RecordStore(MemoryFs()), radio_sim.make_rng(1).getrandbits, install_code=CODE)
