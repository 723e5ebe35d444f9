/* SOURCES: kernel/fmt.c */
/*
 * test_fmt.c - kernel/fmt.c against the host C library: for every supported format the output
 * bytes and the return value of fmt_snprintf must equal those of the host's snprintf.
 */
#include "unit.h"
#include <limits.h>
#include <sys/types.h>

#include "kernel/fmt.h"

#define BUF 512

/*
 * Formats with both the host's vsnprintf and fmt_vsnprintf into BUF-sized buffers; true when
 * return values and output bytes (up to and including the NUL) agree and fmt wrote nothing
 * after its NUL. Prints the difference otherwise.
 */
__attribute__((format(printf, 3, 4)))
static bool same_as_libc(const char *file, int line, const char *fmt, ...)
{
	char want[BUF], got[BUF];
	va_list ap, ap2;
	memset(want, 0, sizeof(want));
	memset(got, 0xaa, sizeof(got));
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int wn = vsnprintf(want, sizeof(want), fmt, ap);
	int gn = fmt_vsnprintf(got, sizeof(got), fmt, ap2);
	va_end(ap2);
	va_end(ap);
	bool ok = wn == gn && wn >= 0 && wn < BUF && !memcmp(want, got, (size_t)wn + 1);
	for (int i = gn + 1; ok && i < BUF && gn >= 0; i++)
		ok = (unsigned char)got[i] == 0xaa;
	if (!ok)
		print_error("%s:%d: format \"%s\": libc \"%s\" (%d), fmt \"%.*s\" (%d)\n", file, line,
			    fmt, want, wn, BUF - 1, got, gn);
	return ok;
}

/* Asserts that one format agrees with libc. */
#define CHECK(...) assert_true(same_as_libc(__FILE__, __LINE__, __VA_ARGS__))
/* Counts disagreements (for loops: every mismatch is printed, then the test fails once). */
#define COUNT_BAD(bad, ...) ((bad) += !same_as_libc(__FILE__, __LINE__, __VA_ARGS__))

/* ---- Literal text, %%, %c ---- */

static void test_plain_text(void **state)
{
	(void)state;
	CHECK("hello, world");
	CHECK("%s", "");
	CHECK("100%%");
	CHECK("%%%%x%%");
}

static void test_empty_format(void **state)
{
	(void)state;
	char buf[8];
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%s", ""), 0);
	assert_int_equal(buf[0], '\0');
}

static void test_char(void **state)
{
	(void)state;
	CHECK("%c%c%c", 'a', 'b', 'c');
	CHECK("[%5c][%-5c][%1c][%c]", 'x', 'y', 'z', '~');
	CHECK("[%*c][%*c]", 3, 'p', -3, 'q');
	CHECK("a%cb", '\0'); /* a NUL character is output and counted */
}

/* ---- %s: width, precision, left justification, NULL ---- */

static void test_string(void **state)
{
	(void)state;
	CHECK("%s", "abc");
	CHECK("[%10s][%-10s]", "abc", "abc");
	CHECK("[%.2s][%.0s][%.10s]", "abcdef", "abcdef", "abcdef");
	CHECK("[%10.2s][%-10.2s]", "abcdef", "abcdef");
	CHECK("[%2s]", "longer than the width");
	CHECK("[%*s][%-*s][%.*s]", 6, "ab", 6, "ab", 3, "abcdef");
	CHECK("[%*s]", -6, "ab");     /* negative width: left-justified */
	CHECK("[%.*s]", -1, "abcdef"); /* negative precision: as if omitted */
	CHECK("%s=%s;", "key", "value");
}

static void test_string_null(void **state)
{
	(void)state;
	const char *volatile null = NULL; /* hides the NULL from -Wformat-overflow */
	/* glibc prints "(null)"; with a precision below 6 it prints "", so precision is not compared. */
	CHECK("%s", null);
	CHECK("[%10s][%-10s]", null, null);
}

