/* vuart.c - the guest's 16550 UART: polled output forwarded line by line to the console as
 * "[guest] ..." lines; input taken from the host console. Interrupts are not raised (the
 * guest has no interrupt controller yet). */
#include "devices/pio.h"
#include "drivers/uart.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "arch/asm.h"
#include "arch/uart16550.h"

#define VUART_LINE_MAX 200
#define RX_FIFO 64
#define HOLD_MAX (32 * 1024) /* guest output kept while the monitor is open */

static struct vuart {
	struct pio_device dev;
	u8 ier, lcr, mcr, scr, dll, dlm, fcr;
	/* Input from the console (through the registered poll, vuart_set_input): a FIFO. */
	u8 rx[RX_FIFO];
	u32 rx_head, rx_count;
	char line[VUART_LINE_MAX + 1];
	size_t len;
	/* While held (monitor open), finished lines wait here instead of going out. */
	bool held;
	char hold[HOLD_MAX];
	u32 hold_len;
	u64 hold_dropped;
} vu;

static void emit_line(const char *text)
{
	if (!vu.held) {
		console_puts("[guest] ");
		console_puts(text);
		console_puts("\n");
		return;
	}
	u32 n = (u32)strlen(text) + 1;
	if (vu.hold_len + n > HOLD_MAX) {
		vu.hold_dropped++;
		return;
	}
	memcpy(vu.hold + vu.hold_len, text, n); /* NUL-separated lines */
	vu.hold_len += n;
}

void vuart_flush(void)
{
	if (!vu.len)
		return;
	vu.line[vu.len] = 0;
	emit_line(vu.line);
	vu.len = 0;
}

void vuart_hold(bool on)
{
	vu.held = on;
	if (on)
		return;
	for (u32 i = 0; i < vu.hold_len; i += (u32)strlen(vu.hold + i) + 1)
		emit_line(vu.hold + i);
	if (vu.hold_dropped)
		klog(LOG_WARN, "vuart: %llu guest lines dropped while the monitor was open",
		     vu.hold_dropped);
	vu.hold_len = 0;
	vu.hold_dropped = 0;
}

bool vuart_push_input(u8 c)
{
	if (vu.rx_count == RX_FIFO)
		return false;
	vu.rx[(vu.rx_head + vu.rx_count++) % RX_FIFO] = c;
	return true;
}

static int rx_pop(void)
{
	if (!vu.rx_count)
		return -1;
	int c = vu.rx[vu.rx_head];
	vu.rx_head = (vu.rx_head + 1) % RX_FIFO;
	vu.rx_count--;
	return c;
}

/* Why lines: hypervisor log lines and guest output then never interleave mid-line. */
static void out_byte(u8 c)
{
	if (c == '\r')
		return;
	if (c == '\n') {
		if (!vu.len) {
			emit_line("");
			return;
		}
		vuart_flush();
		return;
	}
	vu.line[vu.len++] = (c >= 0x20 && c < 0x7f) || c == '\t' ? (char)c : '?';
	if (vu.len == VUART_LINE_MAX)
		vuart_flush();
}

/* Console input reaches the FIFO through the poll function the start-up code registers
 * (vuart_set_input: the monitor's escape filter, debug/monitor.c), which also runs before
 * entries now and then (the run loop's console poll); a guest polling LSR or reading RBR with
 * an empty FIFO also polls, at most every INPUT_POLL_TICKS (~0.16 ms in Bochs), so typed
 * input arrives promptly without a host UART access on every LSR read. */
#define INPUT_POLL_TICKS (1ULL << 14)

static void no_input(void)
{
}

static void (*input_poll)(void) = no_input; /* never NULL */

void vuart_set_input(void (*poll)(void))
{
	input_poll = poll;
}

static void poll_input(void)
{
	static u64 next;
	if (vu.rx_count)
		return;
	u64 now = rdtsc();
	if (now < next)
		return;
	next = now + INPUT_POLL_TICKS;
	input_poll();
}

static u32 vuart_read_byte(struct pio_device *d, u16 port)
{
	int v;
	switch (port - d->base) {
	case UART_RBR:
		if (vu.lcr & UART_LCR_DLAB)
			return vu.dll;
		poll_input();
		v = rx_pop();
		return v < 0 ? 0 : (u32)v;
	case UART_IER: return (vu.lcr & UART_LCR_DLAB) ? vu.dlm : vu.ier;
	case UART_IIR: /* no interrupt pending */
		return (vu.fcr & UART_FCR_ENABLE_FIFO ? UART_IIR_FIFO_ENABLED : 0) | UART_IIR_NO_INT;
	case UART_LCR: return vu.lcr;
	case UART_MCR: return vu.mcr;
	case UART_LSR:
		poll_input();
		return UART_LSR_THRE | UART_LSR_TEMT | (vu.rx_count ? UART_LSR_DR : 0);
	case UART_MSR: return UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	default: return vu.scr;
	}
}

static void vuart_write_byte(struct pio_device *d, u16 port, u32 value)
{
	u8 v = (u8)value;
	switch (port - d->base) {
	case UART_THR:
		if (vu.lcr & UART_LCR_DLAB)
			vu.dll = v;
		else
			out_byte(v);
		break;
	case UART_IER:
		if (vu.lcr & UART_LCR_DLAB)
			vu.dlm = v;
		else
			vu.ier = v & UART_IER_MASK;
		break;
	case UART_FCR: vu.fcr = v; break;
	case UART_LCR: vu.lcr = v; break;
	case UART_MCR: vu.mcr = v & UART_MCR_MASK; break;
	case UART_SCR: vu.scr = v; break;
	default: break; /* LSR and MSR are read-only */
	}
}

/* A word or dword access covers consecutive registers, byte by byte, as on the PC bus. */
static u32 vuart_read(struct pio_device *d, u16 port, int size)
{
	u32 v = 0;
	for (int i = 0; i < size; i++)
		if (port + i < d->base + d->count)
			v |= vuart_read_byte(d, (u16)(port + i)) << (8 * i);
		else
			v |= 0xffu << (8 * i);
	return v;
}

static void vuart_write(struct pio_device *d, u16 port, int size, u32 value)
{
	for (int i = 0; i < size && port + i < d->base + d->count; i++)
		vuart_write_byte(d, (u16)(port + i), (value >> (8 * i)) & 0xff);
}

static void vuart_reset(struct pio_device *d)
{
	(void)d;
	vu.ier = vu.mcr = vu.scr = vu.fcr = vu.dlm = 0;
	vu.lcr = 0;
	vu.dll = 1;
	vu.rx_head = vu.rx_count = 0;
	vu.len = 0;
}

void vuart_init(u16 base)
{
	vu.dev = (struct pio_device){ "uart16550", base, 8, vuart_read, vuart_write, vuart_reset,
				     .neutral = true };
	vuart_reset(&vu.dev);
	pio_register(&vu.dev);
}
