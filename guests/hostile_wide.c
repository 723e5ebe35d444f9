/* hostile_wide.c - hostile page tables in PAE and 4-level paging (issue 7; guests/hostile.c does
 * 32-bit paging). Prints observations, not verdicts: tests/system/test_hostile.py compares
 * them line by line with the same guest on bare Bochs, and checks the audit lines ("HV audit
 * PHASE bad=N", printed only under the hypervisor) after every phase.
 *
 * PAE: leaves pointing above 4 GiB up to MAXPHYADDR - 1 (4 KiB and 2 MiB pages; unassigned:
 * all ones, writes dropped) and at addresses with bits at/above MAXPHYADDR, bit 62 and bit 63
 * (reserved: #PF with RSVD); PDPTEs with reserved bits (MOV CR3: #GP); the PDPTE registers
 * (PDPTEs are loaded from memory only by MOV CR3 and by MOV CR0/CR4 changing a paging bit);
 * the guest-physical range where the hypervisor lives in host memory, through 4 KiB PTEs,
 * searched for its strings; a loop in the tables (PDPT[3] points at the PDPT itself, PD0[511]
 * at PD0) read and written through, with CR0.WP=0 and 1, MOV and LOCK CMPXCHG8B; the code page
 * running now remapped by a write through the table's own mapping.
 *
 * 4-level (IA-32e mode, NXE): the same above-MAXPHYADDR and reserved-bit leaves at every level
 * (4 KiB, 2 MiB, 1 GiB pages, a PML4E), ignored bits 52-62; recursive tables (PML4[511] ->
 * PML4, a PDPTE -> PML4, a PDE -> PDPT, a PDE -> its own PD) read and written through, the
 * dirty bit the CPU sets in PML4[511] when it serves as a PTE; the hypervisor's host range
 * again through 2 MiB pages; two 2 MiB pages onto the same frames (dirty and clean, writable
 * and read-only): D and write protection must hold for each.
 *
 * Lines that only a run under the hypervisor prints start with "HV "; the rest must be
 * identical on bare Bochs. */
#include "guest.h"
#include "hv.h"
#include "idt.h"
#include "pt.h"

#define PWU (PTE_P | PTE_W | PTE_U)
#define PW (PTE_P | PTE_W)
#define AD (PTE_A | PTE_D)
#define GB (1ull << 30)
#define MB2 (2ull << 20)

static uint8_t pages[48][4096] __attribute__((aligned(4096)));
static struct pt_pool pool = PT_POOL(pages);
static bool hv;
static uint32_t maxphy = 36;

static uint64_t bitn(int n) { return 1ull << n; }
static uint32_t lo(uint64_t v) { return (uint32_t)v; }

static const char *nm(const char *a, const char *b)
{
	static char buf[96];
	size_t n = strlen(a), m = strlen(b);
	if (n + m + 2 > sizeof(buf))
		return a;
	memcpy(buf, a, n);
	buf[n] = '.';
	memcpy(buf + n + 1, b, m + 1);
	return buf;
}

static void show(const char *name, struct pt_probe p)
{
	pt_print_case(name, &p);
}

/* Read, write, read again (compatibility mode or 32-bit code, CPL0). */
static void rwr(const char *name, uint32_t va)
{
	show(nm(name, "read"), pt_access(PT_READ, va, 0, false));
	show(nm(name, "write"), pt_access(PT_WRITE, va, 0x12345678, false));
	show(nm(name, "reread"), pt_access(PT_READ, va, 0, false));
}

/* The same from 64-bit code (any address). */
static void rwr64(const char *name, uint64_t va)
{
	show(nm(name, "read"), pt_access64(PT_READ, va, 0));
	show(nm(name, "write"), pt_access64(PT_WRITE, va, 0x12345678));
	show(nm(name, "reread"), pt_access64(PT_READ, va, 0));
}

/* ---- asm probes with resume labels (the fault handlers continue there) ---- */
__asm__(".text\n"
	".global t_movcr3, t_movcr3_resume\n"
	"t_movcr3: movl 4(%esp), %eax\n movl %eax, %cr3\nt_movcr3_resume: ret\n"
	".global t_movcr0, t_movcr0_resume\n"
	"t_movcr0: movl 4(%esp), %eax\n movl %eax, %cr0\nt_movcr0_resume: ret\n"
	".global t_movcr4, t_movcr4_resume\n"
	"t_movcr4: movl 4(%esp), %eax\n movl %eax, %cr4\nt_movcr4_resume: ret\n"
	/* LOCK CMPXCHG8B on cx8_ptr: cx8_zf = ZF, or stays 2 after a fault */
	".global t_cx8, t_cx8_resume\n"
	"t_cx8: pushl %ebx\n pushl %esi\n movl cx8_ptr, %esi\n movl cx8_old, %eax\n"
	" movl cx8_old + 4, %edx\n movl cx8_new, %ebx\n movl cx8_new + 4, %ecx\n"
	" movl $2, cx8_zf\n lock cmpxchg8b (%esi)\n setz %al\n movzbl %al, %eax\n"
	" movl %eax, cx8_zf\n"
	"t_cx8_resume: popl %esi\n popl %ebx\n ret\n"
	/* A page of code that remaps itself (see code_swap()) */
	".pushsection .text.swap, \"ax\"\n.balign 4096\n"
	".global swap_page, swap_fn, swap_get, swap_imm1, swap_imm2\n"
	"swap_page:\nswap_fn: movl swap_pte_va, %ecx\n movl swap_pte_new, %eax\n"
	" movl %eax, (%ecx)\n movl $swap_page, %eax\n invlpg (%eax)\n"
	"swap_imm1: movl $1, %eax\n ret\n"
	"swap_get:\nswap_imm2: movl $1, %eax\n ret\n"
	".balign 4096\n.popsection\n");

