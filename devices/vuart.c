/* vuart.c - the guest's COM1: a 16550A as Linux's 8250 driver and the test guests use it, its
 * interrupt on ISA IRQ 4 (devices/irq.h), and its console side: guest output forwarded as
 * "[guest] ..." lines, typed input fed to its receiver (docs/platform.md, "Serial port").
 *
 * The UART (PC16550D data sheet; QEMU hw/char/serial.c and Bochs iodev/serial.cc where the data
 * sheet leaves room):
 *  - Transmitting takes no time: a THR write goes out at once (to the console, or into the
 *    receiver in loopback), so LSR.THRE and TEMT always read 1. The THR-empty interrupt is
 *    raised by every THR write (the line drops and rises again: a new edge, as QEMU), and when
 *    IER.THRI goes 0 -> 1 (THR being empty; Linux's UART_BUG_THRE test relies on it, QEMU and
 *    Bochs do it); it is cleared by an IIR read that reports it, by clearing IER.THRI, and by
 *    nothing else.
 *  - Receiving: typed bytes wait in an input queue (the wire) and move into the receiver while
 *    it has room: the 16-byte FIFO, or the one holding register with FIFOs off. Console input
 *    therefore never overruns (QEMU's flow control from its character device). A loopback byte
 *    arriving at a full receiver sets LSR.OE: lost with FIFOs on, overwriting the holding
 *    register with them off.
 *  - Received-data interrupt when the FIFO holds its trigger level (1, 4, 8 or 14 bytes; any
 *    byte with FIFOs off). Character timeout (IIR 0x0c): once the FIFO holds data and nothing
 *    was received into it or read from it for 4 character times (from the divisor and LCR),
 *    whatever the level; reading RBR ends it. Both only with IER.RDI, as QEMU.
 *  - Line status interrupt: LSR.OE, the only error modelled (no parity, framing or break),
 *    cleared by reading LSR.
 *  - MSR: CTS, DSR and DCD high, RI low (a terminal that is always there). In loopback the MCR
 *    outputs drive them (RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD) and set the delta
 *    bits and the modem status interrupt (data sheet, Bochs; QEMU sets no deltas there).
 *  - IIR priority: line status > received data / timeout > THR empty > modem status; bits 7:6
 *    set while FCR enables the FIFOs.
 *  - The IRQ line is high while an enabled source is pending and MCR.OUT2 is set: on a PC OUT2
 *    gates the UART's interrupt onto the bus. Bochs gates the same way, in loopback too (the
 *    data sheet's OUT2 pin would be inactive there); QEMU does not gate at all.
 *
 * Timed events (guest TSC): the character timeout, the flush of a partial output line and,
 * while the guest can take an RX interrupt, a poll of the console for typed input. They are
 * the device's deadline (vuart_next_deadline), which the vCPU honours like a timer's, also
 * while the guest halts: a shell waiting in HLT for a key wakes when one is typed.
 */
#include "devices/pio.h"
#include "devices/irq.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "arch/uart16550.h"

#define VUART_GSI 4          /* COM1's ISA IRQ */
#define VUART_LINE_MAX 200   /* a longer guest line is cut into pieces of this size */
#define INPUT_MAX 64         /* typed bytes waiting for room in the receiver */
#define HOLD_MAX (32 * 1024) /* guest output kept while the monitor is open */
/* A partial line (a prompt, an echo) goes to the console once the guest has written nothing
 * for this long: 1/FLUSH_IDLE_DIV s of guest time (10 ms). */
#define FLUSH_IDLE_DIV 100
/* Console polls a second, in guest time, made for a guest that can take an RX interrupt (as
 * the vCPU's own console poll, CONSOLE_POLLS_PER_SEC in vmx/vcpu.h). */
#define INPUT_IRQ_POLLS_PER_SEC 1000
/* A guest polling LSR or reading RBR with nothing received polls the console at most this
 * often a second (every ~0.17 ms), so typed input arrives promptly without a host UART access
 * on every LSR read. */
#define INPUT_POLLS_PER_SEC 6000

/*
 * Invariants: rx_count <= rx_cap() except right after FCR turns the FIFOs off (then cleared);
 * in_count <= INPUT_MAX; irq is the level last given to irq_set_line; col + len <
 * VUART_LINE_MAX; col == 0 while held; raw counts the control bytes in line[0, len).
 */
