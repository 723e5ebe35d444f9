/* SOURCES: devices/rtc.c devices/pio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_rtc.c - devices/rtc.c: the MC146818 as a pure state machine driven by explicit TSC
 * values (a 1 GHz TSC: second boundaries fall on whole 1e9 multiples). Covered: power-on
 * registers, the date at a given elapsed time (BCD, binary, 12-hour, leap day, century) and
 * 2000 random dates against the host's gmtime_r, UIP's window, register C's flags and
 * clear-on-read, periodic/update/alarm events and their IRQ 8 deadlines, SET, time writes while
 * running, divider reset, the index/NMI port, CMOS RAM and the memory-size bytes for 64 MiB,
 * 3 GiB and RAM above 4 GiB, device reset, and the glue through devices/pio.c.
 */
#include "unit.h"

#include <time.h>

#include "devices/irq.h"
#include "devices/pio.h"
#include "devices/rtc.h"

#define HZ 1000000000ULL
#define SEC HZ
#define T0 7000000000ULL
#define START 1709164798ULL /* 2024-02-28 23:59:58 UTC, a Wednesday */

static struct mc146818 s;
static u64 now;

static u8 rd(u8 idx)
{
	mc146818_write(&s, 0x70, idx, now, HZ);
	return mc146818_read(&s, 0x71, now, HZ);
}

static void wr(u8 idx, u8 v)
{
	mc146818_write(&s, 0x70, idx, now, HZ);
	mc146818_write(&s, 0x71, v, now, HZ);
}

static bool irq(void) { return mc146818_irq(&s, now, HZ); }
static u64 next_event(void) { return mc146818_next_event(&s, now, HZ); }

static void start_at(u64 epoch)
{
	memset(&s, 0x5a, sizeof(s));
	now = T0;
	mc146818_init(&s, epoch, now, HZ);
}

static int setup(void **state)
{
	(void)state;
	start_at(START);
	return 0;
}

/* seconds, minutes, hours, day of week, day of month, month, year, century */
static void expect_time(const u8 want[8])
{
	static const u8 idx[8] = { 0, 2, 4, 6, 7, 8, 9, 0x32 };
	for (int i = 0; i < 8; i++) {
		u8 v = rd(idx[i]);
		if (v != want[i])
			fail_msg("register %#x: %#x, want %#x", idx[i], v, want[i]);
	}
}

/* ---- registers and time ---- */

static void test_power_on_registers(void **state)
{
	(void)state;
	assert_int_equal(rd(0x0a), 0x26);
	assert_int_equal(rd(0x0b), 0x02);
	assert_int_equal(rd(0x0c), 0x00);
	assert_int_equal(rd(0x0d), 0x80);
	static const u8 t[8] = { 0x58, 0x59, 0x23, 0x04, 0x28, 0x02, 0x24, 0x20 };
	expect_time(t);
	assert_int_equal(mc146818_time(&s, now, HZ), START);
}

static void test_elapsed_time_reaches_leap_day_and_march(void **state)
{
	(void)state;
	now = T0 + 2 * SEC - 1;
	assert_int_equal(rd(0), 0x59);
	now = T0 + 2 * SEC + SEC / 2;
	static const u8 leap[8] = { 0x00, 0x00, 0x00, 0x05, 0x29, 0x02, 0x24, 0x20 };
	expect_time(leap);
	now = T0 + (2 + 86400 + 3723) * SEC;
	static const u8 march[8] = { 0x03, 0x02, 0x01, 0x06, 0x01, 0x03, 0x24, 0x20 };
	expect_time(march);
	assert_int_equal(mc146818_time(&s, now, HZ), START + 2 + 86400 + 3723);
}

static void test_binary_mode(void **state)
{
	(void)state;
	wr(0x0b, 0x06);
	static const u8 t[8] = { 58, 59, 23, 4, 28, 2, 24, 20 };
	expect_time(t);
}