extern void t_movcr3(uint32_t), t_movcr0(uint32_t), t_movcr4(uint32_t), t_cx8(void);
extern char t_movcr3_resume[], t_movcr0_resume[], t_movcr4_resume[], t_cx8_resume[];
extern uint32_t swap_fn(void), swap_get(void);
extern char swap_page[], swap_imm1[], swap_imm2[];
volatile uint32_t cx8_ptr, cx8_zf, swap_pte_va, swap_pte_new;
volatile uint64_t cx8_old, cx8_new;

/* A MOV to a control register that may #GP: "ok" or "#GP ec=..". */
static void cr_write(const char *name, void (*fn)(uint32_t), char *resume, uint32_t v)
{
	pt_arm(VEC_GP, (uint32_t)resume);
	fn(v);
	int vec = pt_caught();
	if (vec < 0)
		printf("case %s: ok\n", name);
	else
		printf("case %s: #GP ec=0x%x\n", name, pt_fault.ec);
}

static void on_ud(struct idt_frame *f)
{
	if (pt_fault.expect != VEC_UD) {
		printf("UNEXPECTED EXCEPTION 6 eip=0x%x\n", f->eip);
		guest_exit(IDT_UNEXPECTED_EXIT);
	}
	pt_fault.expect = -1;
	pt_fault.vector = VEC_UD;
	pt_fault.ec = 0;
	pt_fault.ip = f->eip;
	pt_fault.count++;
	f->eip = pt_fault.fixup;
}

/* LOCK CMPXCHG8B at va (old -> new): "ok zf=N" or "#UD" / "#PF ec=..". */
static void cx8(const char *name, uint32_t va, uint64_t old, uint64_t new)
{
	cx8_ptr = va;
	cx8_old = old;
	cx8_new = new;
	pt_arm(VEC_UD, (uint32_t)t_cx8_resume);
	t_cx8();
	int v = pt_caught();
	if (v < 0)
		printf("case %s: ok zf=%u\n", name, cx8_zf);
	else if (v == VEC_UD)
		printf("case %s: #UD\n", name);
	else
		printf("case %s: vector %d\n", name, v);
}

/* ---- the hypervisor's host range ---- */

static volatile uint32_t needle_key = 0xa5c3e1f7u;
static volatile uint32_t needle_hv = 0x2076685bu ^ 0xa5c3e1f7u;   /* "[hv " */
static volatile uint32_t needle_slot = 0x746f6c73u ^ 0xa5c3e1f7u; /* "slot" (slotvisor) */
#define HOST_LO 0x00200000u
#define HOST_HI 0x01000000u

/* Searches the linear range [va, va + len) at every byte offset for the hypervisor's log
 * prefix and name; va maps guest-physical HOST_LO.. */
static void scan(const char *how, uint32_t va, uint32_t len)
{
	uint32_t a = needle_hv ^ needle_key, b = needle_slot ^ needle_key, hits = 0, first = 0;
	for (uint32_t p = va; p < va + len - 3; p++) {
		uint32_t w = *(volatile uint32_t *)p;
		if (w == a || w == b) {
			if (!hits)
				first = p - va + HOST_LO;
			hits++;
		}
	}
	printf("host memory %s: gpa 0x%x-0x%x, hypervisor strings found %u", how, HOST_LO,
	       HOST_LO + len, hits);
	if (hits)
		printf(", first at gpa 0x%x", first);
	printf("\n");
}

/* ---- PAE ---- */

static uint64_t *pdpt, *pd0, *pd1, *pd2, *pt_low, *pt_hi, *pt_m;
static uint32_t *mark[4];
#define LOW_ALIAS_IDX 0x1ffu /* pt_low seen through itself at 0x1ff000 */
#define CYC 0xc0000000u      /* PDPT[3] -> PDPT: the PDPT page as a PD */

