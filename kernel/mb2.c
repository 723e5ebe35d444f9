/* mb2.c - multiboot2 boot-information parser: trusts nothing it reads. */
#include "kernel/mb2.h"
#include "kernel/fmt.h"
#include "kernel/lib.h"

#define TAG_END 0
#define TAG_CMDLINE 1
#define TAG_LOADER_NAME 2
#define TAG_MODULE 3
#define TAG_MEMINFO 4
#define TAG_MMAP 6
#define TAG_FRAMEBUFFER 8
#define TAG_ACPI_OLD 14
#define TAG_ACPI_NEW 15
#define TAG_EFI_MMAP 17

/* EFI memory types (UEFI spec 7.2) that are free once boot services have exited. */
#define EFI_LOADER_CODE 1
#define EFI_LOADER_DATA 2
#define EFI_BS_CODE 3
#define EFI_BS_DATA 4
#define EFI_CONVENTIONAL 7
#define EFI_ACPI_RECLAIM 9
#define EFI_ACPI_NVS 10

struct tag {
	u32 type, size;
};

static int fail(char *err, size_t n, const char *fmt, u32 a, u32 b)
{
	fmt_snprintf(err, n, fmt, a, b);
	return -1;
}

static const char *tag_string(const u8 *payload, u32 len)
{
	if (len == 0 || strnlen((const char *)payload, len) == len)
		return NULL;
	return (const char *)payload;
}

static u32 rd32(const u8 *p)
{
	u32 v;
	memcpy(&v, p, 4);
	return v;
}

static u64 rd64(const u8 *p)
{
	u64 v;
	memcpy(&v, p, 8);
	return v;
}

static int add_region(struct mb2_info *o, u64 base, u64 len, u32 type)
{
	if (o->n_mmap >= MB2_MAX_MMAP)
		return -1;
	o->mmap[o->n_mmap++] = (struct mb2_region){ base, len, type };
	return 0;
}

static int parse_mmap(struct mb2_info *o, const u8 *p, u32 size, char *err, size_t n)
{
	if (size < 16)
		return fail(err, n, "multiboot2: memory-map tag too short (%u bytes)", size, 0);
	u32 esize = rd32(p + 8);
	if (esize < 24 || esize % 8)
		return fail(err, n, "multiboot2: memory-map entry size %u is invalid", esize, 0);
	o->n_mmap = 0;
	for (u64 off = 16; off + esize <= size; off += esize)
		if (add_region(o, rd64(p + off), rd64(p + off + 8), rd32(p + off + 16)))
			return fail(err, n, "multiboot2: more than %u memory-map entries", MB2_MAX_MMAP, 0);
	o->mmap_from_efi = false;
	return 0;
}

static u32 efi_to_mb2_type(u32 t)
{
	switch (t) {
	case EFI_LOADER_CODE: case EFI_LOADER_DATA: case EFI_BS_CODE: case EFI_BS_DATA:
	case EFI_CONVENTIONAL:
		return MB2_MEM_AVAILABLE;
	case EFI_ACPI_RECLAIM:
		return MB2_MEM_ACPI_RECLAIMABLE;
	case EFI_ACPI_NVS:
		return MB2_MEM_NVS;
	default:
		return MB2_MEM_RESERVED;
	}
}

static int parse_efi_mmap(struct mb2_info *o, const u8 *p, u32 size, char *err, size_t n)
{
	if (size < 16)
		return fail(err, n, "multiboot2: EFI memory-map tag too short (%u bytes)", size, 0);
	u32 dsize = rd32(p + 8);
	if (dsize < 40 || dsize % 8)
		return fail(err, n, "multiboot2: EFI descriptor size %u is invalid", dsize, 0);
	if (o->n_mmap && !o->mmap_from_efi)
		return 0; /* the BIOS-style map wins when both are given */
	o->n_mmap = 0;
	for (u64 off = 16; off + dsize <= size; off += dsize) {
		u64 pages = rd64(p + off + 24);
		if (pages > (~0ULL >> PAGE_SHIFT))
			return fail(err, n, "multiboot2: EFI descriptor %u has absurd size", (u32)(off / dsize), 0);
		if (add_region(o, rd64(p + off + 8), pages << PAGE_SHIFT, efi_to_mb2_type(rd32(p + off))))
			return fail(err, n, "multiboot2: more than %u memory-map entries", MB2_MAX_MMAP, 0);
	}
	o->mmap_from_efi = true;
	return 0;
}

static int parse_module(struct mb2_info *o, const u8 *p, u32 size, char *err, size_t n)
{
	if (size < 17)
		return fail(err, n, "multiboot2: module tag too short (%u bytes)", size, 0);
	u32 start = rd32(p + 8), end = rd32(p + 12);
	if (end < start)
		return fail(err, n, "multiboot2: module ends (%#x) before it starts (%#x)", end, start);
	if (o->n_mods >= MB2_MAX_MODULES)
		return fail(err, n, "multiboot2: more than %u modules", MB2_MAX_MODULES, 0);
	const char *cl = tag_string(p + 16, size - 16);
	if (!cl)
		return fail(err, n, "multiboot2: module %u command line is not terminated", o->n_mods, 0);
	o->mods[o->n_mods++] = (struct mb2_module){ start, end, cl };
	return 0;
}