static struct vuart {
	struct pio_device dev;
	u8 ier, lcr, mcr, scr, dll, dlm, fcr;
	u8 lsr_err;        /* LSR error bits (OE) until LSR is read */
	u8 msr;            /* status bits 7:4, delta bits 3:0 until MSR is read */
	bool thre_pending; /* THR-empty interrupt raised, not yet cleared */
	bool timeout;      /* character timeout indicated */
	u64 rx_time;       /* guest TSC of the last byte into or out of the receiver */
	bool irq;
	u8 rx[UART_FIFO_SIZE]; /* the receiver: FIFO, or rx[rx_head] as the holding register */
	u32 rx_head, rx_count;
	u8 in[INPUT_MAX]; /* typed, not yet received */
	u32 in_head, in_count;
	u64 next_poll;     /* next console poll for a guest waiting on RX interrupts */
	u64 seen_deadline; /* what vuart_next_deadline last told the interrupt code */
	bool deliverable;  /* ... and whether IRQ 4 could reach the CPU then */
	/* Console output: line[0, len) is guest text not on the console yet; col characters of
	 * the current guest line are (0: no guest line open on the console). */
	char line[VUART_LINE_MAX + 1];
	u32 len, col, raw;
	bool cr;      /* a CR came last: the line ends unless LF follows */
	u64 last_out; /* guest TSC of the last byte written */
	/* While held (monitor open), finished lines wait here instead of going out. */
	bool held;
	char hold[HOLD_MAX];
	u32 hold_len;
	u64 hold_dropped;
} vu;

/* ---- console output ---- */

/* Starts the console line with the prefix, or continues the guest's open one. */
static void line_begin(void)
{
	if (vu.col && !console_mid_line())
		vu.col = 0; /* a hypervisor line ended it (kernel/log.c ends an open line first) */
	if (!vu.col)
		console_puts("[guest] ");
}

static void write_pending(void)
{
	line_begin();
	console_write(vu.line, vu.len);
	vu.col += vu.len;
	vu.len = vu.raw = 0;
}

static void hold_line(void)
{
	u32 n = vu.len + 1;
	vu.line[vu.len] = 0;
	vu.len = vu.raw = 0;
	if (vu.hold_len + n > HOLD_MAX) {
		vu.hold_dropped++;
		return;
	}
	memcpy(vu.hold + vu.hold_len, vu.line, n); /* NUL-separated lines */
	vu.hold_len += n;
}

static void end_line(void)
{
	vu.cr = false;
	if (vu.held) {
		hold_line();
		return;
	}
	bool ended = vu.col && !console_mid_line();
	if (vu.len || !ended) {
		write_pending();
		console_puts("\n");
	}
	vu.col = 0;
}

void vuart_flush(void)
{
	if (vu.len || vu.col)
		end_line();
}

void vuart_hold(bool on)
{
	if (on && vu.col) {
		if (console_mid_line())
			console_puts("\n"); /* the monitor's lines start on their own */
		vu.col = 0;
	}
	vu.held = on;
	if (on)
		return;
	for (u32 i = 0; i < vu.hold_len; i += (u32)strlen(vu.hold + i) + 1) {
		console_puts("[guest] ");
		console_puts(vu.hold + i);
		console_puts("\n");
	}
	if (vu.hold_dropped)
		klog(LOG_WARN, "vuart: %llu guest lines dropped while the monitor was open",
		     vu.hold_dropped);
	vu.hold_len = 0;
	vu.hold_dropped = 0;
}

static bool passes_raw(u8 c)
{
	return c == '\b' || c == 0x1b || c == 0x07; /* BS, ESC (terminal sequences), BEL */
}

/*
 * Why lines: hypervisor log lines and guest output then never interleave mid-line. A line
 * ends at LF, at a CR not followed by LF (a progress line redrawn), or at VUART_LINE_MAX; the
 * CR of CR LF is dropped. BS erases the last character still waiting (so the echo of an
 * erased key, "\b \b", leaves the plain text); once text is on the console, BS, ESC and BEL
 * go through for the terminal to act on. Other control bytes and non-ASCII show as '?'.
 */
static void out_byte(u8 c, u64 now)
{
	vu.last_out = now;
	if (vu.cr && c != '\n' && c != '\r')
		end_line();
	if (c == '\r') {
		vu.cr = true;
		return;
	}
	if (c == '\n') {
		end_line();
		return;
	}
	if (c == '\b' && vu.len && !vu.raw) {
		vu.len--;
		return;
	}
	if (passes_raw(c))
		vu.raw++;
	else if (!((c >= 0x20 && c < 0x7f) || c == '\t'))
		c = '?';
	vu.line[vu.len++] = (char)c;
	if (vu.col + vu.len >= VUART_LINE_MAX)
		end_line();
}

