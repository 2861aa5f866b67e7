// AES-128 block encryption, forward direction only (FIPS 197): the block cipher under both
// GCM (P1 encryption, Luxembourg Smarty) and CCM* (IEEE 802.15.4 security on the HAN).
// Plain C with no MicroPython headers: unit-tested with the host compiler against FIPS 197,
// SP 800-38A and the Python fallback (tests/host/test_native_kernels.py and
// test_aes_ccm_kernels.py; tests/unit/test_aes_vectors.py on the natmod).
//
// 32-bit column form ("T-table" technique, FIPS 197 5.1 rearranged): the state is four
// little-endian words, one per column, row r in bits 8r..8r+7. SubBytes, ShiftRows and
// MixColumns of one output column are four lookups in ONE 256-word table, rotated, XORed
// with the round key. One table instead of the usual four keeps the footprint at 1 KiB
// (natmods are copied to RAM when imported, so on the ESP32-C3/C6 and the STM32 this is
// 1 KiB of RAM too); the rotations are free on Cortex-M (operand barrel shifter). The
// S-box itself is byte 0 of each entry, so the final round and the key schedule need no
// second table. Lookups are indexed by secret data (no constant-time claim: as with the
// byte-oriented version this replaces, cache-less MCUs are the target).
#include "aes128.h"

