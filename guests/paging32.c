/* paging32.c - 32-bit paging (CR4.PSE) seen from a guest: 4 KiB and 4 MiB pages, the
 * user/supervisor x read/write matrix from CPL0 (CR0.WP=0 and 1) and CPL3, permissions
 * combined across PDE and PTE, a not-present page, a reserved bit in a 4 MiB PDE, A/D bits,
 * a PTE (and a PDE) changed after use then INVLPG, CR3 reload, and two address spaces
 * switched by CR3 writes.
 *
 * It prints what it observes ("case <name>: ok val=..." or "#PF ec=.. cr2=..", "ad ...",
 * "mem ..."), not verdicts: tests/system/test_paging.py compares the output with the same
 * guest on bare Bochs. Lines starting with "HV " come only under the hypervisor (audit,
 * shadow-page statistics). Ends with "RESULT done" and exit code 0. */
#include "guest.h"
#include "hv.h"
#include "idt.h"
#include "pt.h"

#define M PT_MODE_32
#define IDMAP_END (16u << 20)
#define TEST_VA 0x40000000u
#define BIG_VA 0x80000000u
#define PDE_RSVD_BIT21 (1ull << 21) /* 4 MiB PDE: bits 20:13 are PA[39:32], bit 21 reserved */
#define SWITCH_ROUNDS 50

static uint8_t pool_pages[48][4096] __attribute__((aligned(4096)));
static struct pt_pool pool = PT_POOL(pool_pages);
static uint32_t *pd;

static uint32_t *frame(uint32_t marker)
{
	uint32_t *f = pt_alloc(&pool);
	f[0] = marker;
	pt_put_exec_stub((uint8_t *)f + 0x100);
	return f;
}

static uint32_t rd(uint32_t va)
{
	return *(volatile uint32_t *)va;
}

static void *pde_of(uint32_t *dir, uint32_t va)
{
	return pt_entry(M, dir, va, 2);
}

