/* hostile.c - a guest that tries to break the hypervisor, one thing at a time (issue 7). After
 * each attempt the hypervisor's audit must pass (HC_AUDIT == 0) and the guest must still run.
 * 32-bit paging (guests/hostile_wide.c does PAE and 4-level paging). Attempts, in order:
 *   - page tables mapping every 4 MiB of the 4 GiB guest-physical space (RAM, MMIO, nothing),
 *     each read and written;
 *   - the guest-physical range where the hypervisor lives in host memory (its image at 2 MiB,
 *     its VMXON region and VMCS at 1 MiB) searched for the hypervisor's strings: the guest must
 *     see only its own RAM there;
 *   - PSE-36 large pages above 4 GiB (up to MAXPHYADDR - 1) and one with reserved bit 21;
 *   - a self-referencing page directory written through itself, the PDE of the running code
 *     rewritten through it;
 *   - a large page straddling the end of guest RAM;
 *   - a PTE rewritten in a loop (two frames, present / not present, with and without INVLPG,
 *     CR3 reloads), through the table's own mapping too (MOV, XCHG, CMPXCHG, REP MOVS/STOS);
 *   - malformed hypercalls, an interrupt storm;
 *   - real exceptions in every vector the CPU raises (#DE #DB #BP #OF #BR #UD #NM #DF #TS #NP
 *     #SS #GP #PF #MF #AC #XM) with their error codes; INT n for all 256 vectors, once plainly
 *     and once with all shadow pages zapped before each (delivery then exits halfway);
 *   - unknown and reserved MSRs; VMX instructions.
 * Runs on bare Bochs too (hypercalls and audits are skipped there): "PASS"/"FAIL" lines are
 * the architectural expectations.
 *
 * Variants ("variant=NAME" on the guest command line) do one deadly thing after paging is on:
 *   mmio_pt  a page-directory entry pointing at device memory (the run ends: guest_error);
 *   nogate   INT n on a not-present gate whose #NP gate and #DF gate are not present either:
 *            the CPU shuts down (triple fault);
 *   df_pf    a #PF whose IDT gates (#PF and #DF) are on a page that is not present: #PF while
 *            delivering #PF is a #DF, and #PF while delivering #DF a triple fault, which the
 *            hypervisor decides (the faults go through its MMU). */
#include "guest.h"
#include "hv.h"
#include "idt.h"
#include "pt.h"
#include "fault.h"

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt_test[1024] __attribute__((aligned(4096)));
static uint32_t pt_image[1024] __attribute__((aligned(4096)));
static uint32_t frames[4][1024] __attribute__((aligned(4096)));
static uint8_t idt_pages[2][4096] __attribute__((aligned(4096)));
static volatile uint32_t irqs;
static bool hv;

#define P 1u
#define RW 2u
#define US 4u
#define ACC 0x20u
#define AD 0x60u /* accessed, dirty */
#define PS 0x80u
#define SELF 0x3ffu /* the PD maps itself at 0xffc00000 */
#define TEST_PDE 0x300u /* 0xc0000000: the 4 KiB test table pt_test */
#define T_VA 0xc0000000u
#define ALIAS_VA 0xc0001000u /* pt_test seen through itself (entry 1) */
#define NP_VA 0xc0800000u   /* PDE 0x302: not present */
#define RO_VA 0xc0c00000u   /* PDE 0x303: 4 MiB read-only */
#define SUP_VA 0xc1000000u  /* PDE 0x304: 4 MiB supervisor-only */
#define HI_VA 0xc1400000u   /* PDE 0x305: PSE-36 page above 4 GiB */
#define RSVD_VA 0xc1800000u /* PDE 0x306: PSE-36 page with reserved bit 21 */
#define MARK(i) (0x5eed0000u + (i))
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_NE (1u << 5)
#define CR0_AM (1u << 18)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)

#define SEL_NP 0x50      /* data, not present */
#define SEL_RING1 0x70   /* code, DPL1 */
#define SEL_GATE_R1 0x78 /* call gate, DPL3, to SEL_RING1 (0x7b with RPL3) */

static void audit(const char *what)
{
	if (!hv) {
		printf("%s: audit skipped (no hypervisor)\n", what);
		return;
	}
	int32_t bad = hypercall(HC_AUDIT, 0, 0, 0, 0);
	printf("%s: audit bad=%d\n", what, bad);
	guest_failures += bad != 0;
}

static void paging_on(void)
{
	for (uint32_t i = 0; i < 1024; i++)
		pd[i] = (i << 22) | P | RW | PS; /* every 4 MiB of the 4 GiB space, identity */
	pd[0] |= US;                            /* the image: CPL3 probes run there */
	pd[SELF] = (uint32_t)pd | P | RW;       /* recursive: the PD as a page table */
	uint32_t cr4, cr0;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | 0x10));
	__asm__ volatile("mov %0, %%cr3" ::"r"(pd));
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" ::"r"(cr0 | 0x80000000u));
}

