/* debug_exit.c - QEMU's isa-debug-exit: a write of V ends the run with status (V << 1) | 1. */
#include "devices/pio.h"
#include "vmx/vcpu.h"

static void debug_exit_write(struct pio_device *d, u16 port, int size, u32 value)
{
	(void)d, (void)port, (void)size;
	vcpu0.exit_code = value;
	vcpu_stop(&vcpu0, END_DEBUG_EXIT, "guest wrote %#x to isa-debug-exit", value);
}

static struct pio_device debug_exit_dev;

void debug_exit_init(u16 port)
{
	debug_exit_dev = (struct pio_device){ "isa-debug-exit", port, 4, NULL, debug_exit_write, NULL, .neutral = true };
	pio_register(&debug_exit_dev);
}
