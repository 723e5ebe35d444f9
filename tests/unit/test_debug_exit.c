/* SOURCES: devices/debug_exit.c devices/platform_stop.c devices/pio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_debug_exit.c - devices/debug_exit.c: a write records a platform stop request
 * (devices/platform_stop.h; it never stops anything itself); the code is the latest value
 * written (all 32 bits) and the reason names the first write since the last take, as
 * vcpu_stop's first-wins did; taking clears the request; reads return all ones; every port and
 * size of the 4-port window counts; a request of another kind pending first wins.
 */
#include "unit.h"

#include "devices/platform_stop.h"
#include "devices/pio.h"

static int register_once(void **state)
{
	(void)state;
	debug_exit_init(0xf4);
	return 0;
}

/* Every test starts with no request pending. */
static int setup(void **state)
{
	(void)state;
	platform_stop_take();
	return 0;
}

static void test_write_records_request(void **state)
{
	(void)state;
	assert_false(platform_stop_requested());
	assert_true(pio_write(0xf4, 1, 0x2a));
	assert_true(platform_stop_requested());
	struct platform_stop r = platform_stop_take();
	assert_int_equal(r.kind, PSTOP_DEBUG_EXIT);
	assert_int_equal(r.code, 0x2a);
	assert_string_equal(r.reason, "guest wrote 0x2a to isa-debug-exit");
	assert_false(platform_stop_requested());
}

static void test_code_latest_reason_first(void **state)
{
	(void)state;
	assert_true(pio_write(0xf5, 2, 0));
	assert_true(pio_write(0xf7, 4, 0xffffffff)); /* a REP OUTS batch writes several */
	struct platform_stop r = platform_stop_take();
	assert_int_equal(r.code, 0xffffffff);
	assert_string_equal(r.reason, "guest wrote 0 to isa-debug-exit");
	assert_true(pio_write(0xf6, 4, 0xffffffff));
	r = platform_stop_take();
	assert_string_equal(r.reason, "guest wrote 0xffffffff to isa-debug-exit");
}

static void test_reads_all_ones(void **state)
{
	(void)state;
	u32 v = 0;
	pio_read(0xf4, 4, &v); /* no read handler: the bus's all ones */
	assert_int_equal(v, 0xffffffff);
	assert_false(platform_stop_requested());
}

/* A poweroff requested first is what ends the run; a debug-exit write after it (in the same
 * exit: a REP OUTS batch) changes neither its kind nor its code. */
static void test_other_kind_first_wins(void **state)
{
	(void)state;
	platform_stop_request(PSTOP_POWEROFF, 0, "guest entered S5");
	assert_true(pio_write(0xf4, 1, 7));
	struct platform_stop r = platform_stop_take();
	assert_int_equal(r.kind, PSTOP_POWEROFF);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.reason, "guest entered S5");
	assert_false(platform_stop_requested());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_write_records_request, setup),
		cmocka_unit_test_setup(test_code_latest_reason_first, setup),
		cmocka_unit_test_setup(test_reads_all_ones, setup),
		cmocka_unit_test_setup(test_other_kind_first_wins, setup),
	};
	return cmocka_run_group_tests(tests, register_once, NULL);
}
