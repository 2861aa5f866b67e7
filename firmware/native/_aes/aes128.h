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

#endif
