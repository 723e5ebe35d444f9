/* SOURCES: kernel/cmdline.c kernel/fmt.c */
/*
 * test_cmdline.c - kernel/cmdline.c: defaults, every accepted key and value form, and the
 * refusals (unknown key, bad value, no '=', over-long line, number overflow), each of which
 * must return -1, explain itself in err and leave the configuration untouched.
 */
#include "unit.h"

#include "kernel/cmdline.h"
#include "kernel/log.h"

/* A configuration no valid command line produces, to see that a refusal changed nothing. */
static struct hv_config sentinel(void)
{
	struct hv_config c;
	memset(&c, 0, sizeof(c));
	c.guest_mem = 12345;
	c.loglevel = 77;
	c.serial_port = 0x1234;
	c.serial_baud = 4321;
	c.selftest = 99;
	return c;
}

/* Field-by-field equality (padding bytes are not compared). */
static void assert_same_config(const struct hv_config *a, const struct hv_config *b)
{
	assert_int_equal(a->guest_mem, b->guest_mem);
	assert_int_equal(a->loglevel, b->loglevel);
	assert_int_equal(a->serial_port, b->serial_port);
	assert_int_equal(a->serial_baud, b->serial_baud);
	assert_int_equal(a->selftest, b->selftest);
}

/* Parses line over the defaults; asserts success and returns the result. */
static struct hv_config parse_ok(const char *line)
{
	struct hv_config c;
	char err[128] = "";
	cmdline_defaults(&c);
	int r = cmdline_parse(line, &c, err, sizeof(err));
	if (r != 0)
		fail_msg("cmdline \"%s\" refused: %s", line, err);
	return c;
}

/*
 * Asserts that line is refused: -1, a message in err that contains want (if not NULL), and
 * cfg byte-for-byte unchanged.
 */
static void expect_refused(const char *line, const char *want)
{
	struct hv_config before = sentinel(), c = before;
	char err[256];
	memset(err, 0, sizeof(err));
	int r = cmdline_parse(line, &c, err, sizeof(err));
	if (r != -1)
		fail_msg("cmdline \"%s\" returned %d, expected -1", line, r);
	if (err[0] == '\0')
		fail_msg("cmdline \"%s\" refused without a message", line);
	if (want && !strstr(err, want))
		fail_msg("cmdline \"%s\": message \"%s\" does not mention \"%s\"", line, err, want);
	assert_same_config(&c, &before);
}

/* ---- mmu_audit=0|1|N ---- */

static void test_mmu_audit_values(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("mmu_audit=0").mmu_audit, 0);
	assert_int_equal(parse_ok("mmu_audit=1").mmu_audit, 1);
	assert_int_equal(parse_ok("mmu_audit=1000").mmu_audit, 1000);
	expect_refused("mmu_audit=yes", "mmu_audit");
	expect_refused("mmu_audit=-1", "mmu_audit");
	expect_refused("mmu_audit=2000000000", "mmu_audit");
	expect_refused("mmu_audit=", "mmu_audit");
}

/* ---- Defaults ---- */

static void test_defaults(void **state)
{
	(void)state;
	struct hv_config c = sentinel();
	cmdline_defaults(&c);
	assert_int_equal(c.guest_mem, GUEST_MEM_DEFAULT);
	assert_int_equal(c.guest_mem, 64 * 1024 * 1024);
	assert_int_equal(c.loglevel, LOG_INFO);
	assert_int_equal(c.serial_port, 0x3f8);
	assert_int_equal(c.serial_baud, 115200);
	assert_int_equal(c.selftest, SELFTEST_NONE);
}

/* ---- Lines that change nothing ---- */

static void test_empty_line(void **state)
{
	(void)state;
	struct hv_config def, c = parse_ok("");
	cmdline_defaults(&def);
	assert_same_config(&c, &def);
}

static void test_only_spaces(void **state)
{
	(void)state;
	struct hv_config def, c = parse_ok("    ");
	cmdline_defaults(&def);
	assert_same_config(&c, &def);
}

static void test_success_keeps_unmentioned_fields(void **state)
{
	(void)state;
	struct hv_config c = sentinel();
	char err[64] = "";
	assert_int_equal(cmdline_parse("loglevel=warn", &c, err, sizeof(err)), 0);
	assert_int_equal(c.loglevel, LOG_WARN);
	assert_int_equal(c.guest_mem, 12345);
	assert_int_equal(c.serial_port, 0x1234);
	assert_int_equal(c.serial_baud, 4321);
	assert_int_equal(c.selftest, 99);
}

