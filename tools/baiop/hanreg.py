"""HAN BAIOP keywords about registering and removing devices through the signed
configuration path (docs/bap/han.md HAN-SEC-001, HAN-FUN-004, HAN-FUN-005, HAN-ACC-001),
typed on the hub's console as an installer's tool does. The lines are built by
tools.config (the installer's tool, docs/config.md); a line the tool refuses to build (a
bad CRC) is built here by hand, so that the meter's own check is what is tested."""
import re

from robot.api import logger

from tools.baiop.hanair import _colons

MAX_DEVICES = 16  # HAN-FUN-004
JOINER_ADD = 1  # firmware/han/node.py OP_HAN_JOINER payload: action, EUI-64, code


def _ext(n):
    return bytes.fromhex("0004A30B0000D1%02X" % n)


class HanRegistrationKeywords:
    def _register(self, ext, code_with_crc, key=None):
        from tools import config

        return self._type_config(config.fwconfig.OP_HAN_JOINER,
                                 bytes([JOINER_ADD]) + ext + code_with_crc, key)

    def install_codes_of_every_length_should_register(self):
        """[BDB] 10.1: codes of 6, 8, 12 and 16 octets with their CRC-16/X-25 are taken
        (6 by the lab's devices already); one whose CRC does not check is refused and
        nothing is registered."""
        from tools.provision import with_crc

        for i, n in enumerate((8, 12, 16)):
            code = with_crc(bytes(range(0x40, 0x40 + n)))
            ok, answer = self._register(_ext(0x80 + i), code)
            if not ok:
                raise AssertionError("a %d-octet install code: %s" % (n, answer))
        bad = bytearray(with_crc(bytes(range(0x50, 0x58))))
        bad[-1] ^= 0x01
        ok, answer = self._register(_ext(0x90), bytes(bad))
        if ok or "han registered %s" % _ext(0x90).hex() in self.target.console():
            raise AssertionError("a code with a wrong CRC was taken: %s" % answer)
        logger.info("refused: %s" % answer)

    def registration_signed_with_another_key_should_be_refused(self):
        """HAN-ACC-001: a han-join line not signed with the meter's config_key."""
        from tools.provision import with_crc

        ok, answer = self._register(_ext(0x91), with_crc(bytes(6)), key=bytes(range(32)))
        if ok or "han registered %s" % _ext(0x91).hex() in self.target.console():
            raise AssertionError("a line signed with another key was taken: %s" % answer)

    def registrations_should_stop_at_the_table_size(self):
        """Register new devices until the meter refuses: it holds 16, and the refused
        registration changes nothing."""
        from tools.provision import with_crc

        taken = set(re.findall(r"han registered ([0-9a-f]{16})", self.target.console()))
        removed = set(re.findall(r"han removed ([0-9a-f]{16})", self.target.console()))
        held = len(taken - removed)
        for n in range(MAX_DEVICES + 1 - held):
            ok, answer = self._register(_ext(n), with_crc(bytes([0x60 + n] * 6)))
            if not ok:
                break
            held += 1
        if held != MAX_DEVICES or ok:
            raise AssertionError("%d devices held, then %s" % (held, answer))
        if "han registered %s" % _ext(n).hex() in self.target.console():
            raise AssertionError("the refused device was registered")
        logger.info("%d devices, the next refused: %s" % (held, answer))

    def remove_device(self, name):
        """han-remove: the hub tells the device to leave (NWK Leave, secured) and forgets
        it (HUB STATUS no longer lists it)."""
        from tools import config

        ext = self.device_ext(name)
        short = self._short_of(ext)
        ok, answer = self._type_config(config.fwconfig.OP_HAN_JOINER,
                                       config.han_joiner_payload(ext))
        if not ok:
            raise AssertionError("han-remove refused: %s" % answer)
        self.wait_until_console_shows("han removed %s" % ext, 10)
        try:
            self._wait(lambda: self.cap.count("zbee_nwk.cmd.id == 0x04 && wpan.dst16 == "
                                              "0x%04x && zbee_nwk.security == 1" % short),
                       30, "no secured NWK Leave to %s" % name, step=2)
        except AssertionError as e:
            # What the hub did after the removal, for the report: every frame to that
            # address, and the hub's HAN lines.
            console = self.target.console()
            tail = [ln for ln in console[console.rfind("han removed %s" % ext):].splitlines()
                    if ln.startswith("han ")][:20]
            raise AssertionError("%s (0x%04x); frames to it on air: %d; hub after the "
                                 "removal: %s" % (e, short,
                                                  self.cap.count("wpan.dst16 == 0x%04x" % short),
                                                  " | ".join(tail)))
        status = self.hub_status()
        shown = [d for d in status["devices"] if d["eui64"].lower().replace(":", "") == ext]
        if any(d["state"] != "removed" or d["short"] is not None for d in shown):
            raise AssertionError("%s in HUB STATUS after its removal: %s" % (name, shown))
        logger.info("%s (%s) removed" % (name, _colons(ext)))
