/* pae.c - PAE paging with EFER.NXE seen from a guest: 4 KiB and 2 MiB pages, the
 * user/supervisor x read/write x execute matrix from CPL0 (CR0.WP=0 and 1) and CPL3,
 * permissions combined across PDE and PTE (W, U, NX), a not-present page, reserved bits
 * (bit 51 of a PTE, bit 13 of a 2 MiB PDE, the NX bit while EFER.NXE=0, a reserved PDPTE bit at
 * CR3 load), A/D bits, INVLPG after a PTE change, the PDPTEs cached at CR3 load, and two
 * address spaces switched by CR3 writes.
 *
 * Prints observations, not verdicts (see paging32.c); tests/system/test_paging.py compares
 * them with bare Bochs. "HV " lines come only under the hypervisor. */
#include "guest.h"
#include "idt.h"
#include "paging.h"
#include "pt.h"

#define M PT_MODE_PAE
#define IDMAP_END (16u << 20)
#define TEST_VA 0x40000000u
#define BIG_VA 0x80000000u
#define PDE2M_RSVD_BIT13 (1ull << 13) /* 2 MiB PDE: bits 20:13 reserved */

static uint8_t pool_pages[64][4096] __attribute__((aligned(4096)));
static struct pt_pool pool = PT_POOL(pool_pages);
static uint64_t *pdpt;

/* MOV to CR3 that may raise #GP (reserved PDPTE bits): resumes at pae_load_cr3_resume. */
extern void pae_load_cr3(uint32_t v);
extern char pae_load_cr3_resume[];
__asm__(".text\n"
	".global pae_load_cr3, pae_load_cr3_resume\n"
	"pae_load_cr3:\n\t"
	"movl 4(%esp), %eax\n\t"
	"movl %eax, %cr3\n"
	"pae_load_cr3_resume:\n\t"
	"ret\n");