/* ---- guest_mem: plain bytes, K/M/G suffixes, hex, bounds ---- */

static void test_guest_mem_suffixes(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("guest_mem=32M").guest_mem, 32 * MiB);
	assert_int_equal(parse_ok("guest_mem=32m").guest_mem, 32 * MiB);
	assert_int_equal(parse_ok("guest_mem=1G").guest_mem, 1 * GiB);
	assert_int_equal(parse_ok("guest_mem=2g").guest_mem, 2 * GiB);
	assert_int_equal(parse_ok("guest_mem=8192K").guest_mem, 8 * MiB);
	assert_int_equal(parse_ok("guest_mem=8192k").guest_mem, 8 * MiB);
}

static void test_guest_mem_bytes_and_hex(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("guest_mem=16777216").guest_mem, 16 * MiB);
	assert_int_equal(parse_ok("guest_mem=0x4000000").guest_mem, 64 * MiB);
	assert_int_equal(parse_ok("guest_mem=0X4000000").guest_mem, 64 * MiB);
	assert_int_equal(parse_ok("guest_mem=0x1000000").guest_mem, 16 * MiB);
	assert_int_equal(parse_ok("guest_mem=0xABCD000").guest_mem, 0xabcd000);
	assert_int_equal(parse_ok("guest_mem=0x10M").guest_mem, 16 * MiB);
}

static void test_guest_mem_bounds_accepted(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("guest_mem=2M").guest_mem, GUEST_MEM_MIN);
	assert_int_equal(parse_ok("guest_mem=3G").guest_mem, GUEST_MEM_MAX);
	assert_int_equal(parse_ok("guest_mem=3072M").guest_mem, GUEST_MEM_MAX);
}

static void test_guest_mem_out_of_range(void **state)
{
	(void)state;
	expect_refused("guest_mem=1M", "guest_mem");
	expect_refused("guest_mem=2044K", "guest_mem");   /* 4 KiB below the minimum */
	expect_refused("guest_mem=3076M", "guest_mem");   /* above the maximum */
	expect_refused("guest_mem=4G", "guest_mem");
	expect_refused("guest_mem=0", "guest_mem");
}

static void test_guest_mem_not_page_multiple(void **state)
{
	(void)state;
	expect_refused("guest_mem=4194305", "guest_mem"); /* 4 MiB + 1 */
	expect_refused("guest_mem=4098K", "guest_mem");   /* 4 MiB + 2 KiB */
}

static void test_guest_mem_junk(void **state)
{
	(void)state;
	expect_refused("guest_mem=", "guest_mem");
	expect_refused("guest_mem=M", "guest_mem");
	expect_refused("guest_mem=32MB", "guest_mem");
	expect_refused("guest_mem=32T", "guest_mem");
	expect_refused("guest_mem=-32M", "guest_mem");
	expect_refused("guest_mem=+32M", "guest_mem");
	expect_refused("guest_mem=3 2M", NULL);          /* "2M" is then not key=value */
	expect_refused("guest_mem=0x", "guest_mem");
	expect_refused("guest_mem=0xM", "guest_mem");
	expect_refused("guest_mem=0x4g000000", "guest_mem");
	expect_refused("guest_mem=12abc", "guest_mem");
	expect_refused("guest_mem=32M32M", "guest_mem");
}

/* Numbers that wrap around 2^64 to an acceptable value must be refused, not truncated. */
static void test_guest_mem_overflow(void **state)
{
	(void)state;
	expect_refused("guest_mem=18446744073776660480", "guest_mem"); /* 2^64 + 64 MiB */
	expect_refused("guest_mem=0x10000000004000000", "guest_mem");  /* 2^64 + 64 MiB, hex */
	expect_refused("guest_mem=17592186044480M", "guest_mem");      /* (2^44 + 64) MiB */
	expect_refused("guest_mem=18014398509547520K", "guest_mem");   /* (2^54 + 64 Ki) KiB */
	expect_refused("guest_mem=17179869185G", "guest_mem");         /* (2^34 + 1) GiB */
	expect_refused("guest_mem=99999999999999999999999999", "guest_mem");
}

/* ---- loglevel: names and numbers ---- */

static void test_loglevel_names(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("loglevel=error").loglevel, LOG_ERROR);
	assert_int_equal(parse_ok("loglevel=warn").loglevel, LOG_WARN);
	assert_int_equal(parse_ok("loglevel=info").loglevel, LOG_INFO);
	assert_int_equal(parse_ok("loglevel=debug").loglevel, LOG_DEBUG);
}

