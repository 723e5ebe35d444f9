/* SOURCES: kernel/linux_boot.c kernel/fmt.c */
/*
 * test_linux_boot.c - kernel/linux_boot.c: the Linux boot protocol loader on a synthetic
 * bzImage built here (setup sectors with a 2.15 header, a protected-mode payload).
 *
 * A load must give the plan docs/linux.md describes and write exactly: the GDT, the 4 KiB of
 * boot_params (every field checked at its offset in boot.rst, spelled here as a literal so the
 * header's macros are checked too), the command line, the protected-mode kernel and the
 * initrd; every other byte of guest RAM keeps FILL. Every refusal gives -1, a one-line
 * message (checked by keyword) that fits hv.c's 160-byte buffer, and leaves RAM untouched.
 *
 * The loader gets exact-size heap copies of the image, the initrd and RAM, so under ASan a
 * read past the image or a write past RAM is caught.
 *
 * Manual check with a real kernel (not in the repo, so not a unit test): run the binary with
 * LINUX_BZIMAGE=/path/to/vmlinuz (and optionally LINUX_INITRD=, LINUX_RAM_MIB=) and read the
 * plan it prints; without LINUX_BZIMAGE that test is skipped.
 */
#include "unit.h"

#include "kernel/linux_boot.h"

#define RAM_SIZE (16 * MiB)
#define FILL 0xAA
#define HV_ERR_BUF 160 /* hv/hv.c's err[] */

#define SETUP_SECTS 3
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define PM_SIZE 0x3000
#define HDR_END 0x26c /* 0x202 + 0x6a, as Linux 6.1 */
#define PREF 0x400000
#define INIT_SIZE 0x300000
#define IMG_MAX (SETUP_SIZE + 512 + PM_SIZE + 0x1000)
#define INITRD_SIZE 0x10000

static struct {
	u8 img[IMG_MAX];
	u64 img_len;
	u8 *kcopy, *icopy, *ram, *before;
	u64 ram_size;
	u8 initrd[INITRD_SIZE];
	struct linux_e820_entry map[LINUX_E820_MAX + 1];
	struct linux_boot_args args;
	struct linux_boot_plan plan;
	char err[512];
} t;

/* ---- Image builder ---- */

static void put8(u64 off, u8 v) { t.img[off] = v; }
static void put16(u64 off, u16 v) { memcpy(t.img + off, &v, 2); }
static void put32(u64 off, u32 v) { memcpy(t.img + off, &v, 4); }
static void put64(u64 off, u64 v) { memcpy(t.img + off, &v, 8); }
static u8 pat(u64 i, u32 seed) { return (u8)((i * 13 + seed) % 127 + 1); } /* never 0 or FILL */

/* A bzImage: setup sectors full of a pattern (so the header copy is checked byte by byte),
 * then the header fields a 2.15 x86-64 kernel has, then PM_SIZE bytes of payload. */
static void build_image(u8 setup_sects)
{
	u64 ssize = ((u64)(setup_sects ? setup_sects : 4) + 1) * 512;
	for (u64 i = 0; i < ssize; i++)
		t.img[i] = pat(i, 1);
	for (u64 i = 0; i < PM_SIZE; i++)
		t.img[ssize + i] = pat(i, 2);
	t.img_len = ssize + PM_SIZE;
	put8(0x1f1, setup_sects);
	put32(0x1f4, PM_SIZE / 16);
	put16(0x1fa, 0xfffd);       /* vid_mode: the loader writes 0xffff */
	put16(0x1fe, 0xaa55);
	put8(0x200, 0xeb);
	put8(0x201, HDR_END - 0x202);
	memcpy(t.img + 0x202, "HdrS", 4);
	put16(0x206, 0x020f);
	put8(0x210, 0);
	put8(0x211, 0x01);          /* LOADED_HIGH */
	put32(0x214, 0x100000);
	put32(0x218, 0);
	put32(0x21c, 0);
	put16(0x224, 0);
	put8(0x226, 0);
	put8(0x227, 0);
	put32(0x228, 0);
	put32(0x22c, 0x7fffffff);   /* initrd_addr_max */
	put32(0x230, 0x200000);     /* kernel_alignment */
	put8(0x234, 1);             /* relocatable */
	put8(0x235, 21);
	put16(0x236, 0x03);         /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	put32(0x238, 0x7ff);        /* cmdline_size */
	put32(0x248, 0x100);        /* payload */
	put32(0x24c, 0x800);
	put64(0x250, 0);
	put64(0x258, PREF);
	put32(0x260, INIT_SIZE);
}

