/* SOURCES: */
/*
 * test_spte.c - mmu/spte.h (header only) with the default MMIO_GEN_BITS (19): MMIO sptes
 * round-trip gfn, generation and access bits; the generation lands exactly in spte bits 3..10
 * and 52..62; an update-in-progress generation is never current; generations 2^19 apart
 * encode identically (the wrap the MMU handles by zapping everything); leaf sptes are never
 * mistaken for MMIO and carry exactly the permission bits asked for; SPTE_INDEX per level.
 * L1TF: for every L1D width C (MAXPHYADDR 36 and 40 -> 44, 44..51, 52 -> 51) every MMIO spte
 * has spte bits [C-5, C) set, so the address a speculative load would take from it is in the
 * top 1/32 of the cacheable space; gfns below 2^34 (gpa < 2^46) round-trip with each of their
 * bits at its documented place, never in [C-5, C); larger ones are reported as not fitting.
 * Expected sptes for a few values are written out by hand, not recomputed with the header's
 * formulas. The narrow build (MMIO_GEN_BITS=4) is tested in test_spte_narrow.c.
 */
#include "unit.h"

#include "mmu/spte.h"

_Static_assert(MMIO_GEN_BITS == 19, "test_spte.c tests the default generation width");

/* The layout spte.h uses; in the hypervisor mmu/mmu.c defines it. Tests set it with
 * spte_init_mmio(): MAXPHYADDR 36 (C = 44) unless a test says otherwise. */
struct spte_mmio_layout spte_mmio_layout;

#define GEN_BITS 19
#define GEN_MASK ((1ULL << GEN_BITS) - 1)
#define GFN_BITS 34 /* gpa < 2^46: 51 address bits minus the 5 L1TF bits */
#define GFN_MAX ((1ULL << GFN_BITS) - 1)
#define MMIO_FIXED (BIT(0) | BIT(51))
#define GEN_SPTE_BITS (GENMASK(10, 3) | GENMASK(62, 52))
#define L1TF_C44 0x00000f8000000000ULL /* spte bits 39..43: the L1TF bits for C = 44 */

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
	spte_init_mmio(36);
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

static const u64 gfns[] = { 0, 1, 2, 0xfff, 0x1000, 0x12345, 0xfffff, 0x100000, 1ULL << 26,
			    1ULL << 27, 1ULL << 33, GFN_MAX - 1, GFN_MAX };

/* Every test starts from C = 44 (the group setup's choice): restored after one that changes it. */
static int reset_layout(void **state)
{
	(void)state;
	spte_init_mmio(36);
	return 0;
}

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
	/* C = 44. gfn 0, gen 0: P, bit 51 and the L1TF bits 39..43 */
	assert_int_equal(make_mmio_spte(0, false, false, 0), 0x00080f8000000001ULL);
	/* all 19 generation bits: 0xff << 3 and 0x7ff << 52 */
	assert_int_equal(make_mmio_spte(0, false, false, 0x7ffff), 0x7ff80f80000007f9ULL);
	/* gen 0x12345: low byte 0x45 -> 0x228, high 0x123 -> 0x123 << 52; gfn 0x1234567; W, U */
	assert_int_equal(make_mmio_spte(0x1234567, true, true, 0x12345), 0x12380f923456722fULL);
	/* gen 0x100 (bit 8): bit 52 only */
	assert_int_equal(make_mmio_spte(0, false, false, 0x100), 0x00180f8000000001ULL);
	/* gen 0x80 (bit 7): bit 10 only */
	assert_int_equal(make_mmio_spte(0, false, false, 0x80), 0x00080f8000000401ULL);
	/* gfn bit 26 = gpa bit 38, the last one kept in place: spte bit 38 */
	assert_int_equal(make_mmio_spte(1ULL << 26, false, false, 0), 0x00080fc000000001ULL);
	/* gfn bit 27 = gpa bit 39 would be an L1TF bit: it goes to spte bit 44 */
	assert_int_equal(make_mmio_spte(1ULL << 27, false, false, 0), 0x00081f8000000001ULL);
	/* the largest gfn (gpa bits 12..45) and the L1TF bits fill bits 12..50 */
	assert_int_equal(make_mmio_spte(GFN_MAX, false, false, 0), 0x000ffffffffff001ULL);
	/* and the decoders agree */
	assert_int_equal(mmio_spte_gen(0x7ff80f80000007f9ULL), 0x7ffff);
	assert_int_equal(mmio_spte_gen(0x12380f923456722fULL), 0x12345);
	assert_int_equal(mmio_spte_gfn(0x12380f923456722fULL), 0x1234567);
	assert_int_equal(mmio_spte_gfn(0x00081f8000000001ULL), 1ULL << 27);
	assert_int_equal(mmio_spte_gfn(0x000ffffffffff001ULL), GFN_MAX);
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
		/* nothing outside P, W, U, the generation, the gfn, the L1TF bits and bit 51: bits
		 * 11 and 63 clear */
		u64 known = MMIO_FIXED | SPTE_MMIO_ACC_W | SPTE_MMIO_ACC_U | GEN_SPTE_BITS |
			    GENMASK(50, 12);
		assert_int_equal(with & ~known, 0);
		assert_int_equal(with & (BIT(11) | BIT(63)), 0);
	}
}

