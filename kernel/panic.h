/* panic.h - fatal errors: reason, registers, backtrace, then power-off with a failure code. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include "arch/types.h"

struct trap_frame;

void panic(const char *fmt, ...) __printf(1, 2) __noreturn;
void panic_regs(const struct trap_frame *f, const char *fmt, ...) __printf(2, 3) __noreturn;

#ifdef NDEBUG
#define ASSERT(c) ((void)0)
#else
#define ASSERT(c) ((c) ? (void)0 : panic("assertion failed: %s (%s:%d)", #c, __FILE__, __LINE__))
#endif

#endif
