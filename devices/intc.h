/* intc.h - what the vCPU asks the emulated interrupt controllers and timers (devices/intc.c
 * ties the PIC, PIT, RTC, local APIC and I/O APIC together behind these calls). */
#ifndef DEVICES_INTC_H
#define DEVICES_INTC_H

#include "arch/types.h"

/* Runs every device timer that is due at guest TSC now (raises their interrupts). */
void intc_tick(u64 now);
/* The earliest guest TSC at which some device timer fires, or IRQ_NONE (devices/irq.h). */
u64 intc_next_deadline(void);
/* The vector the vCPU would take now if interrupts were enabled (local APIC first, then the
 * PIC through LINT0/ExtINT), or -1. */
int intc_pending(void);
/* The PIC's vector through LINT0/ExtINT alone, or -1: with virtual-interrupt delivery the CPU
 * delivers the local APIC's vectors itself (vmx/apicv.c). */
int intc_pending_extint(void);
/* The vCPU is delivering vector (INTA / IRR -> ISR). */
void intc_ack(int vector);
/* Registers the platform devices (the ACPI PM block and reset control register among them);
 * ram_size for CMOS and fw_cfg. */
void intc_init(u64 ram_size);
/* What the ACPI tables must say about the devices intc_init set up (devices/acpi.h). Call after
 * intc_init, before the guest runs. */
struct acpi_platform;
void intc_acpi_platform(struct acpi_platform *p);

#endif
