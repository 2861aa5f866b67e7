# Energy integration in integers: per period, the total active and reactive power times the
# period's length becomes integer milli-watt-seconds (the rounding remainder carried to the
# next period, so nothing is lost and nothing drifts), routed by the signs of P and Q:
#   +A (import, P > 0), -A (export, P < 0), and the reactive quadrants (IEC 62053-23 / DLMS
#   convention) QI: P >= 0, Q >= 0; QII: P < 0, Q >= 0; QIII: P < 0, Q < 0; QIV: P >= 0, Q < 0.
# Whole milli-watt-hours are handed to the registers through one call,
# sink.add_energy(import_mwh, export_mwh, q1_mvarh, q2_mvarh, q3_mvarh, q4_mvarh); the
# sub-mWh remainders stay here. Floats are used once per period for the product P * t,
# never as running totals (single precision would drop small increments to a large total).
from micropython import const

_MWS_PER_MWH = const(3600)

IMPORT = const(0)
EXPORT = const(1)
Q1 = const(2)
Q2 = const(3)
Q3 = const(4)
Q4 = const(5)


class EnergyIntegrator:
    def __init__(self, sink=None):
        self.sink = sink
        # Totals in mWs since start (integers: exact), and the remainders not yet handed on.
        self.total_mws = [0] * 6
        self._pending_mws = [0] * 6
        self._residual = [0.0, 0.0]  # sub-mWs rounding carried for P and Q
        self.handed_mwh = [0] * 6
        self._whole = [0] * 6

    def add_period(self, p_w, q_var, seconds):
        """Integrate one period of total P (W) and Q (var) lasting `seconds`."""
        e_p = p_w * seconds * 1000.0 + self._residual[0]
        e_q = q_var * seconds * 1000.0 + self._residual[1]
        mws_p = int(round(e_p))
        mws_q = int(round(e_q))
        self._residual[0] = e_p - mws_p
        self._residual[1] = e_q - mws_q
        self._route(mws_p, mws_q, p_w >= 0, q_var >= 0)

    def add_mws(self, mws_p, mws_q, import_side=None):
        """Integrate one period's energy given as whole signed mWs (and mvar-s): a metering
        IC's energy registers, converted exactly by the caller (metrology/ic_front.py).
        import_side: which side the period's power was on, when less than a whole mWs of
        it came in (default: by the sign of mws_p)."""
        if import_side is None:
            import_side = mws_p >= 0
        self._route(mws_p, mws_q, import_side, mws_q >= 0)

    def _route(self, mws_p, mws_q, import_side, q_positive):
        if import_side:
            self._add(IMPORT, mws_p)
        else:
            self._add(EXPORT, -mws_p)
        if q_positive:
            self._add(Q1 if import_side else Q2, mws_q)
        else:
            self._add(Q4 if import_side else Q3, -mws_q)
        self._hand_on()

    def _add(self, register, mws):
        # mws is never below zero here: the carried residual is within half a mWs.
        if mws > 0:
            self.total_mws[register] += mws
            self._pending_mws[register] += mws

    def _hand_on(self):
        out = self.handed_mwh
        whole = self._whole
        for r in range(6):
            whole[r] = 0
            n = self._pending_mws[r] // _MWS_PER_MWH
            if n:
                self._pending_mws[r] -= n * _MWS_PER_MWH
                out[r] += n
                whole[r] = n
        if self.sink is not None and any(whole):
            self.sink.add_energy(whole[IMPORT], whole[EXPORT], whole[Q1], whole[Q2],
                                 whole[Q3], whole[Q4])

    def wh(self, register):
        """Total energy of a register since start, in Wh (float, for display and tests)."""
        return self.total_mws[register] / 3600000.0
