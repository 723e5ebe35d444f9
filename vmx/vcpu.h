/* vcpu.h - the one virtual CPU: guest GPRs, virtual control registers, counters, end state.
 *
 * There is exactly one vCPU, vcpu0. The exit handlers take `struct vcpu *v` (the dispatch
 * table's uniform signature, and the state they change is visibly the vCPU's), but code
 * without a vCPU at hand (the MMIO glue, injection helpers, hypercalls) uses vcpu0 directly;
 * nothing is ready for a second vCPU (docs/architecture.md). */
#ifndef VMX_VCPU_H
#define VMX_VCPU_H

#include "arch/types.h"
#include "vmx/vmcs.h"
#include "vmx/vmx.h"
#include "arch/x86.h"
#include "kernel/guest_start.h"

/* GPRs in x86 register-number order (the order exit qualifications use); then CR2.
 * vmx/entry.S depends on these offsets. */
enum gpr { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	   GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15, GPR_COUNT };

struct guest_regs {
	u64 gpr[GPR_COUNT]; /* gpr[GPR_RSP] is unused: RSP lives in the VMCS */
	u64 cr2;
};
_Static_assert(sizeof(struct guest_regs) == 17 * 8, "vmx/entry.S layout");

/* The consoles are polled CONSOLE_POLLS_PER_SEC times a second of host time: before an entry
 * (vcpu_run), and while the guest halts (vmx/intr.c). In time, not TSC ticks: a poll is a
 * UART access, a round trip to QEMU under KVM, whatever the TSC's rate. */
#define CONSOLE_POLLS_PER_SEC 1000
/* The host TSC ticks between two polls (tsc_hz() / CONSOLE_POLLS_PER_SEC, set by vcpu_setup). */
extern u64 vcpu_console_poll_ticks;

/* How a run ended; printed as end=NAME in the summary line (docs/debugging.md). */
enum vcpu_end {
	END_NONE = 0,
	END_DEBUG_EXIT,     /* guest wrote to isa-debug-exit */
	END_TRIPLE_FAULT,
	END_HALTED,         /* HLT with nothing that could ever wake it */
	END_GUEST_ERROR,    /* the guest did something this hypervisor does not support */
	END_ENTRY_FAILURE,  /* VMLAUNCH/VMRESUME failed or a VM entry failed */
	END_GDB_KILL,       /* gdb sent 'k' */
	END_POWEROFF,       /* the guest entered ACPI S5 (soft-off) */
	END_RESET,          /* the guest asked for a reset (the FADT's reset register, 0xcf9) */
};

/*
 * Invariants:
 * - cr0/cr3/cr4/efer are what the guest last wrote and equal the read shadows; the VMCS
 *   GUEST_CR0/CR4/EFER hold vcpu_real_cr0/cr4/efer() of them, and the MMU's paging state
 *   (mmu_set_guest_paging) follows them (vcpu_update_paging, vcpu_update_cr3);
 * - root_hpa equals GUEST_CR3 in the VMCS while the guest runs;
 * - last_rip and exit_qual describe the current exit only (read once in vmx_exit_landing);
 * - end != END_NONE means the run loop stops before the next entry; end_detail and
 *   exit_code are set with it (vcpu_stop).
 */
