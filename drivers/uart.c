/* uart.c - polled 16550 driver: the console and any other port (the GDB stub's). */
#include "drivers/uart.h"
#include "arch/asm.h"

#define UART_THR 0
#define UART_RBR 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define LSR_DR BIT(0)
#define LSR_THRE BIT(5)
#define LSR_TEMT BIT(6)
#define LCR_DLAB BIT(7)
#define LCR_8N1 0x03

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
	outb(port + UART_LCR, LCR_DLAB);
	outb(port + UART_DLL, (u8)div);
	outb(port + UART_DLM, (u8)(div >> 8));
	outb(port + UART_LCR, LCR_8N1);
	outb(port + UART_FCR, 0x07);
	outb(port + UART_MCR, 0x03);
	return true;
}

void uart_out(struct uart *u, char c)
{
	if (!u->ok)
		return;
	for (int i = 0; i < SPIN_LIMIT && !(inb(u->base + UART_LSR) & LSR_THRE); i++)
		pause();
	outb(u->base + UART_THR, (u8)c);
}

int uart_in(struct uart *u)
{
	if (!u->ok || !(inb(u->base + UART_LSR) & LSR_DR))
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
	for (int i = 0; i < SPIN_LIMIT && !(inb(console.base + UART_LSR) & LSR_TEMT); i++)
		pause();
}
