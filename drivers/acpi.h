/* acpi.h - just enough ACPI to power off: RSDP -> RSDT/XSDT -> FADT -> DSDT \_S5. */
#ifndef DRIVERS_ACPI_H
#define DRIVERS_ACPI_H

#include "arch/types.h"

/* Enters S5 using the RSDP at rsdp (0: scan the BIOS areas). Returns if it cannot. */
void acpi_enter_s5(u64 rsdp);

#endif
