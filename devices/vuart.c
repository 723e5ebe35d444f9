/* vuart.c - the guest's 16550 UART: polled output forwarded line by line to the console as
 * "[guest] ..." lines; input taken from the host console. Interrupts are not raised (the
 * guest has no interrupt controller yet). */
#include "devices/pio.h"
#include "drivers/uart.h"
#include "kernel/lib.h"
#include "kernel/log.h"

#define REG_DATA 0
#define REG_IER 1
#define REG_IIR_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LINE_MAX 200

static struct vuart {
	struct pio_device dev;
	u8 ier, lcr, mcr, scr, dll, dlm, fcr;
	int rx; /* next input byte or -1 */
	char line[LINE_MAX + 1];
	size_t len;
} vu;

void vuart_flush(void)
{
	if (!vu.len)
		return;
	vu.line[vu.len] = 0;
	console_puts("[guest] ");
	console_puts(vu.line);
	console_puts("\n");
	vu.len = 0;
}

/* Why lines: hypervisor log lines and guest output then never interleave mid-line. */
static void out_byte(u8 c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		if (!vu.len) {
			console_puts("[guest] \n");
			return;
		}
		vuart_flush();
		return;
	}
	vu.line[vu.len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
	if (vu.len == LINE_MAX)
		vuart_flush();
}

static void poll_input(void)
{
	if (vu.rx < 0)
		vu.rx = uart_getc();
}

static u32 vuart_read(struct pio_device *d, u16 port, int size)
{
	(void)size;
	int v;
	switch (port - d->base) {
	case REG_DATA:
		if (vu.lcr & LCR_DLAB)
			return vu.dll;
		poll_input();
		v = vu.rx;
		vu.rx = -1;
		return v < 0 ? 0 : (u32)v;
	case REG_IER: return (vu.lcr & LCR_DLAB) ? vu.dlm : vu.ier;
	case REG_IIR_FCR: return (vu.fcr & 1 ? 0xc0 : 0) | 0x01; /* no interrupt pending */
	case REG_LCR: return vu.lcr;
	case REG_MCR: return vu.mcr;
	case REG_LSR:
		poll_input();
		return LSR_THRE | LSR_TEMT | (vu.rx >= 0 ? LSR_DR : 0);
	case REG_MSR: return 0xb0; /* CTS, DSR, DCD */
	default: return vu.scr;
	}
}

static void vuart_write(struct pio_device *d, u16 port, int size, u32 value)
{
	(void)size;
	u8 v = (u8)value;
	switch (port - d->base) {
	case REG_DATA:
		if (vu.lcr & LCR_DLAB)
			vu.dll = v;
		else
			out_byte(v);
		break;
	case REG_IER:
		if (vu.lcr & LCR_DLAB)
			vu.dlm = v;
		else
			vu.ier = v & 0x0f;
		break;
	case REG_IIR_FCR: vu.fcr = v; break;
	case REG_LCR: vu.lcr = v; break;
	case REG_MCR: vu.mcr = v & 0x1f; break;
	case REG_SCR: vu.scr = v; break;
	default: break; /* LSR and MSR are read-only */
	}
}

static void vuart_reset(struct pio_device *d)
{
	(void)d;
	vu.ier = vu.mcr = vu.scr = vu.fcr = vu.dlm = 0;
	vu.lcr = 0;
	vu.dll = 1;
	vu.rx = -1;
	vu.len = 0;
}

void vuart_init(u16 base)
{
	vu.dev = (struct pio_device){ "uart16550", base, 8, vuart_read, vuart_write, vuart_reset };
	vuart_reset(&vu.dev);
	pio_register(&vu.dev);
}
