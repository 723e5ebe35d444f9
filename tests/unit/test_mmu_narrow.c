/* SOURCES: mmu/mmu.c mmu/memslot.c mmu/gwalk.c kernel/fmt.c tests/unit/fake_host.c tests/unit/fake_vmx.c */
/* CFLAGS: -DMMIO_GEN_BITS=4 */
/*
 * test_mmu_narrow.c - mmu/mmu.c built as in build/hv-narrow.elf (MMIO_GEN_BITS=4: MMIO sptes
 * keep 4 generation bits, so the generation wraps every 16 memslot changes), with paging off,
 * the same fakes as test_mmu.c (fake_vmx.c, fake_host.c) and the audit on after every fault:
 *
 *   - the width: the MMU reports 4 (mmu_mmio_gen_bits, what STAT_MMIO_GEN_BITS returns);
 *   - an MMIO spte installed at generation g keeps g's low 4 bits (and the L1TF bits);
 *   - every kind of memslot change (add, delete, move, resize) makes it stale at once, and the
 *     next access rebuilds it through the slow path; no wrap before the 16th change;
 *   - wraps happen exactly when the low 4 bits come back to 0, whatever the changes are;
 *   - the wrap reached through moves alone zaps every shadow page, so the MMIO spte made 16
 *     moves earlier, which would look current again, is gone (a mutant that skips the wrap
 *     check on the move path fails here).
 *
 * The Makefile builds this test's copy of the MMU with the CFLAGS line above, apart from the
 * default-width objects of test_mmu.c.
 */
#include "unit.h"

#include "fake.h"
#include "kernel/pmm.h"
#include "arch/asm.h"
#include "mmu/mmu.h"
#include "mmu/spte.h"

_Static_assert(MMIO_GEN_BITS == 4, "test_mmu_narrow.c needs the narrow width (CFLAGS line)");

#define RAM_SIZE (4 * MiB)
#define RAM_PAGES (RAM_SIZE / PAGE_SIZE)
#define POOL_PAGES 256
#define PHYS_BITS 36
#define PERIOD 16 /* 2^MMIO_GEN_BITS */

#define EC_P 0x1u
#define EC_RSVD 0x8u

#define MMIO_GPA 0xfee00000ULL /* outside every memslot */
#define SLOT1 1                /* the second slot: moves and resizes */
#define SLOT1_PAGES 16
#define SLOT1_A 0x10000ULL     /* its two places (gfns): gpa 256 MiB and 512 MiB */
#define SLOT1_B 0x20000ULL
#define SLOT2 2                /* added and deleted */
#define SLOT2_GFN 0x30000ULL

static u8 *ram;
static u8 *slot1_backing;
static gfn_t slot1_base;
static u64 setup_gen; /* the generation after setup's two slots (memslot_changes counts on) */

#define HPA(gpa) ((u64)(uintptr_t)ram + (u64)(gpa))

/* ---- helpers (as in test_mmu.c) ---- */

static void fault_ok(u64 la, u32 ec)
{
	u64 bad = 0;
	enum mmu_fault r = fake_fault(la, ec, &bad);
	if (r != MMU_HANDLED)
		fail_msg("fault(%#llx, ec %#x) = %d, expected MMU_HANDLED", la, ec, r);
}

/* The leaf spte for la (PAE-format shadow: 3 levels), 0 when the walk does not reach it. */
static u64 leaf_spte(u64 la)
{
	u64 s[4] = { 0 };
	return mmu_shadow_walk(la, s) == 3 ? s[2] : 0;
}

static void add_slot(u32 id, gfn_t base, u64 npages, hpa_t hpa)
{
	struct memslot m = { .id = id, .base_gfn = base, .npages = npages, .hpa = hpa };
	const char *why = NULL;
	if (mmu_memslot_add(&m, &why))
		fail_msg("mmu_memslot_add(id %u): %s", id, why);
}

static void expect_audit_clean(const char *where)
{
	u64 bad = mmu_audit(where);
	if (bad)
		fail_msg("audit at %s: %llu bad sptes; last: %s", where, bad, fake_last_err);
}

static bool host_mmio_sptes(void)
{
	u32 a, b, c, d;
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a < 0x80000008)
		return true; /* mmu.c assumes 36 */
	cpuid(0x80000008, 0, &a, &b, &c, &d);
	return (a & 0xff) <= 51;
}

