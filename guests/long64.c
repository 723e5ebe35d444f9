/* long64.c - IA-32e mode and 4-level paging seen from a guest. From the 32-bit multiboot entry
 * it builds 4-level tables, sets EFER.LME (and NXE) and CR0.PG, far-jumps to 64-bit code to load
 * the 64-bit IDT and TR and comes back to compatibility mode, where this (-m32) C code keeps
 * running with 4-level paging. Below 4 GiB the checks run from compatibility mode at CPL0 and
 * CPL3: 4 KiB, 2 MiB and 1 GiB pages, the U/S x R/W x NX matrix with error codes, permissions
 * combined across levels, reserved bits, A/D bits (PML4E/PDPTE/PDE/PTE), INVLPG, MMIO through
 * paging (the test device's registers), two address spaces switched by CR3. Above 4 GiB
 * (1 GiB pages, other PML4 slots, non-canonical addresses) single accesses run from 64-bit
 * code (lm64_op in guests/lib/long.S).
 *
 * Prints observations, not verdicts (see paging32.c); tests/system/test_paging.py compares
 * them with bare Bochs. "HV " lines come only under the hypervisor, "BARE " lines only on bare
 * Bochs (the MMIO values, which differ by design). */
#include "guest.h"
#include "hv.h"
#include "idt.h"
#include "paging.h"
#include "pt.h"

#define M PT_MODE_4L
#define TEST_VA 0x40000000u
#define BIG_VA 0x20000000u   /* 2 MiB pages, in the identity map's PD */
#define GIG_S_VA 0x80000000u /* a supervisor 1 GiB page */
#define GIG_VA 0xc0000000u   /* a user 1 GiB page */
#define RSVD_BIT13 (1ull << 13) /* 2 MiB PDE / 1 GiB PDPTE: reserved (PAT is bit 12) */
#define GB (1ull << 30)

static uint8_t pool_pages[80][4096] __attribute__((aligned(4096)));
static struct pt_pool pool = PT_POOL(pool_pages);
static uint64_t *pml4;

static void *ent(uint64_t va, int level)
{
	return pt_entry(M, pml4, va, level);
}

static unsigned bit(void *e, int b)
{
	return (unsigned)(pt_get(M, e) >> b) & 1;
}

static void case64(const char *name, enum pt_access_kind k, uint64_t va, uint32_t wval)
{
	struct pt_probe p = pt_access64(k, va, wval);
	pt_print_case(name, &p);
}