/* ---- probes: each NAME has a label NAME_at on the instruction that faults ---- */
#define PR(name) ".global " #name "\n" #name ":\n"
#define AT(name) ".global " #name "_at\n" #name "_at:\n"

__asm__(".text\n"
	PR(t_rd) "movl pf_addr, %ecx\n" AT(t_rd) "movl (%ecx), %eax\n movl %eax, rd_val\n ret\n"
	PR(t_wr) "movl pf_addr, %ecx\n movl wr_val, %eax\n" AT(t_wr) "movl %eax, (%ecx)\n ret\n"
	PR(u_rd) "movl pf_addr, %ecx\n" AT(u_rd) "movl (%ecx), %eax\n" FAULT_USER_DONE "\n"
	PR(t_int90) AT(t_int90) "int $0x90\n ret\n"
	PR(t_rdmsr) "movl msr_idx, %ecx\n" AT(t_rdmsr) "rdmsr\n ret\n"
	PR(t_vmxoff) AT(t_vmxoff) ".byte 0x0f, 0x01, 0xc4\n ret\n"
	PR(t_vmxon) "movl $vmx_region, %eax\n" AT(t_vmxon) ".byte 0xf3, 0x0f, 0xc7, 0x30\n ret\n"
	PR(t_de) "xorl %ecx, %ecx\n movl $1, %eax\n xorl %edx, %edx\n" AT(t_de) "divl %ecx\n ret\n"
	PR(t_db) "pushfl\n orl $0x100, (%esp)\n popfl\n nop\n" AT(t_db) "nop\n ret\n"
	PR(t_db_cpuid) "pushl %ebx\n xorl %eax, %eax\n pushfl\n orl $0x100, (%esp)\n popfl\n cpuid\n"
	AT(t_db_cpuid) "popl %ebx\n ret\n"
	PR(t_bp) "int3\n" AT(t_bp) "ret\n"
	PR(t_of) "movl $0x7fffffff, %eax\n addl $1, %eax\n into\n" AT(t_of) "ret\n"
	PR(t_br) "movl $11, %eax\n" AT(t_br) "boundl %eax, bounds\n ret\n"
	PR(t_ud) AT(t_ud) "ud2\n ret\n"
	PR(t_nm) AT(t_nm) "fld1\n ret\n"
	PR(t_df) AT(t_df) "int $0x99\n ret\n"
	PR(t_np) "movw $0x50, %ax\n" AT(t_np) "movw %ax, %ds\n ret\n"
	PR(t_ss) "movw $0x50, %ax\n" AT(t_ss) "movw %ax, %ss\n ret\n"
	PR(t_gp) "movw $0x400, %ax\n" AT(t_gp) "movw %ax, %ds\n ret\n"
	PR(t_mf) "fninit\n fldcw fpu_cw\n fld1\n fdivs fzero\n" AT(t_mf) "fwait\n ret\n"
	PR(t_xm) "ldmxcsr mxcsr_in\n xorps %xmm1, %xmm1\n movss fone, %xmm0\n" AT(t_xm)
	"divss %xmm1, %xmm0\n ret\n"
	PR(u_ac) "pushfl\n orl $0x40000, (%esp)\n popfl\n movl $ac_buf + 1, %ecx\n" AT(u_ac)
	"movl (%ecx), %eax\n" FAULT_USER_DONE "\n"
	PR(u_ts) AT(u_ts) "lcall $0x7b, $0\n" FAULT_USER_DONE "\n"
	/* INT n for every n: 4 bytes each (CD nn C3 90); the saved EIP is int_table + 4n + 2 */
	".balign 4\n.global int_table\nint_table:\n"
	".set vec, 0\n.rept 256\n.byte 0xcd, vec, 0xc3, 0x90\n.set vec, vec + 1\n.endr\n");

#define DECL(n) extern char n[], n##_at[];
DECL(t_rd) DECL(t_wr) DECL(u_rd) DECL(t_de) DECL(t_db) DECL(t_db_cpuid) DECL(t_bp) DECL(t_of)
DECL(t_br) DECL(t_ud) DECL(t_nm) DECL(t_df) DECL(t_np) DECL(t_ss) DECL(t_gp) DECL(t_mf)
DECL(t_xm) DECL(u_ac) DECL(u_ts) DECL(t_int90) DECL(t_rdmsr) DECL(t_vmxoff) DECL(t_vmxon)
extern char int_table[];
extern volatile uint32_t fault_armed; /* guests/lib/fault.c */

/* Data the probes use (referenced by name from the assembly above). */
int32_t bounds[2] __attribute__((aligned(8))) = { 0, 10 };
uint16_t fpu_cw = 0x037b; /* x87: only divide-by-zero unmasked */
float fzero = 0.0f, fone = 1.0f;
uint32_t mxcsr_in = 0x1d80; /* SSE: only divide-by-zero unmasked */
uint8_t ac_buf[16] __attribute__((aligned(16)));
volatile uint32_t pf_addr, rd_val, wr_val, msr_idx;
uint8_t vmx_region[4096] __attribute__((aligned(4096)));
static uint8_t ring1_stack[256] __attribute__((aligned(16)));

