/* acpi.h - ACPI facts a PC platform is described by (ACPI Specification 6.x, chapter 5.2 for
 * the tables, 4.8 for the fixed hardware registers): the layouts of the tables the hypervisor
 * builds for its guests (devices/acpi.c) and the PM1 control bits both that guest platform
 * (devices/acpi_pm.c) and the host's soft-off (drivers/acpi.c) use. Layouts as packed structs
 * with the spec's offsets asserted; no code.
 */
#ifndef ARCH_ACPI_H
#define ARCH_ACPI_H

#include "arch/types.h"

/* ---- Tables (spec 5.2) ---- */

#define ACPI_RSDP_SIGNATURE "RSD PTR "
#define ACPI_RSDP_V1_LENGTH 20  /* the ACPI 1.0 part the first checksum covers */
#define ACPI_RSDP_ALIGN 16      /* found by scanning 0xe0000-0xfffff on 16-byte boundaries */
#define ACPI_FACS_ALIGN 64

/* Root System Description Pointer (5.2.5.3), revision 2 (ACPI 2.0 and later). */
struct __packed acpi_rsdp {
	char signature[8];
	u8 checksum;          /* bytes 0-19 sum to 0 */
	char oem_id[6];
	u8 revision;          /* 2 */
	u32 rsdt;
	u32 length;           /* 36 */
	u64 xsdt;
	u8 ext_checksum;      /* all 36 bytes sum to 0 */
	u8 reserved[3];
};
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

/* The header every description table starts with (5.2.6). */
struct __packed acpi_header {
	char signature[4];
	u32 length;           /* of the whole table, header included */
	u8 revision;
	u8 checksum;          /* the whole table sums to 0 */
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	char creator_id[4];
	u32 creator_revision;
};
_Static_assert(sizeof(struct acpi_header) == 36, "description header");

/* Generic Address Structure (5.2.3.2). */
struct __packed acpi_gas {
	u8 space_id;          /* ACPI_GAS_* */
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;       /* 0 undefined (legacy), 1 byte, 2 word, 3 dword, 4 qword */
	u64 address;
};
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS");
#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1

/* Fixed ACPI Description Table, signature "FACP" (5.2.9), revision 6 (ACPI 6.0): 276 bytes. */
struct __packed acpi_fadt {
	struct acpi_header h;
	u32 firmware_ctrl;    /* the FACS */
	u32 dsdt;
	u8 reserved0;         /* ACPI 1.0's INT_MODEL; 0 */
	u8 preferred_pm_profile;
	u16 sci_int;          /* the SCI's ISA IRQ (8259 mode) / GSI (APIC mode, through the MADT) */
	u32 smi_cmd;          /* 0: no SMM, the platform is always in ACPI mode */
	u8 acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	u32 pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk, pm_tmr_blk;
	u32 gpe0_blk, gpe1_blk;
	u8 pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len, gpe0_blk_len, gpe1_blk_len;
	u8 gpe1_base, cst_cnt;
	u16 p_lvl2_lat, p_lvl3_lat;  /* > 100 / > 1000: no C2 / C3 */
	u16 flush_size, flush_stride;
	u8 duty_offset, duty_width;
	u8 day_alrm, mon_alrm, century; /* CMOS RAM indexes, 0 = none */
	u16 iapc_boot_arch;   /* ACPI_BOOT_* */
	u8 reserved1;
	u32 flags;            /* ACPI_FADT_* */
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 minor_version;
	u64 x_firmware_ctrl;  /* 0 when firmware_ctrl is used (the spec allows only one) */
	u64 x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg; /* hardware-reduced only */
	u64 hypervisor_vendor_id;
};
/* The offsets of spec Table 5-34 ("FADT Format"). */
_Static_assert(__builtin_offsetof(struct acpi_fadt, firmware_ctrl) == 36, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, sci_int) == 46, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, pm1a_cnt_blk) == 64, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, pm_tmr_blk) == 76, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, century) == 108, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, flags) == 112, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, reset_reg) == 116, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, reset_value) == 128, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, minor_version) == 131, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_pm1a_cnt_blk) == 172, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, hypervisor_vendor_id) == 268, "FADT");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT");

/* FADT flags (Table 5-35). */
#define ACPI_FADT_WBINVD BIT(0)        /* WBINVD flushes all caches (must be set) */
#define ACPI_FADT_PROC_C1 BIT(2)       /* C1 (HLT) works */
#define ACPI_FADT_PWR_BUTTON BIT(4)    /* 1: no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON BIT(5)    /* 1: no fixed-feature sleep button */
#define ACPI_FADT_TMR_VAL_EXT BIT(8)   /* the PM timer has 32 bits, not 24 */
#define ACPI_FADT_RESET_REG_SUP BIT(10) /* RESET_REG / RESET_VALUE are valid */

/* IAPC_BOOT_ARCH (Table 5-36). */
#define ACPI_BOOT_LEGACY_DEVICES BIT(0) /* user-visible ISA/LPC devices (here: the 16550) */
#define ACPI_BOOT_8042 BIT(1)           /* an 8042 keyboard controller */
#define ACPI_BOOT_NO_VGA BIT(2)         /* do not probe VGA hardware */

