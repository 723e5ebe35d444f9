/* SOURCES: devices/acpi.c devices/acpi_pm.c devices/platform_stop.c devices/pio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_acpi.c - devices/acpi.c, the guest's ACPI tables: found as an OS finds them (the RSDP
 * by scanning the BIOS area on 16-byte boundaries, both its checksums; every pointer leads to a
 * table with the right signature and checksum, inside the area, none overlapping), the MADT's
 * entries, the FADT's fields (and the X_ ones agreeing), the DSDT's \_S5 value read from its
 * AML and written to the PM device (devices/acpi_pm.c) powering off, what happens when the area
 * is too small, misaligned or above 4 GiB, and Debian's iasl disassembling every table without a
 * complaint (skipped with a message when acpica-tools is not installed).
 */
#include "unit.h"

#include <unistd.h>

#include "devices/acpi.h"
#include "devices/acpi_pm.h"
#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/rtc.h"

#define AREA_GPA 0xf0000ULL
#define AREA_LEN 0x10000ULL

/* The platform as devices/intc.c intc_acpi_platform describes it. */
static const struct acpi_platform plat = {
	.lapic_base = (u32)LAPIC_DEFAULT_BASE, .lapic_id = 0,
	.ioapic_base = (u32)IOAPIC_DEFAULT_BASE, .ioapic_id = 0, .ioapic_gsi_base = 0,
	.irq0_gsi = 2, .sci_irq = ACPI_SCI_IRQ, .sci_gsi = ACPI_SCI_IRQ,
	.pm1a_evt = ACPI_PM1A_EVT, .pm1a_cnt = ACPI_PM1A_CNT, .pm_tmr = ACPI_PM_TMR,
	.reset_port = RESET_CONTROL_PORT, .reset_value = RESET_CONTROL_VALUE,
	.s5_slp_typ = ACPI_S5_SLP_TYP, .rtc_century = RTC_REG_CENTURY,
};

static u8 area[AREA_LEN];
static struct acpi_tables t;

/* vtime for the PM device's glue, which this test links but does not register. */
u64 vtime_now(void) { return 0; }
u64 vtime_hz(void) { return 1000000000ULL; }

static int build(void **state)
{
	(void)state;
	memset(area, 0xa5, sizeof(area));
	assert_int_equal(acpi_build_tables(&plat, area, AREA_GPA, AREA_LEN, &t), 0);
	return 0;
}

/* The bytes at gpa, len of them inside what the builder used. */
static const u8 *at(u64 gpa, u64 len)
{
	assert_true(gpa >= AREA_GPA && gpa + len <= AREA_GPA + t.size);
	return area + (gpa - AREA_GPA);
}

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }

/* A description table at gpa with signature sig: its length inside the area, checksum 0. */
static const u8 *table(u64 gpa, const char *sig)
{
	const u8 *h = at(gpa, sizeof(struct acpi_header));
	if (memcmp(h, sig, 4))
		fail_msg("table at %#llx is '%.4s', want '%s'", (unsigned long long)gpa, h, sig);
	u32 len = rd32(h + 4);
	at(gpa, len);
	assert_int_equal(acpi_checksum(h, len), 0);
	assert_memory_equal(h + 10, ACPI_OEM_ID, 6);
	return h;
}

/* The RSDP as a guest finds it: the first 16-byte boundary of the scan range with the
 * signature and a good checksum. */
static const u8 *scan_rsdp(void)
{
	for (u64 a = 0xe0000; a < 0x100000; a += 16) {
		if (a < AREA_GPA || a + 36 > AREA_GPA + AREA_LEN)
			continue;
		const u8 *p = area + (a - AREA_GPA);
		if (!memcmp(p, ACPI_RSDP_SIGNATURE, 8) && acpi_checksum(p, ACPI_RSDP_V1_LENGTH) == 0) {
			assert_int_equal(a, t.rsdp);
			return p;
		}
	}
	fail_msg("no RSDP in 0xe0000-0xfffff");
	return NULL;
}

