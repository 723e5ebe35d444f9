/* vcpu.c - VMCS setup for the guest, the run loop, event injection and the summary line. */
#include <stdarg.h>
#include "vmx/vcpu.h"
#include "vmx/apicv.h"
#include "vmx/caps.h"
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "kernel/cpu.h"
#include "kernel/fmt.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/pmm.h"
#include "kernel/panic.h"
#include "arch/asm.h"
#include "devices/pio.h"
#include "mmu/mmu.h"
#include "vmx/trace.h"
#include "vmx/debug_hooks.h"
#include "vmx/intr.h"
#include "vmx/resume.h"
#include "devices/intc.h"
#include "devices/irq.h"
#include "drivers/power.h"
#include "drivers/tsc.h"

struct vcpu vcpu0;

extern char vmx_exit[];

/* Computes a control field from its capability MSR; a wanted control the CPU lacks is fatal. */
static u32 control(const char *name, u64 cap, u32 want)
{
	u32 missing;
	u32 v = vmx_adjust_controls(cap, want, &missing);
	if (missing)
		panic("vmx: CPU cannot set %s controls %#x (capability %#llx)", name, missing, cap);
	return v;
}

static void setup_controls(struct vcpu *v)
{
	const struct vmx_caps *c = &vmx_caps;
	/* The VMX-preemption timer, when the CPU has it, gives an exit now and then even to a
	 * guest that never exits by itself, so the console (monitor escape, GDB Ctrl-C) is
	 * polled (the debug hooks' before_entry, vmx/debug_hooks.h). */
	u32 pin = PIN_EXT_INTR_EXITING | PIN_NMI_EXITING;
	/* Virtual NMIs: an injected NMI blocks further NMIs until the guest's IRET, as on bare
	 * hardware (without them, with NMI exiting on, IRET would never unblock; SDM 25.3). */
	if ((c->pin >> 32) & PIN_VIRTUAL_NMIS)
		pin |= PIN_VIRTUAL_NMIS;
	if ((c->pin >> 32) & PIN_PREEMPTION_TIMER)
		pin |= PIN_PREEMPTION_TIMER;
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, control("pin-based", c->pin, pin));
	/* No MSR or I/O bitmaps: every RDMSR/WRMSR and every I/O instruction exits. CR3 accesses
	 * exit because the guest's CR3 is virtual (the real one points at hypervisor tables).
	 * Secondary controls for "enable RDTSCP" (vmx/caps.h) and APIC virtualization
	 * (vmx/apicv.c): no EPT, VPID or unrestricted guest, so INVPCID and XSAVES keep #UD, as
	 * CPUID says. */
	if (v->apicv && !vmx_apicv_available(c->pin, c->proc, c->proc2)) {
		pr_info("apicv: off: the CPU lacks TPR shadow, APIC-access virtualization, "
			"APIC-register virtualization or virtual-interrupt delivery; every local APIC "
			"access traps");
		v->apicv = false;
	} else if (!v->apicv) {
		pr_info("apicv: off (apicv=off): every local APIC access traps");
	}
	v->apicv_x2 = v->apicv && vmx_x2apic_virtualization_available(c->proc, c->proc2);
	u32 proc2 = vmx_secondary_controls(c->proc, c->proc2) | apicv_secondary_controls(v);
	/* With the TPR shadow, MOV to/from CR8 reads and writes the virtual TPR without an exit. */
	u32 cr8_exits = v->apicv ? 0 : CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL,
		   control("processor-based", c->proc,
			   CPU_USE_TSC_OFFSETTING | CPU_HLT_EXITING | CPU_INVLPG_EXITING | CPU_MWAIT_EXITING |
			   CPU_RDPMC_EXITING | CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING |
			   cr8_exits | apicv_proc_controls(v) |
			   CPU_UNCOND_IO_EXITING | CPU_MONITOR_EXITING |
			   (proc2 ? CPU_ACTIVATE_SECONDARY : 0)));
	if (proc2)
		vmcs_write(SECONDARY_VM_EXEC_CONTROL, control("secondary", c->proc2, proc2));
	v->rdtscp = proc2 & CPU2_ENABLE_RDTSCP;
	vmcs_write(VM_EXIT_CONTROLS,
		   control("VM-exit", c->exit,
			   EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_IA32_EFER |
			   EXIT_LOAD_IA32_EFER | EXIT_SAVE_DEBUG_CONTROLS));
	/* DR7 and DEBUGCTL are switched with the guest (the GDB stub's hardware breakpoints
	 * live in the guest's DR7). */
	vmcs_write(VM_ENTRY_CONTROLS, control("VM-entry", c->entry, ENTRY_LOAD_IA32_EFER |
					      ENTRY_LOAD_DEBUG_CONTROLS));
	/* #PF: with paging off the only page faults are accesses outside guest RAM. */
	/* #MC too: with CR4.MCE always on (vcpu_real_cr4), a machine check in the guest's run
	 * comes here instead of to the guest or a shutdown (as KVM intercepts it). */
	vmcs_write(EXCEPTION_BITMAP, BIT(VEC_PF) | BIT(VEC_MC));
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(TSC_OFFSET, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO, 0);
	/* The guest owns no CR0/CR4 bit: every write exits and reads see the shadows. */
	vmcs_write(CR0_GUEST_HOST_MASK, ~0ULL);
	vmcs_write(CR4_GUEST_HOST_MASK, ~0ULL);
}

