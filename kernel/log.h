/* log.h - leveled logging to the serial console. */
#ifndef KERNEL_LOG_H
#define KERNEL_LOG_H

#include <stdarg.h>
#include "arch/types.h"

/*
 * Every hypervisor line starts with "[hv L] " (L = E W I D); guest console lines start with
 * "[guest] " (devices/vuart.c). Scripts tell the two apart by that prefix (docs/debugging.md).
 */
enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

extern int log_level;

void klog(int level, const char *fmt, ...) __printf(2, 3);
void vklog(int level, const char *fmt, va_list ap);
/* Where console text goes, one character at a time (the start-up code registers the UART's
 * output routine first thing; before that, output is dropped). */
void log_set_output(void (*putc)(char c));
/* A second sink for the same text (the screen console; the serial line stays the first). It
 * gets the console's first 2 KiB written so far at once, so it shows the boot log from the
 * start. */
void log_set_extra_output(void (*putc)(char c));
/* Writes text as is (newlines become CR LF); no prefix, no level. */
void console_write(const char *s, size_t n);
void console_puts(const char *s);
/* True when the last character written was not a newline (a guest's prompt is on the line);
 * klog then ends that line before its own. */
bool console_mid_line(void);

#define pr_err(...) klog(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) klog(LOG_WARN, __VA_ARGS__)
#define pr_info(...) klog(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) klog(LOG_DEBUG, __VA_ARGS__)

#endif
