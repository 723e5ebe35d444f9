/* irq.h - how emulated devices raise interrupts and read time (contract for device models).
 *
 * Interrupt lines: a device drives a global system interrupt (GSI) line. GSIs 0-15 are the ISA
 * IRQs: each goes to the 8259 pair (IRQ n) and to the I/O APIC (pin n, with QEMU's override:
 * the PIT's IRQ 0 arrives on I/O APIC pin 2). The interrupt controllers decide what reaches the
 * vCPU; the vCPU asks them at every VM entry (devices/intc.c glue, vmx/vcpu.c).
 *
 * Time: every model reads the guest's TSC through vtime_now() and expresses deadlines in guest
 * TSC ticks; vtime_hz() is the TSC frequency the guest sees. Both live below the devices, in
 * drivers/tsc.c (host TSC + the offset the VMX code sets). The vCPU polls models whose
 * deadline passed (their tick function) before each entry and while the guest halts.
 */
#ifndef DEVICES_IRQ_H
#define DEVICES_IRQ_H

#include "arch/types.h"
#include "drivers/tsc.h" /* vtime_now, vtime_hz */

#define IRQ_NONE (~0ULL) /* "no deadline" */

/*
 * Set by anything that can change which interrupt is pending or when the next device timer is
 * due: a line change, a tick, an acknowledge, an access to a device not marked `neutral`
 * (devices/pio.h, devices/mmio.h), an APIC MSR or CR8 write. The vCPU re-evaluates interrupt
 * delivery before an entry only when it is set, a deadline has passed or an interrupt is
 * already waiting (vmx/intr.c), so an exit that touches none of these skips that work.
 */
extern bool intc_dirty;
static inline void intc_changed(void)
{
	intc_dirty = true;
}

/* Level-triggered view of one GSI line (edge devices pulse: set true then false). */
void irq_set_line(u32 gsi, bool level);
static inline void irq_pulse(u32 gsi)
{
	irq_set_line(gsi, true);
	irq_set_line(gsi, false);
}

#endif
