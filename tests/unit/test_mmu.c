/* SOURCES: mmu/mmu.c mmu/memslot.c mmu/gwalk.c emul/emulate.c kernel/fmt.c tests/unit/fake_host.c tests/unit/fake_vmx.c */
/*
 * test_mmu.c - mmu/mmu.c on the host: the shadow page cache and the fault path, against a
 * 32 MiB guest RAM buffer registered as memslot 0 (a host pointer is the "hpa", as in the
 * hypervisor, where host memory is identity-mapped), with the VMX side faked
 * (tests/unit/fake_vmx.c records mmio_emulate and #PF injections) and the host services
 * faked (tests/unit/fake_host.c: pmm on aligned_alloc, log, panic that fails the test).
 *
 *   - paging off: RAM leaves, cache reuse, the MMIO slow and fast paths, stale MMIO sptes after
 *     a memslot change, memslot move/delete/resize clearing leaves, fast zap with bounded lazy
 *     reclaim, the generation not wrapping early (and wrapping at 2^MMIO_GEN_BITS), the
 *     audit catching hand-made corruption, recovery from an exhausted pool;
 *   - 32-bit paging: 4 KiB and 4 MiB pages, write-protection of guest tables, writes to them
 *     (emulated when the walk uses the table, unprotected otherwise), guest #PF injection,
 *     cached roots across CR3 switches, dirty tracking (RAM, MMIO, large pages);
 *   - PAE: 4 KiB and 2 MiB pages, PDPTE load refusal, PDPTEs cached until the CR3 write;
 *   - 4-level: 4 KiB, 2 MiB and 1 GiB pages.
 *
 * mmu_audit_enabled is set, so mmu.c audits itself after every fault and root load; an audit
 * failure panics, which fails the test with the audit's message (FAKE_LOG=1 prints the log).
 * Every test starts from a freshly initialised MMU (setup) and ends with everything zapped
 * and freed, checking that no shadow page and no rmap/parent link is left (teardown).
 */
#include "unit.h"

#include "fake.h"
#include "kernel/pmm.h"
#include "arch/asm.h"
#include "mmu/gwalk.h"
#include "mmu/mmu.h"
#include "mmu/spte.h"
#include "emul/emulate.h"

#define RAM_SIZE (32 * MiB)
#define RAM_PAGES (RAM_SIZE / PAGE_SIZE)
#define POOL_PAGES 512
#define PHYS_BITS 36
#define RECLAIM_BATCH 16 /* mmu.c's bound on pages freed per mmu_reclaim() */
#define RECLAIM_MAX_PRESENT 96 /* ... and on sptes cleared per call (RECLAIM_BUDGET / 16) */

/* Guest paging-structure entry bits. */
#define G_P 0x1ULL
#define G_RW 0x2ULL
#define G_US 0x4ULL
#define G_A 0x20ULL
#define G_D 0x40ULL
#define G_PS 0x80ULL

#define EC_P 0x1u
#define EC_W 0x2u
#define EC_U 0x4u
#define EC_RSVD 0x8u

#define MMIO_GPA 0xfee00000ULL /* outside every memslot */

static u8 *ram;   /* guest RAM: gpa g lives at ram + g */
static int depth; /* shadow levels: 3 (PAE format) or 4 */

#define HPA(gpa) ((u64)(uintptr_t)ram + (u64)(gpa))

/* ---- helpers ---- */

static u32 *g32(u64 gpa) { return (u32 *)(ram + gpa); }
static u64 *g64(u64 gpa) { return (u64 *)(ram + gpa); }