// te[x] = (S(x), 3 S(x), 2 S(x), S(x)) from byte 0 up, S the S-box (FIPS 197 5.1.1) and
// products in GF(2^8) (4.2). This is the MixColumns contribution of an input byte in row 2
// of its column (the matrix column (1 3 2 1), 5.1.3); rows 0, 1, 3 use the same entry
// rotated by 16, 8 and 24 bits. Generated from the S-box definition; the host test checks
// every entry against the Python fallback's S-box and its doubling.
static const uint32_t te[256] = {
    0x63c6a563u, 0x7cf8847cu, 0x77ee9977u, 0x7bf68d7bu, 0xf2ff0df2u, 0x6bd6bd6bu,
    0x6fdeb16fu, 0xc59154c5u, 0x30605030u, 0x01020301u, 0x67cea967u, 0x2b567d2bu,
    0xfee719feu, 0xd7b562d7u, 0xab4de6abu, 0x76ec9a76u, 0xca8f45cau, 0x821f9d82u,
    0xc98940c9u, 0x7dfa877du, 0xfaef15fau, 0x59b2eb59u, 0x478ec947u, 0xf0fb0bf0u,
    0xad41ecadu, 0xd4b367d4u, 0xa25ffda2u, 0xaf45eaafu, 0x9c23bf9cu, 0xa453f7a4u,
    0x72e49672u, 0xc09b5bc0u, 0xb775c2b7u, 0xfde11cfdu, 0x933dae93u, 0x264c6a26u,
    0x366c5a36u, 0x3f7e413fu, 0xf7f502f7u, 0xcc834fccu, 0x34685c34u, 0xa551f4a5u,
    0xe5d134e5u, 0xf1f908f1u, 0x71e29371u, 0xd8ab73d8u, 0x31625331u, 0x152a3f15u,
    0x04080c04u, 0xc79552c7u, 0x23466523u, 0xc39d5ec3u, 0x18302818u, 0x9637a196u,
    0x050a0f05u, 0x9a2fb59au, 0x070e0907u, 0x12243612u, 0x801b9b80u, 0xe2df3de2u,
    0xebcd26ebu, 0x274e6927u, 0xb27fcdb2u, 0x75ea9f75u, 0x09121b09u, 0x831d9e83u,
    0x2c58742cu, 0x1a342e1au, 0x1b362d1bu, 0x6edcb26eu, 0x5ab4ee5au, 0xa05bfba0u,
    0x52a4f652u, 0x3b764d3bu, 0xd6b761d6u, 0xb37dceb3u, 0x29527b29u, 0xe3dd3ee3u,
    0x2f5e712fu, 0x84139784u, 0x53a6f553u, 0xd1b968d1u, 0x00000000u, 0xedc12cedu,
    0x20406020u, 0xfce31ffcu, 0xb179c8b1u, 0x5bb6ed5bu, 0x6ad4be6au, 0xcb8d46cbu,
    0xbe67d9beu, 0x39724b39u, 0x4a94de4au, 0x4c98d44cu, 0x58b0e858u, 0xcf854acfu,
    0xd0bb6bd0u, 0xefc52aefu, 0xaa4fe5aau, 0xfbed16fbu, 0x4386c543u, 0x4d9ad74du,
    0x33665533u, 0x85119485u, 0x458acf45u, 0xf9e910f9u, 0x02040602u, 0x7ffe817fu,
    0x50a0f050u, 0x3c78443cu, 0x9f25ba9fu, 0xa84be3a8u, 0x51a2f351u, 0xa35dfea3u,
    0x4080c040u, 0x8f058a8fu, 0x923fad92u, 0x9d21bc9du, 0x38704838u, 0xf5f104f5u,
    0xbc63dfbcu, 0xb677c1b6u, 0xdaaf75dau, 0x21426321u, 0x10203010u, 0xffe51affu,
    0xf3fd0ef3u, 0xd2bf6dd2u, 0xcd814ccdu, 0x0c18140cu, 0x13263513u, 0xecc32fecu,
    0x5fbee15fu, 0x9735a297u, 0x4488cc44u, 0x172e3917u, 0xc49357c4u, 0xa755f2a7u,
    0x7efc827eu, 0x3d7a473du, 0x64c8ac64u, 0x5dbae75du, 0x19322b19u, 0x73e69573u,
    0x60c0a060u, 0x81199881u, 0x4f9ed14fu, 0xdca37fdcu, 0x22446622u, 0x2a547e2au,
    0x903bab90u, 0x880b8388u, 0x468cca46u, 0xeec729eeu, 0xb86bd3b8u, 0x14283c14u,
    0xdea779deu, 0x5ebce25eu, 0x0b161d0bu, 0xdbad76dbu, 0xe0db3be0u, 0x32645632u,
    0x3a744e3au, 0x0a141e0au, 0x4992db49u, 0x060c0a06u, 0x24486c24u, 0x5cb8e45cu,
    0xc29f5dc2u, 0xd3bd6ed3u, 0xac43efacu, 0x62c4a662u, 0x9139a891u, 0x9531a495u,
    0xe4d337e4u, 0x79f28b79u, 0xe7d532e7u, 0xc88b43c8u, 0x376e5937u, 0x6ddab76du,
    0x8d018c8du, 0xd5b164d5u, 0x4e9cd24eu, 0xa949e0a9u, 0x6cd8b46cu, 0x56acfa56u,
    0xf4f307f4u, 0xeacf25eau, 0x65caaf65u, 0x7af48e7au, 0xae47e9aeu, 0x08101808u,
    0xba6fd5bau, 0x78f08878u, 0x254a6f25u, 0x2e5c722eu, 0x1c38241cu, 0xa657f1a6u,
    0xb473c7b4u, 0xc69751c6u, 0xe8cb23e8u, 0xdda17cddu, 0x74e89c74u, 0x1f3e211fu,
    0x4b96dd4bu, 0xbd61dcbdu, 0x8b0d868bu, 0x8a0f858au, 0x70e09070u, 0x3e7c423eu,
    0xb571c4b5u, 0x66ccaa66u, 0x4890d848u, 0x03060503u, 0xf6f701f6u, 0x0e1c120eu,
    0x61c2a361u, 0x356a5f35u, 0x57aef957u, 0xb969d0b9u, 0x86179186u, 0xc19958c1u,
    0x1d3a271du, 0x9e27b99eu, 0xe1d938e1u, 0xf8eb13f8u, 0x982bb398u, 0x11223311u,
    0x69d2bb69u, 0xd9a970d9u, 0x8e07898eu, 0x9433a794u, 0x9b2db69bu, 0x1e3c221eu,
    0x87159287u, 0xe9c920e9u, 0xce8749ceu, 0x55aaff55u, 0x28507828u, 0xdfa57adfu,
    0x8c038f8cu, 0xa159f8a1u, 0x89098089u, 0x0d1a170du, 0xbf65dabfu, 0xe6d731e6u,
    0x4284c642u, 0x68d0b868u, 0x4182c341u, 0x9929b099u, 0x2d5a772du, 0x0f1e110fu,
    0xb07bcbb0u, 0x54a8fc54u, 0xbb6dd6bbu, 0x162c3a16u,
};

// Round constants (FIPS 197 5.2): x^(i-1) in GF(2^8).
static const uint8_t rcon[10] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36};

#define SBOX(x) ((uint8_t)te[(x)])
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

