// CCM* (IEEE 802.15.4-2020 Annex B) on the AES-128 kernel: see ccm_star.c.
#ifndef CCM_STAR_H
#define CCM_STAR_H

#include <stddef.h>
#include <stdint.h>

#define CCM_STAR_NONCE_SIZE (13)   // 15 - L with L = 2 (B.4.1)
#define CCM_STAR_MAX_A_LEN (0xfeff)  // l(a) < 2^16 - 2^8: the two-byte encoding (B.4.1.2)
#define CCM_STAR_MAX_M_LEN (0xffff)  // l(m) < 2^(8L), L = 2

// 1 when mic_len is a length CCM* allows: 0 or an even 4..16 (B.4.1.2, M).
int ccm_star_mic_len_valid(size_t mic_len);

// buf[0:a_len] = a, buf[a_len:a_len+m_len] = m, the MIC after it (mic_len bytes).
// The caller checks the lengths (mic_len valid, a_len and m_len within the limits above,
// the buffer long enough).
// Secure in place: MIC over a and m (when mic_len), then m encrypted (when encrypt).
void ccm_star_encrypt(const uint8_t *ks, const uint8_t *nonce, uint8_t *buf, size_t a_len,
    size_t m_len, size_t mic_len, int encrypt);
// Open in place: m decrypted (when encrypted), then the MIC checked; 1 when it verifies
// (always for mic_len 0), 0 otherwise. Every MIC byte is compared (no early exit).
int ccm_star_decrypt(const uint8_t *ks, const uint8_t *nonce, uint8_t *buf, size_t a_len,
    size_t c_len, size_t mic_len, int encrypted);

#endif