static bool host_nx(void)
{
	u32 a, b, c, d;
	cpuid(0x80000001, 0, &a, &b, &c, &d);
	return d & BIT(20);
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

static void set_paging(struct mmu_paging p)
{
	int r = mmu_set_guest_paging(&p);
	if (r != 0)
		fail_msg("mmu_set_guest_paging(pg=%d pae=%d lma=%d cr3=%#llx) = %d", p.pg, p.pae,
			 p.lma, p.cr3, r);
	depth = p.pg && p.lma ? 4 : 3;
}

static void paging_off(void) { set_paging((struct mmu_paging){ 0 }); }

static enum mmu_fault fault(u64 la, u32 ec)
{
	u64 bad = 0;
	return fake_fault(la, ec, &bad);
}

static void fault_ok(u64 la, u32 ec)
{
	enum mmu_fault r = fault(la, ec);
	if (r != MMU_HANDLED)
		fail_msg("fault(%#llx, ec %#x) = %d, expected MMU_HANDLED", la, ec, r);
}

/* The shadow entries for la; *n is how many (depth when the leaf level was reached). */
static u64 leaf_spte(u64 la, int *n_out)
{
	u64 s[4] = { 0 };
	int n = mmu_shadow_walk(la, s);
	if (n_out)
		*n_out = n;
	return n == depth ? s[n - 1] : 0;
}

/* The leaf for la must be a present RAM spte mapping gpa; returns it. */
static u64 expect_ram_leaf(u64 la, u64 gpa)
{
	int n;
	u64 e = leaf_spte(la, &n);
	if (n != depth || !is_shadow_present(e) || is_mmio_spte(e))
		fail_msg("la %#llx: no RAM leaf (levels %d, spte %#llx)", la, n, e);
	if (spte_hpa(e) != HPA(gpa & ~(PAGE_SIZE - 1)))
		fail_msg("la %#llx: leaf maps host %#llx = gpa %#llx, expected gpa %#llx", la,
			 spte_hpa(e), spte_hpa(e) - HPA(0), gpa & ~(PAGE_SIZE - 1));
	return e;
}

static bool leaf_present(u64 la)
{
	return is_shadow_present(leaf_spte(la, NULL));
}

/* Pointer to the leaf spte for la in the current root (the walk must reach a table). */
static u64 *leaf_ptr(u64 la)
{
	u64 s[4] = { 0 };
	int n = mmu_shadow_walk(la, s);
	assert_int_equal(n, depth);
	u64 *pt = (u64 *)(uintptr_t)spte_hpa(s[n - 2]);
	return &pt[SPTE_INDEX(la, 1)];
}

static void expect_mmio_call(int i, u64 gpa, u64 la)
{
	if (fake_mmio_count <= i)
		fail_msg("mmio_emulate call %d expected (gpa %#llx), %d made", i, gpa, fake_mmio_count);
	if (fake_mmio_calls[i].gpa != gpa || fake_mmio_calls[i].la != la)
		fail_msg("mmio_emulate call %d: gpa %#llx la %#llx, expected gpa %#llx la %#llx", i,
			 fake_mmio_calls[i].gpa, fake_mmio_calls[i].la, gpa, la);
}

static void expect_guest_fault(u64 la, u32 ec, u32 expected_ec)
{
	int before = fake_pf_count;
	u64 gf = mmu_stats.guest_faults;
	enum mmu_fault r = fault(la, ec);
	if (r != MMU_GUEST_FAULT)
		fail_msg("fault(%#llx, ec %#x) = %d, expected MMU_GUEST_FAULT", la, ec, r);
	assert_int_equal(fake_pf_count, before + 1);
	if (fake_pf_calls[before].la != la || fake_pf_calls[before].ec != expected_ec)
		fail_msg("injected #PF cr2 %#llx ec %#x, expected cr2 %#llx ec %#x",
			 fake_pf_calls[before].la, fake_pf_calls[before].ec, la, expected_ec);
	assert_int_equal(mmu_stats.guest_faults, gf + 1);
}

static void add_slot(u32 id, gfn_t base, u64 npages, hpa_t hpa, u32 flags)
{
	struct memslot m = { .id = id, .flags = flags, .base_gfn = base, .npages = npages,
			     .hpa = hpa };
	const char *why = NULL;
	if (mmu_memslot_add(&m, &why))
		fail_msg("mmu_memslot_add(id %u): %s", id, why);
}

/* Zeroed host pages outside guest RAM (freed by teardown). */
static u8 *host_pages(u64 n)
{
	u8 *p = (u8 *)(uintptr_t)pmm_alloc_contig(n, PAGE_SIZE);
	assert_non_null(p);
	return p;
}

static void expect_audit_clean(const char *where)
{
	u64 bad = mmu_audit(where);
	if (bad)
		fail_msg("audit at %s: %llu bad sptes; last: %s", where, bad, fake_last_err);
}

/* Zaps and frees every shadow page; false if pages or links are left over. */
static bool free_everything(u64 *in_use, u64 *links)
{
	mmu_zap_all_fast();
	for (int i = 0; i < 100000 && mmu_stats.sp_in_use; i++)
		mmu_reclaim();
	*in_use = mmu_stats.sp_in_use;
	*links = mmu_links_used();
	return !*in_use && !*links;
}

/* pf_bypass for the next init_mmu (as the hypervisor's default: on). */
static bool want_pf_bypass = true;

static void init_mmu(u64 pool)
{
	assert_true(mmu_init(pool, PHYS_BITS, &(struct mmu_cpu){ cpu_maxphyaddr(), cpu_has_nx(),
								  want_pf_bypass }));
	paging_off();
	add_slot(0, 0, RAM_PAGES, HPA(0), 0);
	/* Counters from here on (sp_in_use is 0: the previous test freed everything). */
	u64 p = mmu_stats.sp_pool;
	assert_int_equal(mmu_stats.sp_in_use, 0);
	memset(&mmu_stats, 0, sizeof(mmu_stats));
	mmu_stats.sp_pool = p;
}

static int setup(void **state)
{
	(void)state;
	fake_vmx_reset();
	fake_log_reset();
	fake_panic_jmp = NULL;
	mmu_audit_enabled = true;
	want_pf_bypass = true;
	mmu_notrap_fill = true;
	ram = (u8 *)(uintptr_t)pmm_alloc_contig(RAM_PAGES, 2 * MiB);
	if (!ram)
		return -1;
	init_mmu(POOL_PAGES);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	u64 in_use, links;
	fake_panic_jmp = NULL;
	bool ok = free_everything(&in_use, &links);
	fake_pmm_free_all(); /* the pool, guest RAM, host_pages() */
	ram = NULL;
	if (!ok) {
		print_error("teardown: %llu shadow pages / %llu links left after zap + reclaim\n",
			    in_use, links);
		return -1;
	}
	return 0;
}

/* Re-initialises the MMU with another pool size (everything freed first). */
static void reinit(u64 pool)
{
	u64 in_use, links;
	assert_true(free_everything(&in_use, &links));
	init_mmu(pool);
}

/* ======================================================================================== */
/* Paging off                                                                               */
/* ======================================================================================== */

static void test_off_ram_fault_maps_leaf(void **state)
{
	(void)state;
	u64 la = 0x123456;
	fault_ok(la, 0);
	u64 s[4];
	assert_int_equal(mmu_shadow_walk(la, s), 3);
	/* A PAE-format root: a PDPTE has only P besides the address. */
	assert_int_equal(s[0] & ~SPTE_ADDR_MASK, SPTE_P);
	assert_int_equal(s[1] & ~SPTE_ADDR_MASK, SPTE_P | SPTE_RW | SPTE_US | SPTE_A);
	u64 e = expect_ram_leaf(la, la);
	/* Paging off: everything allowed; the memslot is writable and no table is shadowed. */
	assert_true(e & SPTE_RW);
	assert_true(e & SPTE_US);
	assert_true(e & SPTE_HOST_WRITABLE);
	assert_true(e & SPTE_MMU_WRITABLE);
	assert_int_equal(mmu_stats.shadow_faults, 1);
	assert_int_equal(mmu_stats.sp_created, 3); /* root, PD, PT */
	assert_int_equal(mmu_stats.sp_in_use, 3);
	assert_int_equal(mmu_stats.mmio_slow, 0);
	assert_int_equal(fake_mmio_count, 0);
	/* Two parent links (PD, PT) and one rmap link (the leaf). */
	assert_int_equal(mmu_links_used(), 3);

	/* Last page of RAM, another GiB-quarter of the root. */
	fault_ok(RAM_SIZE - 1, 0);
	expect_ram_leaf(RAM_SIZE - 1, RAM_SIZE - PAGE_SIZE);
	expect_ram_leaf(la, la);
	expect_audit_clean("off map");
}

static void test_off_second_fault_reuses(void **state)
{
	(void)state;
	u64 la = 0x5000;
	fault_ok(la, 0);
	u64 created = mmu_stats.sp_created, reused = mmu_stats.sp_reused;
	u64 e = expect_ram_leaf(la, la);

	/* Same page again with the root in place: nothing is built. */
	fault_ok(la, 0);
	assert_int_equal(mmu_stats.sp_created, created);
	assert_int_equal(expect_ram_leaf(la, la), e);

	/* Another page under the same PT: no new shadow page. */
	fault_ok(la + PAGE_SIZE, 0);
	assert_int_equal(mmu_stats.sp_created, created);

	/* The root dropped (paging state written again, unchanged): the next fault on the same
	 * page finds the root in the cache instead of building one. */
	paging_off();
	assert_int_equal(mmu_stats.zap_all, 0);
	fault_ok(la, 0);
	assert_int_equal(mmu_stats.sp_created, created);
	assert_true(mmu_stats.sp_reused > reused);
	expect_ram_leaf(la, la);

	/* A new 2 MiB region in the same GiB: exactly one new PT. */
	fault_ok(la + 2 * MiB, 0);
	assert_int_equal(mmu_stats.sp_created, created + 1);
	assert_int_equal(mmu_stats.sp_in_use, created + 1);
}

static void test_off_mmio_slow_then_fast(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	u64 la = MMIO_GPA + 0x40;
	fault_ok(la, 0);
	assert_int_equal(fake_mmio_count, 1);
	expect_mmio_call(0, MMIO_GPA + 0x40, la);
	assert_int_equal(mmu_stats.mmio_slow, 1);
	assert_int_equal(mmu_stats.mmio_sptes, 1);
	assert_int_equal(mmu_stats.mmio_fast, 0);
	assert_int_equal(mmu_stats.shadow_faults, 0);

	int n;
	u64 e = leaf_spte(la, &n);
	assert_int_equal(n, 3);
	if (!is_mmio_spte(e))
		fail_msg("leaf %#llx is not an MMIO spte", e);
	assert_int_equal(mmio_spte_gfn(e), MMIO_GPA >> PAGE_SHIFT);
	assert_int_equal(mmio_spte_gen(e), mmio_gen_of(mmu_generation()));
	assert_true(mmio_spte_current(e, mmu_generation()));
	assert_true(e & SPTE_MMIO_ACC_W); /* paging off: writes and user accesses allowed */
	assert_true(e & SPTE_MMIO_ACC_U);
	assert_int_equal(mmu_links_used(), 2); /* no rmap link for an MMIO spte */
	expect_audit_clean("mmio slow");

	/* The CPU faults with P|RSVD on it: fast path, gpa from the spte, nothing rebuilt. */
	u64 created = mmu_stats.sp_created;
	fault_ok(MMIO_GPA + 0x80, EC_P | EC_RSVD);
	assert_int_equal(mmu_stats.mmio_fast, 1);
	assert_int_equal(mmu_stats.mmio_slow, 1);
	assert_int_equal(fake_mmio_count, 2);
	expect_mmio_call(1, MMIO_GPA + 0x80, MMIO_GPA + 0x80);
	/* A write too (W cached). */
	fault_ok(MMIO_GPA + 0xffc, EC_P | EC_W | EC_RSVD);
	assert_int_equal(mmu_stats.mmio_fast, 2);
	expect_mmio_call(2, MMIO_GPA + 0xffc, MMIO_GPA + 0xffc);
	assert_int_equal(mmu_stats.sp_created, created);
	assert_int_equal(mmu_stats.mmio_sptes, 1);
	assert_int_equal(leaf_spte(la, NULL), e);
}

/* mmu_mmio_cached refuses, counting nothing and changing nothing. */
static void expect_no_cached_answer(u64 la, u32 ec, u64 code_la, const char *why)
{
	u64 fast = mmu_stats.mmio_fast, spte = leaf_spte(la, NULL), gpa = 0;
	hpa_t hpa = 0;
	if (mmu_mmio_cached(la, ec, code_la, &gpa, &hpa))
		fail_msg("mmu_mmio_cached(%#llx, ec %#x, code %#llx) answered (%s)", la, ec, code_la,
			 why);
	assert_int_equal(mmu_stats.mmio_fast, fast);
	assert_int_equal(leaf_spte(la, NULL), spte);
}

/* The MMIO exit's fast path (vmx/insn.c mmio_fast_exit): mmu_mmio_cached answers from the leaf
 * cache what mmu_page_fault would answer, and only while the cache, the spte's generation,
 * the code page's leaf and the access allow it. */
static void test_off_mmio_cached(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	u64 code = 0x5000, la = MMIO_GPA + 0x84, gpa;
	hpa_t hpa;
	fault_ok(code, 0);            /* the code page: a RAM leaf */
	fault_ok(MMIO_GPA + 0x40, 0); /* the MMIO spte, by the slow path */
	mmu_audit_enabled = false;    /* the fast path stays off while the audit runs: below */
	assert_true(mmu_shadow_hpa(code, &hpa)); /* both leaves into the cache */
	fault_ok(MMIO_GPA + 0x80, EC_P | EC_RSVD);
	u64 fast = mmu_stats.mmio_fast;
	assert_true(mmu_mmio_cached(la, EC_P | EC_RSVD, code + 0x10, &gpa, &hpa));
	assert_int_equal(gpa, la);
	assert_int_equal(hpa, HPA(code) + 0x10);
	assert_int_equal(mmu_stats.mmio_fast, fast + 1);
	/* the hint vmx/ tests first: the page of the last answered MMIO access */
	assert_int_equal(mmu_mmio_last_page, MMIO_GPA);
	assert_true(mmu_mmio_cached(la + 4, EC_P | EC_W | EC_RSVD, code, &gpa, &hpa));
	assert_int_equal(gpa, la + 4);
	/* The general path's answer is the same. */
	struct mmu_verdict r = mmu_page_fault(la, EC_P | EC_RSVD);
	assert_int_equal(r.what, MMU_EMULATE_DEVICE);
	assert_int_equal(r.gpa, la);

	expect_no_cached_answer(la, EC_P | EC_RSVD, 0x9000, "code page not in the cache");
	expect_no_cached_answer(la, EC_P | EC_RSVD, MMIO_GPA + 0x10, "code in device memory");
	expect_no_cached_answer(la, EC_P | EC_RSVD | PFEC_I, code, "a fetch");
	mmu_audit_enabled = true;
	expect_no_cached_answer(la, EC_P | EC_RSVD, code, "the audit on");
	mmu_audit_enabled = false;

	/* A memslot change elsewhere: the MMIO spte is stale until its next fault rebuilds it. */
	add_slot(2, (64 * MiB) >> PAGE_SHIFT, 1, (hpa_t)(uintptr_t)host_pages(1), 0);
	expect_no_cached_answer(la, EC_P | EC_RSVD, code, "a stale MMIO spte");
	fault_ok(la, EC_P | EC_RSVD);
	assert_true(mmu_shadow_hpa(code, &hpa));
	fault_ok(la, EC_P | EC_RSVD);
	assert_true(mmu_mmio_cached(la, EC_P | EC_RSVD, code, &gpa, &hpa));

	/* The code page's leaf goes (a zap of every shadow page): no answer from the cache. */
	mmu_zap_all_fast();
	expect_no_cached_answer(la, EC_P | EC_RSVD, code, "after a zap-all");
	mmu_audit_enabled = true;
}

static void test_off_mmio_stale_after_memslot_add(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	u64 la = MMIO_GPA + 0x10;
	fault_ok(la, 0);
	u64 e = leaf_spte(la, NULL);
	assert_true(is_mmio_spte(e));

	u8 *page = host_pages(1);
	u64 gen = mmu_generation();
	add_slot(2, MMIO_GPA >> PAGE_SHIFT, 1, (hpa_t)(uintptr_t)page, 0);
	assert_int_equal(mmu_generation(), gen + 1);
	/* O(1): the spte was not visited, it is just not current any more. */
	assert_int_equal(leaf_spte(la, NULL), e);
	assert_false(mmio_spte_current(e, mmu_generation()));
	expect_audit_clean("stale mmio");

	int calls = fake_mmio_count;
	fault_ok(la, EC_P | EC_RSVD);
	assert_int_equal(mmu_stats.mmio_fast, 0);
	assert_int_equal(fake_mmio_count, calls); /* RAM now: nothing emulated */
	assert_int_equal(mmu_stats.mmio_slow, 1);
	u64 r = leaf_spte(la, NULL);
	if (!is_shadow_present(r) || is_mmio_spte(r) || spte_hpa(r) != (u64)(uintptr_t)page)
		fail_msg("after the slot was added, leaf %#llx, expected RAM at %p", r, (void *)page);
	assert_int_equal(mmu_stats.shadow_faults, 1);

	/* Deleting the slot clears that leaf; the next access is MMIO again (slow). */
	const char *why = NULL;
	assert_int_equal(mmu_memslot_delete(2, &why), 0);
	assert_false(leaf_present(la));
	fault_ok(la, 0);
	assert_int_equal(mmu_stats.mmio_slow, 2);
	assert_true(is_mmio_spte(leaf_spte(la, NULL)));
	expect_mmio_call(calls, la, la);
}

static void test_off_memslot_move_clears_old_leaves(void **state)
{
	(void)state;
	u8 *buf = host_pages(16);
	add_slot(1, 0x10000, 16, (hpa_t)(uintptr_t)buf, 0);
	u64 old_la = 0x10000000ULL, new_la = 0x20000000ULL;
	fault_ok(old_la + 0x3000, 0);
	fault_ok(old_la, 0);
	fault_ok(0x5000, 0); /* slot 0: must survive the move */
	u64 e0 = expect_ram_leaf(0x5000, 0x5000);
	int n;
	u64 e = leaf_spte(old_la + 0x3000, &n);
	assert_int_equal(spte_hpa(e), (u64)(uintptr_t)buf + 0x3000);
	u64 created = mmu_stats.sp_created, in_use = mmu_stats.sp_in_use;
	u64 links = mmu_links_used();

	const char *why = NULL;
	if (mmu_memslot_move(1, new_la >> PAGE_SHIFT, &why))
		fail_msg("move: %s", why);
	/* The old range's leaves are gone; the tables stay; nothing was built or zapped. */
	e = leaf_spte(old_la + 0x3000, &n);
	assert_int_equal(n, 3);
	assert_int_equal(e, spte_trap()); /* empty: "not built yet" (pf_bypass) */
	assert_int_equal(leaf_spte(old_la, NULL), spte_trap());
	assert_int_equal(leaf_spte(0x5000, NULL), e0);
	assert_int_equal(mmu_stats.sp_created, created);
	assert_int_equal(mmu_stats.sp_in_use, in_use);
	assert_int_equal(mmu_stats.zap_all, 0);
	assert_int_equal(mmu_links_used(), links - 2); /* two rmap links released */
	expect_audit_clean("after move");

	/* The new place maps the same backing; the old one is MMIO. */
	fault_ok(new_la + 0x3000, 0);
	assert_int_equal(mmu_stats.sp_created, created + 1); /* a PT for the new 2 MiB */
	created = mmu_stats.sp_created;
	e = leaf_spte(new_la + 0x3000, NULL);
	assert_true(is_shadow_present(e) && !is_mmio_spte(e));
	assert_int_equal(spte_hpa(e), (u64)(uintptr_t)buf + 0x3000);
	int calls = fake_mmio_count;
	fault_ok(old_la + 0x3000, 0);
	expect_mmio_call(calls, old_la + 0x3000, old_la + 0x3000);

	/* Resize (shrink, same backing): the old range's leaves go too. */
	fault_ok(new_la + 0x5000, 0);
	assert_true(leaf_present(new_la + 0x5000));
	assert_int_equal(mmu_memslot_resize(1, 4, (hpa_t)(uintptr_t)buf, &why), 0);
	assert_false(leaf_present(new_la + 0x5000));
	assert_false(leaf_present(new_la + 0x3000));
	fault_ok(new_la + 0x3000, 0);
	assert_int_equal(spte_hpa(leaf_spte(new_la + 0x3000, NULL)), (u64)(uintptr_t)buf + 0x3000);
	/* Resize (grow) onto new backing: the old backing is mapped nowhere afterwards. */
	u8 *buf2 = host_pages(8);
	assert_int_equal(mmu_memslot_resize(1, 8, (hpa_t)(uintptr_t)buf2, &why), 0);
	assert_false(leaf_present(new_la + 0x3000));
	fault_ok(new_la + 0x3000, 0);
	assert_int_equal(spte_hpa(leaf_spte(new_la + 0x3000, NULL)), (u64)(uintptr_t)buf2 + 0x3000);
	assert_int_equal(mmu_stats.sp_created, created);
	expect_audit_clean("after resize");
}

static void test_off_zap_all_reclaims_lazily(void **state)
{
	(void)state;
	const int regions = 40; /* 40 PTs + 1 PD + root = 42 shadow pages */
	for (int i = 0; i < regions; i++)
		fault_ok((u64)i * 2 * MiB + 0x1000, 0);
	assert_int_equal(mmu_stats.sp_in_use, regions + 2);
	u64 in_use = mmu_stats.sp_in_use;

	mmu_zap_all_fast();
	assert_int_equal(mmu_stats.zap_all, 1);
	assert_int_equal(mmu_stats.sp_in_use, in_use); /* O(1): nothing freed yet */
	assert_int_equal(mmu_stats.obsolete_freed, 0);
	u64 s[4];
	assert_int_equal(mmu_shadow_walk(0x1000, s), 0); /* the root was dropped */

	/* A fault now builds fresh pages: obsolete ones are never found again. */
	u64 created = mmu_stats.sp_created, reused = mmu_stats.sp_reused;
	fault_ok(0x1000, 0);
	assert_int_equal(mmu_stats.sp_created, created + 3);
	assert_int_equal(mmu_stats.sp_reused, reused);
	expect_ram_leaf(0x1000, 0x1000);
	expect_audit_clean("after zap");
	in_use += 3;

	int rounds = 0;
	while (mmu_stats.sp_in_use > 3) {
		u64 freed = mmu_stats.obsolete_freed, before = mmu_stats.sp_in_use;
		mmu_reclaim();
		u64 step = mmu_stats.obsolete_freed - freed;
		if (step > RECLAIM_BATCH)
			fail_msg("one mmu_reclaim freed %llu pages (bound %d)", step, RECLAIM_BATCH);
		assert_int_equal(before - mmu_stats.sp_in_use, step);
		rounds++;
		assert_true(rounds < 100);
	}
	assert_int_equal(mmu_stats.obsolete_freed, regions + 2);
	mmu_reclaim(); /* nothing obsolete is left: a no-op */
	assert_int_equal(mmu_stats.obsolete_freed, regions + 2);
	assert_int_equal(mmu_stats.sp_in_use, 3); /* the live ones built after the zap */
	expect_ram_leaf(0x1000, 0x1000);
	assert_int_equal(mmu_links_used(), 3);
	expect_audit_clean("after reclaim");
}

/* One exit's reclaim is bounded by the sptes it clears, not by the pages it frees (issue 16):
 * an obsolete table with 512 present entries is freed over two calls, resuming where the
 * first stopped, and the tables stay consistent in between. */
static void test_off_reclaim_bounded_by_entries(void **state)
{
	(void)state;
	for (u64 a = 0; a < 2 * MiB; a += PAGE_SIZE)
		fault_ok(4 * MiB + a, 0);
	assert_int_equal(mmu_stats.sp_in_use, 3); /* root, PD, one PT with 512 leaves */
	u64 links = mmu_links_used();
	assert_true(links >= 512);
	mmu_zap_all_fast();
	int calls = 0;
	while (mmu_stats.sp_in_use) {
		u64 before = mmu_links_used();
		mmu_reclaim();
		u64 released = before - mmu_links_used();
		if (released > RECLAIM_MAX_PRESENT)
			fail_msg("one mmu_reclaim cleared %llu links (bound %d)", released,
				 RECLAIM_MAX_PRESENT);
		expect_audit_clean("between reclaims");
		calls++;
		assert_true(calls < 10);
	}
	assert_true(calls >= 2); /* 513 present entries do not fit one call */
	assert_int_equal(mmu_links_used(), 0);
	assert_int_equal(mmu_stats.obsolete_freed, 3);
	/* The freed pages are good as new: the same region maps again. */
	fault_ok(4 * MiB + 0x5000, 0);
	expect_ram_leaf(4 * MiB + 0x5000, 4 * MiB + 0x5000);
	expect_audit_clean("after refault");
}

static void test_off_generation_no_early_wrap(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	u64 la = MMIO_GPA;
	fault_ok(la, 0);
	u8 *page = host_pages(1);
	u64 gen = mmu_generation();
	const int pairs = 1000;
	for (int i = 0; i < pairs; i++) {
		add_slot(5, 0x100000, 1, (hpa_t)(uintptr_t)page, 0);
		assert_int_equal(mmu_memslot_delete(5, NULL), 0);
	}
	assert_int_equal(mmu_generation(), gen + 2 * pairs);
	assert_int_equal(mmu_stats.memslot_changes, 2 * pairs);
	assert_int_equal(mmu_stats.gen_wraps, 0);
	assert_int_equal(mmu_stats.zap_all, 0);
	/* The old MMIO spte is still in place but stale: a RSVD fault goes the slow way. */
	assert_true(is_mmio_spte(leaf_spte(la, NULL)));
	fault_ok(la, EC_P | EC_RSVD);
	assert_int_equal(mmu_stats.mmio_fast, 0);
	assert_int_equal(mmu_stats.mmio_slow, 2);
	fault_ok(la, EC_P | EC_RSVD);
	assert_int_equal(mmu_stats.mmio_fast, 1);
}

/* The wrap itself: 2^MMIO_GEN_BITS changes (MMIO_GEN_BITS as mmu.c is built: the default).
 * An MMIO spte made at generation g would look current again at g + 2^N, so all shadow
 * pages must have been zapped when the low bits came back to 0. */
static void test_off_generation_wrap_zaps_all(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	u64 la = MMIO_GPA;
	fault_ok(la, 0);
	u64 spte = leaf_spte(la, NULL);
	assert_true(is_mmio_spte(spte));
	u64 gen0 = mmu_generation();
	u8 *page = host_pages(1);
	/* Changes until the low bits are 0 again: one before, check, then the wrapping one. */
	u64 to_wrap = (MMIO_GEN_MASK + 1) - mmio_gen_of(gen0);
	for (u64 i = 0; i + 1 < to_wrap; i++) {
		if (i % 2 == 0)
			add_slot(5, 0x100000, 1, (hpa_t)(uintptr_t)page, 0);
		else
			assert_int_equal(mmu_memslot_delete(5, NULL), 0);
	}
	assert_int_equal(mmu_stats.gen_wraps, 0);
	assert_int_equal(mmu_stats.zap_all, 0);
	assert_true(is_mmio_spte(leaf_spte(la, NULL)));
	if (to_wrap % 2 == 0)
		assert_int_equal(mmu_memslot_delete(5, NULL), 0);
	else
		add_slot(5, 0x100000, 1, (hpa_t)(uintptr_t)page, 0);
	assert_int_equal(mmio_gen_of(mmu_generation()), 0);
	assert_int_equal(mmu_stats.gen_wraps, 1);
	assert_int_equal(mmu_stats.zap_all, 1);
	u64 s[4];
	assert_int_equal(mmu_shadow_walk(la, s), 0);

	/* Up to the generation the old spte carried: still nothing current from before. */
	for (u64 i = 0; i < mmio_gen_of(gen0); i++) {
		if (mmu_memslot_delete(5, NULL))
			add_slot(5, 0x100000, 1, (hpa_t)(uintptr_t)page, 0);
	}
	assert_true(mmio_spte_current(spte, mmu_generation())); /* would be, if it existed */
	mmu_load_root();
	assert_int_equal(leaf_spte(la, NULL), 0);
	fault_ok(la, 0);
	assert_int_equal(mmu_stats.mmio_slow, 2);
}

/* mmu_audit=N: each named point audits the sptes the MMU changed since the previous one, and
 * every Nth point the whole tables. A leaf corrupted behind the MMU's back is not such a
 * change: the points in between pass, the next whole-table audit panics. */
static void test_off_audit_points_changed_then_whole(void **state)
{
	(void)state;
	fault_ok(0x3000, 0);
	u64 *p = leaf_ptr(0x3000), orig = *p;
	u8 *outside = host_pages(1);
	mmu_audit_every = 3;
	mmu_audit_points = 0;
	u64 whole = mmu_audits_whole;
	*p = (orig & ~SPTE_ADDR_MASK) | (u64)(uintptr_t)outside;
	fault_ok(0x10000, 0); /* point 1: 0x10000 and its prefetched neighbours */
	fault_ok(0x20000, 0); /* point 2 */
	assert_int_equal(mmu_audits_whole, whole);
	jmp_buf j;
	if (setjmp(j) == 0) {
		fake_panic_jmp = &j;
		fault_ok(0x30000, 0); /* point 3: the whole tables */
		fake_panic_jmp = NULL;
		*p = orig;
		mmu_audit_every = 1;
		fail_msg("the whole-table audit at the third point passed");
	}
	fake_panic_jmp = NULL;
	*p = orig;
	mmu_audit_every = 1;
	assert_non_null(strstr(fake_panic_msg, "whole tables"));
	expect_audit_clean("restored");
}

static void test_off_audit_catches_corruption(void **state)
{
	(void)state;
	fault_ok(0x3000, 0);
	fault_ok(0x4000, 0);
	if (host_mmio_sptes())
		fault_ok(MMIO_GPA, 0);
	assert_int_equal(mmu_audit("clean"), 0);

	u64 *p = leaf_ptr(0x3000), orig = *p;
	u8 *outside = host_pages(1);

	/* A leaf pointing at host memory outside every memslot. */
	*p = (orig & ~SPTE_ADDR_MASK) | (u64)(uintptr_t)outside;
	u64 bad = mmu_audit("outside");
	*p = orig;
	assert_int_equal(bad, 1);
	assert_non_null(strstr(fake_last_err, "audit at outside: 1 bad"));

	/* A leaf mapping the wrong guest page (gpa 0x4000 at la 0x3000). */
	*p = (orig & ~SPTE_ADDR_MASK) | HPA(0x4000);
	bad = mmu_audit("wrong gfn");
	*p = orig;
	assert_int_equal(bad, 1);

	/* A non-leaf entry pointing at something that is not a shadow page. */
	u64 s[4];
	assert_int_equal(mmu_shadow_walk(0x3000, s), 3);
	u64 *pd = (u64 *)(uintptr_t)spte_hpa(s[0]);
	u64 pde = pd[SPTE_INDEX(0x3000ULL, 2)];
	pd[SPTE_INDEX(0x3000ULL, 2)] = (pde & ~SPTE_ADDR_MASK) | (u64)(uintptr_t)outside;
	bad = mmu_audit("bad child");
	pd[SPTE_INDEX(0x3000ULL, 2)] = pde;
	assert_true(bad >= 1);

	if (host_mmio_sptes()) {
		/* An MMIO spte caching another gfn than the guest maps there. */
		u64 *m = leaf_ptr(MMIO_GPA), mo = *m;
		*m = make_mmio_spte((MMIO_GPA >> PAGE_SHIFT) + 1, true, true, mmu_generation());
		bad = mmu_audit("mmio gfn");
		*m = mo;
		assert_int_equal(bad, 1);
		/* A current MMIO spte for a frame that is RAM (at la 0x3000, gfn 3). */
		*p = make_mmio_spte(0x3000 >> PAGE_SHIFT, true, true, mmu_generation());
		bad = mmu_audit("mmio in ram");
		*p = orig;
		assert_int_equal(bad, 1);
		/* The same spte with an old generation is merely stale: fine. */
		*p = make_mmio_spte(0x3000 >> PAGE_SHIFT, true, true, mmu_generation() - 1);
		bad = mmu_audit("stale mmio in ram");
		*p = orig;
		assert_int_equal(bad, 0);
	}

	/* A writable leaf for a read-only memslot (ROM at gpa 48 MiB). */
	u8 *rom = host_pages(1);
	u64 rom_gpa = 0x3000000;
	add_slot(3, rom_gpa >> PAGE_SHIFT, 1, (hpa_t)(uintptr_t)rom, MEMSLOT_F_READONLY);
	fault_ok(rom_gpa, 0);
	u64 *q = leaf_ptr(rom_gpa), qo = *q;
	assert_true(is_shadow_present(qo) && !is_mmio_spte(qo));
	assert_int_equal(spte_hpa(qo), (u64)(uintptr_t)rom);
	assert_false(qo & SPTE_RW);
	assert_false(qo & SPTE_HOST_WRITABLE);
	*q = qo | SPTE_RW;
	bad = mmu_audit("rom");
	*q = qo;
	assert_int_equal(bad, 1);
	assert_non_null(strstr(fake_last_err, "audit at rom: 1 bad"));

	assert_int_equal(mmu_audit("restored"), 0);
}

/* A read-only memslot (ROM): reads map read-only, writes are emulated (and dropped). */
static void test_off_rom_write_emulated(void **state)
{
	(void)state;
	u8 *rom = host_pages(1);
	u64 gpa = 0x3000000;
	add_slot(3, gpa >> PAGE_SHIFT, 1, (hpa_t)(uintptr_t)rom, MEMSLOT_F_READONLY);
	fault_ok(gpa + 8, EC_W);
	assert_int_equal(fake_mmio_count, 1);
	expect_mmio_call(0, gpa + 8, gpa + 8);
	u64 e = leaf_spte(gpa, NULL);
	assert_false(is_shadow_present(e) && (e & SPTE_RW));
	fault_ok(gpa + 8, 0);
	assert_int_equal(fake_mmio_count, 1);
	e = leaf_spte(gpa, NULL);
	assert_true(is_shadow_present(e) && !is_mmio_spte(e));
	assert_int_equal(spte_hpa(e), (u64)(uintptr_t)rom);
	assert_false(e & SPTE_RW);
	fault_ok(gpa + 16, EC_P | EC_W);
	assert_int_equal(fake_mmio_count, 2);
	expect_mmio_call(1, gpa + 16, gpa + 16);
	assert_false(leaf_spte(gpa, NULL) & SPTE_RW);
	expect_audit_clean("rom");
}

static void test_off_pool_exhaustion_recovers(void **state)
{
	(void)state;
	reinit(8); /* root + PD + 6 PTs */
	for (int i = 0; i < 24; i++) {
		u64 la = (u64)(i % 16) * 2 * MiB + (u64)i * PAGE_SIZE;
		int tries = 0;
		while (!leaf_present(la)) {
			if (++tries > 4)
				fail_msg("la %#llx still not mapped after %d faults", la, tries - 1);
			mmu_load_root();
			fault_ok(la, 0);
		}
		expect_ram_leaf(la, la);
		assert_true(mmu_stats.sp_in_use <= 8);
		expect_audit_clean("pool");
	}
	assert_true(mmu_stats.zap_all > 0);
}

/* A RSVD fault can only come from an MMIO spte: anything else is a hypervisor bug. */
static void test_off_rsvd_fault_on_ram_panics(void **state)
{
	(void)state;
	fault_ok(0x3000, 0);
	jmp_buf j;
	if (setjmp(j) == 0) {
		fake_panic_jmp = &j;
		fault(0x3000, EC_P | EC_RSVD);
		fake_panic_jmp = NULL;
		fail_msg("no panic on a RSVD fault over a RAM leaf");
	}
	assert_non_null(strstr(fake_panic_msg, "RSVD fault"));
}

/* ======================================================================================== */
/* 32-bit paging                                                                            */
/* ======================================================================================== */

#define PD_A 0x10000ULL
#define PT_A 0x11000ULL
#define PD_B 0x12000ULL
#define PT_B 0x13000ULL

static void pte32(u64 table, u32 idx, u32 v) { *g32(table + 4ULL * idx) = v; }
static u32 get32(u64 table, u32 idx) { return *g32(table + 4ULL * idx); }

/*
 * PD_A: PDE0 -> PT_A (P|RW|US); PDE1: 4 MiB -> gpa 0 (P|RW, D clear); PDE2: 4 MiB ->
 *       gpa 16 MiB; PDE3: 4 MiB -> gpa 0 again, D already set (an alias of PDE1).
 * PT_A: 0x1-0x4, 0x7 supervisor RW identity; 0x5 not present; 0x6 user RW; 0x8 -> gpa
 *       0x1a0000; 0x9 -> MMIO_GPA; 0xa supervisor read-only; 0xb user read-only; 0x10-0x13
 *       (the four tables) identity with A and D set, so only write-protection can make them
 *       read-only; 0x203 (la 0x203000, upper half of the PT) -> 0x1c3000.
 *       PDE 0x100 (la 1 GiB): 4 MiB -> gpa 20 MiB.
 * PD_B: PDE0 -> PT_B; PT_B maps 0x3000 -> 0x1b0000 and the tables like PT_A.
 */
static void build_32(void)
{
	for (u32 i = 1; i <= 4; i++)
		pte32(PT_A, i, (i << 12) | G_P | G_RW);
	pte32(PT_A, 0x6, 0x6000 | G_P | G_RW | G_US);
	pte32(PT_A, 0x7, 0x7000 | G_P | G_RW);
	pte32(PT_A, 0x8, 0x1a0000 | G_P | G_RW);
	pte32(PT_A, 0x9, (u32)MMIO_GPA | G_P | G_RW);
	pte32(PT_A, 0xa, 0xa000 | G_P);
	pte32(PT_A, 0xb, 0xb000 | G_P | G_US);
	pte32(PT_A, 0x203, 0x1c3000 | G_P | G_RW); /* the PT's upper half: a second shadow PT */
	for (u32 i = 0x10; i <= 0x13; i++) {
		pte32(PT_A, i, (i << 12) | G_P | G_RW | G_A | G_D);
		pte32(PT_B, i, (i << 12) | G_P | G_RW | G_A | G_D);
	}
	pte32(PT_B, 0x3, 0x1b0000 | G_P | G_RW);
	pte32(PD_A, 0, PT_A | G_P | G_RW | G_US);
	pte32(PD_A, 1, 0x0 | G_P | G_RW | G_PS);
	pte32(PD_A, 2, 0x1000000 | G_P | G_RW | G_PS);
	pte32(PD_A, 3, 0x0 | G_P | G_RW | G_PS | G_D);
	pte32(PD_A, 0x100, 0x1400000 | G_P | G_RW | G_PS); /* la 1 GiB: the PD's 2nd quadrant */
	pte32(PD_B, 0, PT_B | G_P | G_RW | G_US);
}

static struct mmu_paging paging_32(u64 cr3)
{
	return (struct mmu_paging){ .pg = true, .pse = true, .wp = true, .cr3 = cr3 };
}

static void setup_32(void)
{
	build_32();
	set_paging(paging_32(PD_A));
	mmu_load_root();
}

static void test_32_map_4k_and_4m(void **state)
{
	(void)state;
	setup_32();
	u64 created = mmu_stats.sp_created;
	assert_int_equal(created, 5); /* the PAE-format root and the PD's 4 quadrants */
	fault_ok(0x8123, 0);
	u64 e = expect_ram_leaf(0x8123, 0x1a0000);
	assert_false(e & SPTE_RW); /* guest D clear: read-only until the first write */
	assert_false(e & SPTE_US);
	assert_int_equal(mmu_stats.sp_created, created + 1); /* one shadow PT */
	assert_true(get32(PT_A, 8) & G_A);
	assert_false(get32(PT_A, 8) & G_D);
	assert_true(get32(PD_A, 0) & G_A);
	assert_int_equal(mmu_stats.shadow_faults, 1);
	assert_int_equal(fake_pf_count, 0);

	/* A 4 MiB page: a direct shadow PT for the 2 MiB half la falls in. */
	fault_ok(0x812345, 0);
	expect_ram_leaf(0x812345, 0x1012345);
	assert_true(get32(PD_A, 2) & G_A);
	fault_ok(0xbff000, 0); /* the other half: another direct PT */
	expect_ram_leaf(0xbff000, 0x13ff000);
	assert_int_equal(mmu_stats.sp_created, created + 3);
	expect_ram_leaf(0x812345, 0x1012345);

	/* A guest PT (1024 entries) is two shadow PTs; a guest PD four shadow PDs. */
	fault_ok(0x3000, 0);
	fault_ok(0x203000, 0);
	expect_ram_leaf(0x203000, 0x1c3000);
	expect_ram_leaf(0x3000, 0x3000);
	assert_int_equal(mmu_stats.sp_created, created + 4);
	fault_ok(0x40003000, 0);
	expect_ram_leaf(0x40003000, 0x1403000);
	expect_ram_leaf(0x3000, 0x3000);
	expect_ram_leaf(0x8123, 0x1a0000);
	expect_audit_clean("32 map");
}

static void test_32_tables_write_protected(void **state)
{
	(void)state;
	setup_32();
	/* A writable leaf on PT_A's frame through the 4 MiB page, before PT_A is a table. */
	fault_ok(0x400000 + PT_A, EC_W);
	u64 e = expect_ram_leaf(0x400000 + PT_A, PT_A);
	assert_true(e & SPTE_RW);
	assert_true(get32(PD_A, 1) & G_D);

	/* A walk through PT_A shadows it: that leaf loses its write permission. */
	fault_ok(0x3000, 0);
	e = expect_ram_leaf(0x400000 + PT_A, PT_A);
	if (e & (SPTE_RW | SPTE_MMU_WRITABLE))
		fail_msg("leaf %#llx for PT_A's frame still writable after PT_A was shadowed", e);

	/* New leaves on table frames are read-only though the guest entries are dirty. */
	fault_ok(PT_A, 0);
	assert_false(expect_ram_leaf(PT_A, PT_A) & SPTE_RW);
	fault_ok(PD_A + 0x10, 0);
	assert_false(expect_ram_leaf(PD_A + 0x10, PD_A) & SPTE_RW);
	fault_ok(PT_A, EC_P); /* a read again changes nothing */
	assert_false(expect_ram_leaf(PT_A, PT_A) & SPTE_RW);
	/* PD_B is no table of this address space: the same kind of entry gives a writable leaf. */
	fault_ok(PD_B, 0);
	assert_true(expect_ram_leaf(PD_B, PD_B) & SPTE_RW);
	expect_audit_clean("32 wp");
}

static void test_32_write_to_unused_table_unprotects(void **state)
{
	(void)state;
	build_32();
	*g32(PD_A + 4) |= G_D; /* PDE1 dirty: only the write-protection keeps the leaf read-only */
	set_paging(paging_32(PD_A));
	fault_ok(0x3000, 0); /* shadows PT_A */
	fault_ok(0x400000 + PT_A, 0);
	assert_false(expect_ram_leaf(0x400000 + PT_A, PT_A) & SPTE_RW);
	u64 in_use = mmu_stats.sp_in_use;

	/* The write's walk goes through PD_A only: PT_A's shadow is zapped, the page mapped
	 * writable, nothing emulated. */
	fault_ok(0x400000 + PT_A + 0x20, EC_P | EC_W);
	assert_int_equal(fake_mmio_count, 0);
	u64 e = expect_ram_leaf(0x400000 + PT_A, PT_A);
	assert_true(e & SPTE_RW);
	assert_int_equal(mmu_stats.sp_in_use, in_use - 1);
	int n;
	leaf_spte(0x3000, &n);
	assert_int_equal(n, 2); /* the shadow PD entry that led to PT_A's shadow is gone */
	expect_audit_clean("32 unprotect");

	/* Used as a table again: protected again. */
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x3000);
	assert_false(expect_ram_leaf(0x400000 + PT_A, PT_A) & SPTE_RW);
}

