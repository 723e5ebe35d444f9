/* debug_exit.h - QEMU's isa-debug-exit: a guest write of V asks to end the run with code V.
 *
 * The device only records the request: ending the run belongs to the vCPU, above the devices.
 * Every access reaches the device through the I/O exit handler (vmx/exit_io.c: OUT, and OUTS
 * through the emulator), which tests debug_exit_requested() once the device has seen the
 * accesses and, when set, takes the request and stops the vCPU with it (end=debug_exit). The
 * instruction still completes.
 */
#ifndef DEVICES_DEBUG_EXIT_H
#define DEVICES_DEBUG_EXIT_H

#include "arch/types.h"

/* Invariants: pending is set by every write and cleared only by debug_exit_take(); code is V
 * of the latest write (all 32 bits); reason describes the first write since the last take. */
struct debug_exit_request {
	bool pending;
	u32 code;
	char reason[48]; /* "guest wrote V to isa-debug-exit" */
};
extern struct debug_exit_request debug_exit_request;

/* True when a write asked to end the run (one load: tested after every OUT). */
static inline bool debug_exit_requested(void)
{
	return debug_exit_request.pending;
}
/* Returns the pending request and clears it. */
struct debug_exit_request debug_exit_take(void);

#endif
