/* debug_hooks.h - where VMX hands over to the debugging tools (debug/: the monitor, the GDB
 * stub, the entry checker), which sit above it on the layer map (docs/architecture.md).
 *
 * vmx/ never calls debug/ by name: the start-up code (hv/hv.c) installs debug/'s table with
 * vmx_set_debug_hooks before the guest runs, and until then vmx/ runs with hooks that do
 * nothing (no debugger). The hooks are called only where a debugger can matter, never on
 * every exit: before_entry at the run loop's console polls (every vcpu_console_poll_ticks, or
 * after an exit that set vcpu->poll_now), idle_poll while the guest halts, debug_exit on #DB/#BP, monitor-trap-flag and
 * preemption-timer exits, entry_failed after a failed VM entry.
 */
#ifndef VMX_DEBUG_HOOKS_H
#define VMX_DEBUG_HOOKS_H

#include "vmx/vcpu.h"

/* Invariants: every member is set (no NULL); the table outlives the run. */
struct vmx_debug_hooks {
	/* Before an entry, at a console poll: reads what was typed; may block while the guest
	 * is stopped for a debugger, or end the run (vcpu_stop). */
	void (*before_entry)(struct vcpu *v);
	/* While the guest halts waiting for an interrupt (vmx/intr.c), every console-poll
	 * interval: reads what was typed; true when a debugger wants the guest stopped now (the
	 * guest is put back on its HLT and the next before_entry runs at once). */
	bool (*idle_poll)(struct vcpu *v);
	/* A #DB or #BP exception exit (reason EXIT_EXCEPTION_NMI, its vector), or a
	 * monitor-trap-flag or preemption-timer exit (vector ~0u): true when a debugger took the
	 * exit; false leaves it to vmx/ (a #DB/#BP goes back to the guest). */
	bool (*debug_exit)(struct vcpu *v, u32 reason, u32 vector);
	/* After a failed VM entry has been reported and the guest state dumped: explains it
	 * (prints every VM-entry rule the current VMCS breaks). */
	void (*entry_failed)(void);
	/* entry_check=1 (vcpu->strict_entry), before every VM entry: true when the VMCS breaks
	 * no VM-entry rule; false (the rules printed) stops the run before the entry. */
	bool (*check_entry)(void);
};

/* The hooks in force (vmx/vcpu.c); never NULL. */
extern const struct vmx_debug_hooks *vmx_debug_hooks;

/* Installs h (called once, by the start-up code, before vcpu_run). */
void vmx_set_debug_hooks(const struct vmx_debug_hooks *h);

#endif
