/* SOURCES: kernel/linux_boot.c kernel/fmt.c */
/*
 * fuzz_linux_boot.c - kernel/linux_boot.c: linux_boot_load on the input as a bzImage (an
 * exact-size heap copy) into guest RAM of 2, 4, 6 or 8 MiB (exact-size heap buffers,
 * pre-filled with FILL), so under ASan any read past the image or the initrd, or any write
 * past RAM, is caught.
 *
 * Input: byte 0 flags (bit 0 the 64-bit entry, bit 1 an initrd, bit 2 an RSDP, bits 3-4 the
 * RAM size, bit 5 a reserved hole in the memory map, bit 6 no command line), byte 1 the
 * command line's length (of 'a's), byte 2 the initrd's size in 16 KiB units (+ 1 byte),
 * byte 3 the hole's position in 256 KiB units, then the kernel image.
 *
 * Invariants (abort on violation):
 *   - the return value is 0 or -1; on -1 err is a non-empty line (no '\n') ending inside
 *     errlen (the 160 bytes of hv/hv.c's buffer), nothing written past it, and guest RAM is
 *     untouched;
 *   - on 0: the kernel's span [kernel_gpa, + init_size) and the initrd lie in RAM above 1 MiB,
 *     out of the hole, apart; a relocatable kernel at an aligned address >= pref_address, any
 *     other at pref_address; the entry at the load address (+0x200 for the 64-bit one); the
 *     initrd page-aligned, ending at or below initrd_addr_max + 1; the kernel and the initrd
 *     copied byte for byte; boot_params' loader fields as planned, the command line
 *     NUL-terminated; every byte outside the GDT, boot_params, the command line, the kernel
 *     copy and the initrd still FILL.
 */
#include "fuzz.h"

#include "kernel/linux_boot.h"

#define FILL 0xAA
#define ERRLEN 160
#define ERRBUF (ERRLEN + 32)
#define CANARY 0x5a
#define N_RAM 4
#define HOLE_SIZE (256 * KiB)

static u8 *rams[N_RAM], *clean;
static char err[ERRBUF];
static char cmdline[256];
static u8 *initrd_src;
#define INITRD_MAX (256 * 16 * KiB + 1)

static u64 ram_size_of(int i) { return (u64)(i + 1) * 2 * MiB; }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	for (int i = 0; i < N_RAM; i++) {
		rams[i] = malloc(ram_size_of(i));
		CHECK(rams[i] != NULL, "out of memory");
		memset(rams[i], FILL, ram_size_of(i));
	}
	clean = malloc(ram_size_of(N_RAM - 1));
	initrd_src = malloc(INITRD_MAX);
	CHECK(clean && initrd_src, "out of memory");
	memset(clean, FILL, ram_size_of(N_RAM - 1));
	for (u64 i = 0; i < INITRD_MAX; i++)
		initrd_src[i] = (u8)(i * 7 + 1);
	return 0;
}

/* First byte in [lo, hi) that is not FILL, or hi. */
static u64 first_dirty(const u8 *ram, u64 lo, u64 hi)
{
	if (lo >= hi || !memcmp(ram + lo, clean + lo, hi - lo))
		return hi;
	while (lo < hi && ram[lo] == FILL)
		lo++;
	return lo;
}

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }

static bool apart(u64 lo, u64 hi, u64 lo2, u64 hi2) { return hi <= lo2 || hi2 <= lo; }

/* The written ranges, sorted by start (kernel and initrd are above the low three). */
static int written_ranges(const struct linux_boot_plan *p, u64 r[5][2])
{
	int n = 0;
	r[n][0] = p->gdt_gpa, r[n++][1] = p->gdt_gpa + p->gdt_limit + 1;
	r[n][0] = p->boot_params_gpa, r[n++][1] = p->boot_params_gpa + LINUX_BP_SIZE;
	r[n][0] = p->cmdline_gpa, r[n++][1] = p->cmdline_gpa + p->cmdline_len + 1;
	u64 k[2] = { p->kernel_gpa, p->kernel_gpa + p->kernel_copy };
	u64 i[2] = { p->initrd_gpa, p->initrd_gpa + p->initrd_size };
	bool kfirst = !p->initrd_size || k[0] < i[0];
	memcpy(r[n++], kfirst ? k : i, sizeof(k));
	memcpy(r[n++], kfirst ? i : k, sizeof(k));
	return n;
}

