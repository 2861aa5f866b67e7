// AES-128 forward block cipher (FIPS 197): see aes128.c.
#ifndef AES128_H
#define AES128_H

#include <stdint.h>

#define AES128_KEY_SCHEDULE_SIZE (176)  // 11 round keys of 16 bytes, FIPS 197 5.2

void aes128_key_schedule(const uint8_t key[16], uint8_t ks[AES128_KEY_SCHEDULE_SIZE]);
void aes128_encrypt_block(const uint8_t ks[AES128_KEY_SCHEDULE_SIZE], const uint8_t src[16],
    uint8_t dst[16]);
// The same on a block held as four little-endian words (byte 4i + r in bits 8r of s[i]),
// in place: for modes that keep their chaining value in registers (ccm_star.c).
void aes128_encrypt_words(const uint8_t ks[AES128_KEY_SCHEDULE_SIZE], uint32_t s[4]);

// Little-endian word loads and stores from byte buffers of any alignment (the caller's
// bytearrays, memoryviews into frames). Written with shifts so that no memcpy is needed in
// a natmod; compilers merge them into one load where the target allows unaligned access.
static inline uint32_t load32(const uint8_t *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline void store32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

#endif
