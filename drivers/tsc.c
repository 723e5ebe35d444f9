/* tsc.c - host TSC calibration and the guest's clock (host TSC + offset, at vtime_hz). */
#include "drivers/tsc.h"
#include "kernel/log.h"
#include "arch/asm.h"
#include "arch/x86.h"
#include "arch/acpi.h"
#include "arch/i8254.h"
#include "drivers/acpi.h"
#include "kernel/cpu.h"

static u64 host_tsc_hz;
static u64 guest_tsc_hz;     /* Invariant: tsc_nominal_hz(host_tsc_hz), fixed at calibration */
static u64 guest_tsc_offset; /* Invariant: the VMCS TSC_OFFSET while the guest runs */

u64 tsc_hz(void) { return host_tsc_hz; }

u64 vtime_hz(void) { return guest_tsc_hz; }

u64 vtime_now(void) { return rdtsc() + guest_tsc_offset; }

void vtime_set_offset(u64 offset) { guest_tsc_offset = offset; }

/* ---- the sources, each returning Hz or 0 when it has nothing to say ---- */

#define MEASURE_SPINS 50000000u /* the bound of a measuring loop when its clock never moves */

static u32 max_leaf(void)
{
	u32 a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	return a;
}

/* CPUID 0x15: TSC = crystal Hz (ECX) * EBX / EAX; Intel states all three from Skylake-SP and
 * Goldmont on (older parts leave ECX 0: not used here). */
static u64 from_cpuid15(void)
{
	u32 a, b, c, d;
	if (max_leaf() < 0x15)
		return 0;
	cpuid(0x15, 0, &a, &b, &c, &d);
	return a && b && c ? (u64)c * b / a : 0;
}

/* CPUID 0x16: EAX is the processor's base frequency in MHz, the TSC's rate on Intel CPUs with
 * an invariant TSC. */
static u64 from_cpuid16(void)
{
	u32 a, b, c, d;
	if (max_leaf() < 0x16)
		return 0;
	cpuid(0x16, 0, &a, &b, &c, &d);
	return (u64)(a & 0xffff) * 1000000ULL;
}

/* MSR_PLATFORM_INFO[15:8]: the maximum non-turbo ratio, times the 100 MHz bus clock of Intel
 * CPUs from Sandy Bridge on (family 6, model 0x2a and later), the TSC's rate. */
static u64 from_platform_info(void)
{
	u32 a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	if (b != 0x756e6547 || d != 0x49656e69 || c != 0x6c65746e) /* "GenuineIntel" */
		return 0;
	cpuid(1, 0, &a, &b, &c, &d);
	u32 family = (a >> 8) & 0xf, model = ((a >> 4) & 0xf) | ((a >> 12) & 0xf0);
	u64 v;
	if (family != 6 || model < 0x2a || !rdmsr_safe(MSR_PLATFORM_INFO, &v))
		return 0;
	return ((v >> 8) & 0xff) * 100000000ULL;
}

/* The ACPI PM timer (FADT): 3.579545 MHz on every PC that has ACPI, counting ~10 ms. */
static u64 from_pmtimer(u64 rsdp)
{
	bool wide;
	u16 port = acpi_pm_timer_port(rsdp, &wide);
	if (!port)
		return 0;
	u32 mask = wide ? 0xffffffffu : 0xffffffu, want = (u32)(ACPI_PM_TIMER_HZ / 100);
	u32 c0 = inl(port) & mask, c = c0, spins = 0;
	u64 t0 = rdtsc();
	while (((c - c0) & mask) < want && ++spins < MEASURE_SPINS)
		c = inl(port) & mask;
	u64 t1 = rdtsc();
	u32 counted = (c - c0) & mask;
	return counted >= want ? (t1 - t0) * ACPI_PM_TIMER_HZ / counted : 0;
}

/* PIT channel 2, gated through port 0x61, counting down ~10 ms (mode 0): on many recent
 * boards the 8254's clock is gated off and OUT2 never rises (then 0, after the bound), and
 * where no PIT answers at all OUT2 reads high before the count starts (then 0 at once). */