static const struct linux_e820_entry pc_map[] = {
	{ 0, 0x9fc00, 1 },
	{ 0x9fc00, 0x400, 2 },
	{ 0xa0000, 0x60000, 2 },
	{ 0x100000, RAM_SIZE - 0x100000, 1 },
};

static int setup_ram(u64 ram_size)
{
	memset(&t, 0, sizeof(t));
	t.ram_size = ram_size;
	t.ram = malloc(ram_size);
	t.before = malloc(ram_size);
	if (!t.ram || !t.before)
		return -1;
	memset(t.ram, FILL, ram_size);
	build_image(SETUP_SECTS);
	for (u64 i = 0; i < INITRD_SIZE; i++)
		t.initrd[i] = pat(i, 3);
	memcpy(t.map, pc_map, sizeof(pc_map));
	t.map[3].size = ram_size - 0x100000;
	t.args = (struct linux_boot_args){
		.cmdline = "console=ttyS0 rdinit=/init",
		.map = t.map,
		.map_entries = 4,
		.acpi_rsdp = 0xf0000,
	};
	return 0;
}

static int setup(void **state) { (void)state; return setup_ram(RAM_SIZE); }

static int teardown(void **state)
{
	(void)state;
	free(t.kcopy);
	free(t.icopy);
	free(t.ram);
	free(t.before);
	t.kcopy = t.icopy = t.ram = t.before = NULL;
	return 0;
}

/* Exact-size copies of the image (its first len bytes) and of the first ilen initrd bytes. */
static int load_len(u64 len, u64 ilen)
{
	free(t.kcopy);
	free(t.icopy);
	t.kcopy = malloc(len ? len : 1);
	t.icopy = ilen ? malloc(ilen) : NULL;
	assert_non_null(t.kcopy);
	memcpy(t.kcopy, t.img, len);
	if (ilen) {
		assert_non_null(t.icopy);
		for (u64 i = 0; i < ilen; i++)
			t.icopy[i] = pat(i, 3);
	}
	t.args.kernel = t.kcopy;
	t.args.kernel_len = len;
	t.args.initrd = t.icopy;
	t.args.initrd_len = ilen;
	memcpy(t.before, t.ram, t.ram_size);
	memset(&t.plan, 0xee, sizeof(t.plan));
	memset(t.err, 0, sizeof(t.err));
	return linux_boot_load(&t.args, t.ram, t.ram_size, &t.plan, t.err, HV_ERR_BUF);
}

static int load(u64 ilen) { return load_len(t.img_len, ilen); }

/* A refusal: -1, one short line containing every keyword, RAM untouched. */
static void expect_refusal_len(u64 len, u64 ilen, const char *kw1, const char *kw2)
{
	int r = load_len(len, ilen);
	if (r != -1)
		fail_msg("accepted; expected a refusal containing '%s'", kw1);
	size_t n = strlen(t.err);
	assert_true(n > 0 && n < HV_ERR_BUF - 1);
	assert_null(strchr(t.err, '\n'));
	if (!strstr(t.err, kw1) || (kw2 && !strstr(t.err, kw2)))
		fail_msg("message '%s' lacks '%s'%s%s", t.err, kw1, kw2 ? " / " : "", kw2 ? kw2 : "");
	assert_memory_equal(t.ram, t.before, t.ram_size);
}