static void pae_build(void)
{
	pdpt = pt_alloc(&pool);
	pd0 = pt_alloc(&pool);
	pd1 = pt_alloc(&pool);
	pd2 = pt_alloc(&pool);
	pt_low = pt_alloc(&pool);
	pt_hi = pt_alloc(&pool);
	pt_m = pt_alloc(&pool);
	uint64_t *pt_x = pt_alloc(&pool);
	for (int i = 0; i < 4; i++) {
		mark[i] = pt_alloc(&pool);
		mark[i][0] = 0x3a3a0000u + (uint32_t)i;
	}
	pdpt[0] = (uint32_t)pd0 | PTE_P;
	pdpt[1] = (uint32_t)pd1 | PTE_P;
	pdpt[3] = (uint32_t)pdpt | PTE_P; /* a loop: the PDPT is its own fourth PD */
	pd0[0] = (uint32_t)pt_low | PW;
	for (uint32_t i = 0; i < 512; i++)
		pt_low[i] = (i << 12) | PW;
	pt_low[LOW_ALIAS_IDX] = (uint32_t)pt_low | PW;
	for (uint32_t i = 1; i < 511; i++)
		pd0[i] = (uint64_t)i * MB2 | PW | PTE_PS;
	pd0[511] = (uint32_t)pd0 | PW; /* PD0 as a page table: 0x3fe00000 + k * 4 KiB */
	pd1[0] = (uint32_t)pt_hi | PW;
	/* 0x40200000-0x40ffffff: 4 KiB pages onto gpa 0x200000-0xffffff */
	for (uint32_t i = 0; i < 7; i++) {
		uint64_t *t = pt_alloc(&pool);
		pd1[1 + i] = (uint32_t)t | PW;
		for (uint32_t k = 0; k < 512; k++)
			t[k] = (HOST_LO + ((i * 512 + k) << 12)) | PW;
	}
	uint64_t top = bitn((int)maxphy);
	pd1[8] = 4 * GB | PW | PTE_PS;
	pd1[9] = (top - MB2) | PW | PTE_PS;
	pd1[10] = top | PW | PTE_PS;
	pd1[11] = (uint32_t)pt_x | top | PW; /* a table pointer with a reserved bit */
	pd1[12] = (64 * GB + MB2) | bitn(52) | PW | PTE_PS; /* bit 52: reserved in PAE */
	pt_hi[0] = 4 * GB | PW;
	pt_hi[1] = 64 * GB | PW;
	pt_hi[2] = (top - 4096) | PW;
	pt_hi[3] = top | PW;
	pt_hi[4] = bitn(51) | PW;
	pt_hi[5] = bitn(62) | PW;
	pt_hi[6] = bitn(63) | (uint32_t)mark[0] | PW; /* XD with EFER.NXE=0: reserved */
	pt_hi[7] = (4 * GB + 0xfec00000u) | PW;         /* the I/O APIC + 4 GiB: no alias */
	pt_hi[8] = (4 * GB + 0xfee00000u) | PW;         /* the local APIC + 4 GiB */
	pt_hi[9] = (4 * GB + SLOTDEV_WINDOW_GPA) | PW;  /* the test device's RAM + 4 GiB */
	pd2[0] = (uint32_t)pt_m | PW;
	pt_m[0] = (uint32_t)mark[1] | PW;
	for (int i = 0; i < 16; i++)
		pt_x[i] = (uint32_t)mark[0] | PW;
}

static void pae_on(void)
{
	write_cr4(read_cr4() | CR4_PAE);
	write_cr3((uint32_t)pdpt);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
	printf("pae on\n");
	hv_audit("pae_on");
}

static void pae_wide(void)
{
	static const char *names[] = { "pae.pte_4g", "pae.pte_64g", "pae.pte_maxphy_minus_4k",
				       "pae.pte_bit_maxphy", "pae.pte_bit51", "pae.pte_bit62",
				       "pae.pte_bit63_nxe0", "pae.pte_ioapic_plus_4g",
				       "pae.pte_lapic_plus_4g", "pae.pte_slotdev_ram_plus_4g" };
	for (uint32_t i = 0; i < 10; i++)
		rwr(names[i], 0x40000000u + (i << 12) + 0x40);
	rwr("pae.pde_2m_4g", 0x41000000u + 0x80);
	rwr("pae.pde_2m_maxphy_minus_2m", 0x41200000u + 0x1ff000 + 0x80);
	rwr("pae.pde_2m_bit_maxphy", 0x41400000u);
	rwr("pae.pde_table_bit_maxphy", 0x41600000u);
	rwr("pae.pde_2m_bit52", 0x41800000u);
	show("pae.pte_bit62.fetch", pt_access(PT_EXEC, 0x40005000u, 0, false));
	hv_audit("pae_wide");
}

