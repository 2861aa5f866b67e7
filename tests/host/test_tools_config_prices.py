# python -m tools.config set-prices: the JSON price table becomes the OP_SET_PRICES payload of
# firmware/registers/prices.py (expected octets worked by hand from the format documented
# there and in docs/config.md), which the firmware's configuration path (main's
# make_config_session) accepts, stores through a reboot and hands to the hub; the tool
# refuses what the meter would refuse, before a counter is used.
import json

from tools import config as tool
from tools import fwpath

fwpath.setup()
import main  # noqa: E402
from hal.clock import FakeClock  # noqa: E402
from han.se.hub import Hub  # noqa: E402
from han.se.price import PriceConfig  # noqa: E402
from registers import config, prices  # noqa: E402
from registers.clock import DST_EU  # noqa: E402
from registers.memfs import MemoryFs  # noqa: E402
from registers.meter import MeterRegisters  # noqa: E402
from registers.view import RegistersView  # noqa: E402

KEY_HEX = "00112233445566778899aabbccddeeff0123456789abcdef"
KEY = bytes.fromhex(KEY_HEX)
T0 = 1735689600

DUTCH = {"provider": 1, "currency": "EUR", "unit": "kWh",
         "tiers": [{"label": "Dal", "price": "0.2345"}, {"label": "Normaal", "price": "0.2789"}]}
# provider 1 | 978 = 0x03D2 | kWh 0 | 2 tiers | digit 4, 2345 = 0x0929, 3, "Dal" |
# digit 4, 2789 = 0x0AE5, 7, "Normaal"
DUTCH_HEX = ("01000000" "d203" "00" "02" "04" "29090000" "03" "44616c"
             "04" "e50a0000" "07" "4e6f726d61616c")
BELGIAN = {"provider": 305419896, "currency": 978,
           "tiers": [{"label": "Jour", "price": "0.30"}, {"label": "Nuit €", "price": 1}]}
# provider 0x12345678 | EUR | kWh (the default) | 2 tiers | digit 2, 30 = 0x1E, "Jour" |
# digit 0, 1, "Nuit €" = 4e 75 69 74 20 e2 82 ac (8 octets of UTF-8)
BELGIAN_HEX = ("78563412" "d203" "00" "02" "02" "1e000000" "04" "4a6f7572"
               "00" "01000000" "08" "4e756974" "20" "e282ac")


def run_tool(tmp_path, spec):
    (tmp_path / "prices.json").write_text(json.dumps(spec))
    lines = []
    status = tool.main(["--key", KEY_HEX, "--counter-file", str(tmp_path / "counter"),
                        "set-prices", str(tmp_path / "prices.json")], out=lines.append)
    assert status == 0, lines
    fields = dict(line.split(" ", 1) for line in lines)
    return bytes.fromhex(fields["command"]), bytes.fromhex(fields["tag"])


def price_config(p):
    """What main builds from the stored table (registers.prices.Prices)."""
    return PriceConfig(p.provider_id, p.currency, p.tiers, p.unit)


def meter(fs):
    """The wiring proposed for main: the store loaded at boot, the hub built from it, the
    op's handler storing and handing each new table to the hub at once."""
    clock = FakeClock(utc=T0)
    regs = MeterRegisters(clock, fs)
    regs.boot(T0)
    store = prices.PriceStore(regs.store)
    stored = store.load()
    hub = Hub(regs.clock, RegistersView(regs), 3600, DST_EU, clock,
              prices=None if stored is None else price_config(stored))
    handlers = {config.OP_SET_PRICES: prices.handler(
        store, lambda p: hub.set_prices(price_config(p)))}
    return regs, store, hub, main.make_config_session(regs, None, KEY, handlers)


