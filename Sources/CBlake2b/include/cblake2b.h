#ifndef BUNDLECAST_CBLAKE2B_H
#define BUNDLECAST_CBLAKE2B_H

#include <stddef.h>
#include <stdint.h>

/// Unkeyed BLAKE2b (RFC 7693) with a digest of 1 to 64 bytes.
///
/// Bundlecast hashes every byte of a bundle with BLAKE2b-256; libsodium 1.0.18's
/// implementation runs at about half the speed of a plain optimised compile of the
/// RFC's algorithm on the x86-64 machines we measured (see docs/benchmarks.md), so
/// this one does the bulk hashing. Tests check it against libsodium on random input.
typedef struct {
    uint64_t h[8];
    uint64_t t[2];
    uint8_t buf[128];
    size_t buflen;
    size_t outlen;
} bc_blake2b_state;

void bc_blake2b_init(bc_blake2b_state *s, size_t outlen);
void bc_blake2b_update(bc_blake2b_state *s, const void *in, size_t inlen);
void bc_blake2b_final(bc_blake2b_state *s, uint8_t *out);
/// One call: `out` receives `outlen` bytes.
void bc_blake2b(uint8_t *out, size_t outlen, const void *in, size_t inlen);

#endif
