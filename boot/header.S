/* header.S - the multiboot2 header: must sit in the first 32 KiB, in an allocatable section. */
#include "boot/link.h"
#ifndef HV_LOAD_MIN
#define HV_LOAD_MIN HV_LINK_BASE /* the Makefile's hv-moved.elf sets 16 MiB */
#endif
#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0

	.section .multiboot, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

	/* Information request: cmdline(1), modules(3), basic meminfo(4), mmap(6),
	 * framebuffer(8), ACPI old(14) and new(15) RSDP, EFI mmap(17). Optional flag set: GRUB
	 * may omit any. */
	.balign 8
info_req:
	.short 1, 1
	.long info_req_end - info_req
	.long 1, 3, 4, 6, 8, 14, 15, 17
info_req_end:

	/* Framebuffer (type 5), optional: a linear framebuffer for the screen console
	 * (drivers/screen.c), 1024x768 at 32 bpp preferred (GOP under UEFI, VBE under BIOS);
	 * GRUB falls back to another mode, or to EGA text, or to none. */
	.balign 8
	.short 5, 1
	.long 20
	.long 1024, 768, 32

	/* Modules page-aligned so the guest image can be read in place. */
	.balign 8
	.short 6, 0
	.long 8

	/* Relocatable (type 10): GRUB may load the image anywhere in [2 MiB, 3 GiB) on a 4 KiB
	 * boundary, as low as it can: at 2 MiB, the link address, whenever that range is free,
	 * elsewhere when the firmware holds it (UEFI). The entry code runs where it is put
	 * (boot/entry.S); the end stays below 4 GiB, which the boot page tables map. */
	.balign 8
	.short 10, 0
	.long 24
	.long HV_LOAD_MIN               /* min_addr */
	.long 0xc0000000                /* max_addr */
	.long 0x1000                    /* align */
	.long 1                         /* preference: low */

	/* End tag. */
	.balign 8
	.short 0, 0
	.long 8
mb2_header_end:
