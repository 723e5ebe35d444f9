/* acpi.h - just enough ACPI to power off: RSDP -> RSDT/XSDT -> FADT -> DSDT \_S5. */
#ifndef DRIVERS_ACPI_H
#define DRIVERS_ACPI_H

#include "arch/types.h"

/* Enters S5 using the RSDP at rsdp (0: scan the BIOS areas). Returns if it cannot. */
void acpi_enter_s5(u64 rsdp);
/* The RSDP's OEM ID (6 characters, NUL-terminated in oem); false without an RSDP. rsdp: the
 * loader's copy, or 0 to scan the BIOS area. */
bool acpi_oem_id(u64 rsdp, char oem[7]);
/* The ACPI PM timer's I/O port from the FADT (3.579545 MHz; *wide: 32 bits, else 24); 0 when
 * there is none. */
u16 acpi_pm_timer_port(u64 rsdp, bool *wide);

#endif
