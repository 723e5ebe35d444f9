/* guest_load.c - multiboot v1 kernel loader and boot-information builder. */
#include "kernel/guest_load.h"
#include "kernel/fmt.h"
#include "kernel/lib.h"

#define MB1_FLAG_AOUT_KLUDGE BIT(16)
#define MB1_REQUIRED_KNOWN 0x7u /* bits 0-2: page-align modules, memory info, video mode */

#define PT_LOAD 1

struct mb1_header {
	u32 magic, flags, checksum;
	u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

static int fail(char *err, size_t n, const char *fmt, u64 a, u64 b)
{
	fmt_snprintf(err, n, fmt, a, b);
	return -1;
}

static u32 rd32(const u8 *p) { u32 v; memcpy(&v, p, 4); return v; }
static u16 rd16(const u8 *p) { u16 v; memcpy(&v, p, 2); return v; }
static u64 rd64(const u8 *p) { u64 v; memcpy(&v, p, 8); return v; }

/* Returns the header's offset in img, or -1. */
static s64 find_header(const u8 *img, u64 len, struct mb1_header *h)
{
	for (u64 off = 0; off + 12 <= MIN(len, (u64)MB1_SEARCH_LIMIT); off += 4) {
		if (rd32(img + off) != MB1_HEADER_MAGIC)
			continue;
		memset(h, 0, sizeof(*h));
		memcpy(h, img + off, MIN(sizeof(*h), len - off));
		if ((u32)(h->magic + h->flags + h->checksum) == 0)
			return (s64)off;
	}
	return -1;
}

/* Checks that [gpa, gpa+memsz) fits in RAM and stays clear of the loader's own area. */
static int check_range(u64 gpa, u64 memsz, u64 ram_size, char *err, size_t n)
{
	if (memsz == 0)
		return 0;
	if (gpa + memsz < gpa || gpa + memsz > ram_size)
		return fail(err, n, "segment at %#llx (%llu bytes) does not fit in guest RAM "
			    "(raise guest_mem=)", gpa, memsz);
	if (gpa < GUEST_BOOT_AREA_END && gpa + memsz > GUEST_BOOT_AREA_START)
		return fail(err, n, "segment at %#llx overlaps the boot area below %#llx",
			    gpa, GUEST_BOOT_AREA_END);
	if (gpa < GUEST_BIOS_AREA_END && gpa + memsz > GUEST_BIOS_AREA_START)
		return fail(err, n, "segment at %#llx overlaps the BIOS area (ACPI tables) from "
			    "%#llx to 1 MiB", gpa, GUEST_BIOS_AREA_START);
	return 0;
}

static void note_range(struct guest_image *o, u64 lo, u64 hi)
{
	if (hi <= lo)
		return;
	if (o->load_hi == 0 || lo < o->load_lo)
		o->load_lo = lo;
	o->load_hi = MAX(o->load_hi, hi);
}

static int load_segment(const u8 *img, u64 len, u8 *ram, u64 ram_size, u64 off, u64 filesz,
			u64 gpa, u64 memsz, struct guest_image *o, char *err, size_t n)
{
	if (filesz > memsz)
		return fail(err, n, "ELF segment file size %llu exceeds memory size %llu",
			    filesz, memsz);
	if (off > len || filesz > len - off)
		return fail(err, n, "truncated image: segment needs bytes up to %llu, file "
			    "has %llu", off + filesz, len);
	if (check_range(gpa, memsz, ram_size, err, n))
		return -1;
	if (memsz == 0)
		return 0; /* nothing to place (and gpa may be anywhere) */
	memcpy(ram + gpa, img + off, filesz);
	memset(ram + gpa + filesz, 0, memsz - filesz);
	note_range(o, gpa, gpa + memsz);
	return 0;
}

static int load_elf(const u8 *img, u64 len, u8 *ram, u64 ram_size, struct guest_image *o,
		    char *err, size_t n)
{
	bool is64 = img[4] == 2;
	if ((img[4] != 1 && img[4] != 2) || img[5] != 1)
		return fail(err, n, "ELF class %llu / data %llu not supported (need "
			    "little-endian ELF32 or ELF64)", img[4], img[5]);
	u64 ehsize = is64 ? 64 : 52;
	if (len < ehsize)
		return fail(err, n, "truncated ELF header (%llu bytes)", len, 0);
	u16 machine = rd16(img + 18);
	if (machine != 3 && machine != 62)
		return fail(err, n, "ELF machine %llu is not x86", machine, 0);
	u64 entry = is64 ? rd64(img + 24) : rd32(img + 24);
	u64 phoff = is64 ? rd64(img + 32) : rd32(img + 28);
	u16 phentsize = rd16(img + (is64 ? 54 : 42));
	u16 phnum = rd16(img + (is64 ? 56 : 44));
	if (phentsize < (is64 ? 56 : 32) || phoff > len || (u64)phnum * phentsize > len - phoff)
		return fail(err, n, "ELF program headers out of the file (offset %llu, "
			    "count %llu)", phoff, phnum);
	if (entry > 0xffffffffULL)
		return fail(err, n, "entry point %#llx is above 4 GiB", entry, 0);
	int loaded = 0;
	for (u16 i = 0; i < phnum; i++) {
		const u8 *ph = img + phoff + (u64)i * phentsize;
		if (rd32(ph) != PT_LOAD)
			continue;
		u64 off = is64 ? rd64(ph + 8) : rd32(ph + 4);
		u64 paddr = is64 ? rd64(ph + 24) : rd32(ph + 12);
		u64 filesz = is64 ? rd64(ph + 32) : rd32(ph + 16);
		u64 memsz = is64 ? rd64(ph + 40) : rd32(ph + 20);
		if (load_segment(img, len, ram, ram_size, off, filesz, paddr, memsz, o, err, n))
			return -1;
		loaded++;
	}
	if (!loaded)
		return fail(err, n, "ELF has no loadable segment", 0, 0);
	if (entry >= ram_size)
		return fail(err, n, "entry point %#llx is outside guest RAM (%llu bytes)", entry,
			    ram_size);
	o->entry = (u32)entry;
	o->format = is64 ? "elf64" : "elf32";
	return 0;
}

/* Flag 16: the header's address fields say where the file goes (multiboot spec 3.1.3). */
static int load_aout(const u8 *img, u64 len, u8 *ram, u64 ram_size, const struct mb1_header *h,
		     u64 hoff, struct guest_image *o, char *err, size_t n)
{
	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > hoff)
		return fail(err, n, "multiboot load_addr %#llx inconsistent with header_addr "
			    "%#llx", h->load_addr, h->header_addr);
	u64 file_off = hoff - (h->header_addr - h->load_addr);
	u64 end = h->load_end_addr ? h->load_end_addr : h->load_addr + (len - file_off);
	if (end < h->load_addr)
		return fail(err, n, "multiboot load_end_addr %#llx below load_addr %#llx",
			    end, h->load_addr);
	u64 filesz = end - h->load_addr;
	u64 memsz = h->bss_end_addr > end ? h->bss_end_addr - h->load_addr : filesz;
	if (load_segment(img, len, ram, ram_size, file_off, filesz, h->load_addr, memsz, o, err, n))
		return -1;
	if (h->entry_addr < h->load_addr || h->entry_addr >= h->load_addr + memsz)
		return fail(err, n, "entry %#llx is outside the loaded image", h->entry_addr, 0);
	o->entry = h->entry_addr;
	o->format = "a.out kludge";
	return 0;
}

