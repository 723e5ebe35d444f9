/* linux_boot.c - Linux x86 boot protocol loader: setup header, placement plan, boot_params. */
#include "kernel/linux_boot.h"
#include "kernel/fmt.h"
#include "kernel/lib.h"
#include "kernel/mb2.h"

#define LINUX_4G (4 * GiB) /* the 32-bit entry (and ramdisk_image) reach below 4 GiB */

static __printf(3, 4) int fail(char *err, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(err, n, fmt, ap);
	va_end(ap);
	return -1;
}

static u8 rd8(const u8 *p, u64 off) { return p[off]; }
static u16 rd16(const u8 *p, u64 off) { u16 v; memcpy(&v, p + off, 2); return v; }
static u32 rd32(const u8 *p, u64 off) { u32 v; memcpy(&v, p + off, 4); return v; }
static u64 rd64(const u8 *p, u64 off) { u64 v; memcpy(&v, p + off, 8); return v; }
static void wr8(u8 *p, u64 off, u8 v) { p[off] = v; }
static void wr16(u8 *p, u64 off, u16 v) { memcpy(p + off, &v, 2); }
static void wr32(u8 *p, u64 off, u32 v) { memcpy(p + off, &v, 4); }
static void wr64(u8 *p, u64 off, u64 v) { memcpy(p + off, &v, 8); }

bool linux_is_bzimage(const u8 *img, u64 len)
{
	return img && len >= LINUX_HDR_MAGIC + 4 &&
	       rd32(img, LINUX_HDR_MAGIC) == LINUX_HDR_MAGIC_VALUE;
}

/* The fixed part: boot flag, magic, version, header length. */
static int check_header_start(const u8 *img, u64 len, struct linux_header *h, char *err,
			      size_t n)
{
	if (len == 0)
		return fail(err, n, "the kernel image is empty");
	if (len < LINUX_HDR_VERSION + 2)
		return fail(err, n, "truncated kernel image: %llu bytes, the setup header needs "
			    "%#x", len, LINUX_HDR_VERSION + 2);
	if (!linux_is_bzimage(img, len))
		return fail(err, n, "no Linux setup header (\"HdrS\" at 0x202): not a bzImage");
	if (rd16(img, LINUX_HDR_BOOT_FLAG) != LINUX_BOOT_FLAG_VALUE)
		return fail(err, n, "setup header: boot_flag %#x, not 0xaa55",
			    rd16(img, LINUX_HDR_BOOT_FLAG));
	h->version = rd16(img, LINUX_HDR_VERSION);
	if (h->version < LINUX_MIN_VERSION)
		return fail(err, n, "Linux boot protocol %u.%02u is too old (2.12 or later: "
			    "Linux 3.8+)", h->version >> 8, h->version & 0xff);
	h->hdr_end = LINUX_HDR_MAGIC + (u64)rd8(img, LINUX_HDR_JUMP + 1);
	if (h->hdr_end < LINUX_HDR_MIN_END || h->hdr_end > LINUX_BP_HDR_LIMIT)
		return fail(err, n, "setup header ends at %#llx, outside %#x..%#x for protocol "
			    "%u.%02u", h->hdr_end, LINUX_HDR_MIN_END, LINUX_BP_HDR_LIMIT,
			    h->version >> 8, h->version & 0xff);
	if (len < h->hdr_end)
		return fail(err, n, "truncated kernel image: %llu bytes, the setup header ends "
			    "at %#llx", len, h->hdr_end);
	return 0;
}

static void read_fields(const u8 *img, struct linux_header *h)
{
	u8 sects = rd8(img, LINUX_HDR_SETUP_SECTS);
	h->setup_sects = sects ? sects : LINUX_SETUP_SECTS_DEFAULT;
	h->setup_size = ((u64)h->setup_sects + 1) * LINUX_SECTOR;
	h->pm_size = (u64)rd32(img, LINUX_HDR_SYSSIZE) * 16;
	h->loadflags = rd8(img, LINUX_HDR_LOADFLAGS);
	h->xloadflags = rd16(img, LINUX_HDR_XLOADFLAGS);
	h->relocatable = rd8(img, LINUX_HDR_RELOCATABLE) != 0;
	h->min_alignment = rd8(img, LINUX_HDR_MIN_ALIGNMENT);
	h->kernel_alignment = rd32(img, LINUX_HDR_KERNEL_ALIGNMENT);
	h->init_size = rd32(img, LINUX_HDR_INIT_SIZE);
	h->initrd_addr_max = rd32(img, LINUX_HDR_INITRD_ADDR_MAX);
	h->cmdline_size = rd32(img, LINUX_HDR_CMDLINE_SIZE);
	h->code32_start = rd32(img, LINUX_HDR_CODE32_START);
	h->payload_offset = rd32(img, LINUX_HDR_PAYLOAD_OFFSET);
	h->payload_length = rd32(img, LINUX_HDR_PAYLOAD_LENGTH);
	h->pref_address = rd64(img, LINUX_HDR_PREF_ADDRESS);
}