static void test_rsdp(void **state)
{
	(void)state;
	const u8 *r = scan_rsdp();
	assert_int_equal(t.rsdp, AREA_GPA); /* first, where hv.c told the Linux loader */
	assert_int_equal(acpi_checksum(r, 20), 0);
	assert_int_equal(acpi_checksum(r, 36), 0);
	assert_int_equal(r[15], 2);          /* revision: ACPI 2.0+, XSDT valid */
	assert_int_equal(rd32(r + 20), 36);  /* length */
	assert_int_equal(rd32(r + 16), t.rsdt);
	assert_int_equal(rd64(r + 24), t.xsdt);
	assert_memory_equal(r + 9, ACPI_OEM_ID, 6);
}

/* RSDT and XSDT list the same tables: the FADT and the MADT. */
static void test_every_pointer_leads_to_its_table(void **state)
{
	(void)state;
	const u8 *r = scan_rsdp();
	const u8 *rsdt = table(rd32(r + 16), "RSDT");
	const u8 *xsdt = table(rd64(r + 24), "XSDT");
	u32 n = (rd32(rsdt + 4) - 36) / 4;
	assert_int_equal(n, 2);
	assert_int_equal((rd32(xsdt + 4) - 36) / 8, n);
	const char *sigs[] = { "FACP", "APIC" };
	for (u32 i = 0; i < n; i++) {
		assert_int_equal(rd32(rsdt + 36 + 4 * i), rd64(xsdt + 36 + 8 * i));
		table(rd32(rsdt + 36 + 4 * i), sigs[i]);
	}
	const u8 *fadt = table(rd32(rsdt + 36), "FACP");
	table(rd32(fadt + 40), "DSDT");
	assert_int_equal(rd64(fadt + 140), rd32(fadt + 40)); /* X_DSDT */
	const u8 *facs = at(rd32(fadt + 36), 64);            /* FACS: no checksum */
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(rd32(facs + 4), 64);
	assert_int_equal(rd32(fadt + 36) % 64, 0);
	assert_int_equal(facs[32], 2);                       /* version */
	/* the tables lie one after the other, none overlapping, all 16-byte aligned */
	u64 starts[] = { t.rsdp, t.facs, t.rsdt, t.xsdt, t.fadt, t.madt, t.dsdt };
	u64 lens[] = { 36, 64, 44, 52, 276, rd32(at(t.madt, 8) + 4), rd32(at(t.dsdt, 8) + 4) };
	for (u32 i = 0; i < ARRAY_SIZE(starts); i++) {
		assert_int_equal(starts[i] % 16, 0);
		if (i)
			assert_true(starts[i] >= starts[i - 1] + lens[i - 1]);
	}
	assert_int_equal(t.size, t.dsdt + lens[6] - AREA_GPA);
}

static void test_madt(void **state)
{
	(void)state;
	const u8 *m = table(t.madt, "APIC");
	u32 len = rd32(m + 4);
	assert_int_equal(rd32(m + 36), LAPIC_DEFAULT_BASE);
	assert_int_equal(rd32(m + 40), ACPI_MADT_PCAT_COMPAT);
	int lapics = 0, ioapics = 0, nmis = 0, irq0 = 0, sci = 0;
	u32 off = 44;
	while (off < len) {
		const u8 *e = m + off;
		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case ACPI_MADT_LAPIC:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[3], 0);                /* APIC ID 0 */
			assert_int_equal(rd32(e + 4), ACPI_MADT_ENABLED);
			lapics++;
			break;
		case ACPI_MADT_IOAPIC:
			assert_int_equal(e[1], 12);
			assert_int_equal(e[2], 0);                /* the model's reset ID */
			assert_int_equal(rd32(e + 4), IOAPIC_DEFAULT_BASE);
			assert_int_equal(rd32(e + 8), 0);         /* GSI base */
			ioapics++;
			break;
		case ACPI_MADT_OVERRIDE: {
			u16 flags;
			memcpy(&flags, e + 8, 2);
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0);                /* ISA */
			if (e[3] == 0) {
				assert_int_equal(rd32(e + 4), 2); /* the PIT on pin 2 */
				assert_int_equal(flags, 0);
				irq0++;
			} else {
				assert_int_equal(e[3], 9);        /* the SCI: level, active high */
				assert_int_equal(rd32(e + 4), 9);
				assert_int_equal(flags, 0x000d);
				sci++;
			}
			break;
		}
		case ACPI_MADT_LAPIC_NMI:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xff);             /* every processor */
			assert_int_equal(e[5], 1);                /* LINT1 */
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, len);
	assert_int_equal(lapics, 1);
	assert_int_equal(ioapics, 1);
	assert_int_equal(irq0, 1);
	assert_int_equal(sci, 1);
	assert_int_equal(nmis, 1);
}

