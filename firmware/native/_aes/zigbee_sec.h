// ZigBee frame security (ZigBee spec 05-3474, 4.5) on ccm_star.c: see zigbee_sec.c.
#ifndef ZIGBEE_SEC_H
#define ZIGBEE_SEC_H

#include <stddef.h>
#include <stdint.h>

#define ZIGBEE_AUX_MAX (14)  // control, counter, extended source, key sequence number

// The fields of one auxiliary header (4.5.1); src64 in written order (MSB first), as
// han.nwk.security.AuxHeader keeps it.
typedef struct {
    uint8_t level;
    uint8_t key_id;
    uint8_t ext_nonce;
    uint8_t key_seq;
    uint32_t frame_counter;
    uint8_t src64[8];
} zigbee_aux_t;

// Length of the auxiliary header that starts with security control byte sc (5, 6, 13, 14).
size_t zigbee_aux_len(uint8_t sc);
// Decode the header at p[0:avail]; its length, or 0 when it does not fit in avail.
size_t zigbee_aux_parse(const uint8_t *p, size_t avail, zigbee_aux_t *aux);
// Write aux (level & 7, key_id & 3) at p[0:avail]; its length, or 0 when it does not fit
// (nothing written then). The key sequence number goes out when the key id is 1 (network).
size_t zigbee_aux_build(const zigbee_aux_t *aux, uint8_t *p, size_t avail);

// CCM* of a secured NWK or APS frame in place: buf[0:hdr_len] the NWK/APS header, the
// auxiliary header at buf[hdr_len] (a_len = hdr_len + its length, a_len >= hdr_len + 5),
// then m_len bytes of payload and the MIC (mic_len bytes). The security control byte is
// given level (on-air senders send 0, 4.3.1.1 step 7) for the nonce and a; the nonce
// (4.5.2.2) is src64 reversed (on-air order) || frame counter as on air || control byte.
// Lengths checked by the caller (as for ccm_star_encrypt).
// Encrypt: the control byte goes out with level 0.
void zigbee_encrypt(const uint8_t *ks, const uint8_t src64[8], uint8_t *buf, size_t hdr_len,
    size_t a_len, size_t m_len, size_t mic_len, uint8_t level);
// Decrypt: 1 when the MIC verifies; the control byte is left as it was on air.
int zigbee_decrypt(const uint8_t *ks, const uint8_t src64[8], uint8_t *buf, size_t hdr_len,
    size_t a_len, size_t c_len, size_t mic_len, uint8_t level);

#endif