void aes128_key_schedule(const uint8_t key[16], uint8_t ks[AES128_KEY_SCHEDULE_SIZE]) {
    for (int i = 0; i < 16; i++) {
        ks[i] = key[i];
    }
    for (int i = 16; i < AES128_KEY_SCHEDULE_SIZE; i += 4) {
        uint8_t t0 = ks[i - 4], t1 = ks[i - 3], t2 = ks[i - 2], t3 = ks[i - 1];
        if (i % 16 == 0) {
            // RotWord, SubWord, Rcon (FIPS 197 Figure 11).
            uint8_t r = t0;
            t0 = SBOX(t1) ^ rcon[i / 16 - 1];
            t1 = SBOX(t2);
            t2 = SBOX(t3);
            t3 = SBOX(r);
        }
        ks[i] = ks[i - 16] ^ t0;
        ks[i + 1] = ks[i - 15] ^ t1;
        ks[i + 2] = ks[i - 14] ^ t2;
        ks[i + 3] = ks[i - 13] ^ t3;
    }
}

// One full round on columns: output column c takes row r from input column c + r
// (ShiftRows), each byte's MixColumns contribution from te rotated by its row.
#define COLUMN(a, b, c, d, k) \
    (ROR(t[(a) & 0xff], 16) ^ ROR(t[((b) >> 8) & 0xff], 8) ^ t[((c) >> 16) & 0xff] ^ \
     ROR(t[(d) >> 24], 24) ^ (k))

// The final round (no MixColumns): the S-box bytes of the same positions, read as bytes
// of the table (S is byte 0 of each entry: the lowest address on a little-endian target).
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SBOX_BYTE (3)
#else
#define SBOX_BYTE (0)
#endif
#define TSBOX(x) ((uint32_t)tb[4 * (x) + SBOX_BYTE])
#define LAST(a, b, c, d, k) \
    ((TSBOX((a) & 0xff) | (TSBOX(((b) >> 8) & 0xff) << 8) | \
      (TSBOX(((c) >> 16) & 0xff) << 16) | (TSBOX((d) >> 24) << 24)) ^ (k))

#define ROUND(a0, a1, a2, a3, b0, b1, b2, b3, k) \
    do { \
        b0 = COLUMN(a0, a1, a2, a3, load32(k)); \
        b1 = COLUMN(a1, a2, a3, a0, load32((k) + 4)); \
        b2 = COLUMN(a2, a3, a0, a1, load32((k) + 8)); \
        b3 = COLUMN(a3, a0, a1, a2, load32((k) + 12)); \
    } while (0)

void aes128_encrypt_words(const uint8_t ks[AES128_KEY_SCHEDULE_SIZE], uint32_t s[4]) {
    const uint32_t *t = te;
#if defined(__GNUC__)
    // Keep the table's address in a register: otherwise position-independent code (natmods)
    // may fold a constant offset into every lookup and spend an extra add on each of them.
    __asm__("" : "+r"(t));
#endif
    const uint8_t *tb = (const uint8_t *)t;
    uint32_t s0 = s[0] ^ load32(ks), s1 = s[1] ^ load32(ks + 4);
    uint32_t s2 = s[2] ^ load32(ks + 8), s3 = s[3] ^ load32(ks + 12);
    uint32_t t0, t1, t2, t3;
    const uint8_t *k = ks + 16;
    // Rounds 1..8 two at a time (s -> t -> s, no register moves), round 9 into t.
    for (int i = 0; i < 4; i++, k += 32) {
        ROUND(s0, s1, s2, s3, t0, t1, t2, t3, k);
        ROUND(t0, t1, t2, t3, s0, s1, s2, s3, k + 16);
    }
    ROUND(s0, s1, s2, s3, t0, t1, t2, t3, k);
    k += 16;
    s[0] = LAST(t0, t1, t2, t3, load32(k));
    s[1] = LAST(t1, t2, t3, t0, load32(k + 4));
    s[2] = LAST(t2, t3, t0, t1, load32(k + 8));
    s[3] = LAST(t3, t0, t1, t2, load32(k + 12));
}

void aes128_encrypt_block(const uint8_t ks[AES128_KEY_SCHEDULE_SIZE], const uint8_t src[16],
    uint8_t dst[16]) {
    uint32_t s[4] = {load32(src), load32(src + 4), load32(src + 8), load32(src + 12)};
    aes128_encrypt_words(ks, s);
    for (int i = 0; i < 4; i++) {
        store32(dst + 4 * i, s[i]);
    }
}
