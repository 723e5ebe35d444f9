/* power.h - ending the run: Bochs shutdown port, QEMU isa-debug-exit, ACPI S5, halt. */
#ifndef DRIVERS_POWER_H
#define DRIVERS_POWER_H

#include "arch/types.h"
#include "kernel/panic.h" /* POWER_FAIL_CODE */

/* Records the ACPI RSDP (physical address) handed over by the boot loader, or 0. */
void power_set_rsdp(u64 rsdp);
/* Tries, in order: isa-debug-exit (only when fw_cfg says QEMU), Bochs's 0x8900 port, ACPI S5,
 * then halts forever with interrupts off. Drains the console first. */
void power_off(u8 code) __noreturn;
/* True when QEMU's fw_cfg interface answers with its signature. */
bool power_is_qemu(void);

#endif