int guest_load_mb1(const u8 *img, u64 len, u8 *ram, u64 ram_size, struct guest_image *out,
		   char *err, size_t errlen)
{
	struct mb1_header h;
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return fail(err, errlen, "the module is empty", 0, 0);
	s64 hoff = find_header(img, len, &h);
	if (hoff < 0)
		return fail(err, errlen, "no multiboot (v1) header in the first %llu bytes of "
			    "the module (%llu bytes): not a multiboot kernel", MB1_SEARCH_LIMIT, len);
	u32 unknown = h.flags & 0xffff & ~MB1_REQUIRED_KNOWN;
	if (unknown)
		return fail(err, errlen, "multiboot header requires unsupported features "
			    "(flags %#llx)", unknown, 0);
	if ((h.flags & MB1_FLAG_AOUT_KLUDGE) && (u64)hoff + 32 > len)
		return fail(err, errlen, "truncated multiboot header", 0, 0);
	out->mb_flags = h.flags;
	if (h.flags & MB1_FLAG_AOUT_KLUDGE)
		return load_aout(img, len, ram, ram_size, &h, (u64)hoff, out, err, errlen);
	if (len < 16 || memcmp(img, "\x7f" "ELF", 4))
		return fail(err, errlen, "not an ELF file and no multiboot address fields "
			    "(flag 16)", 0, 0);
	return load_elf(img, len, ram, ram_size, out, err, errlen);
}

