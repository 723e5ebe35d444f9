/* SOURCES: */
/*
 * test_spte.c - mmu/spte.h (header only) with the default MMIO_GEN_BITS (19): MMIO sptes
 * round-trip gfn, generation and access bits; the generation lands exactly in spte bits 3..10
 * and 52..62; an update-in-progress generation is never current; generations 2^19 apart
 * encode identically (the wrap the MMU handles by zapping everything); leaf sptes are never
 * mistaken for MMIO and carry exactly the permission bits asked for; SPTE_INDEX per level.
 * Expected sptes for a few values are written out by hand, not recomputed with the header's
 * formulas. The narrow build (MMIO_GEN_BITS=4) is tested in test_spte_narrow.c.
 */
#include "unit.h"

#include "mmu/spte.h"

_Static_assert(MMIO_GEN_BITS == 19, "test_spte.c tests the default generation width");

#define GEN_BITS 19
#define GEN_MASK ((1ULL << GEN_BITS) - 1)
#define GFN_MAX ((1ULL << 39) - 1) /* spte bits 12..50 */
#define MMIO_FIXED (BIT(0) | BIT(51))
#define GEN_SPTE_BITS (GENMASK(10, 3) | GENMASK(62, 52))

/* Deterministic xorshift64, so a failure reproduces. */
static u64 rng_state = 0x9e3779b97f4a7c15ULL;
static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Where generation bit k goes in the spte, by the layout in the header comment. */
static u64 gen_bit_pos(int k) { return k < 8 ? 3 + (u64)k : 52 + (u64)(k - 8); }

/* Generation values: 0, every 2^k - 1, 2^k and 2^k + 1 for k <= 19 (2^19 and 2^19 + 1 keep only
 * their low 19 bits), then random 19-bit ones. */
static u64 gens[128];
static int n_gens;

static int setup_gens(void **state)
{
	(void)state;
	n_gens = 0;
	gens[n_gens++] = 0;
	for (int k = 0; k <= GEN_BITS; k++) {
		gens[n_gens++] = (1ULL << k) - 1;
		gens[n_gens++] = 1ULL << k;
		gens[n_gens++] = (1ULL << k) + 1;
	}
	while (n_gens < 120)
		gens[n_gens++] = rnd() & GEN_MASK;
	return 0;
}

static const u64 gfns[] = { 0, 1, 2, 0xfff, 0x1000, 0x12345, 0xfffff, 0x100000,
			    1ULL << 38, GFN_MAX - 1, GFN_MAX };

/* ---- MMIO sptes ---- */

static void test_mmio_round_trip(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(gfns) + 200; i++) {
		u64 gfn = i < ARRAY_SIZE(gfns) ? gfns[i] : rnd() & GFN_MAX;
		for (int g = 0; g < n_gens; g++) {
			for (int acc = 0; acc < 4; acc++) {
				bool w = acc & 1, u = acc & 2;
				u64 s = make_mmio_spte(gfn, w, u, gens[g]);
				if (!is_mmio_spte(s) || !is_shadow_present(s) ||
				    mmio_spte_gfn(s) != gfn || mmio_spte_gen(s) != (gens[g] & GEN_MASK) ||
				    !mmio_spte_current(s, gens[g]) ||
				    !!(s & SPTE_MMIO_ACC_W) != w || !!(s & SPTE_MMIO_ACC_U) != u)
					fail_msg("gfn %#llx gen %#llx w %d u %d: spte %#llx gives gfn "
						 "%#llx gen %#llx", gfn, gens[g], w, u, s,
						 mmio_spte_gfn(s), mmio_spte_gen(s));
			}
		}
	}
}

static void test_mmio_spte_by_hand(void **state)
{
	(void)state;
	/* gfn 0, gen 0: just P and bit 51 */
	assert_int_equal(make_mmio_spte(0, false, false, 0), 0x0008000000000001ULL);
	/* all 19 generation bits: 0xff << 3 and 0x7ff << 52 */
	assert_int_equal(make_mmio_spte(0, false, false, 0x7ffff), 0x7ff80000000007f9ULL);
	/* gen 0x12345: low byte 0x45 -> 0x228, high 0x123 -> 0x123 << 52; gfn 0x1234567; W, U */
	assert_int_equal(make_mmio_spte(0x1234567, true, true, 0x12345), 0x123800123456722fULL);
	/* gen 0x100 (bit 8): bit 52 only */
	assert_int_equal(make_mmio_spte(0, false, false, 0x100), 0x0018000000000001ULL);
	/* gen 0x80 (bit 7): bit 10 only */
	assert_int_equal(make_mmio_spte(0, false, false, 0x80), 0x0008000000000401ULL);
	/* the largest gfn fills bits 12..50 */
	assert_int_equal(make_mmio_spte(GFN_MAX, false, false, 0), 0x000ffffffffff001ULL);
	/* and the decoders agree */
	assert_int_equal(mmio_spte_gen(0x7ff80000000007f9ULL), 0x7ffff);
	assert_int_equal(mmio_spte_gen(0x123800123456722fULL), 0x12345);
	assert_int_equal(mmio_spte_gfn(0x123800123456722fULL), 0x1234567);
}