static void test_12_hour_mode_bcd_and_binary(void **state)
{
	(void)state;
	wr(0x0b, 0x00); /* BCD, 12-hour */
	assert_int_equal(rd(4), 0x91); /* 11 PM */
	now = T0 + 2 * SEC;
	assert_int_equal(rd(4), 0x12); /* 12 AM */
	now = T0 + (2 + 13 * 3600) * SEC;
	assert_int_equal(rd(4), 0x81); /* 1 PM */
	now = T0 + (2 + 12 * 3600) * SEC;
	assert_int_equal(rd(4), 0x92); /* 12 PM */
	wr(0x0b, 0x04); /* binary, 12-hour */
	assert_int_equal(rd(4), 0x8c);
	now = T0;
	assert_int_equal(rd(4), 0x8b);
	wr(4, 0x0c); /* 12 AM written in 12-hour binary */
	wr(0x0b, 0x06);
	assert_int_equal(rd(4), 0);
	assert_int_equal(rd(2), 59);
}

static void test_century_rollover_and_alias(void **state)
{
	(void)state;
	start_at(4102444799ULL); /* 2099-12-31 23:59:59 */
	assert_int_equal(rd(0x32), 0x20);
	assert_int_equal(rd(0x37), 0x20);
	now = T0 + SEC;
	static const u8 t[8] = { 0x00, 0x00, 0x00, 0x06, 0x01, 0x01, 0x00, 0x21 };
	expect_time(t);
	assert_int_equal(rd(0x37), 0x21);
	wr(0x37, 0x20); /* writes through the alias set the clock */
	assert_int_equal(rd(0x32), 0x20);
	assert_int_equal(mc146818_time(&s, now, HZ), 946684800); /* 2000-01-01 */
}

static void test_dates_match_gmtime(void **state)
{
	(void)state;
	srand(1234);
	for (int i = 0; i < 2000; i++) {
		u64 e = ((u64)rand() << 17 ^ (u64)rand()) % 7258118400ULL; /* 1970..2199 */
		time_t tt = (time_t)e;
		struct tm tm;
		gmtime_r(&tt, &tm);
		start_at(e);
		wr(0x0b, 0x06);
		int year = tm.tm_year + 1900;
		u8 want[8] = { tm.tm_sec, tm.tm_min, tm.tm_hour, tm.tm_wday + 1, tm.tm_mday,
			       tm.tm_mon + 1, year % 100, year / 100 };
		expect_time(want);
		wr(0x0b, 0x86); /* SET: the registers parse back to the same time */
		assert_int_equal(mc146818_time(&s, now, HZ), e);
	}
}

static void test_uip_window(void **state)
{
	(void)state;
	now = T0 + 999755000;
	assert_int_equal(rd(0x0a), 0x26);
	now = T0 + 999756000; /* last 244 us before the update */
	assert_int_equal(rd(0x0a), 0xa6);
	assert_int_equal(rd(0), 0x58);
	now = T0 + SEC;
	assert_int_equal(rd(0x0a), 0x26);
	assert_int_equal(rd(0), 0x59);
	now = T0 + 2 * SEC - 1000;
	wr(0x0b, 0x82);
	assert_int_equal(rd(0x0a), 0x26); /* SET: no update, no UIP */
	wr(0x0a, 0xa6); /* UIP is read-only */
	wr(0x0b, 0x02);
	now = T0 + 2 * SEC + 1000;
	assert_int_equal(rd(0x0a), 0x26);
}

static void test_register_c_flags_clear_on_read(void **state)
{
	(void)state;
	now = T0 + SEC + SEC / 5;
	assert_int_equal(rd(0x0c), 0x50); /* UF, and PF at 1024 Hz even without PIE */
	assert_int_equal(rd(0x0c), 0x00);
	wr(0x0a, 0x20); /* no periodic rate */
	now = T0 + 2 * SEC + SEC / 5;
	assert_int_equal(rd(0x0c), 0x30); /* UF, and AF: the zero alarm is midnight */
	now = T0 + 2 * SEC + SEC / 2;
	assert_int_equal(rd(0x0c), 0x00);
	assert_false(irq());
}

static void test_periodic_interrupt_and_deadlines(void **state)
{
	(void)state;
	wr(0x0b, 0x42); /* PIE */
	assert_int_equal(next_event(), T0 + 976563); /* 32 cycles of 32768 Hz */
	now = T0 + 976562;
	assert_false(irq());
	now = T0 + 976563;
	assert_true(irq());
	assert_int_equal(next_event(), RTC_NO_EVENT); /* IRQF stays high until C is read */
	assert_int_equal(rd(0x0c), 0xc0);
	assert_false(irq());
	assert_int_equal(next_event(), T0 + 1953125);
	wr(0x0a, 0x2f); /* 2 Hz */
	assert_int_equal(next_event(), T0 + SEC / 2);
	wr(0x0a, 0x21); /* rate 1 acts as 8: 128 cycles */
	assert_int_equal(next_event(), T0 + 3906250);
	wr(0x0a, 0x20);
	assert_int_equal(next_event(), RTC_NO_EVENT);
}

