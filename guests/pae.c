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
#include "hv.h"
#include "idt.h"
#include "pt.h"

#define M PT_MODE_PAE
#define IDMAP_END (16u << 20)
#define TEST_VA 0x40000000u
#define BIG_VA 0x80000000u
#define PDE2M_RSVD_BIT13 (1ull << 13) /* 2 MiB PDE: bits 20:13 reserved */
#define SWITCH_ROUNDS 50

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

static void *entry(void *root, uint32_t va, int level)
{
	return pt_entry(M, root, va, level);
}

static void print_ad3(const char *tag, const char *when, void *pde, void *pte)
{
	printf("%s %s: pde A=%u pte A=%u D=%u\n", tag, when, (unsigned)(pt_get(M, pde) >> 5) & 1,
	       (unsigned)(pt_get(M, pte) >> 5) & 1, (unsigned)(pt_get(M, pte) >> 6) & 1);
}

struct page {
	const char *name;
	uint32_t va;
	uint64_t flags;
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
	printf("TEST pae\n");
	bool hv = hv_present();
	if (hv)
		printf("HV hypervisor detected\n");
	uint32_t r[4];
	cpuid(1, 0, r);
	uint32_t pae = (r[3] >> 6) & 1;
	cpuid(0x80000000, 0, r);
	uint32_t maxext = r[0], nx = 0, maxphys = 36;
	if (maxext >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		nx = (r[3] >> 20) & 1;
	}
	if (maxext >= 0x80000008) {
		cpuid(0x80000008, 0, r);
		maxphys = r[0] & 0xff;
	}
	printf("cpu pae=%u nx=%u maxphyaddr=%u\n", pae, nx, maxphys);
	if (!pae) {
		printf("RESULT done\n");
		return 0;
	}
	if ((uint32_t)(pool_pages + 64) > (2u << 20)) {
		printf("ERROR the image ends above 2 MiB\n");
		guest_exit(0x7d);
	}

	pdpt = pt_alloc(&pool);
	for (uint32_t a = 0; a < IDMAP_END; a += 4096)
		pt_map(&pool, M, pdpt, a, a, PTE_P | PTE_W | PTE_U, 1);

	const uint64_t URW = PTE_P | PTE_W | PTE_U;
	struct page pages[] = {
		{ "s_ro", TEST_VA + 0x0000, PTE_P, 0, 0 },
		{ "s_rw", TEST_VA + 0x1000, PTE_P | PTE_W, 0, 0 },
		{ "u_ro", TEST_VA + 0x2000, PTE_P | PTE_U, 0, 0 },
		{ "u_rw", TEST_VA + 0x3000, URW, 0, 0 },
		{ "np", TEST_VA + 0x4000, PTE_W | PTE_U | PTE_NX, 0, 0 },
		{ "s_rw_nx", TEST_VA + 0x5000, PTE_P | PTE_W | PTE_NX, 0, 0 },
		{ "u_ro_nx", TEST_VA + 0x6000, PTE_P | PTE_U | PTE_NX, 0, 0 },
		{ "u_rw_nx", TEST_VA + 0x7000, URW | PTE_NX, 0, 0 },
		{ "rsvd51", TEST_VA + 0x8000, URW | PTE_BIT51, 0, 0 },
		{ "pde_ro", TEST_VA + 0x200000, URW, 0, 0 },
		{ "pde_s", TEST_VA + 0x400000, URW, 0, 0 },
		{ "pde_nx", TEST_VA + 0x600000, URW, 0, 0 },
	};
	const int npages = sizeof(pages) / sizeof(pages[0]);
	for (int i = 0; i < npages; i++) {
		pages[i].frame = frame(0xa0000000u + (uint32_t)i);
		pages[i].leaf = pt_map(&pool, M, pdpt, pages[i].va, (uint32_t)pages[i].frame,
				       pages[i].flags, 1);
	}
	void *e = entry(pdpt, TEST_VA + 0x200000, 2);
	pt_set(M, e, pt_get(M, e) & ~PTE_W);
	e = entry(pdpt, TEST_VA + 0x400000, 2);
	pt_set(M, e, pt_get(M, e) & ~PTE_U);
	e = entry(pdpt, TEST_VA + 0x600000, 2);
	pt_set(M, e, pt_get(M, e) | PTE_NX);

