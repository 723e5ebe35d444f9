/* conform.c - CPU and local-APIC behaviour that a public x86 test suite checks (issue 17),
 * printed for a line-by-line comparison with the same guest on bare Bochs, the CPU reference
 * (tests/system/test_conform.py). The guest prints what it observes and no verdicts.
 *
 * - RF in the EFLAGS image of a fault: the CPU sets it for every fault but an instruction
 *   breakpoint (SDM 18.3.1.1), so that an IRET back to the faulting instruction does not hit an
 *   instruction breakpoint on it again. Covered: faults the CPU raises itself (#DE, as a
 *   control), faults the hypervisor injects (refused WRMSR/RDMSR, a reserved CR4 bit, VMXON,
 *   XSETBV, a page fault found by the instruction emulator on an MMIO string move), a page
 *   fault reflected from the shadow MMU, and a trap (INT3: RF clear). Then the case RF exists
 *   for: a #GP handler that puts an instruction breakpoint on the faulting instruction and
 *   returns to it; with RF set in the image, the retry does not raise #DB.
 * - CPUID.1:EDX.APIC (bit 9) follows IA32_APIC_BASE.EN (SDM 11.4.3: clearing EN makes the
 *   processor report no APIC in CPUID).
 * - x2APIC register writes with reserved bits (SDM 11.12.1.3), SELF IPI (MSR 0x83f) bits 31:8
 *   among them, and EOI/ESR writes of non-zero values.
 *
 * Line format: "NAME: vec=V" (the vector raised) or "NAME: none", extra fields after it. Paging
 * is on for the page-fault cases only. */
#include "guest.h"
#include "idt.h"
#include "pt.h"
#include "fault.h"

#define RFLAGS_RF (1u << 16)
#define CR4_OSXSAVE (1u << 18)
#define MSR_APIC_BASE 0x1b
#define MSR_PAT 0x277
#define APIC_BASE_EN (1u << 11)
#define APIC_BASE_EXTD (1u << 10)
#define APIC_MMIO 0xfee00000u
#define APIC_VERSION (APIC_MMIO + 0x30)

/* ---- the probes: each NAME has a label NAME_at on the instruction that faults ---- */
#define P(name) ".global " #name "\n" #name ":\n"
#define AT(name) ".global " #name "_at\n" #name "_at:\n"

__asm__(".text\n"
	P(c_div0) "xorl %ecx, %ecx\n movl $1, %eax\n xorl %edx, %edx\n" AT(c_div0) "divl %ecx\n ret\n"
	P(c_int3) AT(c_int3) "int3\n ret\n"
	/* WRMSR/RDMSR of the MSR and value in msr_num, msr_lo, msr_hi */
	P(c_wrmsr) "movl msr_num, %ecx\n movl msr_lo, %eax\n movl msr_hi, %edx\n" AT(c_wrmsr)
	"wrmsr\n ret\n"
	P(c_rdmsr) "movl msr_num, %ecx\n" AT(c_rdmsr) "rdmsr\n ret\n"
	/* CR4 with bit 15 (reserved on every CPU) */
	P(c_cr4_rsvd) "movl %cr4, %eax\n orl $0x8000, %eax\n" AT(c_cr4_rsvd) "movl %eax, %cr4\n ret\n"
	P(c_vmxon) "movl $vmx_region, %eax\n" AT(c_vmxon) ".byte 0xf3, 0x0f, 0xc7, 0x30\n ret\n"
	/* XCR0 = 0: x87 state cannot be disabled (#GP) */
	P(c_xsetbv) "xorl %ecx, %ecx\n xorl %eax, %eax\n xorl %edx, %edx\n" AT(c_xsetbv)
	".byte 0x0f, 0x01, 0xd1\n ret\n"
	/* page faults: the address is in pf_addr */
	P(c_pf_read) "movl pf_addr, %ecx\n" AT(c_pf_read) "movl (%ecx), %eax\n ret\n"
	P(c_pf_movs) "pushl %esi\n pushl %edi\n movl $0xfee00030, %esi\n movl pf_addr, %edi\n"
	"movl $1, %ecx\n cld\n" AT(c_pf_movs) "rep movsl\n popl %edi\n popl %esi\n ret\n"
	/* the retried WRMSR: EFER with reserved bit 2 */
	P(c_retry) "movl $0xc0000080, %ecx\n rdmsr\n orl $4, %eax\n" AT(c_retry) "wrmsr\n ret\n");

#define DECL(n) extern char n[], n##_at[];
DECL(c_div0) DECL(c_int3) DECL(c_wrmsr) DECL(c_rdmsr) DECL(c_cr4_rsvd) DECL(c_vmxon)
DECL(c_xsetbv) DECL(c_pf_read) DECL(c_pf_movs) DECL(c_retry)

