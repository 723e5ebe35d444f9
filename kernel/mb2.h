/* mb2.h - bounds-checked parser for the multiboot2 boot information (pure, host-tested). */
#ifndef KERNEL_MB2_H
#define KERNEL_MB2_H

#include "arch/types.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289
#define MB2_MAX_MMAP 128
#define MB2_MAX_MODULES 8
#define MB2_INFO_MAX_SIZE (1 * MiB) /* a larger total_size is treated as corrupt */

/* Memory-map types, multiboot2 spec 3.6.8 (EFI maps are converted to these). */
#define MB2_MEM_AVAILABLE 1
#define MB2_MEM_RESERVED 2
#define MB2_MEM_ACPI_RECLAIMABLE 3
#define MB2_MEM_NVS 4
#define MB2_MEM_BADRAM 5

struct mb2_region {
	u64 base, len;
	u32 type;
};

/* Framebuffer types of the framebuffer info tag (type 8), multiboot2 spec 3.6.12. */
#define MB2_FB_INDEXED 0
#define MB2_FB_RGB 1
#define MB2_FB_EGA_TEXT 2
/* The tag: u64 address, u32 pitch, width, height, u8 bpp, u8 type, u16 reserved (GRUB's
 * layout; the spec's text says u8), then the colour info: for MB2_FB_RGB, position and size
 * of red, green and blue, one byte each. */
#define MB2_FB_TAG_MIN_SIZE 32
#define MB2_FB_RGB_TAG_MIN_SIZE 38

/* What the loader set the screen to (present: the tag was given and long enough). width and
 * height are pixels, or characters for MB2_FB_EGA_TEXT; pitch is bytes per line. */
struct mb2_framebuffer {
	bool present;
	u64 addr; /* physical */
	u32 pitch, width, height;
	u8 bpp, type;
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size; /* MB2_FB_RGB only */
};

struct mb2_module {
	u64 start, end;      /* physical [start, end) */
	const char *cmdline; /* NUL-terminated inside the info block */
};

struct mb2_info {
	const char *cmdline;      /* "" when absent */
	const char *loader_name;  /* "" when absent */
	struct mb2_region mmap[MB2_MAX_MMAP];
	int n_mmap;
	bool mmap_from_efi;       /* no BIOS map: taken from the EFI memory map tag */
	struct mb2_module mods[MB2_MAX_MODULES];
	int n_mods;
	u64 rsdp;                 /* address of the RSDP copy inside the info block, or 0 */
	bool has_meminfo;
	u32 mem_lower_kb, mem_upper_kb;
	struct mb2_framebuffer fb; /* the screen GRUB set up (boot/header.S asks for one) */
	u64 info_phys, info_size; /* the block itself, to keep it out of the page allocator */
};

/*
 * Parses the block at info (physical address info_phys, as handed over in EBX) after checking
 * magic (EAX). Every tag is checked against the block's total size, every string for a NUL
 * inside its tag. Returns 0, or -1 with a one-line reason in err.
 */
int mb2_parse(u32 magic, const void *info, u64 info_phys, struct mb2_info *out, char *err,
	      size_t errlen);

/* Name of a memory-map type for the boot log. */
const char *mb2_mem_type_name(u32 type);

#endif
