/* intr.c - external-interrupt delivery and HLT. */
#include "vmx/intr.h"
#include "vmx/apicv.h"
#include "vmx/vmx.h"
#include "devices/intc.h"
#include "devices/lapic.h"
#include "devices/irq.h"
#include "devices/pio.h"
#include "arch/asm.h"
#include "vmx/debug_hooks.h"

/*
 * A #DB trap owed for the last instruction (a single step or a data/I/O breakpoint of an
 * instruction the hypervisor completed: vcpu_instruction_done, vcpu_raise_breakpoints) has the
 * priority of "traps on the previous instruction", above NMIs and interrupts (SDM 6.9), and an
 * entry that injects an event delivers no pending debug exception at all (SDM 26.6.3, "Delivery
 * of Pending Debug Exceptions after VM Entry"): an interrupt or NMI waits for its window exit,
 * which the #DB's delivery precedes (26.6.5, 26.6.6). Single-stepping HLT: the interrupt that
 * wakes it comes after the #DB for HLT, as on bare Bochs.
 */
static bool debug_trap_pending(void)
{
	return vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS) & (PENDING_DBG_BS | PENDING_DBG_ENABLED_BP);
}

static bool can_inject(void)
{
	return (vmcs_read(GUEST_RFLAGS) & RFLAGS_IF) &&
	       !(vmcs_read(GUEST_INTERRUPTIBILITY) & (INTR_STATE_STI | INTR_STATE_MOV_SS)) &&
	       !debug_trap_pending();
}

static void set_window_exiting(bool on)
{
	u64 c = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	u64 n = on ? c | CPU_INTR_WINDOW_EXITING : c & ~CPU_INTR_WINDOW_EXITING;
	if (n != c)
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, n);
}

/*
 * NMI-window exiting: an exit as soon as nothing blocks an NMI any more. An NMI that comes
 * while the guest's NMI handler runs (blocking by NMI: virtual NMIs, vmx/vcpu.c) waits in
 * v->nmi_pending; on hardware it is taken right after the handler's IRET, before the next
 * instruction, and only this exit lets the hypervisor do the same (without it the NMI waited
 * for whatever exit came next, or for ever in a guest that spins waiting for it). The control
 * exists only with virtual NMIs (SDM 26.2.1.1).
 */
static bool nmi_window_supported(void)
{
	return ((vmx_caps.pin >> 32) & PIN_VIRTUAL_NMIS) &&
	       ((vmx_caps.proc >> 32) & CPU_NMI_WINDOW_EXITING);
}

static void set_nmi_window_exiting(bool on)
{
	if (on && !nmi_window_supported())
		return;
	u64 c = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	u64 n = on ? c | CPU_NMI_WINDOW_EXITING : c & ~CPU_NMI_WINDOW_EXITING;
	if (n != c)
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, n);
}

static bool nmi_blocked(void)
{
	return (vmcs_read(GUEST_INTERRUPTIBILITY) &
		(INTR_STATE_STI | INTR_STATE_MOV_SS | INTR_STATE_NMI)) || debug_trap_pending();
}

void intr_recover_nmi_blocking_slow(u32 exit_intr_info)
{
	if (!((vmx_caps.pin >> 32) & PIN_VIRTUAL_NMIS) || !(exit_intr_info & INTR_INFO_VALID) ||
	    !(exit_intr_info & INTR_INFO_NMI_UNBLOCK) ||
	    (exit_intr_info & INTR_INFO_VECTOR_MASK) == VEC_DF ||
	    (vmcs_read(IDT_VECTORING_INFO) & INTR_INFO_VALID))
		return;
	vmcs_write(GUEST_INTERRUPTIBILITY, vmcs_read(GUEST_INTERRUPTIBILITY) | INTR_STATE_NMI);
}

/* An NMI from the local APIC (LINT1, an NMI IPI) is injected when nothing blocks it; else it
 * stays pending, with an NMI-window exit asked for so that it goes in the moment the guest
 * unblocks NMIs. */