static void setup_host_state(void)
{
	struct desc_ptr gdt, idt;
	sgdt(&gdt);
	sidt(&idt);
	vmcs_write(HOST_CR0, read_cr0());
	vmcs_write(HOST_CR3, read_cr3());
	vmcs_write(HOST_CR4, read_cr4());
	vmcs_write(HOST_CS_SELECTOR, HOST_CS_SEL);
	vmcs_write(HOST_SS_SELECTOR, HOST_DS_SEL);
	vmcs_write(HOST_DS_SELECTOR, HOST_DS_SEL);
	vmcs_write(HOST_ES_SELECTOR, HOST_DS_SEL);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, HOST_TR_SEL);
	vmcs_write(HOST_FS_BASE, 0);
	vmcs_write(HOST_GS_BASE, 0);
	vmcs_write(HOST_TR_BASE, cpu_tss_base());
	vmcs_write(HOST_GDTR_BASE, gdt.base);
	vmcs_write(HOST_IDTR_BASE, idt.base);
	vmcs_write(HOST_IA32_SYSENTER_CS, 0);
	vmcs_write(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_write(HOST_IA32_SYSENTER_EIP, 0);
	vmcs_write(HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	vmcs_write(HOST_RIP, (u64)(uintptr_t)vmx_exit);
}

static void set_segment(enum vmcs_field sel, u16 selector, u32 ar)
{
	/* Selector, base, limit and AR fields of one register sit at fixed distances (B.1-B.4). */
	u32 idx = (sel - GUEST_ES_SELECTOR) / 2;
	vmcs_write(sel, selector);
	vmcs_write(GUEST_ES_BASE + idx * 2, 0);
	vmcs_write(GUEST_ES_LIMIT + idx * 2, 0xffffffff);
	vmcs_write(GUEST_ES_AR + idx * 2, ar);
}

/* IA32_MISC_ENABLE at reset: fast strings as the host has them (the guest's REP MOVS and STOS
 * run with the host's setting; a CPU without the MSR, as Bochs's models, has them off, and a
 * kernel then picks the same string routines as on that CPU bare), no BTS and no PEBS (the
 * guest has no debug store). */
static u64 misc_enable_reset(void)
{
	u64 host = 0;
	if (!rdmsr_safe(MSR_MISC_ENABLE, &host))
		host = 0;
	return (host & MISC_FAST_STRINGS) | MISC_BTS_UNAVAIL | MISC_PEBS_UNAVAIL;
}

/* The loader's start state (kernel/guest_start.h): flat 32-bit protected mode, paging off. */
static void setup_guest_state(struct vcpu *v, const struct guest_start *s)
{
	const struct vmx_caps *c = &vmx_caps;
	v->cr0 = CR0_PE | CR0_ET;
	v->cr4 = 0;
	v->cr3 = 0;
	v->efer = 0;
	v->pat = 0x0007040600070406ULL;
	v->misc_enable = misc_enable_reset();
	/* The SYSCALL/SWAPGS MSRs are the guest's in the CPU (vmx/exit_msr.c): start from 0. */
	static const u32 syscall_msrs[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_FMASK,
					    MSR_KERNEL_GS_BASE };
	for (u32 i = 0; i < ARRAY_SIZE(syscall_msrs); i++)
		wrmsr(syscall_msrs[i], 0);
	if (v->rdtscp) /* IA32_TSC_AUX too: the guest's in the CPU, 0 at reset (exit_msr.c) */
		wrmsr(MSR_TSC_AUX, 0);
	vmcs_write(CR0_READ_SHADOW, v->cr0);
	vmcs_write(CR4_READ_SHADOW, v->cr4);
	vmcs_write(GUEST_CR0, vcpu_real_cr0(v->cr0));
	vmcs_write(GUEST_CR4, vcpu_real_cr4(v->cr0, v->cr4));
	v->root_hpa = mmu_load_root();
	vmcs_write(GUEST_CR3, v->root_hpa);
	vmcs_write(GUEST_IA32_EFER, vcpu_real_efer(0));
	vmcs_write(GUEST_DR7, 0x400);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_RSP, 0);
	vmcs_write(GUEST_RIP, s->eip);
	vmcs_write(GUEST_RFLAGS, RFLAGS_FIXED);
	set_segment(GUEST_CS_SELECTOR, s->code_sel, 0xc09b);
	for (enum vmcs_field f = GUEST_ES_SELECTOR; f <= GUEST_GS_SELECTOR; f += 2)
		if (f != GUEST_CS_SELECTOR)
			set_segment(f, s->data_sel, 0xc093);
	vmcs_write(GUEST_LDTR_SELECTOR, 0);
	vmcs_write(GUEST_LDTR_BASE, 0);
	vmcs_write(GUEST_LDTR_LIMIT, 0);
	vmcs_write(GUEST_LDTR_AR, AR_UNUSABLE);
	vmcs_write(GUEST_TR_SELECTOR, 0);
	vmcs_write(GUEST_TR_BASE, 0);
	vmcs_write(GUEST_TR_LIMIT, 0x67);
	vmcs_write(GUEST_TR_AR, 0x8b); /* present, 32-bit busy TSS */
	vmcs_write(GUEST_GDTR_BASE, s->gdt_base);
	vmcs_write(GUEST_GDTR_LIMIT, s->gdt_limit);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_INTERRUPTIBILITY, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	(void)c;
	memset(&v->regs, 0, sizeof(v->regs));
	v->regs.gpr[GPR_RAX] = s->eax;
	v->regs.gpr[GPR_RBX] = s->ebx;
	v->regs.gpr[GPR_RSI] = s->esi;
}

