/* SOURCES: devices/pit.c devices/pio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_pit.c - devices/pit.c: the 8254 as a pure state machine driven by explicit TSC values.
 * Most tests run the TSC at exactly PIT_HZ, so TSC ticks and PIT clocks coincide and counts
 * can be written down; one runs a 2.4 GHz TSC against a 128-bit oracle of the conversion.
 * Covered: reset values, modes 0-5 (counts and OUT at given times), BCD, access modes and the
 * LSB/MSB flip-flops, latch and read-back, NULL COUNT, new counts in mode 2, gate/OUT2 through
 * port 0x61, OUT0 edge deadlines and the one-pulse-per-tick coalescing, and the IRQ 0 glue.
 */
#include "unit.h"

#include "devices/irq.h"
#include "devices/pio.h"
#include "devices/pit.h"

#define HZ PIT_HZ
#define T0 1000000ULL
#define CTRL 0x43

static struct i8254 s;
static u64 now;

static void wr(u16 port, u8 v) { i8254_write(&s, port, v, now, HZ); }
static u8 rd(u16 port) { return i8254_read(&s, port, now, HZ); }
static bool out(int ch) { return i8254_out(&s, ch, now, HZ); }
static bool tick(void) { return i8254_tick(&s, now, HZ); }
static u64 next_edge(void) { return i8254_next_edge(&s, HZ); }

/* Control word for channel ch, access LSB then MSB, mode m; then the count. */
static void program(int ch, int m, u16 count)
{
	wr(CTRL, ch << 6 | 0x30 | m << 1);
	wr(0x40 + ch, count & 0xff);
	wr(0x40 + ch, count >> 8);
}

static u16 read_word(int ch)
{
	u16 lo = rd(0x40 + ch);
	return lo | rd(0x40 + ch) << 8;
}

static u16 latched(int ch)
{
	wr(CTRL, ch << 6);
	return read_word(ch);
}

static u8 status(int ch)
{
	wr(CTRL, 0xe0 | 2 << ch); /* read-back: status only */
	return rd(0x40 + ch);
}

static int setup(void **state)
{
	(void)state;
	memset(&s, 0x5a, sizeof(s));
	now = T0;
	i8254_reset(&s, now, HZ);
	return 0;
}

/* ---- reset ---- */

static void test_reset_state_like_qemu(void **state)
{
	(void)state;
	assert_int_equal(status(0), 0x86); /* OUT high, access 00, mode 3, binary */
	assert_int_equal(status(1), 0x86);
	assert_int_equal(status(2), 0x86); /* gate 2 low: stopped with OUT high */
	now = T0 + 1;
	assert_int_equal(rd(0x40), 0xfe); /* 65536 - 2, access 00 reads the LSB */
	assert_int_equal(rd(0x40), 0xfe);
	assert_int_equal(next_edge(), T0 + 65536);
	now = T0 + 65535;
	assert_false(tick());
	now = T0 + 65536;
	assert_true(tick());
	assert_int_equal(next_edge(), T0 + 2 * 65536);
	assert_int_equal(rd(0x61) & 0x21, 0x20); /* gate 2 low, OUT2 high */
}

static void test_reset_access_writes_lsb_only(void **state)
{
	(void)state;
	wr(0x40, 0x10); /* count 16 for mode 3: taken at the end of the running period */
	now = T0 + 1;
	assert_int_equal(rd(0x40), 0xfe);
	assert_int_equal(status(0), 0xc6); /* NULL COUNT */
	assert_int_equal(next_edge(), T0 + 65536);
	now = T0 + 65536;
	assert_true(tick());
	assert_int_equal(next_edge(), T0 + 65536 + 16);
	now = T0 + 65536 + 1;
	assert_int_equal(rd(0x40), 14);
}

/* ---- modes ---- */

static void test_mode0_counts_out_and_wrap(void **state)
{
	(void)state;
	now = T0 + 10;
	wr(CTRL, 0x30);
	assert_int_equal(status(0), 0x70); /* OUT low, NULL COUNT, LSB+MSB, mode 0 */
	wr(0x40, 100);
	wr(0x40, 0);
	assert_int_equal(status(0), 0x30);
	now = T0 + 40;
	assert_int_equal(latched(0), 70);
	now = T0 + 109;
	assert_false(out(0));
	now = T0 + 110;
	assert_true(out(0));
	assert_int_equal(latched(0), 0);
	now = T0 + 115;
	assert_int_equal(latched(0), 65531); /* keeps counting down, wraps */
	assert_int_equal(status(0), 0xb0);
	now = T0 + 110 + 65536 + 7;
	assert_true(out(0)); /* no second terminal count */
}

