/* acpi.c - the ACPI tables and PM device as a guest OS finds them (tests/system/test_acpi.py):
 * scans 0xe0000-0xfffff for the RSDP, walks the RSDT and XSDT to the FADT and MADT, checks
 * every checksum and the fields an OS relies on, reads \_S5 from the DSDT's AML, reads the PM
 * timer against PIT channel 2 (both count the guest TSC: PM ticks / PIT ticks must be 3.0), then
 * does what "action=" on its command line asks:
 *   action=poweroff  writes \_S5's SLP_TYP with SLP_EN to PM1a_CNT   (end=poweroff)
 *   action=reset     writes the FADT's RESET_VALUE to its RESET_REG  (end=reset)
 *   action=badsleep  writes SLP_TYP 3 with SLP_EN (no such state)    (end=guest_error)
 *   none             exits through isa-debug-exit with the failure count
 * A failed check skips the action: the run then ends with end=debug_exit and the FAIL lines.
 * Hypervisor-specific (its tables and ports): not meant for bare QEMU or Bochs. */
#include "guest.h"

#define SLP_EN (1u << 13)
#define SLP_TYP_SHIFT 10
#define SCI_EN 1u
#define PIT_HZ 1193182u
#define PM_HZ 3579545u

static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint16_t inw(uint16_t p)
{
	uint16_t v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline uint32_t inl(uint16_t p)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint32_t rd32(uint32_t a) { uint32_t v; memcpy(&v, (const void *)a, 4); return v; }
static uint64_t rd64(uint32_t a) { uint64_t v; memcpy(&v, (const void *)a, 8); return v; }
static uint16_t rd16(uint32_t a) { uint16_t v; memcpy(&v, (const void *)a, 2); return v; }
static uint8_t rd8(uint32_t a) { return *(const volatile uint8_t *)a; }

static uint8_t sum(uint32_t a, uint32_t len)
{
	uint8_t s = 0;
	for (uint32_t i = 0; i < len; i++)
		s += rd8(a + i);
	return s;
}

/* A description table with signature sig at a: the checksum over its length is 0. */
static bool table_ok(uint32_t a, const char *sig)
{
	uint32_t len = a ? rd32(a + 4) : 0;
	bool ok = a && !memcmp((const void *)a, sig, 4) && len >= 36 && len < 0x10000 &&
		  sum(a, len) == 0;
	check(ok, sig, "no valid %s at 0x%x", sig, a);
	return ok;
}

static uint32_t find_rsdp(void)
{
	for (uint32_t a = 0xe0000; a < 0x100000; a += 16)
		if (!memcmp((const void *)a, "RSD PTR ", 8) && sum(a, 20) == 0)
			return a;
	return 0;
}

/* The first element of Name (_S5_, Package) in the DSDT's AML, or -1. */
static int s5_type(uint32_t dsdt)
{
	uint32_t len = rd32(dsdt + 4);
	for (uint32_t p = dsdt + 36; p + 9 <= dsdt + len; p++) {
		if (rd8(p) != 0x08 || memcmp((const void *)(p + 1), "_S5_", 4) || rd8(p + 5) != 0x12)
			continue;
		uint32_t e = p + 6 + 1 + ((rd8(p + 6) >> 6) & 3) + 1; /* PkgLength, NumElements */
		uint8_t op = rd8(e);
		return op == 0x00 ? 0 : op == 0x01 ? 1 : op == 0x0a ? rd8(e + 1) : -1;
	}
	return -1;
}

struct platform {
	uint16_t pm1a_evt, pm1a_cnt, pm_tmr, reset_port;
	uint8_t reset_value;
	int s5;
};

static void check_madt(uint32_t m)
{
	int lapic = 0, ioapic = 0, irq0 = 0, nmi = 0;
	uint32_t end = m + rd32(m + 4);
	check(rd32(m + 36) == 0xfee00000u, "madt.lapic_address", "0x%x", rd32(m + 36));
	for (uint32_t e = m + 44; e + 2 <= end && rd8(e + 1) >= 2; e += rd8(e + 1)) {
		uint8_t type = rd8(e);
		if (type == 0 && rd8(e + 3) == 0 && (rd32(e + 4) & 1))
			lapic++;
		if (type == 1 && rd32(e + 4) == 0xfec00000u && rd32(e + 8) == 0)
			ioapic++;
		if (type == 2 && rd8(e + 3) == 0 && rd32(e + 4) == 2)
			irq0++;
		if (type == 4 && rd8(e + 5) == 1)
			nmi++;
	}
	check(lapic == 1, "madt.lapic", "%d enabled local APICs with ID 0", lapic);
	check(ioapic == 1, "madt.ioapic", "%d I/O APICs at 0xfec00000, GSI base 0", ioapic);
	check(irq0 == 1, "madt.irq0_override", "%d IRQ 0 -> GSI 2 overrides", irq0);
	check(nmi == 1, "madt.lint1_nmi", "%d local APIC NMI entries on LINT1", nmi);
}

static bool check_fadt(uint32_t f, struct platform *p)
{
	p->pm1a_evt = (uint16_t)rd32(f + 56);
	p->pm1a_cnt = (uint16_t)rd32(f + 64);
	p->pm_tmr = (uint16_t)rd32(f + 76);
	uint32_t flags = rd32(f + 112);
	printf("fadt: rev %u pm1a_evt 0x%x pm1a_cnt 0x%x pm_tmr 0x%x sci %u flags 0x%x boot_arch 0x%x "
	       "century 0x%x\n", rd8(f + 8), p->pm1a_evt, p->pm1a_cnt, p->pm_tmr, rd16(f + 46),
	       flags, rd16(f + 109), rd8(f + 108));
	check(p->pm1a_evt && p->pm1a_cnt && p->pm_tmr, "fadt.pm_blocks", "a PM block is missing");
	check(rd64(f + 148 + 4) == p->pm1a_evt && rd64(f + 172 + 4) == p->pm1a_cnt &&
	      rd64(f + 208 + 4) == p->pm_tmr, "fadt.x_blocks", "X_ blocks disagree");
	check(flags & (1u << 8), "fadt.tmr_val_ext", "flags 0x%x", flags);
	check(rd32(f + 48) == 0, "fadt.no_smi_cmd", "SMI_CMD 0x%x", rd32(f + 48));
	check(rd8(f + 108) == 0x32, "fadt.century", "0x%x", rd8(f + 108));
	/* RESET_REG: a byte in I/O space */
	bool reset_ok = (flags & (1u << 10)) && rd8(f + 116) == 1 && rd8(f + 117) == 8;
	check(reset_ok, "fadt.reset_reg", "flags 0x%x space %u width %u", flags, rd8(f + 116),
	      rd8(f + 117));
	p->reset_port = (uint16_t)rd64(f + 120);
	p->reset_value = rd8(f + 128);
	printf("fadt: reset register 0x%x value 0x%x\n", p->reset_port, p->reset_value);
	uint32_t dsdt = rd32(f + 40), facs = rd32(f + 36);
	check(facs && !memcmp((const void *)facs, "FACS", 4) && rd32(facs + 4) == 64,
	      "facs", "no FACS at 0x%x", facs);
	if (!table_ok(dsdt, "DSDT"))
		return false;
	p->s5 = s5_type(dsdt);
	printf("dsdt: \\_S5 SLP_TYP %d\n", p->s5);
	check(p->s5 >= 0 && p->s5 < 8, "dsdt.s5", "no usable \\_S5 package");
	return reset_ok && p->s5 >= 0 && p->s5 < 8;
}

/* RSDP -> RSDT and XSDT (the same two tables) -> FADT, MADT. */
static bool find_tables(struct platform *p)
{
	uint32_t r = find_rsdp();
	check(r != 0, "rsdp.found", "no \"RSD PTR \" with a good checksum in 0xe0000-0xfffff");
	if (!r)
		return false;
	printf("rsdp at 0x%x, revision %u, rsdt 0x%x, xsdt 0x%llx\n", r, rd8(r + 15), rd32(r + 16),
	       (unsigned long long)rd64(r + 24));
	check(rd8(r + 15) >= 2 && rd32(r + 20) == 36 && sum(r, 36) == 0, "rsdp.v2",
	      "revision %u length %u", rd8(r + 15), rd32(r + 20));
	uint32_t rsdt = rd32(r + 16), xsdt = (uint32_t)rd64(r + 24);
	if (!table_ok(rsdt, "RSDT") || !table_ok(xsdt, "XSDT"))
		return false;
	uint32_t n = (rd32(rsdt + 4) - 36) / 4, fadt = 0, madt = 0;
	check(n == (rd32(xsdt + 4) - 36) / 8, "xsdt.entries", "RSDT %u entries, XSDT %u", n,
	      (rd32(xsdt + 4) - 36) / 8);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t t = rd32(rsdt + 36 + 4 * i);
		check(rd64(xsdt + 36 + 8 * i) == t, "xsdt.same", "entry %u differs", i);
		if (!memcmp((const void *)t, "FACP", 4))
			fadt = t;
		if (!memcmp((const void *)t, "APIC", 4))
			madt = t;
	}
	if (!table_ok(madt, "APIC") || !table_ok(fadt, "FACP"))
		return false;
	check_madt(madt);
	return check_fadt(fadt, p);
}

