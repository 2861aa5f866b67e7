# Lookup tables for reflected (LSB-first) CRCs, shared by the CRC fronts' Python fallbacks.


def reflected_table(poly):
    """table[b] = the CRC register after shifting byte b through the reflected polynomial
    `poly` eight times, from a register of b. A tuple: indexing it allocates nothing."""
    table = []
    for byte in range(256):
        reg = byte
        for _ in range(8):
            reg = (reg >> 1) ^ poly if reg & 1 else reg >> 1
        table.append(reg)
    return tuple(table)