static void expect_refusal(u64 ilen, const char *kw1, const char *kw2)
{
	expect_refusal_len(t.img_len, ilen, kw1, kw2);
}

static void expect_load(u64 ilen)
{
	if (load(ilen) != 0)
		fail_msg("refused: %s", t.err);
}

static u8 b8(u64 gpa) { return t.ram[gpa]; }
static u16 b16(u64 gpa) { u16 v; memcpy(&v, t.ram + gpa, 2); return v; }
static u32 b32(u64 gpa) { u32 v; memcpy(&v, t.ram + gpa, 4); return v; }
static u64 b64(u64 gpa) { u64 v; memcpy(&v, t.ram + gpa, 8); return v; }

#define BP 0x7000 /* boot_params' gpa, as docs/linux.md says */

/* Bytes of the setup header the loader writes (offset, size). */
static const struct { u32 off, size; } written[] = {
	{ 0x1fa, 2 }, { 0x210, 1 }, { 0x211, 1 }, { 0x214, 4 }, { 0x218, 4 }, { 0x21c, 4 },
	{ 0x224, 2 }, { 0x226, 1 }, { 0x227, 1 }, { 0x228, 4 }, { 0x250, 8 },
};

static bool loader_writes(u64 off)
{
	for (size_t i = 0; i < ARRAY_SIZE(written); i++)
		if (off >= written[i].off && off < written[i].off + written[i].size)
			return true;
	return false;
}

/* Everything outside [lo, hi) ranges listed is still FILL. */
static void assert_only_written(const u64 (*ranges)[2], size_t n)
{
	for (u64 a = 0; a < t.ram_size; a++) {
		bool in = false;
		for (size_t i = 0; i < n && !in; i++)
			in = a >= ranges[i][0] && a < ranges[i][1];
		if (in)
			continue;
		if (t.ram[a] != FILL)
			fail_msg("RAM written at %#llx, outside the loader's ranges", a);
		/* skip quickly over the large untouched stretches */
	}
}

/* ---- Loads ---- */

static void test_plan(void **state)
{
	(void)state;
	expect_load(INITRD_SIZE);
	const struct linux_boot_plan *p = &t.plan;
	assert_int_equal(p->hdr.version, 0x020f);
	assert_int_equal(p->hdr.setup_size, SETUP_SIZE);
	assert_int_equal(p->hdr.pm_size, PM_SIZE);
	assert_int_equal(p->hdr.hdr_end, HDR_END);
	assert_int_equal(p->kernel_gpa, PREF);
	assert_int_equal(p->kernel_copy, PM_SIZE);
	assert_int_equal(p->kernel_span, INIT_SIZE);
	assert_int_equal(p->entry, PREF);
	assert_false(p->entry64);
	assert_int_equal(p->initrd_gpa, RAM_SIZE - INITRD_SIZE); /* the top of RAM */
	assert_int_equal(p->initrd_size, INITRD_SIZE);
	assert_int_equal(p->boot_params_gpa, BP);
	assert_int_equal(p->cmdline_gpa, 0x20000);
	assert_int_equal(p->cmdline_len, strlen(t.args.cmdline));
	assert_int_equal(p->gdt_gpa, 0x1000);
	assert_int_equal(p->gdt_limit, 0x1f);
	assert_int_equal(p->code_sel, 0x10);
	assert_int_equal(p->data_sel, 0x18);
	assert_int_equal(p->e820_entries, 4);
	assert_true(p->rsdp_passed);
}

