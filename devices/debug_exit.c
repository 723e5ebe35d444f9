/* debug_exit.c - QEMU's isa-debug-exit: a write of V ends the run with status (V << 1) | 1.
 * The write is recorded as a request; the vCPU acts on it (devices/debug_exit.h). */
#include "devices/debug_exit.h"
#include "devices/pio.h"
#include "kernel/fmt.h"

struct debug_exit_request debug_exit_request;

static void debug_exit_write(struct pio_device *d, u16 port, int size, u32 value)
{
	(void)d, (void)port, (void)size;
	struct debug_exit_request *r = &debug_exit_request;
	if (!r->pending)
		fmt_snprintf(r->reason, sizeof(r->reason), "guest wrote %#x to isa-debug-exit", value);
	r->code = value;
	r->pending = true;
}

struct debug_exit_request debug_exit_take(void)
{
	struct debug_exit_request r = debug_exit_request;
	debug_exit_request.pending = false;
	return r;
}

static struct pio_device debug_exit_dev;

void debug_exit_init(u16 port)
{
	debug_exit_dev = (struct pio_device){ "isa-debug-exit", port, 4, NULL, debug_exit_write, NULL, .neutral = true };
	pio_register(&debug_exit_dev);
}