/* The framebuffer tag: only its layout is checked here; whether the screen is usable (its
 * format, its place in the host's map) is the screen console's decision (drivers/fbcon.c). */
static int parse_framebuffer(struct mb2_info *o, const u8 *p, u32 size, char *err, size_t n)
{
	struct mb2_framebuffer *fb = &o->fb;
	if (size < MB2_FB_TAG_MIN_SIZE)
		return fail(err, n, "multiboot2: framebuffer tag too short (%u bytes)", size, 0);
	*fb = (struct mb2_framebuffer){
		.present = true, .addr = rd64(p + 8), .pitch = rd32(p + 16), .width = rd32(p + 20),
		.height = rd32(p + 24), .bpp = p[28], .type = p[29],
	};
	if (fb->type == MB2_FB_RGB) {
		if (size < MB2_FB_RGB_TAG_MIN_SIZE)
			return fail(err, n, "multiboot2: RGB framebuffer tag too short (%u bytes)", size, 0);
		fb->red_pos = p[32], fb->red_size = p[33];
		fb->green_pos = p[34], fb->green_size = p[35];
		fb->blue_pos = p[36], fb->blue_size = p[37];
	}
	return 0;
}

static int parse_tag(struct mb2_info *o, const u8 *base, const u8 *p, u32 type, u32 size,
		     char *err, size_t n)
{
	const char *s;
	switch (type) {
	case TAG_CMDLINE:
	case TAG_LOADER_NAME:
		s = tag_string(p + 8, size - 8);
		if (!s)
			return fail(err, n, "multiboot2: tag %u string is not terminated", type, 0);
		if (type == TAG_CMDLINE)
			o->cmdline = s;
		else
			o->loader_name = s;
		return 0;
	case TAG_MODULE:
		return parse_module(o, p, size, err, n);
	case TAG_MEMINFO:
		if (size < 16)
			return fail(err, n, "multiboot2: meminfo tag too short (%u bytes)", size, 0);
		o->has_meminfo = true;
		o->mem_lower_kb = rd32(p + 8);
		o->mem_upper_kb = rd32(p + 12);
		return 0;
	case TAG_MMAP:
		return parse_mmap(o, p, size, err, n);
	case TAG_EFI_MMAP:
		return parse_efi_mmap(o, p, size, err, n);
	case TAG_FRAMEBUFFER:
		return parse_framebuffer(o, p, size, err, n);
	case TAG_ACPI_OLD:
	case TAG_ACPI_NEW:
		if (size < 8 + 20)
			return fail(err, n, "multiboot2: ACPI tag too short (%u bytes)", size, 0);
		if (!o->rsdp || type == TAG_ACPI_NEW)
			o->rsdp = o->info_phys + (u64)(p + 8 - base);
		return 0;
	default:
		return 0; /* unknown tags are skipped, as the spec requires */
	}
}

int mb2_parse(u32 magic, const void *info, u64 info_phys, struct mb2_info *out, char *err,
	      size_t errlen)
{
	const u8 *base = info;
	memset(out, 0, sizeof(*out));
	out->cmdline = "";
	out->loader_name = "";
	if (magic != MB2_BOOTLOADER_MAGIC)
		return fail(err, errlen, "not booted by a multiboot2 loader: magic %#x, expected %#x",
			    magic, MB2_BOOTLOADER_MAGIC);
	if (!info)
		return fail(err, errlen, "multiboot2: no info block (EBX=0)", 0, 0);
	if (info_phys & 7)
		return fail(err, errlen, "multiboot2: info block at %#x is not 8-byte aligned",
			    (u32)info_phys, 0);
	u32 total = rd32(base);
	if (total < 16 || total > MB2_INFO_MAX_SIZE || (total & 7))
		return fail(err, errlen, "multiboot2: info block total size %u is invalid", total, 0);
	out->info_phys = info_phys;
	out->info_size = total;
	for (u32 off = 8;;) {
		if (off + 8 > total)
			return fail(err, errlen, "multiboot2: tag list runs past the block end (%u > %u)",
				    off + 8, total);
		struct tag t;
		memcpy(&t, base + off, sizeof(t));
		if (t.type == TAG_END)
			return t.size == 8 ? 0 : fail(err, errlen, "multiboot2: end tag has size %u", t.size, 0);
		if (t.size < 8 || t.size > total - off)
			return fail(err, errlen, "multiboot2: tag type %u has bad size %u", t.type, t.size);
		if (parse_tag(out, base, base + off, t.type, t.size, err, errlen))
			return -1;
		off += (u32)ALIGN_UP(t.size, 8);
	}
}

const char *mb2_mem_type_name(u32 type)
{
	switch (type) {
	case MB2_MEM_AVAILABLE: return "available";
	case MB2_MEM_RESERVED: return "reserved";
	case MB2_MEM_ACPI_RECLAIMABLE: return "ACPI reclaimable";
	case MB2_MEM_NVS: return "ACPI NVS";
	case MB2_MEM_BADRAM: return "bad RAM";
	default: return "unknown";
	}
}
