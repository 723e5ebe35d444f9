/* uart_irq.c - COM1 driven the way an interrupt-driven driver drives it: the 16550's registers,
 * the THR-empty interrupt's rules (Linux's UART_BUG_THRE test sequence and a transmit pump that
 * writes one byte per interrupt), the received-data interrupt at a FIFO trigger level, the
 * character timeout, overrun and IIR priorities, through the 8259 (IRQ 4 at vector 0x24).
 * Loopback keeps the test's own bytes off the console; results are printed afterwards, with
 * interrupts off, so that a run under QEMU (-kernel, the reference) and one under the
 * hypervisor print the same lines (tests/system/test_uart.py). Lines starting with "PC " show
 * what a PC does and QEMU's model does not (OUT2 gating the IRQ line, modem status deltas in
 * loopback); the test checks them under the hypervisor only.
 *
 * With "interactive" on the command line it is instead a tiny line editor on the RX
 * interrupt: prompt "uart> " (no newline), echo, backspace, Enter; it prints "got '<line>'"
 * and exits 0. It halts between keys with no timer armed: only the UART can wake it. */
#include "guest.h"
#include "idt.h"

#define COM1 0x3f8
#define THR 0
#define RBR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

#define IER_RDI 0x01
#define IER_THRI 0x02
#define IER_RLSI 0x04
#define IER_MSI 0x08
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_NORMAL (MCR_DTR | MCR_RTS | MCR_OUT2)
#define LSR_DR 0x01

#define PIC_BASE 0x20
#define VEC_COM1 (PIC_BASE + 4)
#define VEC_SPURIOUS (PIC_BASE + 7)

static uint8_t in(int reg) { return inb(COM1 + reg); }
static void out(int reg, uint8_t v) { outb(COM1 + reg, v); }

/* ---- the interrupt handler: one IIR read per interrupt, as a driver's handler loop would
 * start; what it saw is kept for printing later ---- */

static volatile uint32_t irqs, nseen, nrx;
static volatile uint8_t seen[32], msr_seen;
static volatile char rx[64];
static const char *volatile pump; /* bytes the THR-empty interrupt still has to send */

static void drain_rx(void)
{
	while ((in(LSR) & LSR_DR) && nrx < sizeof(rx) - 1)
		rx[nrx++] = (char)in(RBR);
	rx[nrx] = 0;
}

static void on_com1(struct idt_frame *f)
{
	(void)f;
	uint8_t iir = in(IIR);
	irqs++;
	if (nseen < sizeof(seen))
		seen[nseen++] = iir;
	switch (iir & 0x0f) {
	case 0x06: in(LSR); break;
	case 0x04: case 0x0c: drain_rx(); break;
	case 0x02:
		if (pump && *pump)
			out(THR, (uint8_t)*pump++);
		else
			out(IER, in(IER) & ~IER_THRI);
		break;
	case 0x00: msr_seen = in(MSR); break;
	}
	outb(0x20, 0x20); /* EOI */
}

static void on_spurious(struct idt_frame *f) { (void)f; }

/* The 8259s initialized (which also forgets edges latched before), only IRQ 4 unmasked. */
static void pic_init(void)
{
	outb(0x20, 0x11); outb(0x21, PIC_BASE); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, PIC_BASE + 8); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0xef);
	outb(0xa1, 0xff);
}

static uint8_t pic_irr(void)
{
	outb(0x20, 0x0a);
	return inb(0x20);
}

/* Starts an interrupt-driven step: the UART's sources off (its line low) and cleared, the PIC
 * fresh, the handler's records empty. Interrupts stay off until window() or wait_irq(). */
static void begin(uint8_t mcr, uint8_t fcr)
{
	out(IER, 0);
	out(MCR, mcr);
	out(FCR, fcr);
	in(LSR); /* forget overruns and modem line changes of earlier steps */
	in(MSR);
	pic_init();
	irqs = nseen = nrx = 0;
	msr_seen = 0;
	pump = 0;
}

/* Interrupts on for a while: whatever is pending is taken. */
static void window(void)
{
	__asm__ volatile("sti" ::: "memory");
	for (volatile int i = 0; i < 2000; i++)
		__asm__ volatile("pause");
	__asm__ volatile("cli" ::: "memory");
}

/* Halts with interrupts on until the handler ran n times in all. */
static void wait_irq(uint32_t n)
{
	for (uint32_t spins = 0; irqs < n && spins < 100000; spins++)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
}

