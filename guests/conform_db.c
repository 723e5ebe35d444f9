/* conform_db.c - debug exceptions a public x86 test suite checks (issue 17), printed for a
 * line-by-line comparison with the same guest on bare Bochs, the CPU reference
 * (tests/system/test_conform_db.py). The guest prints what it observes and no verdicts.
 *
 * Each case runs a short sequence and logs every event in order: a #DB (its EIP and DR6, which
 * the handler clears after reading it), a #BP, the APIC timer's interrupt, and the fault that
 * ends a run (fault.h). EIPs are printed relative to the case's label ("s+N"), as the #DB or
 * #BP handler's own entry ("h1", "h3": an event delivered before its first instruction), or
 * in hex.
 * - ss_gd_dr6, ss_gd_dr7: TF set by POPF, MOV SS, then a MOV to DR6 (or DR7) with DR7.GD=1:
 *   MOV-SS blocking does not hold back the general-detect #DB (a fault, DR6.BD, GD cleared by
 *   its delivery); the MOV runs again after IRET and single-steps from there (DR6.BS).
 * - sti_hlt: TF, STI, HLT with the APIC timer armed: a single-step #DB after STI (STI blocking
 *   does not hold it back) and one after HLT, the one that takes the CPU out of HLT (SDM 18.3.1.4:
 *   traps are taken at the instruction boundary after HLT); the timer interrupt comes when IF
 *   allows it. sti_hlt_user: the same at CPL3 with IOPL 3: HLT there is #GP. cli_hlt (under
 *   the hypervisor only): TF, HLT with IF clear: the #DB after HLT resumes execution.
 * - step_self_nmi, step_self_ipi: TF, then a write to the ICR that sends this CPU an NMI or
 *   an interrupt: the single-step #DB (a trap on the previous instruction) goes before either
 *   (SDM 6.9); the NMI comes at the #DB handler's first instruction, the interrupt after its
 *   IRET.
 * - ss_data_bp_int1, ss_data_bp_int3: MOV SS whose read hits a data breakpoint (DR1), then
 *   INT $1 (CD 01, not ICEBP) or INT3 behind 11 CS prefixes: the breakpoint's #DB, held back by
 *   MOV-SS blocking, is delivered with the software interrupt, before its handler's first
 *   instruction: two #DBs for INT $1, one #DB and one #BP for INT3. ss_data_bp_cpuid,
 *   ss_data_bp_in, ss_step_cpuid, ss_step_in: the breakpoint's or single step's #DB held back
 *   by MOV SS past an instruction the hypervisor completes after an exit (CPUID, an IN from
 *   the UART's LSR): one #DB, after it.
 *
 * Line format: "NAME: n=K EVENT..." with EVENT "db@EIP/dr6=X", "bp@EIP", "nmi@EIP", "tmr@EIP" or
 * "fault=V@EIP", then "end" or "fault=V". */
#include "guest.h"
#include "idt.h"
#include "pt.h"
#include "fault.h"
#include "hv.h"

#define RFLAGS_TF (1u << 8)
#define RFLAGS_RF (1u << 16)
#define DR7_GD (1u << 13)
#define APIC_MMIO 0xfee00000u
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_DIV 0x3e0
#define TIMER_VEC 48

#define P(name) ".global " #name "\n" #name ":\n"
#define AT(name) ".global " #name "_at\n" #name "_at:\n"
/* TF on (EAX = EFLAGS with TF) by POPF: traps start after the instruction following POPF. */
#define TF_ON "pushfl\n popl %eax\n orl $0x100, %eax\n pushl %eax\n"
/* TF off again: AND (5 bytes), PUSH, POPF (which still traps: it starts with TF set). */
#define TF_OFF "andl $~0x100, %eax\n pushl %eax\n popfl\n"