u64 vcpu_real_cr0(u64 guest_cr0)
{
	/* Without unrestricted guest the CPU runs the guest with PE, PG and NE set (A.7): a
	 * paging-off guest runs on direct shadow tables. WP is always on, so that read-only
	 * sptes (dirty tracking, write-protected guest tables) hold for supervisor writes too;
	 * a guest with CR0.WP=0 is emulated in the MMU. */
	return vmx_fix_cr(guest_cr0 | CR0_PE | CR0_PG | CR0_NE | CR0_WP, vmx_caps.cr0_fixed0,
			  vmx_caps.cr0_fixed1);
}

u64 vcpu_real_cr4(u64 guest_cr0, u64 guest_cr4)
{
	/* The shadow tables are PAE or 4-level format (mmu/spte.h), so PAE is always on; PSE and
	 * PGE only matter to the guest's own tables, which the CPU never walks. SMEP and SMAP
	 * only with the guest's paging on: a paging-off guest runs on direct sptes that are all
	 * user pages, and the CPU would fault every supervisor fetch or access on them. */
	u64 passthrough = guest_cr4 & (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_MCE | CR4_PCE |
				       CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE | CR4_FSGSBASE);
	if (guest_cr0 & CR0_PG)
		passthrough |= guest_cr4 & (CR4_SMEP | CR4_SMAP);
	/* MCE always (the guest reads its own value from the shadow): a machine check is then an
	 * exception, intercepted (EXCEPTION_BITMAP), not a shutdown of the machine. */
	return vmx_fix_cr(passthrough | CR4_PAE | CR4_MCE | CR4_VMXE, vmx_caps.cr4_fixed0,
			  vmx_caps.cr4_fixed1);
}