static void test_32_write_to_table_in_walk_emulates(void **state)
{
	(void)state;
	setup_32();
	fault_ok(PT_A + 0x10, 0);
	assert_false(expect_ram_leaf(PT_A + 0x10, PT_A) & SPTE_RW);
	/* PT_A holds the very PTE this access uses: emulate, then drop PT_A's shadows. */
	fault_ok(PT_A + 0x10, EC_P | EC_W);
	assert_int_equal(fake_mmio_count, 1);
	expect_mmio_call(0, PT_A + 0x10, PT_A + 0x10);
	int n;
	leaf_spte(PT_A + 0x10, &n);
	assert_int_equal(n, 2);
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x3000);
	expect_audit_clean("32 emulate");
}

/* mmu_shadow_hpa (the instruction emulator's code-page lookup, cached between calls) follows
 * the shadow tables: a CR3 switch, the guest rewriting the PTE (emulated write to a table in
 * use, whose shadows are zapped) and a zap-all are all seen at the next call. */
static void test_32_shadow_hpa_follows_changes(void **state)
{
	(void)state;
	setup_32();
	hpa_t h = 0;
	assert_false(mmu_shadow_hpa(0x3000, &h)); /* nothing mapped yet */
	fault_ok(0x3000, 0);
	assert_true(mmu_shadow_hpa(0x3000, &h));
	assert_int_equal(h, HPA(0x3000));
	assert_true(mmu_shadow_hpa(0x3000, &h)); /* the cached answer */
	assert_int_equal(h, HPA(0x3000));
	set_paging(paging_32(PD_B));
	mmu_load_root();
	fault_ok(0x3000, 0);
	assert_true(mmu_shadow_hpa(0x3000, &h));
	assert_int_equal(h, HPA(0x1b0000));
	set_paging(paging_32(PD_A));
	mmu_load_root();
	assert_true(mmu_shadow_hpa(0x3000, &h)); /* PD_A's cached shadow again */
	assert_int_equal(h, HPA(0x3000));
	/* The guest points PTE 3 at another frame: the write goes through PT_A itself. */
	fault_ok(PT_A + 12, 0);
	fault_ok(PT_A + 12, EC_P | EC_W);
	*g32(PT_A + 12) = 0x5000 | G_P | G_RW; /* what the emulator writes */
	if (mmu_shadow_hpa(0x3000, &h) && h == HPA(0x3000))
		fail_msg("stale translation of la 0x3000 after its page table was rewritten");
	fault_ok(0x3000, 0);
	assert_true(mmu_shadow_hpa(0x3000, &h));
	assert_int_equal(h, HPA(0x5000));
	mmu_zap_all_fast();
	assert_false(mmu_shadow_hpa(0x3000, &h));
}

/* The guest writes its page directory (every 32-bit walk reads it, so the write is
 * emulated and the PD's shadows -- the root's four children -- are zapped). The next
 * access must get mapped again, as on the next VM entry the root is loaded again. */
static void test_32_write_to_page_directory_then_access(void **state)
{
	(void)state;
	setup_32();
	fault_ok(0x3000, 0);
	fault_ok(PD_A + 0x40, 0);
	fault_ok(PD_A + 0x40, EC_P | EC_W); /* e.g. the guest adding a PDE */
	assert_int_equal(fake_mmio_count, 1);
	expect_mmio_call(0, PD_A + 0x40, PD_A + 0x40);
	for (int tries = 0; tries < 3 && !leaf_present(0x3000); tries++) {
		mmu_load_root(); /* what vcpu_run does before each entry */
		fault_ok(0x3000, 0);
	}
	if (!leaf_present(0x3000)) {
		u64 s[4] = { 0 };
		int n = mmu_shadow_walk(0x3000, s);
		fail_msg("after a write to the guest PD, 3 faults at 0x3000 map nothing (shadow walk: "
			 "%d entries, root entry %#llx): the guest would fault forever", n, s[0]);
	}
	expect_ram_leaf(0x3000, 0x3000);
}

static void test_32_guest_faults(void **state)
{
	(void)state;
	setup_32();
	expect_guest_fault(0x5000, 0, 0);            /* not-present PTE, read */
	expect_guest_fault(0x5004, EC_W, EC_W);       /* ... write */
	expect_guest_fault(0x1000010, 0, 0);          /* not-present PDE */
	expect_guest_fault(0x3000, EC_U, EC_P | EC_U); /* user read of a supervisor page */
	expect_guest_fault(0x812000, EC_U | EC_W, EC_P | EC_U | EC_W);
	expect_guest_fault(0xa000, EC_W, EC_P | EC_W); /* write to a read-only page, CR0.WP=1 */
	assert_false(leaf_present(0x5000));
	assert_false(leaf_present(0x3000));
	assert_int_equal(mmu_stats.shadow_faults, 0);
	assert_int_equal(fake_mmio_count, 0);
	/* A user page is fine for a user access. */
	fault_ok(0x6000, EC_U);
	assert_true(expect_ram_leaf(0x6000, 0x6000) & SPTE_US);
	/* The read-only page may be read; its leaf is not writable. */
	fault_ok(0xa000, 0);
	assert_false(expect_ram_leaf(0xa000, 0xa000) & SPTE_RW);
	expect_audit_clean("32 faults");
}

/* CR0.WP=0: a supervisor write to a read-only page succeeds; the spte is made writable and
 * supervisor-only (so the user's accesses still fault and get the guest's permissions). */
static void test_32_wp0_supervisor_write(void **state)
{
	(void)state;
	build_32();
	struct mmu_paging p = paging_32(PD_A);
	p.wp = false;
	set_paging(p);
	fault_ok(0xb004, EC_W); /* user read-only page, supervisor write */
	assert_int_equal(fake_pf_count, 0);
	u64 e = expect_ram_leaf(0xb004, 0xb000);
	assert_true(e & SPTE_RW);
	assert_false(e & SPTE_US);
	assert_true(get32(PT_A, 0xb) & G_D);
	/* The user reads it: the fault rebuilds a user, read-only spte. */
	fault_ok(0xb004, EC_P | EC_U);
	e = expect_ram_leaf(0xb004, 0xb000);
	assert_true(e & SPTE_US);
	assert_false(e & SPTE_RW);
	/* A user write is the guest's fault whatever CR0.WP says. */
	expect_guest_fault(0xb004, EC_P | EC_U | EC_W, EC_P | EC_U | EC_W);
	/* With CR0.WP=1 (a mode-bit change: zap) the supervisor write faults too. */
	u64 zaps = mmu_stats.zap_all;
	p.wp = true;
	set_paging(p);
	assert_int_equal(mmu_stats.zap_all, zaps + 1);
	expect_guest_fault(0xb004, EC_W, EC_P | EC_W);
	expect_audit_clean("wp0");
}

static void test_32_cr3_switch_reuses_root(void **state)
{
	(void)state;
	setup_32();
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x3000);
	hpa_t root_a = mmu_load_root();

	set_paging(paging_32(PD_B));
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1b0000);
	hpa_t root_b = mmu_load_root();
	assert_true(root_a != root_b);
	assert_int_equal(mmu_stats.zap_all, 1); /* only the paging-on switch in setup_32 */

	u64 created = mmu_stats.sp_created, reused = mmu_stats.sp_reused;
	set_paging(paging_32(PD_A));
	assert_int_equal(mmu_load_root(), root_a);
	assert_int_equal(mmu_stats.sp_created, created);
	assert_true(mmu_stats.sp_reused > reused);
	expect_ram_leaf(0x3000, 0x3000); /* the old shadow, without a fault */

	reused = mmu_stats.sp_reused;
	set_paging(paging_32(PD_B));
	assert_int_equal(mmu_load_root(), root_b);
	expect_ram_leaf(0x3000, 0x1b0000);
	assert_int_equal(mmu_stats.sp_created, created);
	assert_true(mmu_stats.sp_reused > reused);
	assert_int_equal(mmu_stats.zap_all, 1);
	expect_audit_clean("32 cr3");
}