__asm__(".text\n"
	/* MOV SS, then MOV to DR6 (ECX = 0) with DR7.GD set by the caller */
	P(c_ss_gd_dr6) "xorl %ecx, %ecx\n" TF_ON "movw %ss, %dx\n popfl\n movw %dx, %ss\n"
	AT(c_ss_gd_dr6) "movl %ecx, %dr6\n" TF_OFF "ret\n"
	/* the same with MOV to DR7 (ECX = 0x400) */
	P(c_ss_gd_dr7) "movl $0x400, %ecx\n" TF_ON "movw %ss, %dx\n popfl\n movw %dx, %ss\n"
	AT(c_ss_gd_dr7) "movl %ecx, %dr7\n" TF_OFF "ret\n"
	/* STI; HLT with TF (IF clear before, so the interrupt cannot come before HLT) */
	P(c_sti_hlt) "cli\n" TF_ON "popfl\n sti\n" AT(c_sti_hlt) "hlt\n" TF_OFF "ret\n"
	P(c_cli_hlt) "cli\n" TF_ON "popfl\n nop\n" AT(c_cli_hlt) "hlt\n" TF_OFF "ret\n"
	P(c_sti_hlt_user) "cli\n" TF_ON "popfl\n sti\n" AT(c_sti_hlt_user) "hlt\n" TF_OFF
	FAULT_USER_DONE "\n"
	/* TF, then an IPI to this CPU written to the ICR (ECX: NMI to APIC ID 0, ICR_HI 0: the
	 * "self" shorthand is for fixed delivery only; or fixed vector 48 to self, IF set) */
	P(c_step_nmi) "movl $0x4400, %ecx\n" TF_ON "popfl\n" AT(c_step_nmi)
	"movl %ecx, 0xfee00300\n" TF_OFF "ret\n"
	P(c_step_ipi) "movl $0x44030, %ecx\n sti\n" TF_ON "popfl\n" AT(c_step_ipi)
	"movl %ecx, 0xfee00300\n" TF_OFF "cli\n ret\n"
	/* An NMI to this CPU; its handler sends another while NMIs are blocked (nmi_again): held
	 * pending until the handler's IRET, then delivered at once (SDM 6.7.1). */
	P(c_nmi_twice) "movl $0x4400, %ecx\n" AT(c_nmi_twice) "movl %ecx, 0xfee00300\n nop\n nop\n"
	"ret\n"
	/* MOV SS from ss_value (a data breakpoint on it), then INT $1 or INT3 */
	P(c_ss_int1) "movw ss_value, %ss\n" AT(c_ss_int1) "int $1\n ret\n"
	P(c_ss_int3) "movw ss_value, %ss\n" AT(c_ss_int3)
	".byte 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0xcc\n ret\n"
	/* the same with an instruction the hypervisor completes after an exit (CPUID, IN from
	 * the UART's LSR): the held-back #DB comes after it */
	P(c_ss_cpuid) "pushl %ebx\n xorl %eax, %eax\n movw ss_value, %ss\n" AT(c_ss_cpuid)
	"cpuid\n popl %ebx\n ret\n"
	P(c_ss_in) "movl $0x3fd, %edx\n movw ss_value, %ss\n" AT(c_ss_in) "inb %dx, %al\n ret\n"
	/* TF, MOV SS, then CPUID or IN: one single-step #DB, after the second instruction */
	P(c_ss_step_cpuid) "pushl %ebx\n" TF_ON "movw %ss, %dx\n popfl\n movw %dx, %ss\n"
	AT(c_ss_step_cpuid) "cpuid\n" TF_OFF "popl %ebx\n ret\n"
	P(c_ss_step_in) TF_ON "movw %ss, %cx\n movl $0x3fd, %edx\n popfl\n movw %cx, %ss\n"
	AT(c_ss_step_in) "inb %dx, %al\n" TF_OFF "ret\n");

#define DECL(n) extern char n[], n##_at[];
DECL(c_ss_gd_dr6) DECL(c_ss_gd_dr7) DECL(c_sti_hlt) DECL(c_cli_hlt) DECL(c_sti_hlt_user) DECL(c_ss_int1)
DECL(c_ss_int3)
DECL(c_step_nmi) DECL(c_step_ipi) DECL(c_nmi_twice) DECL(c_ss_cpuid) DECL(c_ss_in) DECL(c_ss_step_cpuid) DECL(c_ss_step_in)

volatile uint16_t ss_value __attribute__((aligned(4))) = 0x10; /* the flat data selector; read by MOV SS */

/* ---- the event log: #DB, #BP, NMI, the interrupt (vector 48), the fault that ends a run ---- */
#define LOG_MAX 12
struct event {
	uint32_t vector, eip, dr6;
};
static volatile struct event log[LOG_MAX];
static volatile uint32_t n_events;


static void log_event(uint32_t vector, uint32_t eip, uint32_t dr6)
{
	uint32_t i = n_events++;
	if (i < LOG_MAX)
		log[i] = (struct event){ vector, eip, dr6 };
}

/* #DB: logged with DR6 (then cleared, so each #DB shows its own bits); RF set after an
 * instruction breakpoint; after LOG_MAX events TF and the breakpoints go off (a runaway). */
