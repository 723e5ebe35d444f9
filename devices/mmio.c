/* mmio.c - the MMIO device table and dispatch. */
#include "devices/mmio.h"
#include "devices/irq.h"
#include "kernel/log.h"
#include "kernel/panic.h"

#define MAX_MMIO_DEVICES 16

static struct mmio_device *devices[MAX_MMIO_DEVICES];
static int ndevices;

static bool overlaps(const struct mmio_device *d, u64 base, u64 size)
{
	return base < d->base + d->size && d->base < base + size;
}

void mmio_register(struct mmio_device *d)
{
	if (ndevices == MAX_MMIO_DEVICES)
		panic("mmio: more than %d devices", MAX_MMIO_DEVICES);
	for (int i = 0; i < ndevices; i++)
		if (overlaps(devices[i], d->base, d->size))
			panic("mmio: %s overlaps %s", d->name, devices[i]->name);
	devices[ndevices++] = d;
	pr_debug("mmio: %s at %#llx-%#llx", d->name, d->base, d->base + d->size - 1);
}

bool mmio_device_move(struct mmio_device *d, u64 new_base)
{
	for (int i = 0; i < ndevices; i++)
		if (devices[i] != d && overlaps(devices[i], new_base, d->size))
			return false;
	d->base = new_base;
	return true;
}

const char *mmio_device_overlapping(u64 gpa, u64 size)
{
	for (int i = 0; i < ndevices; i++)
		if (overlaps(devices[i], gpa, size))
			return devices[i]->name;
	return NULL;
}

static struct mmio_device *find(u64 gpa, int size)
{
	for (int i = 0; i < ndevices; i++)
		if (gpa >= devices[i]->base && gpa + (u64)size <= devices[i]->base + devices[i]->size)
			return devices[i];
	return NULL;
}

bool mmio_read(u64 gpa, int size, u64 *value)
{
	struct mmio_device *d = find(gpa, size);
	if (!d || !d->read) {
		*value = size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
		return false;
	}
	if (!d->neutral)
		intc_changed();
	*value = d->read(d, gpa - d->base, size);
	return true;
}

bool mmio_write(u64 gpa, int size, u64 value)
{
	struct mmio_device *d = find(gpa, size);
	if (!d || !d->write)
		return false;
	if (!d->neutral)
		intc_changed();
	d->write(d, gpa - d->base, size, value);
	return true;
}
