"""Host tools: the P1 framing that `make run` uses to show what UART1 sends."""
from tools.emu import decode_uart1


def _read(name):
    with open("tests/vectors/p1/%s.txt" % name, "rb") as f:
        return f.read()


def test_decode_uart1_finds_telegrams_and_checks_crc():
    good = _read("telegram_v5")
    bad = bytearray(_read("telegram_fluvius_v171"))
    bad[10] ^= 0x01  # one flipped bit in the header: the CRC must catch it
    stream = b"\x00noise" + good + bytes(bad) + good[:40]  # the last one is incomplete
    out = []
    consumed = decode_uart1(stream, 0, out.append)
    verdicts = [ln for ln in out if "CRC" in ln]
    assert verdicts == ["[p1] telegram %d bytes, CRC ok\n" % len(good),
                        "[p1] telegram %d bytes, CRC BAD\n" % len(bad)]
    assert consumed == len(stream) - 40  # the partial telegram waits for more bytes
    assert "[p1]   1-0:1.8.1(000004.426*kWh)\n" in out