static void test_32_dirty_tracking(void **state)
{
	(void)state;
	setup_32();
	fault_ok(0x7000, 0);
	assert_false(expect_ram_leaf(0x7000, 0x7000) & SPTE_RW);
	assert_true(get32(PT_A, 7) & G_A);
	assert_false(get32(PT_A, 7) & G_D);
	fault_ok(0x7000, EC_P | EC_W);
	assert_true(get32(PT_A, 7) & G_D);
	assert_true(expect_ram_leaf(0x7000, 0x7000) & SPTE_RW);
	assert_int_equal(mmu_stats.shadow_faults, 2);
	assert_int_equal(fake_pf_count, 0);

	/* The same for a 4 MiB page (D in the PDE). */
	fault_ok(0x403000, 0);
	assert_false(expect_ram_leaf(0x403000, 0x3000) & SPTE_RW);
	assert_false(get32(PD_A, 1) & G_D);
	fault_ok(0x403000, EC_P | EC_W);
	assert_true(get32(PD_A, 1) & G_D);
	assert_true(expect_ram_leaf(0x403000, 0x3000) & SPTE_RW);
	expect_audit_clean("32 dirty");
}

/* Two 4 MiB PDEs map the same frames, PDE3 dirty and PDE1 clean. A write through PDE3
 * makes a writable leaf; reaching the same frames through PDE1 must not inherit it, or a
 * write through PDE1 would never set PDE1.D (the CPU sets it). */
static void test_32_large_page_alias_keeps_dirty_tracking(void **state)
{
	(void)state;
	setup_32();
	mmu_audit_enabled = false; /* this test's own check names the spte */
	fault_ok(0xc03000, EC_W);
	assert_true(expect_ram_leaf(0xc03000, 0x3000) & SPTE_RW);
	fault_ok(0x404000, 0); /* through PDE1 (clean) */
	assert_false(get32(PD_A, 1) & G_D);
	int n;
	u64 e = leaf_spte(0x403000, &n);
	if (is_shadow_present(e) && (e & SPTE_RW))
		fail_msg("la 0x403000 (PDE1, D clear) has writable spte %#llx: a guest write there "
			 "would not fault and PDE1.D would stay clear", e);
	mmu_audit_enabled = true;
	expect_audit_clean("32 alias");
}

/* The first write through a clean 4 MiB PDE (the walk sets D) must not leave a writable leaf
 * in the shadow page meant for clean PDEs: another directory whose PDE for the same frames
 * is still clean reuses that page, and its writes would then never fault and never set its
 * D (found by the soak test, tests/system/test_soak.py). */
static void test_32_first_write_through_clean_large_page(void **state)
{
	(void)state;
	setup_32();
	mmu_audit_enabled = false; /* this test's own check names the spte */
	pte32(PD_B, 1, 0x0 | G_P | G_RW | G_PS); /* PD_B: the same 4 MiB as PD_A's PDE1, clean */
	fault_ok(0x403000, EC_W);                /* PD_A: first write, D set by the walk */
	assert_true(get32(PD_A, 1) & G_D);
	assert_true(expect_ram_leaf(0x403000, 0x3000) & SPTE_RW);
	set_paging(paging_32(PD_B));
	mmu_load_root();
	fault_ok(0x404000, 0); /* a read of another page through PD_B's clean PDE */
	assert_false(get32(PD_B, 1) & G_D);
	u64 e = leaf_spte(0x403000, NULL); /* no fault here: what a CPU write would find */
	if (is_shadow_present(e) && (e & SPTE_RW))
		fail_msg("la 0x403000 through PD_B (PDE1 clean) has writable spte %#llx: a write "
			 "would not fault and PD_B's PDE1.D would stay clear", e);
	fault_ok(0x403000, EC_W); /* the write faults and sets PD_B's D */
	assert_true(get32(PD_B, 1) & G_D);
	mmu_audit_enabled = true;
	expect_audit_clean("32 clean large page, two directories");
}

/* The guest clears D in a 4 MiB PDE (dirty-page scan) and reloads CR3: a write through it
 * must fault again so the CPU-visible D gets set. */
static void test_32_large_page_dirty_cleared_by_guest(void **state)
{
	(void)state;
	setup_32();
	mmu_audit_enabled = false;
	fault_ok(0x403000, EC_W);
	fault_ok(0x404000, EC_W);
	assert_true(expect_ram_leaf(0x404000, 0x4000) & SPTE_RW);
	/* The guest's write to its PD: emulated by the MMU's caller; do what the emulator does. */
	fault_ok(PD_A + 4, 0);
	fault_ok(PD_A + 4, EC_P | EC_W);
	assert_int_equal(fake_mmio_count, 1);
	*g32(PD_A + 4) &= ~(u32)G_D;
	set_paging(paging_32(PD_A)); /* CR3 reload: flush */
	mmu_load_root();
	fault_ok(0x403000, 0);
	u64 e = leaf_spte(0x404000, NULL);
	if (is_shadow_present(e) && (e & SPTE_RW))
		fail_msg("after the guest cleared PDE1.D, la 0x404000 still has writable spte %#llx",
			 e);
	mmu_audit_enabled = true;
	expect_audit_clean("32 dirty clear");
}

static void test_32_mmio_through_paging(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	setup_32();
	fault_ok(0x9010, 0);
	assert_int_equal(mmu_stats.mmio_slow, 1);
	expect_mmio_call(0, MMIO_GPA + 0x10, 0x9010);
	u64 e = leaf_spte(0x9010, NULL);
	assert_true(is_mmio_spte(e));
	assert_int_equal(mmio_spte_gfn(e), MMIO_GPA >> PAGE_SHIFT);
	assert_false(e & SPTE_MMIO_ACC_U); /* supervisor page */

	/* A walk sets the PTE's accessed bit: cleared here, it shows whether one ran. */
	*g32(PT_A + 4 * 9) &= ~(u32)G_A;
	fault_ok(0x9020, EC_P | EC_RSVD);
	assert_false(get32(PT_A, 9) & G_A); /* no guest walk */
	assert_int_equal(mmu_stats.mmio_fast, 1);
	expect_mmio_call(1, MMIO_GPA + 0x20, 0x9020);
	/* (and the slow path does walk: the check above can fail) */
	fault_ok(0x9030, 0);
	assert_true(get32(PT_A, 9) & G_A);
	expect_mmio_call(2, MMIO_GPA + 0x30, 0x9030);

	/* A user access: the cached permission says no, the walk injects the guest's fault. */
	expect_guest_fault(0x9020, EC_P | EC_RSVD | EC_U, EC_P | EC_U);
	assert_int_equal(mmu_stats.mmio_fast, 1);
	assert_int_equal(fake_mmio_count, 3);
	expect_audit_clean("32 mmio");
}

/* A write to an MMIO page whose PTE is clean: the CPU sets the PTE's D bit (SDM 4.8), so
 * the write may not complete on the fast path off a spte cached by an earlier read. */
static void test_32_mmio_write_sets_dirty(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	setup_32();
	fault_ok(0x9010, 0); /* read: MMIO spte, PTE A set, D clear */
	assert_false(get32(PT_A, 9) & G_D);
	fault_ok(0x9010, EC_P | EC_W | EC_RSVD);
	assert_int_equal(fake_mmio_count, 2);
	if (!(get32(PT_A, 9) & G_D))
		fail_msg("guest PTE %#x: write to MMIO through a clean PTE left D clear (fast path "
			 "used the W cached by the read)", get32(PT_A, 9));
}

/* ======================================================================================== */
/* PAE paging                                                                               */
/* ======================================================================================== */

#define PAE_PDPT 0x20000ULL
#define PAE_PD 0x21000ULL
#define PAE_PT 0x22000ULL
#define PAE_PD2 0x23000ULL
#define PAE_PT2 0x24000ULL

/* PDPTE0 -> PD: PDE0 -> PT (PTE3 -> 0x1c3000, PTE 0x21 -> the PD's frame), PDE1: 2 MiB -> 0x600000, PDE2: 2 MiB ->
 * 0x1a00000. PDPTE1-3 not present. PD2 (unused at first): PDE0 -> PT2 (PTE3 -> 0x1d3000). */
static void build_pae(void)
{
	*g64(PAE_PDPT) = PAE_PD | G_P;
	*g64(PAE_PD) = PAE_PT | G_P | G_RW | G_US;
	*g64(PAE_PD + 8) = 0x600000 | G_P | G_RW | G_PS;
	*g64(PAE_PD + 16) = 0x1a00000 | G_P | G_RW | G_PS;
	*g64(PAE_PT + 8 * 3) = 0x1c3000 | G_P | G_RW;
	*g64(PAE_PT + 8 * (PAE_PD >> PAGE_SHIFT)) = PAE_PD | G_P | G_RW | G_A | G_D;
	*g64(PAE_PD2) = PAE_PT2 | G_P | G_RW | G_US;
	*g64(PAE_PT2 + 8 * 3) = 0x1d3000 | G_P | G_RW;
}

static struct mmu_paging paging_pae(void)
{
	/* As a MOV to CR3 (or paging turned on): the PDPTEs are loaded. */
	return (struct mmu_paging){ .pg = true, .pae = true, .wp = true, .cr3 = PAE_PDPT,
				    .load_pdptes = true };
}

static void test_pae_map(void **state)
{
	(void)state;
	build_pae();
	set_paging(paging_pae());
	fault_ok(0x3abc, 0);
	expect_ram_leaf(0x3abc, 0x1c3abc);
	assert_true(*g64(PAE_PT + 24) & G_A);
	assert_true(*g64(PAE_PD) & G_A);
	/* 2 MiB pages: direct shadow PTs. */
	fault_ok(0x212345, 0);
	expect_ram_leaf(0x212345, 0x612345);
	fault_ok(0x5ff000, EC_W);
	expect_ram_leaf(0x5ff000, 0x1bff000);
	assert_true(*g64(PAE_PD + 16) & G_D);
	/* root + PD + PT + 2 direct PTs */
	assert_int_equal(mmu_stats.sp_created, 5);
	expect_guest_fault(0x40000000, 0, 0); /* PDPTE1 not present */
	expect_guest_fault(0x600000, 0, 0);   /* PDE3 not present */
	expect_audit_clean("pae");
}

/* mmu_set_guest_cr3, the MOV-to-CR3 path, does what a full mmu_set_guest_paging with only
 * CR3 changed does: each directory gets its own cached root back, no zap. */
static void test_32_set_guest_cr3(void **state)
{
	(void)state;
	setup_32();
	fault_ok(0x3000, 0);
	hpa_t root_a = mmu_load_root();
	assert_int_equal(mmu_set_guest_cr3(PD_B), 0);
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1b0000);
	hpa_t root_b = mmu_load_root();
	assert_true(root_a != root_b);
	u64 created = mmu_stats.sp_created;
	assert_int_equal(mmu_set_guest_cr3(PD_A), 0);
	assert_int_equal(mmu_load_root(), root_a);
	expect_ram_leaf(0x3000, 0x3000);
	assert_int_equal(mmu_set_guest_cr3(PD_B), 0);
	assert_int_equal(mmu_load_root(), root_b);
	expect_ram_leaf(0x3000, 0x1b0000);
	assert_int_equal(mmu_stats.sp_created, created);
	assert_int_equal(mmu_stats.zap_all, 1);
	expect_audit_clean("32 set_guest_cr3");
}

/* The PAE case: the PDPTEs are reloaded from memory at each CR3 write, and a PDPTE with a
 * reserved bit makes it fail with nothing changed. */
static void test_pae_set_guest_cr3_reloads_pdptes(void **state)
{
	(void)state;
	build_pae();
	set_paging(paging_pae());
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1c3000);
	*g64(PAE_PDPT) = PAE_PD | G_P | BIT(5);
	assert_int_equal(mmu_set_guest_cr3(PAE_PDPT), -1);
	mmu_load_root();
	expect_ram_leaf(0x3000, 0x1c3000);
	*g64(PAE_PDPT) = PAE_PD2 | G_P;
	assert_int_equal(mmu_set_guest_cr3(PAE_PDPT), 0);
	mmu_load_root();
	assert_false(leaf_present(0x3000));
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1d3000);
	expect_audit_clean("pae set_guest_cr3");
}

static void test_pae_reserved_pdpte_refused(void **state)
{
	(void)state;
	build_pae();
	struct mmu_paging p = paging_pae();
	*g64(PAE_PDPT + 8) = 0x123000 | BIT(1); /* not present: reserved bits do not matter */
	assert_int_equal(mmu_set_guest_paging(&p), 0);
	depth = 3;
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1c3000);

	u64 bits[] = { BIT(1), BIT(2), BIT(5), BIT(7), BIT(8), BIT(62) };
	for (size_t i = 0; i < ARRAY_SIZE(bits); i++) {
		*g64(PAE_PDPT) = PAE_PD | G_P | bits[i];
		if (mmu_set_guest_paging(&p) != -1)
			fail_msg("PDPTE0 with reserved bit %#llx loaded", bits[i]);
		/* Refused: nothing changed, the current shadow stays. */
		assert_true(mmu_guest_paging_on());
		expect_ram_leaf(0x3000, 0x1c3000);
	}
	*g64(PAE_PDPT) = PAE_PD | G_P;
	/* From paging off as well. */
	paging_off();
	*g64(PAE_PDPT) = PAE_PD | G_P | BIT(1);
	assert_int_equal(mmu_set_guest_paging(&p), -1);
	assert_false(mmu_guest_paging_on());
}

/* PDPTEs are loaded at the CR3 write, as the CPU does: a change in memory takes effect at
 * the next CR3 write, not before. */
static void test_pae_pdptes_cached_until_cr3_write(void **state)
{
	(void)state;
	build_pae();
	set_paging(paging_pae());
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1c3000);
	*g64(PAE_PDPT) = PAE_PD2 | G_P;
	mmu_load_root();
	expect_ram_leaf(0x3000, 0x1c3000);
	set_paging(paging_pae());
	mmu_load_root();
	assert_false(leaf_present(0x3000));
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1d3000);
	expect_audit_clean("pae pdpte");
}

/* A MOV to CR0/CR4 that changes none of CD, NW, PG, PAE, PGE, PSE, SMEP (here CR0.WP) keeps
 * the PDPTE registers: a PDPTE changed in memory, even to one with reserved bits, takes no
 * effect until the next CR3 load (SDM Vol. 3A 4.4.1). */
static void test_pae_pdptes_kept_without_reload(void **state)
{
	(void)state;
	build_pae();
	set_paging(paging_pae());
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1c3000);
	*g64(PAE_PDPT) = PAE_PD2 | G_P | BIT(5); /* reserved bit: a load would #GP */
	struct mmu_paging p = paging_pae();
	p.load_pdptes = false;
	p.wp = false; /* CR0.WP cleared */
	assert_int_equal(mmu_set_guest_paging(&p), 0);
	mmu_load_root();
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1c3000); /* still the old PD */
	p.wp = true;
	assert_int_equal(mmu_set_guest_paging(&p), 0);
	*g64(PAE_PDPT) = PAE_PD2 | G_P;
	assert_int_equal(mmu_set_guest_cr3(PAE_PDPT), 0); /* a CR3 load takes the new one */
	mmu_load_root();
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x1d3000);
	expect_audit_clean("pae pdptes kept");
}

/* As test_32_write_to_page_directory_then_access, for a PAE guest: the PD is the child of
 * the PAE-format root. */
static void test_pae_write_to_page_directory_then_access(void **state)
{
	(void)state;
	build_pae();
	set_paging(paging_pae());
	fault_ok(0x3000, 0);
	fault_ok(PAE_PD + 0x18, 0);
	assert_false(expect_ram_leaf(PAE_PD + 0x18, PAE_PD) & SPTE_RW);
	fault_ok(PAE_PD + 0x18, EC_P | EC_W); /* the guest adds a PDE */
	expect_mmio_call(0, PAE_PD + 0x18, PAE_PD + 0x18);
	for (int tries = 0; tries < 3 && !leaf_present(0x3000); tries++) {
		mmu_load_root();
		fault_ok(0x3000, 0);
	}
	if (!leaf_present(0x3000))
		fail_msg("after a write to the guest PD, 3 faults at 0x3000 map nothing: the guest "
			 "would fault forever");
	expect_ram_leaf(0x3000, 0x1c3000);
}

/* ======================================================================================== */
/* 4-level paging                                                                           */
/* ======================================================================================== */

#define L4_PML4 0x30000ULL
#define L4_PDPT 0x31000ULL
#define L4_PD 0x32000ULL
#define L4_PT 0x33000ULL
#define L4_BASE 0x8000000000ULL /* PML4 index 1 */

/* PML4[1] -> PDPT: PDPT[0] -> PD: PD[0] -> PT (PT[4] -> 0x1c4000, PT[0x30] -> the PML4's
 * frame), PD[1]: 2 MiB -> 0xa00000; PDPT[1]: 1 GiB -> gpa 0. */
static void build_long4(void)
{
	*g64(L4_PML4 + 8) = L4_PDPT | G_P | G_RW | G_US;
	*g64(L4_PDPT) = L4_PD | G_P | G_RW | G_US;
	*g64(L4_PDPT + 8) = 0x0 | G_P | G_RW | G_PS;
	*g64(L4_PD) = L4_PT | G_P | G_RW | G_US;
	*g64(L4_PD + 8) = 0xa00000 | G_P | G_RW | G_PS;
	*g64(L4_PT + 8 * 4) = 0x1c4000 | G_P | G_RW;
	*g64(L4_PT + 8 * 5) = 0x1c5000 | G_P | G_RW | BIT(63); /* XD (EFER.NXE=1 when the host has NX) */
	*g64(L4_PT + 8 * (L4_PML4 >> PAGE_SHIFT)) = L4_PML4 | G_P | G_RW | G_A | G_D;
}

static struct mmu_paging paging_long4(void)
{
	return (struct mmu_paging){ .pg = true, .pae = true, .lma = true, .wp = true,
				    .nxe = host_nx(), .cr3 = L4_PML4 };
}

