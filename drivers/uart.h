/* uart.h - host 16550 UART driver: the hypervisor's serial console. */
#ifndef DRIVERS_UART_H
#define DRIVERS_UART_H

#include "kernel/types.h"

#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8

/* Programs port for baud 8N1 with FIFOs on; returns false when no UART answers there. */
bool uart_init(u16 port, u32 baud);
void uart_putc(char c);
/* Returns the next received byte or -1 when none is waiting. */
int uart_getc(void);
/* Waits until the transmitter is empty (LSR.TEMT), so nothing is lost at power-off. */
void uart_drain(void);
u16 uart_port(void);

#endif