/* One read of va at CPL0: -1 and *val, or the vector (14) with fault_last filled in. */
static int try_read(uint32_t va, uint32_t *val)
{
	pf_addr = va;
	rd_val = 0xdeadbeef;
	int v = fault_run((void (*)(void))t_rd);
	*val = rd_val;
	return v;
}

static int try_write(uint32_t va, uint32_t val)
{
	pf_addr = va;
	wr_val = val;
	return fault_run((void (*)(void))t_wr);
}

/* ---- every 4 MiB of the physical space ---- */

/* Reads and writes one word in each 4 MiB of guest-physical space (except the 4 MiB the
 * guest's own code lives in, and the self-map slot). */
static void touch_everything(void)
{
	uint32_t ones = 0, ram = 0, other = 0;
	static uint32_t other_at[8];
	for (uint32_t i = 1; i < 1023; i++) {
		volatile uint32_t *p = (uint32_t *)(i << 22) + 17;
		if (!hv && i == 0xfec00000u >> 22)
			continue; /* bare Bochs's I/O APIC panics on a read of a reserved register */
		uint32_t v = *p;
		*p = v ^ 0x5a5a5a5a; /* RAM changes; MMIO/unassigned drops it */
		if (*p == (v ^ 0x5a5a5a5a))
			ram++;
		else if (v == 0xffffffffu)
			ones++;
		else if (other < 8)
			other_at[other++] = i << 22;
		else
			other++;
		*p = v;
	}
	printf("every 4 MiB: %u writable RAM, %u read all ones, %u other\n", ram, ones, other);
	for (uint32_t i = 0; i < other && i < 8; i++)
		printf("every 4 MiB: other at 0x%08x\n", other_at[i]);
	audit("map everything");
}

/* ---- the hypervisor's own host-physical addresses, seen as guest-physical ---- */

/* The strings are kept XOR-ed, so that the guest's own memory never holds them. */
static volatile uint32_t needle_key = 0xa5c3e1f7u;
static volatile uint32_t needle_hv = 0x2076685bu ^ 0xa5c3e1f7u;   /* "[hv " */
static volatile uint32_t needle_slot = 0x746f6c73u ^ 0xa5c3e1f7u; /* "slot" (slotvisor) */

#define SCAN_LO 0x00200000u
#define SCAN_HI 0x01000000u

/* Searches [lo, hi) at every byte offset for the hypervisor's log prefix and name. */
static uint32_t scan_for_hv(uint32_t lo, uint32_t hi, uint32_t *first)
{
	uint32_t a = needle_hv ^ needle_key, b = needle_slot ^ needle_key, hits = 0;
	for (uint32_t p = lo; p < hi - 3; p++) {
		uint32_t w = *(volatile uint32_t *)p;
		if (w == a || w == b) {
			if (!hits)
				*first = p;
			hits++;
		}
	}
	return hits;
}

static void host_memory(void)
{
	uint32_t first = 0, hits = scan_for_hv(SCAN_LO, SCAN_HI, &first);
	printf("host memory: scanned 0x%x-0x%x, hypervisor strings found %u\n", SCAN_LO, SCAN_HI,
	       hits);
	if (hits)
		printf("host memory: first at 0x%x\n", first);
	check(hits == 0, "own_ram_where_the_hypervisor_lives", "%u hits, first at 0x%x", hits,
	      first);
	/* gpa 1 MiB: the guest's multiboot header (host 1 MiB: the VMXON region). */
	uint32_t w = *(volatile uint32_t *)0x100000u;
	check(w == 0x1badb002u, "own_ram_at_1MiB", "0x%x", w);
	/* Every page of the range is the guest's (writable RAM, keeps a per-page value). */
	uint32_t bad = 0;
	for (uint32_t p = SCAN_LO; p < SCAN_HI; p += 4096)
		*(volatile uint32_t *)(p + 0xffc) = p ^ 0x600dcafeu;
	for (uint32_t p = SCAN_LO; p < SCAN_HI; p += 4096)
		bad += *(volatile uint32_t *)(p + 0xffc) != (p ^ 0x600dcafeu);
	check(bad == 0, "own_ram_pages_keep_values", "%u pages", bad);
	audit("hypervisor addresses");
}

/* ---- PSE-36: above 4 GiB with 32-bit paging ---- */