#define NEED_MMIO_SPTES()                                                         \
	do {                                                                      \
		if (!host_mmio_sptes()) {                                         \
			printf("host MAXPHYADDR 52: MMIO sptes are off, skipped\n"); \
			skip();                                                   \
		}                                                                 \
	} while (0)

/* Moves slot 1 to its other place. */
static void move_slot1(void)
{
	const char *why = NULL;
	gfn_t to = slot1_base == SLOT1_A ? SLOT1_B : SLOT1_A;
	if (mmu_memslot_move(SLOT1, to, &why))
		fail_msg("move slot 1 to gfn %#llx: %s", to, why);
	slot1_base = to;
}

enum change_kind { ADD, MOVE, DELETE, RESIZE };
/* The n-th change of a run (n from 1) cycles add, move, delete, resize: slot 2 is added and
 * deleted; slot 1 moves between its places and resizes between 8 and 16 pages of its backing. */
static enum change_kind kind_of(u64 n) { return (enum change_kind)((n - 1) % 4); }

static void change(enum change_kind k)
{
	const char *why = NULL;
	const struct memslot *s1;
	switch (k) {
	case ADD:
		add_slot(SLOT2, SLOT2_GFN, 1, HPA(0x1000));
		break;
	case DELETE:
		if (mmu_memslot_delete(SLOT2, &why))
			fail_msg("delete slot 2: %s", why);
		break;
	case MOVE:
		move_slot1();
		break;
	case RESIZE:
		s1 = memslot_by_id(&guest_memslots, SLOT1);
		assert_non_null(s1);
		if (mmu_memslot_resize(SLOT1, s1->npages == SLOT1_PAGES ? SLOT1_PAGES / 2 : SLOT1_PAGES,
				       (hpa_t)(uintptr_t)slot1_backing, &why))
			fail_msg("resize slot 1: %s", why);
		break;
	}
}

/* The shadow page pool and everything on it freed; false if pages or links are left. */
static bool free_everything(u64 *in_use, u64 *links)
{
	mmu_zap_all_fast();
	for (int i = 0; i < 100000 && mmu_stats.sp_in_use; i++)
		mmu_reclaim();
	*in_use = mmu_stats.sp_in_use;
	*links = mmu_links_used();
	return !*in_use && !*links;
}

static int setup(void **state)
{
	(void)state;
	fake_vmx_reset();
	fake_log_reset();
	fake_panic_jmp = NULL;
	mmu_audit_enabled = true;
	ram = (u8 *)(uintptr_t)pmm_alloc_contig(RAM_PAGES, 2 * MiB);
	slot1_backing = (u8 *)(uintptr_t)pmm_alloc_contig(SLOT1_PAGES, PAGE_SIZE);
	if (!ram || !slot1_backing || !mmu_init(POOL_PAGES, PHYS_BITS, &(struct mmu_cpu){ cpu_maxphyaddr(), cpu_has_nx(), true }))
		return -1;
	struct mmu_paging off = { 0 };
	if (mmu_set_guest_paging(&off))
		return -1;
	add_slot(0, 0, RAM_PAGES, HPA(0));
	add_slot(SLOT1, SLOT1_A, SLOT1_PAGES, (hpa_t)(uintptr_t)slot1_backing);
	slot1_base = SLOT1_A;
	setup_gen = mmu_generation();
	u64 p = mmu_stats.sp_pool;
	memset(&mmu_stats, 0, sizeof(mmu_stats));
	mmu_stats.sp_pool = p;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	u64 in_use, links;
	bool ok = free_everything(&in_use, &links);
	fake_pmm_free_all();
	ram = slot1_backing = NULL;
	if (!ok) {
		print_error("teardown: %llu shadow pages / %llu links left after zap + reclaim\n",
			    in_use, links);
		return -1;
	}
	return 0;
}

/* An MMIO spte for MMIO_GPA made now (slow path); returns it. */
static u64 install_mmio_spte(void)
{
	u64 slow = mmu_stats.mmio_slow;
	fault_ok(MMIO_GPA, 0);
	assert_int_equal(mmu_stats.mmio_slow, slow + 1);
	u64 e = leaf_spte(MMIO_GPA);
	if (!is_mmio_spte(e) || !mmu_mmio_spte_current(e))
		fail_msg("leaf %#llx for gpa %#llx is not a current MMIO spte", e, MMIO_GPA);
	return e;
}

