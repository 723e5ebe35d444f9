/* debug_exit.c - QEMU's isa-debug-exit: a write of V ends the run with status (V << 1) | 1.
 * The write is recorded as a platform stop request (code V, "guest wrote V to isa-debug-exit");
 * the vCPU acts on it (devices/platform_stop.h). */
#include "devices/platform_stop.h"
#include "devices/pio.h"

static void debug_exit_write(struct pio_device *d, u16 port, int size, u32 value)
{
	(void)d, (void)port, (void)size;
	platform_stop_request(PSTOP_DEBUG_EXIT, value, "guest wrote %#x to isa-debug-exit", value);
}

static struct pio_device debug_exit_dev;

void debug_exit_init(u16 port)
{
	debug_exit_dev = (struct pio_device){ "isa-debug-exit", port, 4, NULL, debug_exit_write, NULL, .neutral = true };
	pio_register(&debug_exit_dev);
}