static void test_loglevel_numbers(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("loglevel=0").loglevel, 0);
	assert_int_equal(parse_ok("loglevel=1").loglevel, 1);
	assert_int_equal(parse_ok("loglevel=2").loglevel, 2);
	assert_int_equal(parse_ok("loglevel=3").loglevel, 3);
	assert_int_equal(parse_ok("loglevel=0x3").loglevel, 3);
}

static void test_loglevel_bad(void **state)
{
	(void)state;
	expect_refused("loglevel=4", "loglevel");
	expect_refused("loglevel=-1", "loglevel");
	expect_refused("loglevel=DEBUG", "loglevel");
	expect_refused("loglevel=debugx", "loglevel");
	expect_refused("loglevel=deb", "loglevel");
	expect_refused("loglevel=", "loglevel");
	expect_refused("loglevel=4294967298", "loglevel"); /* 2^32 + 2: no truncation to int */
	expect_refused("loglevel=18446744073709551619", "loglevel"); /* 2^64 + 3 */
}

/* ---- serial: com names, hex/decimal ports, ",BAUD" ---- */

static void test_serial_com_names(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("serial=com1").serial_port, 0x3f8);
	assert_int_equal(parse_ok("serial=com2").serial_port, 0x2f8);
	assert_int_equal(parse_ok("serial=com3").serial_port, 0x3e8);
	assert_int_equal(parse_ok("serial=com4").serial_port, 0x2e8);
}

static void test_serial_com_keeps_baud(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("serial=com2").serial_baud, 115200);
}

static void test_serial_with_baud(void **state)
{
	(void)state;
	struct hv_config c = parse_ok("serial=com2,9600");
	assert_int_equal(c.serial_port, 0x2f8);
	assert_int_equal(c.serial_baud, 9600);
}

static void test_serial_numeric_port(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("serial=0x2f8").serial_port, 0x2f8);
	assert_int_equal(parse_ok("serial=1016").serial_port, 0x3f8);
	struct hv_config c = parse_ok("serial=0xe000,57600");
	assert_int_equal(c.serial_port, 0xe000);
	assert_int_equal(c.serial_baud, 57600);
}

static void test_serial_bad(void **state)
{
	(void)state;
	expect_refused("serial=com5", "serial");
	expect_refused("serial=COM1", "serial");
	expect_refused("serial=0", "serial");
	expect_refused("serial=0x0", "serial");
	expect_refused("serial=0x10000", "serial");      /* does not fit a port */
	expect_refused("serial=0x100000000003f8", "serial");
	expect_refused("serial=", "serial");
	expect_refused("serial=com1,", "serial");        /* empty baud */
	expect_refused("serial=com1,abc", "serial");
	expect_refused("serial=com1,7", "serial");       /* 115200 is not a multiple of 7 */
	expect_refused("serial=com1,230400", "serial");
	expect_refused("serial=,9600", "serial");
}

/* ---- baud ---- */

static void test_baud_values(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("baud=115200").serial_baud, 115200);
	assert_int_equal(parse_ok("baud=57600").serial_baud, 57600);
	assert_int_equal(parse_ok("baud=38400").serial_baud, 38400);
	assert_int_equal(parse_ok("baud=9600").serial_baud, 9600);
	assert_int_equal(parse_ok("baud=50").serial_baud, 50);
}

static void test_baud_bad(void **state)
{
	(void)state;
	expect_refused("baud=0", "baud");
	expect_refused("baud=25", "baud");    /* below 50, though it divides 115200 */
	expect_refused("baud=230400", "baud");
	expect_refused("baud=9601", "baud");
	expect_refused("baud=fast", "baud");
	expect_refused("baud=", "baud");
	expect_refused("baud=4295082496", "baud"); /* 2^32 + 115200: no truncation to u32 */
}

/* ---- tsc= ---- */

