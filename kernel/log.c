/* log.c - leveled logging to the console: the output routine the start-up code registers (the
 * host UART, drivers/uart.c; the kernel sits below the drivers in the layer map). */
#include "kernel/log.h"
#include "kernel/fmt.h"

int log_level = LOG_INFO;

#define CONSOLE_EARLY_BYTES 2048

static void (*console_putc)(char c); /* NULL until registered: output is dropped */
static void (*extra_putc)(char c);   /* a second sink (the screen), NULL until registered */
static bool mid_line;                /* the last character written was not a newline */
/* The console's first bytes, kept until a second sink is registered, which gets them first:
 * the screen starts after the boot information is read, the log before. */
static char early[CONSOLE_EARLY_BYTES];
static size_t early_len;

void log_set_output(void (*putc)(char c))
{
	console_putc = putc;
}

void log_set_extra_output(void (*putc)(char c))
{
	for (size_t i = 0; i < early_len; i++)
		putc(early[i]);
	extra_putc = putc;
}

static void emit(char c)
{
	console_putc(c);
	if (extra_putc)
		extra_putc(c);
	else if (early_len < sizeof(early))
		early[early_len++] = c;
}

static void putc_crlf(char c)
{
	if (!console_putc)
		return;
	if (c == '\n')
		emit('\r');
	emit(c);
	mid_line = c != '\n';
}

bool console_mid_line(void)
{
	return mid_line;
}

static const char level_char[] = { 'E', 'W', 'I', 'D' };

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		putc_crlf(s[i]);
}

void console_puts(const char *s)
{
	while (*s)
		putc_crlf(*s++);
}

void vklog(int level, const char *fmt, va_list ap)
{
	char buf[512];
	if (level > log_level)
		return;
	int n = fmt_snprintf(buf, sizeof(buf), "[hv %c] ", level_char[level & 3]);
	fmt_vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	if (mid_line) /* a line left open (a guest's prompt) ends first */
		console_puts("\n");
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