struct vcpu {
	struct guest_regs regs;
	bool launched;
	/* Virtual control registers: what the guest believes (read shadows hold the same). */
	u64 cr0, cr3, cr4;
	u64 efer;
	/* MSRs kept here because nothing in the VMCS or the CPU holds them for the guest. */
	u64 pat;
	/* IA32_MISC_ENABLE: the guest's copy, stored and read back, never written to the CPU
	 * (vmx/exit_msr.c; the fast-strings bit starts as the host's). */
	u64 misc_enable;
	/* guest TSC = host TSC + tsc_offset. Invariant: equal to the VMCS TSC_OFFSET and to the
	 * device clocks' copy (drivers/tsc.h: vtime_set_offset, called wherever it changes). */
	u64 tsc_offset;
	/* IA32_TSC_ADJUST: what the guest's writes to IA32_TSC and IA32_TSC_ADJUST have added to
	 * its TSC (SDM 17.17.3; 0 at start). */
	u64 tsc_adjust;
	u64 xcr0;       /* the guest's XCR0 (in the hardware while it runs) */
	/* "enable RDTSCP" is set (vcpu_setup, fixed): RDTSCP and RDPID run natively and
	 * IA32_TSC_AUX is the guest's (in the hardware all the time, vmx/exit_msr.c). */
	bool rdtscp;
	/* APIC virtualization (vmx/apicv.c): asked for (apicv=on, before vcpu_setup), then on
	 * only when the CPU has every control it needs (fixed from vcpu_setup on). */
	bool apicv;
	bool apicv_x2; /* and x2APIC mode's MSRs virtualized too (the CPU has the controls) */
	u16 intr_status_entry; /* APIC virtualization: GUEST_INTR_STATUS at the latest entry */
	/* entry_check=1: the entry checker runs before every VM entry (vmx_debug_hooks
	 * check_entry); a broken rule stops the run instead of entering. */
	bool strict_entry;
	bool nmi_pending; /* an NMI waits for the guest to unblock NMIs */
	/* Guest RAM: host-physical base and size; guest physical 0 maps to ram_hpa. */
	hpa_t ram_hpa;
	u64 ram_size;
	hpa_t root_hpa; /* the page tables the CPU really uses for the guest (GUEST_CR3) */
	u64 last_rip;   /* guest RIP at the latest exit */
	u64 exit_qual;  /* its exit qualification (read once per exit) */
	bool poll_now;  /* poll the consoles before the next entry (a debug or timer exit) */
	/* Counters. */
	u64 intr_injected;  /* external interrupts injected */
	u64 hlt_waits;      /* HLTs that waited for a device timer */
	u64 ram_emulations; /* #PF exits with MMU_EMULATE: an access to RAM emulated */
	u64 apicv_stale_vectoring; /* exits mid virtual-interrupt delivery with stale IDT info */
	u64 exits_total;
	u64 exits[EXIT_REASON_MAX + 1]; /* last slot: reasons beyond the table */
	/* End of run. */
	enum vcpu_end end;
	u32 exit_code;        /* debug-exit value V (the run's status is (V << 1) | 1); 0 for
			       * poweroff and reset (devices/platform_stop.h) */
	char end_detail[160]; /* one line: why the run ended */
};

extern struct vcpu vcpu0;

/* Writes the VMCS: controls, host state, and the guest's start state as its loader left it
 * (multiboot or Linux, kernel/guest_start.h). */
void vcpu_setup(struct vcpu *v, const struct guest_start *s);
/* The CR0/CR4 values the CPU really runs the guest with, for what the guest believes. */
u64 vcpu_real_cr0(u64 guest_cr0);
u64 vcpu_real_cr4(u64 guest_cr0, u64 guest_cr4);
u64 vcpu_real_efer(u64 guest_efer);
/* Pushes v->cr0/cr3/cr4/efer to the VMCS (real values, read shadows, IA-32e entry control)
 * and to the MMU; load_pdptes as in struct mmu_paging. -1 when the guest's PAE PDPTEs cannot
 * be loaded (#GP for the guest): then nothing was changed, in the MMU or the VMCS. */
int vcpu_update_paging(struct vcpu *v, bool load_pdptes);
/* The same after a change of v->cr3 alone (a MOV to CR3): only the MMU needs to know. */
int vcpu_update_cr3(struct vcpu *v);
/* Prints the one summary line (docs/debugging.md); code is the run's exit code. */
void vcpu_print_summary(struct vcpu *v, u32 code);
/* Runs the guest until it ends; returns with vcpu->end set. */
void vcpu_run(struct vcpu *v);
/* Stops the guest at the next exit-handler return, with a reason line. */
void vcpu_stop(struct vcpu *v, enum vcpu_end end, const char *fmt, ...) __printf(3, 4);
/* After an instruction the hypervisor completed (skipped or emulated), with RFLAGS as the
 * instruction left it: ends STI/MOV-SS blocking and owes the guest its single-step #DB when
 * TF is set. */
static inline void vcpu_instruction_done(u64 rflags)
{
	/* It ends STI/MOV-SS blocking, as executing it would (SDM 26.3.1.5). */
	u64 intr = vmcs_read(GUEST_INTERRUPTIBILITY);
	if (intr & (INTR_STATE_STI | INTR_STATE_MOV_SS))
		vmcs_write(GUEST_INTERRUPTIBILITY, intr & ~(INTR_STATE_STI | INTR_STATE_MOV_SS));
	/* It owes the single-step trap when the guest has TF set: a pending BS makes the CPU
	 * deliver #DB after the entry (SDM 26.7.3), as KVM does after skipping an instruction. */
	if (rflags & RFLAGS_TF)
		vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS,
			   vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) | PENDING_DBG_BS);
}
/* Ends an instruction the hypervisor completed for the guest (skipped after an exit, or
 * emulated), with RFLAGS as the instruction left it: RIP = next_rip, RF cleared, then
 * vcpu_instruction_done. The one place that advances RIP; only a debugger's register write
 * and the initial state (vcpu_setup) set RIP otherwise. Inline: every exit that completes
 * an instruction runs it. */