	/* The NX bit while EFER.NXE=0 is a reserved bit. */
	uint32_t *nx0_frame = frame(0xa0000020);
	const uint32_t nx0_va = TEST_VA + 0x9000;
	pt_map(&pool, M, pdpt, nx0_va, (uint32_t)nx0_frame, URW | PTE_NX, 1);

	uint32_t *ad_frame = frame(0xa0000010), *inv_a = frame(0xa0000011), *inv_b = frame(0xa0000012);
	uint32_t *sw_a = frame(0xa0000014), *sw_b = frame(0xa0000015);
	const uint32_t ad_va = TEST_VA + 0xa000, inv_va = TEST_VA + 0xb000, sw_va = TEST_VA + 0xc000;
	void *ad_pte = pt_map(&pool, M, pdpt, ad_va, (uint32_t)ad_frame, URW, 1);
	void *inv_pte = pt_map(&pool, M, pdpt, inv_va, (uint32_t)inv_a, URW, 1);
	pt_map(&pool, M, pdpt, sw_va, (uint32_t)sw_a, URW, 1);

	/* 2 MiB pages onto physical 0-2 MiB (the image). */
	uint32_t *big_rw = frame(0xb0000000), *big_ro_nx = frame(0xb0000001);
	uint32_t *big_rsvd = frame(0xb0000002), *big_ad = frame(0xb0000003), *big_x = frame(0xb0000004);
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
	struct pt_probe p;
	p = pt_access(PT_READ, nx0_va, 0, false);
	pt_print_case("nx_without_nxe.k_read", &p);
	p = pt_access(PT_EXEC, nx0_va + 0x100, 0, false);
	pt_print_case("nx_without_nxe.k_exec", &p);
	p = pt_access(PT_EXEC, pages[3].va + 0x100, 0, false);
	pt_print_case("u_rw_without_nxe.k_exec", &p);
	p = pt_access(PT_EXEC, pages[4].va + 0x100, 0, false);
	pt_print_case("np_without_nxe.k_exec", &p);
	hv_audit("nxe_off");

