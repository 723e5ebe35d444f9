/* hooks.h - the debugging tools as VMX calls them: the table the start-up code installs with
 * vmx_set_debug_hooks (vmx/debug_hooks.h has the contract). */
#ifndef DEBUG_HOOKS_H
#define DEBUG_HOOKS_H

#include "vmx/debug_hooks.h"

/* The monitor and the GDB stub at console polls and debug exits; the entry checker after a
 * failed entry. */
extern const struct vmx_debug_hooks debug_hooks;

#endif