static void test_mmio_gfn_truncated_to_34_bits(void **state)
{
	(void)state;
	/* gfn bits above 33 are dropped, never spilling into bit 51 or the generation (mmu.c
	 * does not make an MMIO spte for such a gfn: mmio_spte_gfn_fits) */
	u64 s = make_mmio_spte(~0ULL, false, false, 0);
	assert_int_equal(s, 0x000ffffffffff001ULL);
	assert_int_equal(mmio_spte_gfn(s), GFN_MAX);
	assert_int_equal(mmio_spte_gen(s), 0);
	assert_int_equal(make_mmio_spte(1ULL << 34, false, false, 5),
			 make_mmio_spte(0, false, false, 5));
	assert_int_equal(make_mmio_spte(1ULL << 38, false, false, 5),
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

/* ---- L1TF ---- */

/* MAXPHYADDR as CPUID reports it -> the L1D width C of the layout. */
static const struct {
	u32 maxphyaddr, c;
} widths[] = {
	{ 36, 44 }, { 39, 44 }, { 40, 44 }, { 43, 44 }, { 44, 44 }, { 45, 45 }, { 46, 46 },
	{ 47, 47 }, { 48, 48 }, { 49, 49 }, { 50, 50 }, { 51, 51 }, { 52, 51 },
};

/* The five L1TF bits [c-5, c), bit by bit. */
static u64 l1tf_bits(u32 c)
{
	u64 m = 0;
	for (u32 b = c - 5; b < c; b++)
		m |= BIT(b);
	return m;
}

/* Where gfn bit k (gpa bit 12 + k) lands in an MMIO spte for width c: in place below c - 5,
 * 5 bits higher from there on. */
static u64 gfn_bit_pos(int k, u32 c)
{
	u64 a = 12 + (u64)k;
	return a < c - 5 ? a : a + 5;
}

/* P, the mark, all five L1TF bits; and the address the CPU would take from the spte (its bits
 * 12..C-1, all the L1D looks at) has its top 5 bits set: at least 2^(C-5), no RAM there. */
static void expect_l1tf_safe(u64 s, u32 c, u64 gfn)
{
	u64 addr = s & GENMASK(c - 1, 12);
	if (!(s & BIT(0)) || !(s & BIT(51)) || (s & l1tf_bits(c)) != l1tf_bits(c) ||
	    addr < (1ULL << (c - 5)) || (addr >> (c - 5)) != 0x1f)
		fail_msg("C %u gfn %#llx: spte %#llx, address %#llx below the top 1/32", c, gfn, s,
			 addr);
}

static void test_l1tf_cache_bits(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(widths); i++) {
		assert_int_equal(spte_l1tf_cache_bits(widths[i].maxphyaddr), widths[i].c);
		spte_init_mmio(widths[i].maxphyaddr);
		assert_int_equal(spte_mmio_layout.cache_bits, widths[i].c);
		assert_int_equal(spte_mmio_layout.rsvd_mask, l1tf_bits(widths[i].c));
	}
	/* the masks by hand: C = 44 keeps gpa bits 12..38 in place and moves 39..45 */
	spte_init_mmio(36);
	assert_int_equal(spte_mmio_layout.low_gpa_mask, 0x0000007ffffff000ULL);
	assert_int_equal(spte_mmio_layout.high_gpa_mask, 0x00003f8000000000ULL);
	/* C = 51 keeps all of 12..45 in place */
	spte_init_mmio(51);
	assert_int_equal(spte_mmio_layout.low_gpa_mask, 0x00003ffffffff000ULL);
	assert_int_equal(spte_mmio_layout.high_gpa_mask, 0);
	/* nonsense from CPUID still gives a usable layout */
	assert_int_equal(spte_l1tf_cache_bits(0), 44);
	assert_int_equal(spte_l1tf_cache_bits(255), 51);
	/* the hypervisor's default before mmu_init: C = 44 (SPTE_MMIO_LAYOUT as mmu.c uses it) */
	struct spte_mmio_layout def = SPTE_MMIO_LAYOUT(SPTE_L1TF_CACHE_BITS_MIN);
	spte_init_mmio(36);
	assert_int_equal(def.cache_bits, spte_mmio_layout.cache_bits);
	assert_int_equal(def.rsvd_mask, spte_mmio_layout.rsvd_mask);
	assert_int_equal(def.low_gpa_mask, spte_mmio_layout.low_gpa_mask);
	assert_int_equal(def.high_gpa_mask, spte_mmio_layout.high_gpa_mask);
}

static void test_l1tf_by_hand(void **state)
{
	(void)state;
	/* MAXPHYADDR 40 -> C = 44: bits 39..43, as for 36 */
	spte_init_mmio(40);
	assert_int_equal(make_mmio_spte(0, false, false, 0), 0x0008000000000001ULL | L1TF_C44);
	/* C = 46: bits 41..45; gfn bit 29 (gpa bit 41) goes to bit 46 */
	spte_init_mmio(46);
	assert_int_equal(make_mmio_spte(0, false, false, 0), 0x00083e0000000001ULL);
	assert_int_equal(make_mmio_spte(1ULL << 29, false, false, 0), 0x00087e0000000001ULL);
	assert_int_equal(mmio_spte_gfn(0x00087e0000000001ULL), 1ULL << 29);
	/* C = 48: bits 43..47; gfn bit 30 (gpa 42) in place, bit 31 (gpa 43) to bit 48 */
	spte_init_mmio(48);
	assert_int_equal(make_mmio_spte(0, false, false, 0), 0x0008f80000000001ULL);
	assert_int_equal(make_mmio_spte(1ULL << 30, false, false, 0), 0x0008fc0000000001ULL);
	assert_int_equal(make_mmio_spte(1ULL << 31, false, false, 0), 0x0009f80000000001ULL);
	/* everything: all bits but 11 and 63 */
	assert_int_equal(make_mmio_spte(GFN_MAX, true, true, 0x7ffff), 0x7ffffffffffff7ffULL);
	/* C = 51: bits 46..50; every gpa bit (12..45) in place */
	spte_init_mmio(51);
	assert_int_equal(make_mmio_spte(0, false, false, 0), 0x000fc00000000001ULL);
	assert_int_equal(make_mmio_spte(1ULL << 33, false, false, 0), 0x000fe00000000001ULL);
	assert_int_equal(make_mmio_spte(GFN_MAX, false, false, 0), 0x000ffffffffff001ULL);
	assert_int_equal(mmio_spte_gfn(0x000fe00000000001ULL), 1ULL << 33);
}

static void test_l1tf_every_width(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(widths); i++) {
		u32 c = widths[i].c, guest_bits = widths[i].maxphyaddr;
		spte_init_mmio(widths[i].maxphyaddr);
		u64 zero = make_mmio_spte(0, false, false, 0);
		/* each gfn bit alone sets one spte bit, the documented one, never an L1TF bit */
		for (int k = 0; k < GFN_BITS; k++) {
			u64 s = make_mmio_spte(1ULL << k, false, false, 0);
			u64 pos = gfn_bit_pos(k, c);
			if ((s ^ zero) != BIT(pos) || (pos >= c - 5 && pos < c) || pos >= 51)
				fail_msg("C %u: gfn bit %d changed spte bits %#llx, expected bit %llu", c,
					 k, s ^ zero, pos);
			assert_int_equal(mmio_spte_gfn(s), 1ULL << k);
		}
		/* random gfns up to the guest's width (MAXPHYADDR): those below 2^34 round-trip
		 * with the generation and access bits; the others are reported as not fitting */
		for (int n = 0; n < 3000; n++) {
			u64 gfn = rnd() & ((1ULL << (guest_bits - 12)) - 1), gen = rnd() & GEN_MASK;
			bool w = rnd() & 1, u = rnd() & 1;
			if (!mmio_spte_gfn_fits(gfn)) {
				if (gfn <= GFN_MAX || guest_bits <= 46)
					fail_msg("C %u: gfn %#llx reported as not fitting", c, gfn);
				continue;
			}
			assert_true(gfn <= GFN_MAX);
			u64 s = make_mmio_spte(gfn, w, u, gen);
			expect_l1tf_safe(s, c, gfn);
			if (!is_mmio_spte(s) || mmio_spte_gfn(s) != gfn || mmio_spte_gen(s) != gen ||
			    !mmio_spte_current(s, gen) || !!(s & SPTE_MMIO_ACC_W) != w ||
			    !!(s & SPTE_MMIO_ACC_U) != u)
				fail_msg("C %u gfn %#llx gen %#llx w %d u %d: spte %#llx gives gfn %#llx "
					 "gen %#llx", c, gfn, gen, w, u, s, mmio_spte_gfn(s),
					 mmio_spte_gen(s));
			/* the decoder never reads the L1TF bits */
			assert_int_equal(mmio_spte_gfn(s & ~l1tf_bits(c)), gfn);
		}
		/* the edges of what fits, whatever C */
		expect_l1tf_safe(make_mmio_spte(GFN_MAX, true, true, GEN_MASK), c, GFN_MAX);
		expect_l1tf_safe(make_mmio_spte(0, false, false, 0), c, 0);
		assert_int_equal(mmio_spte_gfn(make_mmio_spte(GFN_MAX, true, true, GEN_MASK)), GFN_MAX);
		assert_true(mmio_spte_gfn_fits(0));
		assert_true(mmio_spte_gfn_fits(GFN_MAX));
		assert_false(mmio_spte_gfn_fits(GFN_MAX + 1));
		assert_false(mmio_spte_gfn_fits(1ULL << 39));
		assert_false(mmio_spte_gfn_fits(~0ULL));
		/* a guest wider than 46 bits has frames that cannot be cached */
		if (guest_bits > 46)
			assert_false(mmio_spte_gfn_fits((1ULL << (guest_bits - 12)) - 1));
	}
}