static void invlpg64(uint64_t va)
{
	lm64_op(LM64_INVLPG, (uint32_t)va, (uint32_t)(va >> 32), 0);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	(void)mbi;
	bool hv = pt_guest_start("long64");
	struct pt_cpu cpu = pt_cpu_ext();
	printf("cpu lm=%u nx=%u pdpe1gb=%u maxphyaddr=%u\n", cpu.lm, cpu.nx, cpu.gbpages,
	       cpu.maxphys);
	if (!cpu.lm) {
		printf("RESULT done\n");
		return 0;
	}
	pt_pool_below(&pool, 2u << 20);

	const uint64_t URW = PTE_P | PTE_W | PTE_U;
	pml4 = pt_alloc(&pool);
	/* Identity: 0-2 MiB with 4 KiB pages (the image), 2-16 MiB with 2 MiB pages. */
	for (uint32_t a = 0; a < (2u << 20); a += 4096)
		pt_map(&pool, M, pml4, a, a, URW, 1);
	for (uint32_t a = 2u << 20; a < (16u << 20); a += 2u << 20)
		pt_map(&pool, M, pml4, a, a, URW, 2);

	struct pt_page pages[PT_MAX_PAGES];
	const int npages = pt_test_pages(&pool, M, pml4, TEST_VA, pages);

	uint32_t *ad_frame = pt_frame(&pool, 0xa0000010), *inv_a = pt_frame(&pool, 0xa0000011);
	uint32_t *inv_b = pt_frame(&pool, 0xa0000012);
	uint32_t *sw_a = pt_frame(&pool, 0xa0000014), *sw_b = pt_frame(&pool, 0xa0000015);
	const uint32_t ad_va = TEST_VA + 0xa000, inv_va = TEST_VA + 0xb000, sw_va = TEST_VA + 0xc000;
	const uint32_t mmio_va = TEST_VA + 0xd000;
	void *ad_pte = pt_map(&pool, M, pml4, ad_va, (uint32_t)ad_frame, URW, 1);
	void *inv_pte = pt_map(&pool, M, pml4, inv_va, (uint32_t)inv_a, URW, 1);
	pt_map(&pool, M, pml4, sw_va, (uint32_t)sw_a, URW, 1);
	pt_map(&pool, M, pml4, mmio_va, SLOTDEV_REGS_GPA, PTE_P | PTE_W | PTE_PCD | PTE_NX, 1);

	/* 2 MiB and 1 GiB pages onto physical 0 (the image), below 4 GiB. */
	uint32_t *big_rw = pt_frame(&pool, 0xb0000000), *big_ro_nx = pt_frame(&pool, 0xb0000001);
	uint32_t *big_rsvd = pt_frame(&pool, 0xb0000002), *big_s = pt_frame(&pool, 0xb0000004);
	uint32_t *gig_rw = pt_frame(&pool, 0xb1000000), *gig_ad = pt_frame(&pool, 0xb1000001);
	uint32_t *gig_s = pt_frame(&pool, 0xb1000002);
	void *big_rw_pde = pt_map(&pool, M, pml4, BIG_VA, 0, URW, 2);
	void *big_ro_nx_pde = pt_map(&pool, M, pml4, BIG_VA + 0x200000, 0, PTE_P | PTE_U | PTE_NX, 2);
	void *big_rsvd_pde = pt_map(&pool, M, pml4, BIG_VA + 0x400000, 0, URW | RSVD_BIT13, 2);
	void *big_s_pde = pt_map(&pool, M, pml4, BIG_VA + 0x600000, 0, PTE_P | PTE_W, 2);
	void *gig_pdpte = pt_map(&pool, M, pml4, GIG_VA, 0, URW, 3);
	void *gig_s_pdpte = pt_map(&pool, M, pml4, GIG_S_VA, 0, PTE_P | PTE_W, 3);

	/* Above 4 GiB (64-bit code only). */
	const uint64_t HI_1G_RW = 256 * GB, HI_1G_RO_NX = 257 * GB, HI_1G_RSVD = 258 * GB;
	const uint64_t PDPTE_RO = 5 * GB, HI_4K = 0x8000000000ull + 0x1000;
	const uint64_t HI_MMIO = 0x8000000000ull + 0x3000, TOP_NX = 0xffffff8000002000ull;
	const uint64_t PML4_NX = 0x18000000000ull, PML4_RSVD = 0x10000000000ull;
	uint32_t *hi4k = pt_frame(&pool, 0xe0000000), *top = pt_frame(&pool, 0xe0000001);
	uint32_t *pdro = pt_frame(&pool, 0xe0000002), *p4nx = pt_frame(&pool, 0xe0000003);
	uint32_t *p4rsvd = pt_frame(&pool, 0xe0000004), *hi1g = pt_frame(&pool, 0xe0000005);
	void *hi_1g_rw = pt_map(&pool, M, pml4, HI_1G_RW, 0, PTE_P | PTE_W, 3);
	pt_map(&pool, M, pml4, HI_1G_RO_NX, 0, PTE_P | PTE_NX, 3);
	pt_map(&pool, M, pml4, HI_1G_RSVD, 0, PTE_P | PTE_W | RSVD_BIT13, 3);
	pt_map(&pool, M, pml4, PDPTE_RO, (uint32_t)pdro, PTE_P | PTE_W, 1);
	void *e = ent(PDPTE_RO, 3);
	pt_set(M, e, pt_get(M, e) & ~PTE_W);
	void *hi4k_pte = pt_map(&pool, M, pml4, HI_4K, (uint32_t)hi4k, PTE_P | PTE_W, 1);
	pt_map(&pool, M, pml4, HI_MMIO, SLOTDEV_REGS_GPA, PTE_P | PTE_W | PTE_PCD, 1);
	pt_map(&pool, M, pml4, TOP_NX, (uint32_t)top, PTE_P | PTE_W | PTE_NX, 1);
	pt_map(&pool, M, pml4, PML4_NX, (uint32_t)p4nx, PTE_P | PTE_W, 1);
	e = ent(PML4_NX, 4);
	pt_set(M, e, pt_get(M, e) | PTE_NX);
	pt_map(&pool, M, pml4, PML4_RSVD, (uint32_t)p4rsvd, PTE_P | PTE_W, 1);
	e = ent(PML4_RSVD, 4);
	pt_set(M, e, pt_get(M, e) | PTE_PS); /* bit 7 is reserved in a PML4E */

	lm_idt_build();
	pt_gdt_init(true);
	lm_enter((uint32_t)pml4, cpu.nx ? EFER_NXE : 0);
	uint64_t efer = rdmsr(MSR_EFER);
	printf("long mode lma=%u lme=%u nxe=%u\n", (unsigned)(efer >> 10) & 1,
	       (unsigned)(efer >> 8) & 1, (unsigned)(efer >> 11) & 1);
	hv_audit("long_mode_on");

	/* Compatibility mode, below 4 GiB. */
	pt_matrix_pages(pages, npages, true);
	pt_matrix("2m_u_rw", BIG_VA + (uint32_t)big_rw, 0xc1000000u, true, big_rw);
	pt_matrix("2m_u_ro_nx", BIG_VA + 0x200000 + (uint32_t)big_ro_nx, 0xc2000000u, true, big_ro_nx);
	pt_matrix("2m_rsvd13", BIG_VA + 0x400000 + (uint32_t)big_rsvd, 0xc3000000u, true, big_rsvd);
	pt_matrix("2m_s_rw", BIG_VA + 0x600000 + (uint32_t)big_s, 0xc4000000u, true, big_s);
	pt_matrix("1g_u_rw", GIG_VA + (uint32_t)gig_rw, 0xc5000000u, true, gig_rw);
	pt_matrix("1g_s_rw", GIG_S_VA + (uint32_t)gig_s, 0xc6000000u, true, gig_s);
	pt_print_ad_pages(M, pages, npages);
	pt_print_ad(M, "2m_u_rw", big_rw_pde, true);
	pt_print_ad(M, "2m_u_ro_nx", big_ro_nx_pde, true);
	pt_print_ad(M, "2m_rsvd13", big_rsvd_pde, true);
	pt_print_ad(M, "2m_s_rw", big_s_pde, true);
	pt_print_ad(M, "1g_u_rw", gig_pdpte, true);
	pt_print_ad(M, "1g_s_rw", gig_s_pdpte, true);
	hv_audit("matrix");

	/* MMIO through paging: the test device's ID register (under the hypervisor only;
	 * unassigned on bare Bochs). */
	struct pt_probe p = pt_access(PT_READ, mmio_va, 0, false);
	if (p.vector < 0)
		printf("case mmio.k_read: ok\n");
	else
		pt_print_case("mmio.k_read", &p);
	printf("%s mmio id=0x%08x\n", hv ? "HV" : "BARE", p.val);
	pt_case("mmio.k_exec_nx", PT_EXEC, mmio_va, 0, false);
	pt_case("mmio.u_read", PT_READ, mmio_va, 0, true);
	hv_audit("mmio");

	/* 64-bit code. */
	case64("1g_high_s_rw.read", PT_READ, HI_1G_RW + (uint32_t)hi1g, 0);
	case64("1g_high_s_rw.write", PT_WRITE, HI_1G_RW + (uint32_t)hi1g, 0xf0000001);
	case64("1g_high_s_rw.exec", PT_EXEC, HI_1G_RW + (uint32_t)hi1g + 0x100, 0);
	case64("1g_high_s_rw.read_back", PT_READ, HI_1G_RW + (uint32_t)hi1g, 0);
	case64("1g_high_ro_nx.read", PT_READ, HI_1G_RO_NX + (uint32_t)hi1g, 0);
	case64("1g_high_ro_nx.write", PT_WRITE, HI_1G_RO_NX + (uint32_t)hi1g, 0xf0000002);
	case64("1g_high_ro_nx.exec", PT_EXEC, HI_1G_RO_NX + (uint32_t)hi1g + 0x100, 0);
	case64("1g_high_rsvd13.read", PT_READ, HI_1G_RSVD + (uint32_t)hi1g, 0);
	case64("1g_high_rsvd13.write", PT_WRITE, HI_1G_RSVD + (uint32_t)hi1g, 0xf0000003);
	case64("pdpte_ro.read", PT_READ, PDPTE_RO, 0);
	case64("pdpte_ro.write", PT_WRITE, PDPTE_RO, 0xf0000004);
	case64("hi_4k.read", PT_READ, HI_4K, 0);
	case64("hi_4k.write", PT_WRITE, HI_4K, 0xf0000005);
	case64("hi_4k.exec", PT_EXEC, HI_4K + 0x100, 0);
	case64("top_nx.read", PT_READ, TOP_NX, 0);
	case64("top_nx.write", PT_WRITE, TOP_NX, 0xf0000006);
	case64("top_nx.exec", PT_EXEC, TOP_NX + 0x100, 0);
	case64("pml4_nx.read", PT_READ, PML4_NX, 0);
	case64("pml4_nx.exec", PT_EXEC, PML4_NX + 0x100, 0);
	case64("pml4_rsvd.read", PT_READ, PML4_RSVD, 0);
	case64("hi_np.read", PT_READ, 0x7f0000000000ull, 0);
	case64("hi_np.write", PT_WRITE, 0x7f0000000000ull, 1);
	printf("mem hi1g: 0x%08x hi4k: 0x%08x top: 0x%08x pdro: 0x%08x p4nx: 0x%08x p4rsvd: 0x%08x\n",
	       hi1g[0], hi4k[0], top[0], pdro[0], p4nx[0], p4rsvd[0]);
	/* Non-canonical addresses: #GP(0), not #PF. */
	static const uint64_t noncanon[] = { 0x0000800000000000ull, 0xffff7ffffffff000ull };
	for (int i = 0; i < 2; i++) {
		pt_arm(VEC_GP, (uint32_t)lm64_resume);
		lm64_op(LM64_READ, (uint32_t)noncanon[i], (uint32_t)(noncanon[i] >> 32), 0);
		int v = pt_caught();
		printf("case noncanonical%d.read: %s ec=0x%x\n", i, v == VEC_GP ? "#GP" : v < 0 ? "ok" : "other",
		       v >= 0 ? pt_fault.ec : 0);
	}
	/* MMIO from 64-bit code, at an address above 4 GiB. */
	pt_arm(VEC_PF, (uint32_t)lm64_resume);
	uint32_t id64 = lm64_op(LM64_READ32, (uint32_t)HI_MMIO, (uint32_t)(HI_MMIO >> 32), 0);
	int v = pt_caught();
	printf("case mmio64.read32: %s\n", v < 0 ? "ok" : "fault");
	printf("%s mmio64 id=0x%08x\n", hv ? "HV" : "BARE", id64);
	pt_print_ad(M, "1g_high_s_rw", hi_1g_rw, true);
	pt_print_ad(M, "hi_4k", hi4k_pte, true);
	pt_print_ad(M, "hi_4k.pde", ent(HI_4K, 2), false);
	pt_print_ad(M, "hi_4k.pdpte", ent(HI_4K, 3), false);
	pt_print_ad(M, "hi_4k.pml4e", ent(HI_4K, 4), false);
	pt_print_ad(M, "top_nx.pml4e", ent(TOP_NX, 4), false);
	hv_audit("64bit");

	/* A and D at every level. */
	void *ad_pde = ent(ad_va, 2), *ad_pdpte = ent(ad_va, 3), *ad_pml4e = ent(ad_va, 4);
	for (int round = 0; round < 2; round++) {
		const char *tag = round ? "ad.write_first" : "ad.read_then_write";
		pt_set(M, ad_pte, pt_get(M, ad_pte) & ~(PTE_A | PTE_D));
		pt_set(M, ad_pde, pt_get(M, ad_pde) & ~PTE_A);
		pt_set(M, ad_pdpte, pt_get(M, ad_pdpte) & ~PTE_A);
		pt_set(M, ad_pml4e, pt_get(M, ad_pml4e) & ~PTE_A);
		write_cr3(read_cr3()); /* the PML4E and PDPTE cover the whole image: flush all */
		for (int step = 0; step < 3; step++) {
			if (step == 1 && !round) {
				pt_case("ad.u_read", PT_READ, ad_va, 0, true);
			} else if (step == 2) {
				pt_case("ad.k_write", PT_WRITE, ad_va, 0xd0000000u + (uint32_t)round,
					false);
			} else if (step == 1) {
				continue;
			}
			printf("%s %s: pml4e A=%u pdpte A=%u pde A=%u pte A=%u D=%u\n", tag,
			       step == 0 ? "cleared" : step == 1 ? "after read" : "after write",
			       bit(ad_pml4e, 5), bit(ad_pdpte, 5), bit(ad_pde, 5), bit(ad_pte, 5),
			       bit(ad_pte, 6));
		}
	}
	printf("mem ad: 0x%08x\n", ad_frame[0]);
	pt_ad_large(M, "1g", gig_pdpte, GIG_VA + (uint32_t)gig_ad, gig_ad, true);
	pt_set(M, hi_1g_rw, pt_get(M, hi_1g_rw) & ~(PTE_A | PTE_D));
	invlpg64(HI_1G_RW + (uint32_t)hi1g);
	case64("1g_high_ad.write", PT_WRITE, HI_1G_RW + (uint32_t)hi1g, 0xf0000007);
	pt_print_ad(M, "1g_high.after_write", hi_1g_rw, true);
	hv_audit("ad");

	/* INVLPG after PTE / PDPTE changes. */
	pt_case("invlpg.before", PT_READ, inv_va, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_b | URW);
	invlpg(inv_va);
	pt_case("invlpg.remapped", PT_READ, inv_va, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_b | URW | PTE_NX);
	invlpg(inv_va);
	pt_case("invlpg.made_nx.k_exec", PT_EXEC, inv_va + 0x100, 0, false);
	pt_set(M, inv_pte, (uint32_t)inv_b | PTE_P | PTE_W);
	invlpg(inv_va);
	pt_case("invlpg.made_s.u_read", PT_READ, inv_va, 0, true);
	pt_set(M, inv_pte, (uint32_t)inv_a | URW);
	invlpg(inv_va);
	pt_case("invlpg.restored.u_read", PT_READ, inv_va, 0, true);
	uint64_t old = pt_get(M, hi_1g_rw);
	pt_set(M, hi_1g_rw, 0);
	invlpg64(HI_1G_RW + (uint32_t)hi1g);
	case64("invlpg_1g.made_np.read", PT_READ, HI_1G_RW + (uint32_t)hi1g, 0);
	pt_set(M, hi_1g_rw, old & ~PTE_W);
	case64("invlpg_1g.np_to_ro.write", PT_WRITE, HI_1G_RW + (uint32_t)hi1g, 0xf0000008);
	pt_set(M, hi_1g_rw, old);
	invlpg64(HI_1G_RW + (uint32_t)hi1g);
	case64("invlpg_1g.restored.write", PT_WRITE, HI_1G_RW + (uint32_t)hi1g, 0xf0000009);
	printf("mem hi1g: 0x%08x\n", hi1g[0]);
	hv_audit("invlpg");

	/* Two address spaces: a second PML4 whose path to sw_va (PDPT, PD, PT) is a copy that
	 * maps another frame. */
	uint64_t *pml4b = pt_alloc(&pool), *pdptb = pt_alloc(&pool), *pdb = pt_alloc(&pool);
	uint64_t *ptb = pt_alloc(&pool);
	memcpy(pml4b, pml4, 4096);
	memcpy(pdptb, (void *)(uint32_t)(pt_get(M, ent(sw_va, 4)) & 0xffffff000ull), 4096);
	memcpy(pdb, (void *)(uint32_t)(pt_get(M, ent(sw_va, 3)) & 0xffffff000ull), 4096);
	memcpy(ptb, (void *)(uint32_t)(pt_get(M, ent(sw_va, 2)) & 0xffffff000ull), 4096);
	ptb[(sw_va >> 12) & 0x1ff] = (uint32_t)sw_b | URW;
	pdb[(sw_va >> 21) & 0x1ff] = (uint32_t)ptb | URW;
	pdptb[(sw_va >> 30) & 0x1ff] = (uint32_t)pdb | URW;
	pml4b[0] = (uint32_t)pdptb | URW;
	pt_cr3_switch((uint32_t)pml4, (uint32_t)pml4b, sw_va, sw_a, sw_b);

	printf("RESULT done\n");
	return 0;
}