static u64 flush_idle(void)
{
	return vtime_hz() / FLUSH_IDLE_DIV;
}

/* ---- console input ---- */

static void no_input(void)
{
}

static void (*input_poll)(void) = no_input; /* never NULL */

void vuart_set_input(void (*poll)(void))
{
	input_poll = poll;
}

/* ---- the UART ---- */

static bool fifo_on(void)
{
	return vu.fcr & UART_FCR_ENABLE_FIFO;
}

static u32 rx_cap(void)
{
	return fifo_on() ? UART_FIFO_SIZE : 1;
}

static u32 trigger_level(void)
{
	static const u8 level[4] = { 1, 4, 8, 14 };
	return fifo_on() ? level[vu.fcr >> UART_FCR_TRIGGER_SHIFT] : 1;
}

/* Guest TSC ticks per character: start bit, 5-8 data bits, parity, 1 or 2 stop bits at
 * UART_CLOCK_HZ / (16 * divisor) baud (divisor 0 acts as 65536). */
static u64 char_ticks(void)
{
	u64 div = (u64)vu.dll | (u64)vu.dlm << 8;
	u64 bits = 6 + (vu.lcr & UART_LCR_WLEN_MASK) + !!(vu.lcr & UART_LCR_PARITY) +
		   (vu.lcr & UART_LCR_STOP ? 2 : 1);
	return vtime_hz() * bits * 16 * (div ? div : 0x10000) / UART_CLOCK_HZ;
}

/* Indicates the character timeout once it is due (time is caught up at every access). */
static void catch_up(u64 now)
{
	if (fifo_on() && vu.rx_count && !vu.timeout && now >= vu.rx_time + 4 * char_ticks())
		vu.timeout = true;
}

/* A byte completes in the receiver at now. */
static void rx_put(u8 c, u64 now)
{
	vu.rx_time = now;
	if (vu.rx_count < rx_cap()) {
		vu.rx[(vu.rx_head + vu.rx_count++) % UART_FIFO_SIZE] = c;
		return;
	}
	vu.lsr_err |= UART_LSR_OE;
	if (!fifo_on())
		vu.rx[vu.rx_head] = c; /* the holding register is overwritten */
}

/* Moves typed bytes into the receiver while it has room (not in loopback: the receiver's
 * input is then the transmitter). */
static void rx_refill(u64 now)
{
	while (vu.in_count && vu.rx_count < rx_cap() && !(vu.mcr & UART_MCR_LOOP)) {
		rx_put(vu.in[vu.in_head], now);
		vu.in_head = (vu.in_head + 1) % INPUT_MAX;
		vu.in_count--;
	}
}

static u8 rx_take(u64 now)
{
	if (!vu.rx_count)
		return 0;
	u8 c = vu.rx[vu.rx_head];
	vu.rx_head = (vu.rx_head + 1) % UART_FIFO_SIZE;
	vu.rx_count--;
	vu.rx_time = now;
	vu.timeout = false;
	rx_refill(now);
	return c;
}

static void rx_clear(void)
{
	vu.rx_head = vu.rx_count = 0;
	vu.timeout = false;
}

/* The IIR identification of the highest-priority pending, enabled source, or NO_INT. */
static u8 pending_id(void)
{
	if ((vu.ier & UART_IER_RLSI) && (vu.lsr_err & UART_LSR_ERRORS))
		return UART_IIR_RLSI;
	if ((vu.ier & UART_IER_RDI) && vu.timeout)
		return UART_IIR_RX_TIMEOUT;
	if ((vu.ier & UART_IER_RDI) && vu.rx_count >= trigger_level())
		return UART_IIR_RDI;
	if ((vu.ier & UART_IER_THRI) && vu.thre_pending)
		return UART_IIR_THRI;
	if ((vu.ier & UART_IER_MSI) && (vu.msr & UART_MSR_DELTAS))
		return UART_IIR_MSI;
	return UART_IIR_NO_INT;
}