static void test_mmio_gen_bits_placement(void **state)
{
	(void)state;
	u64 base = make_mmio_spte(0, false, false, 0);
	/* each generation bit alone sets exactly one spte bit, the documented one */
	for (int k = 0; k < GEN_BITS; k++) {
		u64 s = make_mmio_spte(0, false, false, 1ULL << k);
		if ((s ^ base) != BIT(gen_bit_pos(k)))
			fail_msg("generation bit %d changed spte bits %#llx, expected bit %llu", k,
				 s ^ base, gen_bit_pos(k));
	}
	/* any generation only ever touches bits 3..10 and 52..62; gfn and access bits never do */
	for (int i = 0; i < 10000; i++) {
		u64 g = rnd() & GEN_MASK, gfn = rnd() & GFN_MAX;
		bool w = rnd() & 1, u = rnd() & 1;
		u64 with = make_mmio_spte(gfn, w, u, g), without = make_mmio_spte(gfn, w, u, 0);
		if ((with ^ without) & ~GEN_SPTE_BITS)
			fail_msg("gen %#llx touched spte bits %#llx outside 3..10, 52..62", g,
				 (with ^ without) & ~GEN_SPTE_BITS);
		u64 expect_gen = 0;
		for (int k = 0; k < GEN_BITS; k++)
			if (g & BIT(k))
				expect_gen |= BIT(gen_bit_pos(k));
		assert_int_equal(with & GEN_SPTE_BITS, expect_gen);
		/* nothing outside P, W, U, the generation, the gfn and bit 51: bit 11 and 63 clear */
		u64 known = MMIO_FIXED | SPTE_MMIO_ACC_W | SPTE_MMIO_ACC_U | GEN_SPTE_BITS |
			    GENMASK(50, 12);
		assert_int_equal(with & ~known, 0);
		assert_int_equal(with & (BIT(11) | BIT(63)), 0);
	}
}

static void test_mmio_gfn_truncated_to_39_bits(void **state)
{
	(void)state;
	/* gfn bits above 38 are dropped, never spilling into bit 51 or the generation */
	u64 s = make_mmio_spte(~0ULL, false, false, 0);
	assert_int_equal(s, 0x000ffffffffff001ULL);
	assert_int_equal(mmio_spte_gfn(s), GFN_MAX);
	assert_int_equal(mmio_spte_gen(s), 0);
	assert_int_equal(make_mmio_spte(1ULL << 39, false, false, 5),
			 make_mmio_spte(0, false, false, 5));
}

static void test_mmio_update_in_progress_never_current(void **state)
{
	(void)state;
	for (int g = 0; g < n_gens; g++) {
		u64 gen = gens[g];
		u64 s = make_mmio_spte(0x1234, true, false, gen);
		assert_false(mmio_spte_current(s, gen | BIT(63)));
		assert_false(mmio_spte_current(s, (gen + 1) | BIT(63)));
		/* the flag never reaches the spte: an spte made with it equals one made without */
		assert_int_equal(make_mmio_spte(0x1234, true, false, gen | BIT(63)), s);
		assert_int_equal(mmio_gen_of(gen | BIT(63)), gen & GEN_MASK);
	}
	/* even the all-ones spte generation is not current for an in-progress generation */
	assert_false(mmio_spte_current(make_mmio_spte(0, 0, 0, GEN_MASK), ~0ULL));
}

static void test_mmio_current_only_for_equal_low_bits(void **state)
{
	(void)state;
	for (int g = 0; g < n_gens; g++) {
		u64 gen = gens[g];
		u64 s = make_mmio_spte(0x42, false, true, gen);
		assert_true(mmio_spte_current(s, gen));
		assert_false(mmio_spte_current(s, gen + 1));
		assert_false(mmio_spte_current(s, gen - 1));
		for (int k = 0; k < GEN_BITS; k++)
			assert_false(mmio_spte_current(s, gen ^ BIT(k)));
		/* bits above the kept width do not matter (that is the wrap) */
		assert_true(mmio_spte_current(s, gen + (1ULL << GEN_BITS)));
		assert_true(mmio_spte_current(s, gen | (0x5a5aULL << 40)));
	}
	for (int i = 0; i < 10000; i++) {
		u64 a = rnd() & ~BIT(63), b = rnd() & ~BIT(63);
		if (i & 1)
			b = (b & ~GEN_MASK) | (a & GEN_MASK);
		u64 s = make_mmio_spte(rnd() & GFN_MAX, false, false, a);
		assert_int_equal(mmio_spte_current(s, b), (a & GEN_MASK) == (b & GEN_MASK));
	}
}