static void check_plan(const struct linux_boot_args *a, const struct linux_boot_plan *p,
		       u64 ram_size, u64 hole)
{
	const struct linux_header *h = &p->hdr;
	u64 klo = p->kernel_gpa, khi = klo + p->kernel_span;
	CHECK(klo >= LINUX_LOW_END && khi > klo && khi <= ram_size,
	      "kernel span [%#llx, %#llx) outside RAM above 1 MiB", klo, khi);
	CHECK(p->kernel_copy == h->pm_size && p->kernel_copy <= p->kernel_span &&
	      p->kernel_span == h->init_size, "kernel sizes %#llx/%#llx", p->kernel_copy,
	      p->kernel_span);
	CHECK(h->setup_size + h->pm_size <= a->kernel_len, "kernel copy past the image");
	if (h->relocatable)
		CHECK(klo >= h->pref_address && klo % h->kernel_alignment == 0,
		      "relocatable kernel at %#llx (pref %#llx, align %#x)", klo, h->pref_address,
		      h->kernel_alignment);
	else
		CHECK(klo == h->pref_address, "kernel at %#llx, pref %#llx", klo, h->pref_address);
	CHECK(p->entry == klo + (a->entry64 ? 0x200 : 0), "entry %#llx", p->entry);
	CHECK(!a->entry64 || (h->xloadflags & LINUX_XLF_KERNEL_64), "64-bit entry without XLF");
	CHECK(h->version >= 0x020c, "protocol %#x accepted", h->version);
	if (hole)
		CHECK(apart(klo, khi, hole, hole + HOLE_SIZE), "kernel in the hole");
	if (p->initrd_size) {
		u64 ilo = p->initrd_gpa, ihi = ilo + p->initrd_size;
		CHECK(p->initrd_size == a->initrd_len, "initrd size %#llx", p->initrd_size);
		CHECK(ilo % PAGE_SIZE == 0 && ilo >= LINUX_LOW_END && ihi <= ram_size &&
		      ihi - 1 <= h->initrd_addr_max, "initrd at [%#llx, %#llx), max %#x", ilo, ihi,
		      h->initrd_addr_max);
		CHECK(apart(ilo, ihi, klo, khi), "initrd overlaps the kernel");
		if (hole)
			CHECK(apart(ilo, ihi, hole, hole + HOLE_SIZE), "initrd in the hole");
	} else {
		CHECK(p->initrd_gpa == 0 && a->initrd_len == 0, "initrd dropped");
	}
}

