/* log.c - leveled logging over the host UART. */
#include "kernel/log.h"
#include "kernel/fmt.h"
#include "drivers/uart.h"

int log_level = LOG_INFO;

static const char level_char[] = { 'E', 'W', 'I', 'D' };

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			uart_putc('\r');
		uart_putc(s[i]);
	}
}

void console_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s++);
	}
}

void vklog(int level, const char *fmt, va_list ap)
{
	char buf[512];
	if (level > log_level)
		return;
	int n = fmt_snprintf(buf, sizeof(buf), "[hv %c] ", level_char[level & 3]);
	fmt_vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	console_puts(buf);
	console_puts("\n");
}

void klog(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vklog(level, fmt, ap);
	va_end(ap);
}