static void set_divisor(uint16_t d)
{
	out(LCR, 0x83);
	out(DLL, (uint8_t)d);
	out(DLM, (uint8_t)(d >> 8));
	out(LCR, 0x03);
}

/* Back to the state the runtime's serial_init leaves, so that printf works. */
static void normal(void)
{
	out(IER, 0);
	set_divisor(1);
	out(FCR, 0x07);
	out(MCR, MCR_DTR | MCR_RTS);
	outb(0x21, 0xff);
}

static void print_seen(const char *label)
{
	printf("%s irqs=%u iirs=", label, irqs);
	for (uint32_t i = 0; i < nseen; i++)
		printf("%s0x%x", i ? "," : "", seen[i]);
	printf(" rx=%s\n", (const char *)rx);
}

/* ---- the checks ---- */

static void registers(void)
{
	out(IER, 0xff);
	uint8_t ier = in(IER);
	out(IER, 0);
	out(MCR, 0xff); /* loopback: MSR shows the MCR outputs */
	uint8_t mcr = in(MCR), msr_all = in(MSR) & 0xf0;
	out(MCR, MCR_LOOP | MCR_RTS | MCR_OUT2); /* Linux's autoconfig loopback check: 0x90 */
	uint8_t msr_linux = in(MSR) & 0xf0;
	out(MCR, MCR_DTR | MCR_RTS);
	uint8_t msr_normal = in(MSR) & 0xf0;
	out(SCR, 0xa5);
	uint8_t scr = in(SCR);
	out(LCR, 0x83);
	out(DLL, 0x34);
	out(DLM, 0x12);
	uint8_t dll = in(DLL), dlm = in(DLM);
	out(DLL, 0x01);
	out(DLM, 0x00);
	out(LCR, 0x03);
	out(FCR, 0x00);
	uint8_t iir_nofifo = in(IIR);
	out(FCR, 0x07);
	uint8_t iir_fifo = in(IIR), lsr = in(LSR);
	printf("regs ier=0x%x mcr=0x%x scr=0x%x dll=0x%x dlm=0x%x lcr=0x%x\n", ier, mcr, scr, dll,
	       dlm, in(LCR));
	printf("regs iir.nofifo=0x%x iir.fifo=0x%x lsr=0x%x\n", iir_nofifo, iir_fifo, lsr);
	printf("msr.loop all=0x%x linux_check=0x%x normal=0x%x\n", msr_all, msr_linux, msr_normal);
}

/* Polled, interrupts off: the THR-empty interrupt's identification rules. */
static void thre_rules(void)
{
	out(IER, 0);
	out(IER, IER_THRI);
	uint8_t on = in(IIR), again = in(IIR);
	out(IER, 0);
	out(IER, IER_THRI);
	uint8_t toggled = in(IIR);
	out(IER, IER_THRI);
	uint8_t no_change = in(IIR);
	out(MCR, MCR_LOOP | MCR_OUT2);
	out(THR, 'Q');
	uint8_t thr_write = in(IIR), lsr = in(LSR), rbr = in(RBR);
	normal();
	printf("thre ier_on=0x%x again=0x%x toggled=0x%x no_change=0x%x\n", on, again, toggled,
	       no_change);
	printf("thre thr_write=0x%x lsr=0x%x rbr=0x%x\n", thr_write, lsr, rbr);
}

/* A transmit pump: each THR-empty interrupt sends one byte (loopback into the receiver); the
 * last one turns IER.THRI off. */
static void thre_pump(void)
{
	begin(MCR_LOOP | MCR_OUT2, 0x07);
	pump = "hello";
	out(IER, IER_THRI);
	for (int i = 0; i < 20 && irqs < 6; i++)
		window();
	drain_rx();
	normal();
	print_seen("thre.pump");
}

/* Received data at trigger level 4 (slow divisor: no character timeout during the test). */
static void rx_trigger(void)
{
	begin(MCR_LOOP | MCR_OUT2, 0x47);
	set_divisor(0xffff);
	out(IER, IER_RDI);
	out(THR, 'a');
	out(THR, 'b');
	out(THR, 'c');
	uint8_t below = in(IIR);
	window();
	uint32_t irqs_below = irqs;
	out(THR, 'd');
	window();
	normal();
	printf("rx.trigger4 below=0x%x irqs_below=%u\n", below, irqs_below);
	print_seen("rx.trigger4");
}

/* One byte below the trigger level: the character timeout raises the interrupt after 4
 * character times (115200 baud), while the guest halts. */
