# The HAN's price table (firmware/registers/prices.py): OP_SET_PRICES's payload checked whole,
# kept in the record store through reboots and power cuts, applied through the configuration
# path. Expected octets worked by hand from the format in registers/prices.py.
# Portable: tiers 1 and 2.
from hal.clock import FakeClock
from registers import config, logs, prices
from registers.memfs import MemoryFs
from registers.meter import MeterRegisters
from registers.store import RecordStore
from support import raises

T0 = 1735689600
KEY = b"0123456789abcdef0123456789abcdef"

# provider 1 | EUR 978 = 0x03D2 | unit 0 kWh | 2 tiers |
# tier 1: digit 4, price 2345 = 0x0929 (0.2345), "Dal" | tier 2: digit 4, 2789 = 0x0AE5, "Normaal"
TWO = bytes.fromhex("01000000" "d203" "00" "02"
                    "04" "29090000" "03" "44616c"
                    "04" "e50a0000" "07" "4e6f726d61616c")
# provider 0x12345678 | SEK 752 = 0x02F0 | unit 0 | 1 tier: digit 2, 150 = 0x96 (1.50), "Enkel"
ONE = bytes.fromhex("78563412" "f002" "00" "01" "02" "96000000" "05" "456e6b656c")


def _tier(label, price=100, digit=2):
    return bytes([digit]) + price.to_bytes(4, "little") + bytes([len(label)]) + label


def _table(tiers, provider=1, currency=978, unit=0):
    return (provider.to_bytes(4, "little") + currency.to_bytes(2, "little")
            + bytes([unit, len(tiers)]) + b"".join(tiers))


def test_the_worked_example_parses_to_its_fields():
    assert len(TWO) == 30
    p = prices.parse(TWO)
    assert (p.provider_id, p.currency, p.unit) == (1, 978, 0)
    assert p.tiers == [(b"Dal", 2345, 4), (b"Normaal", 2789, 4)]
    assert p.data == TWO
    p = prices.parse(memoryview(ONE))
    assert (p.provider_id, p.currency, p.tiers) == (0x12345678, 752, [(b"Enkel", 150, 2)])
    assert _table([_tier(b"Dal", 2345, 4), _tier(b"Normaal", 2789, 4)]) == TWO


def test_limits_are_accepted():
    # 15 tiers of 12-octet labels: the largest record, 8 + 15 * 18 = 278 octets.
    tiers = [_tier(("%012d" % i).encode(), 0xFFFFFFFE, 15) for i in range(15)]
    data = _table(tiers, provider=0xFFFFFFFF, currency=999, unit=0x0D)
    assert len(data) == prices.MAX_RECORD == 278
    p = prices.parse(data)
    assert p.provider_id == 0xFFFFFFFF and p.currency == 999 and p.unit == 0x0D
    assert len(p.tiers) == 15 and p.tiers[14] == (b"000000000014", 0xFFFFFFFE, 15)
    assert prices.parse(_table([_tier(b"x", 0, 0)], currency=1)).tiers == [(b"x", 0, 0)]
    # UTF-8 of two, three and four octets: "Café", "€ 1", U+1F4A1.
    for label in (b"Caf\xc3\xa9", b"\xe2\x82\xac 1", b"\xf0\x9f\x92\xa1",
                  b"\xed\x9f\xbf", b"\xf4\x8f\xbf\xbf"):
        assert prices.parse(_table([_tier(label)])).tiers[0][0] == label


def _reason(data):
    e = raises(config.Rejected, prices.parse, data)
    return e.reason


def test_every_refusal_and_its_reason():
    M, R = config.REJECT_MALFORMED, config.REJECT_RANGE
    good = _tier(b"Dal")
    cases = [
        (b"", M), (TWO[:7], M),                                  # no header
        (_table([good], currency=0), R), (_table([good], currency=1000), R),
        (_table([good], unit=0x0E), R), (_table([good], unit=0x80), R),  # BCD form
        (_table([]), R),                                         # no tier
        (_table([good] * 16), R),                                # 16 tiers
        (_table([_tier(b"Dal", digit=16)]), R),
        (_table([_tier(b"Dal", price=0xFFFFFFFF)]), R),
        (_table([_tier(b"")]), R), (_table([_tier(b"0123456789abc")]), R),  # 0, 13 octets
        (TWO[:-1], M),                                           # label cut short
        (TWO[:18], M),                                           # second tier cut short
        (_table([good, good])[:-len(good)], M),                  # count 2, one tier given
        (TWO + b"\x00", M),                                      # an octet left over
    ]
    for label in (b"\xff", b"\x80", b"\xc0\xaf", b"\xc3", b"Caf\xc3",
                  b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80",
                  b"\xe2\x82", b"\xe2\x28\xac", b"\xf5\x80\x80\x80"):
        cases.append((_table([_tier(label)]), M))                # not well-formed UTF-8
    for data, reason in cases:
        assert _reason(data) == reason, (data, reason)


