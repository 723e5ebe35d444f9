/* hooks.c - debug/'s side of VMX's hooks: which tool sees a console poll or a debug exit
 * first. */
#include "debug/hooks.h"
#include "debug/entry_check.h"
#include "debug/gdb.h"
#include "debug/monitor.h"

/* The console (monitor escape, guest input) first, then what gdb sent. */
static void before_entry(struct vcpu *v)
{
	monitor_before_entry(v);
	gdb_before_entry(v);
}

/* The guest halts: the console is read (the guest's typed bytes and the monitor escape); a
 * Ctrl-A c ends the wait. (gdb's Ctrl-C is read at the next entry, after the guest's next
 * interrupt.) */
static bool idle_poll(struct vcpu *v)
{
	(void)v;
	console_input_poll();
	return monitor_requested();
}

/* An attached gdb takes every debug exit; the monitor's one-shot "step" and "break" see a
 * #DB/#BP only when gdb did not take it. */
static bool debug_exit(struct vcpu *v, u32 reason, u32 vector)
{
	if (gdb_handle_debug_exit(v, reason, vector))
		return true;
	return reason == EXIT_EXCEPTION_NMI && monitor_handle_debug_exit(v, vector);
}

const struct vmx_debug_hooks debug_hooks = {
	.before_entry = before_entry,
	.idle_poll = idle_poll,
	.debug_exit = debug_exit,
	.entry_failed = entry_check,
	.check_entry = entry_check_strict,
};