static void test_mmio_generation_wrap(void **state)
{
	(void)state;
	/* g and g + 2^19 encode identically: an spte from before the wrap would look current,
	 * which is why the MMU zaps all sptes when the low bits wrap */
	for (int g = 0; g < n_gens; g++) {
		for (u64 m = 1; m < 5; m++) {
			u64 a = gens[g], b = gens[g] + m * (1ULL << GEN_BITS);
			assert_int_equal(make_mmio_spte(0x777, true, true, a),
					 make_mmio_spte(0x777, true, true, b));
			assert_int_equal(mmio_gen_of(b), a & GEN_MASK);
		}
		assert_int_not_equal(make_mmio_spte(0x777, true, true, gens[g]),
				     make_mmio_spte(0x777, true, true, gens[g] + (1ULL << (GEN_BITS - 1))));
	}
	assert_int_equal(mmio_gen_of(1ULL << GEN_BITS), 0);
	assert_int_equal(mmio_gen_of((1ULL << GEN_BITS) - 1), GEN_MASK);
	assert_int_equal(MMIO_GEN_MASK, 0x7ffff);
}

/* ---- Leaf and non-leaf sptes ---- */

static void test_leaf_spte_never_mmio(void **state)
{
	(void)state;
	u64 hpas[] = { 0, 0x1000, 0xfffff000, 0x100000000ULL, (1ULL << 50), (1ULL << 51) - 0x1000,
		       (1ULL << 51) - 1 };
	for (size_t i = 0; i < ARRAY_SIZE(hpas) + 20000; i++) {
		u64 hpa = i < ARRAY_SIZE(hpas) ? hpas[i] : rnd() & ((1ULL << 51) - 1);
		for (int p = 0; p < 32; p++) {
			u64 s = make_leaf_spte(hpa, p & 1, p & 2, p & 4, p & 8, p & 16);
			if (is_mmio_spte(s) || !is_shadow_present(s) ||
			    spte_hpa(s) != (hpa & ~0xfffULL))
				fail_msg("hpa %#llx perms %#x: spte %#llx (mmio %d, hpa %#llx)", hpa,
					 p, s, is_mmio_spte(s), spte_hpa(s));
		}
		assert_false(is_mmio_spte(make_nonleaf_spte(hpa & ~0xfffULL)));
		assert_false(is_mmio_spte(make_pdpte(hpa & ~0xfffULL)));
	}
	assert_false(is_shadow_present(0));
	assert_false(is_mmio_spte(0));
}

static void test_leaf_spte_by_hand(void **state)
{
	(void)state;
	/* everything allowed: P RW US A D HOST_WRITABLE MMU_WRITABLE, no XD */
	assert_int_equal(make_leaf_spte(0x12345000, 1, 1, 1, 1, 1), 0x12345667ULL);
	/* nothing allowed: P A and XD */
	assert_int_equal(make_leaf_spte(0x12345000, 0, 0, 0, 0, 0), 0x8000000012345021ULL);
	/* guest may write but the memslot is read-only: no RW, no D, MMU_WRITABLE stays */
	assert_int_equal(make_leaf_spte(0x12345000, 1, 0, 1, 0, 1), 0x12345421ULL);
	/* guest may write, slot writable, but the frame is shadowed: HOST_WRITABLE only */
	assert_int_equal(make_leaf_spte(0x12345000, 1, 0, 1, 1, 0), 0x12345221ULL);
	/* low bits of hpa never leak into flags */
	assert_int_equal(make_leaf_spte(0x12345fff, 0, 0, 1, 0, 0), 0x12345021ULL);
	/* bits above 51 of hpa are dropped (XD stays under exec control) */
	assert_int_equal(make_leaf_spte(0xfff0000012345000ULL, 0, 0, 1, 0, 0), 0x12345021ULL);
}

