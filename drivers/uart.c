/* uart.c - polled 16550 driver for the hypervisor's own console. */
#include "drivers/uart.h"
#include "kernel/x86.h"

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

static u16 uart_base = COM1_PORT;
static bool uart_ok;

bool uart_init(u16 port, u32 baud)
{
	u32 div = baud ? 115200 / baud : 1;
	if (div == 0)
		div = 1;
	uart_base = port;
	/* Why the scratch probe: writing to a missing UART must not make every log line spin. */
	outb(port + UART_SCR, 0x5a);
	uart_ok = inb(port + UART_SCR) == 0x5a;
	if (!uart_ok)
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

void uart_putc(char c)
{
	if (!uart_ok)
		return;
	for (int i = 0; i < SPIN_LIMIT && !(inb(uart_base + UART_LSR) & LSR_THRE); i++)
		pause();
	outb(uart_base + UART_THR, (u8)c);
}

int uart_getc(void)
{
	if (!uart_ok || !(inb(uart_base + UART_LSR) & LSR_DR))
		return -1;
	return inb(uart_base + UART_RBR);
}

void uart_drain(void)
{
	if (!uart_ok)
		return;
	for (int i = 0; i < SPIN_LIMIT && !(inb(uart_base + UART_LSR) & LSR_TEMT); i++)
		pause();
}

u16 uart_port(void)
{
	return uart_base;
}
