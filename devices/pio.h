/* pio.h - emulated port-I/O devices: one ops struct per device, registered in one table. */
#ifndef DEVICES_PIO_H
#define DEVICES_PIO_H

#include "arch/types.h"

struct pio_device {
	const char *name;
	u16 base, count; /* ports [base, base + count) */
	u32 (*read)(struct pio_device *d, u16 port, int size);
	void (*write)(struct pio_device *d, u16 port, int size, u32 value);
	void (*reset)(struct pio_device *d);
	/* Accesses never change interrupt state except through irq_set_line (devices/irq.h:
	 * intc_changed); false, the default, makes every access count as a change. */
	bool neutral;
};

void pio_register(struct pio_device *d);
void pio_reset_all(void);
/* Dispatches an access of size 1, 2 or 4. Unclaimed ports read as all ones and ignore writes,
 * as on a PC bus; both return false so the caller can count them. */
bool pio_read(u16 port, int size, u32 *value);
bool pio_write(u16 port, int size, u32 value);

/* Device constructors (each registers itself). */
/* The guest's 16550 at base, interrupting on ISA IRQ 4 (devices/vuart.c). */
void vuart_init(u16 base);
/* Ends the guest's current console line: text still waiting goes out, then a newline (at the
 * end of a run, so that the summary line starts on its own). */
void vuart_flush(void);
/* Holds finished guest lines (monitor open) or releases them in order (closed). Holding ends
 * an open partial line first, so that the monitor's lines start on their own. */
void vuart_hold(bool on);
/* A byte typed for the guest; false when the queue in front of its receiver is full. Raises
 * the RX interrupt when the guest has it enabled. */
bool vuart_push_input(u8 c);
/* The UART's timed events, for the interrupt code (devices/intc.c): the guest TSC of the next
 * one (partial-line flush always; the character timeout and the console poll for typed input
 * only when irq_deliverable, IRQ 4 can reach the CPU), or IRQ_NONE; and running those due at
 * guest TSC now. */
u64 vuart_next_deadline(bool irq_deliverable);
void vuart_tick(u64 now);
/* Registers where typed input comes from: poll() reads the host console and hands the guest's
 * bytes to vuart_push_input. Set by the start-up code (the monitor's escape filter, which sits
 * above the devices); until then the guest gets no input. */
void vuart_set_input(void (*poll)(void));
void debug_exit_init(u16 port);

#endif