static void test_tsc_source_values(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("").tsc_source, TSC_AUTO);
	assert_int_equal(parse_ok("tsc=auto").tsc_source, TSC_AUTO);
	assert_int_equal(parse_ok("tsc=cpuid15").tsc_source, TSC_CPUID15);
	assert_int_equal(parse_ok("tsc=cpuid16").tsc_source, TSC_CPUID16);
	assert_int_equal(parse_ok("tsc=platform_info").tsc_source, TSC_PLATFORM_INFO);
	assert_int_equal(parse_ok("tsc=pmtimer").tsc_source, TSC_PMTIMER);
	assert_int_equal(parse_ok("tsc=pit").tsc_source, TSC_PIT);
	expect_refused("tsc=hpet", "tsc");
	expect_refused("tsc=", "tsc");
	assert_string_equal(tsc_source_name(TSC_PLATFORM_INFO), "platform_info");
	assert_true(parse_ok("entry_check=1").entry_check);
	assert_false(parse_ok("entry_check=0").entry_check);
	assert_false(parse_ok("").entry_check);
	expect_refused("entry_check=yes", "entry_check");
	assert_true(parse_ok("").screen);
	assert_false(parse_ok("screen=off").screen);
	assert_true(parse_ok("screen=off screen=on").screen);
	expect_refused("screen=0", "screen");
	expect_refused("screen=", "screen");
	assert_true(parse_ok("").apicv);
	assert_false(parse_ok("apicv=off").apicv);
	assert_true(parse_ok("apicv=off apicv=on").apicv);
	expect_refused("apicv=1", "apicv");
	expect_refused("apicv=", "apicv");
}

/* ---- selftest ---- */

static void test_selftest_values(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("selftest=panic").selftest, SELFTEST_PANIC);
	assert_int_equal(parse_ok("selftest=exception").selftest, SELFTEST_EXCEPTION);
	assert_int_equal(parse_ok("selftest=entry_control").selftest, SELFTEST_ENTRY_CONTROL);
	assert_int_equal(parse_ok("selftest=vmx_locked_off").selftest, SELFTEST_VMX_LOCKED_OFF);
	assert_int_equal(parse_ok("selftest=nmi").selftest, SELFTEST_NMI);
	assert_int_equal(parse_ok("loglevel=debug").selftest, SELFTEST_NONE);
}

static void test_selftest_bad(void **state)
{
	(void)state;
	expect_refused("selftest=", "selftest");
	expect_refused("selftest=Panic", "selftest");
	expect_refused("selftest=panics", "selftest");
	expect_refused("selftest=1", "selftest");
}

/* ---- Several keys; the last occurrence wins ---- */

static void test_full_line(void **state)
{
	(void)state;
	struct hv_config c = parse_ok("guest_mem=128M loglevel=debug serial=com2,38400");
	assert_int_equal(c.guest_mem, 128 * MiB);
	assert_int_equal(c.loglevel, LOG_DEBUG);
	assert_int_equal(c.serial_port, 0x2f8);
	assert_int_equal(c.serial_baud, 38400);
}

static void test_multiple_spaces(void **state)
{
	(void)state;
	struct hv_config c = parse_ok("  loglevel=warn    guest_mem=4M  ");
	assert_int_equal(c.loglevel, LOG_WARN);
	assert_int_equal(c.guest_mem, 4 * MiB);
}

static void test_last_occurrence_wins(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("loglevel=debug loglevel=error").loglevel, LOG_ERROR);
	assert_int_equal(parse_ok("serial=com2,9600 baud=19200").serial_baud, 19200);
	assert_int_equal(parse_ok("baud=19200 serial=com2,9600").serial_baud, 9600);
}

/* ---- A leading path word (the kernel's file name) is skipped ---- */

static void test_leading_path_skipped(void **state)
{
	(void)state;
	struct hv_config c = parse_ok("/boot/hv.elf loglevel=debug");
	assert_int_equal(c.loglevel, LOG_DEBUG);
	parse_ok("/boot/hv.elf");
}

static void test_path_not_first_refused(void **state)
{
	(void)state;
	expect_refused("loglevel=debug /boot/hv.elf", "/boot/hv.elf");
}

/*
 * Regression (fixed): spaces before the leading path make it an ordinary word, refused as
 * "not key=value", although the parser otherwise treats any run of spaces as a separator.
 */
static void test_regression_leading_path_after_spaces(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("  /boot/hv.elf loglevel=debug").loglevel, LOG_DEBUG);
}

/* ---- Refusals: unknown key, no '=', empty key ---- */

static void test_unknown_key_named(void **state)
{
	(void)state;
	expect_refused("frobnicate=1", "'frobnicate'");
	expect_refused("loglevel=debug guestmem=32M", "'guestmem'");
	expect_refused("Loglevel=debug", "'Loglevel'");
}

static void test_key_without_equals(void **state)
{
	(void)state;
	expect_refused("loglevel", "loglevel");
	expect_refused("guest_mem=32M quiet", "quiet");
}

static void test_empty_key(void **state)
{
	(void)state;
	expect_refused("=debug", NULL);
	expect_refused("loglevel=info =", NULL);
}