int linux_parse_header(const u8 *img, u64 len, struct linux_header *h, char *err, size_t n)
{
	memset(h, 0, sizeof(*h));
	if (check_header_start(img, len, h, err, n))
		return -1;
	read_fields(img, h);
	if (!(h->loadflags & LINUX_LF_LOADED_HIGH))
		return fail(err, n, "a zImage (loadflags LOADED_HIGH clear): only bzImages load");
	if (len < h->setup_size)
		return fail(err, n, "truncated kernel image: %llu bytes, ends inside the %u setup "
			    "sectors (%llu bytes)", len, h->setup_sects, h->setup_size);
	if (h->pm_size == 0)
		return fail(err, n, "setup header: syssize 0, no protected-mode kernel");
	if (len - h->setup_size < h->pm_size)
		return fail(err, n, "truncated kernel image: %llu bytes, the protected-mode kernel "
			    "(syssize) needs %llu", len, h->setup_size + h->pm_size);
	if ((u64)h->payload_offset + h->payload_length > h->pm_size)
		return fail(err, n, "setup header: payload %#x+%#x runs past the protected-mode "
			    "kernel (%#llx bytes)", h->payload_offset, h->payload_length, h->pm_size);
	if (h->init_size < h->pm_size)
		return fail(err, n, "setup header: init_size %#x is smaller than the kernel "
			    "(%#llx bytes)", h->init_size, h->pm_size);
	if (h->relocatable && (h->kernel_alignment < PAGE_SIZE ||
			       (h->kernel_alignment & (h->kernel_alignment - 1))))
		return fail(err, n, "setup header: kernel_alignment %#x is not a power of two "
			    ">= 4 KiB", h->kernel_alignment);
	return 0;
}

/* ---- Placement over the memory map ---- */

static bool is_ram(const struct linux_e820_entry *e) { return e->type == MB2_MEM_AVAILABLE; }
static u64 entry_end(const struct linux_e820_entry *e) { return e->addr + e->size; }

static bool overlaps(u64 lo, u64 hi, u64 lo2, u64 hi2) { return lo < hi2 && lo2 < hi; }

/* [lo, hi) is RAM in the map (possibly over several entries) and in no non-RAM entry. */
static bool map_is_free_ram(const struct linux_boot_args *a, u64 lo, u64 hi)
{
	for (u32 i = 0; i < a->map_entries; i++)
		if (!is_ram(&a->map[i]) && overlaps(lo, hi, a->map[i].addr, entry_end(&a->map[i])))
			return false;
	for (u64 pos = lo; pos < hi;) {
		u64 next = pos;
		for (u32 i = 0; i < a->map_entries; i++)
			if (is_ram(&a->map[i]) && a->map[i].addr <= pos && entry_end(&a->map[i]) > next)
				next = entry_end(&a->map[i]);
		if (next == pos)
			return false;
		pos = next;
	}
	return true;
}

/* Where the loader may put the kernel or the initrd: above 1 MiB, inside RAM, free. */
static bool region_ok(const struct linux_boot_args *a, u64 ram_top, u64 lo, u64 size)
{
	return size && lo >= LINUX_LOW_END && lo + size > lo && lo + size <= ram_top &&
	       map_is_free_ram(a, lo, lo + size);
}

static int check_map(const struct linux_boot_args *a, u64 ram_size, char *err, size_t n)
{
	if (!a->map || a->map_entries == 0)
		return fail(err, n, "memory map: no entries");
	if (a->map_entries > LINUX_E820_MAX)
		return fail(err, n, "memory map: %u entries, the zero page holds %u",
			    a->map_entries, LINUX_E820_MAX);
	for (u32 i = 0; i < a->map_entries; i++) {
		const struct linux_e820_entry *e = &a->map[i];
		if (e->size == 0 || e->addr + e->size < e->addr || e->type == 0)
			return fail(err, n, "memory map: entry %u (%#llx, %#llx bytes, type %u) is "
				    "empty, wraps or has type 0", i, e->addr, e->size, e->type);
		if (is_ram(e) && entry_end(e) > ram_size)
			return fail(err, n, "memory map: RAM entry %u ends at %#llx, past guest RAM "
				    "(%#llx bytes)", i, entry_end(e), ram_size);
	}
	return 0;
}