/* An X_ field: SystemIO, the width in bits, the port. */
static void assert_gas_io(const u8 *g, u32 bits, u64 port)
{
	assert_int_equal(g[0], ACPI_GAS_SYSTEM_IO);
	assert_int_equal(g[1], bits);
	assert_int_equal(g[2], 0);
	assert_int_equal(rd64(g + 4), port);
}

static void test_fadt(void **state)
{
	(void)state;
	const u8 *f = table(t.fadt, "FACP");
	u16 v16;
	assert_int_equal(rd32(f + 4), 276);
	assert_int_equal(f[8], 6);                            /* ACPI 6.0 */
	memcpy(&v16, f + 46, 2);
	assert_int_equal(v16, 9);                             /* SCI_INT */
	assert_int_equal(rd32(f + 48), 0);                    /* SMI_CMD: always ACPI mode */
	assert_int_equal(rd32(f + 56), 0x600);                /* PM1a_EVT_BLK */
	assert_int_equal(rd32(f + 60), 0);                    /* no PM1b */
	assert_int_equal(rd32(f + 64), 0x604);                /* PM1a_CNT_BLK */
	assert_int_equal(rd32(f + 76), 0x608);                /* PM_TMR_BLK */
	assert_int_equal(rd32(f + 80), 0);                    /* no GPE0 */
	assert_int_equal(f[88], 4);                           /* PM1_EVT_LEN */
	assert_int_equal(f[89], 2);                           /* PM1_CNT_LEN */
	assert_int_equal(f[91], 4);                           /* PM_TMR_LEN */
	assert_int_equal(f[108], 0x32);                       /* CENTURY: the RTC's */
	memcpy(&v16, f + 109, 2);
	assert_int_equal(v16 & ACPI_BOOT_8042, 0);            /* no keyboard controller */
	assert_int_equal(v16 & ACPI_BOOT_NO_VGA, ACPI_BOOT_NO_VGA);
	u32 flags = rd32(f + 112);
	assert_true(flags & ACPI_FADT_TMR_VAL_EXT);
	assert_true(flags & ACPI_FADT_RESET_REG_SUP);
	assert_true(flags & ACPI_FADT_WBINVD);
	assert_int_equal(flags & BIT(20), 0);                 /* not hardware-reduced */
	assert_gas_io(f + 116, 8, 0xcf9);                     /* RESET_REG */
	assert_int_equal(f[128], 6);                          /* RESET_VALUE */
	assert_int_equal(rd64(f + 132), 0);                   /* X_FIRMWARE_CTRL: FACS below 4G */
	assert_gas_io(f + 148, 32, 0x600);                    /* X_PM1a_EVT_BLK */
	assert_gas_io(f + 172, 16, 0x604);                    /* X_PM1a_CNT_BLK */
	assert_gas_io(f + 208, 32, 0x608);                    /* X_PM_TMR_BLK */
	/* the ports are the PM device's */
	assert_int_equal(rd32(f + 56), ACPI_PM1A_EVT);
	assert_int_equal(rd32(f + 64), ACPI_PM1A_CNT);
	assert_int_equal(rd32(f + 76), ACPI_PM_TMR);
}

