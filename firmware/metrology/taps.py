# Fractional delays for the sample kernel: a delay of `lag` radians at the fundamental,
# with theta radians between samples, becomes an integer tap T and a Q14 interpolation weight
# K such that x[n] = h[n - T] + K / 2**14 * (h[n - T - 1] - h[n - T]) lags h by exactly `lag`
# at the fundamental. Linear interpolation also scales the fundamental by a gain slightly
# below one; it is returned so the results can be divided by it.
import math

_Q14 = 16384


def interpolation_taps(lag, theta):
    """(T, K, gain) for a delay of lag >= 0 radians at sample spacing theta radians."""
    if lag < 0 or theta <= 0:
        raise ValueError("delay and sample spacing must be positive")
    t = int(lag // theta)
    psi = lag - t * theta
    # Weight f such that arg(1 - f + f e^{-j theta}) = -psi:
    #   tan(psi) = f sin(theta) / (1 - f + f cos(theta))
    tan_psi = math.tan(psi)
    f = tan_psi / (math.sin(theta) + tan_psi * (1 - math.cos(theta)))
    k = int(round(f * _Q14))
    if k >= _Q14:
        t += 1
        k = 0
    fq = k / _Q14
    re = 1 - fq + fq * math.cos(theta)
    im = fq * math.sin(theta)
    return t, k, math.sqrt(re * re + im * im)
