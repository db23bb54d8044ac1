// BLAKE2b as specified in RFC 7693, unkeyed, written for speed on 64-bit CPUs:
// little-endian loads through memcpy, the twelve rounds written out by macros with
// their message indices as literals. The package passes no optimisation flag (a
// dependency may not carry unsafe flags): SwiftPM's release -O2 makes this as fast as
// -O3, and debug's -O0, without a table lookup or a call per step, is slower but
// tolerable for tests (clang has no pragma that raises -O0).
#include "cblake2b.h"
#include <string.h>

static const uint64_t IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL,
};

__attribute__((always_inline)) static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

#define ROTR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))

// G and ROUND take the message words' indices as literals (RFC 7693's SIGMA, one row per
// round) so that no build, optimised or not, looks them up in a table.
#define G(x, y, a, b, c, d)                       \
    do {                                          \
        a = a + b + m[x];                         \
        d = ROTR64(d ^ a, 32);                    \
        c = c + d;                                \
        b = ROTR64(b ^ c, 24);                    \
        a = a + b + m[y];                         \
        d = ROTR64(d ^ a, 16);                    \
        c = c + d;                                \
        b = ROTR64(b ^ c, 63);                    \
    } while (0)

#define ROUND(s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15) \
    do {                                          \
        G(s0, s1, v0, v4, v8, v12);               \
        G(s2, s3, v1, v5, v9, v13);               \
        G(s4, s5, v2, v6, v10, v14);              \
        G(s6, s7, v3, v7, v11, v15);              \
        G(s8, s9, v0, v5, v10, v15);              \
        G(s10, s11, v1, v6, v11, v12);            \
        G(s12, s13, v2, v7, v8, v13);             \
        G(s14, s15, v3, v4, v9, v14);             \
    } while (0)

static void compress(bc_blake2b_state *s, const uint8_t *block, int last) {
    uint64_t m[16];
    for (int i = 0; i < 16; i++) m[i] = load64(block + 8 * i);
    uint64_t v0 = s->h[0], v1 = s->h[1], v2 = s->h[2], v3 = s->h[3];
    uint64_t v4 = s->h[4], v5 = s->h[5], v6 = s->h[6], v7 = s->h[7];
    uint64_t v8 = IV[0], v9 = IV[1], v10 = IV[2], v11 = IV[3];
    uint64_t v12 = IV[4] ^ s->t[0], v13 = IV[5] ^ s->t[1];
    uint64_t v14 = last ? ~IV[6] : IV[6], v15 = IV[7];
    ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
    ROUND(11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4);
    ROUND(7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8);
    ROUND(9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13);
    ROUND(2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9);
    ROUND(12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11);
    ROUND(13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10);
    ROUND(6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5);
    ROUND(10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0);
    ROUND(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    ROUND(14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3);
    s->h[0] ^= v0 ^ v8;  s->h[1] ^= v1 ^ v9;  s->h[2] ^= v2 ^ v10; s->h[3] ^= v3 ^ v11;
    s->h[4] ^= v4 ^ v12; s->h[5] ^= v5 ^ v13; s->h[6] ^= v6 ^ v14; s->h[7] ^= v7 ^ v15;
}

static inline void increment(bc_blake2b_state *s, uint64_t n) {
    s->t[0] += n;
    if (s->t[0] < n) s->t[1]++;
}

void bc_blake2b_init(bc_blake2b_state *s, size_t outlen) {
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 8; i++) s->h[i] = IV[i];
    // Parameter block: digest length, no key, fanout 1, depth 1.
    s->h[0] ^= 0x01010000ULL ^ (uint64_t)outlen;
    s->outlen = outlen;
}

void bc_blake2b_update(bc_blake2b_state *s, const void *in, size_t inlen) {
    const uint8_t *p = in;
    if (inlen == 0) return;
    // The last block is compressed in final (it needs the last-block flag), so a
    // full buffer is compressed only once more input arrives.
    if (s->buflen > 0) {
        size_t take = 128 - s->buflen;
        if (take > inlen) take = inlen;
        memcpy(s->buf + s->buflen, p, take);
        s->buflen += take;
        p += take;
        inlen -= take;
        if (inlen == 0) return;
        increment(s, 128);
        compress(s, s->buf, 0);
        s->buflen = 0;
    }
    while (inlen > 128) {
        increment(s, 128);
        compress(s, p, 0);
        p += 128;
        inlen -= 128;
    }
    memcpy(s->buf, p, inlen);
    s->buflen = inlen;
}

void bc_blake2b_final(bc_blake2b_state *s, uint8_t *out) {
    increment(s, s->buflen);
    memset(s->buf + s->buflen, 0, 128 - s->buflen);
    compress(s, s->buf, 1);
    uint8_t full[64];
    for (int i = 0; i < 8; i++) {
        uint64_t h = s->h[i];
        for (int j = 0; j < 8; j++) full[8 * i + j] = (uint8_t)(h >> (8 * j));
    }
    memcpy(out, full, s->outlen);
}

void bc_blake2b(uint8_t *out, size_t outlen, const void *in, size_t inlen) {
    bc_blake2b_state s;
    bc_blake2b_init(&s, outlen);
    bc_blake2b_update(&s, in, inlen);
    bc_blake2b_final(&s, out);
}