static void pse36(void)
{
	uint32_t r[4], maxphys = 36;
	cpuid(1, 0, r);
	bool have = (r[3] >> 17) & 1;
	cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000008) {
		cpuid(0x80000008, 0, r);
		maxphys = r[0] & 0xff;
	}
	printf("pse36=%u maxphyaddr=%u\n", have, maxphys);
	if (!have)
		return;
	/* PDE bits 20:13 are physical bits 39:32 (as far as MAXPHYADDR goes). */
	uint32_t top = maxphys >= 40 ? 0xff : (1u << (maxphys - 32)) - 1;
	static const uint32_t hi[] = { 1, 0x10, 0xff };
	for (int i = 0; i < 3; i++) {
		uint32_t h = hi[i] & top, v = 0;
		pd[0x305] = (h << 13) | 0x00400000u | P | RW | PS; /* gpa h:00400000 */
		invlpg(HI_VA);
		int f1 = try_read(HI_VA + 0x40, &v);
		int f2 = try_write(HI_VA + 0x40, 0x12345678);
		uint32_t v2 = 0;
		int f3 = try_read(HI_VA + 0x40, &v2);
		check(f1 < 0 && f2 < 0 && f3 < 0 && v == 0xffffffffu && v2 == 0xffffffffu,
		      "pse36_above_4g", "gpa 0x%x00400040: faults %d %d %d, read 0x%x then 0x%x", h,
		      f1, f2, f3, v, v2);
	}
	/* Bit 21 of a 4 MiB PDE is reserved: #PF with P|RSVD (read), P|W|RSVD (write). */
	pd[0x306] = (1u << 21) | 0x00400000u | P | RW | PS;
	invlpg(RSVD_VA);
	uint32_t v = 0;
	int f = try_read(RSVD_VA + 8, &v);
	check(f == VEC_PF && fault_last.error == 0x9 && fault_last.cr2 == RSVD_VA + 8,
	      "pse36_rsvd_bit21_read", "vector %d ec=0x%x cr2=0x%x", f, fault_last.error,
	      fault_last.cr2);
	f = try_write(RSVD_VA + 8, 1);
	check(f == VEC_PF && fault_last.error == 0xb, "pse36_rsvd_bit21_write", "vector %d ec=0x%x",
	      f, fault_last.error);
	pd[0x305] = pd[0x306] = 0;
	invlpg(HI_VA);
	invlpg(RSVD_VA);
	audit("PSE-36 above 4 GiB and reserved bits");
}

/* ---- the page directory through itself ---- */

static void self_map(void)
{
	volatile uint32_t *pd_via_self = (uint32_t *)(0xffc00000u + SELF * 4096);
	uint32_t old = pd_via_self[0x300];
	pd_via_self[0x300] = (0x00400000u) | P | RW | PS; /* 0xc0000000 -> 4 MiB, via itself */
	__asm__ volatile("invlpg (%0)" ::"r"(0xc0000000u) : "memory");
	uint32_t seen = *(volatile uint32_t *)0xc0000000u == *(volatile uint32_t *)0x00400000u;
	printf("self-map write seen: %u\n", seen);
	check(seen, "self_map_write", "the new PDE written through the self-map is not used");
	pd_via_self[0x300] = old;
	__asm__ volatile("invlpg (%0)" ::"r"(0xc0000000u) : "memory");
	/* The PDE mapping the code running now: A cleared through the self-map, set again by the
	 * CPU on the next use after INVLPG. */
	pd_via_self[0] &= ~ACC;
	invlpg((uint32_t)self_map);
	invlpg((uint32_t)&pd[0]);
	(void)*(volatile uint32_t *)(uint32_t)self_map;
	check(pd[0] & ACC, "running_code_pde_accessed_again", "pd[0]=0x%x", pd[0]);
	audit("self-referencing directory");
}

static void straddle(void)
{
	/* guest_mem=62M: the 4 MiB page at 60 MiB is half RAM, half beyond. */
	volatile uint32_t *lo = (uint32_t *)(60u << 20), *hi = (uint32_t *)(63u << 20);
	*lo = 0x1234;
	*hi = 0x1234;
	printf("straddling page: ram half %s, beyond half reads 0x%x\n", *lo == 0x1234 ? "ok" : "bad",
	       *hi);
	audit("page straddling the end of RAM");
}

/* ---- a PTE rewritten while the hypervisor walks it ---- */

#define ROUNDS 200
static uint32_t violations;

/* A read of T_VA whose allowed results are the markers in ok[] (0: none) and, when pf_ok, a
 * #PF with error code 0. Returns the marker index read, -1 for a #PF. */
static int read_allowed(const char *what, int round, int ok0, int ok1, bool pf_ok)
{
	uint32_t v = 0;
	int f = try_read(T_VA, &v);
	if (f == VEC_PF && pf_ok && fault_last.error == 0 && fault_last.cr2 == T_VA)
		return -1;
	for (int i = 0; i < 4; i++)
		if (v == MARK(i) && f < 0 && (i == ok0 || i == ok1))
			return i;
	if (violations++ < 5)
		printf("FAIL pte loop round %d %s: vector %d ec=0x%x value 0x%x (allowed markers %d %d"
		       "%s)\n", round, what, f, f >= 0 ? fault_last.error : 0, v, ok0, ok1,
		       pf_ok ? " or #PF" : "");
	return -2;
}