/* PDPTEs with reserved bits: MOV CR3 must #GP and change nothing. */
static void pae_bad_pdptes(void)
{
	uint64_t *bad = pt_alloc(&pool);
	memcpy(bad, pdpt, 32);
	bad[2] = (uint32_t)pd2 | bitn((int)maxphy) | PTE_P;
	cr_write("pae.mov_cr3_pdpte_bit_maxphy", t_movcr3, t_movcr3_resume, (uint32_t)bad);
	bad[2] = (uint32_t)pd2 | PTE_P | PTE_W;
	cr_write("pae.mov_cr3_pdpte_rw_bit", t_movcr3, t_movcr3_resume, (uint32_t)bad);
	bad[2] = (uint32_t)pd2 | PTE_P | bitn(63);
	cr_write("pae.mov_cr3_pdpte_bit63", t_movcr3, t_movcr3_resume, (uint32_t)bad);
	show("pae.after_refused_cr3.read", pt_access(PT_READ, (uint32_t)mark[0], 0, false));
	printf("pae cr3 still 0x%x: %u\n", read_cr3(), read_cr3() == (uint32_t)pdpt);
	hv_audit("pae_bad_pdptes");
}

/* The PDPTE registers: a PDPTE changed in memory takes effect at the next MOV CR3, or MOV
 * CR0/CR4 changing CD, NW, PG, PAE, PGE, PSE or SMEP (SDM Vol. 3A 4.4.1), not before; a
 * refused MOV CR3 changes nothing. (Bochs reloads them at every MOV CR0/CR4: the lines after
 * the CR0.WP and CR4.OSFXSR toggles differ from the SDM there.) */
static void pae_pdpte_registers(void)
{
	uint32_t cr0 = read_cr0(), cr4 = read_cr4();
	uint64_t *bad = pt_alloc(&pool);
	memcpy(bad, pdpt, 32);
	bad[2] = (uint32_t)pd2 | bitn((int)maxphy) | PTE_P;
	show("pdpte.np.read", pt_access(PT_READ, 0x80000000u, 0, false));
	pdpt[2] = (uint32_t)pd2 | PTE_P; /* in memory only */
	invlpg(0x80000000u);
	show("pdpte.written_in_memory.read", pt_access(PT_READ, 0x80000000u, 0, false));
	cr_write("pdpte.mov_cr3_refused", t_movcr3, t_movcr3_resume, (uint32_t)bad);
	show("pdpte.after_refused_cr3.read", pt_access(PT_READ, 0x80000000u, 0, false));
	if (hv)
		hypercall(HC_ZAP_ALL, 0, 0, 0, 0);
	show("pdpte.after_zap_all.read", pt_access(PT_READ, 0x80000000u, 0, false));
	cr_write("pdpte.mov_cr0_wp0", t_movcr0, t_movcr0_resume, cr0 & ~CR0_WP);
	cr_write("pdpte.mov_cr0_wp1", t_movcr0, t_movcr0_resume, cr0);
	show("pdpte.after_cr0_wp_toggle.read", pt_access(PT_READ, 0x80000000u, 0, false));
	cr_write("pdpte.mov_cr4_osfxsr", t_movcr4, t_movcr4_resume, cr4 | (1u << 9));
	cr_write("pdpte.mov_cr4_back", t_movcr4, t_movcr4_resume, cr4);
	show("pdpte.after_cr4_osfxsr.read", pt_access(PT_READ, 0x80000000u, 0, false));
	cr_write("pdpte.mov_cr3", t_movcr3, t_movcr3_resume, (uint32_t)pdpt);
	show("pdpte.after_cr3.read", pt_access(PT_READ, 0x80000000u, 0, false));
	pdpt[2] = 0;
	cr_write("pdpte.mov_cr4_pge", t_movcr4, t_movcr4_resume, cr4 | (1u << 7));
	show("pdpte.cleared_then_cr4_pge.read", pt_access(PT_READ, 0x80000000u, 0, false));
	cr_write("pdpte.mov_cr4_pge_off", t_movcr4, t_movcr4_resume, cr4);
	write_cr3((uint32_t)pdpt);
	hv_audit("pae_pdpte_registers");
}

static void pae_host_memory(void)
{
	scan("pae 4k", 0x40200000u, HOST_HI - HOST_LO);
	hv_audit("pae_host_memory");
}

static void print_pdpt(const char *when)
{
	printf("pdpt %s: 0x%x 0x%x 0x%x 0x%x\n", when, lo(pdpt[0]), lo(pdpt[1]), lo(pdpt[2]),
	       lo(pdpt[3]));
}

/* The PDPT as a page directory (PDPT[3] -> PDPT), PD0 as a page table (PD0[511] -> PD0).
 * CYC + j * 2 MiB + k * 4 KiB: PDPT[j] used as a PDE, PD_j as a page table, PD_j[k] as a PTE.
 * A PDPTE has no R/W or U/S bit: as a PDE it grants supervisor reads only (writes: CR0.WP=0).
 * Used as a PDE, a PDPT entry gets the accessed bit, which is reserved in a PDPTE: MOV CR3
 * must #GP until it is cleared, and (SDM 4.4.1) a MOV CR0 changing only WP must not. */