static void test_update_interrupt(void **state)
{
	(void)state;
	wr(0x0a, 0x20);
	wr(0x0b, 0x12); /* UIE */
	assert_int_equal(next_event(), T0 + SEC);
	now = T0 + SEC - 1;
	assert_false(irq());
	now = T0 + SEC;
	assert_true(irq());
	assert_int_equal(rd(0x0c), 0x90);
	assert_false(irq());
	assert_int_equal(next_event(), T0 + 2 * SEC);
	now = T0 + 5 * SEC + 3;
	assert_true(irq());
	wr(0x0b, 0x02); /* disabling UIE drops IRQF, the flag stays */
	assert_false(irq());
	assert_int_equal(rd(0x0c), 0x30); /* AF too: midnight passed (alarm 00:00:00) */
}

static void test_enabling_with_flag_set_raises_at_once(void **state)
{
	(void)state;
	wr(0x0a, 0x20);
	now = T0 + SEC;
	assert_false(irq());
	wr(0x0b, 0x12);
	assert_true(irq());
}

static void test_alarm_interrupt(void **state)
{
	(void)state;
	wr(0x0a, 0x20);
	wr(0x01, 0x01); /* 00:00:01 */
	wr(0x03, 0x00);
	wr(0x05, 0x00);
	wr(0x0b, 0x22); /* AIE */
	assert_int_equal(next_event(), T0 + 3 * SEC);
	now = T0 + 3 * SEC - 1;
	assert_false(irq());
	assert_int_equal(rd(0x0c), 0x10); /* two updates, no alarm yet */
	now = T0 + 3 * SEC;
	assert_true(irq());
	assert_int_equal(rd(0x0c), 0xb0);
	assert_int_equal(next_event(), T0 + (3 + 86400) * SEC);
	now = T0 + 10 * 86400 * SEC;
	assert_int_equal(rd(0x0c), 0xb0); /* passed many times: one flag */
}

static void test_alarm_dont_care_and_12_hour(void **state)
{
	(void)state;
	wr(0x0a, 0x20);
	wr(0x01, 0xff);
	wr(0x03, 0xc0);
	wr(0x05, 0xc5);
	wr(0x0b, 0x22);
	assert_int_equal(next_event(), T0 + SEC); /* every second */
	wr(0x0b, 0x20); /* 12-hour BCD */
	wr(0x01, 0x30);
	wr(0x03, 0x15);
	wr(0x05, 0x82); /* 2 PM */
	assert_int_equal(next_event(), T0 + (2 + 14 * 3600 + 15 * 60 + 30) * SEC);
	wr(0x01, 0x75); /* 75 seconds: never */
	assert_int_equal(next_event(), RTC_NO_EVENT);
	now = T0 + 3 * 86400 * SEC;
	assert_int_equal(rd(0x0c), 0x10);
}

static void test_alarm_flag_without_aie(void **state)
{
	(void)state;
	wr(0x0a, 0x20);
	wr(0x01, 0x00);
	wr(0x03, 0x00);
	wr(0x05, 0x00);
	now = T0 + 2 * SEC + SEC / 2;
	assert_false(irq());
	assert_int_equal(rd(0x0c), 0x30);
}

static void test_set_freezes_and_sets_time(void **state)
{
	(void)state;
	now = T0 + 3 * SEC / 10;
	wr(0x0b, 0x92); /* SET with UIE: UIE is cleared */
	assert_int_equal(rd(0x0b), 0x82);
	wr(0x04, 0x12);
	wr(0x02, 0x34);
	wr(0x00, 0x56);
	wr(0x07, 0x15);
	wr(0x08, 0x06);
	wr(0x09, 0x30);
	now = T0 + 5 * SEC;
	assert_int_equal(rd(0x00), 0x56); /* frozen */
	assert_int_equal(rd(0x04), 0x12);
	assert_int_equal(rd(0x0c), 0x50); /* UF and PF go on while SET; no AF at midnight */
	now = T0 + 5 * SEC + 3 * SEC / 10;
	wr(0x0b, 0x02);
	assert_int_equal(mc146818_time(&s, now, HZ), 1907757296); /* 2030-06-15 12:34:56 */
	assert_int_equal(rd(0x06), 0x07); /* Saturday, recomputed */
	now = T0 + 6 * SEC - 1;
	assert_int_equal(rd(0x00), 0x56);
	now = T0 + 6 * SEC; /* the divider's phase was kept */
	assert_int_equal(rd(0x00), 0x57);
}