static void test_long4_map(void **state)
{
	(void)state;
	build_long4();
	set_paging(paging_long4());
	fault_ok(L4_BASE + 0x4010, 0);
	expect_ram_leaf(L4_BASE + 0x4010, 0x1c4010);
	assert_int_equal(mmu_stats.sp_created, 4); /* PML4, PDPT, PD, PT shadows */
	assert_true(*g64(L4_PML4 + 8) & G_A);
	assert_true(*g64(L4_PT + 32) & G_A);
	/* 2 MiB page: a direct shadow PT. */
	fault_ok(L4_BASE + 0x200000 + 0x1234, EC_W);
	expect_ram_leaf(L4_BASE + 0x200000 + 0x1234, 0xa01234);
	assert_true(*g64(L4_PD + 8) & G_D);
	assert_int_equal(mmu_stats.sp_created, 5);
	expect_guest_fault(L4_BASE + 0x400000, 0, 0); /* PD[2] not present */
	if (host_nx()) {
		assert_false(expect_ram_leaf(L4_BASE + 0x4010, 0x1c4010) & SPTE_XD);
		fault_ok(L4_BASE + 0x5000, 0);
		assert_true(expect_ram_leaf(L4_BASE + 0x5000, 0x1c5000) & SPTE_XD);
		expect_guest_fault(L4_BASE + 0x5000, 0x10, 0x11); /* fetch from an XD page */
	}
	expect_guest_fault(0x1000, 0, 0);             /* PML4[0] not present */
	/* The PML4's frame is a shadowed table: read-only though its PTE is dirty. */
	fault_ok(L4_BASE + L4_PML4, 0);
	assert_false(expect_ram_leaf(L4_BASE + L4_PML4, L4_PML4) & SPTE_RW);
	expect_audit_clean("long4");
}

/* Page-table isolation's switch between two PML4s that share their lower tables: a CR3 write
 * back to the root left last takes it without the cache's lookup, and with nothing else
 * waiting, the next entry needs no mmu_before_entry; an obsolete one is not taken. */
#define L4_PML4B 0x34000ULL
#define L4_PML4C 0x35000ULL
static void test_long4_cr3_back_to_previous_root(void **state)
{
	(void)state;
	build_long4();
	*g64(L4_PML4B + 8) = *g64(L4_PML4 + 8);
	set_paging(paging_long4());
	fault_ok(L4_BASE + 0x4010, 0);
	hpa_t ra = mmu_root_for_entry();
	assert_int_equal(mmu_set_guest_cr3(L4_PML4B), 0);
	fault_ok(L4_BASE + 0x4010, 0);
	hpa_t rb = mmu_root_for_entry();
	assert_true(rb != ra);
	u64 created = mmu_stats.sp_created, audits = mmu_audits_done;

	mmu_audit_enabled = false;
	assert_int_equal(mmu_set_guest_cr3(L4_PML4), 0);
	assert_int_equal(mmu_entry_root, ra); /* the next entry goes straight in */
	assert_int_equal(mmu_root_for_entry(), ra);
	expect_ram_leaf(L4_BASE + 0x4010, 0x1c4010); /* A's shadow, as it was */
	assert_int_equal(mmu_stats.sp_created, created);

	mmu_audit_enabled = true; /* the root load's audit point still comes */
	assert_int_equal(mmu_set_guest_cr3(L4_PML4B), 0);
	assert_int_equal(mmu_entry_root, 0);
	assert_int_equal(mmu_root_for_entry(), rb);
	assert_true(mmu_audits_done > audits);
	assert_int_equal(mmu_stats.sp_created, created);

	/* A third PML4 is not the root left last (A): looked up, and built. */
	mmu_audit_enabled = false;
	*g64(L4_PML4C + 8) = *g64(L4_PML4 + 8);
	assert_int_equal(mmu_set_guest_cr3(L4_PML4C), 0);
	assert_int_equal(mmu_entry_root, 0);
	hpa_t rc = mmu_root_for_entry();
	assert_true(rc != ra && rc != rb);
	assert_int_equal(mmu_stats.sp_created, created + 1);
	mmu_audit_enabled = true;

	/* After a zap-all, the root left last is obsolete: a new one is built. */
	mmu_audit_enabled = false;
	mmu_zap_all_fast();
	assert_int_equal(mmu_set_guest_cr3(L4_PML4), 0);
	assert_int_equal(mmu_entry_root, 0);
	(void)mmu_root_for_entry(); /* (its page may be a freed old one's) */
	assert_true(mmu_stats.sp_created > created);
	mmu_audit_enabled = true;
	fault_ok(L4_BASE + 0x4010, 0);
	expect_ram_leaf(L4_BASE + 0x4010, 0x1c4010);
	expect_audit_clean("cr3 back");
}

/* A 1 GiB page: each 2 MiB of it gets its own direct PT. */
static void test_long4_1g_page(void **state)
{
	(void)state;
	build_long4();
	set_paging(paging_long4());
	mmu_audit_enabled = false; /* this test's own checks name the wrong spte */
	u64 base = L4_BASE + 0x40000000;
	fault_ok(base + 0x3000, 0);
	expect_ram_leaf(base + 0x3000, 0x3000);
	fault_ok(base + 0x200000 + 0x5000, 0);
	expect_ram_leaf(base + 0x200000 + 0x5000, 0x205000);
	expect_ram_leaf(base + 0x3000, 0x3000);
	u64 e = leaf_spte(base + 0x200000 + 0x3000, NULL);
	if (is_shadow_present(e) && spte_hpa(e) != HPA(0x203000))
		fail_msg("la %#llx (gpa 0x203000 in the 1 GiB page) has spte %#llx = gpa %#llx: two "
			 "2 MiB parts share one shadow PT", base + 0x203000, e, spte_hpa(e) - HPA(0));
	/* Frame 0 is no guest table: a write through the 1 GiB page maps it writable. */
	fault_ok(base + 0x10, EC_W);
	assert_true(expect_ram_leaf(base + 0x10, 0x10) & SPTE_RW);
	mmu_audit_enabled = true;
	expect_audit_clean("1g");
}

/* ---- 4-level: guest writes to its page tables (issue 14) ---- */

/* The 1 GiB page PDPT[1] maps gpa 0 at L4_BASE + 1 GiB: a writable alias of every table. */
#define ALIAS64(gpa) (L4_BASE + 0x40000000ULL + (gpa))

static void write64(u64 gpa, u64 val)
{
	assert_true(guest_phys_write(gpa, &val, 8)); /* what the emulator does */
}

/* A write fault on a table in use is emulated, and the write fixes the one entry it wrote:
 * the table's shadow and its other leaves stay (they used to be zapped at every write). */
static void test_long4_pte_write_fixed_in_place(void **state)
{
	(void)state;
	build_long4();
	*g64(L4_PT + 8 * 6) = 0x1c6000 | G_P | G_RW;
	set_paging(paging_long4());
	fault_ok(L4_BASE + 0x4000, 0);
	fault_ok(L4_BASE + 0x6000, 0);
	fault_ok(ALIAS64(L4_PT + 32), 0);
	assert_false(expect_ram_leaf(ALIAS64(L4_PT + 32), L4_PT + 32) & SPTE_RW);
	int calls = fake_mmio_count;
	fault_ok(ALIAS64(L4_PT + 32), EC_P | EC_W);
	assert_int_equal(fake_mmio_count, calls + 1); /* emulated, not unprotected */
	/* (the write set the 1 GiB page's D: its shadow under the alias was rebuilt dirty) */
	u64 created = mmu_stats.sp_created, used = mmu_stats.sp_in_use;
	expect_mmio_call(calls, L4_PT + 32, ALIAS64(L4_PT + 32));
	write64(L4_PT + 32, 0x1c8000 | G_P | G_RW);
	assert_false(leaf_present(L4_BASE + 0x4000)); /* the entry written */
	expect_ram_leaf(L4_BASE + 0x6000, 0x1c6000);   /* the others stay */
	assert_int_equal(mmu_stats.sp_in_use, used);
	assert_int_equal(mmu_stats.pte_updates, 1);
	expect_audit_clean("pte write in place");
	/* The alias's leaf is now read-only and marked guest-writable: the next write to the
	 * table needs no walk (a walk would set the A bit cleared here behind the MMU's back). */
	assert_true(expect_ram_leaf(ALIAS64(L4_PT + 48), L4_PT + 48) & SPTE_GUEST_WRITABLE);
	*g64(L4_PDPT + 8) &= ~G_A;
	fault_ok(ALIAS64(L4_PT + 48), EC_P | EC_W);
	expect_mmio_call(calls + 1, L4_PT + 48, ALIAS64(L4_PT + 48));
	assert_false(*g64(L4_PDPT + 8) & G_A);
	*g64(L4_PDPT + 8) |= G_A;
	/* A user write there is no such case (the page is supervisor-only): walked, and the
	 * guest's own fault. */
	expect_guest_fault(ALIAS64(L4_PT + 48), EC_P | EC_W | EC_U, EC_P | EC_W | EC_U);
	fault_ok(L4_BASE + 0x4000, 0);
	expect_ram_leaf(L4_BASE + 0x4000, 0x1c8000);
	assert_int_equal(mmu_stats.sp_created, created);
	expect_audit_clean("pte write, refault");
	/* A write to a page directory entry drops the child link it wrote, and only that. */
	write64(L4_PD + 8, 0xc00000 | G_P | G_RW | G_PS);
	assert_false(leaf_present(L4_BASE + 0x200000));
	expect_ram_leaf(L4_BASE + 0x4000, 0x1c8000);
	fault_ok(L4_BASE + 0x200000, 0);
	expect_ram_leaf(L4_BASE + 0x200000, 0xc00000);
	expect_audit_clean("pde write in place");
}

/* Write-flood detection: FLOOD_WRITES (3) writes to a table with no fault through it in
 * between zap its shadow; a fault through it in between keeps it. Once zapped, the page is
 * no table of the shadow: a write maps it writable, and no write exits after that. */
static void test_long4_write_flood_zaps(void **state)
{
	(void)state;
	build_long4();
	*g64(L4_PT + 8 * 6) = 0x1c6000 | G_P | G_RW;
	set_paging(paging_long4());
	fault_ok(L4_BASE + 0x4000, 0);
	write64(L4_PT + 8 * 20, 0);
	write64(L4_PT + 8 * 21, 0);
	fault_ok(L4_BASE + 0x6000, 0); /* in use: the count starts over */
	write64(L4_PT + 8 * 22, 0);
	write64(L4_PT + 8 * 23, 0);
	assert_int_equal(mmu_stats.flood_zaps, 0);
	expect_ram_leaf(L4_BASE + 0x4000, 0x1c4000);
	write64(L4_PT + 8 * 24, 0);
	assert_int_equal(mmu_stats.flood_zaps, 1);
	assert_false(leaf_present(L4_BASE + 0x4000));
	assert_false(leaf_present(L4_BASE + 0x6000));
	expect_audit_clean("flood");
	int calls = fake_mmio_count;
	fault_ok(ALIAS64(L4_PT + 8 * 25), EC_W);
	assert_int_equal(fake_mmio_count, calls); /* not emulated: mapped */
	assert_true(expect_ram_leaf(ALIAS64(L4_PT), L4_PT) & SPTE_RW);
	/* Used as a table again: shadowed and write-protected again. */
	fault_ok(L4_BASE + 0x4000, 0);
	assert_false(expect_ram_leaf(ALIAS64(L4_PT), L4_PT) & SPTE_RW);
	expect_audit_clean("flood, reshadowed");
}

/* Prefetch: a fault inside a large guest page maps the other frames of its aligned group of
 * 8, read-only while the page's D is clear. Under a shadow of a guest table it prefetches
 * nothing by default; with mmu_prefetch_tables it maps the present, accessed neighbours in
 * the group, never setting A or D, never with more permission than the guest gives. */
static void test_long4_prefetch_around_fault(void **state)
{
	(void)state;
	build_long4();
	set_paging(paging_long4());
	*g64(L4_PT + 8 * 5) |= G_A;
	fault_ok(L4_BASE + 0x200000 + 0x3000, 0);
	assert_int_equal(mmu_stats.prefetched, 7);
	assert_false(expect_ram_leaf(L4_BASE + 0x200000 + 0x7000, 0xa07000) & SPTE_RW);
	assert_false(leaf_present(L4_BASE + 0x200000 + 0x8000)); /* the next group */
	expect_audit_clean("prefetch in a large page");
	fault_ok(L4_BASE + 0x4000, 0);
	assert_false(leaf_present(L4_BASE + 0x5000)); /* tables: off by default */
	assert_int_equal(mmu_stats.prefetched, 7);
	mmu_zap_all_fast();
	while (mmu_stats.sp_in_use)
		mmu_reclaim();
	mmu_stats.prefetched = 0;
	mmu_prefetch_tables = true;
	u64 ad = G_P | G_A | G_D;
	*g64(L4_PT + 8 * 8) = 0x1d0000 | ad | G_RW;       /* the faulting one */
	*g64(L4_PT + 8 * 9) = 0x1d1000 | ad | G_RW;       /* writable, dirty */
	*g64(L4_PT + 8 * 10) = 0x1d2000 | G_P | G_A | G_RW; /* clean: read-only */
	*g64(L4_PT + 8 * 11) = 0x1d3000 | G_P | G_RW;     /* never accessed: left to fault */
	*g64(L4_PT + 8 * 12) = 0x1d4000 | ad | BIT(50);   /* reserved bit (MAXPHYADDR 36) */
	*g64(L4_PT + 8 * 13) = MMIO_GPA | ad;             /* not RAM */
	*g64(L4_PT + 8 * 14) = 0x1d6000 | ad | G_RW | G_US;
	*g64(L4_PT + 8 * 16) = 0x1d8000 | ad;             /* the next group */
	set_paging(paging_long4());
	fault_ok(L4_BASE + 0x8000, 0);
	assert_int_equal(mmu_stats.prefetched, 3);
	assert_true(expect_ram_leaf(L4_BASE + 0x9000, 0x1d1000) & SPTE_RW);
	assert_false(expect_ram_leaf(L4_BASE + 0xa000, 0x1d2000) & SPTE_RW);
	assert_true(expect_ram_leaf(L4_BASE + 0xe000, 0x1d6000) & SPTE_US);
	assert_false(leaf_present(L4_BASE + 0xb000));
	assert_false(*g64(L4_PT + 8 * 11) & G_A);
	assert_false(leaf_present(L4_BASE + 0xc000));
	assert_false(leaf_present(L4_BASE + 0xd000));
	assert_false(leaf_present(L4_BASE + 0x10000));
	assert_false(*g64(L4_PT + 8 * 10) & G_D);
	mmu_prefetch_tables = false;
	expect_audit_clean("prefetch around");
}

/* A write fault on a table that the access's own walk does not use asks the caller to
 * emulate it (MMU_EMULATE_PT_WRITE); for a bulk write the caller unprotects the page
 * instead, and the guest's retry runs natively. Should the same write fault there again (its
 * page shadowed once more meanwhile), it is emulated: no loop. */
static void test_long4_unprotect_for_bulk_write(void **state)
{
	(void)state;
	build_long4();
	set_paging(paging_long4());
	fault_ok(L4_BASE + 0x4000, 0);
	fault_ok(ALIAS64(L4_PT), 0);
	u64 la = ALIAS64(L4_PT + 64);
	struct mmu_verdict r = mmu_page_fault(la, EC_P | EC_W);
	assert_int_equal(r.what, MMU_EMULATE_PT_WRITE);
	assert_int_equal(r.gpa, L4_PT + 64);
	mmu_unprotect(r.gpa, la);
	assert_false(leaf_present(L4_BASE + 0x4000));
	int calls = fake_mmio_count;
	fault_ok(la, EC_P | EC_W);
	assert_int_equal(fake_mmio_count, calls);
	assert_true(expect_ram_leaf(la, L4_PT + 64) & SPTE_RW);
	expect_audit_clean("unprotected");
	fault_ok(L4_BASE + 0x4000, 0); /* shadowed again: the alias is read-only again */
	assert_false(expect_ram_leaf(la, L4_PT + 64) & SPTE_RW);
	r = mmu_page_fault(la, EC_P | EC_W);
	assert_int_equal(r.what, MMU_EMULATE);
	expect_audit_clean("unprotect, then emulated");
}

/* The write that answers the last reflected fault maps its page at once, with the A/D bits
 * the guest's retry would set, and no more permission than the guest's tables give. */
static void test_long4_prefetch_answers_reflected_fault(void **state)
{
	(void)state;
	build_long4();
	set_paging(paging_long4());
	fault_ok(L4_BASE + 0x4000, 0);
	/* A user write to a page whose PTE is not present: the guest's kernel answers with a
	 * present, dirty, not yet accessed PTE (as Linux's anonymous-page fault writes it). */
	expect_guest_fault(L4_BASE + 0x7000, EC_U | EC_W, EC_U | EC_W);
	write64(L4_PT + 8 * 7, 0x1c7000 | G_P | G_RW | G_US | G_D);
	assert_int_equal(mmu_stats.prefetched, 1);
	u64 e = expect_ram_leaf(L4_BASE + 0x7000, 0x1c7000);
	assert_true(e & SPTE_RW);
	assert_true(e & SPTE_US);
	assert_true(*g64(L4_PT + 8 * 7) & G_A);
	expect_audit_clean("prefetch");
	int pf = fake_pf_count;
	fault_ok(L4_BASE + 0x7000, 0); /* nothing to do: already mapped */
	assert_int_equal(fake_pf_count, pf);
	/* A read fault answered by a clean PTE: read-only until the first write sets D. */
	expect_guest_fault(L4_BASE + 0x8000, 0, 0);
	write64(L4_PT + 8 * 8, 0x1c8000 | G_P | G_RW);
	assert_int_equal(mmu_stats.prefetched, 2);
	assert_false(expect_ram_leaf(L4_BASE + 0x8000, 0x1c8000) & SPTE_RW);
	assert_false(*g64(L4_PT + 8 * 8) & G_D);
	fault_ok(L4_BASE + 0x8000, EC_P | EC_W);
	assert_true(*g64(L4_PT + 8 * 8) & G_D);
	assert_true(expect_ram_leaf(L4_BASE + 0x8000, 0x1c8000) & SPTE_RW);
	/* A write of another entry maps nothing: only the faulting page is prefetched. */
	expect_guest_fault(L4_BASE + 0x9000, 0, 0);
	write64(L4_PT + 8 * 10, 0x1ca000 | G_P | G_RW);
	assert_false(leaf_present(L4_BASE + 0xa000));
	/* A PTE that still does not allow the access maps nothing either. */
	write64(L4_PT + 8 * 9, 0x1c9000 | G_P); /* supervisor-only; the fault was a read... */
	assert_int_equal(mmu_stats.prefetched, 3); /* ...from supervisor mode: allowed */
	expect_guest_fault(L4_BASE + 0xb000, EC_U, EC_U);
	write64(L4_PT + 8 * 11, 0x1cb000 | G_P); /* supervisor-only: a user read still faults */
	assert_int_equal(mmu_stats.prefetched, 3);
	assert_false(leaf_present(L4_BASE + 0xb000));
	expect_audit_clean("prefetch, others");
}