static void test_boot_params_fields(void **state)
{
	(void)state;
	expect_load(INITRD_SIZE);
	/* boot_params outside the setup header */
	assert_int_equal(b64(BP + 0x070), 0xf0000);            /* acpi_rsdp_addr */
	assert_int_equal(b32(BP + 0x0c0), 0);                  /* ext_ramdisk_image */
	assert_int_equal(b32(BP + 0x0c4), 0);                  /* ext_ramdisk_size */
	assert_int_equal(b32(BP + 0x0c8), 0);                  /* ext_cmd_line_ptr */
	assert_int_equal(b8(BP + 0x1e8), 4);                   /* e820_entries */
	assert_int_equal(b8(BP + 0x1ef), 0);                   /* sentinel */
	for (u32 i = 0; i < 4; i++) {
		u64 e = BP + 0x2d0 + i * 20;
		assert_int_equal(b64(e), pc_map[i].addr);
		assert_int_equal(b64(e + 8), t.map[i].size);
		assert_int_equal(b32(e + 16), pc_map[i].type);
	}
	/* the setup header: the image's bytes, then the loader's fields */
	for (u64 off = 0x1f1; off < HDR_END; off++)
		if (!loader_writes(off) && b8(BP + off) != t.img[off])
			fail_msg("boot_params %#llx = %#x, image has %#x", off, b8(BP + off),
				 t.img[off]);
	assert_int_equal(b8(BP + 0x1f1), SETUP_SECTS);
	assert_int_equal(b16(BP + 0x1fa), 0xffff);             /* vid_mode: normal */
	assert_int_equal(b16(BP + 0x1fe), 0xaa55);
	assert_memory_equal(t.ram + BP + 0x202, "HdrS", 4);
	assert_int_equal(b16(BP + 0x206), 0x020f);
	assert_int_equal(b8(BP + 0x210), 0xff);                /* type_of_loader */
	assert_int_equal(b8(BP + 0x211), 0x01);                /* loadflags: LOADED_HIGH */
	assert_int_equal(b32(BP + 0x214), PREF);               /* code32_start */
	assert_int_equal(b32(BP + 0x218), RAM_SIZE - INITRD_SIZE); /* ramdisk_image */
	assert_int_equal(b32(BP + 0x21c), INITRD_SIZE);        /* ramdisk_size */
	assert_int_equal(b16(BP + 0x224), 0);                  /* heap_end_ptr */
	assert_int_equal(b8(BP + 0x226), 0);                   /* ext_loader_ver */
	assert_int_equal(b8(BP + 0x227), 0);                   /* ext_loader_type */
	assert_int_equal(b32(BP + 0x228), 0x20000);            /* cmd_line_ptr */
	assert_int_equal(b32(BP + 0x22c), 0x7fffffff);         /* initrd_addr_max, kept */
	assert_int_equal(b32(BP + 0x230), 0x200000);           /* kernel_alignment, kept */
	assert_int_equal(b16(BP + 0x236), 0x03);               /* xloadflags, kept */
	assert_int_equal(b64(BP + 0x250), 0);                  /* setup_data */
	assert_int_equal(b32(BP + 0x260), INIT_SIZE);
	/* every other byte of the page is zero */
	for (u64 off = 0; off < 4096; off++) {
		bool known = off == 0x070 || (off > 0x070 && off < 0x078) ||
			     off == 0x1e8 || (off >= 0x1f1 && off < HDR_END) ||
			     (off >= 0x2d0 && off < 0x2d0 + 4 * 20);
		if (!known && b8(BP + off) != 0)
			fail_msg("boot_params %#llx = %#x, expected 0", off, b8(BP + off));
	}
}

static void test_ram_contents(void **state)
{
	(void)state;
	expect_load(INITRD_SIZE);
	static const u64 gdt[4] = { 0, 0, 0x00cf9a000000ffffULL, 0x00cf92000000ffffULL };
	assert_memory_equal(t.ram + 0x1000, gdt, sizeof(gdt));
	assert_string_equal((char *)t.ram + 0x20000, "console=ttyS0 rdinit=/init");
	assert_memory_equal(t.ram + PREF, t.img + SETUP_SIZE, PM_SIZE);
	assert_memory_equal(t.ram + RAM_SIZE - INITRD_SIZE, t.icopy, INITRD_SIZE);
	const u64 ranges[][2] = {
		{ 0x1000, 0x1020 }, { BP, BP + 4096 },
		{ 0x20000, 0x20000 + strlen(t.args.cmdline) + 1 },
		{ PREF, PREF + PM_SIZE }, { RAM_SIZE - INITRD_SIZE, RAM_SIZE },
	};
	assert_only_written(ranges, ARRAY_SIZE(ranges));
}

