/* acpi.c - builds the guest platform's ACPI tables (devices/acpi.h) from struct acpi_platform:
 * pure, no device state is read here. Layouts in arch/acpi.h.
 *
 * The DSDT is as small as the spec allows: a definition block whose only object is \_S5, the
 * soft-off state OSPM needs to power the machine off (spec 7.4.2.6):
 *
 *   08                 NameOp
 *   5f 53 35 5f        NameString "_S5_" (in the root scope: \_S5)
 *   12                 PackageOp
 *   06                 PkgLength: 6 bytes from here to the end of the package
 *   04                 NumElements
 *   00 00 00 00        SLP_TYPa, SLP_TYPb, reserved, reserved: ZeroOp each
 *
 * (ASL: Name (_S5, Package (0x04) { Zero, Zero, Zero, Zero }), QEMU's and SeaBIOS's \_S5 for
 * the PIIX4 PM, whose soft-off sleep type is 0.) SLP_TYP values other than 0 are written as
 * OneOp (1) or BytePrefix + byte, and PkgLength grows with them.
 */
#include "devices/acpi.h"
#include "devices/acpi_pm.h"
#include "kernel/lib.h"

#define FADT_REVISION 6        /* ACPI 6.0: 276 bytes */
#define FADT_MINOR_VERSION 0
#define MADT_REVISION 3
#define SDT_REVISION 1         /* RSDT, XSDT */
#define DSDT_REVISION 2        /* 64-bit AML integers */
#define FACS_VERSION 2
#define RSDP_REVISION 2        /* ACPI 2.0+: has the XSDT */
#define NO_C_STATE_LATENCY 0xfff /* above 100 (C2) and 1000 (C3) microseconds: not supported */
#define TABLE_ALIGN 16
#define MAX_AML 32

u8 acpi_checksum(const void *p, u64 len)
{
	u8 sum = 0;
	for (u64 i = 0; i < len; i++)
		sum = (u8)(sum + ((const u8 *)p)[i]);
	return sum;
}

/* Fills a description header; the checksum is set by finish() once the table is in place. */
static struct acpi_header header(const char *sig, u32 length, u8 revision)
{
	struct acpi_header h = { .length = length, .revision = revision, .oem_revision = 1,
				 .creator_revision = 1 };
	memcpy(h.signature, sig, 4);
	memcpy(h.oem_id, ACPI_OEM_ID, 6);
	memcpy(h.oem_table_id, ACPI_OEM_TABLE_ID, 8);
	memcpy(h.creator_id, ACPI_CREATOR_ID, 4);
	return h;
}

/* The table at t (its header's length): checksum byte set so that the whole sums to 0. */
static void finish(u8 *t)
{
	struct acpi_header h;
	memcpy(&h, t, sizeof(h));
	t[__builtin_offsetof(struct acpi_header, checksum)] = 0;
	t[__builtin_offsetof(struct acpi_header, checksum)] = (u8)-acpi_checksum(t, h.length);
}

/* An AML integer: ZeroOp, OneOp or BytePrefix + the byte. Returns its length. */
static u32 aml_byte_integer(u8 *b, u8 v)
{
	if (v == 0 || v == 1) {
		b[0] = v ? AML_ONE_OP : AML_ZERO_OP;
		return 1;
	}
	b[0] = AML_BYTE_PREFIX;
	b[1] = v;
	return 2;
}

/* The DSDT's AML (the header comment's bytes): Name (_S5, Package (4) { s5, s5, 0, 0 }). */
static u32 dsdt_aml(u8 *b, u8 s5)
{
	u8 elems[8];
	u32 n = 0, e = 0;
	e += aml_byte_integer(elems + e, s5);
	e += aml_byte_integer(elems + e, s5);
	e += aml_byte_integer(elems + e, 0);
	e += aml_byte_integer(elems + e, 0);
	b[n++] = AML_NAME_OP;
	memcpy(b + n, "_S5_", 4);
	n += 4;
	b[n++] = AML_PACKAGE_OP;
	b[n++] = (u8)(2 + e); /* PkgLength (one byte: < 64) counts itself and NumElements */
	b[n++] = 4;
	memcpy(b + n, elems, e);
	return n + e;
}

