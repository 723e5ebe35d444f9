/* guest_load.h - loading a multiboot (v1) kernel into guest RAM, as a multiboot loader does.
 * Pure: works on byte buffers, host-tested in tests/unit/test_guest_load.c. */
#ifndef KERNEL_GUEST_LOAD_H
#define KERNEL_GUEST_LOAD_H

#include "arch/types.h"
#include "kernel/guest_start.h"

#define MB1_HEADER_MAGIC 0x1badb002
#define MB1_BOOT_MAGIC 0x2badb002
#define MB1_SEARCH_LIMIT 8192

/* Guest-physical layout of what the loader builds below 1 MiB (docs/boot.md). */
#define GUEST_GDT_GPA 0x1000     /* null, 0x08 flat code32, 0x10 flat data */
#define GUEST_MBI_GPA 0x2000     /* multiboot info, then the memory map */
#define GUEST_MMAP_GPA 0x2100
#define GUEST_CMDLINE_GPA 0x2400 /* up to GUEST_CMDLINE_MAX bytes */
#define GUEST_CMDLINE_MAX 1024
#define GUEST_LOADER_NAME_GPA 0x2800
#define GUEST_BOOT_AREA_START 0x1000
#define GUEST_BOOT_AREA_END 0x3000
/* The BIOS area: reserved in the memory map, holds the hypervisor's ACPI tables (hv/hv.c); no
 * segment may be loaded there (a multiboot loader on a PC cannot load into firmware either). */
#define GUEST_BIOS_AREA_START 0xf0000
#define GUEST_BIOS_AREA_END 0x100000
#define GUEST_CODE_SEL 0x08
#define GUEST_DATA_SEL 0x10

struct guest_image {
	u32 entry;          /* EIP at start */
	u64 load_lo, load_hi; /* guest-physical range written (incl. bss) */
	const char *format; /* "elf32", "elf64" or "a.out kludge" */
	u32 mb_flags;
};

/*
 * Checks the multiboot header (first 8 KiB, 4-byte aligned, checksum, no unknown required
 * flag) and copies the image into ram (guest physical 0 .. ram_size): ELF32/ELF64 PT_LOAD
 * segments by physical address with bss zeroed, or the header's address fields (flag 16).
 * Refuses anything that is truncated, overlaps the loader's own area, or does not fit.
 * Returns 0, or -1 with a one-line reason in err.
 */
int guest_load_mb1(const u8 *img, u64 len, u8 *ram, u64 ram_size, struct guest_image *out,
		   char *err, size_t errlen);

/* Writes the GDT, the multiboot info (memory, cmdline, mmap, loader name) into ram and
 * returns the info block's guest-physical address (for EBX). */
u32 guest_build_mbi(u8 *ram, u64 ram_size, const char *cmdline, const char *loader_name);

/* The multiboot machine state (multiboot spec 3.2): EIP = entry, EAX = MB1_BOOT_MAGIC,
 * EBX = mbi, CS = GUEST_CODE_SEL, the others GUEST_DATA_SEL, GDT at GUEST_GDT_GPA (3 entries). */
void guest_start_mb1(u32 entry, u32 mbi, struct guest_start *s);

#endif
