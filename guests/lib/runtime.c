/* runtime.c - serial console (16550 at 0x3f8, 8N1), formatting, checks and exit for guests. */
#include "guest.h"

#define COM1 0x3f8

int guest_failures;

void serial_init(void)
{
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x80);
	outb(COM1 + 0, 0x01); /* 115200 */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1: Bochs starts with 5-bit characters */
	outb(COM1 + 2, 0x07);
	outb(COM1 + 4, 0x03);
}

void serial_putc(char c)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
}

int serial_getc(void)
{
	return (inb(COM1 + 5) & 1) ? inb(COM1) : -1;
}

void puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			serial_putc('\r');
		serial_putc(*s++);
	}
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;
	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x - *y;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	return n;
}

/* 64-by-32 division without libgcc: returns v / d, leaves v % d in *rem. */
static uint64_t div64(uint64_t v, uint32_t d, uint32_t *rem)
{
	uint32_t hi = (uint32_t)(v >> 32), lo = (uint32_t)v;
	uint32_t qhi = hi / d, r = hi % d, qlo;
	__asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
	*rem = r;
	return ((uint64_t)qhi << 32) | qlo;
}

static void emit(char *buf, size_t n, size_t *len, char c)
{
	if (*len + 1 < n)
		buf[*len] = c;
	(*len)++;
}

/* %s %c %d %u %x with optional '0' pad, width and 'l'/'ll' (64-bit with ll). */
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	size_t len = 0;
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			emit(buf, n, &len, *p);
			continue;
		}
		p++;
		char padc = ' ';
		int width = 0, longs = 0;
		if (*p == '0')
			padc = '0', p++;
		while (*p >= '0' && *p <= '9')
			width = width * 10 + (*p++ - '0');
		while (*p == 'l')
			longs++, p++;
		if (*p == 's') {
			const char *s = va_arg(ap, const char *);
			int sl = (int)strlen(s);
			while (width-- > sl)
				emit(buf, n, &len, ' ');
			while (*s)
				emit(buf, n, &len, *s++);
			continue;
		}
		if (*p == 'c') {
			emit(buf, n, &len, (char)va_arg(ap, int));
			continue;
		}
		uint64_t v;
		bool neg = false;
		int base = (*p == 'x') ? 16 : 10;
		if (longs >= 2)
			v = va_arg(ap, unsigned long long);
		else
			v = va_arg(ap, unsigned int);
		if (*p == 'd') {
			int64_t sv = longs >= 2 ? (int64_t)v : (int64_t)(int32_t)v;
			neg = sv < 0;
			v = neg ? (uint64_t)-sv : (uint64_t)sv;
		}
		char tmp[24];
		int k = 0;
		do {
			uint32_t r;
			v = div64(v, (uint32_t)base, &r);
			tmp[k++] = "0123456789abcdef"[r];
		} while (v);
		if (neg)
			tmp[k++] = '-';
		while (width-- > k)
			emit(buf, n, &len, padc);
		while (k)
			emit(buf, n, &len, tmp[--k]);
	}
	if (n)
		buf[len < n ? len : n - 1] = 0;
	return (int)len;
}

int printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	puts(buf);
	return r;
}

void check(bool ok, const char *name, const char *fmt, ...)
{
	char buf[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ok) {
		printf("PASS %s\n", name);
	} else {
		printf("FAIL %s: %s\n", name, buf);
		guest_failures++;
	}
}

void guest_exit(int v)
{
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x40); i++)
		;
	outl(0xf4, (uint32_t)v);
	for (const char *s = "Shutdown"; *s; s++)
		outb(0x8900, (uint8_t)*s);
	for (;;)
		__asm__ volatile("cli; hlt");
}