/* ---- The TRAP spte (pf_bypass: "not built yet") ---- */

/* For every L1D width: TRAP is P, bit 51, bit 63 and the L1TF bits, written out by hand for
 * C = 44; not present, not MMIO; and no MMIO spte (any gfn, generation, permission) nor any
 * RAM leaf is taken for it. */
static void test_trap_spte(void **state)
{
	(void)state;
	assert_int_equal(spte_trap(), 0x80080f8000000001ULL); /* C = 44: bits 0, 39-43, 51, 63 */
	for (u32 maxphy = 36; maxphy <= 51; maxphy++) {
		spte_init_mmio(maxphy);
		u64 t = spte_trap();
		assert_true(is_trap_spte(t));
		assert_false(is_shadow_present(t));
		assert_false(is_mmio_spte(t));
		assert_true((t & spte_mmio_layout.rsvd_mask) == spte_mmio_layout.rsvd_mask);
		assert_true(t & BIT(51));
		for (size_t i = 0; i < ARRAY_SIZE(gfns); i++)
			for (int g = 0; g < 64; g++)
				for (int p = 0; p < 4; p++) {
					u64 m = make_mmio_spte(gfns[i], p & 1, p & 2, rnd() & GEN_MASK);
					if (is_trap_spte(m) || !is_mmio_spte(m) || !is_shadow_present(m))
						fail_msg("C %u: MMIO spte %#llx taken for TRAP or not "
							 "present", spte_mmio_layout.cache_bits, m);
				}
		for (int i = 0; i < 20000; i++) {
			u64 leaf = make_leaf_spte(rnd() & ((1ULL << 51) - 1), i & 1, i & 2, i & 4,
						  i & 8, i & 16);
			assert_false(is_trap_spte(leaf));
		}
	}
	spte_init_mmio(36);
	assert_false(is_trap_spte(0));
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
		cmocka_unit_test(test_mmio_gfn_truncated_to_34_bits),
		cmocka_unit_test(test_mmio_update_in_progress_never_current),
		cmocka_unit_test(test_mmio_current_only_for_equal_low_bits),
		cmocka_unit_test(test_mmio_generation_wrap),
		cmocka_unit_test_teardown(test_l1tf_cache_bits, reset_layout),
		cmocka_unit_test_teardown(test_l1tf_by_hand, reset_layout),
		cmocka_unit_test_teardown(test_l1tf_every_width, reset_layout),
		cmocka_unit_test_teardown(test_trap_spte, reset_layout),
		cmocka_unit_test(test_leaf_spte_never_mmio),
		cmocka_unit_test(test_leaf_spte_by_hand),
		cmocka_unit_test(test_leaf_spte_permissions),
		cmocka_unit_test(test_nonleaf_and_pdpte),
		cmocka_unit_test(test_spte_index),
	};
	return cmocka_run_group_tests(tests, setup_gens, NULL);
}
