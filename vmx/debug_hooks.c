/* debug_hooks.c - the debugging tools' hooks in force: none until the start-up code installs
 * debug/'s (the contract is in debug_hooks.h). */
#include "vmx/debug_hooks.h"

static void no_before_entry(struct vcpu *v)
{
	(void)v;
}

static bool no_idle_poll(struct vcpu *v)
{
	(void)v;
	return false;
}

static bool no_debug_exit(struct vcpu *v, u32 reason, u32 vector)
{
	(void)v, (void)reason, (void)vector;
	return false;
}

static void no_entry_failed(void)
{
}

static bool no_check_entry(void)
{
	return true;
}

static const struct vmx_debug_hooks no_debugger = {
	.before_entry = no_before_entry,
	.idle_poll = no_idle_poll,
	.debug_exit = no_debug_exit,
	.entry_failed = no_entry_failed,
	.check_entry = no_check_entry,
};

const struct vmx_debug_hooks *vmx_debug_hooks = &no_debugger;

void vmx_set_debug_hooks(const struct vmx_debug_hooks *h)
{
	vmx_debug_hooks = h;
}