/* The first element of "_S5_" Package () in the DSDT's AML, as an OS evaluates it. */
static int s5_value(const u8 *dsdt)
{
	u32 len = rd32(dsdt + 4);
	for (u32 i = 36; i + 8 <= len; i++) {
		const u8 *p = dsdt + i;
		if (p[0] != AML_NAME_OP || memcmp(p + 1, "_S5_", 4) || p[5] != AML_PACKAGE_OP)
			continue;
		assert_true(p[6] < 0x40);                 /* a one-byte PkgLength */
		assert_int_equal(i + 6 + p[6], len);      /* the package ends the table */
		assert_int_equal(p[7], 4);                /* NumElements */
		switch (p[8]) {
		case AML_ZERO_OP: return 0;
		case AML_ONE_OP: return 1;
		case AML_BYTE_PREFIX: return p[9];
		default: fail_msg("\\_S5's first element starts with %#x", p[8]);
		}
	}
	fail_msg("no Name (_S5, Package) in the DSDT");
	return -1;
}

static void test_s5_is_what_the_pm_device_powers_off_on(void **state)
{
	(void)state;
	const u8 *d = table(t.dsdt, "DSDT");
	static const u8 aml[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0 };
	assert_int_equal(rd32(d + 4), 36 + sizeof(aml));  /* the bytes devices/acpi.c documents */
	assert_memory_equal(d + 36, aml, sizeof(aml));
	int typ = s5_value(d);
	struct acpi_pm pm = { 0 };
	acpi_pm_reset(&pm);
	u32 cnt = (u32)typ << ACPI_PM1_CNT_SLP_TYP_SHIFT | ACPI_PM1_CNT_SLP_EN;
	assert_int_equal(acpi_pm_write(&pm, ACPI_PM1A_CNT - ACPI_PM_BASE, 2, cnt), ACPI_PM_POWEROFF);
	/* other sleep types are encoded too (OneOp, BytePrefix), and PkgLength follows */
	for (u8 v = 1; v < 8; v++) {
		struct acpi_platform p = plat;
		struct acpi_tables t2;
		static u8 a2[0x1000];
		p.s5_slp_typ = v;
		assert_int_equal(acpi_build_tables(&p, a2, AREA_GPA, sizeof(a2), &t2), 0);
		const u8 *d2 = a2 + (t2.dsdt - AREA_GPA);
		assert_int_equal(acpi_checksum(d2, rd32(d2 + 4)), 0);
		assert_int_equal(s5_value(d2), v);
	}
}

static void test_area_limits(void **state)
{
	(void)state;
	static u8 a2[AREA_LEN];
	struct acpi_tables t2 = { 0 };
	assert_true(t.size > 600 && t.size < 1024);   /* about 700 bytes: a 64 KiB area is ample */
	memset(a2, 0x5a, sizeof(a2));
	assert_int_equal(acpi_build_tables(&plat, a2, AREA_GPA, t.size - 1, &t2), -1);
	for (u64 i = 0; i < sizeof(a2); i++)         /* a refusal writes nothing */
		if (a2[i] != 0x5a)
			fail_msg("byte %llu written by a refused build", (unsigned long long)i);
	assert_int_equal(acpi_build_tables(&plat, a2, AREA_GPA, t.size, &t2), 0);
	assert_memory_equal(a2, area, t.size);       /* exactly the same tables */
	assert_int_equal(a2[t.size], 0x5a);          /* nothing past the area */
	assert_int_equal(acpi_build_tables(&plat, a2, AREA_GPA + 8, AREA_LEN, &t2), -1);
	assert_int_equal(acpi_build_tables(&plat, a2, 4 * GiB - 0x100, 0x100, &t2), -1);
	assert_int_equal(acpi_build_tables(&plat, a2, 4 * GiB, AREA_LEN, &t2), -1);
	/* the rest of the area given is zeroed (no stale RSDP for a scan to find) */
	assert_int_equal(acpi_build_tables(&plat, a2, AREA_GPA, sizeof(a2), &t2), 0);
	for (u64 i = t2.size; i < sizeof(a2); i++)
		if (a2[i])
			fail_msg("byte %#llx past the tables is %#x", (unsigned long long)i, a2[i]);
}