/* ---- Signed conversions: every flag/width/precision template x length modifier x value ---- */

static const char *const signed_templates[] = {
	"", "1", "5", "-5", "05", "+", " ", "+5", "-+5", "+05", " 05", "- 5", ".3", ".0", "5.0",
	"8.3", "-8.3", "08.3", "+.3", " .3", "-08", "20", "-20", "020", "+020", ".20", "+.0", " .0",
};

static const char *const unsigned_templates[] = {
	"", "1", "5", "-5", "05", ".3", ".0", "5.0", "8.3", "-8.3", "08.3", "-08", "22", "-22",
	"022", ".22",
};

/* Extra templates for x and X only: the '#' flag (its meaning for o is tested separately). */
static const char *const hex_alt_templates[] = {
	"#", "#8", "#-8", "-#8", "#08", "#.3", "#.0", "#5.0", "#8.3", "#08.3", "#022", "#.22",
};

static const long long signed_values[] = {
	0, 1, -1, 7, -7, 42, -42, 127, -128, 128, 255, 32767, -32768, 65535, 100000, -100000,
	INT_MAX, INT_MIN, (long long)INT_MAX + 1, (long long)INT_MIN - 1, LLONG_MAX, LLONG_MIN,
	0x123456789abcdefLL, -0x123456789abcdefLL,
};

static const unsigned long long unsigned_values[] = {
	0, 1, 7, 8, 15, 16, 42, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, UINT_MAX,
	(unsigned long long)UINT_MAX + 1, 0x123456789abcdefULL, 0xfedcba9876543210ULL, ULLONG_MAX,
};

enum kind { K_INT, K_LONG, K_LLONG, K_SSIZE, K_INTMAX, K_PTRDIFF,
	    K_UINT, K_ULONG, K_ULLONG, K_SIZE, K_UINTMAX };

/* Checks "%<template><len><conv>" for each template and value, passing the value as kind. */
static int check_templates(const char *const *tmpl, size_t ntmpl, const char *len, char conv,
			   enum kind k)
{
	int bad = 0;
	char f[32];
	size_t nvals = k < K_UINT ? ARRAY_SIZE(signed_values) : ARRAY_SIZE(unsigned_values);
	for (size_t t = 0; t < ntmpl; t++) {
		snprintf(f, sizeof(f), "%%%s%s%c", tmpl[t], len, conv);
		for (size_t i = 0; i < nvals; i++) {
			long long s = k < K_UINT ? signed_values[i] : 0;
			unsigned long long u = k < K_UINT ? 0 : unsigned_values[i];
			switch (k) {
			case K_INT: COUNT_BAD(bad, f, (int)s); break;
			case K_LONG: COUNT_BAD(bad, f, (long)s); break;
			case K_LLONG: COUNT_BAD(bad, f, s); break;
			case K_SSIZE: COUNT_BAD(bad, f, (ssize_t)s); break;
			case K_INTMAX: COUNT_BAD(bad, f, (intmax_t)s); break;
			case K_PTRDIFF: COUNT_BAD(bad, f, (ptrdiff_t)s); break;
			case K_UINT: COUNT_BAD(bad, f, (unsigned int)u); break;
			case K_ULONG: COUNT_BAD(bad, f, (unsigned long)u); break;
			case K_ULLONG: COUNT_BAD(bad, f, u); break;
			case K_SIZE: COUNT_BAD(bad, f, (size_t)u); break;
			case K_UINTMAX: COUNT_BAD(bad, f, (uintmax_t)u); break;
			}
		}
	}
	return bad;
}

#define SIGNED(len, conv, k) \
	check_templates(signed_templates, ARRAY_SIZE(signed_templates), len, conv, k)
#define UNSIGNED(len, conv, k) \
	check_templates(unsigned_templates, ARRAY_SIZE(unsigned_templates), len, conv, k)
#define HEX_ALT(len, conv, k) \
	check_templates(hex_alt_templates, ARRAY_SIZE(hex_alt_templates), len, conv, k)