/* ======================================================================================== */

static void test_narrow_width(void **state)
{
	(void)state;
	assert_int_equal(mmu_mmio_gen_bits(), 4);
	assert_int_equal(MMIO_GEN_MASK, PERIOD - 1);
	assert_false(mmu_guest_paging_on());
}

static void test_narrow_mmio_spte_at_generation(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	u64 g = mmu_generation();
	u64 e = install_mmio_spte();
	assert_int_equal(mmio_spte_gen(e), g % PERIOD);
	/* only the 4 low bits are stored: spte bits 3..6 */
	assert_int_equal(e & (GENMASK(10, 7) | GENMASK(62, 52)), 0);
	assert_int_equal((e >> 3) & 0xf, g % PERIOD);
	assert_int_equal(mmio_spte_gfn(e), MMIO_GPA >> PAGE_SHIFT);
	/* the L1TF bits: five, all set */
	assert_int_equal(__builtin_popcountll(spte_mmio_layout.rsvd_mask), 5);
	assert_int_equal(e & spte_mmio_layout.rsvd_mask, spte_mmio_layout.rsvd_mask);
	/* served from the spte */
	fault_ok(MMIO_GPA + 0x10, EC_P | EC_RSVD);
	assert_int_equal(mmu_stats.mmio_fast, 1);
	assert_int_equal(leaf_spte(MMIO_GPA), e);
	/* not an MMIO spte, not current */
	assert_false(mmu_mmio_spte_current(0));
	assert_false(mmu_mmio_spte_current(make_leaf_spte(HPA(0), 1, 1, 1, 1, 1)));
	expect_audit_clean("installed");
}

/* From the start of a period (low bits 0, just wrapped): 15 changes of every kind, each of
 * which makes the MMIO spte stale at once; none wraps; the 16th does. */
static void test_narrow_each_change_kind_stales(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	while (mmu_generation() % PERIOD)
		move_slot1();
	u64 g0 = mmu_generation(), wraps = mmu_stats.gen_wraps, zaps = mmu_stats.zap_all;
	fault_ok(slot1_base << PAGE_SHIFT, 0); /* a RAM leaf too, in slot 1 */
	u64 e = install_mmio_spte();
	for (int i = 1; i < PERIOD; i++) {
		enum change_kind kind = kind_of((u64)i);
		change(kind);
		assert_int_equal(mmu_generation(), g0 + (u64)i);
		/* O(1): the spte was not visited, it is just not current any more */
		assert_int_equal(leaf_spte(MMIO_GPA), e);
		if (mmu_mmio_spte_current(e))
			fail_msg("change %d (kind %d): MMIO spte %#llx still current", i, kind, e);
		assert_int_equal(mmu_stats.gen_wraps, wraps);
		assert_int_equal(mmu_stats.zap_all, zaps);
		expect_audit_clean("after change");
		/* the CPU faults on it with RSVD: slow path, a new spte with the new generation */
		u64 slow = mmu_stats.mmio_slow, fast = mmu_stats.mmio_fast;
		fault_ok(MMIO_GPA, EC_P | EC_RSVD);
		assert_int_equal(mmu_stats.mmio_slow, slow + 1);
		assert_int_equal(mmu_stats.mmio_fast, fast);
		e = leaf_spte(MMIO_GPA);
		assert_true(mmu_mmio_spte_current(e));
		assert_int_equal(mmio_spte_gen(e), (g0 + (u64)i) % PERIOD);
		fault_ok(MMIO_GPA, EC_P | EC_RSVD);
		assert_int_equal(mmu_stats.mmio_fast, fast + 1);
	}
	/* the 16th change wraps: everything zapped, the root dropped */
	change(kind_of(PERIOD));
	assert_int_equal(mmu_generation() % PERIOD, 0);
	assert_int_equal(mmu_stats.gen_wraps, wraps + 1);
	assert_int_equal(mmu_stats.zap_all, zaps + 1);
	assert_int_equal(leaf_spte(MMIO_GPA), 0);
	assert_int_equal(mmu_stats.memslot_changes, mmu_generation() - setup_gen);
	mmu_load_root();
	expect_audit_clean("after the wrap");
}

/* 100 changes of mixed kinds from wherever setup left the generation: a wrap exactly when the
 * low 4 bits come back to 0, every 16 changes, never in between. */
