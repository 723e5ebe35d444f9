/* resume.h - what the run loop (vmx/vcpu.c vcpu_run) does before an entry when it has nothing
 * else to do, shared with the exit landing (vmx/exit.c vmx_exit_landing), which resumes the
 * guest at once after an exit that left nothing for the loop (docs/vmx.md, "Entry and exit"
 * and "What runs before every entry"). */
#ifndef VMX_RESUME_H
#define VMX_RESUME_H

#include "vmx/vcpu.h"
#include "vmx/intr.h"
#include "vmx/trace.h"
#include "mmu/mmu.h"
#include "arch/asm.h"

/* Preemption-timer period (in units of 2^VMX_MISC[4:0] TSC ticks) between console polls. */
#define PREEMPTION_POLL 0x400000
#define PREEMPTION_MIN_TICKS 2048 /* the guest runs at least this long between timer exits */

/* The run loop's state: the host TSC of the next console poll, the preemption timer's rate
 * (TSC >> VMX_MISC[4:0]), and whether an exit may resume at the landing at all (the
 * preemption timer is on, and no strict entry check runs: entry_check=1 checks every entry
 * in the loop). Written by vcpu_run only. */
extern u64 vcpu_next_poll;
extern u32 vcpu_preempt_shift;
extern bool vcpu_resume_ok;

/* The preemption timer fires at the next device deadline (so timer interrupts arrive on time
 * even in a guest that makes no exits), and at least every PREEMPTION_POLL units to poll the
 * consoles. It counts TSC >> VMX_MISC[4:0]. */
static inline u32 preemption_ticks(u64 now, u32 shift)
{
	u64 deadline = intr_deadline;
	if (deadline == IRQ_NONE)
		return PREEMPTION_POLL;
	/* Never 0: a zero timer exits before the guest runs a single instruction, and a timer
	 * that is always due (a periodic count of 1) would then starve it. */
	u64 t = deadline <= now ? 0 : (deadline - now) >> shift;
	u64 min = PREEMPTION_MIN_TICKS >> shift ? PREEMPTION_MIN_TICKS >> shift : 1;
	t = MAX(t, min);
	return t < PREEMPTION_POLL ? (u32)t : PREEMPTION_POLL;
}

/* The root the CPU must use (mmu_root_for_entry: inline when the MMU has nothing to do),
 * into GUEST_CR3 when it changed. */
static inline void vcpu_load_root(struct vcpu *v)
{
	hpa_t root = mmu_root_for_entry();
	if (root != v->root_hpa) {
		v->root_hpa = root;
		vmcs_write(GUEST_CR3, root);
	}
}

/* The entry's last steps, after the consoles' poll: interrupts (evaluated only when something
 * may have changed: intr_quiet), the preemption timer, the APIC's interrupt status (the
 * caller then completes the exit's cost, trace_entry_done). vnow: the guest's TSC. */
static inline void vcpu_finish_entry(struct vcpu *v, u64 vnow, bool preempt)
{
	if (!intr_quiet(vnow))
		intr_before_entry(v, vnow);
	if (preempt)
		vmcs_write(VMX_PREEMPTION_TIMER, preemption_ticks(vnow, vcpu_preempt_shift));
	if (v->apicv) /* for apicv_vectoring: what a delivery during the run changes */
		v->intr_status_entry = (u16)vmcs_read(GUEST_INTR_STATUS);
}

/* After an exit was handled at the exit landing: does what the run loop does before an entry
 * and returns 1 (the guest is resumed at once), unless the loop has something only it does:
 * the run ended, the consoles' poll is due or asked for (a debugger may stop the guest), or
 * every entry is checked (entry_check=1). 0: the run loop takes over. */
static inline int vcpu_resume_now(struct vcpu *v)
{
	if (!vcpu_resume_ok || v->end != END_NONE || v->poll_now)
		return 0;
	/* The poll's time first: a return to the loop must leave the root's work (a batch of
	 * reclaim) to the loop, or one exit would reclaim twice. */
	u64 now = rdtsc();
	if (now >= vcpu_next_poll)
		return 0;
	if (mmu_entry_root != v->root_hpa) { /* the MMU has work, or the root changed */
		vcpu_load_root(v);
		now = rdtsc();
	}
	vcpu_finish_entry(v, now + v->tsc_offset, true);
	trace_entry_done(rdtsc());
	return 1;
}

#endif