static struct acpi_gas io_gas(u16 port, u32 bytes, u8 access_size)
{
	return (struct acpi_gas){ .space_id = ACPI_GAS_SYSTEM_IO, .bit_width = (u8)(8 * bytes),
				  .access_size = access_size, .address = port };
}

static void build_fadt(const struct acpi_platform *p, const struct acpi_tables *t, u8 *dst)
{
	struct acpi_fadt f = {
		.h = header("FACP", sizeof(struct acpi_fadt), FADT_REVISION),
		.firmware_ctrl = (u32)t->facs, .dsdt = (u32)t->dsdt, .x_dsdt = t->dsdt,
		.sci_int = p->sci_irq,
		.pm1a_evt_blk = p->pm1a_evt, .pm1a_cnt_blk = p->pm1a_cnt, .pm_tmr_blk = p->pm_tmr,
		.pm1_evt_len = ACPI_PM1_EVT_LEN, .pm1_cnt_len = ACPI_PM1_CNT_LEN,
		.pm_tmr_len = ACPI_PM_TMR_LEN,
		.p_lvl2_lat = NO_C_STATE_LATENCY, .p_lvl3_lat = NO_C_STATE_LATENCY,
		.century = p->rtc_century,
		.iapc_boot_arch = ACPI_BOOT_LEGACY_DEVICES | ACPI_BOOT_NO_VGA, /* and no 8042 */
		.flags = (u32)(ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON |
			       ACPI_FADT_SLP_BUTTON | ACPI_FADT_TMR_VAL_EXT | ACPI_FADT_RESET_REG_SUP),
		.reset_reg = io_gas(p->reset_port, 1, ACPI_GAS_ACCESS_BYTE),
		.reset_value = p->reset_value,
		.minor_version = FADT_MINOR_VERSION,
		.x_pm1a_evt_blk = io_gas(p->pm1a_evt, ACPI_PM1_EVT_LEN, 0),
		.x_pm1a_cnt_blk = io_gas(p->pm1a_cnt, ACPI_PM1_CNT_LEN, 0),
		.x_pm_tmr_blk = io_gas(p->pm_tmr, ACPI_PM_TMR_LEN, 0),
	};
	memcpy(dst, &f, sizeof(f));
	finish(dst);
}

static u32 madt_size(const struct acpi_platform *p)
{
	return sizeof(struct acpi_madt) + sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic) +
	       (p->irq0_gsi != 0) * sizeof(struct acpi_madt_override) +
	       sizeof(struct acpi_madt_override) + sizeof(struct acpi_madt_lapic_nmi);
}

static void build_madt(const struct acpi_platform *p, u8 *dst)
{
	u32 n = sizeof(struct acpi_madt);
	struct acpi_madt m = { .h = header("APIC", madt_size(p), MADT_REVISION),
			       .lapic_address = p->lapic_base, .flags = ACPI_MADT_PCAT_COMPAT };
	struct acpi_madt_lapic la = { ACPI_MADT_LAPIC, sizeof(la), 0, p->lapic_id,
				      ACPI_MADT_ENABLED };
	struct acpi_madt_ioapic io = { ACPI_MADT_IOAPIC, sizeof(io), p->ioapic_id, 0,
				       p->ioapic_base, p->ioapic_gsi_base };
	struct acpi_madt_override irq0 = { ACPI_MADT_OVERRIDE, sizeof(irq0), 0, 0, p->irq0_gsi,
					   ACPI_MPS_CONFORMS };
	struct acpi_madt_override sci = { ACPI_MADT_OVERRIDE, sizeof(sci), 0, p->sci_irq,
					  p->sci_gsi, ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_LEVEL };
	struct acpi_madt_lapic_nmi nmi = { ACPI_MADT_LAPIC_NMI, sizeof(nmi),
					   ACPI_MADT_ALL_PROCESSORS, ACPI_MPS_CONFORMS, 1 };
	memcpy(dst, &m, sizeof(m));
	memcpy(dst + n, &la, sizeof(la)), n += sizeof(la);
	memcpy(dst + n, &io, sizeof(io)), n += sizeof(io);
	if (p->irq0_gsi != 0)
		memcpy(dst + n, &irq0, sizeof(irq0)), n += sizeof(irq0);
	memcpy(dst + n, &sci, sizeof(sci)), n += sizeof(sci);
	memcpy(dst + n, &nmi, sizeof(nmi));
	finish(dst);
}