static void test_mode0_edge_deadline_once(void **state)
{
	(void)state;
	now = T0 + 10;
	program(0, 0, 100);
	assert_int_equal(next_edge(), T0 + 110);
	now = T0 + 109;
	assert_false(tick());
	now = T0 + 110;
	assert_true(tick());
	assert_int_equal(next_edge(), PIT_NO_EDGE);
	now = T0 + 500000;
	assert_false(tick());
}

static void test_mode0_first_byte_stops_and_drives_out_low(void **state)
{
	(void)state;
	program(0, 0, 5);
	now = T0 + 10;
	assert_true(out(0));
	wr(0x40, 16); /* LSB of a new count */
	assert_false(out(0));
	assert_int_equal(status(0), 0x70);
	assert_true(tick()); /* the terminal count at +5 */
	now = T0 + 20;
	assert_int_equal(latched(0), 65531); /* held where it stopped */
	assert_int_equal(next_edge(), PIT_NO_EDGE);
	wr(0x40, 0); /* MSB: 16 loaded now */
	now = T0 + 35;
	assert_false(out(0));
	now = T0 + 36;
	assert_true(out(0));
}

static void test_mode2_rate_generator(void **state)
{
	(void)state;
	program(0, 2, 10);
	assert_int_equal(next_edge(), T0 + 10);
	static const u16 expect[] = { 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 10, 9 };
	for (unsigned d = 0; d < ARRAY_SIZE(expect); d++) {
		now = T0 + d;
		assert_int_equal(latched(0), expect[d]);
		assert_int_equal(out(0), d % 10 != 9);
	}
	assert_true(tick()); /* the edge at +10 passed during the reads */
	assert_int_equal(next_edge(), T0 + 20);
	now = T0 + 45; /* three edges missed: one report */
	assert_true(tick());
	assert_int_equal(next_edge(), T0 + 50);
	now = T0 + 49;
	assert_false(tick());
	now = T0 + 50;
	assert_true(tick());
	assert_false(tick());
}

static void test_mode3_even_count(void **state)
{
	(void)state;
	program(0, 3, 10);
	assert_int_equal(next_edge(), T0 + 10);
	static const u16 expect[] = { 10, 8, 6, 4, 2, 10, 8, 6, 4, 2, 10 };
	for (unsigned d = 0; d < ARRAY_SIZE(expect); d++) {
		now = T0 + d;
		assert_int_equal(latched(0), expect[d]);
		assert_int_equal(out(0), d % 10 < 5);
	}
}

static void test_mode3_odd_count(void **state)
{
	(void)state;
	program(0, 3, 5);
	assert_int_equal(next_edge(), T0 + 5);
	/* high 3 clocks: 5, 4, 2; low 2 clocks: 5, 2 (first step 3) */
	static const u16 expect[] = { 5, 4, 2, 5, 2, 5, 4, 2 };
	for (unsigned d = 0; d < ARRAY_SIZE(expect); d++) {
		now = T0 + d;
		assert_int_equal(latched(0), expect[d]);
		assert_int_equal(out(0), d % 5 < 3);
	}
}

static void test_mode4_software_strobe(void **state)
{
	(void)state;
	program(0, 4, 10);
	now = T0 + 9;
	assert_true(out(0));
	assert_int_equal(latched(0), 1);
	now = T0 + 10;
	assert_false(out(0));
	now = T0 + 11;
	assert_true(out(0));
	assert_int_equal(next_edge(), T0 + 11);
	assert_true(tick());
	assert_int_equal(next_edge(), PIT_NO_EDGE);
	now = T0 + 10 + 65536;
	assert_true(out(0)); /* one strobe per count */
}

static void test_counts_of_one_make_no_edges(void **state)
{
	(void)state;
	program(0, 2, 1);
	assert_int_equal(next_edge(), PIT_NO_EDGE);
	now = T0 + 3;
	assert_true(out(0));
	program(0, 3, 1);
	assert_int_equal(next_edge(), PIT_NO_EDGE);
}

static void test_mode2_new_count_at_end_of_period(void **state)
{
	(void)state;
	program(0, 2, 10);
	now = T0 + 13;
	wr(0x40, 4);
	wr(0x40, 0);
	assert_int_equal(status(0) & 0x40, 0x40); /* NULL COUNT until the reload */
	assert_int_equal(latched(0), 7);         /* current period continues */
	assert_true(tick());                     /* the edge at +10 */
	assert_int_equal(next_edge(), T0 + 20);
	now = T0 + 21;
	assert_true(tick());
	assert_int_equal(latched(0), 3);
	assert_int_equal(status(0) & 0x40, 0);
	assert_int_equal(next_edge(), T0 + 24);
	now = T0 + 28;
	assert_true(tick());
	assert_int_equal(next_edge(), T0 + 32);
}

