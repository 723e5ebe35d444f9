/* pio.c - the port-I/O device table and dispatch. */
#include "devices/pio.h"
#include "devices/irq.h"
#include "kernel/log.h"
#include "kernel/panic.h"

#define MAX_PIO_DEVICES 32

static struct pio_device *devices[MAX_PIO_DEVICES];
static int ndevices;

void pio_register(struct pio_device *d)
{
	if (ndevices == MAX_PIO_DEVICES)
		panic("pio: more than %d devices", MAX_PIO_DEVICES);
	for (int i = 0; i < ndevices; i++)
		if (d->base < devices[i]->base + devices[i]->count &&
		    devices[i]->base < d->base + d->count)
			panic("pio: %s overlaps %s", d->name, devices[i]->name);
	devices[ndevices++] = d;
	pr_debug("pio: %s at %#x-%#x", d->name, d->base, d->base + d->count - 1);
}

void pio_reset_all(void)
{
	for (int i = 0; i < ndevices; i++)
		if (devices[i]->reset)
			devices[i]->reset(devices[i]);
}

static struct pio_device *find(u16 port)
{
	static struct pio_device *last; /* a guest talks to one device many times in a row */
	if (last && port >= last->base && port < last->base + last->count)
		return last;
	for (int i = 0; i < ndevices; i++)
		if (port >= devices[i]->base && port < devices[i]->base + devices[i]->count)
			return last = devices[i];
	return NULL;
}

bool pio_read(u16 port, int size, u32 *value)
{
	struct pio_device *d = find(port);
	u32 ones = size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1;
	if (!d || !d->read) {
		*value = ones;
		return false;
	}
	if (!d->neutral)
		intc_changed();
	*value = d->read(d, port, size) & ones;
	return true;
}

bool pio_write(u16 port, int size, u32 value)
{
	struct pio_device *d = find(port);
	if (!d || !d->write)
		return false;
	if (!d->neutral)
		intc_changed();
	d->write(d, port, size, value);
	return true;
}