static void test_no_initrd_no_cmdline(void **state)
{
	(void)state;
	t.args.cmdline = NULL;
	t.args.acpi_rsdp = 0;
	expect_load(0);
	assert_int_equal(t.plan.initrd_gpa, 0);
	assert_int_equal(t.plan.initrd_size, 0);
	assert_int_equal(b32(BP + 0x218), 0);
	assert_int_equal(b32(BP + 0x21c), 0);
	assert_int_equal(b64(BP + 0x070), 0);
	assert_false(t.plan.rsdp_passed);
	assert_int_equal(t.plan.cmdline_len, 0);
	assert_int_equal(b8(0x20000), 0);
	assert_int_equal(b32(BP + 0x228), 0x20000);
}

static void test_entry64(void **state)
{
	(void)state;
	t.args.entry64 = true;
	expect_load(0);
	assert_true(t.plan.entry64);
	assert_int_equal(t.plan.entry, PREF + 0x200);
	put16(0x236, 0x02); /* no XLF_KERNEL_64 */
	expect_refusal(0, "XLF_KERNEL_64", "0x2");
	t.args.entry64 = false;
	expect_load(0); /* the 32-bit entry does not need it */
	assert_int_equal(t.plan.entry, PREF);
}

/* The start state vmx/vcpu.c applies (boot.rst "32-bit boot protocol"): EIP the entry, ESI
 * boot_params, EAX = EBX = 0, the plan's GDT with __BOOT_CS/__BOOT_DS flat; none for the
 * 64-bit entry. */
static void test_start_state(void **state)
{
	(void)state;
	struct guest_start s;
	expect_load(INITRD_SIZE);
	memset(&s, 0xa5, sizeof(s));
	assert_int_equal(linux_boot_start(&t.plan, &s), 0);
	assert_int_equal(s.eip, PREF);
	assert_int_equal(s.esi, BP);
	assert_int_equal(s.eax, 0);
	assert_int_equal(s.ebx, 0);
	assert_int_equal(s.gdt_base, 0x1000);
	assert_int_equal(s.gdt_limit, 0x1f);
	assert_int_equal(s.code_sel, 0x10);
	assert_int_equal(s.data_sel, 0x18);
	/* the descriptors at those selectors in RAM: flat code32 and data, DPL 0 */
	u64 cs = b64(0x1000 + 0x10), ds = b64(0x1000 + 0x18);
	assert_int_equal(cs & 0x000f00000000ffffULL, 0x000f00000000ffffULL); /* limit 0xfffff */
	assert_int_equal((cs >> 40) & 0xff, 0x9a);
	assert_int_equal((ds >> 40) & 0xff, 0x92);
	assert_int_equal((cs >> 52) & 0xc, 0xc); /* G and D */
	t.args.entry64 = true;
	expect_load(0);
	assert_int_equal(linux_boot_start(&t.plan, &s), -1);
}

static void test_setup_sects_zero_means_4(void **state)
{
	(void)state;
	build_image(0);
	expect_load(0);
	assert_int_equal(t.plan.hdr.setup_sects, 4);
	assert_int_equal(t.plan.hdr.setup_size, 5 * 512);
	assert_memory_equal(t.ram + PREF, t.img + 5 * 512, PM_SIZE);
}

