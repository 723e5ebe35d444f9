/* intr.h - external-interrupt delivery to the guest: injection at VM entry, the interrupt
 * window, and HLT waiting for the next interrupt (SDM Vol. 3C 26.6, 25.3, 26.5). */
#ifndef VMX_INTR_H
#define VMX_INTR_H

#include "vmx/vcpu.h"
#include "devices/irq.h"

/* Before a VM entry that is not intr_quiet(now) (now: the guest's TSC): runs due device
 * timers, then injects the highest pending interrupt when the guest can take it, or asks for
 * an interrupt-window exit when it cannot yet. */
void intr_before_entry(struct vcpu *v, u64 now);
/* The state intr_before_entry() leaves: the next deliverable device deadline (guest TSC) and
 * whether nothing (interrupt, NMI) was left waiting. */
extern u64 intr_deadline;
extern bool intr_idle;
/* True when intr_before_entry() would do nothing: nothing waits, nothing that could change
 * that happened (devices/irq.h: intc_dirty) and no device deadline has passed. */
static inline bool intr_quiet(u64 vnow)
{
	return !intc_dirty && intr_idle && vnow < intr_deadline;
}
/* HLT: resumes the guest at once if an interrupt can be delivered; otherwise waits (the
 * guest's time runs on) until the next device timer; ends the run when nothing can ever wake
 * the guest (interrupts disabled, or no timer armed). */
void intr_handle_hlt(struct vcpu *v);
void handle_interrupt_window(struct vcpu *v);
void handle_nmi_window(struct vcpu *v);
/* An exception exit whose VM-exit interruption information says "NMI unblocking due to IRET"
 * (bit 12: the guest's IRET faulted, here a shadow page fault on the stack it pops, after the
 * CPU had already ended the guest's NMI blocking): the IRET runs again, so the blocking is
 * set again before the entry, or a pending NMI would come in before the handler returned
 * (SDM 27.2.3, KVM's vmx_recover_nmi_blocking). Not for #DF, nor for an exit during event
 * delivery (bit 12 undefined there). */
void intr_recover_nmi_blocking_slow(u32 exit_intr_info);
static inline void intr_recover_nmi_blocking(u32 exit_intr_info)
{
	if (exit_intr_info & INTR_INFO_NMI_UNBLOCK) /* rare: tested inline on every exception */
		intr_recover_nmi_blocking_slow(exit_intr_info);
}

#endif