static void pte_loop(void)
{
	volatile uint32_t *alias = (uint32_t *)ALIAS_VA;
	uint32_t stale = 0, spurious = 0;
	for (int i = 0; i < 4; i++)
		frames[i][0] = MARK(i);
	memset(pt_test, 0, sizeof(pt_test));
	pt_test[1] = (uint32_t)pt_test | P | RW; /* the table, mapped by itself */
	pd[TEST_PDE] = (uint32_t)pt_test | P | RW;
	invlpg(T_VA);
	invlpg(ALIAS_VA);
#define FR(i) ((uint32_t)frames[i] | P | RW)
	for (int r = 0; r < ROUNDS; r++) {
		/* A -> B: old or new before INVLPG, new after. */
		pt_test[0] = FR(0);
		invlpg(T_VA);
		read_allowed("A after invlpg", r, 0, -9, false);
		pt_test[0] = FR(1);
		stale += read_allowed("A->B before invlpg", r, 0, 1, false) == 0;
		invlpg(T_VA);
		read_allowed("A->B after invlpg", r, 1, -9, false);
		/* present -> not present */
		pt_test[0] = 0;
		stale += read_allowed("B->none before invlpg", r, 1, -9, true) == 1;
		invlpg(T_VA);
		read_allowed("B->none after invlpg", r, -9, -9, true);
		/* not present -> present, written through the table's own mapping */
		alias[0] = FR(0);
		spurious += read_allowed("none->A (alias) before invlpg", r, 0, -9, true) == -1;
		invlpg(T_VA);
		read_allowed("none->A (alias) after invlpg", r, 0, -9, false);
		/* new frame, CR3 reload instead of INVLPG; XCHG and CMPXCHG through the alias */
		__asm__ volatile("xchgl %0, (%1)" : : "r"(FR(2)), "r"(alias) : "memory");
		write_cr3(read_cr3());
		read_allowed("A->C (xchg) after CR3 reload", r, 2, -9, false);
		uint32_t expect = alias[0], nv = FR(3); /* FR(2), with A set by the read */
		__asm__ volatile("lock cmpxchgl %2, (%3)" : "+a"(expect) : "m"(*alias), "r"(nv), "r"(alias)
				 : "memory", "cc");
		invlpg(T_VA);
		read_allowed("C->D (cmpxchg) after invlpg", r, 3, -9, false);
		/* the alias's own entry, written through the alias: it now shows frame 3 */
		alias[1] = FR(3);
		invlpg(ALIAS_VA);
		if (alias[0] != MARK(3) && violations++ < 5)
			printf("FAIL pte loop round %d: alias remapped by itself reads 0x%x\n", r, alias[0]);
		pt_test[1] = (uint32_t)pt_test | P | RW;
		invlpg(ALIAS_VA);
	}
	printf("pte loop: %u rounds, stale reads before invlpg %u, not-present before invlpg %u\n",
	       ROUNDS, stale, spurious);
	check(violations == 0, "pte_loop_allowed_results", "%u reads outside the allowed results",
	      violations);
	/* The whole table rewritten through itself with REP MOVSD (T -> frame 2), then entries
	 * 2-1023 cleared with REP STOSD. */
	memcpy(pt_image, pt_test, sizeof(pt_image));
	pt_image[0] = FR(2);
	pt_image[2] = FR(1);
	const uint32_t *src = pt_image;
	volatile uint32_t *dst = alias;
	uint32_t n = 1024;
	__asm__ volatile("cld; rep movsl" : "+S"(src), "+D"(dst), "+c"(n) : : "memory");
	write_cr3(read_cr3());
	uint32_t v0 = *(volatile uint32_t *)T_VA, v2 = *(volatile uint32_t *)(T_VA + 0x2000);
	check(v0 == MARK(2) && v2 == MARK(1) && (pt_test[0] & ~AD) == FR(2), "pt_rewritten_by_rep_movs",
	      "reads 0x%x 0x%x, pte 0x%x", v0, v2, pt_test[0]);
	dst = alias + 2;
	n = 1022;
	__asm__ volatile("cld; rep stosl" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
	write_cr3(read_cr3());
	uint32_t v = 0;
	int f = try_read(T_VA + 0x2000, &v);
	check(f == VEC_PF && pt_test[2] == 0 && (pt_test[0] & ~AD) == FR(2), "pt_cleared_by_rep_stos",
	      "vector %d, pte[2]=0x%x", f, pt_test[2]);
#undef FR
	audit("page table rewritten while in use");
}

/* ---- hypercalls, interrupts ---- */

static void bad_hypercalls(void)
{
	if (!hv)
		return;
	printf("hc huge add: %d\n", hypercall(HC_MEMSLOT_ADD, 9, 0xd0000000u, 0xfffff000u, 0));
	printf("hc add over RAM: %d\n", hypercall(HC_MEMSLOT_ADD, 9, 0x100000u, 0x1000, 0));
	printf("hc bad flags: %d\n", hypercall(HC_MEMSLOT_ADD, 9, 0xd0000000u, 0x1000, 0x80));
	printf("hc id too big: %d\n", hypercall(HC_MEMSLOT_ADD, 0x10000, 0xd0000000u, 0x1000, 0));
	printf("hc move unknown: %d\n", hypercall(HC_MEMSLOT_MOVE, 77, 0xd0000000u, 0, 0));
	printf("hc delete slot 1 then re-add over it: %d %d\n",
	       hypercall(HC_MEMSLOT_RESIZE, 1, 0x1000, 0, 0), hypercall(HC_GET_STAT, 999, 0, 0, 0));
	for (uint32_t nr = 8; nr < 40; nr++)
		if (hypercall(nr, 1, 2, 3, 4) != HV_ENOSYS)
			printf("hc %u not ENOSYS\n", nr);
	audit("malformed hypercalls");
}

static void on_irq(struct idt_frame *f)
{
	(void)f;
	irqs++;
	*(volatile uint32_t *)0xfee000b0u = 0; /* EOI */
}

static void storm(void)
{
	volatile uint32_t *apic = (uint32_t *)0xfee00000u;
	idt_set_handler(0x30, on_irq);
	apic[0xf0 / 4] = 0x1ff;
	apic[0x3e0 / 4] = 0xb;               /* divide by 1 */
	apic[0x320 / 4] = 0x30 | (1u << 17); /* periodic */
	apic[0x380 / 4] = 0x80000;           /* every 0.5 ms: faster starves any guest, as on hardware */
	__asm__ volatile("sti");
	while (irqs < 2000)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	apic[0x320 / 4] = 0x10000;
	idt_set_handler(0x30, NULL);
	printf("interrupt storm: took %s2000 interrupts\n", irqs >= 2000 ? "" : "fewer than ");
	audit("interrupt storm");
}

static void no_gate(void)
{
	int v = fault_run((void (*)(void))t_int90);
	check(v == VEC_GP && fault_last.error == ((0x90u << 3) | 2), "int_0x90_empty_gate_gp",
	      "vector %d err=0x%x", v, fault_last.error);
	audit("software interrupt without a gate");
}

static void msrs_and_vmx(void)
{
	uint32_t gp = 0, tried = 0;
	static const uint32_t bases[] = { 0x0, 0x100, 0x400, 0x800, 0xc0000000u, 0xc0010000u,
					  0x40000000u, 0x12345678u };
	for (uint32_t b = 0; b < sizeof(bases) / 4; b++)
		for (uint32_t m = bases[b]; m < bases[b] + 0x40; m += 7, tried++) {
			msr_idx = m;
			gp += fault_run((void (*)(void))t_rdmsr) == VEC_GP;
		}
	printf("rdmsr: %u of %u tried raised #GP\n", gp, tried);
	int v = fault_run((void (*)(void))t_vmxoff);
	printf("vmxoff: #UD %u\n", v == VEC_UD);
	v = fault_run((void (*)(void))t_vmxon);
	printf("vmxon: #UD %u\n", v == VEC_UD);
	audit("MSRs and VMX instructions");
}

/* ---- exceptions in every vector the CPU raises ---- */

static struct gate32 *idt_base(void)
{
	struct dtr32 i;
	__asm__ volatile("sidt %0" : "=m"(i));
	return (struct gate32 *)i.base;
}

/* One probe: the vector, error code and saved EIP it must raise (eip NULL: not checked). */
static void exc(const char *name, char *fn, bool user, int vec, uint32_t err, const char *eip)
{
	int v = user ? fault_run_user((void (*)(void))fn) : fault_run((void (*)(void))fn);
	check(v == vec && fault_last.error == err && (!eip || fault_last.eip == (uint32_t)eip), name,
	      "vector %d err=0x%x eip=0x%x, want vector %d err=0x%x eip=0x%x", v, fault_last.error,
	      fault_last.eip, vec, err, (uint32_t)eip);
}

/* GDT with ring-3 segments and a TSS, extra descriptors, recording handlers for 0-31. */
static void faults_init(void)
{
	pt_gdt_init(false);
	fault_gdt_set(SEL_NP / 8, fault_seg_desc(0, 0xffffffff, 0x12, true));    /* P=0 */
	fault_gdt_set(SEL_RING1 / 8, fault_seg_desc(0, 0xffffffff, 0xba, true)); /* DPL1 code */
	fault_gdt_set(SEL_GATE_R1 / 8, fault_call_gate(SEL_RING1, 0, 3));
	fault_init();
}

static void exceptions(void)
{
	uint32_t cr0 = read_cr0(), cr4 = read_cr4();

	exc("exc.de_div0", t_de, false, 0, 0, t_de_at);
	uint32_t dr6 = 0;
	__asm__ volatile("mov %0, %%dr6" : : "r"(0));
	exc("exc.db_single_step", t_db, false, 1, 0, t_db_at);
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	check(dr6 & 0x4000, "exc.db_single_step_dr6_bs", "dr6=0x%x", dr6);
	exc("exc.db_single_step_over_cpuid", t_db_cpuid, false, 1, 0, t_db_cpuid_at);
	exc("exc.bp_int3", t_bp, false, 3, 0, t_bp_at);
	exc("exc.of_into", t_of, false, 4, 0, t_of_at);
	exc("exc.br_bound", t_br, false, 5, 0, t_br_at);
	exc("exc.ud_ud2", t_ud, false, 6, 0, t_ud_at);
	write_cr0(cr0 | CR0_TS);
	exc("exc.nm_fpu_with_ts", t_nm, false, 7, 0, t_nm_at);
	write_cr0(cr0);
	/* #DF: INT 0x99 on a not-present gate raises #NP, whose own gate is not present: a
	 * second contributory fault while delivering the first. */
	struct gate32 *idt = idt_base(), g99 = idt[0x99], g11 = idt[11];
	idt[0x99].type = 0x0e; /* 32-bit interrupt gate, P=0 */
	idt[11].type = 0x0e;
	exc("exc.df_np_while_delivering_np", t_df, false, 8, 0, NULL);
	idt[11] = g11;
	exc("exc.np_int_gate_not_present", t_df, false, 11, 0x99 * 8 + 2, t_df_at);
	idt[0x99] = g99;
	/* #TS: a CPL3 call through a gate to DPL1 code whose TSS stack (SS1 = 0x10, DPL0) is not
	 * a valid ring-1 stack segment. */
	struct dtr32 g;
	__asm__ volatile("sgdt %0" : "=m"(g));
	uint64_t d = ((volatile uint64_t *)g.base)[SEL_TSS / 8];
	uint32_t tss = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 56) << 24));
	*(volatile uint32_t *)(tss + 12) = (uint32_t)ring1_stack + sizeof(ring1_stack); /* ESP1 */
	*(volatile uint32_t *)(tss + 16) = SEL_KDATA;                                  /* SS1 */
	exc("exc.ts_call_gate_bad_ss1", u_ts, true, 10, SEL_KDATA, u_ts_at);
	exc("exc.np_ds_not_present", t_np, false, 11, SEL_NP, t_np_at);
	exc("exc.ss_ss_not_present", t_ss, false, 12, SEL_NP, t_ss_at);
	exc("exc.gp_ds_beyond_gdt", t_gp, false, 13, 0x400, t_gp_at);
	/* #PF: not present, read-only with CR0.WP, user on a supervisor page (injected by the
	 * hypervisor: it intercepts every #PF). */
	pd[0x302] = 0;
	pd[0x303] = 0x00400000u | P | PS;
	pd[0x304] = 0x00400000u | P | RW | PS;
	invlpg(NP_VA);
	invlpg(RO_VA);
	invlpg(SUP_VA);
	pf_addr = NP_VA + 0x10;
	exc("exc.pf_read_not_present", t_rd, false, 14, 0, t_rd_at);
	check(fault_last.cr2 == NP_VA + 0x10, "exc.pf_read_not_present_cr2", "0x%x", fault_last.cr2);
	pf_addr = NP_VA + 0x14;
	exc("exc.pf_write_not_present", t_wr, false, 14, 2, t_wr_at);
	write_cr0(cr0 | CR0_WP);
	pf_addr = RO_VA + 0x18;
	exc("exc.pf_write_read_only_wp", t_wr, false, 14, 3, t_wr_at);
	write_cr0(cr0);
	pf_addr = SUP_VA + 0x1c;
	exc("exc.pf_user_read_supervisor", u_rd, true, 14, 5, u_rd_at);
	check(fault_last.cr2 == SUP_VA + 0x1c, "exc.pf_user_read_supervisor_cr2", "0x%x",
	      fault_last.cr2);
	/* #MF: x87 divide by zero unmasked, CR0.NE: raised at the next waiting instruction. */
	write_cr0((cr0 | CR0_NE | CR0_MP) & ~(CR0_EM | CR0_TS));
	exc("exc.mf_x87_div0", t_mf, false, 16, 0, t_mf_at);
	__asm__ volatile("fninit");
	write_cr0(cr0);
	/* #AC: CR0.AM, EFLAGS.AC, a misaligned read at CPL3. */
	write_cr0(cr0 | CR0_AM);
	exc("exc.ac_misaligned_cpl3", u_ac, true, 17, 0, u_ac_at);
	write_cr0(cr0);
	/* #XM: SSE divide by zero unmasked in MXCSR, CR4.OSFXSR | OSXMMEXCPT. */
	write_cr4(cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT);
	write_cr0(cr0 & ~(CR0_EM | CR0_TS));
	exc("exc.xm_sse_div0", t_xm, false, 19, 0, t_xm_at);
	uint32_t clean = 0x1f80;
	__asm__ volatile("ldmxcsr %0" : : "m"(clean));
	write_cr4(cr4);
	write_cr0(cr0);
	audit("exceptions in every vector");
}