static void pae_loop(void)
{
	uint32_t cr0 = read_cr0();
	uint32_t pd0_12 = CYC + 511 * 4096 + 12 * 8; /* PD0[12] through the loop */
	show("loop.write_wp1", pt_access(PT_WRITE, pd0_12, (uint32_t)pt_m | PW, false));
	cr_write("loop.mov_cr0_wp0", t_movcr0, t_movcr0_resume, cr0 & ~CR0_WP);

	struct pt_probe p = pt_access(PT_READ, CYC + 511 * 4096, 0, false); /* PD0 */
	printf("case loop.pd0_via_pdpt_loop.read: val&~AD=0x%08x vector %d\n", p.val & ~0x60u,
	       p.vector);
	p = pt_access(PT_READ, CYC + 3 * MB2 + 3 * 4096, 0, false); /* the PDPT itself */
	printf("case loop.pdpt_via_itself.read: val&~AD=0x%08x vector %d\n", p.val & ~0x60u,
	       p.vector);
	p = pt_access(PT_READ, CYC + 1 * MB2 + 0 * 4096 + 8, 0, false); /* pt_hi[1] */
	printf("case loop.pt_hi_via_pdpt_loop.read: val&~AD=0x%08x vector %d\n", p.val & ~0x60u,
	       p.vector);
	p = pt_access(PT_READ, 0x3fe00000u, 0, false); /* PD0[0] -> pt_low as data */
	printf("case loop.pt_low_via_pd_self.read: val&~AD=0x%08x vector %d\n", p.val & ~0x60u,
	       p.vector);
	p = pt_access(PT_READ, 0x3fe00000u + 511 * 4096 + 12 * 8, 0, false); /* PD0[12] */
	printf("case loop.pd0_via_pd_self.read: val&~AD=0x%08x vector %d\n", p.val & ~0x60u,
	       p.vector);
	/* Writes through the loop (CR0.WP=0: allowed at CPL0 on read-only pages). */
	show("loop.write_wp0", pt_access(PT_WRITE, pd0_12, (uint32_t)pt_m | PW, false));
	printf("loop pd0[12]&~AD=0x%llx\n", pd0[12] & ~AD);
	invlpg(0x01800000u);
	show("loop.new_pde_used.read", pt_access(PT_READ, 0x01800000u, 0, false));
	/* The same through PD0 as a page table, back to a 2 MiB page. */
	show("loop.restore_via_pd_self", pt_access(PT_WRITE, 0x3fe00000u + 511 * 4096 + 12 * 8,
						   (uint32_t)(12 * MB2) | PW | PTE_PS, false));
	invlpg(0x01800000u);
	printf("loop pd0[12]&~AD=0x%llx\n", pd0[12] & ~AD);
	/* LOCK CMPXCHG8B on a PDE through the loop (a PAE kernel's set_pte_atomic): PD0[13] from
	 * its 2 MiB page to pt_m; the same on PD0[14] through PD0 as a page table. */
	cx8("cx8.pde_via_pdpt_loop", CYC + 511 * 4096 + 13 * 8, pd0[13], (uint32_t)pt_m | PW);
	invlpg(0x01a00000u);
	printf("cx8 pd0[13]&~AD=0x%llx\n", pd0[13] & ~AD);
	show("cx8.new_pde_used.read", pt_access(PT_READ, 0x01a00000u, 0, false));
	cx8("cx8.pde_via_pd_self", 0x3fe00000u + 511 * 4096 + 14 * 8, pd0[14], (uint32_t)pt_m | PW);
	invlpg(0x01c00000u);
	printf("cx8 pd0[14]&~AD=0x%llx\n", pd0[14] & ~AD);
	show("cx8.new_pde_used_2.read", pt_access(PT_READ, 0x01c00000u, 0, false));
	pd0[13] = 13 * MB2 | PW | PTE_PS;
	pd0[14] = 14 * MB2 | PW | PTE_PS;
	invlpg(0x01a00000u);
	invlpg(0x01c00000u);
	print_pdpt("after the loop");
	cr_write("pdpte_a.mov_cr3", t_movcr3, t_movcr3_resume, (uint32_t)pdpt);
	cr_write("pdpte_a.mov_cr0_wp1", t_movcr0, t_movcr0_resume, cr0);
	show("pdpte_a.still_running.read", pt_access(PT_READ, (uint32_t)mark[0], 0, false));
	for (int i = 0; i < 4; i++)
		pdpt[i] &= ~(uint64_t)PTE_A;
	cr_write("loop.cleared.mov_cr0_wp1", t_movcr0, t_movcr0_resume, cr0);
	cr_write("loop.cleared.mov_cr3", t_movcr3, t_movcr3_resume, (uint32_t)pdpt);
	hv_audit("pae_loop");
}

/* The code page running now, remapped to a copy of itself by a write through its page
 * table's own mapping; the copy returns 2 where the original returns 1. */