static u64 from_pit(void)
{
	const u32 ticks = (u32)(PIT_HZ / 100);
	u8 p61 = inb(PIT_SPEAKER_PORT);
	outb(PIT_SPEAKER_PORT, (p61 & ~0x02) | 0x01); /* gate on, speaker off */
	outb(PIT_PORT + 3, 0xb0);                      /* channel 2, lo/hi, mode 0 */
	outb(PIT_PORT + 2, ticks & 0xff);
	outb(PIT_PORT + 2, ticks >> 8);
	u64 t0 = rdtsc();
	if (inb(PIT_SPEAKER_PORT) & 0x20) { /* mode 0 counting: OUT2 low. High: no PIT here */
		outb(PIT_SPEAKER_PORT, p61);
		return 0;
	}
	u32 spins = 0;
	while (!(inb(PIT_SPEAKER_PORT) & 0x20) && ++spins < MEASURE_SPINS)
		pause();
	u64 t1 = rdtsc();
	bool done = inb(PIT_SPEAKER_PORT) & 0x20;
	outb(PIT_SPEAKER_PORT, p61);
	return done ? (t1 - t0) * PIT_HZ / ticks : 0;
}

static u64 measure(enum tsc_source s, u64 rsdp)
{
	switch (s) {
	case TSC_CPUID15: return from_cpuid15();
	case TSC_CPUID16: return from_cpuid16();
	case TSC_PLATFORM_INFO: return from_platform_info();
	case TSC_PMTIMER: return from_pmtimer(rsdp);
	case TSC_PIT: return from_pit();
	default: return 0;
	}
}

static void set_rate(u64 hz, enum tsc_source s, const char *note)
{
	host_tsc_hz = hz;
	guest_tsc_hz = tsc_nominal_hz(hz);
	pr_info("tsc: %llu kHz from %s%s; the guest's TSC is given as %llu Hz", hz / 1000,
		tsc_source_name(s), note, guest_tsc_hz);
}

/*
 * Automatic order: what the CPU states (CPUID 0x15, 0x16, MSR_PLATFORM_INFO) is exact where it
 * exists, but an emulator may state a rate its TSC does not run at (Bochs's TSC counts
 * instructions): so a stated rate is checked against a measurement (the PM timer, else the
 * PIT) and kept when they agree within 2%; otherwise, or when the CPU states nothing, the
 * measurement is used. Every loop is bounded, so a gated PIT costs its bound, not a hang.
 */
bool tsc_calibrate(enum tsc_source forced, u64 rsdp)
{
	if (forced != TSC_AUTO) {
		u64 hz = measure(forced, rsdp);
		if (hz < 1000000) {
			pr_err("tsc: tsc=%s: this machine gives no rate that way", tsc_source_name(forced));
			return false;
		}
		set_rate(hz, forced, " (tsc= on the command line)");
		return true;
	}
	enum tsc_source mfrom = TSC_PMTIMER;
	u64 measured = from_pmtimer(rsdp);
	if (measured < 1000000) {
		mfrom = TSC_PIT;
		measured = from_pit();
	}
	if (measured < 1000000)
		measured = 0;
	for (enum tsc_source s = TSC_CPUID15; s <= TSC_PLATFORM_INFO; s++) {
		u64 hz = measure(s, rsdp);
		if (hz < 1000000)
			continue;
		if (!measured || (hz > measured ? hz - measured : measured - hz) <= measured / 50) {
			set_rate(hz, s, measured ? " (the measurement agrees)" : " (nothing to measure with)");
			return true;
		}
		pr_warn("tsc: %s states %llu kHz but %s measures %llu kHz: using the measurement",
			tsc_source_name(s), hz / 1000, tsc_source_name(mfrom), measured / 1000);
		break;
	}
	if (measured) {
		set_rate(measured, mfrom, "");
		return true;
	}
	pr_warn("tsc: no source gives the TSC's rate (no CPUID leaf, no PM timer, the PIT does "
		"not count); assuming 1 GHz: guest timers will be off (tsc= forces a source)");
	set_rate(1000000000ULL, TSC_AUTO, " (assumed)");
	return true;
}