/* ---- INT n for all 256 vectors ---- */

static void record_any(struct idt_frame *f)
{
	if (!fault_armed) {
		printf("UNEXPECTED INTERRUPT %u eip=0x%x\n", f->vector, f->eip);
		guest_exit(IDT_UNEXPECTED_EXIT);
	}
	fault_record(f);
}

static bool has_error_code(int v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

/* INT n on each vector. Vectors whose exception pushes an error code get none from INT n:
 * the stub's frame is shifted by one word, so "error" holds the return EIP and "eip" CS. */
static uint32_t int_all(bool zap)
{
	uint32_t ok = 0;
	for (int v = 0; v < 256; v++) {
		uint32_t ret = (uint32_t)int_table + 4 * (uint32_t)v + 2;
		if (zap)
			hypercall(HC_ZAP_ALL, 0, 0, 0, 0);
		int got = fault_run((void (*)(void))(int_table + 4 * v));
		bool good = got == v && (has_error_code(v) ? fault_last.error == ret && fault_last.eip == 0x08
							  : fault_last.error == 0 && fault_last.eip == ret);
		ok += good;
		if (!good)
			printf("FAIL int %d%s: vector %d error=0x%x eip=0x%x (return eip 0x%x)\n", v,
			       zap ? " after zap" : "", got, fault_last.error, fault_last.eip, ret);
	}
	guest_failures += 256 - ok;
	return ok;
}

static void every_vector(void)
{
	idt_install_all(); /* replaces the INT 0x80/0x81 gates of pt.c and fault.c too */
	for (int v = 32; v < 256; v++)
		idt_set_handler(v, record_any);
	printf("int n: %u of 256 vectors delivered to their gate with the right frame\n",
	       int_all(false));
	if (hv)
		printf("int n after zapping all shadow pages: %u of 256\n", int_all(true));
	audit("INT n on all 256 vectors");
}

/* ---- variants: deadly ends ---- */

static void variant_nogate(void)
{
	struct gate32 *idt = (struct gate32 *)idt_pages[0];
	memcpy(idt, idt_base(), 256 * 8);
	idt[0x99].type = 0x0e; /* not present */
	idt[VEC_NP].type = 0x0e;
	idt[VEC_DF].type = 0x0e;
	struct dtr32 n = { 256 * 8 - 1, (uint32_t)idt };
	extern char nogate_int[];
	printf("int 0x99 at 0x%x: gates 0x99, #NP and #DF not present: expecting a triple fault\n",
	       (uint32_t)nogate_int);
	__asm__ volatile("lidt %0" : : "m"(n) : "memory");
	if (hv)
		hypercall(HC_ZAP_ALL, 0, 0, 0, 0); /* delivery exits halfway (IDT not shadowed) */
	__asm__ volatile(".global nogate_int\nnogate_int: int $0x99");
	puts("FAIL still running after int 0x99\n");
}

static void variant_df_pf(void)
{
	/* IDT at 0xc0001000 - 16 * 8: gates 0-15 on page 0xc0000000 (not present), 16-255 on
	 * 0xc0001000 (present). */
	memset(pt_test, 0, sizeof(pt_test));
	pt_test[1] = (uint32_t)idt_pages[1] | P | RW;
	pd[TEST_PDE] = (uint32_t)pt_test | P | RW;
	memcpy(idt_pages[0] + 4096 - 16 * 8, idt_base(), 16 * 8);
	memcpy(idt_pages[1], (uint8_t *)idt_base() + 16 * 8, 240 * 8);
	struct dtr32 n = { 256 * 8 - 1, ALIAS_VA - 16 * 8 };
	extern char df_pf_read[];
	printf("read at 0x%x of a not-present page, #PF and #DF gates on a not-present page: "
	       "expecting a triple fault\n", (uint32_t)df_pf_read);
	__asm__ volatile("lidt %0" : : "m"(n) : "memory");
	uint32_t a = T_VA + 0x2000;
	__asm__ volatile(".global df_pf_read\ndf_pf_read: movl (%0), %0" : "+r"(a) : : "memory");
	puts("FAIL still running after the #PF\n");
}

static void variant_mmio_pt(void)
{
	puts("pointing a page-directory entry at device memory\n");
	pd[0x301] = 0xfeb00000u | P | RW; /* a page table in MMIO */
	__asm__ volatile("invlpg (%0)" ::"r"(0xc0400000u) : "memory");
	printf("read through it: 0x%x\n", *(volatile uint32_t *)0xc0400000u);
}

static const char *variant_of(struct mb1_info *mbi)
{
	const char *cl = (mbi->flags & 4) ? (const char *)mbi->cmdline : "";
	for (const char *p = cl; *p; p++)
		if (!memcmp(p, "variant=", 8))
			return p + 8;
	return NULL;
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	serial_init();
	idt_init();
	puts("TEST hostile\n");
	hv = hv_present();
	paging_on();
	const char *variant = variant_of(mbi);
	if (variant) {
		if (!memcmp(variant, "mmio_pt", 7))
			variant_mmio_pt();
		else if (!memcmp(variant, "nogate", 6))
			variant_nogate();
		else if (!memcmp(variant, "df_pf", 5))
			variant_df_pf();
		else
			puts("unknown variant\n");
		return 0x7c;
	}
	faults_init();
	touch_everything();
	host_memory();
	pse36();
	self_map();
	straddle();
	pte_loop();
	bad_hypercalls();
	storm();
	no_gate();
	msrs_and_vmx();
	exceptions();
	every_vector();
	printf("RESULT failures=%d\n", guest_failures);
	return guest_failures;
}
