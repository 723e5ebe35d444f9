/* platform_stop.h - a device's request to end the run: isa-debug-exit (devices/debug_exit.c),
 * ACPI soft-off and unsupported sleep states (PM1a_CNT), the reset control register at 0xcf9
 * (devices/acpi_pm.c).
 *
 * A device only records the request: ending the run belongs to the vCPU, above the devices.
 * Every port access reaches the devices through the I/O exit handler (vmx/exit_io.c: IN/OUT,
 * and INS/OUTS through the emulator), which tests platform_stop_requested() once after each
 * access and, when set, takes the request and stops the vCPU with it (end= by kind: debug_exit,
 * poweroff, reset, guest_error). The instruction still completes.
 */
#ifndef DEVICES_PLATFORM_STOP_H
#define DEVICES_PLATFORM_STOP_H

#include "arch/types.h"

enum platform_stop_kind {
	PSTOP_NONE = 0,
	PSTOP_DEBUG_EXIT,  /* isa-debug-exit: code is the value V written */
	PSTOP_POWEROFF,    /* the guest entered S5 (soft-off) */
	PSTOP_RESET,       /* the guest asked for a reset */
	PSTOP_UNSUPPORTED, /* the guest asked for something the platform cannot do (a sleep state) */
};

/* Invariants: kind != PSTOP_NONE while a request is pending; cleared only by
 * platform_stop_take(). kind and reason are those of the first request since the last take; a
 * later request of the same kind replaces code (isa-debug-exit: the latest V of a REP OUTS
 * batch), one of another kind is dropped (the first request ends the run). */
struct platform_stop {
	enum platform_stop_kind kind;
	u32 code;
	char reason[128]; /* one line for "guest ended: ..." */
};
extern struct platform_stop platform_stop;

/* True when a device asked to end the run (one load: tested after every port access). */
static inline bool platform_stop_requested(void)
{
	return platform_stop.kind != PSTOP_NONE;
}
/* Records a request (see the invariants above). */
void platform_stop_request(enum platform_stop_kind kind, u32 code, const char *fmt, ...)
	__printf(3, 4);
/* Returns the pending request and clears it. */
struct platform_stop platform_stop_take(void);

#endif