static void test_loadflags_cleared(void **state)
{
	(void)state;
	put8(0x211, 0x01 | 0x20 | 0x40 | 0x80); /* QUIET, KEEP_SEGMENTS, CAN_USE_HEAP */
	put16(0x224, 0x1234);                   /* a heap_end_ptr in the image */
	put64(0x250, 0x5000);                   /* a setup_data in the image */
	expect_load(0);
	assert_int_equal(b8(BP + 0x211), 0x01);
	assert_int_equal(b16(BP + 0x224), 0);
	assert_int_equal(b64(BP + 0x250), 0);
}

static void test_old_protocol_no_rsdp(void **state)
{
	(void)state;
	put16(0x206, 0x020d); /* 2.13: boot_params has no acpi_rsdp_addr yet */
	expect_load(0);
	assert_false(t.plan.rsdp_passed);
	assert_int_equal(b64(BP + 0x070), 0);
}

/* A reserved range at the preferred address: the relocatable kernel moves up to the next
 * kernel_alignment boundary past it; one just below the top of RAM pushes the initrd down. */
static void test_placement_around_reserved(void **state)
{
	(void)state;
	t.map[3].size = 0x300000;                                 /* RAM 1-4 MiB */
	t.map[4] = (struct linux_e820_entry){ 0x400000, 0x100000, 2 }; /* reserved 4-5 MiB */
	t.map[5] = (struct linux_e820_entry){ 0x500000, 0xa00000, 1 }; /* RAM 5-15 MiB */
	t.map[6] = (struct linux_e820_entry){ 0xf00000, 0x100000, 2 }; /* reserved 15-16 MiB */
	t.args.map_entries = 7;
	expect_load(INITRD_SIZE);
	assert_int_equal(t.plan.kernel_gpa, 0x600000);
	assert_int_equal(b32(BP + 0x214), 0x600000);
	assert_int_equal(t.plan.initrd_gpa, 0xf00000 - INITRD_SIZE);
	assert_int_equal(b8(BP + 0x1e8), 7);
	assert_memory_equal(t.ram + 0x600000, t.img + SETUP_SIZE, PM_SIZE);
}

static void test_initrd_below_initrd_addr_max(void **state)
{
	(void)state;
	put32(0x22c, 0x3fffff); /* last initrd byte at or below 4 MiB - 1 */
	expect_load(INITRD_SIZE);
	assert_int_equal(t.plan.initrd_gpa, 0x400000 - INITRD_SIZE);
	assert_int_equal(b32(BP + 0x218), 0x400000 - INITRD_SIZE);
}

static void test_not_relocatable_fits(void **state)
{
	(void)state;
	put8(0x234, 0);
	put64(0x258, 0x500000);
	expect_load(0);
	assert_int_equal(t.plan.kernel_gpa, 0x500000);
}

static void test_cmdline_at_cmdline_size(void **state)
{
	(void)state;
	put32(0x238, 16);
	t.args.cmdline = "0123456789abcdef"; /* 16 bytes: the limit */
	expect_load(0);
	assert_string_equal((char *)t.ram + 0x20000, "0123456789abcdef");
	t.args.cmdline = "0123456789abcdefg";
	expect_refusal(0, "command line", "cmdline_size 0x10");
}

/* ---- Refusals ---- */

static void test_refuse_old_protocol(void **state)
{
	(void)state;
	put16(0x206, 0x020b);
	expect_refusal(0, "2.11", "too old");
}

static void test_refuse_truncated(void **state)
{
	(void)state;
	expect_refusal_len(0, 0, "empty", NULL);
	expect_refusal_len(0x1f0, 0, "truncated", "setup header");
	expect_refusal_len(0x202, 0, "truncated", "setup header");
	expect_refusal_len(0x250, 0, "truncated", "ends at 0x26c");
	expect_refusal_len(0x300, 0, "truncated", "setup sectors");
	expect_refusal_len(SETUP_SIZE - 1, 0, "truncated", "setup sectors");
	expect_refusal_len(SETUP_SIZE, 0, "truncated", "protected-mode");
	expect_refusal_len(SETUP_SIZE + PM_SIZE / 2, 0, "truncated", "protected-mode");
	expect_refusal_len(t.img_len - 1, 0, "truncated", "protected-mode");
	assert_int_equal(load_len(t.img_len, 0), 0);
}

