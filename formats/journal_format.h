/* journal_format.h: on-disk constants of the proxtop journal (see FORMAT.md, which is normative).
 * Internal to formats/: programs use journal_writer.h and journal_reader.h.
 * SPDX-License-Identifier: MIT */
#ifndef FORMATS_JOURNAL_FORMAT_H
#define FORMATS_JOURNAL_FORMAT_H

#include <stdint.h>
#include <string.h>

/* File preamble: 8-byte magic, u16le major, u16le minor, u32le reserved (0). */
#define JOURNAL_MAGIC        "\x89PXJ\r\n\x1a\n"
#define JOURNAL_MAGIC_LEN    8
#define JOURNAL_PREAMBLE_LEN 16
#define JOURNAL_FORMAT_MAJOR 1
#define JOURNAL_FORMAT_MINOR 0

/* Frame header: sync[4] | u32le body_len | u8 type | u8 flags | u16le seq | u32le crc32c.
 * The CRC covers header bytes 4..11 followed by the body. */
#define JOURNAL_FRAME_HDR_LEN 16
#define JOURNAL_SYNC0         0xF7
#define JOURNAL_SYNC1         'P'
#define JOURNAL_SYNC2         'X'
#define JOURNAL_SYNC3         'F'
#define JOURNAL_MAX_BODY      (64u << 20)

enum journal_frame_type {
    JF_SECTION = 1, /* section header: msgpack map (host, catalogue, settings) */
    JF_CHUNK = 2,   /* a piece of a block: records, raw or a zstd stream continuation */
    JF_INDEX = 3,   /* per-section block index, written when a section closes */
    JF_FOOTER = 4,  /* 8-byte body: u64le file offset of the JF_INDEX frame */
};

enum journal_frame_flags {
    JFF_KEY = 0x01,  /* first chunk of a block: decodes on its own; body starts with u64le t_real */
    JFF_ZSTD = 0x02, /* the (rest of the) body is zstd stream data of the block's zstd frame */
};

/* Record types inside chunks: each record is a msgpack array whose first element is the type. */
enum journal_record_type {
    JR_ENTITY = 1, /* [1, eid, {definition map}] */
    JR_GONE = 2,   /* [2, eid] */
    JR_TICK = 3,   /* [3, t_real, t_mono|nil, [eid, v...]...] (times delta-coded in a block) */
    JR_EVENT = 4,  /* [4, t_real, kind, text] */
};

static inline void journal_put_u16(unsigned char *p, uint16_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline void journal_put_u32(unsigned char *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline void journal_put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static inline uint16_t journal_get_u16(const unsigned char *p) {
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t journal_get_u32(const unsigned char *p) {
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t journal_get_u64(const unsigned char *p) {
    return (uint64_t)journal_get_u32(p) | ((uint64_t)journal_get_u32(p + 4) << 32);
}

#endif