/* Drives IRQ 4; every change of the line goes through here (irq_set_line: intc_changed). */
static void update_irq(void)
{
	bool level = pending_id() != UART_IIR_NO_INT && (vu.mcr & UART_MCR_OUT2);
	if (level == vu.irq)
		return;
	vu.irq = level;
	irq_set_line(VUART_GSI, level);
}

static u64 next_deadline(bool deliverable)
{
	u64 t = IRQ_NONE;
	if (vu.len && !vu.held)
		t = vu.last_out + flush_idle();
	if (!deliverable || !(vu.mcr & UART_MCR_OUT2) || !(vu.ier & UART_IER_RDI))
		return t;
	if (fifo_on() && vu.rx_count && !vu.timeout)
		t = MIN(t, vu.rx_time + 4 * char_ticks());
	if (!vu.rx_count && !(vu.mcr & UART_MCR_LOOP))
		t = MIN(t, vu.next_poll);
	return t;
}

/* The interrupt code re-reads the deadlines only when told that something changed: tell it
 * when one became earlier than what it last read (a partial line to flush, RX enabled). */
static void note_deadline(void)
{
	if (next_deadline(vu.deliverable) < vu.seen_deadline)
		intc_changed();
}

u64 vuart_next_deadline(bool irq_deliverable)
{
	vu.deliverable = irq_deliverable;
	vu.seen_deadline = next_deadline(irq_deliverable);
	return vu.seen_deadline;
}

void vuart_tick(u64 now)
{
	if (vu.len && !vu.held && now >= vu.last_out + flush_idle())
		write_pending();
	if (!vu.rx_count && now >= vu.next_poll) {
		vu.next_poll = now + vtime_hz() / INPUT_IRQ_POLLS_PER_SEC;
		input_poll(); /* may call vuart_push_input */
	}
	catch_up(now);
	update_irq();
}

bool vuart_push_input(u8 c)
{
	if (vu.in_count == INPUT_MAX)
		return false;
	vu.in[(vu.in_head + vu.in_count++) % INPUT_MAX] = c;
	rx_refill(vtime_now());
	update_irq();
	note_deadline();
	return true;
}

/* A guest polling LSR or RBR with nothing received also polls the console (see above). */
static void poll_input(u64 now)
{
	static u64 next;
	if (vu.rx_count || now < next)
		return;
	next = now + vtime_hz() / INPUT_POLLS_PER_SEC;
	input_poll();
}

/* The modem status inputs: the MCR outputs in loopback, a terminal that is there otherwise;
 * a change sets the delta bits (TERI only on RI's falling edge). */
static void update_msr(void)
{
	u8 m = vu.mcr, in = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	if (m & UART_MCR_LOOP)
		in = (m & UART_MCR_RTS ? UART_MSR_CTS : 0) | (m & UART_MCR_DTR ? UART_MSR_DSR : 0) |
		     (m & UART_MCR_OUT1 ? UART_MSR_RI : 0) | (m & UART_MCR_OUT2 ? UART_MSR_DCD : 0);
	u8 changed = (u8)((vu.msr ^ in) & ~UART_MSR_DELTAS);
	u8 delta = (changed & UART_MSR_CTS ? UART_MSR_DCTS : 0) |
		   (changed & UART_MSR_DSR ? UART_MSR_DDSR : 0) |
		   (changed & UART_MSR_DCD ? UART_MSR_DDCD : 0) |
		   ((vu.msr & UART_MSR_RI) && !(in & UART_MSR_RI) ? UART_MSR_TERI : 0);
	vu.msr = in | (vu.msr & UART_MSR_DELTAS) | delta;
}

static u8 read_iir(void)
{
	u8 id = pending_id();
	if (id == UART_IIR_THRI)
		vu.thre_pending = false;
	return id | (fifo_on() ? UART_IIR_FIFO_ENABLED : 0);
}

static u8 read_lsr(u64 now)
{
	poll_input(now);
	u8 v = (vu.rx_count ? UART_LSR_DR : 0) | vu.lsr_err | UART_LSR_THRE | UART_LSR_TEMT;
	vu.lsr_err = 0;
	return v;
}

static u8 read_msr(void)
{
	u8 v = vu.msr;
	vu.msr &= (u8)~UART_MSR_DELTAS;
	return v;
}