/* Data the probes use (referenced by name from the assembly above). */
uint8_t vmx_region[4096] __attribute__((aligned(4096)));
volatile uint32_t msr_num, msr_lo, msr_hi;
volatile uint32_t pf_addr;

static uint32_t cpuid_reg(uint32_t leaf, int reg)
{
	uint32_t r[4];
	cpuid(leaf, 0, r);
	return r[reg];
}

/* One probe: "NAME: vec=V rf=R" (RF of the pushed EFLAGS) or "NAME: none". */
static int probe(const char *name, char *fn, char *at)
{
	int v = fault_run((void (*)(void))fn);
	if (v < 0) {
		printf("%s: none\n", name);
		return v;
	}
	printf("%s: vec=%d eip=%s rf=%u\n", name, v, fault_last.eip == (uint32_t)at ? "at" : "other",
	       (fault_last.eflags & RFLAGS_RF) ? 1 : 0);
	return v;
}
#define PROBE(name, t) probe(name, t, t##_at)

static int msr_probe(const char *name, bool write, uint32_t msr, uint64_t value)
{
	msr_num = msr;
	msr_lo = (uint32_t)value;
	msr_hi = (uint32_t)(value >> 32);
	return write ? probe(name, c_wrmsr, c_wrmsr_at) : probe(name, c_rdmsr, c_rdmsr_at);
}

static void rf_faults(void)
{
	PROBE("rf.de_native", c_div0);
	PROBE("rf.int3_trap", c_int3);
	msr_probe("rf.wrmsr_efer_reserved", true, MSR_EFER, rdmsr(MSR_EFER) | 4);
	msr_probe("rf.wrmsr_pat_bad_type", true, MSR_PAT, 0x0007040600070402ull);
	msr_probe("rf.rdmsr_x2apic_in_xapic_mode", false, 0x802, 0);
	PROBE("rf.cr4_reserved_bit", c_cr4_rsvd);
	PROBE("rf.vmxon", c_vmxon);
	if (cpuid_reg(1, 2) & (1u << 26)) { /* XSAVE */
		write_cr4(read_cr4() | CR4_OSXSAVE);
		PROBE("rf.xsetbv_bad_xcr0", c_xsetbv);
		write_cr4(read_cr4() & ~CR4_OSXSAVE);
	}
}

/* ---- page faults: reflected from the shadow MMU, and found by the instruction emulator ---- */
static uint8_t pt_pages[4][4096] __attribute__((aligned(4096)));
static uint8_t np_page[4096] __attribute__((aligned(4096)));

static void rf_page_faults(void)
{
	struct pt_pool pool = PT_POOL(pt_pages);
	void *pd = pt_alloc(&pool);
	for (uint32_t va = 0; va < (4u << 20); va += 4096)
		pt_map(&pool, PT_MODE_32, pd, va, va, PTE_P | PTE_W, 1);
	pt_map(&pool, PT_MODE_32, pd, APIC_MMIO, APIC_MMIO, PTE_P | PTE_W | PTE_PCD, 1);
	*(uint32_t *)pt_entry(PT_MODE_32, pd, (uint32_t)np_page, 1) = 0; /* not present */
	write_cr3((uint32_t)pd);
	uint32_t cr0 = read_cr0();
	write_cr0(cr0 | 0x80000000u);
	pf_addr = (uint32_t)np_page + 0x10;
	if (PROBE("rf.pf_reflected", c_pf_read) == VEC_PF)
		printf("rf.pf_reflected cr2=page+0x%x\n", fault_last.cr2 - (uint32_t)np_page);
	/* MOVS from the APIC's version register to a page that is not present: under the
	 * hypervisor the MMIO read exits and the emulator finds the fault on the store. */
	if (PROBE("rf.pf_emulated_movs", c_pf_movs) == VEC_PF)
		printf("rf.pf_emulated_movs cr2=page+0x%x\n", fault_last.cr2 - (uint32_t)np_page);
	write_cr0(cr0);
}

/* ---- the retry: #GP, an instruction breakpoint on the faulting instruction, IRET to it ---- */
static volatile uint32_t retry_gp, retry_db, retry_rf;


static void on_gp_retry(struct idt_frame *f)
{
	retry_gp++;
	retry_rf = (retry_rf << 1) | ((f->eflags & RFLAGS_RF) ? 1 : 0);
	if (retry_gp == 1) { /* an execution breakpoint (L0, R/W 00, LEN 00) on it, and retry */
		write_dr0(f->eip);
		write_dr7(0x401);
		return;
	}
	write_dr7(0x400);
	fault_record(f);
}

