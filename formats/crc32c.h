/* crc32c.h: CRC-32C (Castagnoli), the checksum of every journal frame.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_CRC32C_H
#define FORMATS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC-32C over n bytes. Start with crc = 0; the result of one call feeds the next:
 * crc32c(crc32c(0, a, na), b, nb) == crc32c(0, a‖b, na + nb). Standard check value:
 * crc32c(0, "123456789", 9) == 0xE3069283. Uses SSE4.2 when the CPU has it. */
uint32_t crc32c(uint32_t crc, const void *data, size_t n);

#endif
