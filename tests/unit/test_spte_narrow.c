/* SOURCES: */
/*
 * test_spte_narrow.c - mmu/spte.h built with MMIO_GEN_BITS=4, as with -DMMIO_GEN_BITS=4 (the
 * build option that makes the generation wrap after 16 memslot changes, so tests reach it
 * quickly): only 4 generation bits are kept, in spte bits 3..6; g and g + 16 encode the same;
 * mmio_gen_of masks to 4 bits; currency compares those 4 bits only; the L1TF bits (C = 44
 * here) are there as in the default width. The default width is tested in test_spte.c.
 */
#include "unit.h"

#define MMIO_GEN_BITS 4
#include "mmu/spte.h"

_Static_assert(MMIO_GEN_BITS == 4, "the header must keep a width given before inclusion");

/* The layout spte.h uses (mmu/mmu.c defines it in the hypervisor): set for MAXPHYADDR 36,
 * i.e. C = 44, L1TF bits 39..43, by the group setup. */
struct spte_mmio_layout spte_mmio_layout;

static int setup_layout(void **state)
{
	(void)state;
	spte_init_mmio(36);
	return 0;
}

#define GFN_MAX ((1ULL << 34) - 1) /* gpa < 2^46 */
#define L1TF_C44 0x00000f8000000000ULL

static u64 rng_state = 0x2545f4914f6cdd1dULL;
static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void test_mask(void **state)
{
	(void)state;
	assert_int_equal(MMIO_GEN_MASK, 0xf);
	assert_int_equal(mmio_gen_of(0), 0);
	assert_int_equal(mmio_gen_of(15), 15);
	assert_int_equal(mmio_gen_of(16), 0);
	assert_int_equal(mmio_gen_of(17), 1);
	assert_int_equal(mmio_gen_of(0x12345), 5);
	assert_int_equal(mmio_gen_of(~0ULL), 0xf);
	for (int i = 0; i < 10000; i++) {
		u64 g = rnd();
		assert_int_equal(mmio_gen_of(g), g & 0xf);
	}
}

static void test_only_four_bits_in_spte(void **state)
{
	(void)state;
	/* a generation with all bits set stores 0xf << 3 and nothing in 7..10 or 52..62 */
	assert_int_equal(make_mmio_spte(0, false, false, ~0ULL), 0x00080f8000000079ULL);
	assert_int_equal(make_mmio_spte(0, false, false, 0x7ffff), 0x00080f8000000079ULL);
	assert_int_equal(make_mmio_spte(0x1234567, true, true, 0x12345), 0x00080f923456702fULL);
	for (int i = 0; i < 10000; i++) {
		u64 g = rnd(), gfn = rnd() & GFN_MAX;
		u64 s = make_mmio_spte(gfn, i & 1, i & 2, g);
		u64 gen_bits = s & (GENMASK(10, 3) | GENMASK(62, 52));
		assert_int_equal(gen_bits, (g & 0xf) << 3);
		assert_int_equal(mmio_spte_gen(s), g & 0xf);
		assert_int_equal(mmio_spte_gfn(s), gfn);
		assert_true(is_mmio_spte(s));
		assert_int_equal(s & L1TF_C44, L1TF_C44);
	}
}

static void test_wrap_every_16(void **state)
{
	(void)state;
	for (u64 g = 0; g < 1000; g++) {
		u64 s = make_mmio_spte(0x99, true, false, g);
		assert_int_equal(make_mmio_spte(0x99, true, false, g + 16), s);
		assert_int_equal(make_mmio_spte(0x99, true, false, g + 16 * 12345), s);
		for (u64 d = 1; d < 16; d++)
			assert_int_not_equal(make_mmio_spte(0x99, true, false, g + d), s);
	}
}

static void test_current_compares_four_bits(void **state)
{
	(void)state;
	for (u64 g = 0; g < 1000; g++) {
		u64 s = make_mmio_spte(0x99, false, true, g);
		assert_true(mmio_spte_current(s, g));
		assert_true(mmio_spte_current(s, g + 16));
		assert_true(mmio_spte_current(s, g ^ (1ULL << 4)));
		assert_true(mmio_spte_current(s, g ^ (1ULL << 18)));
		for (int k = 0; k < 4; k++)
			assert_false(mmio_spte_current(s, g ^ BIT(k)));
		assert_false(mmio_spte_current(s, g | BIT(63)));
		assert_false(mmio_spte_current(s, (g + 16) | BIT(63)));
	}
	/* an spte whose high generation bits were set by hand (not from this build) is not
	 * current: the comparison uses everything the spte holds */
	u64 s = make_mmio_spte(0, false, false, 3) | BIT(52);
	assert_false(mmio_spte_current(s, 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_only_four_bits_in_spte),
		cmocka_unit_test(test_wrap_every_16),
		cmocka_unit_test(test_current_compares_four_bits),
	};
	return cmocka_run_group_tests(tests, setup_layout, NULL);
}
