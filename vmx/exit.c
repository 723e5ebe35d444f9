/* exit.c - exit dispatch by basic exit reason, and the handlers too small for a file. */
#include "vmx/exit.h"
#include "vmx/apicv.h"
#include "vmx/vmx.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "mmu/gwalk.h"
#include "mmu/mmu.h"
#include "vmx/insn.h"
#include "vmx/debug_hooks.h"
#include "vmx/intr.h"
#include "vmx/xsave.h"
#include "vmx/trace.h"
#include "vmx/resume.h"

typedef void (*exit_handler)(struct vcpu *v);

/* Basic exit reasons below 64 that an instruction causes (no event delivery involved). */
#define INSTRUCTION_EXITS (BIT(EXIT_CPUID) | BIT(EXIT_HLT) | BIT(EXIT_VMCALL) | \
			   BIT(EXIT_CR_ACCESS) | BIT(EXIT_IO_INSTRUCTION) | BIT(EXIT_RDMSR) | \
			   BIT(EXIT_WRMSR) | BIT(EXIT_XSETBV))

/* The CPU shut the guest down. With pf_bypass the guest's own page faults (and a #DF made of
 * them) may never have exited: CR2, which the CPU sets for each #PF and the exit path keeps,
 * names the last one. */
static void handle_triple_fault(struct vcpu *v)
{
	vcpu_stop(v, END_TRIPLE_FAULT, "guest triple fault at rip=%#llx (an exception it could "
		  "not deliver, e.g. no IDT; CR2=%#llx, the address of its last page fault)",
		  vmcs_read(GUEST_RIP), v->regs.cr2);
}

static void handle_hlt(struct vcpu *v)
{
	intr_handle_hlt(v);
}

/* Guest VMX instructions: VMX is hidden in CPUID, so they fault as on a CPU without it. */
static void handle_vmx_insn(struct vcpu *v)
{
	(void)v;
	vcpu_inject_exception(VEC_UD, false, 0);
}

/* Instructions whose feature CPUID hides (MONITOR/MWAIT, XSAVE, SMX). */
static void handle_ud(struct vcpu *v)
{
	(void)v;
	vcpu_inject_exception(VEC_UD, false, 0);
}

static void handle_skip(struct vcpu *v)
{
	(void)v;
	vcpu_skip_instruction(); /* INVD, WBINVD, INVLPG with paging off: nothing to do */
}

static void handle_rdpmc(struct vcpu *v)
{
	(void)v;
	vcpu_inject_exception(VEC_GP, true, 0); /* no performance counters are exposed */
}

/* Acknowledged on exit; host interrupts are masked at the PIC, so this is only counted. */
static void handle_external_interrupt(struct vcpu *v)
{
	(void)v;
	pr_debug("external interrupt vector %llu during guest run",
		 vmcs_read(VM_EXIT_INTR_INFO) & INTR_INFO_VECTOR_MASK);
}

static void handle_page_fault(struct vcpu *v)
{
	u64 la = v->exit_qual;
	u32 ec = (u32)vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	/* SMAP depends on RFLAGS.AC, which the error code does not carry. */
	if ((v->cr4 & CR4_SMAP) && (vmcs_read(GUEST_RFLAGS) & RFLAGS_AC))
		ec |= PFEC_SW_AC;
	/* A device register access through a current MMIO spte: answered in one call. The page
	 * test keeps the RSVD faults of not-yet-built sptes (TRAP) off that path. */
	if ((ec & PFEC_RSVD) && (la & ~(PAGE_SIZE - 1)) == mmu_mmio_last_page &&
	    mmio_fast_exit(v, la, ec))
		return;
	struct mmu_verdict r = mmu_page_fault(la, ec);
	switch (r.what) {
	case MMU_HANDLED:
		break;
	case MMU_EMULATE_DEVICE:
		mmio_emulate_device(r.gpa, la);
		break;
	case MMU_EMULATE:
		v->ram_emulations++;
		mmio_emulate(r.gpa, la);
		break;
	case MMU_EMULATE_PT_WRITE:
		mmio_emulate_pt_write(r.gpa, la);
		break;
	case MMU_GUEST_FAULT:
		vcpu_inject_page_fault(la, r.error_code);
		break;
	case MMU_BAD_TABLE:
		vcpu_stop(v, END_GUEST_ERROR, "guest page walk for %#llx (rip=%#llx) reads a "
			  "paging structure at %#llx, which is not RAM", la, v->last_rip, r.gpa);
		break;
	}
}