/* An answering PTE that is present and accessed (Linux's page protections include A) is
 * mapped from its value, without walking the faulting access again: no A or D bit is set
 * (a clean PTE stays clean and its leaf read-only, even for a write fault), and the leaf
 * never has more permission than the PTE gives. One with reserved bits maps nothing. */
static void test_long4_prefetch_by_pte_value(void **state)
{
	(void)state;
	build_long4();
	set_paging(paging_long4());
	fault_ok(L4_BASE + 0x4000, 0);
	expect_guest_fault(L4_BASE + 0x7000, EC_U | EC_W, EC_U | EC_W);
	write64(L4_PT + 8 * 7, 0x1c7000 | G_P | G_RW | G_US | G_A | G_D);
	assert_int_equal(mmu_stats.prefetched, 1);
	u64 e = expect_ram_leaf(L4_BASE + 0x7000, 0x1c7000);
	assert_true((e & SPTE_RW) && (e & SPTE_US));
	/* a write fault answered by an accessed, clean PTE: no walk sets D for it */
	expect_guest_fault(L4_BASE + 0x8000, EC_U | EC_W, EC_U | EC_W);
	write64(L4_PT + 8 * 8, 0x1c8000 | G_P | G_RW | G_US | G_A);
	assert_int_equal(mmu_stats.prefetched, 2);
	assert_false(expect_ram_leaf(L4_BASE + 0x8000, 0x1c8000) & SPTE_RW);
	assert_false(*g64(L4_PT + 8 * 8) & G_D);
	fault_ok(L4_BASE + 0x8000, EC_P | EC_W | EC_U); /* the retry: its walk sets D */
	assert_true(*g64(L4_PT + 8 * 8) & G_D);
	assert_true(expect_ram_leaf(L4_BASE + 0x8000, 0x1c8000) & SPTE_RW);
	/* a supervisor-only PTE answering a user read: mapped for the supervisor only, and the
	 * user's retry is the guest's fault again */
	expect_guest_fault(L4_BASE + 0xb000, EC_U, EC_U);
	write64(L4_PT + 8 * 11, 0x1cb000 | G_P | G_A);
	assert_int_equal(mmu_stats.prefetched, 3);
	assert_false(expect_ram_leaf(L4_BASE + 0xb000, 0x1cb000) & SPTE_US);
	expect_guest_fault(L4_BASE + 0xb000, EC_P | EC_U, EC_P | EC_U);
	/* reserved bits (above MAXPHYADDR): nothing mapped */
	expect_guest_fault(L4_BASE + 0xc000, 0, 0);
	write64(L4_PT + 8 * 12, (1ULL << 51) | 0x1cc000 | G_P | G_A);
	assert_int_equal(mmu_stats.prefetched, 3);
	assert_false(leaf_present(L4_BASE + 0xc000));
	expect_audit_clean("prefetch by value");
}

/* ======================================================================================== */
/* Soundness (issue 11): each test failed before its fix                                   */
/* ======================================================================================== */

/* Item 1. A root being filled must never be reclaimed and handed back as one of its own
 * children. PAE guest, pool of 20: address space C takes 15 pages, root A is the 16th; the
 * guest writes PD_A (its shadow is zapped: root A's PDPTE 0 goes); address space B fills the
 * pool; MOV CR3 back to A: filling root A needs a page, and a reclaim of the 16 oldest pages
 * used to free root A last and hand it back as A's own PD (root entry 0 pointing at itself). */
#define SND_PDPT_C 0x100000ULL
#define SND_PD_C 0x101000ULL
#define SND_PT_C 0x102000ULL /* 13 PTs */
#define SND_PDPT_A 0x120000ULL
#define SND_PD_A 0x121000ULL
#define SND_PT_A 0x122000ULL
#define SND_PDPT_B 0x130000ULL
#define SND_PD_B 0x131000ULL
#define SND_PT_B 0x132000ULL

static void pae_switch(u64 pdpt)
{
	assert_int_equal(mmu_set_guest_cr3(pdpt), 0);
}

static void test_snd_pae_root_not_reclaimed_mid_fill(void **state)
{
	(void)state;
	reinit(20);
	*g64(SND_PDPT_C) = SND_PD_C | G_P;
	for (u64 i = 0; i < 13; i++) {
		*g64(SND_PD_C + 8 * i) = (SND_PT_C + i * PAGE_SIZE) | G_P | G_RW;
		*g64(SND_PT_C + i * PAGE_SIZE) = (0x400000 + i * PAGE_SIZE) | G_P | G_RW;
	}
	*g64(SND_PDPT_A) = SND_PD_A | G_P;
	*g64(SND_PD_A) = SND_PT_A | G_P | G_RW;
	*g64(SND_PT_A + 8 * (SND_PD_A >> PAGE_SHIFT & 511)) = SND_PD_A | G_P | G_RW | G_A | G_D;
	*g64(SND_PDPT_B) = SND_PD_B | G_P;
	*g64(SND_PD_B) = SND_PT_B | G_P | G_RW;
	*g64(SND_PT_B) = 0x500000 | G_P | G_RW;
	struct mmu_paging p = paging_pae();
	p.cr3 = SND_PDPT_C;
	set_paging(p);
	for (u64 i = 0; i < 13; i++)
		fault_ok(i * 2 * MiB, 0); /* 15 pages (fewer live once a walk's reserve is kept) */
	pae_switch(SND_PDPT_A);
	hpa_t root_a = mmu_load_root(); /* the 16th page */
	fault_ok(SND_PD_A, 0);               /* PT_A: 18 in use */
	fault_ok(SND_PD_A + 8, EC_P | EC_W); /* the guest writes PD_A: emulated, PD_A zapped */
	pae_switch(SND_PDPT_B);
	mmu_load_root();
	fault_ok(0, 0); /* root B, PD_B, PT_B: the pool is full */
	pae_switch(SND_PDPT_A);
	hpa_t r = mmu_load_root();
	u64 *rt = (u64 *)(uintptr_t)r;
	for (int i = 0; i < 4; i++)
		if (is_shadow_present(rt[i]) && spte_hpa(rt[i]) == r)
			fail_msg("root %#llx (root A was %#llx): PDPTE %d points at the root itself",
				 r, root_a, i);
	for (int i = 1; i < 4; i++)
		if (is_shadow_present(rt[i]))
			fail_msg("root PDPTE %d = %#llx, but the guest's PDPTE %d is not present", i,
				 rt[i], i);
	fault_ok(SND_PD_A, 0);
	expect_ram_leaf(SND_PD_A, SND_PD_A);
	expect_guest_fault(0x40000000, 0, 0);
	expect_audit_clean("root reclaimed mid-fill");
}

/* Item 1, the pattern: whatever the pool size, no walk ever frees a page it holds. Random
 * faults over several address spaces with a pool barely larger than one walk; the audit
 * runs at every fault and root load. */
static void test_snd_tiny_pool_random_walks(void **state)
{
	(void)state;
	reinit(9);
	build_pae();
	*g64(SND_PDPT_A) = SND_PD_A | G_P;
	*g64(SND_PD_A) = SND_PT_A | G_P | G_RW;
	*g64(SND_PT_A) = 0x500000 | G_P | G_RW;
	set_paging(paging_pae());
	u64 pdpts[2] = { PAE_PDPT, SND_PDPT_A };
	u64 las[4] = { 0x3000, 0x212000, 0x5ff000, 0 };
	u64 x = 12345;
	for (int i = 0; i < 400; i++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((x >> 40) % 3 == 0) {
			pae_switch(pdpts[(x >> 20) & 1]);
			mmu_load_root();
		}
		u64 la = las[(x >> 30) & 3];
		enum mmu_fault f = fault(la, (x >> 50) & 1 ? EC_W : 0);
		assert_int_not_equal(f, MMU_BAD_TABLE);
		assert_true(mmu_stats.sp_in_use <= 9);
	}
	expect_audit_clean("tiny pool");
}

/* Item 2. A guest page table inside a guest-created memslot: the slot is replaced (deleted
 * and added again with fresh, zeroed backing), moved, or shrunk. The guest's table is gone,
 * so must its shadow be: the leaf it made mapped a page of slot 0, which the slot's own rmap
 * sweep does not reach. */
#define SND_SLOT_GPA 0x4000000ULL /* 64 MiB: outside slot 0 */
#define SND_SLOT_LA 0x8000000ULL  /* PDE 0x20 */

static u8 *slot_with_pt(u64 npages, u64 pt_page)
{
	u8 *b = host_pages(npages);
	((u32 *)(b + pt_page * PAGE_SIZE))[3] = 0x3000 | G_P | G_RW; /* la +0x3000 -> gpa 0x3000 */
	build_32();
	pte32(PD_A, SND_SLOT_LA >> 22, (u32)(SND_SLOT_GPA + pt_page * PAGE_SIZE) | G_P | G_RW);
	add_slot(5, SND_SLOT_GPA >> PAGE_SHIFT, npages, (hpa_t)(uintptr_t)b, 0);
	set_paging(paging_32(PD_A));
	fault_ok(SND_SLOT_LA + 0x3000, 0);
	expect_ram_leaf(SND_SLOT_LA + 0x3000, 0x3000);
	return b;
}

static void test_snd_slot_replaced_page_table(void **state)
{
	(void)state;
	slot_with_pt(2, 0);
	const char *why;
	assert_int_equal(mmu_memslot_delete(5, &why), 0);
	add_slot(5, SND_SLOT_GPA >> PAGE_SHIFT, 2, (hpa_t)(uintptr_t)host_pages(2), 0);
	u64 e = leaf_spte(SND_SLOT_LA + 0x3000, NULL);
	if (is_shadow_present(e))
		fail_msg("the slot holding the page table was replaced by zeroed RAM, but la %#llx "
			 "still has spte %#llx", SND_SLOT_LA + 0x3000, e);
	expect_audit_clean("slot replaced");
	mmu_load_root();
	expect_guest_fault(SND_SLOT_LA + 0x3000, 0, 0); /* the new table's PTE is 0 */
}

static void test_snd_slot_moved_page_table(void **state)
{
	(void)state;
	slot_with_pt(2, 0);
	const char *why;
	assert_int_equal(mmu_memslot_move(5, (SND_SLOT_GPA >> PAGE_SHIFT) + 0x1000, &why), 0);
	u64 e = leaf_spte(SND_SLOT_LA + 0x3000, NULL);
	if (is_shadow_present(e))
		fail_msg("the slot holding the page table moved away, but la %#llx still has spte "
			 "%#llx", SND_SLOT_LA + 0x3000, e);
	expect_audit_clean("slot moved");
	mmu_load_root();
	u64 bad = 0;
	assert_int_equal(fake_fault(SND_SLOT_LA + 0x3000, 0, &bad), MMU_BAD_TABLE);
	assert_int_equal(bad, SND_SLOT_GPA);
}

static void test_snd_slot_shrunk_page_table(void **state)
{
	(void)state;
	slot_with_pt(2, 1); /* the table in the slot's second page */
	const char *why;
	assert_int_equal(mmu_memslot_resize(5, 1, (hpa_t)(uintptr_t)host_pages(1), &why), 0);
	u64 e = leaf_spte(SND_SLOT_LA + 0x3000, NULL);
	if (is_shadow_present(e))
		fail_msg("the slot shrank below the page table, but la %#llx still has spte %#llx",
			 SND_SLOT_LA + 0x3000, e);
	expect_audit_clean("slot shrunk");
}

/* Items 3 and 4: the real instruction emulator (emul/emulate.c) runs the faulting
 * instruction, with guest memory through the MMU's guest_phys_read/write as in vmx/insn.c,
 * and one device register that reads back what was written (dev_reg). */
static struct emu_cpu emu_cpu;
static u64 dev_reg;
static u64 emu_la_page, emu_gpa_page;
static bool emu_user;

static bool emu_gpa(u64 la, u32 acc, u64 *gpa)
{
	u32 ec;
	if ((la & ~(PAGE_SIZE - 1)) == emu_la_page) {
		*gpa = emu_gpa_page | (la & (PAGE_SIZE - 1));
		return true;
	}
	return mmu_translate(la, acc | (emu_user ? GWALK_ACC_USER : 0), gpa, &ec);
}

static enum emu_access emu_fetch(void *o, u64 la, void *buf, int len)
{
	(void)o;
	for (int i = 0; i < len; i++) {
		u64 gpa;
		u32 ec;
		if (!mmu_translate(la + (u64)i, GWALK_ACC_FETCH, &gpa, &ec) ||
		    !guest_phys_read(gpa, (u8 *)buf + i, 1))
			return EMU_ACCESS_FAULT;
	}
	return EMU_ACCESS_OK;
}

static enum emu_access emu_rw(u64 la, void *buf, int size, bool write)
{
	u64 gpa;
	if (!emu_gpa(la, write ? GWALK_ACC_WRITE : 0, &gpa))
		return EMU_ACCESS_FAULT;
	if (memslot_lookup(&guest_memslots, gpa >> PAGE_SHIFT))
		return (write ? guest_phys_write(gpa, buf, (u64)size)
			      : guest_phys_read(gpa, buf, (u64)size)) ? EMU_ACCESS_OK : EMU_ACCESS_FAULT;
	if (write)
		memcpy(&dev_reg, buf, (size_t)size);
	else
		memcpy(buf, &dev_reg, (size_t)size);
	return EMU_ACCESS_OK;
}

static enum emu_access emu_read(void *o, u64 la, void *buf, int size)
{
	(void)o;
	return emu_rw(la, buf, size, false);
}

static enum emu_access emu_write(void *o, u64 la, const void *buf, int size)
{
	(void)o;
	return emu_rw(la, (void *)buf, size, true);
}

static bool real_emulate(u64 gpa, u64 la)
{
	struct emu_ops ops = { .fetch = emu_fetch, .read = emu_read, .write = emu_write };
	struct emu_result res;
	emu_la_page = la & ~(PAGE_SIZE - 1);
	emu_gpa_page = gpa & ~(PAGE_SIZE - 1);
	emu_step(&emu_cpu, &ops, &res);
	if (res.status != EMU_OK)
		fail_msg("emulation at %#llx: status %d vector %u", emu_cpu.rip, res.status, res.vector);
	return true;
}

/* 32-bit code at la 0x4000 (PT_A maps it, supervisor): the bytes given. */
static void emu_code(const u8 *bytes, int n, u64 esi, u64 edi, u64 ecx, u64 eax)
{
	memcpy(ram + 0x4000, bytes, (size_t)n);
	memset(&emu_cpu, 0, sizeof(emu_cpu));
	emu_cpu.mode = 32;
	emu_cpu.rip = 0x4000;
	emu_cpu.rflags = 2;
	emu_cpu.gpr[6] = esi;
	emu_cpu.gpr[7] = edi;
	emu_cpu.gpr[1] = ecx;
	emu_cpu.gpr[0] = eax;
	fake_emulate_hook = real_emulate;
}

#define ALIAS(gpa) (0xc00000ULL + (gpa)) /* PDE3: 4 MiB over gpa 0, dirty: a writable alias */

/* Item 3: MOVSD from a device register into the guest's own PTE (through a writable alias).
 * The emulator's write must drop the shadow of that page table. */
static void test_snd_emulated_write_to_pte(void **state)
{
	(void)state;
	setup_32();
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x3000);
	static const u8 movsd[] = { 0xa5 };
	emu_code(movsd, 1, 0x9000, ALIAS(PT_A + 4 * 3), 0, 0);
	dev_reg = 0x5000 | G_P | G_RW;
	fault_ok(0x9000, 0); /* the device read faults; the instruction is emulated */
	assert_int_equal(get32(PT_A, 3), 0x5000 | G_P | G_RW);
	assert_int_equal(emu_cpu.rip, 0x4001);
	u64 e = leaf_spte(0x3000, NULL);
	if (is_shadow_present(e) && spte_hpa(e) == HPA(0x3000))
		fail_msg("the emulator rewrote PTE 3 (now gpa 0x5000) but la 0x3000 still maps gpa "
			 "0x3000 (spte %#llx)", e);
	assert_true(mmu_stats.tracked_writes > 0);
	expect_audit_clean("emulated PTE write");
	fault_ok(0x3000, 0);
	expect_ram_leaf(0x3000, 0x5000);
}

/* Item 4: the same MOVSD rewrites the PTE of the device page itself to point at RAM: the
 * next access must reach RAM, not the device through a cached MMIO spte. */
static void test_snd_mmio_spte_from_stale_walk(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	setup_32();
	fault_ok(0x9000, 0);
	fault_ok(0x9000, EC_P | EC_RSVD); /* the fast path: the MMIO spte is current */
	assert_int_equal(mmu_stats.mmio_fast, 1);
	static const u8 movsd[] = { 0xa5 };
	emu_code(movsd, 1, 0x9010, ALIAS(PT_A + 4 * 9), 0, 0);
	dev_reg = 0x6000 | G_P | G_RW;
	fault_ok(0x9010, EC_P | EC_RSVD); /* emulated from the fast path */
	assert_int_equal(mmu_stats.mmio_fast, 2);
	assert_int_equal(get32(PT_A, 9), 0x6000 | G_P | G_RW);
	fake_emulate_hook = NULL;
	u64 e = leaf_spte(0x9000, NULL);
	if (is_mmio_spte(e))
		fail_msg("PTE 9 now maps RAM (gpa 0x6000) but la 0x9000 keeps MMIO spte %#llx", e);
	expect_audit_clean("MMIO spte after PTE rewrite");
	int calls = fake_mmio_count;
	fault_ok(0x9000, 0);
	assert_int_equal(fake_mmio_count, calls); /* RAM now: mapped, not emulated */
	expect_ram_leaf(0x9000, 0x6000);
}

/* Item 3, second half: REP STOSD through a mapping that goes through the first of two
 * adjacent page tables, writing its last entry and the second table's first one. The write
 * fault is on a table the walk uses, so the instruction is emulated; both tables' shadows
 * must go, not only the faulting one's. */
#define SND_PT1 0x40000ULL
#define SND_PT2 0x41000ULL

