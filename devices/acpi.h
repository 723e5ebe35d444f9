/* acpi.h - the guest platform's ACPI tables, as a PC's firmware would leave them: RSDP, RSDT,
 * XSDT, FADT, FACS, MADT and a DSDT with only \_S5 (docs/platform.md "ACPI").
 *
 * The builder is pure (host-tested in tests/unit/test_acpi.c): it writes the tables into a
 * buffer that will sit at guest-physical area_gpa and takes every fact about the platform from
 * struct acpi_platform, which the device glue fills from the models themselves (devices/intc.c
 * intc_acpi_platform), so the tables cannot disagree with the devices. hv/hv.c writes them into
 * guest RAM at boot, for every guest.
 */
#ifndef DEVICES_ACPI_H
#define DEVICES_ACPI_H

#include "arch/acpi.h"
#include "arch/types.h"

/* What the tables say about the platform. */
struct acpi_platform {
	u32 lapic_base;      /* the local APIC's window (MADT) */
	u8 lapic_id;         /* the one CPU's APIC ID */
	u32 ioapic_base;
	u8 ioapic_id;
	u32 ioapic_gsi_base; /* the GSI of pin 0 */
	u8 irq0_gsi;         /* the GSI the PIT's ISA IRQ 0 arrives on (an override when not 0) */
	u8 sci_irq;          /* the SCI's ISA IRQ; level, active high */
	u8 sci_gsi;          /* and its GSI */
	u16 pm1a_evt, pm1a_cnt, pm_tmr; /* ports; lengths from devices/acpi_pm.h */
	u16 reset_port;
	u8 reset_value;
	u8 s5_slp_typ;       /* the \_S5 package's SLP_TYP value */
	u8 rtc_century;      /* CMOS index of the century byte */
};

/* Where the builder put each table (guest-physical), and the bytes used from area_gpa. */
struct acpi_tables {
	gpa_t rsdp, rsdt, xsdt, fadt, facs, madt, dsdt;
	u64 size;
};

/* OEM fields of every table. */
#define ACPI_OEM_ID "SLOTVI"
#define ACPI_OEM_TABLE_ID "SLOTVISR"
#define ACPI_CREATOR_ID "SLTV"

/*
 * Writes the tables into area (area_len bytes, to sit at guest-physical area_gpa), zeroing the
 * rest of it. The RSDP comes first, at area_gpa itself (so a caller may hand its address to a
 * loader before the tables are built); the others follow, 16-byte aligned, the FACS 64-byte
 * aligned. Returns 0, or -1 (writing nothing) when area_gpa is not 16-byte aligned, the area
 * ends above 4 GiB (the RSDT holds 32-bit pointers) or the tables do not fit in area_len.
 */
int acpi_build_tables(const struct acpi_platform *p, u8 *area, gpa_t area_gpa, u64 area_len,
		      struct acpi_tables *out);

/* The byte sum of len bytes (0 for a table whose checksum is right). */
u8 acpi_checksum(const void *p, u64 len);

#endif
