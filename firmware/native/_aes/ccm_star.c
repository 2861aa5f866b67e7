// CCM* (IEEE 802.15.4-2020 Annex B; CCM of RFC 3610 / NIST SP 800-38C extended with M = 0)
// over a whole frame buffer in C: the CBC-MAC of B.4.1.2 and the counter mode of B.4.1.3 on
// aes128_encrypt_words. The same transformation as the Python path of
// firmware/han/mac/ccm.py (bit-identical; tests/unit/test_han_ccm_paths.py compares them):
// 13-byte nonce, L = 2. Plain C, no MicroPython headers, no allocation, no library calls.
#include "ccm_star.h"
#include "aes128.h"

int ccm_star_mic_len_valid(size_t mic_len) {
    return mic_len == 0 || (mic_len >= 4 && mic_len <= 16 && (mic_len & 1) == 0);
}

// XOR a 16-byte block into the word state.
static inline void xor16(uint32_t x[4], const uint8_t *blk) {
    x[0] ^= load32(blk);
    x[1] ^= load32(blk + 4);
    x[2] ^= load32(blk + 8);
    x[3] ^= load32(blk + 12);
}

// CBC-MAC over p[0:n] (n > 0) in 16-byte blocks, the last one padded with zeros (B.4.1.2).
static void absorb(const uint8_t *ks, uint32_t x[4], const uint8_t *p, size_t n) {
    for (; n >= 16; n -= 16, p += 16) {
        xor16(x, p);
        aes128_encrypt_words(ks, x);
    }
    if (n) {
        uint8_t blk[16] = {0};
        for (size_t i = 0; i < n; i++) {
            blk[i] = p[i];
        }
        xor16(x, blk);
        aes128_encrypt_words(ks, x);
    }
}

// Authentication transformation (B.4.1.2): B0 = flags || nonce || l(m), then
// l(a) || a padded, then m padded. T is the first mic_len bytes of x (little-endian words).
static void cbc_mac(const uint8_t *ks, const uint8_t *nonce, const uint8_t *buf,
    size_t a_len, size_t m_len, size_t mic_len, uint32_t x[4]) {
    uint8_t blk[16];
    blk[0] = (uint8_t)((a_len ? 0x40 : 0) | (((mic_len - 2) >> 1) << 3) | 1);  // L' = 1
    for (int i = 0; i < CCM_STAR_NONCE_SIZE; i++) {
        blk[1 + i] = nonce[i];
    }
    blk[14] = (uint8_t)(m_len >> 8);
    blk[15] = (uint8_t)m_len;
    for (int i = 0; i < 4; i++) {
        x[i] = load32(blk + 4 * i);
    }
    aes128_encrypt_words(ks, x);
    if (a_len) {
        // First a block: the two-byte l(a), then up to 14 bytes of a, zero padded.
        size_t first = a_len < 14 ? a_len : 14;
        blk[0] = (uint8_t)(a_len >> 8);
        blk[1] = (uint8_t)a_len;
        for (size_t i = 0; i < 14; i++) {
            blk[2 + i] = i < first ? buf[i] : 0;
        }
        xor16(x, blk);
        aes128_encrypt_words(ks, x);
        if (a_len > first) {
            absorb(ks, x, buf + first, a_len - first);
        }
    }
    if (m_len) {
        absorb(ks, x, buf + a_len, m_len);
    }
}

// Counter block A_i (B.4.1.3): flags (L' = 1) || nonce || i, as words.
static void counter_block(const uint8_t *nonce, uint32_t i, uint32_t a[4]) {
    uint8_t blk[16];
    blk[0] = 1;
    for (int j = 0; j < CCM_STAR_NONCE_SIZE; j++) {
        blk[1 + j] = nonce[j];
    }
    blk[14] = (uint8_t)(i >> 8);
    blk[15] = (uint8_t)i;
    for (int j = 0; j < 4; j++) {
        a[j] = load32(blk + 4 * j);
    }
}

// Encryption transformation (B.4.1.3): p[0:n] ^= S_1 || S_2 || ..., S_i = E(A_i).
static void ctr(const uint8_t *ks, const uint8_t *nonce, uint8_t *p, size_t n) {
    uint32_t a[4], s[4];
    counter_block(nonce, 1, a);
    for (uint32_t i = 1; n; i++) {
        s[0] = a[0];
        s[1] = a[1];
        s[2] = a[2];
        s[3] = (a[3] & 0x0000ffffu) | ((i & 0xff) << 24) | ((i & 0xff00) << 8);
        aes128_encrypt_words(ks, s);
        if (n >= 16) {
            for (int j = 0; j < 4; j++) {
                store32(p + 4 * j, load32(p + 4 * j) ^ s[j]);
            }
            p += 16;
            n -= 16;
        } else {
            for (size_t j = 0; j < n; j++) {
                p[j] ^= (uint8_t)(s[j >> 2] >> (8 * (j & 3)));
            }
            n = 0;
        }
    }
}

// U = T XOR the first mic_len bytes of S_0 = E(A_0), as words.
static void tag(const uint8_t *ks, const uint8_t *nonce, uint32_t x[4]) {
    uint32_t s0[4];
    counter_block(nonce, 0, s0);
    aes128_encrypt_words(ks, s0);
    for (int j = 0; j < 4; j++) {
        x[j] ^= s0[j];
    }
}

void ccm_star_encrypt(const uint8_t *ks, const uint8_t *nonce, uint8_t *buf, size_t a_len,
    size_t m_len, size_t mic_len, int encrypt) {
    if (mic_len) {
        uint32_t x[4];
        cbc_mac(ks, nonce, buf, a_len, m_len, mic_len, x);
        tag(ks, nonce, x);
        uint8_t *u = buf + a_len + m_len;
        for (size_t j = 0; j < mic_len; j++) {
            u[j] = (uint8_t)(x[j >> 2] >> (8 * (j & 3)));
        }
    }
    if (encrypt) {
        ctr(ks, nonce, buf + a_len, m_len);
    }
}

int ccm_star_decrypt(const uint8_t *ks, const uint8_t *nonce, uint8_t *buf, size_t a_len,
    size_t c_len, size_t mic_len, int encrypted) {
    if (encrypted) {
        ctr(ks, nonce, buf + a_len, c_len);
    }
    if (!mic_len) {
        return 1;
    }
    uint32_t x[4];
    cbc_mac(ks, nonce, buf, a_len, c_len, mic_len, x);
    tag(ks, nonce, x);
    const uint8_t *u = buf + a_len + c_len;
    uint32_t diff = 0;
    for (size_t j = 0; j < mic_len; j++) {
        diff |= u[j] ^ (uint8_t)(x[j >> 2] >> (8 * (j & 3)));
    }
    return diff == 0;
}
