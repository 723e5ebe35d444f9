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
#include "paging.h"
#include "pt.h"

#define M PT_MODE_32
#define IDMAP_END (16u << 20)
#define TEST_VA 0x40000000u
#define BIG_VA 0x80000000u
#define PDE_RSVD_BIT21 (1ull << 21) /* 4 MiB PDE: bits 20:13 are PA[39:32], bit 21 reserved */

static uint8_t pool_pages[48][4096] __attribute__((aligned(4096)));
static struct pt_pool pool = PT_POOL(pool_pages);
static uint32_t *pd;

static void *pde_of(uint32_t *dir, uint32_t va)
{
	return pt_entry(M, dir, va, 2);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	(void)mbi;
	pt_guest_start("paging32");
	pt_gdt_init(false);
	uint32_t r[4];
	cpuid(1, 0, r);
	printf("cpu pse=%u pse36=%u\n", (r[3] >> 3) & 1, (r[3] >> 17) & 1);
	pt_pool_below(&pool, 2u << 20);

	/* Identity map of the first 16 MiB with 4 KiB pages, user and writable (the CPL3 code
	 * and stack live there too). */
	pd = pt_alloc(&pool);
	for (uint32_t a = 0; a < IDMAP_END; a += 4096)
		pt_map(&pool, M, pd, a, a, PTE_P | PTE_W | PTE_U, 1);

	/* The 4 KiB test pages: one page table at TEST_VA, and one each for the PDE cases. */
	struct pt_page pages[PT_MAX_PAGES];
	const int npages = pt_test_pages(&pool, M, pd, TEST_VA, pages);

	uint32_t *ad_frame = pt_frame(&pool, 0xa0000010), *inv_a = pt_frame(&pool, 0xa0000011);
	uint32_t *inv_b = pt_frame(&pool, 0xa0000012), *inv_c = pt_frame(&pool, 0xa0000013);
	uint32_t *sw_a = pt_frame(&pool, 0xa0000014), *sw_b = pt_frame(&pool, 0xa0000015);
	const uint32_t ad_va = TEST_VA + 0x5000, inv_va = TEST_VA + 0x6000, sw_va = TEST_VA + 0x7000;
	const uint32_t inv2_va = TEST_VA + 0xc00000;
	void *ad_pte = pt_map(&pool, M, pd, ad_va, (uint32_t)ad_frame, PTE_P | PTE_W | PTE_U, 1);
	void *inv_pte = pt_map(&pool, M, pd, inv_va, (uint32_t)inv_a, PTE_P | PTE_W | PTE_U, 1);
	pt_map(&pool, M, pd, sw_va, (uint32_t)sw_a, PTE_P | PTE_W | PTE_U, 1);
	pt_map(&pool, M, pd, inv2_va, (uint32_t)inv_a, PTE_P | PTE_W | PTE_U, 1);

	/* 4 MiB pages, all onto physical 0-4 MiB (the image): user read/write, supervisor
	 * read-only, and one with a reserved bit. Accesses go to frames of their own. */
	uint32_t *big_rw = pt_frame(&pool, 0xb0000000), *big_ro = pt_frame(&pool, 0xb0000001);
	uint32_t *big_rsvd = pt_frame(&pool, 0xb0000002), *big_ad = pt_frame(&pool, 0xb0000003);
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
	pt_matrix_pages(pages, npages, false);
	pt_matrix("4m_u_rw", BIG_VA + (uint32_t)big_rw, 0xc1000000u, false, big_rw);
	pt_matrix("4m_s_ro", BIG_VA + 0x400000 + (uint32_t)big_ro, 0xc2000000u, false, big_ro);
	pt_matrix("4m_rsvd", BIG_VA + 0x800000 + (uint32_t)big_rsvd, 0xc3000000u, false, big_rsvd);
	pt_print_ad_pages(M, pages, npages);
	pt_print_ad(M, "4m_u_rw", big_rw_pde, true);
	pt_print_ad(M, "4m_s_ro", big_ro_pde, true);
	pt_print_ad(M, "4m_rsvd", big_rsvd_pde, true);
	hv_audit("matrix");

	/* A and D: cleared (and the TLB entry dropped), then a read, then a write; and a write
	 * with no read before it. The PDE's A bit too. */
	void *ad_pde = pde_of(pd, ad_va);
	for (int round = 0; round < 2; round++) {
		const char *tag = round ? "ad.write_first" : "ad.read_then_write";
		pt_ad_clear(M, tag, ad_pde, ad_pte, ad_va);
		if (!round) {
			pt_case("ad.read", PT_READ, ad_va, 0, false);
			pt_print_ad_pair(M, tag, "after read", ad_pde, ad_pte);
		}
		pt_case(round ? "ad.u_write" : "ad.k_write", PT_WRITE, ad_va,
			0xd0000000u + (uint32_t)round, round);
		pt_print_ad_pair(M, tag, "after write", ad_pde, ad_pte);
	}
	printf("mem ad: 0x%08x\n", ad_frame[0]);
	/* The same on a 4 MiB page: its PDE is the leaf. */
	pt_ad_large(M, "4m", big_rw_pde, BIG_VA + (uint32_t)big_ad, big_ad, true);
	hv_audit("ad");

	/* A PTE changed after use: INVLPG makes the new mapping visible. */
	pt_case("invlpg.before", PT_READ, inv_va, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_b | PTE_P | PTE_W | PTE_U);
	invlpg(inv_va);
	pt_case("invlpg.remapped", PT_READ, inv_va, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_b | PTE_P | PTE_U);
	invlpg(inv_va);
	write_cr0(read_cr0() | CR0_WP);
	pt_case("invlpg.made_ro.k_write_wp1", PT_WRITE, inv_va, 0xd2000000u, false);
	pt_case("invlpg.made_ro.u_read", PT_READ, inv_va, 0, true);
	pt_set(M, inv_pte, (uint32_t)inv_b | PTE_P | PTE_W);
	invlpg(inv_va);
	pt_case("invlpg.made_s.u_read", PT_READ, inv_va, 0, true);
	pt_set(M, inv_pte, 0);
	invlpg(inv_va);
	pt_case("invlpg.made_np.k_read", PT_READ, inv_va, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_c | PTE_P | PTE_W | PTE_U);
	pt_case("np_to_present.k_read", PT_READ, inv_va, 0, false);
	/* CR3 reload flushes too. */
	pt_set(M, inv_pte, (uint32_t)inv_a | PTE_P | PTE_W | PTE_U);
	write_cr3(read_cr3());
	pt_case("cr3_reload.remapped", PT_READ, inv_va, 0, false);
	/* A PDE changed after use: INVLPG of an address it maps drops the old walk. */
	pt_case("invlpg_pde.before", PT_READ, inv2_va, 0, false);
	uint32_t *pt_alt = pt_alloc(&pool);
	pt_alt[(inv2_va >> 12) & 0x3ff] = (uint32_t)inv_b | PTE_P | PTE_W | PTE_U;
	void *inv2_pde = pde_of(pd, inv2_va);
	pt_set(M, inv2_pde, (uint32_t)pt_alt | PTE_P | PTE_W | PTE_U);
	invlpg(inv2_va);
	pt_case("invlpg_pde.remapped", PT_READ, inv2_va, 0, false);
	/* A 4 KiB-mapped region replaced by a 4 MiB page. */
	pt_set(M, inv2_pde, PTE_P | PTE_W | PTE_U | PTE_PS);
	invlpg(inv2_va);
	pt_case("invlpg_pde.to_4m", PT_READ, (inv2_va & ~0x3fffffu) + (uint32_t)inv_c, 0, false);
	hv_audit("invlpg");

	/* Two address spaces: the same virtual address maps different frames. */
	uint32_t *pd2 = pt_alloc(&pool), *pt2 = pt_alloc(&pool);
	memcpy(pd2, pd, 4096);
	uint32_t *pt1 = (uint32_t *)(uint32_t)(pt_get(M, pde_of(pd, sw_va)) & ~0xfffu);
	memcpy(pt2, pt1, 4096);
	pt2[(sw_va >> 12) & 0x3ff] = (uint32_t)sw_b | PTE_P | PTE_W | PTE_U;
	pd2[sw_va >> 22] = (uint32_t)pt2 | PTE_P | PTE_W | PTE_U;
	pt_cr3_switch((uint32_t)pd, (uint32_t)pd2, sw_va, sw_a, sw_b);

	printf("RESULT done\n");
	return 0;
}