u64 vcpu_real_efer(u64 guest_efer)
{
	/* NX on whenever the CPU has it: sptes use XD for non-executable guest pages. LME/LMA
	 * follow the guest only once it is really in long mode (paging on). */
	u64 e = (guest_efer & EFER_SCE) | (cpu_has_nx() ? EFER_NXE : 0);
	if (guest_efer & EFER_LMA)
		e |= EFER_LME | EFER_LMA;
	return e;
}

int vcpu_update_cr3(struct vcpu *v)
{
	return mmu_set_guest_cr3(v->cr3); /* CR0, CR4, EFER unchanged: the VMCS keeps them */
}

/* Which #PFs exit (docs/mmu.md, "Reflected faults without an exit"). With the MMU's
 * pf_bypass, a fault with P=0 met a zero spte, i.e. a not-present guest entry: the CPU
 * delivers it to the guest itself, with the error code the guest's own walk would give --
 * unless the guest and the CPU running it would set PFEC_I differently (a 32-bit guest runs
 * on PAE tables with NX): then fetch faults exit too, and the walker injects the guest's
 * code. Exception bitmap bit 14 clear: exit iff (error code & mask) != match (SDM Vol. 3C,
 * 25.2). Otherwise every #PF exits (bit 14 set, mask = match = 0). */
static void set_pf_filter(struct vcpu *v, u64 real_cr4, u64 real_efer)
{
	u64 bm = vmcs_read(EXCEPTION_BITMAP);
	u32 mask = 0;
	if (mmu_pf_bypass_active()) {
		bool lma = v->efer & EFER_LMA;
		bool guest_i = pfec_reports_fetch(v->cr4 & CR4_SMEP, (v->cr4 & CR4_PAE) || lma,
						  v->efer & EFER_NXE);
		bool real_i = pfec_reports_fetch(real_cr4 & CR4_SMEP, real_cr4 & CR4_PAE,
						 real_efer & EFER_NXE);
		mask = PFEC_P | (guest_i != real_i ? PFEC_I : 0);
		bm &= ~BIT(VEC_PF);
	} else {
		bm |= BIT(VEC_PF);
	}
	vmcs_write(EXCEPTION_BITMAP, bm);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, mask);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
}

int vcpu_update_paging(struct vcpu *v, bool load_pdptes)
{
	struct mmu_paging p = {
		.pg = v->cr0 & CR0_PG, .pae = v->cr4 & CR4_PAE, .lma = v->efer & EFER_LMA,
		.pse = v->cr4 & CR4_PSE, .wp = v->cr0 & CR0_WP, .nxe = v->efer & EFER_NXE,
		.smep = v->cr4 & CR4_SMEP, .smap = v->cr4 & CR4_SMAP, .cr3 = v->cr3,
		.load_pdptes = load_pdptes,
	};
	if (mmu_set_guest_paging(&p))
		return -1;
	u64 real_cr4 = vcpu_real_cr4(v->cr0, v->cr4), real_efer = vcpu_real_efer(v->efer);
	set_pf_filter(v, real_cr4, real_efer);
	vmcs_write(CR0_READ_SHADOW, v->cr0);
	vmcs_write(CR4_READ_SHADOW, v->cr4);
	vmcs_write(GUEST_CR0, vcpu_real_cr0(v->cr0));
	vmcs_write(GUEST_CR4, real_cr4);
	vmcs_write(GUEST_IA32_EFER, real_efer);
	u64 entry = vmcs_read(VM_ENTRY_CONTROLS);
	entry = (v->efer & EFER_LMA) ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~ENTRY_IA32E_MODE_GUEST;
	vmcs_write(VM_ENTRY_CONTROLS, entry);
	return 0;
}

u64 vcpu_console_poll_ticks = 1ULL << 17; /* until vcpu_setup knows the TSC's rate */

