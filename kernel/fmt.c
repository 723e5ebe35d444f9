/* fmt.c - printf-style formatting into a bounded buffer. */
#include "kernel/fmt.h"

struct out {
	char *buf;
	size_t size;
	size_t len;
};

struct spec {
	bool left, zero, plus, space, alt;
	int width, prec;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

/* Sign for signed conversions (base 10 with is_signed); 0x for %#x. Octal's '#' is handled
 * as a precision increase in put_num, as C specifies. */
static const char *num_prefix(const struct spec *s, bool neg, bool is_signed, int base,
			      bool upper, bool nonzero)
{
	if (neg)
		return "-";
	if (is_signed && s->plus)
		return "+";
	if (is_signed && s->space)
		return " ";
	if (s->alt && base == 16 && nonzero)
		return upper ? "0X" : "0x";
	return "";
}

/* Emits one integer: digits of v in base, then sign/prefix and padding per spec. */
static void put_num(struct out *o, const struct spec *s, u64 v, bool neg, bool is_signed, int base,
		    bool upper)
{
	const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	const char *pre = num_prefix(s, neg, is_signed, base, upper, v != 0);
	char tmp[24];
	int n = 0, plen = 0;
	do {
		tmp[n++] = dig[v % (u64)base];
		v /= (u64)base;
	} while (v);
	if (s->prec == 0 && n == 1 && tmp[0] == '0')
		n = 0;
	while (pre[plen])
		plen++;
	int zeros = s->prec > n ? s->prec - n : 0;
	if (s->alt && base == 8 && zeros == 0 && (n == 0 || tmp[n - 1] != '0'))
		zeros = 1; /* %#o: the first digit must be 0 */
	if (s->zero && !s->left && s->prec < 0)
		zeros = MAX(zeros, s->width - plen - n);
	int total = plen + zeros + n;
	if (!s->left)
		pad(o, ' ', s->width - total);
	while (*pre)
		put(o, *pre++);
	pad(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (s->left)
		pad(o, ' ', s->width - total);
}

static void put_str(struct out *o, const struct spec *s, const char *str)
{
	int n = 0;
	if (!str)
		str = "(null)";
	while (str[n] && (s->prec < 0 || n < s->prec))
		n++;
	if (!s->left)
		pad(o, ' ', s->width - n);
	for (int i = 0; i < n; i++)
		put(o, str[i]);
	if (s->left)
		pad(o, ' ', s->width - n);
}

static int parse_int(const char **p)
{
	int v = 0;
	while (**p >= '0' && **p <= '9')
		v = v * 10 + (*(*p)++ - '0');
	return v;
}

/* Reads flags, width and precision after '%'; returns the spec. */
static struct spec parse_spec(const char **p, va_list *ap)
{
	struct spec s = { .prec = -1 };
	for (;; (*p)++) {
		if (**p == '-') s.left = true;
		else if (**p == '0') s.zero = true;
		else if (**p == '+') s.plus = true;
		else if (**p == ' ') s.space = true;
		else if (**p == '#') s.alt = true;
		else break;
	}
	if (**p == '*') {
		(*p)++;
		s.width = va_arg(*ap, int);
		if (s.width < 0) {
			s.left = true;
			s.width = -s.width;
		}
	} else {
		s.width = parse_int(p);
	}
	if (**p == '.') {
		(*p)++;
		if (**p == '*') {
			(*p)++;
			s.prec = va_arg(*ap, int);
		} else {
			s.prec = parse_int(p);
		}
	}
	return s;
}

/* Length modifier: returns the argument size in bytes (0 = int). */
static int parse_len(const char **p)
{
	switch (**p) {
	case 'h':
		(*p)++;
		if (**p == 'h') {
			(*p)++;
			return 1;
		}
		return 2;
	case 'l':
		(*p)++;
		if (**p == 'l')
			(*p)++;
		return 8;
	case 'z': case 't': case 'j':
		(*p)++;
		return 8;
	default:
		return 0;
	}
}

static u64 get_unsigned(va_list *ap, int len)
{
	switch (len) {
	case 1: return (u8)va_arg(*ap, unsigned int);
	case 2: return (u16)va_arg(*ap, unsigned int);
	case 8: return va_arg(*ap, unsigned long long);
	default: return va_arg(*ap, unsigned int);
	}
}

static s64 get_signed(va_list *ap, int len)
{
	switch (len) {
	case 1: return (signed char)va_arg(*ap, int);
	case 2: return (short)va_arg(*ap, int);
	case 8: return va_arg(*ap, long long);
	default: return va_arg(*ap, int);
	}
}

static void put_conv(struct out *o, struct spec *s, int len, char c, va_list *ap)
{
	s64 sv;
	switch (c) {
	case 'd': case 'i':
		sv = get_signed(ap, len);
		put_num(o, s, sv < 0 ? (u64)0 - (u64)sv : (u64)sv, sv < 0, true, 10, false);
		break;
	case 'u': put_num(o, s, get_unsigned(ap, len), false, false, 10, false); break;
	case 'x': put_num(o, s, get_unsigned(ap, len), false, false, 16, false); break;
	case 'X': put_num(o, s, get_unsigned(ap, len), false, false, 16, true); break;
	case 'o': put_num(o, s, get_unsigned(ap, len), false, false, 8, false); break;
	case 'p':
		s->alt = true;
		put_num(o, s, (u64)(uintptr_t)va_arg(*ap, void *), false, false, 16, false);
		break;
	case 's': put_str(o, s, va_arg(*ap, const char *)); break;
	case 'c':
		pad(o, ' ', s->left ? 0 : s->width - 1);
		put(o, (char)va_arg(*ap, int));
		pad(o, ' ', s->left ? s->width - 1 : 0);
		break;
	case '%': put(o, '%'); break;
	default:
		put(o, '%');
		if (c)
			put(o, c);
		break;
	}
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap0)
{
	struct out o = { buf, size, 0 };
	va_list ap;
	va_copy(ap, ap0);
	for (const char *p = fmt; *p;) {
		if (*p != '%') {
			put(&o, *p++);
			continue;
		}
		p++;
		struct spec s = parse_spec(&p, &ap);
		int len = parse_len(&p);
		char c = *p;
		if (c)
			p++;
		put_conv(&o, &s, len, c, &ap);
	}
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