static void test_refuse_bad_header(void **state)
{
	(void)state;
	memcpy(t.img + 0x202, "HdrX", 4);
	expect_refusal(0, "not a bzImage", NULL);
	build_image(SETUP_SECTS);
	put16(0x1fe, 0x1234);
	expect_refusal(0, "boot_flag", NULL);
	build_image(SETUP_SECTS);
	put8(0x211, 0);
	expect_refusal(0, "zImage", NULL);
	build_image(SETUP_SECTS);
	put8(0x201, 0x20); /* header ends at 0x222: shorter than 2.12's */
	expect_refusal(0, "setup header ends", NULL);
	build_image(SETUP_SECTS);
	put32(0x1f4, 0);
	expect_refusal(0, "syssize 0", NULL);
	build_image(SETUP_SECTS);
	put32(0x24c, PM_SIZE);
	expect_refusal(0, "payload", NULL);
	build_image(SETUP_SECTS);
	put32(0x260, PM_SIZE - 16);
	expect_refusal(0, "init_size", NULL);
	build_image(SETUP_SECTS);
	put32(0x230, 0x3000);
	expect_refusal(0, "kernel_alignment", NULL);
}

static void test_refuse_kernel_larger_than_ram(void **state)
{
	(void)state;
	put32(0x260, 17 * MiB);
	expect_refusal(0, "more than guest RAM", "guest_mem=");
	build_image(SETUP_SECTS);
	put32(0x260, 13 * MiB); /* from 4 MiB: 17 MiB, RAM is 16 */
	expect_refusal(0, "init_size", "raise guest_mem= to 18M");
	build_image(SETUP_SECTS);
	put64(0x258, 32 * MiB);
	expect_refusal(0, "pref_address 0x2000000 is beyond guest RAM", NULL);
}

static void test_refuse_not_relocatable(void **state)
{
	(void)state;
	put8(0x234, 0);
	put64(0x258, 14 * MiB); /* 14 MiB + 3 MiB > 16 MiB */
	expect_refusal(0, "not relocatable", "0xe00000");
	put64(0x258, 0x80000); /* below 1 MiB: the loader's own area */
	expect_refusal(0, "not relocatable", "first MiB");
}

static void test_refuse_initrd(void **state)
{
	(void)state;
	free(t.ram);
	free(t.before);
	setup_ram(8 * MiB); /* kernel 4-7 MiB; free: 1-4 MiB and 7-8 MiB */
	expect_refusal(9 * MiB, "initrd", "larger than guest RAM");
	expect_refusal(4 * MiB, "initrd", "leaves free");
	expect_load(3 * MiB); /* 1-4 MiB exactly */
	assert_int_equal(t.plan.initrd_gpa, 1 * MiB);
	put32(0x22c, 0x1fffff); /* initrd_addr_max 2 MiB - 1: only 1 MiB below it */
	expect_refusal(2 * MiB, "initrd_addr_max 0x1fffff", NULL);
}

static void test_refuse_map(void **state)
{
	(void)state;
	t.args.map_entries = 0;
	expect_refusal(0, "memory map", "no entries");
	t.args.map_entries = LINUX_E820_MAX + 1;
	for (u32 i = 4; i < LINUX_E820_MAX + 1; i++)
		t.map[i] = (struct linux_e820_entry){ 0xfec00000 + i * 0x1000, 0x1000, 2 };
	expect_refusal(0, "memory map", "129 entries");
	t.args.map_entries = LINUX_E820_MAX; /* the most the zero page holds */
	expect_load(0);
	assert_int_equal(b8(BP + 0x1e8), LINUX_E820_MAX);
	assert_int_equal(b64(BP + 0x2d0 + 127 * 20), 0xfec00000 + 127 * 0x1000);
	t.args.map_entries = 4;
	t.map[3].size = RAM_SIZE; /* RAM up to 17 MiB */
	expect_refusal(0, "memory map", "past guest RAM");
	t.map[3].size = 0;
	expect_refusal(0, "memory map", "entry 3");
	t.map[3].size = RAM_SIZE - 0x100000;
	t.map[1].type = 0;
	expect_refusal(0, "memory map", "type 0");
}

