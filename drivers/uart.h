/* uart.h - host 16550 UART driver: the hypervisor's serial console, and a second port for the
 * GDB stub. */
#ifndef DRIVERS_UART_H
#define DRIVERS_UART_H

#include "arch/types.h"

#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8

struct uart {
	u16 base;
	bool ok; /* a UART answered at base */
};

/* Programs port for baud 8N1 with FIFOs on; false (and u->ok false) when no UART is there. */
bool uart_open(struct uart *u, u16 port, u32 baud);
void uart_out(struct uart *u, char c);
/* The next received byte, or -1 when none is waiting. */
int uart_in(struct uart *u);

/* The console (COM1 unless serial= says otherwise). */
bool uart_init(u16 port, u32 baud);
void uart_putc(char c);
int uart_getc(void);
/* Waits until the transmitter is empty (LSR.TEMT), so nothing is lost at power-off. */
void uart_drain(void);
u16 uart_port(void);

#endif