static bool inject_nmi(struct vcpu *v)
{
	if (lapic_take_nmi())
		v->nmi_pending = true;
	if (!v->nmi_pending) {
		set_nmi_window_exiting(false);
		return false;
	}
	if ((vmcs_read(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) || nmi_blocked()) {
		set_nmi_window_exiting(true);
		return false;
	}
	vmcs_write(VM_ENTRY_INTR_INFO,
		   VEC_NMI | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID);
	v->nmi_pending = false;
	set_nmi_window_exiting(false);
	return true;
}

u64 intr_deadline = IRQ_NONE;
bool intr_idle; /* the last evaluation found nothing waiting */

void intr_before_entry(struct vcpu *v, u64 now)
{
	/* Devices are ticked only when their earliest deliverable deadline has passed (their
	 * registers catch up on every access anyway); the deadline also arms the preemption
	 * timer (vmx/vcpu.c). */
	if (now >= intr_deadline)
		intc_tick(now);
	intr_deadline = intc_next_deadline();
	intc_dirty = false;
	intr_idle = false;
	inject_nmi(v);
	/* With virtual-interrupt delivery the local APIC's vectors are the CPU's to deliver (RVI,
	 * vmx/apicv.c); only the PIC's (ExtINT) are injected here. */
	int (*pending)(void) = intc_pending;
	if (v->apicv) {
		apicv_sync();
		pending = intc_pending_extint;
	}
	if (vmcs_read(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) {
		/* An exception or re-injected event goes first; come back for the interrupt. */
		set_window_exiting(pending() >= 0);
		return;
	}
	int vec = pending();
	if (vec < 0) {
		set_window_exiting(false);
		intr_idle = !v->nmi_pending;
		return;
	}
	if (!can_inject()) {
		set_window_exiting(true);
		return;
	}
	intc_ack(vec);
	intc_dirty = false; /* the ack is accounted for: the next exit re-evaluates (idle false) */
	vmcs_write(VM_ENTRY_INTR_INFO, (u32)vec | (INTR_TYPE_EXT_INTR << INTR_INFO_TYPE_SHIFT) |
				       INTR_INFO_VALID);
	set_window_exiting(false);
	v->intr_injected++;
}

void handle_interrupt_window(struct vcpu *v)
{
	(void)v; /* intr_before_entry() injects on the way back in */
}

void handle_nmi_window(struct vcpu *v)
{
	(void)v; /* v->nmi_pending keeps intr_before_entry() running: it injects the NMI */
}

enum hlt_wait { HLT_TICKED, HLT_NO_TIMER, HLT_DEBUGGER };

/* Waits, with the guest's clock running, until some device timer is due. Every console-poll
 * interval it lets the debugging tools read what was typed (vmx/debug_hooks.h idle_poll): a
 * person who types Ctrl-A c at an idle guest (Linux halts for seconds at a time) gets the
 * monitor at once, not at the guest's next timer. */
static enum hlt_wait wait_for_timer(struct vcpu *v, u64 *next_poll)
{
	u64 deadline = intc_next_deadline();
	if (deadline == IRQ_NONE)
		return HLT_NO_TIMER;
	for (;;) {
		if (rdtsc() >= *next_poll) {
			*next_poll = rdtsc() + vcpu_console_poll_ticks;
			if (vmx_debug_hooks->idle_poll(v))
				return HLT_DEBUGGER;
		}
		if (vtime_now() >= deadline)
			break;
		pause();
	}
	intc_tick(vtime_now());
	v->hlt_waits++;
	return HLT_TICKED;
}

void intr_handle_hlt(struct vcpu *v)
{
	bool intr_on = vmcs_read(GUEST_RFLAGS) & RFLAGS_IF;
	/* What completing HLT changes, to undo it if a debugger stops the guest mid-wait. */
	u64 rflags = vmcs_read(GUEST_RFLAGS), intr_state = vmcs_read(GUEST_INTERRUPTIBILITY);
	u64 pending_dbg = vmcs_read(GUEST_PENDING_DBG_EXCEPTIONS);
	vcpu_skip_instruction();
	if (lapic_take_nmi())
		v->nmi_pending = true;
	if (v->nmi_pending && !(vmcs_read(GUEST_INTERRUPTIBILITY) & INTR_STATE_NMI))
		return; /* an NMI wakes HLT whatever IF says; injected on entry */
	/* So does a #DB owed for HLT (TF set, IF clear: SDM, HLT: "a debug exception ... will
	 * resume execution"; KVM too), delivered on entry. With IF set it waits with HLT for the
	 * interrupt and goes first (debug_trap_pending, above), as on bare Bochs, which with IF
	 * clear never wakes. */
	if (!intr_on && debug_trap_pending())
		return;
	if (!intr_on) {
		vcpu_stop(v, END_HALTED, "guest halted at rip=%#llx with interrupts disabled: it can "
			  "never wake", v->last_rip);
		return;
	}
	u64 next_poll = rdtsc() + vcpu_console_poll_ticks; /* the run loop has just polled */
	while (intc_pending() < 0) {
		switch (wait_for_timer(v, &next_poll)) {
		case HLT_TICKED:
			break;
		case HLT_NO_TIMER:
			vcpu_stop(v, END_HALTED, "guest halted at rip=%#llx waiting for an interrupt, "
				  "but no armed device timer can reach it (masked or none): it can "
				  "never wake", v->last_rip);
			return;
		case HLT_DEBUGGER:
			/* The guest goes back to its HLT, as it was (an STI shadow included), and
			 * halts again when the debugger lets it run. */
			vmcs_write(GUEST_RIP, v->last_rip);
			vmcs_write(GUEST_RFLAGS, rflags);
			vmcs_write(GUEST_INTERRUPTIBILITY, intr_state);
			vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, pending_dbg);
			v->poll_now = true;
			return;
		}
	}
	/* HLT is done; the interrupt is injected on entry (RIP already past HLT). */
}