static void test_refuse_small_ram(void **state)
{
	(void)state;
	free(t.ram);
	free(t.before);
	setup_ram(512 * KiB);
	t.args.map_entries = 1;
	t.map[0].size = 512 * KiB;
	expect_refusal(0, "below the 1 MiB", NULL);
}

/* ---- The real kernel, by hand: LINUX_BZIMAGE=... (docs/linux.md) ---- */

static u8 *read_file(const char *path, u64 *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	u8 *buf = malloc(n > 0 ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (u64)n;
	return buf;
}

static void test_real_bzimage(void **state)
{
	(void)state;
	const char *path = getenv("LINUX_BZIMAGE");
	if (!path)
		skip();
	const char *ipath = getenv("LINUX_INITRD");
	const char *mib = getenv("LINUX_RAM_MIB");
	u64 ram = (mib ? strtoull(mib, NULL, 0) : 256) * MiB;
	free(t.ram);
	free(t.before);
	setup_ram(ram);
	u64 klen, ilen = 0;
	u8 *k = read_file(path, &klen), *i = ipath ? read_file(ipath, &ilen) : NULL;
	t.args.kernel = k;
	t.args.kernel_len = klen;
	t.args.initrd = i;
	t.args.initrd_len = ilen;
	t.args.cmdline = "console=ttyS0,115200";
	int r = linux_boot_load(&t.args, t.ram, t.ram_size, &t.plan, t.err, HV_ERR_BUF);
	const struct linux_header *h = &t.plan.hdr;
	printf("bzImage %s: %llu bytes, guest RAM %llu MiB\n", path, klen, ram / MiB);
	if (r) {
		printf("  refused: %s\n", t.err);
	} else {
		printf("  protocol %u.%02u, setup_sects %u (%llu bytes), protected mode %#llx bytes\n",
		       h->version >> 8, h->version & 0xff, h->setup_sects, h->setup_size, h->pm_size);
		printf("  loadflags %#x, xloadflags %#x, relocatable %d, kernel_alignment %#x, "
		       "min_alignment %u\n", h->loadflags, h->xloadflags, h->relocatable,
		       h->kernel_alignment, h->min_alignment);
		printf("  pref_address %#llx, init_size %#x (%u MiB), initrd_addr_max %#x, "
		       "cmdline_size %#x, payload %#x+%#x\n", h->pref_address, h->init_size,
		       h->init_size >> 20, h->initrd_addr_max, h->cmdline_size, h->payload_offset,
		       h->payload_length);
		printf("  plan: kernel at %#llx (span to %#llx), entry %#llx (%s), boot_params %#llx, "
		       "cmdline %#llx, initrd %#llx+%#llx\n", t.plan.kernel_gpa,
		       t.plan.kernel_gpa + t.plan.kernel_span, t.plan.entry,
		       t.plan.entry64 ? "64-bit" : "32-bit", t.plan.boot_params_gpa,
		       t.plan.cmdline_gpa, t.plan.initrd_gpa, t.plan.initrd_size);
	}
	free(k);
	free(i);
	t.args.kernel = NULL;
	assert_int_equal(r, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_params_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ram_contents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_initrd_no_cmdline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_entry64, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_setup_sects_zero_means_4, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loadflags_cleared, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_protocol_no_rsdp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_placement_around_reserved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_below_initrd_addr_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_relocatable_fits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cmdline_at_cmdline_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_old_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_bad_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_kernel_larger_than_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_not_relocatable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_initrd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuse_small_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_real_bzimage, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
