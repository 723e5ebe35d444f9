/* fuzz.h - common prelude for the libFuzzer harnesses (tests/fuzz/fuzz_*.c): a reader that
 * takes fixed-size values off the fuzzer's input (zeros once it runs out, so every input is
 * usable) and CHECK(), which reports a broken invariant and abort()s so that libFuzzer saves
 * the input as a crash. */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/types.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The unread rest of the input. */
struct fz {
	const u8 *p;
	size_t n;
};

static inline u64 fz_bytes(struct fz *f, int len)
{
	u64 v = 0;
	for (int i = 0; i < len; i++) {
		u8 b = 0;
		if (f->n) {
			b = *f->p++;
			f->n--;
		}
		v |= (u64)b << (8 * i);
	}
	return v;
}

static inline u8 fz_u8(struct fz *f) { return (u8)fz_bytes(f, 1); }
static inline u16 fz_u16(struct fz *f) { return (u16)fz_bytes(f, 2); }
static inline u32 fz_u32(struct fz *f) { return (u32)fz_bytes(f, 4); }
static inline u64 fz_u64(struct fz *f) { return fz_bytes(f, 8); }

/* A broken invariant: print what and where, then abort (libFuzzer keeps the input). */
#define CHECK(cond, ...)                                                            \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "\n*** invariant broken at %s:%d: %s\n    ", \
				__FILE__, __LINE__, #cond);                         \
			fprintf(stderr, __VA_ARGS__);                               \
			fprintf(stderr, "\n");                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

#endif