	if (nx) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		write_cr3(read_cr3());
		printf("nxe on\n");
	}
	p = pt_access(PT_READ, nx0_va, 0, false);
	pt_print_case("nx_with_nxe.k_read", &p);

	for (int i = 0; i < npages; i++)
		pt_matrix(pages[i].name, pages[i].va, 0xc0000000u + ((uint32_t)i << 4), true,
			  pages[i].frame);
	pt_matrix("2m_u_rw", BIG_VA + (uint32_t)big_rw, 0xc1000000u, true, big_rw);
	pt_matrix("2m_u_ro_nx", BIG_VA + 0x200000 + (uint32_t)big_ro_nx, 0xc2000000u, true, big_ro_nx);
	pt_matrix("2m_rsvd13", BIG_VA + 0x400000 + (uint32_t)big_rsvd, 0xc3000000u, true, big_rsvd);
	pt_matrix("2m_s_rw", BIG_VA + 0x600000 + (uint32_t)big_x, 0xc4000000u, true, big_x);
	for (int i = 0; i < npages; i++)
		pt_print_ad(M, pages[i].name, pages[i].leaf, true);
	pt_print_ad(M, "2m_u_rw", big_rw_pde, true);
	pt_print_ad(M, "2m_u_ro_nx", big_ro_nx_pde, true);
	pt_print_ad(M, "2m_rsvd13", big_rsvd_pde, true);
	pt_print_ad(M, "2m_s_rw", big_s_pde, true);
	hv_audit("matrix");

	/* A and D. */
	void *ad_pde = entry(pdpt, ad_va, 2);
	for (int round = 0; round < 2; round++) {
		const char *tag = round ? "ad.write_first" : "ad.read_then_write";
		pt_set(M, ad_pte, pt_get(M, ad_pte) & ~(PTE_A | PTE_D));
		pt_set(M, ad_pde, pt_get(M, ad_pde) & ~PTE_A);
		invlpg(ad_va);
		print_ad3(tag, "cleared", ad_pde, ad_pte);
		if (!round) {
			p = pt_access(PT_EXEC, ad_va + 0x100, 0, false);
			pt_print_case("ad.k_exec", &p);
			print_ad3(tag, "after exec", ad_pde, ad_pte);
			p = pt_access(PT_READ, ad_va, 0, true);
			pt_print_case("ad.u_read", &p);
			print_ad3(tag, "after read", ad_pde, ad_pte);
		}
		p = pt_access(PT_WRITE, ad_va, 0xd0000000u + (uint32_t)round, false);
		pt_print_case(round ? "ad.k_write_first" : "ad.k_write", &p);
		print_ad3(tag, "after write", ad_pde, ad_pte);
	}
	printf("mem ad: 0x%08x\n", ad_frame[0]);
	pt_set(M, big_rw_pde, pt_get(M, big_rw_pde) & ~(PTE_A | PTE_D));
	uint32_t big_ad_va = BIG_VA + (uint32_t)big_ad;
	invlpg(big_ad_va);
	pt_print_ad(M, "2m.cleared", big_rw_pde, true);
	p = pt_access(PT_READ, big_ad_va, 0, false);
	pt_print_case("2m_ad.k_read", &p);
	pt_print_ad(M, "2m.after_read", big_rw_pde, true);
	p = pt_access(PT_WRITE, big_ad_va, 0xd1000000u, true);
	pt_print_case("2m_ad.u_write", &p);
	pt_print_ad(M, "2m.after_write", big_rw_pde, true);
	printf("mem 2m_ad: 0x%08x\n", big_ad[0]);
	hv_audit("ad");

	/* INVLPG after PTE changes: frame, then NX, then not present. */
	p = pt_access(PT_READ, inv_va, 0, false);
	pt_print_case("invlpg.before", &p);
	pt_set(M, inv_pte, (uint32_t)inv_b | URW);
	invlpg(inv_va);
	p = pt_access(PT_READ, inv_va, 0, false);
	pt_print_case("invlpg.remapped", &p);
	p = pt_access(PT_EXEC, inv_va + 0x100, 0, false);
	pt_print_case("invlpg.remapped.k_exec", &p);
	pt_set(M, inv_pte, (uint32_t)inv_b | URW | PTE_NX);
	invlpg(inv_va);
	p = pt_access(PT_EXEC, inv_va + 0x100, 0, false);
	pt_print_case("invlpg.made_nx.k_exec", &p);
	pt_set(M, inv_pte, (uint32_t)inv_b | URW | PTE_BIT51);
	invlpg(inv_va);
	p = pt_access(PT_READ, inv_va, 0, false);
	pt_print_case("invlpg.made_rsvd.k_read", &p);
	pt_set(M, inv_pte, (uint32_t)inv_a | URW);
	invlpg(inv_va);
	p = pt_access(PT_READ, inv_va, 0, false);
	pt_print_case("invlpg.restored", &p);
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
	p = pt_access(PT_READ, sw_va, 0, false);
	pt_print_case("pdpte.before", &p);
	pt_set(M, &pdpt[TEST_VA >> 30], (uint32_t)pd_alt | PTE_P);
	invlpg(sw_va);
	p = pt_access(PT_READ, sw_va, 0, false);
	pt_print_case("pdpte.changed_invlpg", &p);
	write_cr3((uint32_t)pdpt);
	p = pt_access(PT_READ, sw_va, 0, false);
	pt_print_case("pdpte.changed_cr3_reload", &p);
	pt_set(M, &pdpt[TEST_VA >> 30], pdpte_old);
	write_cr3((uint32_t)pdpt);
	p = pt_access(PT_READ, sw_va, 0, false);
	pt_print_case("pdpte.restored", &p);
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
	uint32_t reused0 = hv_stat_or0(STAT_SP_REUSED), created0 = hv_stat_or0(STAT_SP_CREATED);
	uint32_t faults0 = hv_stat_or0(STAT_SHADOW_FAULTS);
	unsigned a_in1 = 0, other1 = 0, b_in2 = 0, other2 = 0, switches = 0;
	for (int i = 0; i < SWITCH_ROUNDS; i++) {
		write_cr3((uint32_t)pdpt2);
		switches++;
		uint32_t x = rd(sw_va);
		b_in2 += x == sw_b[0];
		other2 += x != sw_b[0];
		write_cr3((uint32_t)pdpt);
		switches++;
		x = rd(sw_va);
		a_in1 += x == sw_a[0];
		other1 += x != sw_a[0];
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
