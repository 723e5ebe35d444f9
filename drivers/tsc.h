/* tsc.h - the TSC as a clock: the host's rate, calibrated against the PIT at boot, and the
 * guest's TSC (host TSC + the VMCS TSC offset), the virtual time every device model reads.
 *
 * The guest clock lives here, below the devices (devices/irq.h), so that they read time without
 * reaching up into VMX. The VMX code owns the offset and reports every change of it with
 * vtime_set_offset() (vmx/exit_msr.c: a guest write of IA32_TSC). */
#ifndef DRIVERS_TSC_H
#define DRIVERS_TSC_H

#include "arch/types.h"
#include "kernel/cmdline.h" /* enum tsc_source */

/* Finds the host TSC's rate (tsc.c: the order and the cross-check) and prints it with its
 * source; TSC_AUTO falls back to 1 GHz with a warning. A forced source that gives nothing
 * returns false (the caller stops the boot). rsdp: the loader's ACPI RSDP or 0. Call once at
 * boot, before anything reads tsc_hz() or vtime_hz(). */
bool tsc_calibrate(enum tsc_source forced, u64 rsdp);
/* The host TSC rate in Hz as measured (0 before tsc_calibrate). */
u64 tsc_hz(void);

/* The guest's TSC now: host TSC + the offset last given to vtime_set_offset (0 at start, as
 * the VMCS's). A plain call on hot paths (device accesses, HLT waits): keep it cheap. */
u64 vtime_now(void);
/* The guest TSC's rate in Hz: the host's (TSC offsetting does not scale), as tsc_nominal_hz
 * states it. What CPUID leaf 0x15 tells the guest (vmx/cpuid.c) and what every device model
 * times itself by: the guest sees one rate everywhere. */
u64 vtime_hz(void);

/* Sets the guest TSC offset; the caller writes the same value to the VMCS TSC_OFFSET field.
 * Invariant: equal to that field (and to vcpu0.tsc_offset) whenever the guest runs. */
void vtime_set_offset(u64 offset);

/*
 * The rate a guest is told for a host TSC measured at measured_hz: rounded to a whole kHz below
 * 1 GHz and to a whole MHz from 1 GHz up. Why: Linux keeps the rate in kHz, and from 1 GHz up
 * CPUID leaf 0x15 states it as a ratio to the 1 GHz clock of the emulated APIC timer
 * (devices/lapic.h LAPIC_BUS_HZ) whose numerator must stay small (vmx/cpuid.h
 * cpuid_tsc_ratio); a whole MHz makes that ratio exact. The change is at most 5 ppm at 100 MHz
 * and 500 ppm at 1 GHz (less above), the order of a 10 ms calibration's own error, and real
 * TSCs run at a whole number of MHz, so it is often a correction. Pure (test_cpuid.c).
 */
static inline u64 tsc_nominal_hz(u64 measured_hz)
{
	u64 step = measured_hz < 1000000000ULL ? 1000 : 1000000;
	return (measured_hz + step / 2) / step * step;
}

#endif