static void test_snd_rep_stos_across_two_tables(void **state)
{
	(void)state;
	build_32();
	pte32(PD_A, 8, (u32)SND_PT1 | G_P | G_RW);  /* la 0x2000000 */
	pte32(PD_A, 9, (u32)SND_PT2 | G_P | G_RW);  /* la 0x2400000 */
	pte32(SND_PT1, 1023, 0x70000 | G_P | G_RW); /* la 0x23ff000 */
	pte32(SND_PT2, 0, 0x71000 | G_P | G_RW);    /* la 0x2400000 */
	pte32(SND_PT1, 0, (u32)SND_PT1 | G_P | G_RW | G_A | G_D); /* la 0x2000000: PT1 itself */
	pte32(SND_PT1, 1, (u32)SND_PT2 | G_P | G_RW | G_A | G_D); /* la 0x2001000: PT2 */
	set_paging(paging_32(PD_A));
	mmu_load_root();
	fault_ok(0x23ff000, 0);
	fault_ok(0x2400000, 0);
	fault_ok(0x2000ffc, 0); /* PT1's own page through PT1: a leaf, read-only */
	expect_ram_leaf(0x23ff000, 0x70000);
	expect_ram_leaf(0x2400000, 0x71000);
	static const u8 rep_stosd[] = { 0xf3, 0xab };
	emu_code(rep_stosd, 2, 0, 0x2000ffc, 2, 0x72000 | G_P | G_RW);
	fault_ok(0x2000ffc, EC_P | EC_W); /* PT1 is in this walk: emulated */
	assert_int_equal(emu_cpu.gpr[1], 0);
	assert_int_equal(get32(SND_PT2, 0), 0x72000 | G_P | G_RW);
	fake_emulate_hook = NULL;
	u64 e = leaf_spte(0x2400000, NULL);
	if (is_shadow_present(e) && spte_hpa(e) == HPA(0x71000))
		fail_msg("REP STOSD rewrote PT2's entry 0 but la 0x2400000 still maps gpa 0x71000 "
			 "(spte %#llx)", e);
	expect_audit_clean("rep stos across tables");
	mmu_load_root();
	fault_ok(0x2400000, 0);
	expect_ram_leaf(0x2400000, 0x72000);
}

/* Item 3 for debuggers: a GDB/monitor write into a guest table goes through the same
 * tracking (it used to zap every shadow page instead). */
static void test_snd_debugger_write_tracked(void **state)
{
	(void)state;
	setup_32();
	fault_ok(0x3000, 0);
	fault_ok(0x6000, EC_U);
	u64 zaps = mmu_stats.zap_all;
	u32 pte = 0x5000 | G_P | G_RW;
	assert_int_equal(guest_virt_access(ALIAS(PT_A + 4 * 3), &pte, 4, true), 4);
	assert_int_equal(mmu_stats.zap_all, zaps);
	assert_false(leaf_present(0x3000));
	u8 code = 0xcc; /* a breakpoint in a page that is no table: nothing zapped */
	u64 used = mmu_stats.sp_in_use;
	assert_int_equal(guest_virt_access(0x4000, &code, 1, true), 1);
	assert_int_equal(mmu_stats.sp_in_use, used);
	expect_audit_clean("debugger write");
}

/* Item 6. CR0.WP=0: a supervisor write through a read-only, clean 4 MiB PDE gets a writable
 * (supervisor-only) leaf. Another directory whose PDE for the same frames is read-only and
 * clean must not reuse the shadow page holding it, or its own D would never be set. */
static void test_snd_wp0_clean_large_page_alias(void **state)
{
	(void)state;
	build_32();
	pte32(PD_A, 5, 0x800000 | G_P | G_PS); /* read-only, clean */
	pte32(PD_B, 5, 0x800000 | G_P | G_PS);
	struct mmu_paging p = paging_32(PD_A);
	p.wp = false;
	set_paging(p);
	mmu_load_root();
	fault_ok(0x1400010, EC_W);
	assert_true(get32(PD_A, 5) & G_D);
	assert_true(expect_ram_leaf(0x1400010, 0x800010) & SPTE_RW);
	p.cr3 = PD_B;
	set_paging(p);
	mmu_load_root();
	fault_ok(0x1401000, 0); /* a read through PD_B's clean PDE */
	assert_false(get32(PD_B, 5) & G_D);
	u64 e = leaf_spte(0x1400000, NULL);
	if (is_shadow_present(e) && (e & SPTE_RW))
		fail_msg("la 0x1400000 through PD_B (PDE5 read-only, clean) has writable spte %#llx:"
			 " a supervisor write would not fault and PD_B's D would stay clear", e);
	fault_ok(0x1400010, EC_W);
	assert_true(get32(PD_B, 5) & G_D);
	expect_audit_clean("wp0 alias");
}

/* Item 5. SMAP: RFLAGS.AC reaches the walker (a kernel's STAC; copy_from_user touching a user
 * page that has no shadow yet used to get a spurious #PF forever), and the MMIO fast path
 * checks SMAP as the slow path's walk does. */
#define EC_AC PFEC_SW_AC

static void setup_32_smap(bool wp)
{
	build_32();
	pte32(PT_A, 0xc, (u32)MMIO_GPA | G_P | G_RW | G_US); /* a user device page */
	struct mmu_paging p = paging_32(PD_A);
	p.smap = true;
	p.wp = wp;
	set_paging(p);
	mmu_load_root();
}

static void test_snd_smap_ac_reaches_walker(void **state)
{
	(void)state;
	setup_32_smap(true);
	fault_ok(0x6000, EC_AC); /* STAC; a supervisor read of a user page: allowed */
	assert_int_equal(fake_pf_count, 0);
	assert_true(expect_ram_leaf(0x6000, 0x6000) & SPTE_US);
	fault_ok(0x6004, EC_P | EC_W | EC_AC);
	assert_int_equal(fake_pf_count, 0);
	/* CLAC: the same access is the guest's fault (P, as the CPU reports it) */
	expect_guest_fault(0xb000, 0, EC_P);
	expect_audit_clean("smap ac");
}

static void test_snd_smap_mmio_fast_path(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	setup_32_smap(true);
	fault_ok(0xc000, EC_U); /* a user access caches U in the MMIO spte */
	assert_true(leaf_spte(0xc000, NULL) & SPTE_MMIO_ACC_U);
	fault_ok(0xc004, EC_P | EC_RSVD | EC_U);
	assert_int_equal(mmu_stats.mmio_fast, 1);
	int calls = fake_mmio_count;
	/* supervisor, AC=0: SMAP faults, fast path or not */
	expect_guest_fault(0xc008, EC_P | EC_RSVD, EC_P);
	assert_int_equal(fake_mmio_count, calls);
	assert_int_equal(mmu_stats.mmio_fast, 1);
	/* supervisor, AC=1: allowed, and fast again */
	fault_ok(0xc00c, EC_AC);
	fault_ok(0xc010, EC_P | EC_RSVD | EC_AC);
	assert_int_equal(mmu_stats.mmio_fast, 2);
	assert_int_equal(fake_mmio_count, calls + 2);
	expect_audit_clean("smap mmio");
}

/* SMAP in the MMIO exit's fast path: a supervisor access to a user device page with
 * RFLAGS.AC=0 is the guest's fault, which mmu_mmio_cached leaves to the walk. */
static void test_snd_smap_mmio_cached(void **state)
{
	(void)state;
	NEED_MMIO_SPTES();
	setup_32_smap(true);
	fault_ok(0xc000, EC_U);
	fault_ok(0x6000, EC_U); /* the code page: user RAM */
	mmu_audit_enabled = false;
	hpa_t hpa;
	u64 gpa;
	assert_true(mmu_shadow_hpa(0x6000, &hpa));
	fault_ok(0xc004, EC_P | EC_RSVD | EC_U);
	expect_no_cached_answer(0xc008, EC_P | EC_RSVD, 0x6000, "SMAP, AC=0");
	assert_true(mmu_mmio_cached(0xc008, EC_P | EC_RSVD | EC_AC, 0x6000, &gpa, &hpa));
	assert_int_equal(gpa, MMIO_GPA + 8);
	assert_true(mmu_mmio_cached(0xc00c, EC_P | EC_RSVD | EC_U, 0x6000, &gpa, &hpa));
	assert_int_equal(gpa, MMIO_GPA + 0xc);
	mmu_audit_enabled = true;
}

/* CR0.WP=0 with SMAP: the supervisor-only trick would hide later SMAP faults on a user page,
 * so such a write is emulated and the leaf keeps the user bit. */
static void test_snd_smap_wp0_user_write_emulated(void **state)
{
	(void)state;
	setup_32_smap(false);
	fault_ok(0xb004, EC_W | EC_AC); /* user read-only page, supervisor write with AC=1 */
	assert_int_equal(fake_pf_count, 0);
	assert_int_equal(fake_mmio_count, 1);
	expect_mmio_call(0, 0xb004, 0xb004);
	u64 e = leaf_spte(0xb004, NULL);
	if (is_shadow_present(e) && !(e & SPTE_US))
		fail_msg("la 0xb004 (a user page) got supervisor-only spte %#llx: a supervisor read "
			 "with AC=0 would not get its SMAP fault", e);
	expect_guest_fault(0xb000, 0, EC_P); /* and that SMAP fault */
	expect_audit_clean("smap wp0");
}

/* Issue 13 (found booting Linux): a write to a guest table T through a mapping whose walk
 * does not use T unprotects T; but the writing instruction's own fetch goes through T (T maps
 * the code's large page), so T is shadowed again before the write retires, the write faults
 * again, and so on forever. The second fault of the same write on the table it unprotected
 * must be emulated (KVM's retry_instruction rule). */
static void test_snd_write_refault_after_unprotect_emulates(void **state)
{
	(void)state;
	build_32();
	*g32(PD_A + 4) |= G_D; /* PDE1: 4 MiB over gpa 0, dirty: a writable alias of PT_A */
	set_paging(paging_32(PD_A));
	mmu_load_root();
	fault_ok(0x3000, 0); /* shadows PT_A */
	u64 alias = 0x400000 + PT_A + 4 * 3;
	fault_ok(alias, EC_P | EC_W); /* unprotected, mapped writable, nothing emulated */
	assert_int_equal(fake_mmio_count, 0);
	fault_ok(0x3000, 0); /* the instruction's other walk shadows PT_A again */
	assert_false(expect_ram_leaf(alias, PT_A) & SPTE_RW);
	fault_ok(alias, EC_P | EC_W); /* the same write, again: emulated */
	assert_int_equal(fake_mmio_count, 1);
	expect_mmio_call(0, PT_A + 4 * 3, alias);
	expect_audit_clean("refault emulated");
	/* Another page's write to another table unprotects as before. */
	fault_ok(0x203000, 0); /* shadows PT_A's upper half too (same table) */
	fault_ok(0x400000 + PD_A + 8, EC_P | EC_W);
	assert_int_equal(fake_mmio_count, 2); /* PD_A is in this walk: emulated as always */
}

/* ======================================================================================== */
/* pf_bypass: the guest's not-present faults without an exit                                */
/* ======================================================================================== */

/* What the CPU does with an access at la (error-code bits ec: EC_W, EC_U) on the shadow
 * tables of the root the next VM entry loads (mmu_root_for_entry), with CR0.WP=1 (always on
 * under the hypervisor), under the #PF filter vmx/vcpu.c sets: with mmu_pf_bypass_active(),
 * a fault with P=0 goes to the guest without an exit. SDM Vol. 3A 4.5 and 4.7, Vol. 3C 25.2.
 * Data accesses only (the I/D rule is vmx/vcpu.c's, checked in Bochs). */
enum hw_outcome { HW_OK, HW_DIRECT, HW_EXIT };

static enum hw_outcome hw_walk(u64 la, u32 ec_access, u32 *ec, u64 *hpa)
{
	u64 *t = (u64 *)(uintptr_t)mmu_root_for_entry(), e = 0;
	int level = depth;
	*ec = ec_access & (EC_W | EC_U);
	if (depth == 3) { /* a PAE-format root: 4 PDPTEs */
		e = t[(la >> 30) & 3];
		if (!(e & SPTE_P))
			goto fault;
		t = (u64 *)(uintptr_t)spte_hpa(e);
		level = 2;
	}
	for (;; level--) {
		e = t[SPTE_INDEX(la, level)];
		if (!(e & SPTE_P))
			goto fault;
		if (e & SPTE_MMIO_MARK) { /* reserved while MAXPHYADDR <= 51 */
			*ec |= EC_P | EC_RSVD;
			goto fault;
		}
		if (level == 1)
			break;
		t = (u64 *)(uintptr_t)spte_hpa(e);
	}
	if (((*ec & EC_W) && !(e & SPTE_RW)) || ((*ec & EC_U) && !(e & SPTE_US))) {
		*ec |= EC_P;
		goto fault;
	}
	*hpa = spte_hpa(e) | (la & (PAGE_SIZE - 1));
	return HW_OK;
fault:
	return mmu_pf_bypass_active() && !(*ec & EC_P) ? HW_DIRECT : HW_EXIT;
}

/* An access as the guest runs it: the CPU's walk, the hypervisor's exits until the access
 * completes, is emulated, or the guest takes a fault (directly or injected). */
struct hw_result {
	enum { R_OK, R_EMULATED, R_FAULT } kind;
	bool direct; /* the fault reached the guest without an exit */
	u32 ec;
	u64 hpa;
	int exits;
};

static struct hw_result hw_access(u64 la, u32 ec_access)
{
	struct hw_result r = { 0 };
	for (r.exits = 0; r.exits < 8; r.exits++) {
		u32 ec;
		enum hw_outcome o = hw_walk(la, ec_access, &ec, &r.hpa);
		if (o == HW_OK)
			return r;
		if (o == HW_DIRECT) {
			r.kind = R_FAULT, r.direct = true, r.ec = ec;
			return r;
		}
		if (fake_pf_count >= FAKE_MAX_CALLS || fake_mmio_count >= FAKE_MAX_CALLS)
			fake_pf_count = fake_mmio_count = 0; /* a long run: only this call is read */
		int pf = fake_pf_count, mmio = fake_mmio_count;
		if (fault(la, ec) == MMU_GUEST_FAULT) {
			r.kind = R_FAULT, r.ec = fake_pf_calls[pf].ec, r.exits++;
			return r;
		}
		if (fake_mmio_count != mmio) {
			r.kind = R_EMULATED, r.exits++;
			return r;
		}
	}
	fail_msg("la %#llx ec %#x: 8 exits and the access neither completes nor faults", la,
		 ec_access);
	return r;
}

/* The access must end as the guest's own tables say (mmu_translate: the walk the CPU would
 * make natively): the frame they map, or their fault with their error code. */
static struct hw_result expect_native(u64 la, u32 ec_access)
{
	u64 gpa = 0;
	u32 nec = 0;
	u32 acc = ((ec_access & EC_W) ? GWALK_ACC_WRITE : 0) | ((ec_access & EC_U) ? GWALK_ACC_USER : 0);
	bool ok = mmu_translate(la, acc, &gpa, &nec);
	struct hw_result r = hw_access(la, ec_access);
	if (ok && r.kind == R_FAULT)
		fail_msg("la %#llx ec %#x: the guest maps gpa %#llx, but it takes #PF ec %#x (%s)",
			 la, ec_access, gpa, r.ec, r.direct ? "without an exit" : "injected");
	if (ok && r.kind == R_OK && r.hpa != HPA(gpa))
		fail_msg("la %#llx: reaches host %#llx, the guest maps gpa %#llx", la, r.hpa, gpa);
	if (!ok && r.kind != R_FAULT)
		fail_msg("la %#llx ec %#x: the guest's tables fault (ec %#x), the access %s", la,
			 ec_access, nec, r.kind == R_OK ? "completes" : "is emulated");
	if (!ok && r.ec != nec)
		fail_msg("la %#llx ec %#x: #PF ec %#x (%s), the guest's tables give %#x", la,
			 ec_access, r.ec, r.direct ? "without an exit" : "injected", nec);
	return r;
}

/* A not-present PTE: the first fault exits and is reflected; its spte becomes zero, and the
 * next faults there reach the guest without an exit, with the native error code. When the
 * guest makes the PTE present (its write to the table zaps the table's shadow: 32-bit), the
 * access completes: no stale zero sends it to the guest's handler. */
static void test_pfb_32_not_present_pte(void **state)
{
	(void)state;
	setup_32();
	assert_true(mmu_pf_bypass_active());
	struct hw_result r = expect_native(0x5000, 0);
	assert_false(r.direct);
	assert_int_equal(mmu_stats.guest_faults, 1);
	assert_int_equal(mmu_stats.notrap_sptes, 1);
	int n;
	assert_int_equal(leaf_spte(0x5000, &n), 0);
	assert_int_equal(n, depth);
	assert_int_equal(leaf_spte(0x4000, NULL), spte_trap()); /* a neighbour: not built yet */
	r = expect_native(0x5000, 0);
	assert_true(r.direct);
	r = expect_native(0x5008, EC_W);
	assert_true(r.direct);
	r = expect_native(0x5000, EC_U | EC_W);
	assert_true(r.direct);
	assert_int_equal(mmu_stats.guest_faults, 1);
	expect_audit_clean("notrap pte");
	/* The guest writes PTE 5 through PT_A's own mapping (the walk uses PT_A: emulated). */
	expect_native(PT_A + 4 * 5, EC_W);
	pte32(PT_A, 5, 0x9000 | G_P | G_RW); /* what the emulator writes */
	r = expect_native(0x5000, 0);
	assert_int_equal(r.kind, R_OK);
	expect_native(0x5000, EC_W);
	expect_audit_clean("pte present again");
}

/* 4-level: a not-present PDE's spte (level 2) becomes zero; the guest's tracked write of a
 * present PDE makes it TRAP again (the access completes), and a write of a not-present PTE
 * makes that PTE's spte zero at once: the next access reaches the guest without any exit. */
static void test_pfb_long4_pde_and_pte_writes(void **state)
{
	(void)state;
	build_long4();
	*g64(L4_PT + 8 * 6) = 0x1c6000 | G_P | G_RW;
	set_paging(paging_long4());
	u64 la = L4_BASE + 0x400000 + 0x3000; /* PD[2]: not present */
	struct hw_result r = expect_native(la, 0);
	assert_false(r.direct);
	int n;
	u64 s[4];
	n = mmu_shadow_walk(la, s);
	assert_int_equal(n, 3);
	assert_int_equal(s[2], 0);
	assert_true(expect_native(la + 0x10000, EC_W).direct); /* anywhere under that PDE */
	assert_true(expect_native(L4_BASE + 0x1000, 0).kind == R_FAULT); /* PT[1]: not present */
	expect_audit_clean("notrap pde");
	write64(L4_PD + 8 * 2, L4_PT | G_P | G_RW | G_US); /* the PDE, present */
	assert_true(is_trap_spte(leaf_spte(la, NULL)) || mmu_shadow_walk(la, s) == 3);
	n = mmu_shadow_walk(la, s);
	assert_true(is_trap_spte(s[2]));
	expect_native(la + 0x1000, 0); /* PT[4] through PD[2]: now mapped */
	/* A PTE the guest clears: zero at once, no exit at its next access. */
	expect_native(L4_BASE + 0x6000, 0);
	assert_int_equal(expect_native(L4_BASE + 0x6000, 0).kind, R_OK);
	write64(L4_PT + 8 * 6, 0);
	assert_int_equal(leaf_spte(L4_BASE + 0x6000, NULL), 0);
	u64 gf = mmu_stats.guest_faults;
	r = expect_native(L4_BASE + 0x6000, EC_W);
	assert_true(r.direct);
	assert_int_equal(r.exits, 0);
	assert_int_equal(mmu_stats.guest_faults, gf);
	expect_audit_clean("pte cleared");
}