struct __packed mb1_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr, config_table, boot_loader_name;
};

struct __packed mb1_mmap {
	u32 size;
	u64 addr, len;
	u32 type;
};

#define MBI_MEMORY BIT(0)
#define MBI_CMDLINE BIT(2)
#define MBI_MMAP BIT(6)
#define MBI_LOADER_NAME BIT(9)

u32 guest_build_mbi(u8 *ram, u64 ram_size, const char *cmdline, const char *loader_name)
{
	static const u64 gdt[3] = { 0, 0x00cf9a000000ffffULL, 0x00cf92000000ffffULL };
	const struct mb1_mmap map[] = {
		{ 20, 0, 0x9fc00, 1 },
		{ 20, 0x9fc00, 0x400, 2 },
		{ 20, GUEST_BIOS_AREA_START, GUEST_BIOS_AREA_END - GUEST_BIOS_AREA_START, 2 },
		{ 20, 0x100000, ram_size - 0x100000, 1 },
	};
	struct mb1_info mbi = {
		.flags = (u32)(MBI_MEMORY | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME),
		.mem_lower = 639,
		.mem_upper = (u32)((ram_size - 0x100000) / 1024),
		.cmdline = GUEST_CMDLINE_GPA,
		.mmap_length = sizeof(map),
		.mmap_addr = GUEST_MMAP_GPA,
		.boot_loader_name = GUEST_LOADER_NAME_GPA,
	};
	size_t cl = strnlen(cmdline, GUEST_CMDLINE_MAX - 1);
	memcpy(ram + GUEST_GDT_GPA, gdt, sizeof(gdt));
	memcpy(ram + GUEST_MBI_GPA, &mbi, sizeof(mbi));
	memcpy(ram + GUEST_MMAP_GPA, map, sizeof(map));
	memcpy(ram + GUEST_CMDLINE_GPA, cmdline, cl);
	ram[GUEST_CMDLINE_GPA + cl] = 0;
	size_t ln = strnlen(loader_name, 63);
	memcpy(ram + GUEST_LOADER_NAME_GPA, loader_name, ln);
	ram[GUEST_LOADER_NAME_GPA + ln] = 0;
	return GUEST_MBI_GPA;
}

void guest_start_mb1(u32 entry, u32 mbi, struct guest_start *s)
{
	*s = (struct guest_start){ .eip = entry, .gdt_base = GUEST_GDT_GPA, .gdt_limit = 3 * 8 - 1,
				   .code_sel = GUEST_CODE_SEL, .data_sel = GUEST_DATA_SEL,
				   .eax = MB1_BOOT_MAGIC, .ebx = mbi };
}
