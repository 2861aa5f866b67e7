"""Data Request keywords of P1Library (DSMR 5.0.2 5.5, 5.7.1, 6.1): the reader's line
pulled low, raised, glitched, and what the port does meanwhile."""
import time

from tools.baiop.capture import Capture


class DataRequestKeywords:
    def no_telegram_should_start_later_than(self, seconds):
        """After Data Request went low, no telegram may start later than seconds into the
        capture (the one under way may end)."""
        t0 = self.cap.marks[0][0] if self.cap.marks else None
        late = [t for t in self.telegrams if t.t is not None and t0 is not None
                and t.t - t0 > float(seconds)]
        if late:
            raise AssertionError("%d telegrams started with Data Request low" % len(late))

    def a_telegram_should_start_within(self, seconds, since=None):
        t0 = float(since) if since else (self.cap.marks[0][0] if self.cap.marks else None)
        if not self.telegrams or t0 is None or self.telegrams[0].t - t0 > float(seconds):
            first = "%.2f s" % (self.telegrams[0].t - t0) if self.telegrams and t0 else "none"
            raise AssertionError("no telegram within %s s of Data Request high (first: %s)"
                                 % (seconds, first))

    def raise_data_request_now(self):
        """Data Request high; returns the host time it was raised at."""
        self.target.data_request(1)
        return time.monotonic()

    def every_telegram_should_be_whole(self):
        """Nothing cut, nothing stray: the capture is whole telegrams back to back (but for
        one the window's end may cut)."""
        bad = self.stray_runs()
        if bad:
            o, b = bad[0]
            raise AssertionError("a partial telegram or stray octets at %d: %r" % (o, b[:40]))

    def wait_for_a_telegram_to_begin(self, within=12):
        """(octets of the telegram under way seen so far, from its "/"; their arrival)."""
        end = time.monotonic() + float(within)
        first = True
        while time.monotonic() < end:
            c = self.target.capture(0.005, cont=not first)
            first = False
            for start in (b"/", b"\xdb"):
                i = c.data.find(start)
                if i >= 0:
                    return c.data[i:], c.time_at(i)
        raise AssertionError("no telegram began within %s s" % within)

    def drop_data_request_during_a_telegram(self, pulse_ms=0):
        """Data Request low as soon as a telegram begins; with pulse_ms, high again after
        that long (a glitch). The capture kept starts at that telegram's first octet and
        runs two and a half periods on."""
        head, t_head = self.wait_for_a_telegram_to_begin()
        self.target.data_request(0)
        if int(pulse_ms):
            time.sleep(int(pulse_ms) / 1000.0)
            self.target.data_request(1)
        # Two periods and a half: the capture ends between telegrams (three whole periods
        # from a telegram's start cut the one then beginning).
        tail = self.target.capture(2.5 * float(self.period), cont=True)
        self._take(Capture(head + tail.data, [(t_head, len(head))] +
                           [(m[0], m[1] + len(head)) for m in tail.marks]))
        if not self.telegrams or self.telegrams[0].start != 0:
            raise AssertionError("the telegram under way was cut: %r"
                                 % (head + tail.data)[:60])

    def glitch_data_request_between_telegrams(self, pulse_ms=50):
        """A low pulse in the middle of an idle stretch (half a period after a telegram
        began), then two periods captured."""
        self.wait_for_a_telegram_to_begin()
        time.sleep(float(self.period) / 2)
        self.target.data_request(0)
        time.sleep(int(pulse_ms) / 1000.0)
        self.target.data_request(1)
        self.capture_p1(2 * float(self.period) + 1)