static void test_mode2_switch_edge_not_lost_by_reads(void **state)
{
	(void)state;
	program(0, 2, 10);
	now = T0 + 13;
	wr(0x40, 4);
	wr(0x40, 0);
	assert_true(tick());
	now = T0 + 22; /* out() rebases on the new count before any tick */
	assert_true(out(0));
	assert_int_equal(next_edge(), T0 + 20);
	assert_true(tick());
	assert_int_equal(next_edge(), T0 + 24);
}

static void test_modes_6_and_7_alias_2_and_3(void **state)
{
	(void)state;
	program(0, 6, 10);
	assert_int_equal(status(0), 0x80 | 0x30 | 6 << 1);
	now = T0 + 9;
	assert_false(out(0));
	program(1, 7, 10);
	now = T0 + 9 + 5;
	assert_false(out(1));
	assert_int_equal(latched(1), 10);
}

/* ---- access modes, latch, read-back ---- */

static void test_lohi_read_flipflop_and_reset_by_control_word(void **state)
{
	(void)state;
	program(0, 2, 0x1234);
	now = T0 + 0x34;
	assert_int_equal(rd(0x40), 0x00);
	assert_int_equal(rd(0x40), 0x12);
	assert_int_equal(rd(0x40), 0x00);
	wr(CTRL, 0x34); /* new control word: next read is the LSB again */
	wr(0x40, 0x00);
	wr(0x40, 0x10);
	assert_int_equal(rd(0x40), 0x00);
	assert_int_equal(rd(0x40), 0x10);
}

static void test_latch_holds_value_second_latch_ignored(void **state)
{
	(void)state;
	program(0, 2, 1000);
	now = T0 + 100;
	wr(CTRL, 0x00);
	now = T0 + 200;
	wr(CTRL, 0x00); /* ignored: the first latch is unread */
	assert_int_equal(read_word(0), 900);
	now = T0 + 300;
	assert_int_equal(read_word(0), 700); /* live again */
}

static void test_lsb_and_msb_only_access(void **state)
{
	(void)state;
	wr(CTRL, 0x14); /* LSB only, mode 2 */
	wr(0x40, 200);
	now = T0 + 50;
	wr(CTRL, 0x00);
	assert_int_equal(rd(0x40), 150); /* one latched byte */
	now = T0 + 60;
	assert_int_equal(rd(0x40), 140);
	wr(CTRL, 0x24); /* MSB only */
	wr(0x40, 0x01); /* count 256 */
	assert_int_equal(rd(0x40), 0x01);
	now = T0 + 61;
	assert_int_equal(rd(0x40), 0x00); /* 255 */
	wr(CTRL, 0x00);
	assert_int_equal(rd(0x40), 0x00);
}

static void test_readback_status_then_count(void **state)
{
	(void)state;
	program(0, 0, 100);
	now = T0 + 40;
	wr(CTRL, 0xc2); /* count and status of channel 0 */
	now = T0 + 50;
	assert_int_equal(rd(0x40), 0x30);
	assert_int_equal(rd(0x40), 60);
	assert_int_equal(rd(0x40), 0);
	wr(CTRL, 0xd2); /* count only */
	assert_int_equal(read_word(0), 50);
	program(1, 2, 300);
	program(2, 0, 400);
	now = T0 + 60;
	wr(CTRL, 0xde); /* counts of all three */
	now = T0 + 70;
	assert_int_equal(read_word(0), 40);
	assert_int_equal(read_word(1), 290);
	assert_int_equal(read_word(2), 400); /* gate 2 low: not counting */
	wr(CTRL, 0xe2);
	wr(CTRL, 0xe2); /* a second status latch is ignored */
	assert_int_equal(rd(0x40), 0x30);
	assert_int_equal(read_word(0), 30);
}

static void test_bcd_counting(void **state)
{
	(void)state;
	wr(CTRL, 0x31);
	wr(0x40, 0x00);
	wr(0x40, 0x10); /* 1000 decimal */
	now = T0 + 1;
	assert_int_equal(latched(0), 0x0999);
	assert_int_equal(status(0), 0x31);
	assert_int_equal(next_edge(), T0 + 1000);
	now = T0 + 2;
	wr(CTRL, 0x31);
	wr(0x40, 0);
	wr(0x40, 0); /* 0 = 10000 in BCD */
	now = T0 + 3;
	assert_int_equal(latched(0), 0x9999);
	assert_int_equal(next_edge(), T0 + 2 + 10000);
	now = T0 + 2 + 10000 + 1;
	assert_int_equal(latched(0), 0x9999); /* wraps modulo 10000 */
}