static void *entry(void *root, uint32_t va, int level)
{
	return pt_entry(M, root, va, level);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	(void)mbi;
	pt_guest_start("pae");
	pt_gdt_init(false);
	uint32_t r[4];
	cpuid(1, 0, r);
	uint32_t pae = (r[3] >> 6) & 1;
	struct pt_cpu cpu = pt_cpu_ext();
	printf("cpu pae=%u nx=%u maxphyaddr=%u\n", pae, cpu.nx, cpu.maxphys);
	if (!pae) {
		printf("RESULT done\n");
		return 0;
	}
	pt_pool_below(&pool, 2u << 20);

	pdpt = pt_alloc(&pool);
	for (uint32_t a = 0; a < IDMAP_END; a += 4096)
		pt_map(&pool, M, pdpt, a, a, PTE_P | PTE_W | PTE_U, 1);

	const uint64_t URW = PTE_P | PTE_W | PTE_U;
	struct pt_page pages[PT_MAX_PAGES];
	const int npages = pt_test_pages(&pool, M, pdpt, TEST_VA, pages);

	/* The NX bit while EFER.NXE=0 is a reserved bit. */
	uint32_t *nx0_frame = pt_frame(&pool, 0xa0000020);
	const uint32_t nx0_va = TEST_VA + 0x9000;
	pt_map(&pool, M, pdpt, nx0_va, (uint32_t)nx0_frame, URW | PTE_NX, 1);

	uint32_t *ad_frame = pt_frame(&pool, 0xa0000010), *inv_a = pt_frame(&pool, 0xa0000011);
	uint32_t *inv_b = pt_frame(&pool, 0xa0000012);
	uint32_t *sw_a = pt_frame(&pool, 0xa0000014), *sw_b = pt_frame(&pool, 0xa0000015);
	const uint32_t ad_va = TEST_VA + 0xa000, inv_va = TEST_VA + 0xb000, sw_va = TEST_VA + 0xc000;
	void *ad_pte = pt_map(&pool, M, pdpt, ad_va, (uint32_t)ad_frame, URW, 1);
	void *inv_pte = pt_map(&pool, M, pdpt, inv_va, (uint32_t)inv_a, URW, 1);
	pt_map(&pool, M, pdpt, sw_va, (uint32_t)sw_a, URW, 1);

	/* 2 MiB pages onto physical 0-2 MiB (the image). */
	uint32_t *big_rw = pt_frame(&pool, 0xb0000000), *big_ro_nx = pt_frame(&pool, 0xb0000001);
	uint32_t *big_rsvd = pt_frame(&pool, 0xb0000002), *big_ad = pt_frame(&pool, 0xb0000003);
	uint32_t *big_x = pt_frame(&pool, 0xb0000004);
	void *big_rw_pde = pt_map(&pool, M, pdpt, BIG_VA, 0, URW, 2);
	void *big_ro_nx_pde = pt_map(&pool, M, pdpt, BIG_VA + 0x200000, 0, PTE_P | PTE_U | PTE_NX, 2);
	void *big_rsvd_pde = pt_map(&pool, M, pdpt, BIG_VA + 0x400000, 0, URW | PDE2M_RSVD_BIT13, 2);
	void *big_s_pde = pt_map(&pool, M, pdpt, BIG_VA + 0x600000, 0, PTE_P | PTE_W, 2);

	write_cr4(read_cr4() | CR4_PAE);
	write_cr3((uint32_t)pdpt);
	write_cr0(read_cr0() | CR0_PG);
	printf("paging on\n");
	hv_audit("paging_on");

	/* EFER.NXE=0: bit 63 is reserved; an instruction fetch does not set the I bit. */
	pt_case("nx_without_nxe.k_read", PT_READ, nx0_va, 0, false);
	pt_case("nx_without_nxe.k_exec", PT_EXEC, nx0_va + 0x100, 0, false);
	pt_case("u_rw_without_nxe.k_exec", PT_EXEC, pages[3].va + 0x100, 0, false);
	pt_case("np_without_nxe.k_exec", PT_EXEC, pages[4].va + 0x100, 0, false);
	hv_audit("nxe_off");

	if (cpu.nx) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		write_cr3(read_cr3());
		printf("nxe on\n");
	}
	pt_case("nx_with_nxe.k_read", PT_READ, nx0_va, 0, false);

	pt_matrix_pages(pages, npages, true);
	pt_matrix("2m_u_rw", BIG_VA + (uint32_t)big_rw, 0xc1000000u, true, big_rw);
	pt_matrix("2m_u_ro_nx", BIG_VA + 0x200000 + (uint32_t)big_ro_nx, 0xc2000000u, true, big_ro_nx);
	pt_matrix("2m_rsvd13", BIG_VA + 0x400000 + (uint32_t)big_rsvd, 0xc3000000u, true, big_rsvd);
	pt_matrix("2m_s_rw", BIG_VA + 0x600000 + (uint32_t)big_x, 0xc4000000u, true, big_x);
	pt_print_ad_pages(M, pages, npages);
	pt_print_ad(M, "2m_u_rw", big_rw_pde, true);
	pt_print_ad(M, "2m_u_ro_nx", big_ro_nx_pde, true);
	pt_print_ad(M, "2m_rsvd13", big_rsvd_pde, true);
	pt_print_ad(M, "2m_s_rw", big_s_pde, true);
	hv_audit("matrix");

	/* A and D. */
	void *ad_pde = entry(pdpt, ad_va, 2);
	for (int round = 0; round < 2; round++) {
		const char *tag = round ? "ad.write_first" : "ad.read_then_write";
		pt_ad_clear(M, tag, ad_pde, ad_pte, ad_va);
		if (!round) {
			pt_case("ad.k_exec", PT_EXEC, ad_va + 0x100, 0, false);
			pt_print_ad_pair(M, tag, "after exec", ad_pde, ad_pte);
			pt_case("ad.u_read", PT_READ, ad_va, 0, true);
			pt_print_ad_pair(M, tag, "after read", ad_pde, ad_pte);
		}
		pt_case(round ? "ad.k_write_first" : "ad.k_write", PT_WRITE, ad_va,
			0xd0000000u + (uint32_t)round, false);
		pt_print_ad_pair(M, tag, "after write", ad_pde, ad_pte);
	}
	printf("mem ad: 0x%08x\n", ad_frame[0]);
	pt_ad_large(M, "2m", big_rw_pde, BIG_VA + (uint32_t)big_ad, big_ad, false);
	hv_audit("ad");

	/* INVLPG after PTE changes: frame, then NX, then not present. */
	pt_case("invlpg.before", PT_READ, inv_va, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_b | URW);
	invlpg(inv_va);
	pt_case("invlpg.remapped", PT_READ, inv_va, 0, false);
	pt_case("invlpg.remapped.k_exec", PT_EXEC, inv_va + 0x100, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_b | URW | PTE_NX);
	invlpg(inv_va);
	pt_case("invlpg.made_nx.k_exec", PT_EXEC, inv_va + 0x100, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_b | URW | PTE_BIT51);
	invlpg(inv_va);
	pt_case("invlpg.made_rsvd.k_read", PT_READ, inv_va, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_a | URW);
	invlpg(inv_va);
	pt_case("invlpg.restored", PT_READ, inv_va, 0, false);
	hv_audit("invlpg");

	/* The PDPTEs are loaded at CR3 load: a changed PDPTE is used only after the next one. */
	uint64_t *pd_alt = pt_alloc(&pool), *pt_alt = pt_alloc(&pool);
	uint64_t *pd_t = (uint64_t *)(uint32_t)(pdpt[TEST_VA >> 30] & ~0xfffull);
	memcpy(pd_alt, pd_t, 4096);
	uint64_t *pt_t = (uint64_t *)(uint32_t)(pd_t[(sw_va >> 21) & 0x1ff] & 0x000ffffffffff000ull);
	memcpy(pt_alt, pt_t, 4096);
	pt_alt[(sw_va >> 12) & 0x1ff] = (uint32_t)sw_b | URW;
	pd_alt[(sw_va >> 21) & 0x1ff] = (uint32_t)pt_alt | URW;
	uint64_t pdpte_old = pdpt[TEST_VA >> 30];
	pt_case("pdpte.before", PT_READ, sw_va, 0, false);
	pt_set(M, &pdpt[TEST_VA >> 30], (uint32_t)pd_alt | PTE_P);
	invlpg(sw_va);
	pt_case("pdpte.changed_invlpg", PT_READ, sw_va, 0, false);
	write_cr3((uint32_t)pdpt);
	pt_case("pdpte.changed_cr3_reload", PT_READ, sw_va, 0, false);
	pt_set(M, &pdpt[TEST_VA >> 30], pdpte_old);
	write_cr3((uint32_t)pdpt);
	pt_case("pdpte.restored", PT_READ, sw_va, 0, false);
	/* A reserved bit in a present PDPTE: MOV to CR3 raises #GP(0), CR3 keeps its value. */
	uint64_t *pdpt_bad = pt_alloc(&pool), *pd_empty = pt_alloc(&pool);
	memcpy(pdpt_bad, pdpt, 32);
	pdpt_bad[3] = (uint32_t)pd_empty | PTE_P | PTE_W;
	pt_arm(VEC_GP, (uint32_t)pae_load_cr3_resume);
	pae_load_cr3((uint32_t)pdpt_bad);
	int v = pt_caught();
	printf("case pdpte_rsvd.cr3_load: %s ec=0x%x cr3_kept=%u\n", v == VEC_GP ? "#GP" : "none",
	       v >= 0 ? pt_fault.ec : 0, read_cr3() == (uint32_t)pdpt);
	write_cr3((uint32_t)pdpt);
	hv_audit("pdpte");

	/* Two address spaces (two PDPTs, the second with its own PD for TEST_VA). */
	uint64_t *pdpt2 = pt_alloc(&pool);
	memcpy(pdpt2, pdpt, 32);
	pdpt2[TEST_VA >> 30] = (uint32_t)pd_alt | PTE_P;
	pt_cr3_switch((uint32_t)pdpt, (uint32_t)pdpt2, sw_va, sw_a, sw_b);

	printf("RESULT done\n");
	return 0;
}