static void on_db(struct idt_frame *f)
{
	uint32_t dr6 = read_dr6();
	write_dr6(0);
	log_event(VEC_DB, f->eip, dr6);
	if (dr6 & 0xf)
		f->eflags |= RFLAGS_RF;
	if (n_events >= LOG_MAX) {
		f->eflags &= ~RFLAGS_TF;
		write_dr7(0x400);
	}
}

static void on_bp(struct idt_frame *f) { log_event(VEC_BP, f->eip, 0); }
static void apic_wr(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(APIC_MMIO + reg) = v; }

static volatile uint32_t nmi_again; /* NMIs the handler sends this CPU, NMIs blocked */
static void on_nmi(struct idt_frame *f)
{
	log_event(VEC_NMI, f->eip, 0);
	if (nmi_again) {
		nmi_again--;
		apic_wr(0x300, 0x4400); /* ICR: NMI to APIC ID 0 (ICR_HI 0) */
	}
}

static void on_timer(struct idt_frame *f)
{
	log_event(TIMER_VEC, f->eip, 0);
	apic_wr(APIC_EOI, 0);
}

static uint32_t gate_offset(int vector)
{
	struct dtr32 i;
	__asm__ volatile("sidt %0" : "=m"(i));
	const uint8_t *g = (const uint8_t *)i.base + vector * 8;
	return g[0] | (g[1] << 8) | ((uint32_t)g[6] << 16) | ((uint32_t)g[7] << 24);
}

/* Under the hypervisor the cases run a second time, each right after HC_ZAP_ALL: every page the
 * sequence touches (GDT for MOV SS, IDT, handler code, stack) then takes a shadow-paging exit
 * first, some in the middle of delivering a #DB, #BP, NMI or interrupt. Printed as "HV zap
 * NAME: ..." with the rest of the line as on bare Bochs. */
static bool zap, hv_only;
static uint32_t zap_faults; /* the hypervisor's shadow-fault count after the zap */
static void zap_shadow(void)
{
	if (!zap)
		return;
	hypercall(HC_ZAP_ALL, 0, 0, 0, 0);
	zap_faults = hv_stat(STAT_SHADOW_FAULTS);
}

/* "HV zap NAME shadow_faults=N": the shadow faults the zapped run took (hypercalls only). */
static void zap_report(const char *name)
{
	if (zap)
		printf("HV zap %s shadow_faults=%u\n", name, hv_stat(STAT_SHADOW_FAULTS) - zap_faults);
}

static const char *line_prefix(void) { return zap ? "HV zap " : hv_only ? "HV " : ""; }

static void print_eip(uint32_t eip, const char *start)
{
	uint32_t s = (uint32_t)start;
	if (eip >= s && eip < s + 64)
		printf("s+%u", eip - s);
	else if (eip == gate_offset(VEC_DB))
		printf("h1");
	else if (eip == gate_offset(VEC_BP))
		printf("h3");
	else
		printf("0x%x", eip);
}

/* Runs fn (at CPL3 if user) with the log empty, DR6 clear, DR7 = dr7; prints the log. */
static void run_case(const char *name, char *fn, char *start, bool user, uint32_t dr7)
{
	n_events = 0;
	write_dr6(0);
	write_dr7(dr7); /* last: with GD set, the next MOV DR faults */
	zap_shadow();
	int v = user ? fault_run_user((void (*)(void))fn) : fault_run((void (*)(void))fn);
	zap_report(name);
	if (v >= 0)
		log_event(0x100 + (uint32_t)v, fault_last.eip, 0);
	write_dr7(0x400);
	uint32_t n = n_events;
	printf("%s%s: n=%u", line_prefix(), name, n);
	for (uint32_t i = 0; i < n && i < LOG_MAX; i++) {
		const volatile struct event *e = &log[i];
		if (e->vector == VEC_DB)
			printf(" db@");
		else if (e->vector == VEC_BP)
			printf(" bp@");
		else if (e->vector == VEC_NMI)
			printf(" nmi@");
		else if (e->vector == TIMER_VEC)
			printf(" tmr@");
		else
			printf(" fault=%u@", e->vector - 0x100);
		print_eip(e->eip, start);
		if (e->vector == VEC_DB)
			printf("/dr6=0x%x", e->dr6);
	}
	printf(" %s\n", v < 0 ? "end" : "fault");
}

