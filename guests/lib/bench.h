/* bench.h - what the benchmark guests (guests/bench_micro.c, bench_e2e.c) share: RDTSC, the
 * "key=value" words of the guest command line, and the BENCH lines scripts/bench.py parses
 * (docs/bench.md).
 *
 *   uint32_t n = bench_start(mbi);           // console, IDT, command line; n=
 *   if (bench_arg_is("op", "cpuid")) ...
 *   uint64_t t0 = rdtsc(); ...; bench_report("cpuid", n, (int64_t)(rdtsc() - t0), NULL);
 *
 * In this header, not a .c file: every object in guests/lib is linked into every guest, and
 * growing the other guests' images moves addresses some of them print (see paging.h). Plain
 * static, not inline, as the two guests' own copies were: the compiler then inlines as it did,
 * and the code around the timed loops stays the same (bench_micro's image is unchanged). Both
 * guests use every function here: with -Werror an unused static one does not compile.
 */
#ifndef GUEST_BENCH_H
#define GUEST_BENCH_H

#include "guest.h"
#include "idt.h"

/* Inside Bochs RDTSC advances by one per instruction (docs/bench.md). A compiler barrier, so
 * that the code between two reads is the code the caller wrote there and no more. */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* The guest command line ("" when there is none), set by bench_start(). */
static const char *bench_cmdline = "";

/* Where the value of the word "key=value" starts (it runs to the next space or the end), or
 * NULL when there is no such word. */
static const char *bench_arg(const char *key)
{
	size_t kl = strlen(key);
	for (const char *s = bench_cmdline; *s; s++)
		if ((s == bench_cmdline || s[-1] == ' ') && !memcmp(s, key, kl) && s[kl] == '=')
			return s + kl + 1;
	return NULL;
}

/* The decimal number at *sp (0 when there are no digits); *sp is left after it. */
static uint32_t bench_parse_uint(const char **sp)
{
	uint32_t v = 0;
	const char *s = *sp;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint32_t)(*s++ - '0');
	*sp = s;
	return v;
}

/* key's value as a decimal number, or dflt when it is missing or does not start with a digit. */
static uint32_t bench_arg_uint(const char *key, uint32_t dflt)
{
	const char *s = bench_arg(key);
	return s && *s >= '0' && *s <= '9' ? bench_parse_uint(&s) : dflt;
}

/* Whether key's value is exactly val. */
static bool bench_arg_is(const char *key, const char *val)
{
	const char *s = bench_arg(key);
	size_t vl = strlen(val);
	return s && !memcmp(s, val, vl) && (s[vl] == 0 || s[vl] == ' ');
}

/* Serial console, IDT and bench_cmdline from the multiboot info. Returns the number of rounds,
 * n= (default 1000, at least 1). */
static uint32_t bench_start(const struct mb1_info *mbi)
{
	serial_init();
	if ((mbi->flags & (1u << 2)) && mbi->cmdline)
		bench_cmdline = (const char *)mbi->cmdline;
	idt_init();
	uint32_t n = bench_arg_uint("n", 1000);
	return n ? n : 1;
}

/* v / d for a 64-bit v: the C operator would call libgcc, which guests do not link. */
static uint64_t udiv64(uint64_t v, uint32_t d)
{
	uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
	uint32_t qhi = hi / d, r = hi % d, qlo;
	__asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
	return ((uint64_t)qhi << 32) | qlo;
}

/* "BENCH name=.. n=.. total=.. per_op=X.YY" plus extra (" key=value ...", may be NULL):
 * per_op is total / n rounded to two decimals. total may be negative (a difference of two
 * timings). */
static void bench_report(const char *name, uint32_t n, int64_t total, const char *extra)
{
	bool neg = total < 0;
	uint64_t mag = neg ? (uint64_t)-total : (uint64_t)total;
	uint64_t x100 = n ? udiv64(mag * 100 + n / 2, n) : 0;
	uint64_t whole = udiv64(x100, 100);
	printf("BENCH name=%s n=%u total=%lld per_op=%s%llu.%02u%s\n", name, n, total,
	       neg ? "-" : "", whole, (unsigned)(x100 - whole * 100), extra ? extra : "");
}

/* "RESULT error <why>", then exit code 1. */
static void __attribute__((noreturn)) bench_fail(const char *why)
{
	printf("RESULT error %s\n", why);
	guest_exit(1);
}

#endif
