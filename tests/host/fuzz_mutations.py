"""The hypothesis mutation of a captured frame the fuzz tests share (test_han_zb_fuzz.py,
test_han_se_fuzz.py): bit flips, truncations, insertions, replaced and deleted octets,
random tails."""
from hypothesis import strategies as st


@st.composite
def mutate(draw, data, min_ops=1, max_ops=4):
    b = bytearray(data)
    for _ in range(draw(st.integers(min_ops, max_ops))):
        op = draw(st.integers(0, 5))
        if op == 0 and b:  # bit flip
            i = draw(st.integers(0, len(b) - 1))
            b[i] ^= 1 << draw(st.integers(0, 7))
        elif op == 1 and b:  # truncation
            del b[draw(st.integers(0, len(b) - 1)):]
        elif op == 2:  # insertion
            i = draw(st.integers(0, len(b)))
            b[i:i] = draw(st.binary(min_size=1, max_size=12))
        elif op == 3 and b:  # a byte replaced
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        elif op == 4 and b:  # a byte deleted
            del b[draw(st.integers(0, len(b) - 1))]
        else:  # random tail
            b += draw(st.binary(max_size=20))
    return bytes(b)