static void test_signed_int(void **state)
{
	(void)state;
	assert_int_equal(SIGNED("", 'd', K_INT) + SIGNED("", 'i', K_INT), 0);
}

static void test_signed_hh_h(void **state)
{
	(void)state;
	/* int arguments out of char/short range are converted, like C's (signed char)/(short) */
	assert_int_equal(SIGNED("hh", 'd', K_INT) + SIGNED("h", 'd', K_INT) + SIGNED("h", 'i', K_INT),
			 0);
}

static void test_signed_l_ll(void **state)
{
	(void)state;
	assert_int_equal(SIGNED("l", 'd', K_LONG) + SIGNED("ll", 'd', K_LLONG) +
			 SIGNED("ll", 'i', K_LLONG), 0);
}

static void test_signed_z_j_t(void **state)
{
	(void)state;
	assert_int_equal(SIGNED("z", 'd', K_SSIZE) + SIGNED("j", 'd', K_INTMAX) +
			 SIGNED("t", 'd', K_PTRDIFF), 0);
}

/* ---- Unsigned conversions u o x X ---- */

static void test_unsigned_int(void **state)
{
	(void)state;
	int bad = 0;
	for (const char *c = "uoxX"; *c; c++)
		bad += UNSIGNED("", *c, K_UINT);
	bad += HEX_ALT("", 'x', K_UINT) + HEX_ALT("", 'X', K_UINT);
	assert_int_equal(bad, 0);
}

static void test_unsigned_hh_h(void **state)
{
	(void)state;
	int bad = 0;
	for (const char *c = "uoxX"; *c; c++)
		bad += UNSIGNED("hh", *c, K_UINT) + UNSIGNED("h", *c, K_UINT);
	bad += HEX_ALT("hh", 'x', K_UINT) + HEX_ALT("h", 'X', K_UINT);
	assert_int_equal(bad, 0);
}

static void test_unsigned_l_ll(void **state)
{
	(void)state;
	int bad = 0;
	for (const char *c = "uoxX"; *c; c++)
		bad += UNSIGNED("l", *c, K_ULONG) + UNSIGNED("ll", *c, K_ULLONG);
	bad += HEX_ALT("l", 'x', K_ULONG) + HEX_ALT("ll", 'X', K_ULLONG);
	assert_int_equal(bad, 0);
}

static void test_unsigned_z_j(void **state)
{
	(void)state;
	int bad = 0;
	for (const char *c = "uoxX"; *c; c++)
		bad += UNSIGNED("z", *c, K_SIZE) + UNSIGNED("j", *c, K_UINTMAX);
	bad += HEX_ALT("z", 'x', K_SIZE);
	assert_int_equal(bad, 0);
}

/* '#' with o on non-zero values without precision: a leading 0 (see the BUG tests below). */
static void test_octal_alt_nonzero(void **state)
{
	(void)state;
	CHECK("[%#o][%#o][%#o][%#llo]", 8u, 1u, 0777u, 01234567012345670123ULL);
	CHECK("[%#8o][%#-8o]", 8u, 8u);
}

/* ---- '*' width and precision from the arguments ---- */

static void test_star_width_precision(void **state)
{
	(void)state;
	CHECK("[%*d][%-*d]", 6, 42, 6, 42);
	CHECK("[%*d]", -6, 42);          /* negative width means '-' */
	CHECK("[%.*d][%.*d]", 5, 42, 0, 0);
	/* negative precision is ignored, so '0' pads again (not a literal: gcc warns about '0') */
	const char *zero_star = "[%.*d][%0*.*d]";
	CHECK(zero_star, -1, 42, 8, -3, 42);
	CHECK("[%*.*x][%-*.*X]", 10, 6, 0xabcu, 10, 6, 0xabcu);
	CHECK("[%0*d]", 7, -42);
}

/* ---- %p ---- */