static void code_swap(void)
{
	uint32_t idx = (uint32_t)swap_page >> 12;
	uint8_t *copy = pt_alloc(&pool);
	memcpy(copy, swap_page, 4096);
	copy[swap_imm1 - swap_page + 1] = 2;
	copy[swap_imm2 - swap_page + 1] = 2;
	swap_pte_va = (LOW_ALIAS_IDX << 12) + idx * 8;
	swap_pte_new = (uint32_t)copy | PW;
	uint32_t a = swap_fn(), b = swap_get();
	pt_low[idx] = (uint32_t)swap_page | PW;
	invlpg((uint32_t)swap_page);
	uint32_t c = swap_get();
	printf("code swap: returned %u, then %u; after restoring %u\n", a, b, c);
	hv_audit("code_swap");
}

/* ---- IA-32e mode ---- */

static uint64_t *pml4, *pdpt_l0, *pd_l0, *pd_t, *pt_t, *pdpt_x;

static uint64_t rec(uint32_t l4, uint32_t l3, uint32_t l2, uint32_t l1)
{
	uint64_t va = ((uint64_t)l4 << 39) | ((uint64_t)l3 << 30) | ((uint64_t)l2 << 21) |
		      ((uint64_t)l1 << 12);
	return (va & bitn(47)) ? va | 0xffff000000000000ull : va;
}

static void l4_build(void)
{
	pml4 = pt_alloc(&pool);
	pdpt_l0 = pt_alloc(&pool);
	pd_l0 = pt_alloc(&pool);
	pd_t = pt_alloc(&pool);
	pt_t = pt_alloc(&pool);
	pdpt_x = pt_alloc(&pool);
	uint64_t top = bitn((int)maxphy);
	pml4[0] = (uint32_t)pdpt_l0 | PWU;
	pml4[2] = (uint32_t)pdpt_l0 | top | PWU; /* reserved bit in a PML4E */
	pml4[511] = (uint32_t)pml4 | PWU;        /* recursive */
	pdpt_l0[0] = (uint32_t)pd_l0 | PWU;
	for (uint32_t i = 0; i < 512; i++)
		pd_l0[i] = (uint64_t)i * MB2 | PWU | PTE_PS;
	pdpt_l0[1] = (uint32_t)pd_t | PWU;
	pdpt_l0[2] = (uint32_t)pml4 | PWU;        /* a PDPTE pointing two levels up */
	pdpt_l0[3] = 4 * GB | PW | PTE_PS;        /* 1 GiB at 4 GiB */
	pdpt_l0[4] = (top - GB) | PW | PTE_PS;    /* 1 GiB just below MAXPHYADDR */
	pdpt_l0[5] = top | PW | PTE_PS;           /* reserved */
	pdpt_l0[6] = (uint32_t)pd_t | top | PWU;  /* reserved, table pointer */
	pd_t[0] = (uint32_t)pt_t | PWU;
	pd_t[1] = (top - MB2) | PW | PTE_PS;
	pd_t[2] = top | PW | PTE_PS;
	pd_t[7] = (uint32_t)pdpt_l0 | PWU; /* a PDE pointing one level up */
	pd_t[8] = (uint32_t)pd_t | PWU;    /* a PDE pointing at its own PD */
	pt_t[0] = (top - 4096) | PW;
	pt_t[1] = 512 * GB | PW;
	pt_t[2] = top | PW;
	pt_t[3] = bitn(51) | PW;
	pt_t[4] = (0x7full << 52) | (uint32_t)mark[2] | PW;  /* bits 52-58: ignored */
	pt_t[5] = (0xfull << 59) | (uint32_t)mark[2] | PW;   /* bits 59-62: ignored (no PKE) */
	pt_t[6] = PTE_NX | (uint32_t)mark[2] | PW;           /* NXE=1: not reserved */
	pdpt_x[0] = 0 | PW | PTE_PS;                         /* 1 GiB identity */
}

static void l4_wide(void)
{
	static const char *names[] = { "l4.pte_maxphy_minus_4k", "l4.pte_512g",
				       "l4.pte_bit_maxphy", "l4.pte_bit51", "l4.pte_bits52_58",
				       "l4.pte_bits59_62", "l4.pte_nx" };
	for (uint32_t i = 0; i < 7; i++)
		rwr(names[i], 0x40000000u + (i << 12) + 0x40);
	show("l4.pte_nx.fetch", pt_access(PT_EXEC, 0x40006000u + 0x100, 0, false));
	show("l4.pte_bit_maxphy.fetch", pt_access(PT_EXEC, 0x40002000u, 0, false));
	rwr("l4.pde_2m_maxphy_minus_2m", 0x40200000u + 0x1ff000 + 0x80);
	rwr("l4.pde_2m_bit_maxphy", 0x40400000u);
	rwr("l4.pdpte_1g_4g", 0xc0000000u + 0x80);
	rwr64("l4.pdpte_1g_maxphy_minus_1g", 4 * GB + 0x3ffff000 + 0x80);
	rwr64("l4.pdpte_1g_bit_maxphy", 5 * GB);
	rwr64("l4.pdpte_table_bit_maxphy", 6 * GB);
	rwr64("l4.pml4e_bit_maxphy", 2ull << 39);
	show("l4.pml4e_bit_maxphy.fetch", pt_access64(PT_EXEC, 2ull << 39, 0));
	hv_audit("l4_wide");
}