def test_set_prices_payload_is_accepted_stored_and_published(tmp_path):
    assert tool.prices_bytes(DUTCH).hex() == DUTCH_HEX
    assert tool.prices_bytes(BELGIAN).hex() == BELGIAN_HEX
    fs = MemoryFs()
    regs, store, hub, session = meter(fs)
    assert hub.price is None
    cmd, tag = run_tool(tmp_path, DUTCH)
    assert cmd[0] == 9 and cmd[5:].hex() == DUTCH_HEX
    assert session.execute(cmd, tag) == config.OP_SET_PRICES
    c = hub.price.config
    assert (c.provider_id, c.currency, c.unit) == (1, 978, 0)
    assert (c.labels, c.prices, c.digits) == ([b"Dal", b"Normaal"], [2345, 2789], [4, 4])
    cmd, tag = run_tool(tmp_path, BELGIAN)
    assert cmd[5:].hex() == BELGIAN_HEX
    session.execute(cmd, tag)
    assert hub.price.config.labels == [b"Jour", "Nuit €".encode()]
    # After a reboot the hub starts with the stored table.
    _, again, hub2, _ = meter(fs)
    assert again.prices.data.hex() == BELGIAN_HEX
    c = hub2.price.config
    assert (c.provider_id, c.prices, c.digits) == (0x12345678, [30, 1], [2, 0])


def test_prices_are_exact_decimals():
    assert tool.decimal_price("0.2345") == (2345, 4)
    assert tool.decimal_price("0.20") == (20, 2)  # the decimals written are kept
    assert tool.decimal_price("12") == (12, 0)
    assert tool.decimal_price(7) == (7, 0)
    assert tool.decimal_price("0.000000000000001") == (1, 15)
    assert tool.decimal_price("42949672.94") == (4294967294, 2)
    # 0.1 + 0.2 in binary floating point is 0.30000000000000004; here it never is a float.
    assert tool.decimal_price("0.3") == (3, 1)


def test_tool_refuses_what_the_meter_would_refuse(tmp_path):
    def tier(label="Dal", price="0.2345"):
        return {"label": label, "price": price}

    def table(**kw):
        spec = {"provider": 1, "currency": "EUR", "tiers": [tier()]}
        spec.update(kw)
        return spec

    bad = [
        table(tiers=[tier(price=0.2345)]),  # a JSON number with a fraction is a float
        table(tiers=[tier(price="0.23.45")]), table(tiers=[tier(price="-0.1")]),
        table(tiers=[tier(price="1e3")]), table(tiers=[tier(price="")]),
        table(tiers=[tier(price="0.0000000000000001")]),  # 16 decimals
        table(tiers=[tier(price="42949672.95")]),  # 0xFFFFFFFF
        table(tiers=[tier(label="")]), table(tiers=[tier(label="Tarief normaal")]),
        table(tiers=[tier(label="Nachttarief€")]),  # 12 characters, 14 octets
        table(tiers=[tier(label=7)]),
        table(tiers=[]), table(tiers=[tier()] * 16), table(tiers=tier()),
        table(currency="XXX"), table(currency=1000), table(currency=0),
        table(unit="kW"), table(unit=0x80), table(unit=14),
        table(provider=-1), table(provider=2 ** 32), table(provider="1"),
        table(prise=1), table(tiers=[{"label": "Dal", "price": "1", "tier": 1}]),
        {"currency": "EUR", "tiers": [tier()]}, [1, 2],
    ]
    (tmp_path / "p.json").write_text(json.dumps(table()))
    base = ["--key", KEY_HEX, "--counter-file", str(tmp_path / "c"), "set-prices",
            str(tmp_path / "p.json")]
    for spec in bad:
        (tmp_path / "p.json").write_text(json.dumps(spec))
        lines = []
        assert tool.main(base, out=lines.append) == 2, spec
        assert lines[0].startswith("error: "), (spec, lines)
    assert not (tmp_path / "c").exists()  # nothing built, no counter used
    # Each of these the firmware refuses too (registers.prices.parse), given the octets.
    for payload in (bytes.fromhex(DUTCH_HEX)[:-1],
                    bytes.fromhex("01000000" "e803" "00" "01" "04" "29090000" "03" "44616c"),
                    bytes.fromhex("01000000" "d203" "0e" "01" "04" "29090000" "03" "44616c"),
                    bytes.fromhex("01000000" "d203" "00" "01" "10" "29090000" "03" "44616c"),
                    bytes.fromhex("01000000" "d203" "00" "01" "04" "ffffffff" "03" "44616c")):
        try:
            prices.parse(payload)
        except config.Rejected:
            continue
        raise AssertionError(payload.hex())