static void test_pointer(void **state)
{
	(void)state;
	int local;
	CHECK("%p", (void *)0x1234);
	CHECK("%p", (void *)&local);
	CHECK("%p", (void *)UINTPTR_MAX);
	CHECK("[%20p][%-20p]", (void *)0xdeadbeef, (void *)0xdeadbeef);
	CHECK("%p %p", (void *)1, (void *)0xffff800000000000ULL);
}

static void test_pointer_null(void **state)
{
	(void)state;
	/* glibc prints "(nil)"; fmt's choice is not specified, but it must be a visible zero. */
	char buf[32];
	int n = fmt_snprintf(buf, sizeof(buf), "[%p]", (void *)0);
	assert_int_equal(n, (int)strlen(buf));
	assert_true(!strcmp(buf, "[0]") || !strcmp(buf, "[0x0]") || !strcmp(buf, "[(nil)]"));
}

/* ---- Mixed formats ---- */

static void test_mixed(void **state)
{
	(void)state;
	CHECK("[hv %c] %s: %d pages (%llu MiB) at %#llx", 'I', "pmm", 1234, 56ULL, 0x100000ULL);
	CHECK("%08x-%04hx-%02hhx %s|%-6s|%5d%%", 0xdeadbeefu, (unsigned short)0xbeef,
	      (unsigned char)0x7f, "x", "ab", 99);
	CHECK("0x%012llx-0x%012llx %s", 0x9fc00ULL, 0x100000000ULL, "available");
	CHECK("%.*s=%zu", 3, "keyboard", (size_t)17);
}

/* ---- Truncation, return value, small sizes ---- */

/* For each size 0..len+2: same return value and prefix as libc, no byte written past size. */
static void check_truncation(const char *fmt, ...)
{
	char want[BUF];
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int len = vsnprintf(want, sizeof(want), fmt, ap2);
	va_end(ap2);
	assert_true(len > 0 && len < BUF);
	for (size_t size = 0; size <= (size_t)len + 2; size++) {
		/* exactly size bytes on the heap: ASan catches any write past the end */
		char *buf = size ? malloc(size) : NULL;
		if (size)
			memset(buf, 0xaa, size);
		va_copy(ap2, ap);
		int n = fmt_vsnprintf(buf, size, fmt, ap2);
		va_end(ap2);
		size_t kept = size ? MIN((size_t)len, size - 1) : 0;
		bool prefix_ok = !size || (!memcmp(buf, want, kept) && buf[kept] == '\0');
		free(buf); /* before asserting: a failed assert must not also leak */
		if (n != len || !prefix_ok)
			fail_msg("format \"%s\" size %zu: returned %d (libc %d), prefix %s", fmt, size,
				 n, len, prefix_ok ? "ok" : "wrong or not terminated");
	}
	va_end(ap);
}

static void test_truncation_text(void **state)
{
	(void)state;
	check_truncation("hello, world");
}

static void test_truncation_numbers(void **state)
{
	(void)state;
	check_truncation("%d|%5u|%-8x|%#llx|%+05d", -12345, 42u, 0xbeefu, 0x1234567890ULL, 7);
}

static void test_truncation_strings(void **state)
{
	(void)state;
	check_truncation("[%10s][%-6s][%.2s]%c", "abc", "de", "fghij", 'k');
}

static void test_truncation_wide_field(void **state)
{
	(void)state;
	check_truncation("%300d", 1); /* the padding alone overflows a small buffer */
}

static void test_size_zero_null_buffer(void **state)
{
	(void)state;
	assert_int_equal(fmt_snprintf(NULL, 0, "%s-%d", "abc", 12345), 9);
}

static void test_size_zero_leaves_buffer(void **state)
{
	(void)state;
	char buf[4] = { 'x', 'y', 'z', 'w' };
	assert_int_equal(fmt_snprintf(buf, 0, "hello"), 5);
	assert_memory_equal(buf, "xyzw", 4);
}