static void ss_gd(void)
{
	run_case("dbg.ss_gd_dr6", c_ss_gd_dr6, c_ss_gd_dr6_at, false, 0x400 | DR7_GD);
	run_case("dbg.ss_gd_dr7", c_ss_gd_dr7, c_ss_gd_dr7_at, false, 0x400 | DR7_GD);
}

/* STI; HLT woken by a one-shot APIC timer interrupt (xAPIC, the 8259s masked). Whatever did
 * not come during the sequence is waited for with IF set afterwards and logged there. */
static void sti_hlt(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
	apic_wr(APIC_SVR, 0x1ff);
	apic_wr(APIC_ICR_HI, 0); /* physical destination APIC ID 0: this CPU */
	apic_wr(APIC_LVT_TIMER, TIMER_VEC); /* one-shot */
	apic_wr(APIC_TIMER_DIV, 0xb);       /* divide by 1 */
	apic_wr(APIC_TIMER_INIT, 1000000);
	n_events = 0;
	write_dr6(0);
	zap_shadow();
	int v = fault_run((void (*)(void))c_sti_hlt);
	zap_report("dbg.sti_hlt");
	uint32_t during = n_events;
	__asm__ volatile("sti");
	for (uint32_t spin = 0; spin < 100000000u && n_events == during; spin++)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	apic_wr(APIC_TIMER_INIT, 0);
	uint32_t n = n_events;
	printf("%sdbg.sti_hlt: n=%u", line_prefix(), n);
	for (uint32_t i = 0; i < n && i < LOG_MAX; i++) {
		if (i == during)
			printf(" |");
		printf(log[i].vector == VEC_DB ? " db@" : " tmr@");
		print_eip(log[i].eip, c_sti_hlt_at);
		if (log[i].vector == VEC_DB)
			printf("/dr6=0x%x", log[i].dr6);
	}
	printf(" %s\n", v < 0 ? "end" : "fault");
	/* HLT with IF clear: the single-step #DB takes the CPU out of HLT (SDM, HLT: "a debug
	 * exception ... will resume execution"), as under KVM. Bare Bochs 2.7 stays halted for
	 * an interrupt that cannot come: under the hypervisor only. */
	if (hv_present()) {
		hv_only = true;
		run_case("dbg.cli_hlt", c_cli_hlt, c_cli_hlt_at, false, 0x400);
		hv_only = false;
	}
	fault_user_eflags = 0x3002; /* IOPL 3: CLI and STI at CPL3 */
	run_case("dbg.sti_hlt_user", c_sti_hlt_user, c_sti_hlt_user_at, true, 0x400);
	fault_user_eflags = 0x2;
	run_case("dbg.step_self_nmi", c_step_nmi, c_step_nmi_at, false, 0x400);
	run_case("dbg.step_self_ipi", c_step_ipi, c_step_ipi_at, false, 0x400);
	nmi_again = 1;
	run_case("dbg.nmi_self_blocked", c_nmi_twice, c_nmi_twice_at, false, 0x400);
	nmi_again = 0;
}

static void ss_data_bp(void)
{
	write_dr1((uint32_t)&ss_value);
	/* G1, read or write, 4 bytes */
	run_case("dbg.ss_data_bp_int1", c_ss_int1, c_ss_int1_at, false, 0x00f00408);
	run_case("dbg.ss_data_bp_int3", c_ss_int3, c_ss_int3_at, false, 0x00f00408);
	run_case("dbg.ss_data_bp_cpuid", c_ss_cpuid, c_ss_cpuid_at, false, 0x00f00408);
	run_case("dbg.ss_data_bp_in", c_ss_in, c_ss_in_at, false, 0x00f00408);
	run_case("dbg.ss_step_cpuid", c_ss_step_cpuid, c_ss_step_cpuid_at, false, 0x400);
	run_case("dbg.ss_step_in", c_ss_step_in, c_ss_step_in_at, false, 0x400);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	printf("TEST conform_db\n");
	idt_init();
	pt_gdt_init(false);
	fault_init();
	idt_set_handler(VEC_DB, on_db);
	idt_set_handler(VEC_BP, on_bp);
	idt_set_handler(VEC_NMI, on_nmi);
	idt_set_handler(TIMER_VEC, on_timer);
	if (hv_present())
		printf("HV hypervisor detected\n");
	ss_gd();
	sti_hlt();
	ss_data_bp();
	if (hv_present()) {
		zap = true;
		ss_gd();
		sti_hlt();
		ss_data_bp();
		zap = false;
	}
	printf("RESULT done\n");
	guest_exit(0);
	return 0;
}