/* "raise guest_mem= to at least N M": RAM up to end, rounded up to 2 MiB (guest RAM's unit). */
static u64 need_mib(u64 end) { return ALIGN_UP(end, 2 * MiB) / MiB; }

/*
 * boot.rst (init_size): a relocatable kernel runs from align_up(max(load, pref_address),
 * kernel_alignment), a non-relocatable one from pref_address; either needs init_size bytes
 * there. Loading at that runtime start lets the decompressor work in place. A relocatable
 * kernel whose preferred range is not free RAM goes to the lowest aligned spot above it that
 * is (candidates: the ends and starts of map entries, aligned up).
 */
static int place_kernel(const struct linux_boot_args *a, u64 ram_top, struct linux_boot_plan *p,
			char *err, size_t n)
{
	const struct linux_header *h = &p->hdr;
	u64 span = h->init_size;
	u64 pref = h->pref_address;
	if (span > ram_top)
		return fail(err, n, "the kernel needs %#x bytes (init_size), more than guest RAM "
			    "(%llu MiB): raise guest_mem=", h->init_size, ram_top / MiB);
	if (!h->relocatable || pref >= ram_top) {
		if (h->relocatable)
			return fail(err, n, "the kernel's pref_address %#llx is beyond guest RAM "
				    "(%llu MiB): raise guest_mem= to %lluM or more", pref,
				    ram_top / MiB, need_mib(pref + span));
		if (pref < LINUX_LOW_END)
			return fail(err, n, "the kernel is not relocatable and wants %#llx, inside "
				    "the loader's first MiB", pref);
		if (!region_ok(a, ram_top, pref, span))
			return fail(err, n, "the kernel is not relocatable and needs RAM %#llx-%#llx "
				    "(pref_address + init_size): raise guest_mem= to %lluM or more",
				    pref, pref + span, need_mib(pref + span));
		p->kernel_gpa = pref;
		return 0;
	}
	u64 align = h->kernel_alignment, best = ~0ULL;
	u64 first = ALIGN_UP(MAX(pref, (u64)LINUX_LOW_END), align);
	if (region_ok(a, ram_top, first, span))
		best = first;
	for (u32 i = 0; i < a->map_entries && best != first; i++) {
		u64 ends[2] = { a->map[i].addr, entry_end(&a->map[i]) };
		for (int k = 0; k < 2; k++) {
			u64 c = ALIGN_UP(ends[k], align);
			if (c >= first && c < best && c >= ends[k] && region_ok(a, ram_top, c, span))
				best = c;
		}
	}
	if (best == ~0ULL)
		return fail(err, n, "the kernel needs %#x bytes (init_size) of free RAM from %#llx "
			    "(pref_address): raise guest_mem= to %lluM or more", h->init_size,
			    first, need_mib(first + span));
	p->kernel_gpa = best;
	return 0;
}

/* The highest page-aligned free spot of size bytes below top, clear of the kernel; 0: none. */
static u64 highest_spot(const struct linux_boot_args *a, const struct linux_boot_plan *p,
			u64 top, u64 size)
{
	u64 best = 0, klo = p->kernel_gpa, khi = p->kernel_gpa + p->kernel_span;
	for (u32 i = 0; i <= 2 * a->map_entries + 1; i++) {
		u64 t = top;
		if (i < a->map_entries)
			t = MIN(top, entry_end(&a->map[i]));
		else if (i < 2 * a->map_entries)
			t = MIN(top, a->map[i - a->map_entries].addr);
		else if (i == 2 * a->map_entries)
			t = MIN(top, klo);
		if (t < size)
			continue;
		u64 lo = ALIGN_DOWN(t - size, PAGE_SIZE);
		if (lo > best && region_ok(a, top, lo, size) && !overlaps(lo, lo + size, klo, khi))
			best = lo;
	}
	return best;
}

