/* hash.c: FNV-1a, eight bytes per step, with a final avalanche. */
#include <stdio.h>
#include <string.h>

#include "soundalike/hash.h"

static const uint64_t PRIME = UINT64_C(0x100000001b3);

static uint64_t mix(uint64_t h) {
    /* fold high bits down so that word-wise FNV spreads into every bit */
    h ^= h >> 33;
    h *= UINT64_C(0xff51afd7ed558ccd);
    h ^= h >> 33;
    return h;
}

uint64_t sa_hash64(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * PRIME;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    while (n--)
        h = (h ^ *p++) * PRIME;
    return mix(h);
}

void sa_hash64_hex(uint64_t h, char out[17]) { snprintf(out, 17, "%016llx", (unsigned long long)h); }
