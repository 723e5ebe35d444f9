/* SOURCES: */
/*
 * test_hypercall.c - vmx/hypercall.h's privilege rule (docs/hypercalls.md): at CPL 0 every
 * call reaches the dispatcher; at CPL 1-3 only the read-only statistics call does, so that
 * guest userland (guests/linux/lbench.c) can read the counters but never add, move or delete
 * memory, audit or zap. The call number is compared at full width: a number whose low bits
 * are HC_GET_STAT's is not HC_GET_STAT.
 */
#include "unit.h"

#include "vmx/hypercall.h"

static const u64 every_call[] = { HC_GET_VERSION, HC_MEMSLOT_ADD, HC_MEMSLOT_DELETE,
				  HC_MEMSLOT_MOVE, HC_MEMSLOT_RESIZE, HC_GET_STAT, HC_AUDIT,
				  HC_ZAP_ALL, 8, 38, 0xffffffffULL, ~0ULL };

static void test_cpl0_may_make_every_call(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(every_call) / sizeof(every_call[0]); i++)
		assert_true(hc_allowed(0, every_call[i]));
}

static void test_user_may_only_read_statistics(void **state)
{
	(void)state;
	for (u32 cpl = 1; cpl <= 3; cpl++) {
		assert_true(hc_allowed(cpl, HC_GET_STAT));
		for (size_t i = 0; i < sizeof(every_call) / sizeof(every_call[0]); i++)
			if (every_call[i] != HC_GET_STAT)
				assert_false(hc_allowed(cpl, every_call[i]));
	}
}

static void test_user_call_number_full_width(void **state)
{
	(void)state;
	assert_false(hc_allowed(3, (1ULL << 32) | HC_GET_STAT));
	assert_false(hc_allowed(3, (1ULL << 63) | HC_GET_STAT));
	assert_false(hc_allowed(3, HC_GET_STAT + 0x100));
}

/* The per-reason indices sit above every named statistic: the two ranges never meet. */
static void test_exit_reason_indices_apart(void **state)
{
	(void)state;
	assert_true(STAT_COUNT <= STAT_EXIT_REASON);
	assert_int_equal(STAT_INTR_INJECTED, 18);
	assert_int_equal(STAT_TRACKED_WRITES, 19);
	assert_int_equal(STAT_RAM_EMULATIONS, 20);
	assert_int_equal(STAT_PTE_UPDATES, 21);
	assert_int_equal(STAT_FLOOD_ZAPS, 22);
	assert_int_equal(STAT_PREFETCHED, 23);
	assert_int_equal(STAT_EXIT_TICKS, 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpl0_may_make_every_call),
		cmocka_unit_test(test_user_may_only_read_statistics),
		cmocka_unit_test(test_user_call_number_full_width),
		cmocka_unit_test(test_exit_reason_indices_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
