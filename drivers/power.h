/* power.h - ending the run: Bochs shutdown port, QEMU isa-debug-exit, ACPI S5, halt. */
#ifndef DRIVERS_POWER_H
#define DRIVERS_POWER_H

#include "arch/types.h"
#include "kernel/panic.h" /* POWER_FAIL_CODE */

/* Records the ACPI RSDP (physical address) handed over by the boot loader, or 0. */
void power_set_rsdp(u64 rsdp);
/* Tries, in order: QEMU's isa-debug-exit (on QEMU only), Bochs's 0x8900 port (on Bochs only),
 * ACPI S5, then halts forever with interrupts off. Drains the console first. */
void power_off(u8 code) __noreturn;
/* Which emulator's own ports exist here, decided once: QEMU when CPUID names TCG or KVM as
 * the hypervisor and fw_cfg answers "QEMU"; Bochs when there is no hypervisor bit and the
 * ACPI RSDP's OEM ID is "BOCHS "; otherwise none (real hardware, another hypervisor). No
 * emulator port is touched before that is known (0x500-0x53f are GPIO on many boards). */
enum power_machine { POWER_MACHINE_OTHER, POWER_MACHINE_QEMU, POWER_MACHINE_BOCHS };
enum power_machine power_machine(void);
const char *power_machine_name(enum power_machine m);
bool power_is_qemu(void);

#endif