static void handle_exception(struct vcpu *v)
{
	u32 info = (u32)vmcs_read(VM_EXIT_INTR_INFO);
	u32 vec = info & INTR_INFO_VECTOR_MASK;
	u32 type = (info >> INTR_INFO_TYPE_SHIFT) & 7;
	/* The common exception exit first. Vector 14 is a hardware exception (an NMI is vector 2,
	 * and INT n is not intercepted). */
	if (vec == VEC_PF) {
		intr_recover_nmi_blocking(info);
		handle_page_fault(v);
		return;
	}
	if (type == INTR_TYPE_NMI) { /* NMI exiting: the host's NMI, not the guest's */
		if (!host_nmis++)
			pr_warn("host NMI during guest run: counted and ignored (the run's end says "
				"how many)");
		return;
	}
	if (vec == VEC_MC) { /* intercepted: the hardware reports an error, not the guest */
		u64 status = 0;
		(void)rdmsr_safe(MSR_MCG_STATUS, &status);
		vcpu_stop(v, END_GUEST_ERROR, "machine check during the guest's run (rip=%#llx, "
			  "IA32_MCG_STATUS=%#llx): a hardware error; the banks' IA32_MCi_STATUS say "
			  "which", v->last_rip, status);
		return;
	}
	intr_recover_nmi_blocking(info);
	if (vec == VEC_DB || vec == VEC_BP) {
		v->poll_now = true; /* a debugger may stop the guest here: poll before the entry */
		/* The GDB stub or the monitor may take it (vmx/debug_hooks.h). */
		if (vmx_debug_hooks->debug_exit(v, EXIT_EXCEPTION_NMI, vec))
			return;
		/* Intercepted for a debugger, but the guest's own: deliver it as it came. */
		u32 t = (info >> INTR_INFO_TYPE_SHIFT) & 7;
		vmcs_write(VM_ENTRY_INTR_INFO, (info & ~INTR_INFO_NMI_UNBLOCK));
		if (t == INTR_TYPE_SW_EXCEPTION || t == INTR_TYPE_PRIV_SW_EXCEPTION)
			vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmcs_read(VM_EXIT_INSTRUCTION_LEN));
		return;
	}
	vcpu_stop(v, END_GUEST_ERROR, "unexpected intercepted exception vector %u at rip=%#llx",
		  vec, v->last_rip);
}

/* Monitor-trap-flag exits (GDB single step) and preemption-timer exits (a chance to poll
 * the consoles, which the run loop does before the next entry: v->poll_now). */
static void handle_debugger_exit(struct vcpu *v)
{
	u32 reason = (u32)vmcs_read(VM_EXIT_REASON) & EXIT_REASON_BASIC_MASK;
	if (!vmx_debug_hooks->debug_exit(v, reason, ~0u) && reason == EXIT_MONITOR_TRAP_FLAG)
		vcpu_stop(v, END_GUEST_ERROR, "unexpected monitor-trap-flag exit");
}

static void handle_task_switch(struct vcpu *v)
{
	vcpu_stop(v, END_GUEST_ERROR, "guest task switch (qualification %#llx) is not supported",
		  vmcs_read(EXIT_QUALIFICATION));
}

/* An exit reason without a handler (or beyond the table): a clear stop. */
static void handle_unknown(struct vcpu *v)
{
	u32 basic = (u32)vmcs_read(VM_EXIT_REASON) & EXIT_REASON_BASIC_MASK;
	pr_err("unhandled VM exit: reason %u (%s) qualification %#llx rip=%#llx", basic,
	       vmx_exit_reason_name(basic), vmcs_read(EXIT_QUALIFICATION), v->last_rip);
	vcpu_stop(v, END_GUEST_ERROR, "unhandled VM exit %u (%s)", basic,
		  vmx_exit_reason_name(basic));
}