static void test_time_write_while_running(void **state)
{
	(void)state;
	now = T0 + SEC / 2;
	wr(0x02, 0x10);
	assert_int_equal(rd(0x02), 0x10);
	assert_int_equal(rd(0x00), 0x58);
	assert_int_equal(rd(0x04), 0x23);
	now = T0 + SEC;
	assert_int_equal(rd(0x00), 0x59);
	assert_int_equal(mc146818_time(&s, now, HZ), START - 49 * 60 + 1);
}

static void test_divider_reset_first_update_half_second_later(void **state)
{
	(void)state;
	now = T0 + SEC / 5;
	assert_int_equal(rd(0x0c), 0x40); /* periodic flag of the running divider */
	wr(0x0a, 0x70);
	now = T0 + 3 * SEC;
	assert_int_equal(rd(0x00), 0x58);
	assert_int_equal(rd(0x0c), 0x00); /* no updates in reset */
	assert_int_equal(rd(0x0a), 0x70);
	wr(0x0a, 0x26);
	assert_int_equal(rd(0x0c), 0x00); /* restarting makes no update */
	now = T0 + 3 * SEC + SEC / 2 - 1;
	assert_int_equal(rd(0x00), 0x58);
	now = T0 + 3 * SEC + SEC / 2;
	assert_int_equal(rd(0x00), 0x59);
	wr(0x0a, 0x46); /* stopped (not reset): no half-second rule */
	now = T0 + 9 * SEC;
	wr(0x0a, 0x26);
	now = T0 + 10 * SEC - 1;
	assert_int_equal(rd(0x00), 0x59);
	now = T0 + 10 * SEC;
	assert_int_equal(rd(0x00), 0x00);
}

static void test_registers_c_d_read_only_and_index_port(void **state)
{
	(void)state;
	wr(0x0d, 0x00);
	assert_int_equal(rd(0x0d), 0x80);
	wr(0x0c, 0xf0);
	assert_int_equal(rd(0x0c), 0x00);
	mc146818_write(&s, 0x70, 0x8d, now, HZ);
	assert_true(s.nmi_masked);
	assert_int_equal(mc146818_read(&s, 0x71, now, HZ), 0x80); /* index 0x0d */
	assert_int_equal(mc146818_read(&s, 0x70, now, HZ), 0xff);
	mc146818_write(&s, 0x70, 0x0d, now, HZ);
	assert_false(s.nmi_masked);
	assert_int_equal(mc146818_read(&s, 0x72, now, HZ), 0xff);
}

static void test_cmos_ram(void **state)
{
	(void)state;
	assert_int_equal(rd(0x14), 0x06);
	wr(0x40, 0xa5);
	wr(0x7f, 0x5a);
	wr(0x0e, 0x11);
	assert_int_equal(rd(0x40), 0xa5);
	assert_int_equal(rd(0x7f), 0x5a);
	assert_int_equal(rd(0x0e), 0x11);
	assert_int_equal(rd(0x41), 0x00);
}

static void expect_mem(u8 at, u32 v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		assert_int_equal(rd(at + i), (v >> (8 * i)) & 0xff);
}

static void test_memory_fields_64m(void **state)
{
	(void)state;
	mc146818_set_memory(&s, 64 * MiB, 0);
	expect_mem(0x15, 640, 2);
	expect_mem(0x17, 63 * 1024, 2);
	expect_mem(0x30, 63 * 1024, 2);
	expect_mem(0x34, 48 * 16, 2);
	expect_mem(0x5b, 0, 3);
	assert_int_equal(rd(0x5f), 0);
}

