/* link.h - where the image is linked: the one definition that linker.ld (run through the C
 * preprocessor), the multiboot2 header and the entry code share. GRUB loads the image there
 * when that range is free, elsewhere otherwise (boot/header.S's relocatable tag). */
#ifndef BOOT_LINK_H
#define BOOT_LINK_H

#define HV_LINK_BASE 0x200000 /* 2 MiB */

#endif
