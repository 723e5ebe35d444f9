/* acpi.c - soft-off through the FADT's PM1 control blocks and the DSDT's \_S5 package. */
#include "drivers/acpi.h"
#include "kernel/lib.h"
#include "arch/acpi.h"
#include "arch/asm.h"

#define PHYS_LIMIT (4 * GiB) /* only the identity-mapped low 4 GiB is reachable */

struct __packed sdt_header {
	char sig[4];
	u32 length;
	u8 rev, checksum;
	char oem[6], oem_table[8];
	u32 oem_rev, creator, creator_rev;
};

static bool checksum_ok(const void *p, u32 len)
{
	u8 sum = 0;
	for (u32 i = 0; i < len; i++)
		sum = (u8)(sum + ((const u8 *)p)[i]);
	return sum == 0;
}

static const u8 *scan_rsdp(u64 from, u64 to)
{
	for (u64 a = from; a + 20 <= to; a += 16) {
		const u8 *p = (const u8 *)(uintptr_t)a;
		if (!memcmp(p, "RSD PTR ", 8) && checksum_ok(p, 20))
			return p;
	}
	return NULL;
}

static const struct sdt_header *table_at(u64 phys, u32 min_len)
{
	if (!phys || phys + sizeof(struct sdt_header) > PHYS_LIMIT)
		return NULL;
	const struct sdt_header *h = (const void *)(uintptr_t)phys;
	if (h->length < min_len || phys + h->length > PHYS_LIMIT || !checksum_ok(h, h->length))
		return NULL;
	return h;
}

/* Finds the FADT ("FACP") through the XSDT when present, else the RSDT. */
static const struct sdt_header *find_fadt(const u8 *rsdp)
{
	u8 rev = rsdp[15];
	u32 rsdt;
	memcpy(&rsdt, rsdp + 16, 4);
	u64 xsdt = 0;
	if (rev >= 2)
		memcpy(&xsdt, rsdp + 24, 8);
	const struct sdt_header *root = table_at(xsdt ? xsdt : rsdt, sizeof(struct sdt_header));
	if (!root)
		return NULL;
	u32 esize = xsdt ? 8 : 4;
	u32 n = (root->length - (u32)sizeof(*root)) / esize;
	for (u32 i = 0; i < n; i++) {
		u64 ent = 0;
		memcpy(&ent, (const u8 *)root + sizeof(*root) + i * esize, esize);
		const struct sdt_header *t = table_at(ent, sizeof(struct sdt_header));
		if (t && !memcmp(t->sig, "FACP", 4))
			return t;
	}
	return NULL;
}

/* Reads SLP_TYPa (b = false) or SLP_TYPb (b = true) from "_S5_" Name(..., Package(){a, b,
 * ...}) in the DSDT AML. */
static int find_s5_type(const struct sdt_header *dsdt, bool b)
{
	const u8 *p = (const u8 *)dsdt + sizeof(*dsdt);
	const u8 *end = (const u8 *)dsdt + dsdt->length;
	for (; p + 12 < end; p++) {
		if (memcmp(p, "_S5_", 4) || p[4] != 0x12) /* PackageOp */
			continue;
		const u8 *q = p + 5;
		q += ((*q >> 6) & 3) + 1; /* PkgLength */
		q++;                      /* NumElements */
		if (*q == 0x0a)           /* BytePrefix */
			q++;
		if (b) {
			q++;
			if (q < end && *q == 0x0a)
				q++;
		}
		return q < end ? *q & 7 : -1;
	}
	return -1;
}

static const u8 *find_rsdp(u64 rsdp_phys)
{
	const u8 *rsdp = rsdp_phys ? (const u8 *)(uintptr_t)rsdp_phys : scan_rsdp(0xe0000, 0x100000);
	return rsdp && !memcmp(rsdp, "RSD PTR ", 8) ? rsdp : NULL;
}

u16 acpi_pm_timer_port(u64 rsdp_phys, bool *wide)
{
	const u8 *rsdp = find_rsdp(rsdp_phys);
	const struct sdt_header *fadt = rsdp ? find_fadt(rsdp) : NULL;
	if (!fadt || fadt->length < 116)
		return 0;
	const u8 *f = (const u8 *)fadt;
	u32 port, flags;
	memcpy(&port, f + 76, 4);   /* PM_TMR_BLK */
	memcpy(&flags, f + 112, 4); /* Flags: bit 8 TMR_VAL_EXT (32-bit counter) */
	*wide = flags & BIT(8);
	return port && port <= 0xfffc && f[91] == 4 ? (u16)port : 0; /* PM_TMR_LEN = 4 */
}

bool acpi_oem_id(u64 rsdp_phys, char oem[7])
{
	const u8 *rsdp = find_rsdp(rsdp_phys);
	if (!rsdp)
		return false;
	memcpy(oem, rsdp + 9, 6); /* RSDP: signature 8, checksum 1, OEM ID 6 */
	oem[6] = 0;
	return true;
}

void acpi_enter_s5(u64 rsdp_phys)
{
	const u8 *rsdp = find_rsdp(rsdp_phys);
	if (!rsdp)
		return;
	const struct sdt_header *fadt = find_fadt(rsdp);
	if (!fadt || fadt->length < 116)
		return;
	const u8 *f = (const u8 *)fadt;
	u32 dsdt_addr, smi_cmd, pm1a, pm1b;
	memcpy(&dsdt_addr, f + 40, 4);
	memcpy(&smi_cmd, f + 48, 4);
	memcpy(&pm1a, f + 64, 4);
	memcpy(&pm1b, f + 68, 4);
	const struct sdt_header *dsdt = table_at(dsdt_addr, sizeof(struct sdt_header));
	int typ = dsdt ? find_s5_type(dsdt, false) : -1;
	int typb = dsdt ? find_s5_type(dsdt, true) : -1;
	if (typ < 0 || !pm1a)
		return;
	if (smi_cmd && !(inw((u16)pm1a) & ACPI_PM1_CNT_SCI_EN)) {
		outb((u16)smi_cmd, f[52]); /* ACPI_ENABLE */
		for (int i = 0; i < 1000000 && !(inw((u16)pm1a) & ACPI_PM1_CNT_SCI_EN); i++)
			pause();
	}
	outw((u16)pm1a, (u16)((typ << 10) | ACPI_PM1_CNT_SLP_EN));
	if (pm1b)
		outw((u16)pm1b, (u16)(((typb < 0 ? typ : typb) << 10) | ACPI_PM1_CNT_SLP_EN));
}