static void test_memory_fields_3g_and_above_4g(void **state)
{
	(void)state;
	mc146818_set_memory(&s, 3 * GiB, 0);
	expect_mem(0x15, 640, 2);
	expect_mem(0x17, 0xffff, 2);
	expect_mem(0x30, 0xffff, 2);
	expect_mem(0x34, 0xbf00, 2);
	expect_mem(0x5b, 0, 3);
	mc146818_set_memory(&s, 3 * GiB, 5 * GiB);
	expect_mem(0x5b, 5 * 16384, 3);
	mc146818_set_memory(&s, 4095 * MiB, 0);
	expect_mem(0x34, (4095 - 16) * 16, 2);
}

static void test_memory_fields_small(void **state)
{
	(void)state;
	mc146818_set_memory(&s, 512 * KiB, 0);
	expect_mem(0x15, 512, 2);
	expect_mem(0x17, 0, 2);
	expect_mem(0x34, 0, 2);
	mc146818_set_memory(&s, 16 * MiB, 0);
	expect_mem(0x17, 15 * 1024, 2);
	expect_mem(0x34, 0, 2);
}

static void test_device_reset(void **state)
{
	(void)state;
	wr(0x0b, 0x7e);
	now = T0 + SEC;
	assert_true(irq());
	mc146818_reset(&s, now, HZ);
	assert_false(irq());
	assert_int_equal(rd(0x0b), 0x06);
	assert_int_equal(rd(0x0c), 0x00);
	assert_int_equal(mc146818_time(&s, now, HZ), START + 1);
}

/* ---- glue ---- */

static u64 fake_now;
static int rises;
static bool level8;

u64 vtime_now(void) { return fake_now; }
u64 vtime_hz(void) { return HZ; }

void irq_set_line(u32 gsi, bool level)
{
	assert_int_equal(gsi, 8);
	assert_int_not_equal(level, level8); /* only changes are driven */
	rises += level;
	level8 = level;
}

static void test_glue(void **state)
{
	(void)state;
	u32 v;
	fake_now = T0;
	rtc_init(START, 128 * MiB, 0);
	assert_true(pio_read(0x71, 1, &v)); /* index 0: seconds */
	assert_int_equal(v, 0x58);
	pio_write(0x70, 1, 0x35);
	assert_true(pio_read(0x71, 1, &v));
	assert_int_equal(v, 0x07); /* (128 - 16) MiB in 64 KiB units, high byte */
	pio_write(0x70, 2, 0x120b); /* word OUT: index B, then B = UIE | 24h */
	assert_int_equal(rtc_next_deadline(), T0 + SEC);
	fake_now = T0 + SEC;
	rtc_tick(fake_now);
	assert_int_equal(rises, 1);
	assert_true(level8);
	assert_int_equal(rtc_next_deadline(), IRQ_NONE);
	pio_write(0x70, 1, 0x8c);
	assert_true(rtc_nmi_masked());
	assert_true(pio_read(0x71, 1, &v));
	assert_int_equal(v, 0xd0); /* IRQF, PF (1024 Hz, not enabled), UF */
	assert_false(level8); /* reading C lowered IRQ 8 */
	assert_true(pio_read(0x70, 2, &v));
	assert_int_equal(v & 0xff, 0xff);
	fake_now = T0 + 3 * SEC + 5; /* asked for the deadline only after the update passed */
	assert_int_equal(rtc_next_deadline(), fake_now);
	assert_false(level8);
	rtc_tick(fake_now);
	assert_true(level8);
	assert_int_equal(rises, 2);
	pio_reset_all();
	assert_false(level8);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_power_on_registers),
		T(test_elapsed_time_reaches_leap_day_and_march),
		T(test_binary_mode),
		T(test_12_hour_mode_bcd_and_binary),
		T(test_century_rollover_and_alias),
		T(test_dates_match_gmtime),
		T(test_uip_window),
		T(test_register_c_flags_clear_on_read),
		T(test_periodic_interrupt_and_deadlines),
		T(test_update_interrupt),
		T(test_enabling_with_flag_set_raises_at_once),
		T(test_alarm_interrupt),
		T(test_alarm_dont_care_and_12_hour),
		T(test_alarm_flag_without_aie),
		T(test_set_freezes_and_sets_time),
		T(test_time_write_while_running),
		T(test_divider_reset_first_update_half_second_later),
		T(test_registers_c_d_read_only_and_index_port),
		T(test_cmos_ram),
		T(test_memory_fields_64m),
		T(test_memory_fields_3g_and_above_4g),
		T(test_memory_fields_small),
		T(test_device_reset),
		T(test_glue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