/* RSDT (4-byte entries) or XSDT (8-byte entries) listing the FADT and the MADT. */
static u32 sdt_size(u32 entry)
{
	return sizeof(struct acpi_header) + 2 * entry;
}

static void build_sdt(const char *sig, u32 entry, const struct acpi_tables *t, u8 *dst)
{
	struct acpi_header h = header(sig, sdt_size(entry), SDT_REVISION);
	memcpy(dst, &h, sizeof(h));
	memcpy(dst + sizeof(h), &t->fadt, entry); /* little-endian: the low bytes first */
	memcpy(dst + sizeof(h) + entry, &t->madt, entry);
	finish(dst);
}

static void build_dsdt(const struct acpi_platform *p, u8 *dst)
{
	u8 aml[MAX_AML];
	u32 len = dsdt_aml(aml, p->s5_slp_typ);
	struct acpi_header h = header("DSDT", sizeof(h) + len, DSDT_REVISION);
	memcpy(dst, &h, sizeof(h));
	memcpy(dst + sizeof(h), aml, len);
	finish(dst);
}

static void build_facs(u8 *dst)
{
	struct acpi_facs f = { .length = sizeof(f), .version = FACS_VERSION };
	memcpy(f.signature, "FACS", 4);
	memcpy(dst, &f, sizeof(f));
}

static void build_rsdp(const struct acpi_tables *t, u8 *dst)
{
	struct acpi_rsdp r = { .revision = RSDP_REVISION, .rsdt = (u32)t->rsdt,
			       .length = sizeof(r), .xsdt = t->xsdt };
	memcpy(r.signature, ACPI_RSDP_SIGNATURE, 8);
	memcpy(r.oem_id, ACPI_OEM_ID, 6);
	r.checksum = (u8)-acpi_checksum(&r, ACPI_RSDP_V1_LENGTH);
	r.ext_checksum = (u8)-acpi_checksum(&r, sizeof(r));
	memcpy(dst, &r, sizeof(r));
}

/* Places the tables one after the other from area_gpa; returns the bytes used. */
static u64 layout(const struct acpi_platform *p, gpa_t base, struct acpi_tables *t)
{
	u8 aml[MAX_AML];
	gpa_t at = base;
	t->rsdp = at, at += sizeof(struct acpi_rsdp);
	t->facs = at = ALIGN_UP(at, ACPI_FACS_ALIGN), at += sizeof(struct acpi_facs);
	t->rsdt = at = ALIGN_UP(at, TABLE_ALIGN), at += sdt_size(4);
	t->xsdt = at = ALIGN_UP(at, TABLE_ALIGN), at += sdt_size(8);
	t->fadt = at = ALIGN_UP(at, TABLE_ALIGN), at += sizeof(struct acpi_fadt);
	t->madt = at = ALIGN_UP(at, TABLE_ALIGN), at += madt_size(p);
	t->dsdt = at = ALIGN_UP(at, TABLE_ALIGN), at += sizeof(struct acpi_header) +
							dsdt_aml(aml, p->s5_slp_typ);
	return t->size = at - base;
}

int acpi_build_tables(const struct acpi_platform *p, u8 *area, gpa_t area_gpa, u64 area_len,
		      struct acpi_tables *out)
{
	struct acpi_tables t;
	if (area_gpa % ACPI_RSDP_ALIGN || area_gpa + area_len > 4 * GiB ||
	    area_gpa + area_len < area_gpa || layout(p, area_gpa, &t) > area_len)
		return -1;
	memset(area, 0, area_len);
	build_facs(area + (t.facs - area_gpa));
	build_dsdt(p, area + (t.dsdt - area_gpa));
	build_madt(p, area + (t.madt - area_gpa));
	build_fadt(p, &t, area + (t.fadt - area_gpa));
	build_sdt("RSDT", 4, &t, area + (t.rsdt - area_gpa));
	build_sdt("XSDT", 8, &t, area + (t.xsdt - area_gpa));
	build_rsdp(&t, area + (t.rsdp - area_gpa));
	*out = t;
	return 0;
}
