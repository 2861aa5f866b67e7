"""Security keywords of P1Library: Smarty frames (Luxembourg Smarty 1.1.3 3.2.5) opened
with `cryptography`, their counters, and no key ever on the port."""
from tools.baiop import p1rules as rules


class SecurityKeywords:
    def frames_should_be_the_only_thing_sent(self):
        plain = [t for t in self.telegrams if not t.encrypted]
        if plain or not self.telegrams:
            raise AssertionError("%d plaintext telegrams of %d" % (len(plain),
                                                                  len(self.telegrams)))

    def every_frame_should_have_the_smarty_layout(self):
        for t in self.telegrams:
            title, sc, _, _, _, length, counted = rules.frame_fields(t.raw)
            if t.raw[:2] != b"\xdb\x08" or sc != 0x30 or length != counted:
                raise AssertionError("frame %r... length %d, counted %d"
                                     % (t.raw[:16].hex(), length, counted))

    def every_frame_should_open_with_the_key(self):
        bad = [t for t in self.telegrams if t.plain is None]
        if bad or not self.telegrams:
            raise AssertionError("%d of %d frames did not open" % (len(bad),
                                                                  len(self.telegrams)))

    def no_frame_should_open_with(self, key_hex):
        key = bytes.fromhex(key_hex)
        for t in self.telegrams:
            if rules.open_frame(t.raw, key) is not None:
                raise AssertionError("a frame opened with %s" % key_hex)

    def no_altered_frame_should_open(self):
        t = self.telegrams[0]
        for i in range(2, len(t.raw), 11):
            raw = bytearray(t.raw)
            raw[i] ^= 0x01
            if rules.open_frame(bytes(raw), self.key) is not None:
                raise AssertionError("a frame altered at octet %d opened" % i)

    def the_system_title_should_be(self, title_hex):
        titles = {rules.frame_fields(t.raw)[0] for t in self.telegrams}
        if titles != {bytes.fromhex(title_hex)}:
            raise AssertionError("system titles %s" % [x.hex() for x in titles])

    def frame_counters_should_step_by_one(self):
        cs = [t.counter for t in self.telegrams if t.counter is not None]
        if len(cs) < 2 or any(b != a + 1 for a, b in zip(cs, cs[1:])):
            raise AssertionError("frame counters %s" % cs)
        return cs[-1]

    def first_frame_counter_should_be_within(self, last, step):
        cs = [t.counter for t in self.telegrams if t.counter is not None]
        if not cs or not int(last) < cs[0] <= int(last) + int(step):
            raise AssertionError("first counter %s after %s (at most %s above expected)"
                                 % (cs[:1], last, step))

    def no_key_should_appear_on_the_port(self, *keys_hex):
        data = self.cap.data
        for k in keys_hex:
            if not k:
                continue
            raw = bytes.fromhex(k)
            for form in (raw, k.upper().encode(), k.lower().encode()):
                if form in data:
                    raise AssertionError("key %s...%s appears on the port" % (k[:4], k[-4:]))