static void rx_timeout(void)
{
	begin(MCR_LOOP | MCR_OUT2, 0x47);
	out(IER, IER_RDI);
	out(THR, 'x');
	wait_irq(1);
	normal();
	print_seen("rx.timeout");
}

/* Polled: overrun of a full FIFO, then the priorities line status > received data > THR
 * empty; and the holding register overwritten with FIFOs off. */
static void overrun(void)
{
	begin(MCR_LOOP | MCR_OUT2, 0x07);
	set_divisor(0xffff);
	out(IER, IER_RLSI | IER_RDI | IER_THRI);
	for (int i = 0; i < 17; i++)
		out(THR, (uint8_t)('0' + i));
	uint8_t iir_ls = in(IIR), lsr = in(LSR), iir_rx = in(IIR);
	drain_rx();
	uint8_t iir_thre = in(IIR), iir_none = in(IIR);
	out(IER, 0);
	out(FCR, 0x00);
	out(THR, 'p');
	out(THR, 'q');
	uint8_t lsr_nofifo = in(LSR), rbr_nofifo = in(RBR);
	normal();
	printf("overrun iirs=0x%x,0x%x,0x%x,0x%x lsr=0x%x rx=%s\n", iir_ls, iir_rx, iir_thre,
	       iir_none, lsr, (const char *)rx);
	printf("overrun nofifo.lsr=0x%x nofifo.rbr=0x%x\n", lsr_nofifo, rbr_nofifo);
}

/* What a PC does and QEMU does not: OUT2 gates the IRQ line (here THR empty, pending), and
 * loopback changes of the modem lines raise the modem status interrupt. */
static void pc_only(void)
{
	begin(MCR_DTR | MCR_RTS, 0x07);
	out(IER, IER_THRI);
	window();
	uint32_t irqs_clear = irqs;
	uint8_t irr4 = (pic_irr() >> 4) & 1;
	out(MCR, MCR_NORMAL);
	window();
	uint32_t irqs_set = irqs;
	normal();
	printf("PC out2.clear irqs=%u irr4=%u out2.set irqs=%u\n", irqs_clear, irr4, irqs_set);

	begin(MCR_NORMAL, 0x07);
	out(IER, IER_MSI);
	out(MCR, MCR_LOOP | MCR_OUT2); /* CTS and DSR fall */
	window();
	out(IER, 0);
	out(MCR, MCR_NORMAL);
	in(MSR); /* forget the deltas of leaving loopback */
	normal();
	printf("PC msi irqs=%u iir=0x%x msr=0x%x\n", irqs, nseen ? seen[0] : 0, msr_seen);
}

/* ---- interactive mode ---- */

static volatile char ring[64];
static volatile uint32_t ring_in;

static void on_com1_keys(struct idt_frame *f)
{
	(void)f;
	uint8_t iir;
	while (!((iir = in(IIR)) & 1))
		if ((iir & 0x0e) == 0x04 || (iir & 0x0e) == 0x0c)
			while (in(LSR) & LSR_DR)
				ring[ring_in++ % sizeof(ring)] = (char)in(RBR);
	outb(0x20, 0x20);
}

static int interactive(void)
{
	char line[40];
	uint32_t len = 0, taken = 0;
	idt_set_handler(VEC_COM1, on_com1_keys);
	begin(MCR_NORMAL, 0x87); /* trigger level 8, as Linux */
	out(IER, IER_RDI);
	puts("uart> ");
	for (;;) {
		while (taken == ring_in)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
		char c = ring[taken++ % sizeof(ring)];
		if (c == '\r' || c == '\n')
			break;
		if (c == 0x7f || c == '\b') {
			if (len) {
				len--;
				puts("\b \b");
			}
		} else if (c >= 0x20 && c < 0x7f && len < sizeof(line) - 1) {
			line[len++] = c;
			serial_putc(c);
		}
	}
	line[len] = 0;
	normal();
	printf("\ngot '%s'\n", line);
	return 0;
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	serial_init();
	idt_init();
	idt_set_handler(VEC_COM1, on_com1);
	idt_set_handler(VEC_SPURIOUS, on_spurious);
	const char *cl = (mbi->flags & 4) ? (const char *)mbi->cmdline : "";
	for (const char *s = cl; *s; s++)
		if (!memcmp(s, "interactive", 11))
			return interactive();
	registers();
	thre_rules();
	thre_pump();
	rx_trigger();
	rx_timeout();
	overrun();
	pc_only();
	puts("RESULT done\n");
	return 0;
}
