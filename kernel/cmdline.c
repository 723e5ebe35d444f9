/* cmdline.c - strict key=value parsing of the hypervisor command line. */
#include "kernel/cmdline.h"
#include "kernel/fmt.h"
#include "kernel/lib.h"
#include "kernel/log.h"

void cmdline_defaults(struct hv_config *cfg)
{
	*cfg = (struct hv_config){
		.guest_mem = GUEST_MEM_DEFAULT,
		.loglevel = LOG_INFO,
		.serial_port = 0x3f8,
		.serial_baud = 115200,
		.shadow_pages = 4096,
		.mmu_audit = -1, /* the build's default */
		.screen = true,
		.apicv = true,
		.pf_bypass = true,
	};
}

/* Parses an unsigned decimal or 0x-hex number of exactly len chars; false on junk/overflow. */
static bool parse_u64(const char *s, size_t len, u64 *out)
{
	u64 v = 0;
	int base = 10;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		int d = (c >= '0' && c <= '9') ? c - '0'
			: (base == 16 && c >= 'a' && c <= 'f') ? c - 'a' + 10
			: (base == 16 && c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		if (d < 0 || v > (~0ULL - (u64)d) / (u64)base)
			return false;
		v = v * (u64)base + (u64)d;
	}
	*out = v;
	return true;
}

static bool parse_size(const char *s, size_t len, u64 *out)
{
	u64 mult = 1;
	if (len && (s[len - 1] == 'K' || s[len - 1] == 'k'))
		mult = KiB;
	else if (len && (s[len - 1] == 'M' || s[len - 1] == 'm'))
		mult = MiB;
	else if (len && (s[len - 1] == 'G' || s[len - 1] == 'g'))
		mult = GiB;
	if (mult != 1)
		len--;
	u64 v;
	if (!parse_u64(s, len, &v) || v > ~0ULL / mult)
		return false;
	*out = v * mult;
	return true;
}

static bool eq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(s, word, len);
}

static int set_loglevel(struct hv_config *c, const char *v, size_t n)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	for (int i = 0; i < 4; i++)
		if (eq(v, n, names[i]))
			return c->loglevel = i, 0;
	u64 x;
	if (parse_u64(v, n, &x) && x <= 3)
		return c->loglevel = (int)x, 0;
	return -1;
}

static int set_baud(struct hv_config *c, const char *v, size_t n)
{
	u64 b;
	if (!parse_u64(v, n, &b) || b < 50 || b > 115200 || 115200 % b)
		return -1;
	c->serial_baud = (u32)b;
	return 0;
}

static int set_serial(struct hv_config *c, const char *v, size_t n)
{
	static const u16 ports[] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
	static const char *const names[] = { "com1", "com2", "com3", "com4" };
	size_t plen = 0;
	while (plen < n && v[plen] != ',')
		plen++;
	u64 port = 0;
	for (int i = 0; i < 4; i++)
		if (eq(v, plen, names[i]))
			port = ports[i];
	if (!port && (!parse_u64(v, plen, &port) || port == 0 || port > 0xfff8))
		return -1;
	c->serial_port = (u16)port;
	return plen < n ? set_baud(c, v + plen + 1, n - plen - 1) : 0;
}

static int set_gdb(struct hv_config *c, const char *v, size_t n)
{
	struct hv_config t = *c;
	if (set_serial(&t, v, n) || t.serial_baud != c->serial_baud)
		return -1; /* a port only: the stub always runs at 115200 */
	c->gdb_port = t.serial_port;
	return 0;
}

static int set_selftest(struct hv_config *c, const char *v, size_t n)
{
	if (eq(v, n, "panic"))
		c->selftest = SELFTEST_PANIC;
	else if (eq(v, n, "exception"))
		c->selftest = SELFTEST_EXCEPTION;
	else if (eq(v, n, "entry_guest_state"))
		c->selftest = SELFTEST_ENTRY_GUEST_STATE;
	else if (eq(v, n, "entry_control"))
		c->selftest = SELFTEST_ENTRY_CONTROL;
	else if (eq(v, n, "vmx_locked_off"))
		c->selftest = SELFTEST_VMX_LOCKED_OFF;
	else if (eq(v, n, "nmi"))
		c->selftest = SELFTEST_NMI;
	else if (n > 11 && !memcmp(v, "entry_rule:", 11)) {
		u64 k;
		if (!parse_u64(v + 11, n - 11, &k) || k < 1 || k > 99)
			return -1;
		c->entry_rule = (int)k;
	}
	else
		return -1;
	return 0;
}

static int set_guest_mem(struct hv_config *c, const char *v, size_t n)
{
	u64 m;
	if (!parse_size(v, n, &m) || m < GUEST_MEM_MIN || m > GUEST_MEM_MAX || (m & (PAGE_SIZE - 1)))
		return -1;
	c->guest_mem = m;
	return 0;
}