/* ---- iasl (acpica-tools): the tables as the ACPI reference implementation reads them ---- */

static char tmpdir[64];

static void dump(const char *name, u64 gpa, u32 len)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(at(gpa, len), 1, len, f), len);
	fclose(f);
}

static char *slurp(const char *name)
{
	static char buf[65536];
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("iasl wrote no %s", path);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	return buf;
}

static void want(const char *file, const char *text, const char *what)
{
	if (!strstr(slurp(file), text))
		fail_msg("%s: no '%s' (%s); see %s/%s", file, text, what, tmpdir, file);
}

static void test_iasl_disassembles_every_table(void **state)
{
	(void)state;
	if (system("command -v iasl >/dev/null 2>&1") != 0) {
		print_message("SKIPPED: iasl not found (Debian package acpica-tools, "
			      "scripts/deps.sh): the tables are not checked by the ACPI tools\n");
		skip();
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_acpi.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	dump("facp.dat", t.fadt, 276);
	dump("apic.dat", t.madt, rd32(at(t.madt, 8) + 4));
	dump("dsdt.dat", t.dsdt, rd32(at(t.dsdt, 8) + 4));
	dump("facs.dat", t.facs, 64);
	dump("rsdt.dat", t.rsdt, 44);
	dump("xsdt.dat", t.xsdt, 52);
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d facp.dat apic.dat dsdt.dat facs.dat rsdt.dat "
		 "xsdt.dat >iasl.out 2>&1", tmpdir);
	if (system(cmd) != 0)
		fail_msg("iasl -d failed: %s", slurp("iasl.out"));
	const char *out = slurp("iasl.out");
	if (strstr(out, "Warning") || strstr(out, "Error") || strstr(out, "rror"))
		fail_msg("iasl complained: %s", out);
	const char *dsl[] = { "facp.dsl", "apic.dsl", "dsdt.dsl", "facs.dsl", "rsdt.dsl", "xsdt.dsl" };
	for (u32 i = 0; i < ARRAY_SIZE(dsl); i++)
		if (strstr(slurp(dsl[i]), "Incorrect") || strstr(slurp(dsl[i]), "Invalid"))
			fail_msg("%s: iasl found something wrong; see %s", dsl[i], tmpdir);
	want("facp.dsl", "PM Timer Block Address : 00000608", "PM_TMR_BLK");
	want("facp.dsl", "PM1A Control Block Address : 00000604", "PM1a_CNT_BLK");
	want("facp.dsl", "RTC Century Index : 32", "CENTURY");
	want("facp.dsl", "32-bit PM Timer (V1) : 1", "TMR_VAL_EXT");
	want("facp.dsl", "Reset Register Supported (V2) : 1", "RESET_REG_SUP");
	want("facp.dsl", "8042 Present on ports 60/64 (V2) : 0", "no 8042");
	want("facp.dsl", "VGA Not Present (V4) : 1", "no VGA");
	want("facp.dsl", "Address : 0000000000000CF9", "RESET_REG");
	want("apic.dsl", "Subtable Type : 02 [Interrupt Source Override]", "overrides");
	want("apic.dsl", "Interrupt Input LINT : 01", "NMI on LINT1");
	want("dsdt.dsl", "Name (_S5, Package (0x04)", "\\_S5");
	want("xsdt.dsl", "ACPI Table Address   1 : 00000000000F0", "two XSDT entries");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rsdp, build),
		cmocka_unit_test_setup(test_every_pointer_leads_to_its_table, build),
		cmocka_unit_test_setup(test_madt, build),
		cmocka_unit_test_setup(test_fadt, build),
		cmocka_unit_test_setup(test_s5_is_what_the_pm_device_powers_off_on, build),
		cmocka_unit_test_setup(test_area_limits, build),
		cmocka_unit_test_setup(test_iasl_disassembles_every_table, build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