static inline void vcpu_complete_instruction(u64 next_rip, u64 rflags)
{
	vmcs_write(GUEST_RIP, next_rip);
	if (rflags & RFLAGS_RF) /* cleared after any completed instruction (SDM 18.3.1.1) */
		vmcs_write(GUEST_RFLAGS, rflags & ~RFLAGS_RF);
	vcpu_instruction_done(rflags);
}
/* Completes the exiting instruction: RIP past it (VM_EXIT_INSTRUCTION_LEN), through
 * vcpu_complete_instruction. Inline: every exit for an instruction the hypervisor completes
 * runs it. */
static inline void vcpu_skip_instruction(void)
{
	u64 rip = vcpu0.last_rip + vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	/* Outside 64-bit code EIP wraps at 4 GiB (CS.L only counts in IA-32e mode). */
	if (!(vcpu0.efer & EFER_LMA) || !x86_code64(vcpu0.efer, vmcs_read(GUEST_CS_AR)))
		rip &= 0xffffffffULL; /* (no VMREAD of CS outside IA-32e mode) */
	vcpu_complete_instruction(rip, vmcs_read(GUEST_RFLAGS));
}
/* A data access (or, with io, a port access) the hypervisor did for the guest instead of the
 * CPU: returns the guest's enabled data/I/O breakpoints (DR0-DR3, DR7, CR4.DE) it matches, as
 * DR6 B0-B3 bits. Once the instruction has completed, vcpu_raise_breakpoints() makes them a
 * pending #DB trap, delivered after the entry as the CPU would have delivered it. */
u64 vcpu_breakpoint_match(u64 dr7, u64 addr, int size, bool write, bool io);
static inline u64 vcpu_breakpoint_hits(u64 addr, int size, bool write, bool io)
{
	u64 dr7 = vmcs_read(GUEST_DR7);
	/* No breakpoint enabled (L0-3, G0-3 clear): the common case, one VMREAD. */
	return (dr7 & 0xff) ? vcpu_breakpoint_match(dr7, addr, size, write, io) : 0;
}
static inline void vcpu_raise_breakpoints(u64 hits)
{
	if (hits) /* B0-B3 and "enabled breakpoint" (bit 12): a #DB trap after the entry */
		vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS,
			   vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) | hits | PENDING_DBG_ENABLED_BP);
}
/* Queues a hardware exception for the next VM entry; for a fault (arch/x86.h
 * VEC_NOT_FAULT_MASK) with RF set in the guest's RFLAGS, so the pushed image has it as the
 * CPU's own faults do. */
void vcpu_inject_exception(u8 vector, bool has_error, u32 error);
/* Queues #PF with error code ec; CR2 = la (loaded into the CPU before the entry). */
void vcpu_inject_page_fault(u64 la, u32 ec);
/* Sets the guest GPR named by register number r (32-bit guests: writes the low 32 bits
 * zero-extended, as the CPU does for 32-bit operands). */
static inline void vcpu_set_gpr(struct vcpu *v, int r, u64 value)
{
	if (!(v->efer & EFER_LMA))
		value &= 0xffffffffULL;
	if (r == GPR_RSP)
		vmcs_write(GUEST_RSP, value);
	else
		v->regs.gpr[r] = value;
}
static inline u64 vcpu_get_gpr(struct vcpu *v, int r)
{
	return r == GPR_RSP ? vmcs_read(GUEST_RSP) : v->regs.gpr[r];
}
const char *vcpu_end_name(enum vcpu_end e);

/* Assembly entry (vmx/entry.S): 0 after a VM exit that the exit landing (vmx/exit.c
 * vmx_exit_landing) handled and left to the run loop, the exits before it handled and
 * resumed at the landing; 1 VMfailValid; 2 VMfailInvalid (of this entry or of a resume at
 * the landing). */
int vmx_enter(struct guest_regs *regs, int launched);

#endif