static void test_leaf_spte_permissions(void **state)
{
	(void)state;
	for (int p = 0; p < 32; p++) {
		bool w = p & 1, u = p & 2, x = p & 4, hw = p & 8, mw = p & 16;
		u64 s = make_leaf_spte(0xabcde000, w, u, x, hw, mw);
		bool rw = w && hw && mw;
		assert_int_equal(!!(s & SPTE_P), 1);
		assert_int_equal(!!(s & SPTE_A), 1);
		assert_int_equal(!!(s & SPTE_RW), rw);
		assert_int_equal(!!(s & SPTE_D), rw);
		assert_int_equal(!!(s & SPTE_US), u);
		assert_int_equal(!!(s & SPTE_XD), !x);
		assert_int_equal(!!(s & SPTE_HOST_WRITABLE), hw);
		assert_int_equal(!!(s & SPTE_MMU_WRITABLE), mw);
		/* never PWT, PCD, PS, G, bit 11 or bits 52..62 */
		assert_int_equal(s & (SPTE_PWT | SPTE_PCD | SPTE_PS | SPTE_G | BIT(11) |
				      GENMASK(62, 52)), 0);
		assert_int_equal(spte_hpa(s), 0xabcde000);
	}
}

static void test_nonleaf_and_pdpte(void **state)
{
	(void)state;
	assert_int_equal(make_nonleaf_spte(0x5000), 0x5027ULL); /* P RW US A */
	assert_int_equal(make_pdpte(0x5000), 0x5001ULL);      /* P only */
	assert_int_equal(spte_hpa(make_nonleaf_spte(0x7ffffffff000ULL)), 0x7ffffffff000ULL);
}

/* ---- SPTE_INDEX ---- */

static void test_spte_index(void **state)
{
	(void)state;
	assert_int_equal(SPTE_LEVEL_SHIFT(1), 12);
	assert_int_equal(SPTE_LEVEL_SHIFT(2), 21);
	assert_int_equal(SPTE_LEVEL_SHIFT(3), 30);
	assert_int_equal(SPTE_LEVEL_SHIFT(4), 39);
	/* PML4 0x1a5, PDPT 0x0c3, PD 0x1ff, PT 0x001, offset 0xabc */
	u64 a = (0x1a5ULL << 39) | (0x0c3ULL << 30) | (0x1ffULL << 21) | (0x001ULL << 12) | 0xabc;
	assert_int_equal(a, 0xd2b0ffe01abcULL);
	assert_int_equal(SPTE_INDEX(a, 1), 0x001);
	assert_int_equal(SPTE_INDEX(a, 2), 0x1ff);
	assert_int_equal(SPTE_INDEX(a, 3), 0x0c3);
	assert_int_equal(SPTE_INDEX(a, 4), 0x1a5);
	/* the top of the lower half: 511 at levels 1..3, 255 at level 4 (bit 47 clear); the
	 * top of the upper half: 511 everywhere */
	for (int l = 1; l <= 3; l++)
		assert_int_equal(SPTE_INDEX(0x00007fffffffffffULL, l), 511);
	assert_int_equal(SPTE_INDEX(0x00007fffffffffffULL, 4), 255);
	for (int l = 1; l <= 4; l++)
		assert_int_equal(SPTE_INDEX(0xffffffffffffffffULL, l), 511);
	/* sign-extended upper half: the PML4 index ignores bits 48..63 */
	assert_int_equal(SPTE_INDEX(0xffff800000000000ULL, 4), 256);
	assert_int_equal(SPTE_INDEX(0xffffffff80000000ULL, 4), 511);
	assert_int_equal(SPTE_INDEX(0xffffffff80000000ULL, 3), 510);
	/* PAE (32-bit guest): PDPT index is bits 30..31 */
	assert_int_equal(SPTE_INDEX(0xc0000000ULL, 3), 3);
	assert_int_equal(SPTE_INDEX(0xc0000000ULL, 2), 0);
	assert_int_equal(SPTE_INDEX(0xfee00000ULL, 2), 0x1f7);
	/* every index at every level, one at a time */
	for (int l = 1; l <= 4; l++)
		for (u64 i = 0; i < SPTE_ENTRIES; i++) {
			u64 addr = i << (12 + 9 * (l - 1));
			for (int m = 1; m <= 4; m++)
				assert_int_equal(SPTE_INDEX(addr, m), m == l ? i : 0);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mmio_round_trip),
		cmocka_unit_test(test_mmio_spte_by_hand),
		cmocka_unit_test(test_mmio_gen_bits_placement),
		cmocka_unit_test(test_mmio_gfn_truncated_to_39_bits),
		cmocka_unit_test(test_mmio_update_in_progress_never_current),
		cmocka_unit_test(test_mmio_current_only_for_equal_low_bits),
		cmocka_unit_test(test_mmio_generation_wrap),
		cmocka_unit_test(test_leaf_spte_never_mmio),
		cmocka_unit_test(test_leaf_spte_by_hand),
		cmocka_unit_test(test_leaf_spte_permissions),
		cmocka_unit_test(test_nonleaf_and_pdpte),
		cmocka_unit_test(test_spte_index),
	};
	return cmocka_run_group_tests(tests, setup_gens, NULL);
}
