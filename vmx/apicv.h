/* apicv.h - VMX APIC virtualization (SDM Vol. 3C ch. 29): the guest's local APIC registers read,
 * its TPR written, and its interrupts delivered and retired by the CPU itself, in the register
 * page of devices/lapic.c, which is the virtual-APIC page (docs/vmx.md, "APIC virtualization").
 * Off (apicv=off, or a CPU without the controls): every access traps and is emulated. */
#ifndef VMX_APICV_H
#define VMX_APICV_H

#include "vmx/vcpu.h"

/* The controls APIC virtualization adds, for setup_controls (0 when it is off). */
u32 apicv_proc_controls(const struct vcpu *v);
u32 apicv_secondary_controls(const struct vcpu *v);
/* After the controls are written: the virtual-APIC and APIC-access pages, the guest interrupt
 * status, and the shadow's mapping of the APIC window. */
void apicv_setup(struct vcpu *v);
/* Before an entry that re-evaluates interrupts (vmx/intr.c): RVI and SVI from the model's IRR
 * and ISR, and the EOI-exit bitmap from its TMR. */
void apicv_sync(void);
/* After a write to IA32_APIC_BASE: the APIC-access page follows the window (xAPIC mode) or
 * goes (x2APIC mode, disabled). Runs before the next entry's root load. */
void apicv_follow_base(void);

/* An exit during event delivery (IDT-vectoring information idt valid): the event to deliver
 * again. That is idt itself, except when the event was a virtual interrupt whose delivery
 * the exit interrupted and the CPU reported stale information (see apicv.c): then the
 * virtual interrupt, as an external interrupt. */
u32 apicv_vectoring(struct vcpu *v, u32 idt);

void handle_apic_access(struct vcpu *v);
void handle_apic_write(struct vcpu *v);
void handle_virtualized_eoi(struct vcpu *v);

#endif