/* Every slot has a handler (the last one: reasons beyond the table), so the dispatch needs no
 * test; the range initializer's default is overridden by the entries below (GCC, as Linux's
 * system call tables do). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const exit_handler handlers[EXIT_REASON_MAX + 1] = {
	[0 ... EXIT_REASON_MAX] = handle_unknown,
	[EXIT_EXCEPTION_NMI] = handle_exception,
	[EXIT_EXTERNAL_INTERRUPT] = handle_external_interrupt,
	[EXIT_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_TASK_SWITCH] = handle_task_switch,
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_GETSEC] = handle_ud,
	[EXIT_HLT] = handle_hlt,
	[EXIT_INTERRUPT_WINDOW] = handle_interrupt_window,
	[EXIT_NMI_WINDOW] = handle_nmi_window,
	[EXIT_INVD] = handle_skip,
	[EXIT_INVLPG] = handle_skip,
	[EXIT_RDPMC] = handle_rdpmc,
	[EXIT_VMCALL] = handle_vmcall,
	[EXIT_VMCLEAR] = handle_vmx_insn,
	[EXIT_VMLAUNCH] = handle_vmx_insn,
	[EXIT_VMPTRLD] = handle_vmx_insn,
	[EXIT_VMPTRST] = handle_vmx_insn,
	[EXIT_VMREAD] = handle_vmx_insn,
	[EXIT_VMRESUME] = handle_vmx_insn,
	[EXIT_VMWRITE] = handle_vmx_insn,
	[EXIT_VMXOFF] = handle_vmx_insn,
	[EXIT_VMXON] = handle_vmx_insn,
	[EXIT_INVEPT] = handle_vmx_insn,
	[EXIT_INVVPID] = handle_vmx_insn,
	[EXIT_VMFUNC] = handle_vmx_insn,
	[EXIT_CR_ACCESS] = handle_cr_access,
	[EXIT_IO_INSTRUCTION] = handle_io,
	[EXIT_RDMSR] = handle_rdmsr,
	[EXIT_WRMSR] = handle_wrmsr,
	[EXIT_MWAIT] = handle_ud,
	[EXIT_MONITOR] = handle_ud,
	[EXIT_WBINVD] = handle_skip,
	[EXIT_XSETBV] = handle_xsetbv,
	[EXIT_APIC_ACCESS] = handle_apic_access,
	[EXIT_VIRTUALIZED_EOI] = handle_virtualized_eoi,
	[EXIT_APIC_WRITE] = handle_apic_write,
	[EXIT_MONITOR_TRAP_FLAG] = handle_debugger_exit,
	[EXIT_PREEMPTION_TIMER] = handle_debugger_exit,
};
#pragma GCC diagnostic pop

/*
 * An exit in the middle of delivering an event (IDT-vectoring information valid, SDM 27.2.4),
 * e.g. a shadow page fault on the guest's IDT or stack: the event must be delivered again on
 * the next entry, unless the handler queued an exception of its own, which then combines with
 * it as the CPU would (SDM Table 6-5: contributory or #PF during #PF -> #DF; during #DF ->
 * triple fault).
 */
