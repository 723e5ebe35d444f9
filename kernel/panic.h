/* panic.h - fatal errors: reason, registers, backtrace, then power-off with a failure code. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include "arch/types.h"

struct trap_frame;

/*
 * The value written to QEMU's isa-debug-exit when the hypervisor itself fails:
 * QEMU then exits with status (0x7f << 1) | 1 = 255. A guest's own debug-exit value is passed
 * through unchanged, so a guest's exit status is the same under the hypervisor as without it.
 */
#define POWER_FAIL_CODE 0x7f

/* How a panic ends the run (drivers/power.c's power_off, registered by the start-up code;
 * the kernel sits below the drivers). Until one is registered, a panic halts. */
void panic_set_power_off(void (*power_off)(u8 code));

void panic(const char *fmt, ...) __printf(1, 2) __noreturn;
void panic_regs(const struct trap_frame *f, const char *fmt, ...) __printf(2, 3) __noreturn;

#ifdef NDEBUG
#define ASSERT(c) ((void)0)
#else
#define ASSERT(c) ((c) ? (void)0 : panic("assertion failed: %s (%s:%d)", #c, __FILE__, __LINE__))
#endif

#endif