/* An error after valid words must not leave their values in cfg. */
static void test_unchanged_after_late_error(void **state)
{
	(void)state;
	expect_refused("guest_mem=32M loglevel=debug serial=com2,9600 baud=7", "baud");
	expect_refused("guest_mem=32M loglevel=debug bogus=1", "bogus");
}

/* ---- Length limit ---- */

/* Builds "loglevel=debug" padded with spaces to exactly len characters. */
static char *padded_line(size_t len)
{
	char *s = malloc(len + 1);
	assert_non_null(s);
	memset(s, ' ', len);
	memcpy(s, "loglevel=debug", 14);
	s[len] = '\0';
	return s;
}

static void test_max_length_accepted(void **state)
{
	(void)state;
	char *s = padded_line(CMDLINE_MAX);
	struct hv_config c;
	char err[128] = "";
	cmdline_defaults(&c);
	int r = cmdline_parse(s, &c, err, sizeof(err));
	free(s);
	assert_int_equal(r, 0);
	assert_int_equal(c.loglevel, LOG_DEBUG);
}

static void test_over_long_refused(void **state)
{
	(void)state;
	char *s = padded_line(CMDLINE_MAX + 1);
	struct hv_config before = sentinel(), c = before;
	char err[128] = "";
	int r = cmdline_parse(s, &c, err, sizeof(err));
	free(s);
	assert_int_equal(r, -1);
	assert_non_null(strstr(err, "1024"));
	assert_same_config(&c, &before);
}

static void test_very_long_refused(void **state)
{
	(void)state;
	char *s = padded_line(100000);
	struct hv_config before = sentinel(), c = before;
	char err[128] = "";
	int r = cmdline_parse(s, &c, err, sizeof(err));
	free(s);
	assert_int_equal(r, -1);
	assert_true(err[0] != '\0');
	assert_same_config(&c, &before);
}

/* ---- The error buffer ---- */

static void test_small_error_buffer(void **state)
{
	(void)state;
	struct hv_config c;
	char err[8];
	memset(err, 'x', sizeof(err));
	cmdline_defaults(&c);
	assert_int_equal(cmdline_parse("nope=1", &c, err, 6), -1);
	assert_int_equal(err[5], '\0');              /* truncated and terminated */
	assert_int_equal(strlen(err), 5);
	assert_int_equal(err[6], 'x');               /* nothing written past errlen */
}

static void test_bad_value_message_names_value(void **state)
{
	(void)state;
	expect_refused("loglevel=verbose", "'verbose'");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_mmu_audit_values),
		cmocka_unit_test(test_tsc_source_values),
		cmocka_unit_test(test_empty_line),
		cmocka_unit_test(test_only_spaces),
		cmocka_unit_test(test_success_keeps_unmentioned_fields),
		cmocka_unit_test(test_guest_mem_suffixes),
		cmocka_unit_test(test_guest_mem_bytes_and_hex),
		cmocka_unit_test(test_guest_mem_bounds_accepted),
		cmocka_unit_test(test_guest_mem_out_of_range),
		cmocka_unit_test(test_guest_mem_not_page_multiple),
		cmocka_unit_test(test_guest_mem_junk),
		cmocka_unit_test(test_guest_mem_overflow),
		cmocka_unit_test(test_loglevel_names),
		cmocka_unit_test(test_loglevel_numbers),
		cmocka_unit_test(test_loglevel_bad),
		cmocka_unit_test(test_serial_com_names),
		cmocka_unit_test(test_serial_com_keeps_baud),
		cmocka_unit_test(test_serial_with_baud),
		cmocka_unit_test(test_serial_numeric_port),
		cmocka_unit_test(test_serial_bad),
		cmocka_unit_test(test_baud_values),
		cmocka_unit_test(test_baud_bad),
		cmocka_unit_test(test_selftest_values),
		cmocka_unit_test(test_selftest_bad),
		cmocka_unit_test(test_full_line),
		cmocka_unit_test(test_multiple_spaces),
		cmocka_unit_test(test_last_occurrence_wins),
		cmocka_unit_test(test_leading_path_skipped),
		cmocka_unit_test(test_path_not_first_refused),
		cmocka_unit_test(test_regression_leading_path_after_spaces),
		cmocka_unit_test(test_unknown_key_named),
		cmocka_unit_test(test_key_without_equals),
		cmocka_unit_test(test_empty_key),
		cmocka_unit_test(test_unchanged_after_late_error),
		cmocka_unit_test(test_max_length_accepted),
		cmocka_unit_test(test_over_long_refused),
		cmocka_unit_test(test_very_long_refused),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_bad_value_message_names_value),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