struct page {
	const char *name;
	uint32_t va;
	uint32_t *frame;
	void *leaf;
};

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	(void)mbi;
	serial_init();
	idt_init();
	pt_gdt_init(false);
	printf("TEST paging32\n");
	bool hv = hv_present();
	if (hv)
		printf("HV hypervisor detected\n");
	uint32_t r[4];
	cpuid(1, 0, r);
	printf("cpu pse=%u pse36=%u\n", (r[3] >> 3) & 1, (r[3] >> 17) & 1);
	if ((uint32_t)(pool_pages + 48) > (2u << 20)) {
		printf("ERROR the image ends above 2 MiB\n");
		guest_exit(0x7d);
	}

	/* Identity map of the first 16 MiB with 4 KiB pages, user and writable (the CPL3 code
	 * and stack live there too). */
	pd = pt_alloc(&pool);
	for (uint32_t a = 0; a < IDMAP_END; a += 4096)
		pt_map(&pool, M, pd, a, a, PTE_P | PTE_W | PTE_U, 1);

	/* The 4 KiB test pages: one page table at TEST_VA. */
	struct page pages[] = {
		{ "s_ro", TEST_VA + 0x0000, frame(0xa0000000), 0 },
		{ "s_rw", TEST_VA + 0x1000, frame(0xa0000001), 0 },
		{ "u_ro", TEST_VA + 0x2000, frame(0xa0000002), 0 },
		{ "u_rw", TEST_VA + 0x3000, frame(0xa0000003), 0 },
		{ "np", TEST_VA + 0x4000, frame(0xa0000004), 0 },
		{ "pde_ro", TEST_VA + 0x400000, frame(0xa0000005), 0 },
		{ "pde_s", TEST_VA + 0x800000, frame(0xa0000006), 0 },
	};
	const uint64_t flags[] = { PTE_P, PTE_P | PTE_W, PTE_P | PTE_U, PTE_P | PTE_W | PTE_U,
				   PTE_W | PTE_U /* not present, other bits set */,
				   PTE_P | PTE_W | PTE_U, PTE_P | PTE_W | PTE_U };
	const int npages = sizeof(pages) / sizeof(pages[0]);
	for (int i = 0; i < npages; i++)
		pages[i].leaf = pt_map(&pool, M, pd, pages[i].va, (uint32_t)pages[i].frame, flags[i], 1);
	/* Permissions combined across levels: the PDE takes away W, or U. */
	void *e = pde_of(pd, TEST_VA + 0x400000);
	pt_set(M, e, pt_get(M, e) & ~PTE_W);
	e = pde_of(pd, TEST_VA + 0x800000);
	pt_set(M, e, pt_get(M, e) & ~PTE_U);

	uint32_t *ad_frame = frame(0xa0000010), *inv_a = frame(0xa0000011), *inv_b = frame(0xa0000012);
	uint32_t *inv_c = frame(0xa0000013), *sw_a = frame(0xa0000014), *sw_b = frame(0xa0000015);
	const uint32_t ad_va = TEST_VA + 0x5000, inv_va = TEST_VA + 0x6000, sw_va = TEST_VA + 0x7000;
	const uint32_t inv2_va = TEST_VA + 0xc00000;
	void *ad_pte = pt_map(&pool, M, pd, ad_va, (uint32_t)ad_frame, PTE_P | PTE_W | PTE_U, 1);
	void *inv_pte = pt_map(&pool, M, pd, inv_va, (uint32_t)inv_a, PTE_P | PTE_W | PTE_U, 1);
	pt_map(&pool, M, pd, sw_va, (uint32_t)sw_a, PTE_P | PTE_W | PTE_U, 1);
	pt_map(&pool, M, pd, inv2_va, (uint32_t)inv_a, PTE_P | PTE_W | PTE_U, 1);

	/* 4 MiB pages, all onto physical 0-4 MiB (the image): user read/write, supervisor
	 * read-only, and one with a reserved bit. Accesses go to frames of their own. */
	uint32_t *big_rw = frame(0xb0000000), *big_ro = frame(0xb0000001);
	uint32_t *big_rsvd = frame(0xb0000002), *big_ad = frame(0xb0000003);
	void *big_rw_pde = pt_map(&pool, M, pd, BIG_VA, 0, PTE_P | PTE_W | PTE_U, 2);
	void *big_ro_pde = pt_map(&pool, M, pd, BIG_VA + 0x400000, 0, PTE_P, 2);
	void *big_rsvd_pde =
		pt_map(&pool, M, pd, BIG_VA + 0x800000, 0, PTE_P | PTE_W | PTE_U | PDE_RSVD_BIT21, 2);

	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() & ~CR0_WP);
	write_cr0(read_cr0() | CR0_PG);
	printf("paging on\n");
	hv_audit("paging_on");

	/* The matrix. */
	for (int i = 0; i < npages; i++)
		pt_matrix(pages[i].name, pages[i].va, 0xc0000000u + ((uint32_t)i << 4), false,
			  pages[i].frame);
	pt_matrix("4m_u_rw", BIG_VA + (uint32_t)big_rw, 0xc1000000u, false, big_rw);
	pt_matrix("4m_s_ro", BIG_VA + 0x400000 + (uint32_t)big_ro, 0xc2000000u, false, big_ro);
	pt_matrix("4m_rsvd", BIG_VA + 0x800000 + (uint32_t)big_rsvd, 0xc3000000u, false, big_rsvd);
	for (int i = 0; i < npages; i++)
		pt_print_ad(M, pages[i].name, pages[i].leaf, true);
	pt_print_ad(M, "4m_u_rw", big_rw_pde, true);
	pt_print_ad(M, "4m_s_ro", big_ro_pde, true);
	pt_print_ad(M, "4m_rsvd", big_rsvd_pde, true);
	hv_audit("matrix");

	/* A and D: cleared (and the TLB entry dropped), then a read, then a write; and a write
	 * with no read before it. The PDE's A bit too. */
	void *ad_pde = pde_of(pd, ad_va);
	struct pt_probe p;
	for (int round = 0; round < 2; round++) {
		const char *tag = round ? "write_first" : "read_then_write";
		pt_set(M, ad_pte, pt_get(M, ad_pte) & ~(PTE_A | PTE_D));
		pt_set(M, ad_pde, pt_get(M, ad_pde) & ~PTE_A);
		invlpg(ad_va);
		printf("ad.%s cleared: pde A=%u pte A=%u D=%u\n", tag,
		       (unsigned)(pt_get(M, ad_pde) >> 5) & 1, (unsigned)(pt_get(M, ad_pte) >> 5) & 1,
		       (unsigned)(pt_get(M, ad_pte) >> 6) & 1);
		if (!round) {
			p = pt_access(PT_READ, ad_va, 0, false);
			pt_print_case("ad.read", &p);
			printf("ad.%s after read: pde A=%u pte A=%u D=%u\n", tag,
			       (unsigned)(pt_get(M, ad_pde) >> 5) & 1,
			       (unsigned)(pt_get(M, ad_pte) >> 5) & 1,
			       (unsigned)(pt_get(M, ad_pte) >> 6) & 1);
		}
		p = pt_access(PT_WRITE, ad_va, 0xd0000000u + (uint32_t)round, !round ? false : true);
		pt_print_case(round ? "ad.u_write" : "ad.k_write", &p);
		printf("ad.%s after write: pde A=%u pte A=%u D=%u\n", tag,
		       (unsigned)(pt_get(M, ad_pde) >> 5) & 1, (unsigned)(pt_get(M, ad_pte) >> 5) & 1,
		       (unsigned)(pt_get(M, ad_pte) >> 6) & 1);
	}
	printf("mem ad: 0x%08x\n", ad_frame[0]);
	/* The same on a 4 MiB page: its PDE is the leaf. */
	void *big_ad_pde = big_rw_pde;
	uint32_t big_ad_va = BIG_VA + (uint32_t)big_ad;
	pt_set(M, big_ad_pde, pt_get(M, big_ad_pde) & ~(PTE_A | PTE_D));
	invlpg(big_ad_va);
	pt_print_ad(M, "4m.cleared", big_ad_pde, true);
	p = pt_access(PT_READ, big_ad_va, 0, true);
	pt_print_case("4m_ad.u_read", &p);
	pt_print_ad(M, "4m.after_read", big_ad_pde, true);
	p = pt_access(PT_WRITE, big_ad_va, 0xd1000000u, false);
	pt_print_case("4m_ad.k_write", &p);
	pt_print_ad(M, "4m.after_write", big_ad_pde, true);
	printf("mem 4m_ad: 0x%08x\n", big_ad[0]);
	hv_audit("ad");

	/* A PTE changed after use: INVLPG makes the new mapping visible. */
	p = pt_access(PT_READ, inv_va, 0, false);
	pt_print_case("invlpg.before", &p);
	pt_set(M, inv_pte, (uint32_t)inv_b | PTE_P | PTE_W | PTE_U);
	invlpg(inv_va);
	p = pt_access(PT_READ, inv_va, 0, false);
	pt_print_case("invlpg.remapped", &p);
	pt_set(M, inv_pte, (uint32_t)inv_b | PTE_P | PTE_U);
	invlpg(inv_va);
	write_cr0(read_cr0() | CR0_WP);
	p = pt_access(PT_WRITE, inv_va, 0xd2000000u, false);
	pt_print_case("invlpg.made_ro.k_write_wp1", &p);
	p = pt_access(PT_READ, inv_va, 0, true);
	pt_print_case("invlpg.made_ro.u_read", &p);
	pt_set(M, inv_pte, (uint32_t)inv_b | PTE_P | PTE_W);
	invlpg(inv_va);
	p = pt_access(PT_READ, inv_va, 0, true);
	pt_print_case("invlpg.made_s.u_read", &p);
	pt_set(M, inv_pte, 0);
	invlpg(inv_va);
	p = pt_access(PT_READ, inv_va, 0, false);
	pt_print_case("invlpg.made_np.k_read", &p);
	pt_set(M, inv_pte, (uint32_t)inv_c | PTE_P | PTE_W | PTE_U);
	p = pt_access(PT_READ, inv_va, 0, false);
	pt_print_case("np_to_present.k_read", &p);
	/* CR3 reload flushes too. */
	pt_set(M, inv_pte, (uint32_t)inv_a | PTE_P | PTE_W | PTE_U);
	write_cr3(read_cr3());
	p = pt_access(PT_READ, inv_va, 0, false);
	pt_print_case("cr3_reload.remapped", &p);
	/* A PDE changed after use: INVLPG of an address it maps drops the old walk. */
	p = pt_access(PT_READ, inv2_va, 0, false);
	pt_print_case("invlpg_pde.before", &p);
	uint32_t *pt_alt = pt_alloc(&pool);
	pt_alt[(inv2_va >> 12) & 0x3ff] = (uint32_t)inv_b | PTE_P | PTE_W | PTE_U;
	void *inv2_pde = pde_of(pd, inv2_va);
	pt_set(M, inv2_pde, (uint32_t)pt_alt | PTE_P | PTE_W | PTE_U);
	invlpg(inv2_va);
	p = pt_access(PT_READ, inv2_va, 0, false);
	pt_print_case("invlpg_pde.remapped", &p);
	/* A 4 KiB-mapped region replaced by a 4 MiB page. */
	pt_set(M, inv2_pde, PTE_P | PTE_W | PTE_U | PTE_PS);
	invlpg(inv2_va);
	p = pt_access(PT_READ, (inv2_va & ~0x3fffffu) + (uint32_t)inv_c, 0, false);
	pt_print_case("invlpg_pde.to_4m", &p);
	hv_audit("invlpg");

	/* Two address spaces: the same virtual address maps different frames. */
	uint32_t *pd2 = pt_alloc(&pool), *pt2 = pt_alloc(&pool);
	memcpy(pd2, pd, 4096);
	uint32_t *pt1 = (uint32_t *)(uint32_t)(pt_get(M, pde_of(pd, sw_va)) & ~0xfffu);
	memcpy(pt2, pt1, 4096);
	pt2[(sw_va >> 12) & 0x3ff] = (uint32_t)sw_b | PTE_P | PTE_W | PTE_U;
	pd2[sw_va >> 22] = (uint32_t)pt2 | PTE_P | PTE_W | PTE_U;
	uint32_t reused0 = hv_stat_or0(STAT_SP_REUSED), created0 = hv_stat_or0(STAT_SP_CREATED);
	uint32_t faults0 = hv_stat_or0(STAT_SHADOW_FAULTS);
	unsigned a_in1 = 0, other1 = 0, b_in2 = 0, other2 = 0, switches = 0;
	for (int i = 0; i < SWITCH_ROUNDS; i++) {
		write_cr3((uint32_t)pd2);
		switches++;
		uint32_t v = rd(sw_va);
		b_in2 += v == sw_b[0];
		other2 += v != sw_b[0];
		write_cr3((uint32_t)pd);
		switches++;
		v = rd(sw_va);
		a_in1 += v == sw_a[0];
		other1 += v != sw_a[0];
	}
	printf("case cr3_switch: switches=%u as1_marker_a=%u as1_other=%u as2_marker_b=%u "
	       "as2_other=%u\n", switches, a_in1, other1, b_in2, other2);
	if (hv) {
		printf("HV sp_reused grew by %u switches=%u\n", hv_stat(STAT_SP_REUSED) - reused0,
		       switches);
		printf("HV sp_created grew by %u\n", hv_stat(STAT_SP_CREATED) - created0);
		printf("HV shadow_faults grew by %u\n", hv_stat(STAT_SHADOW_FAULTS) - faults0);
	}
	hv_audit("cr3_switch");

	printf("RESULT done\n");
	return 0;
}