static u8 vuart_read_byte(u16 reg, u64 now)
{
	bool dlab = vu.lcr & UART_LCR_DLAB;
	switch (reg) {
	case UART_RBR:
		if (dlab)
			return vu.dll;
		poll_input(now);
		return rx_take(now);
	case UART_IER: return dlab ? vu.dlm : vu.ier;
	case UART_IIR: return read_iir();
	case UART_LCR: return vu.lcr;
	case UART_MCR: return vu.mcr;
	case UART_LSR: return read_lsr(now);
	case UART_MSR: return read_msr();
	default: return vu.scr;
	}
}

static void write_thr(u8 c, u64 now)
{
	vu.thre_pending = false;
	update_irq(); /* THR holds the byte: the THRE interrupt ends... */
	if (vu.mcr & UART_MCR_LOOP)
		rx_put(c, now);
	else
		out_byte(c, now);
	vu.thre_pending = true; /* ...and THR is empty again at once: a new one */
}

static void write_ier(u8 v)
{
	u8 old = vu.ier;
	vu.ier = v & UART_IER_MASK;
	if ((old ^ vu.ier) & UART_IER_THRI)
		vu.thre_pending = vu.ier & UART_IER_THRI; /* THR is always empty */
}

/* Turning the FIFOs on or off clears both (QEMU); clearing the (always empty) transmitter
 * FIFO is a THR-empty event. DMA mode (bit 3) is kept and has no effect. */
static void write_fcr(u8 v, u64 now)
{
	if ((v ^ vu.fcr) & UART_FCR_ENABLE_FIFO)
		v |= UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT;
	if (v & UART_FCR_CLEAR_RCVR)
		rx_clear();
	if (v & UART_FCR_CLEAR_XMIT)
		vu.thre_pending = true;
	vu.fcr = v & (u8)~(UART_FCR_CLEAR_RCVR | UART_FCR_CLEAR_XMIT);
	rx_refill(now);
}

static void write_mcr(u8 v, u64 now)
{
	vu.mcr = v & UART_MCR_MASK;
	update_msr();
	rx_refill(now); /* typed bytes held back during loopback come in */
}

static void vuart_write_byte(u16 reg, u8 v, u64 now)
{
	bool dlab = vu.lcr & UART_LCR_DLAB;
	switch (reg) {
	case UART_THR:
		if (dlab)
			vu.dll = v;
		else
			write_thr(v, now);
		break;
	case UART_IER:
		if (dlab)
			vu.dlm = v;
		else
			write_ier(v);
		break;
	case UART_FCR: write_fcr(v, now); break;
	case UART_LCR: vu.lcr = v; break;
	case UART_MCR: write_mcr(v, now); break;
	case UART_SCR: vu.scr = v; break;
	default: break; /* LSR and MSR are read-only */
	}
}

/* A word or dword access covers consecutive registers, byte by byte, as on the PC bus. */
static u32 vuart_read(struct pio_device *d, u16 port, int size)
{
	u64 now = vtime_now();
	u32 v = 0;
	catch_up(now);
	for (int i = 0; i < size; i++)
		if (port + i < d->base + d->count)
			v |= (u32)vuart_read_byte((u16)(port + i - d->base), now) << (8 * i);
		else
			v |= 0xffu << (8 * i);
	update_irq();
	note_deadline();
	return v;
}

static void vuart_write(struct pio_device *d, u16 port, int size, u32 value)
{
	u64 now = vtime_now();
	catch_up(now);
	for (int i = 0; i < size && port + i < d->base + d->count; i++)
		vuart_write_byte((u16)(port + i - d->base), (value >> (8 * i)) & 0xff, now);
	update_irq();
	note_deadline();
}

/* Power-on state (data sheet: IER, IIR, FCR, LCR, MCR, LSR and the MSR deltas cleared); the
 * guest's output so far goes out, typed input not yet received is dropped. */
static void vuart_reset(struct pio_device *d)
{
	(void)d;
	vuart_flush();
	vu.ier = vu.mcr = vu.scr = vu.fcr = vu.dlm = vu.lcr = vu.lsr_err = 0;
	vu.dll = 1;
	vu.msr = UART_MSR_CTS | UART_MSR_DSR | UART_MSR_DCD;
	vu.thre_pending = false;
	rx_clear();
	vu.in_head = vu.in_count = 0;
	update_irq();
}

void vuart_init(u16 base)
{
	vu.dev = (struct pio_device){ "uart16550", base, 8, vuart_read, vuart_write, vuart_reset,
				     .neutral = true };
	vu.seen_deadline = IRQ_NONE;
	vuart_reset(&vu.dev);
	pio_register(&vu.dev);
}