/* PIT channel 2 counts 65535 clocks (mode 0, gate through port 0x61) while the PM timer runs:
 * both come from the guest TSC, so the PM timer must advance 3 ticks per PIT tick. Shape only
 * (a few exits' worth of slack): within 2%. */
static void check_pm_timer(const struct platform *p)
{
	uint32_t a = inl(p->pm_tmr), b = inl(p->pm_tmr);
	check(b >= a && b - a < PM_HZ / 10, "pm_timer.monotonic", "0x%x then 0x%x", a, b);
	uint8_t ctl = inb(0x61);
	outb(0x61, ctl & ~0x03);  /* gate 2 low, speaker off */
	outb(0x43, 0xb0);         /* channel 2, LSB then MSB, mode 0 */
	outb(0x42, 0xff);
	outb(0x42, 0xff);
	uint64_t t0 = rdtsc();
	uint32_t pm0 = inl(p->pm_tmr);
	outb(0x61, (ctl & ~0x02) | 0x01); /* gate high: the count runs */
	uint32_t polls = 0;
	while (!(inb(0x61) & 0x20) && ++polls < 10000000)
		;
	uint32_t pm1 = inl(p->pm_tmr);
	uint64_t t1 = rdtsc();
	outb(0x61, ctl);
	uint32_t dpm = pm1 - pm0, want = (uint32_t)(65535ull * PM_HZ / PIT_HZ);
	printf("TIMING pm_timer: %u ticks over 65535 PIT ticks (want %u), %llu TSC ticks, %u polls\n",
	       dpm, want, (unsigned long long)(t1 - t0), polls);
	check(dpm > want - want / 50 && dpm < want + want / 50, "pm_timer.rate",
	      "%u PM ticks for 65535 PIT ticks, want %u +- 2%%", dpm, want);
	uint32_t c = inl(p->pm_tmr);
	check(c - pm1 < PM_HZ, "pm_timer.advances", "0x%x after 0x%x", c, pm1);
}