static void reinject_vectoring(struct vcpu *v, u32 reason)
{
	u32 idt = (u32)vmcs_read(IDT_VECTORING_INFO);
	if (!(idt & INTR_INFO_VALID) || v->end != END_NONE || reason == EXIT_TRIPLE_FAULT)
		return;
	if (v->apicv)
		idt = apicv_vectoring(v, idt);
	u32 type = (idt >> INTR_INFO_TYPE_SHIFT) & 7, vec = idt & INTR_INFO_VECTOR_MASK;
	u32 pending = (u32)vmcs_read(VM_ENTRY_INTR_INFO);
	if (pending & INTR_INFO_VALID) {
		u32 pvec = pending & INTR_INFO_VECTOR_MASK;
		bool hw = type == INTR_TYPE_HW_EXCEPTION;
		bool first_contrib = hw && vec < VEC_EXCEPTIONS &&
				     (VEC_CONTRIBUTORY_MASK & BIT(vec));
		bool first_pf = hw && vec == VEC_PF;
		bool second_contrib = pvec < VEC_EXCEPTIONS && (VEC_CONTRIBUTORY_MASK & BIT(pvec));
		if (hw && vec == VEC_DF) {
			vcpu_stop(v, END_TRIPLE_FAULT, "guest fault while delivering #DF (rip=%#llx)",
				  v->last_rip);
			return;
		}
		/* SDM Vol. 3A Table 6-5: contributory then contributory, or #PF then #PF or
		 * contributory, is a #DF; anything else is handled serially (the new one is
		 * delivered; the first event is dropped, as the CPU restarts the instruction). */
		if ((first_contrib && second_contrib) || (first_pf && (pvec == VEC_PF || second_contrib)))
			vcpu_inject_exception(VEC_DF, true, 0);
		return;
	}
	vmcs_write(VM_ENTRY_INTR_INFO, idt & ~INTR_INFO_NMI_UNBLOCK);
	if (idt & INTR_INFO_DELIVER_CODE)
		vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, vmcs_read(IDT_VECTORING_ERROR_CODE));
	if (type == INTR_TYPE_SW_INTR || type == INTR_TYPE_SW_EXCEPTION ||
	    type == INTR_TYPE_PRIV_SW_EXCEPTION)
		vmcs_write(VM_ENTRY_INSTRUCTION_LEN, vmcs_read(VM_EXIT_INSTRUCTION_LEN));
}

static void handle_failed_entry(struct vcpu *v, u32 reason)
{
	u32 basic = reason & EXIT_REASON_BASIC_MASK;
	pr_err("VM entry failed: exit reason %u (%s), qualification %#llx", basic,
	       basic == EXIT_INVALID_GUEST_STATE ? "invalid guest state"
	       : basic == EXIT_MSR_LOADING ? "MSR loading" : basic == EXIT_MACHINE_CHECK
	       ? "machine check during entry" : vmx_exit_reason_name(basic),
	       vmcs_read(EXIT_QUALIFICATION));
	vmx_dump_guest_state();
	vmx_debug_hooks->entry_failed();
	vcpu_stop(v, END_ENTRY_FAILURE, "VM entry failed on %s (exit reason %#x)",
		  basic == EXIT_INVALID_GUEST_STATE ? "guest state" : vmx_exit_reason_name(basic),
		  reason);
}

static inline __attribute__((always_inline)) void handle_exit(struct vcpu *v, u64 exit_tsc)
{
	u32 reason = (u32)vmcs_read(VM_EXIT_REASON);
	u32 basic = reason & EXIT_REASON_BASIC_MASK;
	u32 slot = basic < EXIT_REASON_MAX ? basic : EXIT_REASON_MAX;
	v->exits_total++;
	v->exits[slot]++;
	v->last_rip = vmcs_read(GUEST_RIP);
	v->exit_qual = vmcs_read(EXIT_QUALIFICATION);
	trace_exit(reason, slot, v->exit_qual, v->last_rip, exit_tsc);
	if (reason & EXIT_REASON_FAILED_ENTRY) {
		handle_failed_entry(v, reason);
		return;
	}
	handlers[slot](v);
	/* Exits caused by an instruction never happen during event delivery (SDM 27.2.4:
	 * IDT-vectoring information is for exceptions, interrupts, task switches and the
	 * like), so the common ones skip the VMREAD. */
	if (basic >= 64 || !(BIT(basic) & INSTRUCTION_EXITS))
		reinject_vectoring(v, basic);
	/* A monitor trap (GDB's single step) stops the guest for GDB: poll before the next
	 * entry (handle_exception does the same for #DB/#BP; a page fault, the common
	 * exception exit, does not need it). A preemption-timer exit does not force a
	 * poll: most fire a device's deadline (every guest timer tick), and the run loop
	 * polls anyway once vcpu_console_poll_ticks have passed, which is always the case
	 * at the timer's console-poll period (PREEMPTION_POLL, tens of ms, > 1 ms). */
	if (basic == EXIT_MONITOR_TRAP_FLAG)
		v->poll_now = true;
}