def test_no_record_is_no_prices():
    store = prices.PriceStore(RecordStore(MemoryFs()))
    assert store.load() is None and store.prices is None and store.invalid == 0


def test_a_table_survives_a_reboot():
    fs = MemoryFs()
    store = prices.PriceStore(RecordStore(fs))
    store.save(prices.parse(ONE))
    store.save(prices.parse(TWO))  # the newer of the two slots wins
    again = prices.PriceStore(RecordStore(fs))
    p = again.load()
    assert p is again.prices and p.data == TWO and p.currency == 978
    assert p.tiers == [(b"Dal", 2345, 4), (b"Normaal", 2789, 4)]


def test_a_record_this_firmware_refuses_is_no_prices():
    fs = MemoryFs()
    RecordStore(fs).slots("prices", 0xD0, 278).save(TWO + b"\x00", 31)
    store = prices.PriceStore(RecordStore(fs))
    assert store.load() is None and store.invalid == 1


def test_a_power_cut_mid_write_leaves_the_old_table_or_the_new_one():
    size = 12 + len(TWO) + 4  # record header, payload, CRC (registers/store.py)
    for cut in range(0, size + 1, 3):
        fs = MemoryFs(atomic=False)  # tears writes
        store = prices.PriceStore(RecordStore(fs))
        store.save(prices.parse(ONE))
        fs.cut_after_bytes = cut
        try:
            store.save(prices.parse(TWO))
            saved = True
        except OSError:
            saved = False
            assert store.prices.data == ONE, cut  # the old table stays in use
        fs.cut_after_bytes = None
        got = prices.PriceStore(RecordStore(fs)).load().data
        assert got == (TWO if saved else ONE), cut
        assert saved == (cut >= size), cut


def _meter(fs, on_change=None):
    regs = MeterRegisters(FakeClock(utc=T0), fs)
    regs.boot(T0)
    store = prices.PriceStore(regs.store)
    store.load()
    session = config.ConfigSession(regs, KEY,
                                   {config.OP_SET_PRICES: prices.handler(store, on_change)})
    return regs, store, session


def _run(session, counter, payload):
    cmd = config.command(config.OP_SET_PRICES, counter, payload)
    return session.execute(cmd, config.hmac_sha256(KEY, cmd), T0)


def test_through_the_configuration_path_and_a_reboot():
    fs = MemoryFs()
    seen = []
    regs, store, session = _meter(fs, seen.append)
    assert config.OP_SET_PRICES == 9
    assert _run(session, 1, TWO) == 9
    assert store.prices.data == TWO and seen == [store.prices]
    # Refused whole: the counter is consumed, the table in use and in flash unchanged.
    e = raises(config.Rejected, _run, session, 2, _table([_tier(b"Dal", digit=16)]))
    assert e.reason == config.REJECT_RANGE and session.counter == 2
    e = raises(config.Rejected, _run, session, 3, TWO[:-1])
    assert e.reason == config.REJECT_MALFORMED and len(seen) == 1
    std = regs.logs.log(logs.STANDARD)
    tail = [std.entry(age)[2:] for age in (2, 1, 0)]  # oldest first
    assert tail == [(logs.EV_CONFIG, 0, 9, 1),
                    (logs.EV_CONFIG_REJECTED, 0, 9, config.REJECT_RANGE),
                    (logs.EV_CONFIG_REJECTED, 0, 9, config.REJECT_MALFORMED)]
    _, again, _ = _meter(fs)
    assert again.prices.data == TWO


class _PricesFail(MemoryFs):
    """A MemoryFs whose prices slots cannot be written while fail is set."""

    def __init__(self):
        MemoryFs.__init__(self)
        self.fail = False

    def open(self, name, mode="rb"):
        if self.fail and name.startswith("prices") and "w" in mode:
            raise OSError(5)
        return MemoryFs.open(self, name, mode)


def test_a_failed_flash_write_applies_nothing():
    fs = _PricesFail()
    seen = []
    _, store, session = _meter(fs, seen.append)
    _run(session, 1, ONE)
    fs.fail = True
    e = raises(config.Rejected, _run, session, 2, TWO)
    assert e.reason == config.REJECT_STORAGE and session.counter == 2
    assert store.prices.data == ONE and len(seen) == 1
    fs.fail = False
    _, again, _ = _meter(fs)
    assert again.prices.data == ONE
