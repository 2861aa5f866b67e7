# The in-home display's own requests to the hub (han/se/ihd.py, issue 12), one state each:
# Read Attributes of the Time cluster (ZCL revision 6, 07-5123, 3.12; han/se/time.py),
# Get Current Price (SE 1.4 D.4.2.3.1), Get Last Message and Message Confirmation (SE 1.4
# D.5.2.4), in the order they are sent (time first: confirmations carry it).
#
#   r = Requests(ticks);  r.reset() when the display (re)joins its network
#   r.st[q]: R_NEED (to send), R_WAIT (sent at r.sent[q] with ZCL sequence number
#       r.seq[q]), R_DONE
#   r.expire(now) -> microseconds until the first request in flight times out (-1: none);
#       one unanswered for REQ_TIMEOUT_US is needed again
#   r.asked(q, seq, now);  r.answered(q, h) -> True when h answers q in flight (then done)
#   r.refresh(secs, asked_s, time_client): price and message asked again every REFRESH_S
#       seconds, the time when the time client wants it
#   r.again(): the hub forgot us (reports silent): time, price and message again
#   r.next() -> the first request needed, or -1
# Nothing here allocates (step calls expire and next on every wake).
from micropython import const

REQ_TIMEOUT_US = const(4000000)   # a request unanswered this long is sent again
REFRESH_S = const(3600)           # price and message asked again at least this often

Q_TIME = const(0)
Q_PRICE = const(1)
Q_MESSAGE = const(2)
Q_CONFIRM = const(3)
_Q = const(4)
R_NEED = const(0)
R_WAIT = const(1)
R_DONE = const(2)


class Requests:
    def __init__(self, ticks):
        self.ticks = ticks
        self.st = bytearray(_Q)
        self.seq = [-1] * _Q
        self.sent = [0] * _Q
        self.reset()

    def reset(self):
        # A confirmation is needed only once a message is shown.
        for q in range(_Q):
            self.st[q] = R_NEED if q != Q_CONFIRM else R_DONE

    def expire(self, now):
        best = -1
        st = self.st
        for q in range(_Q):
            if st[q] == R_WAIT:
                left = REQ_TIMEOUT_US - self.ticks.ticks_diff(now, self.sent[q])
                if left > 0:
                    best = left if best < 0 or left < best else best
                else:
                    st[q] = R_NEED
        return best

    def asked(self, q, seq, now):
        self.seq[q] = seq
        self.sent[q] = now
        self.st[q] = R_WAIT

    def answered(self, q, h):
        """True when h answers request q in flight (then it is done)."""
        if self.st[q] != R_WAIT or h.seq != self.seq[q]:
            return False
        self.st[q] = R_DONE
        return True

    def refresh(self, secs, asked_s, time):
        st = self.st
        if st[Q_PRICE] == R_DONE and st[Q_MESSAGE] == R_DONE and secs - asked_s >= REFRESH_S:
            st[Q_PRICE] = st[Q_MESSAGE] = R_NEED
        if st[Q_TIME] == R_DONE and time.synced and time.needs_sync(secs):
            st[Q_TIME] = R_NEED

    def again(self):
        st = self.st
        st[Q_TIME] = st[Q_PRICE] = st[Q_MESSAGE] = R_NEED

    def next(self):
        for q in range(_Q):
            if self.st[q] == R_NEED:
                return q
        return -1
