// CRC-16/ARC (the P1 telegram checksum): see crc16_arc.c.
#ifndef CRC16_ARC_H
#define CRC16_ARC_H

#include <stddef.h>
#include <stdint.h>

// Continue a CRC-16/ARC over len bytes; start with crc = 0.
uint16_t crc16_arc(uint16_t crc, const uint8_t *data, size_t len);

#endif