static void check_ram(const struct linux_boot_args *a, const struct linux_boot_plan *p,
		      const u8 *ram, u64 ram_size)
{
	const u8 *bp = ram + p->boot_params_gpa;
	CHECK(!memcmp(ram + p->kernel_gpa, a->kernel + p->hdr.setup_size, p->kernel_copy),
	      "kernel copy differs");
	CHECK(!p->initrd_size || !memcmp(ram + p->initrd_gpa, a->initrd, p->initrd_size),
	      "initrd copy differs");
	CHECK(bp[LINUX_HDR_TYPE_OF_LOADER] == 0xff && bp[LINUX_BP_SENTINEL] == 0 &&
	      bp[LINUX_BP_E820_ENTRIES] == a->map_entries, "boot_params loader fields");
	CHECK(rd32(bp + LINUX_HDR_CMD_LINE_PTR) == p->cmdline_gpa &&
	      rd32(bp + LINUX_HDR_RAMDISK_IMAGE) == p->initrd_gpa &&
	      rd32(bp + LINUX_HDR_RAMDISK_SIZE) == p->initrd_size &&
	      rd32(bp + LINUX_HDR_CODE32_START) == p->kernel_gpa, "boot_params pointers");
	CHECK(rd32(bp + LINUX_HDR_MAGIC) == LINUX_HDR_MAGIC_VALUE, "boot_params header magic");
	CHECK(ram[p->cmdline_gpa + p->cmdline_len] == 0 &&
	      strlen((const char *)ram + p->cmdline_gpa) == p->cmdline_len, "command line");
	u64 r[5][2], pos = 0;
	int n = written_ranges(p, r);
	for (int i = 0; i < n; i++) {
		if (r[i][1] <= r[i][0])
			continue;
		u64 bad = first_dirty(ram, pos, r[i][0]);
		CHECK(bad == r[i][0] || r[i][0] < pos, "RAM written at %#llx, outside the loader's "
		      "ranges", bad);
		pos = MAX(pos, r[i][1]);
	}
	u64 bad = first_dirty(ram, pos, ram_size);
	CHECK(bad == ram_size, "RAM written at %#llx, above the loader's ranges", bad);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	u8 flags = fz_u8(&f), cl_len = fz_u8(&f), ird = fz_u8(&f), hole_pos = fz_u8(&f);
	int ri = (flags >> 3) & 3;
	u64 ram_size = ram_size_of(ri);
	u8 *ram = rams[ri];
	u64 hole = (flags & BIT(5)) ? ((u64)hole_pos * HOLE_SIZE) % ram_size : 0;
	struct linux_e820_entry map[] = {
		{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xa0000, 0x60000, 2 },
		{ 0x100000, ram_size - 0x100000, 1 }, { hole, HOLE_SIZE, 2 },
	};
	memset(cmdline, 'a', cl_len);
	cmdline[cl_len] = 0;
	u8 *img = malloc(f.n ? f.n : 1);
	u8 *ird_copy = malloc((u64)ird * 16 * KiB + 1);
	CHECK(img && ird_copy, "out of memory");
	memcpy(img, f.p, f.n);
	memcpy(ird_copy, initrd_src, (u64)ird * 16 * KiB + 1);
	struct linux_boot_args a = {
		.kernel = img, .kernel_len = f.n,
		.initrd = (flags & BIT(1)) ? ird_copy : NULL,
		.initrd_len = (flags & BIT(1)) ? (u64)ird * 16 * KiB + 1 : 0,
		.cmdline = (flags & BIT(6)) ? NULL : cmdline,
		.map = map, .map_entries = hole ? 5 : 4,
		.acpi_rsdp = (flags & BIT(2)) ? 0xf0000 : 0,
		.entry64 = flags & BIT(0),
	};
	struct linux_boot_plan p;
	memset(err, CANARY, sizeof(err));
	memset(&p, 0xee, sizeof(p));

	int r = linux_boot_load(&a, ram, ram_size, &p, err, ERRLEN);
	CHECK(r == 0 || r == -1, "returned %d", r);
	if (r == -1) {
		size_t len = strnlen(err, ERRLEN);
		CHECK(len > 0 && len < ERRLEN, "err of length %zu", len);
		CHECK(!memchr(err, '\n', len), "err is not one line: %s", err);
		for (size_t i = ERRLEN; i < ERRBUF; i++)
			CHECK((u8)err[i] == CANARY, "err written past errlen at %zu", i);
		u64 bad = first_dirty(ram, 0, ram_size);
		CHECK(bad == ram_size, "refusal (%s) wrote RAM at %#llx", err, bad);
	} else {
		check_plan(&a, &p, ram_size, hole);
		check_ram(&a, &p, ram, ram_size);
		u64 rg[5][2];
		int n = written_ranges(&p, rg);
		for (int i = 0; i < n; i++)
			memcpy(ram + rg[i][0], clean + rg[i][0], rg[i][1] - rg[i][0]);
	}
	free(img);
	free(ird_copy);
	return 0;
}