static void test_control_port_reads_zero_other_ports(void **state)
{
	(void)state;
	assert_int_equal(rd(CTRL), 0);
	assert_int_equal(rd(0x44), 0xff);
	wr(0x44, 0x30); /* ignored */
	assert_int_equal(status(0), 0x86);
}

/* ---- channel 2, gate and port 0x61 ---- */

static void test_port61_bits(void **state)
{
	(void)state;
	u8 a = rd(0x61), b = rd(0x61);
	assert_int_equal(a & 0xcf, b & 0xcf);
	assert_int_equal((a ^ b) & 0x10, 0x10); /* refresh toggles per read */
	wr(0x61, 0x03);
	assert_int_equal(rd(0x61) & 0x03, 0x03);
	wr(0x61, 0xfc); /* only bits 0 and 1 are writable */
	assert_int_equal(rd(0x61) & 0xef, 0x20);
}

static void test_gate_pauses_mode0_and_out2(void **state)
{
	(void)state;
	program(2, 0, 50); /* gate low: loaded, not counting */
	now = T0 + 100;
	assert_int_equal(latched(2), 50);
	assert_int_equal(rd(0x61) & 0x20, 0);
	wr(0x61, 0x01);
	now = T0 + 120;
	assert_int_equal(latched(2), 30);
	wr(0x61, 0x00);
	now = T0 + 200;
	assert_int_equal(latched(2), 30);
	wr(0x61, 0x01);
	now = T0 + 229;
	assert_int_equal(rd(0x61) & 0x20, 0);
	now = T0 + 230;
	assert_int_equal(rd(0x61) & 0x21, 0x21);
}

static void test_linux_pit_calibration_sequence(void **state)
{
	(void)state;
	wr(0x61, (rd(0x61) & ~0x02) | 0x01);
	wr(CTRL, 0xb0);
	wr(0x42, 0xff);
	wr(0x42, 0xff);
	u64 start = now;
	while (!(rd(0x61) & 0x20))
		now += 97;
	assert_true(now >= start + 0xffff && now < start + 0xffff + 97);
}

static void test_mode1_and_mode5_triggered_by_gate(void **state)
{
	(void)state;
	program(2, 1, 20);
	assert_true(out(2));
	now = T0 + 5;
	assert_true(out(2)); /* armed, waiting for a trigger */
	assert_int_equal(status(2) & 0x40, 0x40);
	wr(0x61, 0x01);
	assert_false(out(2));
	assert_int_equal(status(2) & 0x40, 0);
	now = T0 + 15;
	assert_int_equal(latched(2), 10);
	wr(0x61, 0x00);
	wr(0x61, 0x01); /* retrigger */
	now = T0 + 34;
	assert_false(out(2));
	now = T0 + 35;
	assert_true(out(2));
	program(2, 5, 10);
	wr(0x61, 0x00);
	wr(0x61, 0x01);
	now += 10;
	assert_false(out(2));
	now += 1;
	assert_true(out(2));
}

static void test_mode3_gate_low_stops_rising_reloads(void **state)
{
	(void)state;
	wr(0x61, 0x01);
	program(2, 3, 10);
	now = T0 + 7;
	assert_false(out(2));
	wr(0x61, 0x00);
	assert_true(out(2));
	now = T0 + 20;
	assert_int_equal(latched(2), 6); /* frozen at phase 7 of 10 */
	wr(0x61, 0x01);
	assert_int_equal(latched(2), 10);
	now = T0 + 24;
	assert_true(out(2));
	now = T0 + 25;
	assert_false(out(2));
}

/* ---- edges across port accesses and at a real TSC rate ---- */

static void test_edge_before_reprogramming_is_reported(void **state)
{
	(void)state;
	program(0, 2, 10);
	now = T0 + 5;
	assert_false(tick());
	now = T0 + 15; /* the edge at +10 was not ticked */
	program(0, 0, 1000);
	assert_true(next_edge() <= now); /* overdue */
	assert_true(tick());
	assert_int_equal(next_edge(), T0 + 1015);
}

static u64 oracle_clk(u64 t, u64 hz)
{
	return (u64)((unsigned __int128)t * PIT_HZ / hz);
}