static void test_narrow_wraps_every_16_changes(void **state)
{
	(void)state;
	u64 wraps = mmu_stats.gen_wraps, zaps = mmu_stats.zap_all;
	u64 first = PERIOD - mmu_generation() % PERIOD; /* changes to the first wrap */
	u64 last_wrap = 0;
	for (u64 i = 1; i <= 100; i++) {
		change(kind_of(i));
		bool wrap = mmu_generation() % PERIOD == 0;
		u64 expect = wraps + (i >= first ? 1 + (i - first) / PERIOD : 0);
		if (mmu_stats.gen_wraps != expect || mmu_stats.zap_all != zaps + (expect - wraps))
			fail_msg("after change %llu (generation %llu): %llu wraps, %llu zaps; expected "
				 "%llu", i, mmu_generation(), mmu_stats.gen_wraps - wraps,
				 mmu_stats.zap_all - zaps, expect - wraps);
		if (wrap) {
			if (last_wrap)
				assert_int_equal(i - last_wrap, PERIOD);
			last_wrap = i;
		}
	}
	assert_int_equal(mmu_stats.gen_wraps - wraps, (100 - first) / PERIOD + 1);
	expect_audit_clean("after 100 changes");
}

/* The wrap through memslot moves alone. An MMIO spte made at generation g would look current
 * again at g + 16, after 16 moves; the wrap on the way must have zapped it. */
static void test_narrow_wrap_by_moves_alone(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	u64 g = mmu_generation();
	fault_ok((slot1_base << PAGE_SHIFT) + 0x3000, 0);
	u64 old = install_mmio_spte();
	u64 to_wrap = PERIOD - g % PERIOD, changes = mmu_stats.memslot_changes;
	for (u64 i = 1; i < to_wrap; i++) {
		move_slot1();
		assert_int_equal(mmu_stats.memslot_changes, changes + i);
		assert_int_equal(mmu_stats.gen_wraps, 0);
		assert_int_equal(mmu_stats.zap_all, 0);
		assert_int_equal(leaf_spte(MMIO_GPA), old); /* still there, stale */
		assert_false(mmu_mmio_spte_current(old));
	}
	move_slot1(); /* the wrapping one */
	assert_int_equal(mmu_generation() % PERIOD, 0);
	assert_int_equal(mmu_stats.gen_wraps, 1);
	assert_int_equal(mmu_stats.zap_all, 1);
	assert_int_equal(leaf_spte(MMIO_GPA), 0); /* the root was dropped */
	expect_audit_clean("at the wrap");

	/* On to g + 16: the old spte's generation is the current one again... */
	for (u64 i = 0; i < g % PERIOD; i++)
		move_slot1();
	assert_int_equal(mmu_generation(), g + PERIOD);
	assert_true(mmu_mmio_spte_current(old));
	assert_int_equal(mmu_stats.gen_wraps, 1);
	/* ...but it is in no table: a fresh root, nothing at MMIO_GPA, the audit clean */
	mmu_load_root();
	if (leaf_spte(MMIO_GPA) == old)
		fail_msg("the MMIO spte from 16 moves ago (%#llx) survived the wrap", old);
	assert_int_equal(leaf_spte(MMIO_GPA), 0);
	assert_int_equal(leaf_spte((slot1_base << PAGE_SHIFT) + 0x3000), 0);
	expect_audit_clean("16 moves later");
	/* the next access walks and caches it again (slow path, not fast) */
	u64 fast = mmu_stats.mmio_fast;
	u64 e = install_mmio_spte();
	assert_int_equal(mmu_stats.mmio_fast, fast);
	assert_int_equal(mmio_spte_gen(e), g % PERIOD);

	/* 16 more moves: exactly one more wrap */
	for (int i = 0; i < PERIOD; i++)
		move_slot1();
	assert_int_equal(mmu_stats.gen_wraps, 2);
	assert_int_equal(mmu_stats.zap_all, 2);
	assert_int_equal(mmu_stats.memslot_changes, changes + 2 * PERIOD);
	mmu_load_root();
	assert_int_equal(leaf_spte(MMIO_GPA), 0);
	expect_audit_clean("two wraps");
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_narrow_width),
		T(test_narrow_mmio_spte_at_generation),
		T(test_narrow_each_change_kind_stales),
		T(test_narrow_wraps_every_16_changes),
		T(test_narrow_wrap_by_moves_alone),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
