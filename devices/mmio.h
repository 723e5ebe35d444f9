/* mmio.h - emulated memory-mapped devices: guest-physical ranges that no memslot backs. */
#ifndef DEVICES_MMIO_H
#define DEVICES_MMIO_H

#include "arch/types.h"

struct mmio_device {
	const char *name;
	u64 base, size; /* guest-physical [base, base + size); movable with mmio_device_move */
	u64 (*read)(struct mmio_device *d, u64 offset, int size);
	void (*write)(struct mmio_device *d, u64 offset, int size, u64 value);
	void (*reset)(struct mmio_device *d);
	bool neutral; /* as in struct pio_device */
};

void mmio_register(struct mmio_device *d);
/* Moves a device's window; false (nothing changed) when it would overlap another device. */
bool mmio_device_move(struct mmio_device *d, u64 new_base);
/* The name of a device whose window overlaps [gpa, gpa + size), or NULL. Memslot changes
 * that would cover a device are refused with it (RAM would hide the device). */
const char *mmio_device_overlapping(u64 gpa, u64 size);
/* Dispatch of one access of size 1, 2, 4 or 8. Unassigned addresses read as all ones and
 * ignore writes, as on a PC; both return false then. */
bool mmio_read(u64 gpa, int size, u64 *value);
bool mmio_write(u64 gpa, int size, u64 value);

/* The test device with a movable RAM window and register block (devices/slotdev.c). */
void slotdev_init(void);

#endif
