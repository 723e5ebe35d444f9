/* fmt.h - printf-style formatting into a buffer (pure: host-tested in tests/unit/test_fmt.c). */
#ifndef KERNEL_FMT_H
#define KERNEL_FMT_H

#include <stdarg.h>
#include "arch/types.h"

/*
 * Formats like C99 vsnprintf for the subset: flags '-' '0' '+' ' ' '#', width and precision
 * (numbers or '*'), length modifiers hh h l ll z t j, conversions d i u x X o p s c %.
 * Always NUL-terminates when size > 0. Returns the length the full output would have.
 * An unknown conversion is copied verbatim, so a bad format is visible, never fatal.
 */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

#endif
