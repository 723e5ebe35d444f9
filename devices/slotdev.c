/* slotdev.c - a test device with two movable windows (docs/devices.md):
 *   a RAM window (a memslot, like a frame buffer or a ROM BAR): moving it is a memslot change;
 *   a register block (MMIO, emulated): moving it changes no memslot.
 * Control ports (32-bit):
 *   0x5a0 RAM window guest-physical base (write: move; refused moves leave it and set status)
 *   0x5a4 RAM window size in bytes (read-only)
 *   0x5a8 register block base (write: move)
 *   0x5ac status of the last move: 0 done, 1 refused
 * Register block (4 KiB): +0 ID "SLOT" (0x544f4c53), +4 scratch (read/write), +8 number of
 * register reads served so far. */
#include "devices/mmio.h"
#include "devices/pio.h"
#include "mmu/mmu.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/pmm.h"

#define SLOTDEV_PORT 0x5a0
#define SLOTDEV_SLOT_ID 1
#define SLOTDEV_WINDOW_PAGES 16
#define SLOTDEV_WINDOW_GPA 0xe0000000ULL
#define SLOTDEV_REGS_GPA 0xfeb00000ULL
#define SLOTDEV_ID 0x544f4c53u

static struct {
	struct pio_device ports;
	struct mmio_device regs;
	u32 scratch, reads, status;
} sd;

static u64 regs_read(struct mmio_device *d, u64 off, int size)
{
	(void)d, (void)size;
	sd.reads++;
	switch (off) {
	case 0: return SLOTDEV_ID;
	case 4: return sd.scratch;
	case 8: return sd.reads;
	default: return 0;
	}
}

static void regs_write(struct mmio_device *d, u64 off, int size, u64 value)
{
	(void)d, (void)size;
	if (off == 4)
		sd.scratch = (u32)value;
}

static u32 ports_read(struct pio_device *d, u16 port, int size)
{
	(void)d, (void)size;
	const struct memslot *m = memslot_by_id(&guest_memslots, SLOTDEV_SLOT_ID);
	switch (port - SLOTDEV_PORT) {
	case 0: return m ? (u32)(m->base_gfn << PAGE_SHIFT) : 0;
	case 4: return SLOTDEV_WINDOW_PAGES * PAGE_SIZE;
	case 8: return (u32)sd.regs.base;
	case 12: return sd.status;
	default: return 0xffffffff;
	}
}

static void ports_write(struct pio_device *d, u16 port, int size, u32 value)
{
	(void)d, (void)size;
	const char *why = "";
	bool ok = true;
	if (port == SLOTDEV_PORT) {
		const char *dev = mmio_device_overlapping(value, SLOTDEV_WINDOW_PAGES * PAGE_SIZE);
		ok = (value & (PAGE_SIZE - 1)) == 0 && !dev &&
		     mmu_memslot_move(SLOTDEV_SLOT_ID, value >> PAGE_SHIFT, &why) == 0;
		if (value & (PAGE_SIZE - 1))
			why = "base not page-aligned";
		else if (dev)
			why = "it would cover a device window";
	} else if (port == SLOTDEV_PORT + 8) {
		if (value & (PAGE_SIZE - 1))
			why = "base not page-aligned";
		else if (memslot_lookup(&guest_memslots, value >> PAGE_SHIFT))
			why = "it would lie in RAM, which hides it (memslots come first)";
		else if (!mmio_device_move(&sd.regs, value))
			why = "it would overlap another device";
		ok = !*why;
	} else {
		return;
	}
	sd.status = ok ? 0 : 1;
	if (!ok)
		pr_warn("slotdev: move to %#x refused: %s", value, why);
}

void slotdev_init(void)
{
	const char *why;
	hpa_t backing = pmm_alloc_contig(SLOTDEV_WINDOW_PAGES, PAGE_SIZE);
	if (!backing)
		panic("slotdev: no memory for its RAM window");
	memset((void *)(uintptr_t)backing, 0, SLOTDEV_WINDOW_PAGES * PAGE_SIZE);
	struct memslot m = { .id = SLOTDEV_SLOT_ID, .base_gfn = SLOTDEV_WINDOW_GPA >> PAGE_SHIFT,
			     .npages = SLOTDEV_WINDOW_PAGES, .hpa = backing };
	if (mmu_memslot_add(&m, &why))
		panic("slotdev: cannot add its memslot: %s", why);
	sd.ports = (struct pio_device){ "slotdev", SLOTDEV_PORT, 16, ports_read, ports_write, NULL,
					.neutral = true };
	sd.regs = (struct mmio_device){ "slotdev-regs", SLOTDEV_REGS_GPA, PAGE_SIZE, regs_read,
					regs_write, NULL, .neutral = true };
	pio_register(&sd.ports);
	mmio_register(&sd.regs);
}