int vmx_exit_landing(void)
{
	u64 exit_tsc = rdtsc();
	struct vcpu *v = &vcpu0;
	v->launched = true;
	handle_exit(v, exit_tsc);
	return vcpu_resume_now(v);
}

static void dump_segment(const char *name, enum vmcs_field sel)
{
	u32 idx = (sel - GUEST_ES_SELECTOR) / 2;
	pr_err("  %-4s sel=%04llx base=%#llx limit=%#llx ar=%#llx", name, vmcs_read(sel),
	       vmcs_read(GUEST_ES_BASE + idx * 2), vmcs_read(GUEST_ES_LIMIT + idx * 2),
	       vmcs_read(GUEST_ES_AR + idx * 2));
}

void vmx_dump_guest_state(void)
{
	static const char *const seg[] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };
	pr_err("guest state:");
	pr_err("  cr0=%#llx cr3=%#llx cr4=%#llx efer=%#llx dr7=%#llx", vmcs_read(GUEST_CR0),
	       vmcs_read(GUEST_CR3), vmcs_read(GUEST_CR4), vmcs_read(GUEST_IA32_EFER),
	       vmcs_read(GUEST_DR7));
	pr_err("  rip=%#llx rsp=%#llx rflags=%#llx", vmcs_read(GUEST_RIP), vmcs_read(GUEST_RSP),
	       vmcs_read(GUEST_RFLAGS));
	for (u32 i = 0; i < 8; i++)
		dump_segment(seg[i], GUEST_ES_SELECTOR + i * 2);
	pr_err("  gdtr base=%#llx limit=%#llx idtr base=%#llx limit=%#llx",
	       vmcs_read(GUEST_GDTR_BASE), vmcs_read(GUEST_GDTR_LIMIT), vmcs_read(GUEST_IDTR_BASE),
	       vmcs_read(GUEST_IDTR_LIMIT));
	pr_err("  activity=%llu interruptibility=%#llx pending_dbg=%#llx link=%#llx",
	       vmcs_read(GUEST_ACTIVITY_STATE), vmcs_read(GUEST_INTERRUPTIBILITY),
	       vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS), vmcs_read(VMCS_LINK_POINTER));
	pr_err("  entry: controls=%#llx intr_info=%#llx", vmcs_read(VM_ENTRY_CONTROLS),
	       vmcs_read(VM_ENTRY_INTR_INFO));
}

void vmx_report_entry_error(struct vcpu *v, int st)
{
	const char *insn = v->launched ? "VMRESUME" : "VMLAUNCH";
	if (st == 2) {
		pr_err("%s failed: VMfailInvalid (no current VMCS)", insn);
		vcpu_stop(v, END_ENTRY_FAILURE, "%s failed: VMfailInvalid", insn);
		return;
	}
	u32 err = (u32)vmcs_read(VM_INSTRUCTION_ERROR);
	pr_err("%s failed: VM-instruction error %u: %s", insn, err, vmx_instruction_error_name(err));
	pr_err("controls: pin=%#llx proc=%#llx exit=%#llx entry=%#llx",
	       vmcs_read(PIN_BASED_VM_EXEC_CONTROL), vmcs_read(CPU_BASED_VM_EXEC_CONTROL),
	       vmcs_read(VM_EXIT_CONTROLS), vmcs_read(VM_ENTRY_CONTROLS));
	pr_err("host: cr0=%#llx cr3=%#llx cr4=%#llx rip=%#llx rsp=%#llx",
	       vmcs_read(HOST_CR0), vmcs_read(HOST_CR3), vmcs_read(HOST_CR4), vmcs_read(HOST_RIP),
	       vmcs_read(HOST_RSP));
	vmx_dump_guest_state();
	vmx_debug_hooks->entry_failed();
	vcpu_stop(v, END_ENTRY_FAILURE, "%s failed: error %u (%s)", insn, err,
		  vmx_instruction_error_name(err));
}