/* boot.rst: the initrd as high as possible, its last byte at or below initrd_addr_max. */
static int place_initrd(const struct linux_boot_args *a, u64 ram_top, struct linux_boot_plan *p,
			char *err, size_t n)
{
	u64 size = a->initrd ? a->initrd_len : 0;
	if (size == 0)
		return 0;
	if (size > ram_top)
		return fail(err, n, "the initrd (%llu bytes) is larger than guest RAM (%llu bytes): "
			    "raise guest_mem=", size, ram_top);
	u64 limit = MIN(ram_top, (u64)p->hdr.initrd_addr_max + 1);
	u64 lo = highest_spot(a, p, limit, size);
	if (lo == 0 && limit < ram_top && highest_spot(a, p, ram_top, size))
		return fail(err, n, "the initrd (%llu bytes) does not fit below the kernel's "
			    "initrd_addr_max %#x", size, p->hdr.initrd_addr_max);
	if (lo == 0)
		return fail(err, n, "the initrd (%llu bytes) does not fit in the guest RAM the "
			    "kernel leaves free (init_size %#x at %#llx): raise guest_mem=", size,
			    p->hdr.init_size, p->kernel_gpa);
	p->initrd_gpa = lo;
	p->initrd_size = size;
	return 0;
}

static int plan_cmdline(const struct linux_boot_args *a, struct linux_boot_plan *p, char *err,
			size_t n)
{
	const char *cl = a->cmdline ? a->cmdline : "";
	u64 max = MIN((u64)p->hdr.cmdline_size, (u64)LINUX_CMDLINE_AREA - 1);
	u64 len = strnlen(cl, max + 1);
	if (len > max)
		return fail(err, n, "the kernel command line is longer than the %llu bytes the "
			    "kernel takes (cmdline_size %#x)", max, p->hdr.cmdline_size);
	p->cmdline_gpa = LINUX_CMDLINE_GPA;
	p->cmdline_len = len;
	return 0;
}

int linux_boot_plan(const struct linux_boot_args *a, u64 ram_size, struct linux_boot_plan *p,
		    char *err, size_t n)
{
	memset(p, 0, sizeof(*p));
	if (linux_parse_header(a->kernel, a->kernel_len, &p->hdr, err, n))
		return -1;
	const struct linux_header *h = &p->hdr;
	if (a->entry64 && !(h->xloadflags & LINUX_XLF_KERNEL_64))
		return fail(err, n, "the 64-bit entry was asked for, but xloadflags %#x lacks "
			    "XLF_KERNEL_64", h->xloadflags);
	if (ram_size < LINUX_LOW_END)
		return fail(err, n, "guest RAM (%llu bytes) is below the 1 MiB a Linux guest needs",
			    ram_size);
	if (plan_cmdline(a, p, err, n) || check_map(a, ram_size, err, n))
		return -1;
	u64 ram_top = MIN(ram_size, LINUX_4G);
	p->kernel_copy = h->pm_size;
	p->kernel_span = h->init_size;
	if (place_kernel(a, ram_top, p, err, n) || place_initrd(a, ram_top, p, err, n))
		return -1;
	p->entry64 = a->entry64;
	p->entry = p->kernel_gpa + (a->entry64 ? LINUX_ENTRY64_OFFSET : 0);
	p->boot_params_gpa = LINUX_BOOT_PARAMS_GPA;
	p->gdt_gpa = LINUX_GDT_GPA;
	p->gdt_limit = LINUX_GDT_LIMIT;
	p->code_sel = LINUX_BOOT_CS;
	p->data_sel = LINUX_BOOT_DS;
	p->e820_entries = a->map_entries;
	p->rsdp_passed = a->acpi_rsdp && h->version >= LINUX_VERSION_ACPI_RSDP;
	return 0;
}

/* ---- Writing ---- */

static void write_e820(u8 *bp, const struct linux_boot_args *a)
{
	wr8(bp, LINUX_BP_E820_ENTRIES, (u8)a->map_entries);
	for (u32 i = 0; i < a->map_entries; i++) {
		u64 off = LINUX_BP_E820_TABLE + (u64)i * LINUX_E820_ENTRY_SIZE;
		wr64(bp, off, a->map[i].addr);
		wr64(bp, off + 8, a->map[i].size);
		wr32(bp, off + 16, a->map[i].type);
	}
}

/*
 * boot.rst "64-bit boot protocol" (and the 32-bit one): a zeroed boot_params with the image's
 * setup header at 0x1f1, then the fields a loader writes. Loader choices (docs/linux.md):
 * type_of_loader 0xff (no assigned id); loadflags keep the kernel's LOADED_HIGH and clear
 * QUIET, KEEP_SEGMENTS (obsolete; we give a GDT with __BOOT_CS/__BOOT_DS, so reloading is
 * right) and CAN_USE_HEAP with heap_end_ptr 0 (the heap is the real-mode setup code's, which
 * the 32-bit entry skips); no setup_data.
 */
