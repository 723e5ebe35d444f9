/* tsc.c - host TSC calibration and the guest's clock (host TSC + offset, at vtime_hz). */
#include "drivers/tsc.h"
#include "kernel/log.h"
#include "arch/asm.h"

static u64 host_tsc_hz;
static u64 guest_tsc_hz;     /* Invariant: tsc_nominal_hz(host_tsc_hz), fixed at calibration */
static u64 guest_tsc_offset; /* Invariant: the VMCS TSC_OFFSET while the guest runs */

u64 tsc_hz(void) { return host_tsc_hz; }

u64 vtime_hz(void) { return guest_tsc_hz; }

u64 vtime_now(void) { return rdtsc() + guest_tsc_offset; }

void vtime_set_offset(u64 offset) { guest_tsc_offset = offset; }

/* Why the PIT: its input clock is fixed (1.193182 MHz) on every PC and emulator. Channel 2,
 * gated through port 0x61, counts down ~10 ms while the TSC runs. */
void tsc_calibrate(void)
{
	const u32 ticks = 11932; /* 10 ms at 1193182 Hz */
	u8 p61 = inb(0x61);
	outb(0x61, (p61 & ~0x02) | 0x01); /* gate on, speaker off */
	outb(0x43, 0xb0);                  /* channel 2, lo/hi, mode 0 */
	outb(0x42, ticks & 0xff);
	outb(0x42, ticks >> 8);
	u64 t0 = rdtsc();
	u32 spins = 0;
	while (!(inb(0x61) & 0x20) && ++spins < 50000000)
		pause();
	u64 t1 = rdtsc();
	outb(0x61, p61);
	host_tsc_hz = (t1 - t0) * 1193182ULL / ticks;
	if (!(inb(0x61) & 0x20) && spins >= 50000000)
		host_tsc_hz = 0;
	if (host_tsc_hz < 1000000) {
		host_tsc_hz = 1000000000ULL;
		pr_warn("tsc: calibration against the PIT failed; assuming 1 GHz");
	}
	guest_tsc_hz = tsc_nominal_hz(host_tsc_hz);
	pr_info("tsc: %llu kHz; the guest's TSC is given as %llu Hz", host_tsc_hz / 1000,
		guest_tsc_hz);
}