static void test_size_one(void **state)
{
	(void)state;
	char buf[2] = { 'x', 'y' };
	assert_int_equal(fmt_snprintf(buf, 1, "%d", 123), 3);
	assert_int_equal(buf[0], '\0');
	assert_int_equal(buf[1], 'y');
}

static void test_vsnprintf_wrapper(void **state)
{
	(void)state;
	char a[64], b[64];
	int na = fmt_snprintf(a, sizeof(a), "%s %d %x", "v", -3, 255u);
	int nb = snprintf(b, sizeof(b), "%s %d %x", "v", -3, 255u);
	assert_int_equal(na, nb);
	assert_string_equal(a, b);
}

/* ---- Unknown conversions and a trailing '%' are copied verbatim ---- */

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"

static void test_unknown_conversion(void **state)
{
	(void)state;
	char buf[32];
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "a%qb"), 4);
	assert_string_equal(buf, "a%qb");
}

static void test_trailing_percent(void **state)
{
	(void)state;
	char buf[32];
	assert_int_equal(fmt_snprintf(buf, sizeof(buf), "abc%"), 4);
	assert_string_equal(buf, "abc%");
}

/*
 * ---- regression tests for bugs found by these tests, now fixed ----
 * C99 7.19.6.1: '#' with o "increases the precision, if and only if necessary, to force the
 * first digit of the result to be a zero"; '+' and ' ' apply to signed conversions only.
 * fmt.c's num_prefix() always prepends "0" for %#o, and "+"/" " for every conversion.
 */

/* Regression (fixed): fmt_snprintf("%#o", 0) gives "00"; C and glibc give "0". */
static void test_regression_octal_alt_zero(void **state)
{
	(void)state;
	CHECK("%#o", 0u);
	CHECK("[%#5o]", 0u);
}

/* Regression (fixed): fmt_snprintf("%#.3o", 8) gives "0010"; C and glibc give "010". */
static void test_regression_octal_alt_precision(void **state)
{
	(void)state;
	CHECK("%#.3o", 8u);
	CHECK("%#.5o", 8u);
}

/* Regression (fixed): fmt_snprintf("%+u", 5) gives "+5" and "% x" gives " 5"; C and glibc give "5". */
static void test_regression_sign_flags_on_unsigned(void **state)
{
	(void)state;
	CHECK("%+u", 5u);
	CHECK("% x", 5u);
	CHECK("%+#x", 0x1fu); /* and the sign replaces the 0x prefix */
}

#pragma GCC diagnostic pop

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_text),
		cmocka_unit_test(test_empty_format),
		cmocka_unit_test(test_char),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_string_null),
		cmocka_unit_test(test_signed_int),
		cmocka_unit_test(test_signed_hh_h),
		cmocka_unit_test(test_signed_l_ll),
		cmocka_unit_test(test_signed_z_j_t),
		cmocka_unit_test(test_unsigned_int),
		cmocka_unit_test(test_unsigned_hh_h),
		cmocka_unit_test(test_unsigned_l_ll),
		cmocka_unit_test(test_unsigned_z_j),
		cmocka_unit_test(test_octal_alt_nonzero),
		cmocka_unit_test(test_star_width_precision),
		cmocka_unit_test(test_pointer),
		cmocka_unit_test(test_pointer_null),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_truncation_text),
		cmocka_unit_test(test_truncation_numbers),
		cmocka_unit_test(test_truncation_strings),
		cmocka_unit_test(test_truncation_wide_field),
		cmocka_unit_test(test_size_zero_null_buffer),
		cmocka_unit_test(test_size_zero_leaves_buffer),
		cmocka_unit_test(test_size_one),
		cmocka_unit_test(test_vsnprintf_wrapper),
		cmocka_unit_test(test_unknown_conversion),
		cmocka_unit_test(test_trailing_percent),
		cmocka_unit_test(test_regression_octal_alt_zero),
		cmocka_unit_test(test_regression_octal_alt_precision),
		cmocka_unit_test(test_regression_sign_flags_on_unsigned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