static void write_boot_params(const struct linux_boot_args *a, const struct linux_boot_plan *p,
			      u8 *bp)
{
	const struct linux_header *h = &p->hdr;
	memset(bp, 0, LINUX_BP_SIZE);
	memcpy(bp + LINUX_BP_HDR, a->kernel + LINUX_BP_HDR, h->hdr_end - LINUX_BP_HDR);
	wr16(bp, LINUX_HDR_VID_MODE, LINUX_VID_MODE_NORMAL);
	wr8(bp, LINUX_HDR_TYPE_OF_LOADER, LINUX_LOADER_ID_UNDEFINED);
	wr8(bp, LINUX_HDR_LOADFLAGS, (u8)(h->loadflags & ~(LINUX_LF_QUIET | LINUX_LF_KEEP_SEGMENTS |
							 LINUX_LF_CAN_USE_HEAP)));
	wr32(bp, LINUX_HDR_CODE32_START, (u32)p->kernel_gpa);
	wr32(bp, LINUX_HDR_RAMDISK_IMAGE, (u32)p->initrd_gpa);
	wr32(bp, LINUX_HDR_RAMDISK_SIZE, (u32)p->initrd_size);
	wr32(bp, LINUX_BP_EXT_RAMDISK_IMAGE, (u32)(p->initrd_gpa >> 32));
	wr32(bp, LINUX_BP_EXT_RAMDISK_SIZE, (u32)(p->initrd_size >> 32));
	wr16(bp, LINUX_HDR_HEAP_END_PTR, 0);
	wr8(bp, LINUX_HDR_EXT_LOADER_VER, 0);
	wr8(bp, LINUX_HDR_EXT_LOADER_TYPE, 0);
	wr32(bp, LINUX_HDR_CMD_LINE_PTR, (u32)p->cmdline_gpa);
	wr32(bp, LINUX_BP_EXT_CMD_LINE_PTR, (u32)(p->cmdline_gpa >> 32));
	wr64(bp, LINUX_HDR_SETUP_DATA, 0);
	if (p->rsdp_passed)
		wr64(bp, LINUX_BP_ACPI_RSDP_ADDR, a->acpi_rsdp);
	write_e820(bp, a);
}

void linux_boot_write(const struct linux_boot_args *a, const struct linux_boot_plan *p, u8 *ram,
		      u64 ram_size)
{
	/* null, null, __BOOT_CS (0x10) flat code32 RX, __BOOT_DS (0x18) flat data RW */
	static const u64 gdt[4] = { 0, 0, 0x00cf9a000000ffffULL, 0x00cf92000000ffffULL };
	(void)ram_size; /* the plan was checked against it */
	memcpy(ram + p->gdt_gpa, gdt, sizeof(gdt));
	write_boot_params(a, p, ram + p->boot_params_gpa);
	if (p->cmdline_len)
		memcpy(ram + p->cmdline_gpa, a->cmdline, p->cmdline_len);
	ram[p->cmdline_gpa + p->cmdline_len] = 0;
	memcpy(ram + p->kernel_gpa, a->kernel + p->hdr.setup_size, p->kernel_copy);
	if (p->initrd_size)
		memcpy(ram + p->initrd_gpa, a->initrd, p->initrd_size);
}

int linux_boot_load(const struct linux_boot_args *a, u8 *ram, u64 ram_size,
		    struct linux_boot_plan *p, char *err, size_t errlen)
{
	if (linux_boot_plan(a, ram_size, p, err, errlen))
		return -1;
	linux_boot_write(a, p, ram, ram_size);
	return 0;
}

int linux_boot_start(const struct linux_boot_plan *p, struct guest_start *s)
{
	if (p->entry64 || p->entry > 0xffffffffULL || p->boot_params_gpa > 0xffffffffULL ||
	    p->gdt_gpa > 0xffffffffULL)
		return -1;
	*s = (struct guest_start){ .eip = (u32)p->entry, .gdt_base = (u32)p->gdt_gpa,
				   .gdt_limit = p->gdt_limit, .code_sel = p->code_sel,
				   .data_sel = p->data_sel, .esi = (u32)p->boot_params_gpa };
	return 0;
}