static void test_deadlines_at_real_tsc_rate(void **state)
{
	(void)state;
	const u64 hz = 2400000000ULL;
	u64 t = 5000000000ULL;
	i8254_reset(&s, t, hz);
	i8254_write(&s, CTRL, 0x34, t, hz);
	i8254_write(&s, 0x40, 1193 & 0xff, t, hz);
	i8254_write(&s, 0x40, 1193 >> 8, t, hz);
	u64 load = oracle_clk(t, hz);
	for (int k = 1; k <= 1000; k++) {
		u64 e = i8254_next_edge(&s, hz);
		assert_int_equal(oracle_clk(e, hz), load + 1193ULL * k);
		assert_true(oracle_clk(e - 1, hz) < load + 1193ULL * k);
		assert_false(i8254_tick(&s, e - 1, hz));
		assert_true(i8254_tick(&s, e, hz));
	}
}

/* ---- glue: IRQ 0 through irq_set_line ---- */

static u64 fake_now;
static int rises, falls;
static bool level0;

u64 vtime_now(void) { return fake_now; }
u64 vtime_hz(void) { return HZ; }

void irq_set_line(u32 gsi, bool level)
{
	assert_int_equal(gsi, 0);
	if (level && !level0)
		rises++;
	if (!level && level0)
		falls++;
	level0 = level;
}

static void glue_setup(void)
{
	static bool registered;
	fake_now = T0;
	if (!registered) {
		pit_init();
		registered = true;
	}
	pio_reset_all();
	rises = falls = 0;
}

static void test_glue_one_pulse_per_tick(void **state)
{
	(void)state;
	glue_setup();
	pio_write(CTRL, 1, 0x34);
	pio_write(0x40, 1, 100);
	pio_write(0x40, 1, 0);
	assert_int_equal(pit_next_deadline(), T0 + 100);
	fake_now = T0 + 99;
	pit_tick(fake_now);
	assert_int_equal(rises, 0);
	fake_now = T0 + 450; /* four periods late */
	pit_tick(fake_now);
	assert_int_equal(rises, 1);
	assert_true(level0); /* mode 2: OUT high again */
	pit_tick(fake_now);
	assert_int_equal(rises, 1);
	assert_int_equal(pit_next_deadline(), T0 + 500);
	fake_now = T0 + 500;
	pit_tick(fake_now);
	assert_int_equal(rises, 2);
}

static void test_glue_write_edges_and_levels(void **state)
{
	(void)state;
	glue_setup();
	pio_write(CTRL, 1, 0x30); /* mode 0: OUT low */
	assert_false(level0);
	pio_write(0x40, 1, 50);
	pio_write(0x40, 1, 0);
	fake_now = T0 + 50;
	pit_tick(fake_now);
	assert_int_equal(rises, 1);
	assert_true(level0); /* stays high after terminal count */
	assert_int_equal(pit_next_deadline(), IRQ_NONE);
	pio_write(CTRL, 1, 0x30);
	assert_false(level0);
	pio_write(CTRL, 1, 0x34); /* mode 2 control word: OUT rises at once */
	assert_int_equal(rises, 2);
	u32 v;
	assert_true(pio_read(0x61, 1, &v));
	assert_int_equal(v & 0x20, 0x20);
	assert_true(pio_read(0x40, 4, &v)); /* counter, counter1, counter2, no read of control */
	assert_int_equal(v >> 24, 0);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reset_state_like_qemu),
		T(test_reset_access_writes_lsb_only),
		T(test_mode0_counts_out_and_wrap),
		T(test_mode0_edge_deadline_once),
		T(test_mode0_first_byte_stops_and_drives_out_low),
		T(test_mode2_rate_generator),
		T(test_mode3_even_count),
		T(test_mode3_odd_count),
		T(test_mode4_software_strobe),
		T(test_counts_of_one_make_no_edges),
		T(test_mode2_new_count_at_end_of_period),
		T(test_mode2_switch_edge_not_lost_by_reads),
		T(test_modes_6_and_7_alias_2_and_3),
		T(test_lohi_read_flipflop_and_reset_by_control_word),
		T(test_latch_holds_value_second_latch_ignored),
		T(test_lsb_and_msb_only_access),
		T(test_readback_status_then_count),
		T(test_bcd_counting),
		T(test_control_port_reads_zero_other_ports),
		T(test_port61_bits),
		T(test_gate_pauses_mode0_and_out2),
		T(test_linux_pit_calibration_sequence),
		T(test_mode1_and_mode5_triggered_by_gate),
		T(test_mode3_gate_low_stops_rising_reloads),
		T(test_edge_before_reprogramming_is_reported),
		T(test_deadlines_at_real_tsc_rate),
		T(test_glue_one_pulse_per_tick),
		T(test_glue_write_edges_and_levels),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