/* Firmware ACPI Control Structure (5.2.10): no checksum, 64-byte aligned. */
struct __packed acpi_facs {
	char signature[4];    /* "FACS" */
	u32 length;           /* 64 */
	u32 hardware_signature;
	u32 firmware_waking_vector;
	u32 global_lock;
	u32 flags;
	u64 x_firmware_waking_vector;
	u8 version;           /* 2 */
	u8 reserved0[3];
	u32 ospm_flags;
	u8 reserved1[24];
};
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS");

/* Multiple APIC Description Table, signature "APIC" (5.2.12): the header, then entries. */
struct __packed acpi_madt {
	struct acpi_header h;
	u32 lapic_address;
	u32 flags;            /* ACPI_MADT_PCAT_COMPAT */
};
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT");
#define ACPI_MADT_PCAT_COMPAT BIT(0) /* a dual 8259 is present as well */

/* MADT entry types and their lengths. */
#define ACPI_MADT_LAPIC 0
#define ACPI_MADT_IOAPIC 1
#define ACPI_MADT_OVERRIDE 2
#define ACPI_MADT_LAPIC_NMI 4

struct __packed acpi_madt_lapic {     /* Processor Local APIC (5.2.12.2) */
	u8 type, length;                /* 0, 8 */
	u8 processor_uid;
	u8 apic_id;
	u32 flags;                      /* ACPI_MADT_ENABLED */
};
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT local APIC");
#define ACPI_MADT_ENABLED BIT(0)

struct __packed acpi_madt_ioapic {    /* I/O APIC (5.2.12.3) */
	u8 type, length;                /* 1, 12 */
	u8 ioapic_id;
	u8 reserved;
	u32 address;
	u32 gsi_base;
};
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT I/O APIC");

struct __packed acpi_madt_override {  /* Interrupt Source Override (5.2.12.5) */
	u8 type, length;                /* 2, 10 */
	u8 bus;                         /* 0: ISA */
	u8 source;                      /* the ISA IRQ */
	u32 gsi;
	u16 flags;                      /* ACPI_MPS_* */
};
_Static_assert(sizeof(struct acpi_madt_override) == 10, "MADT override");

struct __packed acpi_madt_lapic_nmi { /* Local APIC NMI (5.2.12.7) */
	u8 type, length;                /* 4, 6 */
	u8 processor_uid;               /* 0xff: every processor */
	u16 flags;                      /* ACPI_MPS_* */
	u8 lint;                        /* LINT0 or LINT1 */
};
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT local APIC NMI");
#define ACPI_MADT_ALL_PROCESSORS 0xff

/* MPS INTI flags (Table 5-50): polarity in bits 1:0, trigger mode in bits 3:2; 0 = as the bus
 * does it (ISA: active high, edge). */
#define ACPI_MPS_CONFORMS 0
#define ACPI_MPS_ACTIVE_HIGH 0x1
#define ACPI_MPS_ACTIVE_LOW 0x3
#define ACPI_MPS_EDGE (0x1 << 2)
#define ACPI_MPS_LEVEL (0x3 << 2)

/* ---- AML (spec 20.2), the few opcodes the DSDT uses ---- */

#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_PACKAGE_OP 0x12

/* ---- Fixed hardware registers (spec 4.8.3) ---- */

/* PM1 status (PM1x_EVT_BLK + 0) and enable (+ PM1_EVT_LEN / 2), 16 bits each. */
#define ACPI_PM1_TMR_STS BIT(0)
#define ACPI_PM1_BM_STS BIT(4)
#define ACPI_PM1_GBL_STS BIT(5)
#define ACPI_PM1_PWRBTN_STS BIT(8)
#define ACPI_PM1_SLPBTN_STS BIT(9)
#define ACPI_PM1_RTC_STS BIT(10)
#define ACPI_PM1_PCIEXP_WAKE_STS BIT(14)
#define ACPI_PM1_WAK_STS BIT(15)
#define ACPI_PM1_TMR_EN BIT(0)
#define ACPI_PM1_GBL_EN BIT(5)
#define ACPI_PM1_PWRBTN_EN BIT(8)
#define ACPI_PM1_SLPBTN_EN BIT(9)
#define ACPI_PM1_RTC_EN BIT(10)
#define ACPI_PM1_PCIEXP_WAKE_DIS BIT(14)

/* PM1 control (PM1x_CNT_BLK), 16 bits. */
#define ACPI_PM1_CNT_SCI_EN BIT(0)   /* ACPI mode (SCI instead of SMI) */
#define ACPI_PM1_CNT_BM_RLD BIT(1)
#define ACPI_PM1_CNT_GBL_RLS BIT(2)  /* write-only */
#define ACPI_PM1_CNT_SLP_TYP_SHIFT 10
#define ACPI_PM1_CNT_SLP_TYP GENMASK(12, 10) /* the sleep state's value from \_Sx */
#define ACPI_PM1_CNT_SLP_EN BIT(13)  /* write-only: enter the SLP_TYP state */

/* The PM timer (PM_TMR_BLK) counts at 3.579545 MHz, 24 or 32 bits (TMR_VAL_EXT). */
#define ACPI_PM_TIMER_HZ 3579545ULL

#endif