static void rd64(const char *name, uint64_t va)
{
	struct pt_probe p = pt_access64(PT_READ, va, 0);
	if (p.vector < 0)
		printf("case %s: val&~AD=0x%08x\n", name, p.val & ~0x60u);
	else
		pt_print_case(name, &p);
}

static void l4_recursive(void)
{
	rd64("rec.pml4_as_page", rec(511, 511, 511, 511));
	rd64("rec.pdpt_l0_entry1", rec(511, 511, 511, 0) + 8);
	rd64("rec.pd_t_via_pml4", rec(511, 511, 0, 1));
	rd64("rec.pt_t_via_pml4", rec(511, 0, 1, 0));
	rd64("rec.pd_t_via_pdpte_up2", rec(0, 2, 0, 1));
	rd64("rec.pd_t_via_pde_up1", rec(0, 1, 7, 1));
	rd64("rec.pt_t_via_pde_self", rec(0, 1, 8, 0));
	rd64("rec.pml4e2_as_pde_rsvd", rec(0, 2, 2, 0));
	hv_audit("l4_recursive_reads");

	/* A PTE written through the PD that maps itself. */
	show("rec.write_pte_via_pde_self",
	     pt_access64(PT_WRITE, rec(0, 1, 8, 0) + 20 * 8, (uint32_t)mark[3] | PWU));
	printf("rec pt_t[20]&~AD=0x%llx\n", pt_t[20] & ~AD);
	show("rec.new_pte_used.read", pt_access(PT_READ, 0x40014000u, 0, false));
	/* A PML4E written through the recursive PML4 slot: a new 512 GiB region. */
	pdpt_x[0] = 0 | PW | PTE_PS;
	show("rec.write_pml4e", pt_access64(PT_WRITE, rec(511, 511, 511, 511) + 200 * 8,
					   (uint32_t)pdpt_x | PW));
	printf("rec pml4[200]&~AD=0x%llx\n", pml4[200] & ~AD);
	struct pt_probe p = pt_access64(PT_READ, (200ull << 39) + (uint32_t)mark[3], 0);
	show("rec.new_pml4e_used.read", p);
	show("rec.clear_pml4e", pt_access64(PT_WRITE, rec(511, 511, 511, 511) + 200 * 8, 0));
	lm64_op(LM64_INVLPG, (uint32_t)mark[3], 200u << 7, 0);
	show("rec.cleared_pml4e.read", pt_access64(PT_READ, (200ull << 39) + (uint32_t)mark[3], 0));
	/* A PDE written through the PDPTE that points two levels up (PD_T seen as a page). */
	show("rec.write_pde_via_pdpte_up2",
	     pt_access64(PT_WRITE, rec(0, 2, 0, 1) + 9 * 8, PTE_P | PTE_U | PTE_PS)); /* gpa 0, RO */
	printf("rec pd_t[9]&~AD=0x%llx\n", pd_t[9] & ~AD);
	show("rec.new_pde_used.read", pt_access(PT_READ, 0x41200000u + (uint32_t)mark[3], 0, false));
	pd_t[9] = 0;
	invlpg(0x41200000u + (uint32_t)mark[3]);
	hv_audit("l4_recursive_writes");

	/* PML4[511] serves as the PTE of rec(511, 511, 511, 511): the CPU sets its A and D. */
	pml4[511] &= ~(uint64_t)AD;
	write_cr3(read_cr3());
	printf("ad pml4[511] cleared: A=%u D=%u\n", lo(pml4[511] >> 5) & 1, lo(pml4[511] >> 6) & 1);
	rd64("ad.read_pml4_as_page", rec(511, 511, 511, 511) + 8);
	printf("ad pml4[511] after read: A=%u D=%u\n", lo(pml4[511] >> 5) & 1,
	       lo(pml4[511] >> 6) & 1);
	show("ad.write_pml4_as_page", pt_access64(PT_WRITE, rec(511, 511, 511, 511) + 400 * 8, 0));
	printf("ad pml4[511] after write: A=%u D=%u\n", lo(pml4[511] >> 5) & 1,
	       lo(pml4[511] >> 6) & 1);
	hv_audit("l4_recursive_dirty");
}

/* Two 2 MiB pages onto the same guest-physical range with the same permissions, one dirty
 * (the identity map of the image, PD_L0[0]) and one clean (PD_T[10]): a write through the
 * clean one must still set its dirty bit. */
