/* fwcfg.h - QEMU's firmware configuration device (fw_cfg), legacy port interface: selector
 * 0x510, data 0x511 (QEMU docs/specs/fw_cfg.rst).
 *
 * Interface (as QEMU's x86 "combined" port pair):
 *  - A 16-bit write to 0x510 (or 0x511) selects an item and rewinds its offset to 0. Bit 14
 *    (write channel) is ignored, bit 15 selects the x86-specific items.
 *  - An 8-bit read of 0x511 (or 0x510) returns the next byte of the selected item; past its end,
 *    and for any item not listed below, it returns 0.
 *  - 8-bit writes (data writes, ignored by QEMU since 2.4) and 32-bit writes are ignored; 16- and
 *    32-bit reads return all ones (QEMU rejects them).
 *  - The DMA interface (0x514-0x51b) is not provided: FW_CFG_ID has only bit 0 (traditional
 *    interface), the DMA ports are unclaimed and read all ones, not "QEMU CFG".
 * Items (all little-endian unless noted):
 *   0x0000 FW_CFG_SIGNATURE  "QEMU"
 *   0x0001 FW_CFG_ID         u32 1
 *   0x0003 FW_CFG_RAM_SIZE   u64 guest RAM in bytes
 *   0x0004 FW_CFG_NOGRAPHIC  u16 1 (the hypervisor has no display; QEMU says 1 with -nographic)
 *   0x0005 FW_CFG_NB_CPUS    u16 1
 *   0x000f FW_CFG_MAX_CPUS   u16 1
 *   0x0019 FW_CFG_FILE_DIR   u32 big-endian 0: no files (no etc/e820, ACPI, SMBIOS, ...)
 *   0x8002 FW_CFG_IRQ0_OVERRIDE u32 1 (the PIT's IRQ 0 is I/O APIC pin 2, as QEMU)
 * QEMU has more (UUID, boot menu, NUMA, kernel/initrd for -kernel, ACPI and SMBIOS tables, e820,
 * HPET, files); they read as zeros here.
 * Reset: item 0x0000 selected, offset 0.
 */
#ifndef DEVICES_FWCFG_H
#define DEVICES_FWCFG_H

#include "arch/types.h"

#define FWCFG_PORT 0x510 /* selector; data at 0x511 */
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID 0x0001
#define FW_CFG_RAM_SIZE 0x0003
#define FW_CFG_NOGRAPHIC 0x0004
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_MAX_CPUS 0x000f
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_IRQ0_OVERRIDE 0x8002
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000

struct fwcfg {
	u16 key;    /* selector without the write-channel bit */
	u32 offset; /* next byte of the item */
	u64 ram_size;
};

void fwcfg_reset(struct fwcfg *f, u64 ram_size);
void fwcfg_select(struct fwcfg *f, u16 selector);
/* The next byte of the selected item (0 past its end or for unknown items). */
u8 fwcfg_read_byte(struct fwcfg *f);
/* Port accesses of size 1, 2 or 4 at 0x510/0x511, as described above. */
u32 fwcfg_io_read(struct fwcfg *f, u16 port, int size);
void fwcfg_io_write(struct fwcfg *f, u16 port, int size, u32 value);

/* ---- glue ---- */

/* Registers 0x510-0x511 with ram_size bytes of guest RAM in FW_CFG_RAM_SIZE. */
void fwcfg_init(u64 ram_size);

#endif