/* mmu_audit=0 (off), 1 (every named point) or N (every Nth: a guest as big as Linux makes
 * hundreds of thousands of faults, each audit walks every live spte). */
static const char *const tsc_sources[TSC_SOURCES] = {
	[TSC_AUTO] = "auto", [TSC_CPUID15] = "cpuid15", [TSC_CPUID16] = "cpuid16",
	[TSC_PLATFORM_INFO] = "platform_info", [TSC_PMTIMER] = "pmtimer", [TSC_PIT] = "pit",
};

const char *tsc_source_name(enum tsc_source s)
{
	return (unsigned)s < TSC_SOURCES ? tsc_sources[s] : "?";
}

static int set_tsc(struct hv_config *c, const char *v, size_t n)
{
	for (int i = 0; i < TSC_SOURCES; i++)
		if (eq(v, n, tsc_sources[i]))
			return c->tsc_source = (enum tsc_source)i, 0;
	return -1;
}

static int set_mmu_audit(struct hv_config *c, const char *v, size_t vn)
{
	u64 n;
	if (!parse_u64(v, vn, &n) || n > 1000000000)
		return -1;
	c->mmu_audit = (int)n;
	return 0;
}

static int apply(struct hv_config *c, const char *k, size_t kn, const char *v, size_t vn,
		 char *err, size_t errlen)
{
	int r;
	if (eq(k, kn, "guest_mem"))
		r = set_guest_mem(c, v, vn);
	else if (eq(k, kn, "loglevel"))
		r = set_loglevel(c, v, vn);
	else if (eq(k, kn, "serial"))
		r = set_serial(c, v, vn);
	else if (eq(k, kn, "baud"))
		r = set_baud(c, v, vn);
	else if (eq(k, kn, "shadow_pages"))
		r = (parse_u64(v, vn, &c->shadow_pages) && c->shadow_pages >= 64 &&
		     c->shadow_pages <= 16384) ? 0 : -1;
	else if (eq(k, kn, "gdb"))
		r = set_gdb(c, v, vn);
	else if (eq(k, kn, "mmu_audit"))
		r = set_mmu_audit(c, v, vn);
	else if (eq(k, kn, "selftest"))
		r = set_selftest(c, v, vn);
	else if (eq(k, kn, "tsc"))
		r = set_tsc(c, v, vn);
	else if (eq(k, kn, "entry_check"))
		r = eq(v, vn, "1") ? (c->entry_check = true, 0) : eq(v, vn, "0") ? (c->entry_check = false, 0) : -1;
	else if (eq(k, kn, "screen"))
		r = eq(v, vn, "on") ? (c->screen = true, 0) : eq(v, vn, "off") ? (c->screen = false, 0) : -1;
	else if (eq(k, kn, "apicv"))
		r = eq(v, vn, "on") ? (c->apicv = true, 0) : eq(v, vn, "off") ? (c->apicv = false, 0) : -1;
	else if (eq(k, kn, "pf_bypass"))
		r = eq(v, vn, "on") ? (c->pf_bypass = true, 0) :
		    eq(v, vn, "off") ? (c->pf_bypass = false, 0) : -1;
	else {
		fmt_snprintf(err, errlen, "cmdline: unknown option '%.*s' (known: guest_mem= loglevel= "
			     "serial= baud= gdb= shadow_pages= mmu_audit= selftest= tsc= entry_check= screen= apicv= pf_bypass=)", (int)kn, k);
		return -1;
	}
	if (r)
		fmt_snprintf(err, errlen, "cmdline: bad value '%.*s' for %.*s (see docs/boot.md)",
			     (int)vn, v, (int)kn, k);
	return r;
}

int cmdline_parse(const char *line, struct hv_config *cfg, char *err, size_t errlen)
{
	struct hv_config c = *cfg;
	size_t len = strnlen(line, CMDLINE_MAX + 1);
	if (len > CMDLINE_MAX) {
		fmt_snprintf(err, errlen, "cmdline: longer than %d characters", CMDLINE_MAX);
		return -1;
	}
	bool first = true;
	for (size_t i = 0; i < len;) {
		while (i < len && line[i] == ' ')
			i++;
		size_t w = i;
		while (i < len && line[i] != ' ')
			i++;
		if (w == i)
			break;
		if (first && line[w] == '/') {
			first = false;
			continue; /* the kernel's own path, as some loaders pass it */
		}
		first = false;
		size_t eqpos = w;
		while (eqpos < i && line[eqpos] != '=')
			eqpos++;
		if (eqpos == i || eqpos == w) {
			fmt_snprintf(err, errlen, "cmdline: '%.*s' is not key=value", (int)(i - w), line + w);
			return -1;
		}
		if (apply(&c, line + w, eqpos - w, line + eqpos + 1, i - eqpos - 1, err, errlen))
			return -1;
	}
	*cfg = c;
	return 0;
}