void vcpu_setup(struct vcpu *v, const struct guest_start *s)
{
	if (tsc_hz())
		vcpu_console_poll_ticks = tsc_hz() / CONSOLE_POLLS_PER_SEC;
	setup_controls(v);
	setup_host_state();
	setup_guest_state(v, s);
	cpuid_setup(v);
	apicv_setup(v);
}

void vcpu_stop(struct vcpu *v, enum vcpu_end end, const char *fmt, ...)
{
	va_list ap;
	if (v->end != END_NONE)
		return;
	v->end = end;
	va_start(ap, fmt);
	fmt_vsnprintf(v->end_detail, sizeof(v->end_detail), fmt, ap);
	va_end(ap);
}

void vcpu_inject_exception(u8 vector, bool has_error, u32 error)
{
	u32 info = vector | (INTR_TYPE_HW_EXCEPTION << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;
	/* Event injection pushes the guest-state RFLAGS as it is (SDM Vol. 3C, "Vectored-Event
	 * Injection"), and an exit for an instruction saves RF as 0 (27.3.3): a fault the CPU
	 * raised itself has RF set in the image, so set it here, as KVM does. Without it, a
	 * handler that returns to the instruction with an instruction breakpoint on it gets a
	 * #DB first. */
	if (vector < VEC_EXCEPTIONS && !(VEC_NOT_FAULT_MASK & BIT(vector))) {
		u64 rflags = vmcs_read(GUEST_RFLAGS);
		if (!(rflags & RFLAGS_RF))
			vmcs_write(GUEST_RFLAGS, rflags | RFLAGS_RF);
	}
	if (has_error) {
		info |= INTR_INFO_DELIVER_CODE;
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	}
	vmcs_write(VM_ENTRY_INTR_INFO, info);
}

void vcpu_inject_page_fault(u64 la, u32 ec)
{
	vcpu0.regs.cr2 = la;
	vcpu_inject_exception(VEC_PF, true, ec);
}

u64 vcpu_breakpoint_match(u64 dr7, u64 addr, int size, bool write, bool io)
{
	u64 hits = 0;
	for (int i = 0; i < 4; i++) {
		u32 rw = (u32)(dr7 >> (16 + 4 * i)) & 3, len = (u32)(dr7 >> (18 + 4 * i)) & 3;
		if (!((dr7 >> (2 * i)) & 3))
			continue;
		/* R/W: 01 data writes, 11 data reads and writes, 10 I/O (only with CR4.DE);
		 * LEN: 00 1 byte, 01 2, 11 4, 10 8 (SDM 18.2.4: the address is aligned to it). */
		if (io ? !(rw == 2 && (vcpu0.cr4 & CR4_DE)) : !(rw == 3 || (rw == 1 && write)))
			continue;
		u64 n = len == 0 ? 1 : len == 1 ? 2 : len == 3 ? 4 : 8;
		u64 bp = read_dr(i) & ~(n - 1);
		if (addr < bp + n && bp < addr + (u64)size)
			hits |= BIT(i);
	}
	return hits;
}

const char *vcpu_end_name(enum vcpu_end e)
{
	static const char *const names[] = {
		[END_NONE] = "none", [END_DEBUG_EXIT] = "debug_exit",
		[END_TRIPLE_FAULT] = "triple_fault", [END_HALTED] = "halted",
		[END_GUEST_ERROR] = "guest_error", [END_ENTRY_FAILURE] = "entry_failure",
		[END_GDB_KILL] = "gdb_kill", [END_POWEROFF] = "poweroff", [END_RESET] = "reset",
	};
	return e < ARRAY_SIZE(names) ? names[e] : "unknown";
}

/* The one line scripts read at the end of a run (docs/debugging.md: "The summary line"). */
void vcpu_print_summary(struct vcpu *v, u32 code)
{
	char buf[1536];
	int n = fmt_snprintf(buf, sizeof(buf), "[hv I] summary end=%s code=%u", vcpu_end_name(v->end),
			     code);
	if (v->end == END_DEBUG_EXIT) /* what QEMU's isa-debug-exit makes of it */
		n += fmt_snprintf(buf + n, sizeof(buf) - (size_t)n, " status=%u",
				  ((code << 1) | 1) & 0xff);
	n += fmt_snprintf(buf + n, sizeof(buf) - (size_t)n, " exits=%llu", v->exits_total);
	for (u32 r = 0; r <= EXIT_REASON_MAX && n < (int)sizeof(buf) - 40; r++)
		if (v->exits[r])
			n += fmt_snprintf(buf + n, sizeof(buf) - (size_t)n, " exits.%s=%llu",
					  r == EXIT_REASON_MAX ? "other" : vmx_exit_reason_name(r),
					  v->exits[r]);
	const struct mmu_stats *m = &mmu_stats;
	n += fmt_snprintf(buf + n, sizeof(buf) - (size_t)n,
			  " mmu.shadow_faults=%llu mmu.guest_faults=%llu mmu.mmio_fast=%llu "
			  "mmu.mmio_slow=%llu mmu.mmio_sptes=%llu mmu.memslot_changes=%llu "
			  "mmu.generation=%llu mmu.gen_wraps=%llu mmu.zap_all=%llu "
			  "mmu.obsolete_freed=%llu mmu.sp_in_use=%llu mmu.sp_created=%llu "
			  "mmu.sp_reused=%llu mmu.sp_pool=%llu mmu.links_in_use=%llu "
			  "mem.free_pages=%llu", m->shadow_faults, m->guest_faults, m->mmio_fast,
			  m->mmio_slow, m->mmio_sptes, m->memslot_changes, mmu_generation(),
			  m->gen_wraps, m->zap_all, m->obsolete_freed, m->sp_in_use, m->sp_created,
			  m->sp_reused, m->sp_pool, mmu_links_used(), pmm_free_pages());
	fmt_snprintf(buf + n, sizeof(buf) - (size_t)n, " guest_rip=0x%llx\n", v->last_rip);
	console_puts(buf); /* printed whatever loglevel= says: scripts depend on it */
}

/* The run loop's state that vcpu_resume_now reads (vmx/resume.h). */
u64 vcpu_next_poll;
u32 vcpu_preempt_shift;
bool vcpu_resume_ok;

void vcpu_run(struct vcpu *v)
{
	bool preempt = vmcs_read(PIN_BASED_VM_EXEC_CONTROL) & PIN_PREEMPTION_TIMER;
	vcpu_preempt_shift = (u32)(vmx_caps.misc & 0x1f);
	vcpu_next_poll = 0;
	/* Every step below is a cheap check when it has nothing to do (docs/vmx.md, "What runs
	 * before every entry"): the fixed cost of every exit, here or at the exit landing
	 * (vmx/resume.h vcpu_resume_now), which runs the same steps but the consoles' poll. */
	while (v->end == END_NONE) {
		vcpu_load_root(v);
		/* The consoles (monitor escape, GDB) are polled every vcpu_console_poll_ticks, and at
		 * once after an exit that may stop the guest for a debugger (v->poll_now). */
		u64 now = rdtsc();
		if (now >= vcpu_next_poll || v->poll_now) {
			v->poll_now = false;
			vcpu_next_poll = now + vcpu_console_poll_ticks;
			vmx_debug_hooks->before_entry(v); /* the monitor, then the GDB stub */
			if (v->end != END_NONE)
				break;
			now = rdtsc(); /* a debugger may have held the guest */
		}
		vcpu_finish_entry(v, now + v->tsc_offset, preempt);
		if (v->strict_entry && !vmx_debug_hooks->check_entry()) {
			vcpu_stop(v, END_ENTRY_FAILURE, "strict entry check: the VMCS breaks a VM-entry "
				  "rule before the entry at rip=%#llx (entry_check=1)",
				  vmcs_read(GUEST_RIP));
			break;
		}
		vcpu_resume_ok = preempt && !v->strict_entry;
		trace_entry_done(rdtsc());
		/* Returns after an exit that left work for this loop (or a failed entry); the exits
		 * in between were handled and resumed at the exit landing (vmx_exit_landing). */
		int st = vmx_enter(&v->regs, v->launched);
		if (st) {
			vmx_report_entry_error(v, st);
			break;
		}
	}
	vuart_flush();
}