/* 32-bit: the guest writes its page directory; the emulated write zaps the PD's shadows,
 * the root's children, clearing its PDPTEs. A PDPTE cannot hold the TRAP pattern, so the
 * root is refilled before the next entry: without that, every access in that quadrant would
 * take a not-present fault straight to the guest, whose PDE is present. */
static void test_pfb_32_pd_write_refills_root(void **state)
{
	(void)state;
	setup_32();
	expect_native(0x3000, 0);
	assert_true(expect_native(0x1000010, 0).kind == R_FAULT); /* PDE 4: not present */
	assert_true(expect_native(0x1000010, 0).direct);
	expect_native(PD_A + 4 * 4, EC_W); /* the write to PDE 4: emulated, PD shadows zapped */
	pte32(PD_A, 4, PT_B | G_P | G_RW | G_US);
	struct hw_result r = expect_native(0x1003000, 0); /* PT_B[3] through PDE 4 */
	assert_int_equal(r.kind, R_OK);
	expect_native(0x3000, 0);
	expect_native(0x40003000, 0);
	expect_audit_clean("root refilled");
}

/* A table shadow where the guest took NOTRAP_FILL_AFTER (2) not-present faults is filled
 * from the guest's table (notrap_fill): zero wherever its entries are not present, so the
 * guest's next faults anywhere in that table never exit. 32-bit: a shadow PD quadrant has
 * two entries per guest PDE; 4-level: every level. Present entries are left alone. */
static void test_pfb_notrap_fill(void **state)
{
	(void)state;
	setup_32();
	expect_native(0x3000, 0); /* builds PT_A's lower shadow */
	assert_false(expect_native(0x5000, 0).direct); /* PTE 5: not present, 1st fault */
	assert_false(expect_native(0xc000, 0).direct); /* PTE 0xc: 2nd: the table is filled */
	assert_int_equal(mmu_stats.notrap_fills, 1);
	u64 gf = mmu_stats.guest_faults;
	struct hw_result r = expect_native(0xd000, EC_W);
	assert_true(r.direct);
	assert_int_equal(r.exits, 0);
	assert_true(expect_native(0x1ff000, 0).direct);
	assert_int_equal(expect_native(0x4000, 0).kind, R_OK); /* present PTEs: still built */
	assert_int_equal(mmu_stats.guest_faults, gf);
	/* The PD: PDEs 4 and 5 not present (two faults in PD_A's quadrant 0), then PDE 6. */
	assert_false(expect_native(0x1000010, 0).direct);
	assert_false(expect_native(0x1400010, 0).direct);
	assert_int_equal(mmu_stats.notrap_fills, 2);
	assert_int_equal(expect_native(0x1800010, 0).exits, 0);
	assert_int_equal(expect_native(0x1a00010, 0).exits, 0); /* PDE 6's second 2 MiB */
	expect_native(0x812345, 0); /* a 4 MiB page (PDE 2): present, mapped */
	expect_audit_clean("fill 32");

	build_long4();
	set_paging(paging_long4());
	expect_native(L4_BASE + 0x4000, 0);
	expect_native(L4_BASE + 0x7000, 0);
	expect_native(L4_BASE + 0x8000, EC_W);
	assert_int_equal(expect_native(L4_BASE + 0x9000, EC_W).exits, 0); /* PT filled */
	expect_native(L4_BASE + 0x600000, 0);
	expect_native(L4_BASE + 0x800000, 0);
	assert_int_equal(expect_native(L4_BASE + 0xa00000, 0).exits, 0); /* PD filled */
	expect_native(L4_BASE + 0x4000, EC_W);
	expect_audit_clean("fill long4");

	/* Off: the first fault at each entry exits (and makes it zero), the next ones do not. */
	mmu_notrap_fill = false;
	mmu_zap_all_fast();
	for (u64 p = 7; p <= 10; p++) {
		assert_false(expect_native(L4_BASE + p * 0x1000, 0).direct);
		assert_true(expect_native(L4_BASE + p * 0x1000, 0).direct);
	}
	assert_int_equal(mmu_stats.notrap_fills, 4); /* 32-bit PT and PD, 4-level PT and PD */
}

/* The guest fills an entry whose spte is zero (its faults there reached it without an exit,
 * so no reflected fault names the write that answers them): the write maps the page from the
 * PTE's value at once, and such writes are a table in use, not a flood: four in a row keep
 * the table's shadow. Writes that change present entries still count as a flood. */
static void test_pfb_answer_by_value(void **state)
{
	(void)state;
	build_long4();
	set_paging(paging_long4());
	expect_native(L4_BASE + 0x4000, 0);
	expect_native(L4_BASE + 0x7000, 0);
	expect_native(L4_BASE + 0x8000, 0); /* the PT is filled: zero where not present */
	u64 created = mmu_stats.sp_created, zaps = mmu_stats.flood_zaps;
	for (u64 p = 0x10; p < 0x14; p++) {
		assert_true(expect_native(L4_BASE + p * 0x1000, EC_W).direct);
		write64(L4_PT + 8 * p, (0x100000 + p * 0x1000) | G_P | G_RW | G_A | G_D);
		struct hw_result r = expect_native(L4_BASE + p * 0x1000, EC_W);
		assert_int_equal(r.kind, R_OK);
		assert_int_equal(r.exits, 0); /* mapped by the write, writable (D set) */
	}
	assert_int_equal(mmu_stats.flood_zaps, zaps);
	assert_int_equal(mmu_stats.sp_created, created);
	expect_audit_clean("answered by value");
	/* A PTE without A: not mapped from its value (the walk must set A); the access exits. */
	write64(L4_PT + 8 * 0x14, 0x114000 | G_P | G_RW);
	struct hw_result r = expect_native(L4_BASE + 0x14000, 0);
	assert_int_equal(r.kind, R_OK);
	assert_true(r.exits > 0);
	assert_true(*g64(L4_PT + 8 * 0x14) & G_A);
	/* Rewriting present entries is a flood: the third write zaps the table's shadow. */
	for (u64 p = 0x10; p < 0x13; p++)
		write64(L4_PT + 8 * p, (0x180000 + p * 0x1000) | G_P | G_RW | G_A | G_D);
	assert_int_equal(mmu_stats.flood_zaps, zaps + 1);
	expect_native(L4_BASE + 0x10000, 0);
	expect_audit_clean("flood");
}

/* An MMIO spte met through a linear address other than the one it was made at (one shadow PT
 * under two PDEs): the filter of MMIO pages (mmio_la_seen) does not name that page, so the
 * RSVD fault is taken for a TRAP, and the slow path must still emulate the access at the
 * device, never map or inject anything. */
static void test_pfb_mmio_spte_through_alias(void **state)
{
	(void)state;
	mmu_audit_enabled = false; /* with the audit on every RSVD fault looks at its leaf */
	setup_32();
	pte32(PD_A, 5, PT_A | G_P | G_RW | G_US); /* la 20 MiB: PT_A again */
	int calls = fake_mmio_count;
	assert_int_equal(hw_access(0x9000, 0).kind, R_EMULATED); /* makes the MMIO spte */
	assert_int_equal(hw_access(0x9000, 0).kind, R_EMULATED); /* fast path */
	u64 fast = mmu_stats.mmio_fast, slow = mmu_stats.mmio_slow;
	assert_int_equal(fast, 1);
	assert_int_equal(hw_access(0x1403000, 0).kind, R_OK); /* the alias's path is built */
	int n;
	assert_true(is_mmio_spte(leaf_spte(0x1409000, &n))); /* the CPU meets the MMIO spte */
	calls = fake_mmio_count - 2;
	struct hw_result r = hw_access(0x1409000, 0);
	assert_int_equal(r.kind, R_EMULATED);
	assert_int_equal(r.exits, 1);
	expect_mmio_call(calls + 2, MMIO_GPA, 0x1409000);
	assert_int_equal(mmu_stats.mmio_fast + mmu_stats.mmio_slow, fast + slow + 1);
	assert_int_equal(mmu_stats.guest_faults, 0);
	mmu_audit_enabled = true;
	expect_audit_clean("MMIO through an alias");
}

/* The audit knows what a zero spte promises: the guest's own entry is not present. */
static void test_pfb_audit_catches_zero_over_present(void **state)
{
	(void)state;
	setup_32();
	expect_native(0x3000, 0);
	expect_audit_clean("before");
	u64 saved = *leaf_ptr(0x3000);
	*leaf_ptr(0x3000) = 0; /* corrupt: PTE 3 is present */
	u64 bad = mmu_audit("zero over a present PTE");
	assert_true(bad >= 1);
	if (!strstr(fake_last_err, "present"))
		fail_msg("audit message: %s", fake_last_err);
	*leaf_ptr(0x3000) = saved;
	expect_audit_clean("repaired");
	/* A zero spte in a direct page (a 4 MiB guest page): no guest entry to promise anything. */
	expect_native(0x812000, 0);
	assert_true(is_trap_spte(*leaf_ptr(0x813000)));
	*leaf_ptr(0x813000) = 0;
	assert_true(mmu_audit("zero in a direct page") >= 1);
	if (!strstr(fake_last_err, "direct"))
		fail_msg("audit message: %s", fake_last_err);
	*leaf_ptr(0x813000) = spte_trap();
}

/* pf_bypass=off: every empty spte is zero, nothing is made notrap, every fault exits. */
static void test_pfb_off(void **state)
{
	(void)state;
	want_pf_bypass = false;
	reinit(POOL_PAGES);
	setup_32();
	assert_false(mmu_pf_bypass_active());
	for (int i = 0; i < 3; i++) {
		struct hw_result r = expect_native(0x5000, 0);
		assert_false(r.direct);
	}
	assert_int_equal(mmu_stats.guest_faults, 3);
	assert_int_equal(mmu_stats.notrap_sptes, 0);
	assert_int_equal(leaf_spte(0x4000, NULL), 0);
	expect_native(0x3000, 0);
	expect_audit_clean("pf_bypass off");
}

/* Random guest tables and random tracked writes to them, with an access checked against the
 * guest's own walk after each (expect_native): whatever the history, no access reaches the
 * guest's handler while its tables map the page, and none completes while they do not.
 * 4-level and 32-bit (writes fixed in place, and zapping). */
static u64 pfb_rand_state = 0x9e3779b97f4a7c15ULL;
static u32 pfb_rand(u32 n)
{
	pfb_rand_state ^= pfb_rand_state << 13;
	pfb_rand_state ^= pfb_rand_state >> 7;
	pfb_rand_state ^= pfb_rand_state << 17;
	return (u32)(pfb_rand_state % n);
}

#define PFB_PT_X 0x40000ULL
#define PFB_PT_Y 0x41000ULL

static u64 pfb_pte(void)
{
	static const u64 flags[] = { 0, G_P, G_P | G_RW, G_P | G_US, G_P | G_RW | G_US,
				     G_P | G_RW | G_US | G_A | G_D, 0 };
	u64 f = flags[pfb_rand(7)];
	if (!f)
		return 0;
	return (0x100000ULL + pfb_rand(16) * PAGE_SIZE) | f;
}

static u64 pfb_pde(void)
{
	switch (pfb_rand(5)) {
	case 0:
	case 1:
		return 0;
	case 2:
		return PFB_PT_X | G_P | G_RW | G_US;
	case 3:
		return PFB_PT_Y | G_P | G_RW | G_US;
	default: /* a large page over 0x800000 (2 MiB or 4 MiB aligned) */
		return 0x800000ULL | G_P | G_RW | G_US | G_PS | (pfb_rand(2) ? G_D : 0);
	}
}

static void pfb_write(u64 gpa, u64 v, bool wide)
{
	u32 v32 = (u32)v;
	assert_true(guest_phys_write(gpa, wide ? (void *)&v : (void *)&v32, wide ? 8 : 4));
}

static void pfb_random_run(bool wide, u64 base, u64 pd, int ops)
{
	u32 es = wide ? 8 : 4;
	for (int i = 0; i < 8; i++) {
		pfb_write(PFB_PT_X + i * es, pfb_pte(), wide);
		pfb_write(PFB_PT_Y + i * es, pfb_pte(), wide);
	}
	for (int i = 0; i < 4; i++)
		pfb_write(pd + i * es, pfb_pde(), wide);
	u64 pde_span = wide ? 0x200000ULL : 0x400000ULL;
	int direct = 0;
	for (int op = 0; op < ops; op++) {
		switch (pfb_rand(4)) {
		case 0: /* the guest rewrites a PTE */
			pfb_write((pfb_rand(2) ? PFB_PT_X : PFB_PT_Y) + pfb_rand(8) * es, pfb_pte(),
				  wide);
			break;
		case 1: /* ... or a PDE, now and then */
			if (pfb_rand(4) == 0)
				pfb_write(pd + pfb_rand(4) * es, pfb_pde(), wide);
			break;
		default: {
			u64 la = base + pfb_rand(4) * pde_span + pfb_rand(8) * PAGE_SIZE + 8 * pfb_rand(4);
			static const u32 ecs[] = { 0, EC_W, EC_U, EC_U | EC_W };
			direct += expect_native(la, ecs[pfb_rand(4)]).direct;
		}
		}
	}
	expect_audit_clean("random run");
	if (!direct)
		fail_msg("no fault reached the guest without an exit in %d operations", ops);
}

static void test_pfb_random_long4(void **state)
{
	(void)state;
	build_long4();
	set_paging(paging_long4());
	pfb_random_run(true, L4_BASE, L4_PD, 3000);
}

static void test_pfb_random_32(void **state)
{
	(void)state;
	setup_32();
	pfb_random_run(false, 0x2000000, PD_A + 4 * 8, 3000); /* PDEs 8-11: la 32-48 MiB */
}

/* The same with new table shadows all TRAP: every zero then comes from a reflected fault
 * (notrap_fault) or a tracked write. */
static void test_pfb_random_without_fill(void **state)
{
	(void)state;
	mmu_notrap_fill = false;
	build_long4();
	set_paging(paging_long4());
	pfb_random_run(true, L4_BASE, L4_PD, 2000);
	mmu_zap_all_fast();
	setup_32();
	pfb_random_run(false, 0x2000000, PD_A + 4 * 8, 2000);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_off_ram_fault_maps_leaf),
		T(test_off_second_fault_reuses),
		T(test_off_mmio_slow_then_fast),
		T(test_off_mmio_cached),
		T(test_off_mmio_stale_after_memslot_add),
		T(test_off_memslot_move_clears_old_leaves),
		T(test_off_zap_all_reclaims_lazily),
		T(test_off_reclaim_bounded_by_entries),
		T(test_off_generation_no_early_wrap),
		T(test_off_generation_wrap_zaps_all),
		T(test_off_audit_catches_corruption),
		T(test_off_audit_points_changed_then_whole),
		T(test_off_rom_write_emulated),
		T(test_off_pool_exhaustion_recovers),
		T(test_off_rsvd_fault_on_ram_panics),
		T(test_32_map_4k_and_4m),
		T(test_32_tables_write_protected),
		T(test_32_write_to_unused_table_unprotects),
		T(test_32_write_to_table_in_walk_emulates),
		T(test_32_write_to_page_directory_then_access),
		T(test_32_guest_faults),
		T(test_32_wp0_supervisor_write),
		T(test_32_cr3_switch_reuses_root),
	T(test_32_set_guest_cr3),
		T(test_32_dirty_tracking),
		T(test_32_large_page_alias_keeps_dirty_tracking),
		T(test_32_large_page_dirty_cleared_by_guest),
		T(test_32_first_write_through_clean_large_page),
		T(test_32_shadow_hpa_follows_changes),
		T(test_32_mmio_through_paging),
		T(test_32_mmio_write_sets_dirty),
		T(test_pae_map),
		T(test_pae_reserved_pdpte_refused),
	T(test_pae_set_guest_cr3_reloads_pdptes),
	T(test_pae_pdptes_kept_without_reload),
		T(test_pae_pdptes_cached_until_cr3_write),
		T(test_pae_write_to_page_directory_then_access),
		T(test_long4_map),
		T(test_long4_cr3_back_to_previous_root),
		T(test_long4_1g_page),
		T(test_long4_pte_write_fixed_in_place),
		T(test_long4_write_flood_zaps),
		T(test_long4_unprotect_for_bulk_write),
		T(test_long4_prefetch_around_fault),
		T(test_long4_prefetch_answers_reflected_fault),
		T(test_long4_prefetch_by_pte_value),
		T(test_snd_pae_root_not_reclaimed_mid_fill),
		T(test_snd_tiny_pool_random_walks),
		T(test_snd_slot_replaced_page_table),
		T(test_snd_slot_moved_page_table),
		T(test_snd_slot_shrunk_page_table),
		T(test_snd_emulated_write_to_pte),
		T(test_snd_mmio_spte_from_stale_walk),
		T(test_snd_rep_stos_across_two_tables),
		T(test_snd_debugger_write_tracked),
		T(test_snd_wp0_clean_large_page_alias),
		T(test_snd_smap_ac_reaches_walker),
		T(test_pfb_32_not_present_pte),
		T(test_pfb_long4_pde_and_pte_writes),
		T(test_pfb_32_pd_write_refills_root),
		T(test_pfb_notrap_fill),
		T(test_pfb_answer_by_value),
		T(test_pfb_mmio_spte_through_alias),
		T(test_pfb_audit_catches_zero_over_present),
		T(test_pfb_off),
		T(test_pfb_random_long4),
		T(test_pfb_random_32),
		T(test_pfb_random_without_fill),
		T(test_snd_smap_mmio_fast_path),
		T(test_snd_smap_mmio_cached),
		T(test_snd_smap_wp0_user_write_emulated),
		T(test_snd_write_refault_after_unprotect_emulates),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