static void check_pm_registers(const struct platform *p)
{
	uint16_t cnt = inw(p->pm1a_cnt), sts = inw(p->pm1a_evt);
	check(cnt & SCI_EN, "pm1_cnt.sci_en", "PM1a_CNT 0x%x", cnt);
	check(sts == 0, "pm1_sts", "PM1a_STS 0x%x", sts);
	outw(p->pm1a_cnt, (uint16_t)(cnt & ~SLP_EN)); /* SLP_TYP alone: nothing happens */
}

static const char *arg(const struct mb1_info *mbi, const char *key)
{
	const char *cl = (mbi->flags & (1u << 2)) ? (const char *)mbi->cmdline : "";
	size_t k = strlen(key);
	for (const char *s = cl; *s; s++)
		if (!memcmp(s, key, k) && (s == cl || s[-1] == ' '))
			return s + k;
	return "";
}

static bool is(const char *v, const char *word)
{
	size_t n = strlen(word);
	return !memcmp(v, word, n) && (v[n] == 0 || v[n] == ' ');
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	struct platform p = { 0 };
	serial_init();
	const char *action = arg(mbi, "action=");
	if (find_tables(&p)) {
		check_pm_registers(&p);
		check_pm_timer(&p);
	}
	if (guest_failures)
		guest_exit(guest_failures);
	if (is(action, "poweroff")) {
		printf("writing SLP_TYP %d | SLP_EN to PM1a_CNT 0x%x\n", p.s5, p.pm1a_cnt);
		outw(p.pm1a_cnt, (uint16_t)(p.s5 << SLP_TYP_SHIFT | SLP_EN));
	} else if (is(action, "reset")) {
		printf("writing 0x%x to the reset register 0x%x\n", p.reset_value, p.reset_port);
		outb(p.reset_port, p.reset_value);
	} else if (is(action, "badsleep")) {
		int typ = p.s5 == 3 ? 4 : 3;
		printf("writing SLP_TYP %d | SLP_EN to PM1a_CNT 0x%x\n", typ, p.pm1a_cnt);
		outw(p.pm1a_cnt, (uint16_t)(typ << SLP_TYP_SHIFT | SLP_EN));
	} else {
		guest_exit(0);
	}
	check(false, "still_running", "the write to end the run returned");
	guest_exit(guest_failures);
}
