// ZigBee NWK and APS frame security (ZigBee spec 05-3474, 4.5) in C: the auxiliary frame
// header codec and CCM* with the ZigBee nonce over the frame in place, so that securing or
// opening a frame takes no Python byte loops (nonce, level restore). The same bytes as the
// Python fallback in firmware/han/nwk/security.py (tests/unit/test_han_nwk_sec_paths.py
// compares them on tier 2; tests/host/test_aes_ccm_kernels.py compiles this file).
// Plain C, no MicroPython headers, no allocation, no library calls.
//
//   auxiliary header (4.5.1): security control (1) | frame counter (4, LE)
//       | source address (8, LE, when extended nonce) | key sequence number (1, key id 1)
//   security control (4.5.1.1): bits 0-2 level, 3-4 key identifier, 5 extended nonce.
#include "zigbee_sec.h"
#include "aes128.h"
#include "ccm_star.h"

#define SC_EXT_NONCE (0x20)  // 4.5.1.1.3
#define KEY_NETWORK (1)      // 4.5.1.1.2: only this key id carries a key sequence number

size_t zigbee_aux_len(uint8_t sc) {
    return 5 + ((sc & SC_EXT_NONCE) ? 8 : 0) + (((sc >> 3) & 3) == KEY_NETWORK ? 1 : 0);
}

size_t zigbee_aux_parse(const uint8_t *p, size_t avail, zigbee_aux_t *aux) {
    if (avail < 1) {
        return 0;
    }
    uint8_t sc = p[0];
    size_t k = zigbee_aux_len(sc);
    if (k > avail) {
        return 0;
    }
    aux->level = sc & 7;
    aux->key_id = (sc >> 3) & 3;
    aux->ext_nonce = (sc & SC_EXT_NONCE) != 0;
    aux->frame_counter = load32(p + 1);
    const uint8_t *q = p + 5;
    if (aux->ext_nonce) {
        for (int i = 0; i < 8; i++) {  // on air LSB first; kept MSB first
            aux->src64[7 - i] = q[i];
        }
        q += 8;
    }
    aux->key_seq = aux->key_id == KEY_NETWORK ? q[0] : 0;
    return k;
}

size_t zigbee_aux_build(const zigbee_aux_t *aux, uint8_t *p, size_t avail) {
    uint8_t sc = (uint8_t)((aux->level & 7) | ((aux->key_id & 3) << 3) |
        (aux->ext_nonce ? SC_EXT_NONCE : 0));
    size_t k = zigbee_aux_len(sc);
    if (k > avail) {
        return 0;
    }
    p[0] = sc;
    store32(p + 1, aux->frame_counter);
    uint8_t *q = p + 5;
    if (aux->ext_nonce) {
        for (int i = 0; i < 8; i++) {
            q[i] = aux->src64[7 - i];
        }
        q += 8;
    }
    if (((sc >> 3) & 3) == KEY_NETWORK) {
        q[0] = aux->key_seq;
    }
    return k;
}

// Nonce (4.5.2.2): source address in on-air order || frame counter as on air || control.
static void nonce_for(uint8_t nonce[CCM_STAR_NONCE_SIZE], const uint8_t src64[8],
    const uint8_t *aux, uint8_t sc) {
    for (int i = 0; i < 8; i++) {
        nonce[i] = src64[7 - i];
    }
    for (int i = 0; i < 4; i++) {
        nonce[8 + i] = aux[1 + i];
    }
    nonce[12] = sc;
}

void zigbee_encrypt(const uint8_t *ks, const uint8_t src64[8], uint8_t *buf, size_t hdr_len,
    size_t a_len, size_t m_len, size_t mic_len, uint8_t level) {
    uint8_t nonce[CCM_STAR_NONCE_SIZE];
    uint8_t sc = (uint8_t)((buf[hdr_len] & 0xf8) | (level & 7));
    buf[hdr_len] = sc;  // a and the nonce carry nwkSecurityLevel (4.3.1.1)
    nonce_for(nonce, src64, buf + hdr_len, sc);
    ccm_star_encrypt(ks, nonce, buf, a_len, m_len, mic_len, 1);
    buf[hdr_len] = sc & 0xf8;  // ... which is not sent (4.3.1.1 step 7)
}

int zigbee_decrypt(const uint8_t *ks, const uint8_t src64[8], uint8_t *buf, size_t hdr_len,
    size_t a_len, size_t c_len, size_t mic_len, uint8_t level) {
    uint8_t nonce[CCM_STAR_NONCE_SIZE];
    uint8_t on_air = buf[hdr_len];
    uint8_t sc = (uint8_t)((on_air & 0xf8) | (level & 7));
    buf[hdr_len] = sc;  // the receiver restores nwkSecurityLevel (4.3.1.2 step 4)
    nonce_for(nonce, src64, buf + hdr_len, sc);
    int ok = ccm_star_decrypt(ks, nonce, buf, a_len, c_len, mic_len, 1);
    buf[hdr_len] = on_air;
    return ok;
}