static void on_db_retry(struct idt_frame *f)
{
	retry_db++;
	f->eflags |= RFLAGS_RF; /* what a debugger does to go on past its breakpoint */
	if (retry_db > 4)
		write_dr7(0x400);
}

static void rf_retry(void)
{
	retry_gp = retry_db = retry_rf = 0;
	idt_set_handler(VEC_GP, on_gp_retry);
	idt_set_handler(VEC_DB, on_db_retry);
	int v = fault_run((void (*)(void))c_retry);
	write_dr7(0x400);
	fault_init(); /* the recording handlers again */
	printf("rf.retry_with_instruction_breakpoint: vec=%d gp=%u db=%u rf_bits=%x\n", v, retry_gp,
	       retry_db, retry_rf);
}

/* ---- the local APIC ---- */
static void apic_cpuid_bits(const char *when)
{
	uint32_t d = cpuid_reg(1, 3), c = cpuid_reg(1, 2);
	printf("apic.cpuid_%s: apic=%u x2apic=%u base=0x%llx\n", when, (d >> 9) & 1, (c >> 21) & 1,
	       rdmsr(MSR_APIC_BASE));
}

/* Last: bare Bochs, like a CPU with the 3-wire APIC bus, does not enable the APIC again once
 * EN was cleared (SDM 11.4.3: FSB-based processors may, as the hypervisor's model does), so the
 * third line is printed under the hypervisor only. */
static void apic_cpuid(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	apic_cpuid_bits("enabled");
	/* EXTD too: x2APIC mode cannot go straight to "disabled with EXTD" (#GP) */
	wrmsr(MSR_APIC_BASE, base & ~(uint64_t)(APIC_BASE_EN | APIC_BASE_EXTD));
	apic_cpuid_bits("disabled");
	if (hv_present()) {
		wrmsr(MSR_APIC_BASE, base & ~(uint64_t)APIC_BASE_EXTD);
		uint32_t d = cpuid_reg(1, 3);
		printf("HV apic.cpuid_enabled_again: apic=%u base=0x%llx\n", (d >> 9) & 1,
		       rdmsr(MSR_APIC_BASE));
	}
}

/* x2APIC MSR writes (reserved bits set unless "_ok"); IF stays 0, so an IPI that is sent is
 * never taken. Ends in x2APIC mode. */
static void x2apic_writes(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (!(cpuid_reg(1, 2) & (1u << 21))) {
		printf("x2apic: not offered\n");
		return;
	}
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
	msr_probe("x2apic.self_ipi_ok", true, 0x83f, 0x40);
	msr_probe("x2apic.self_ipi_bit8", true, 0x83f, 0x140);
	msr_probe("x2apic.self_ipi_bit31", true, 0x83f, 0x80000040u);
	msr_probe("x2apic.self_ipi_bit32", true, 0x83f, 0x100000040ull);
	msr_probe("x2apic.tpr_ok", true, 0x808, 0x20);
	msr_probe("x2apic.tpr_bit8", true, 0x808, 0x120);
	msr_probe("x2apic.svr_bit9", true, 0x80f, 0x2ff);
	msr_probe("x2apic.svr_bit10", true, 0x80f, 0x4ff);
	msr_probe("x2apic.svr_bit12", true, 0x80f, 0x10ff);
	msr_probe("x2apic.svr_bit31", true, 0x80f, 0x800000ffu);
	msr_probe("x2apic.svr_ok", true, 0x80f, 0x1ff);
	msr_probe("x2apic.lvt_timer_bit31", true, 0x832, 0x80010000u);
	msr_probe("x2apic.lvt_lint0_bit31", true, 0x835, 0x80010000u);
	msr_probe("x2apic.tdcr_bit4", true, 0x83e, 0x10);
	msr_probe("x2apic.tdcr_ok", true, 0x83e, 0x0b);
	msr_probe("x2apic.icr_bit20", true, 0x830, 0x00140040ull); /* self, vector 0x40 */
	msr_probe("x2apic.esr_nonzero", true, 0x828, 1);
	msr_probe("x2apic.esr_zero", true, 0x828, 0);
	msr_probe("x2apic.eoi_nonzero", true, 0x80b, 1);
	msr_probe("x2apic.eoi_zero", true, 0x80b, 0);
	printf("x2apic.tpr=0x%llx svr=0x%llx tdcr=0x%llx\n", rdmsr(0x808), rdmsr(0x80f),
	       rdmsr(0x83e));
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	printf("TEST conform\n");
	idt_init();
	pt_gdt_init(false);
	fault_init();
	if (hv_present())
		printf("HV hypervisor detected\n");
	rf_faults();
	rf_page_faults();
	rf_retry();
	x2apic_writes();
	apic_cpuid();
	printf("RESULT done\n");
	guest_exit(0);
	return 0;
}