static void l4_large_alias(void)
{
	uint32_t va = 0x41400000u + (uint32_t)mark[3];
	pd_t[10] = PWU | PTE_PS; /* gpa 0, A=0 D=0 */
	invlpg(va);
	show("alias.read", pt_access(PT_READ, va, 0, false));
	printf("alias pd_t[10] after read: A=%u D=%u\n", lo(pd_t[10] >> 5) & 1, lo(pd_t[10] >> 6) & 1);
	hv_audit("l4_large_alias_read");
	show("alias.write", pt_access(PT_WRITE, va, 0x3a3a0033, false));
	printf("alias pd_t[10] after write: A=%u D=%u\n", lo(pd_t[10] >> 5) & 1,
	       lo(pd_t[10] >> 6) & 1);
	printf("alias mark3=0x%x\n", mark[3][0]);
	hv_audit("l4_large_alias_write");
	pd_t[10] = 0;
	invlpg(va);
	show("alias.cleared.read", pt_access(PT_READ, va, 0, false));
	hv_audit("l4_large_alias_cleared");
}

/* A clean writable 2 MiB page (PD_T[11]) written for the first time, then a read-only 2 MiB
 * page onto the same range (PD_T[12]), used first at another 4 KiB page of the range: a
 * write through the read-only one must #PF (CR0.WP=1) whatever the other mapping did. */
static void l4_ro_large_alias(void)
{
	const uint32_t gpa = 0x00400000u, off = 0x5000, rw_va = 0x41600000u, ro_va = 0x41800000u;
	pd_t[11] = gpa | PWU | PTE_PS;
	pd_t[12] = gpa | PTE_P | PTE_U | PTE_PS;
	invlpg(rw_va + off);
	invlpg(ro_va + off);
	show("rolarge.first_write_rw", pt_access(PT_WRITE, rw_va + off, 0x5a5a0001, false));
	printf("rolarge pd_t[11]: A=%u D=%u\n", lo(pd_t[11] >> 5) & 1, lo(pd_t[11] >> 6) & 1);
	show("rolarge.read_ro_other_page", pt_access(PT_READ, ro_va + off + 0x1000, 0, false));
	hv_audit("l4_ro_large_alias_read");
	show("rolarge.write_ro", pt_access(PT_WRITE, ro_va + off, 0x5a5a0002, false));
	printf("rolarge pd_t[12]: A=%u D=%u, memory 0x%x\n", lo(pd_t[12] >> 5) & 1,
	       lo(pd_t[12] >> 6) & 1, *(volatile uint32_t *)(gpa + off));
	hv_audit("l4_ro_large_alias_write");
	pd_t[11] = pd_t[12] = 0;
	invlpg(rw_va + off);
	invlpg(ro_va + off);
	hv_audit("l4_ro_large_alias_cleared");
}

static void l4_host_memory(void)
{
	scan("4-level 2m", HOST_LO, HOST_HI - HOST_LO);
	hv_audit("l4_host_memory");
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	(void)mbi;
	serial_init();
	idt_init();
	printf("TEST hostile_wide\n");
	hv = hv_present();
	if (hv)
		printf("HV hypervisor detected\n");
	uint32_t r[4];
	cpuid(0x80000000, 0, r);
	uint32_t maxext = r[0], lm = 0, nx = 0;
	if (maxext >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		lm = (r[3] >> 29) & 1;
		nx = (r[3] >> 20) & 1;
	}
	if (maxext >= 0x80000008) {
		cpuid(0x80000008, 0, r);
		maxphy = r[0] & 0xff;
	}
	printf("cpu lm=%u nx=%u maxphyaddr=%u\n", lm, nx, maxphy);
	if ((uint32_t)(pages + 48) > (LOW_ALIAS_IDX << 12) ||
	    (uint32_t)swap_page + 4096 > (LOW_ALIAS_IDX << 12)) {
		printf("ERROR the image reaches 0x%x\n", LOW_ALIAS_IDX << 12);
		guest_exit(0x7d);
	}
	pt_gdt_init(false);
	idt_set_handler(VEC_UD, on_ud);

	pae_build();
	pae_on();
	pae_wide();
	pae_bad_pdptes();
	pae_pdpte_registers();
	pae_host_memory();
	pae_loop();
	code_swap();

	if (!lm || !nx) {
		printf("RESULT done\n");
		return 0;
	}
	write_cr0(read_cr0() & ~CR0_PG);
	printf("paging off\n");
	l4_build();
	lm_idt_build();
	pt_gdt_init(true);
	lm_enter((uint32_t)pml4, EFER_NXE);
	printf("long mode on\n");
	hv_audit("long_mode_on");
	l4_wide();
	l4_recursive();
	l4_host_memory();
	l4_large_alias();
	l4_ro_large_alias();
	printf("RESULT done\n");
	return 0;
}
