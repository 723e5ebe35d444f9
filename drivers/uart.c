/* uart.c - polled 16550 driver: the console and any other port (the GDB stub's). */
#include "drivers/uart.h"
#include "arch/asm.h"
#include "arch/uart16550.h"

#define SPIN_LIMIT 1000000

static struct uart console = { COM1_PORT, false };

bool uart_open(struct uart *u, u16 port, u32 baud)
{
	u32 div = baud ? 115200 / baud : 1;
	if (div == 0)
		div = 1;
	u->base = port;
	/* Why the scratch probe: writing to a missing UART must not make every line spin. */
	outb(port + UART_SCR, 0x5a);
	u->ok = inb(port + UART_SCR) == 0x5a;
	if (!u->ok)
		return false;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, UART_LCR_DLAB);
	outb(port + UART_DLL, (u8)div);
	outb(port + UART_DLM, (u8)(div >> 8));
	outb(port + UART_LCR, UART_LCR_WLEN8);
	outb(port + UART_FCR, UART_FCR_ENABLE_FIFO | UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
	outb(port + UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
	return true;
}

void uart_out(struct uart *u, char c)
{
	if (!u->ok)
		return;
	for (int i = 0; i < SPIN_LIMIT && !(inb(u->base + UART_LSR) & UART_LSR_THRE); i++)
		pause();
	outb(u->base + UART_THR, (u8)c);
}

int uart_in(struct uart *u)
{
	if (!u->ok || !(inb(u->base + UART_LSR) & UART_LSR_DR))
		return -1;
	return inb(u->base + UART_RBR);
}

bool uart_init(u16 port, u32 baud) { return uart_open(&console, port, baud); }
void uart_putc(char c) { uart_out(&console, c); }
int uart_getc(void) { return uart_in(&console); }
u16 uart_port(void) { return console.base; }

void uart_drain(void)
{
	if (!console.ok)
		return;
	for (int i = 0; i < SPIN_LIMIT && !(inb(console.base + UART_LSR) & UART_LSR_TEMT); i++)
		pause();
}
