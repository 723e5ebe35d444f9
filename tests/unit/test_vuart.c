/* SOURCES: devices/vuart.c devices/pio.c kernel/log.c kernel/fmt.c */
/*
 * test_vuart.c - devices/vuart.c, the guest's 16550A, through its ports (devices/pio.c) with
 * the guest TSC, IRQ 4 and the console faked here and the real kernel/log.c writing into a
 * buffer: reset values and register masks, IIR priorities and FIFO bits, the THR-empty
 * interrupt's rules (0 -> 1 of IER.THRI, cleared by the IIR read that reports it, re-raised
 * with a new edge by a THR write), the RX interrupt for typed input, trigger levels and the
 * character timeout, OUT2 gating the line, overrun of a full FIFO in loopback and the flow
 * control of typed input, MSR in loopback, and the console side: complete lines, the flush of
 * a partial line after the guest goes quiet, continuing it, hypervisor lines in between,
 * backspace and CR, the 200-character cut, the monitor's hold, and the device deadlines.
 */
#include "unit.h"

#include "arch/uart16550.h"
#include "devices/irq.h"
#include "devices/pio.h"
#include "kernel/log.h"

#define BASE 0x3f8
#define HZ 100000000ULL           /* a 100 MHz guest TSC */
#define CHAR_TICKS 8680ULL        /* 10 bits at 115200 baud: HZ * 160 / 1843200 */
#define IDLE (HZ / 100)           /* the partial-line flush delay, 10 ms */

/* ---- fakes: time, IRQ 4, panic, the console ---- */

bool intc_dirty;
static u64 now;
static bool line;
static int rises, falls;
static char out[8192];
static size_t out_len;

u64 vtime_now(void) { return now; }
u64 vtime_hz(void) { return HZ; }

void irq_set_line(u32 gsi, bool level)
{
	assert_int_equal(gsi, 4);
	assert_true(level != line); /* the model drives changes only */
	line = level;
	rises += level;
	falls += !level;
	intc_dirty = true;
}

void panic(const char *fmt, ...)
{
	fail_msg("panic: %s", fmt);
	abort();
}

static void capture(char c)
{
	assert_true(out_len < sizeof(out) - 1);
	out[out_len++] = c;
	out[out_len] = 0;
}

static int polls;
static const char *typed; /* what the fake console poll hands over, one byte per poll */

static void fake_poll(void)
{
	polls++;
	if (typed && *typed)
		vuart_push_input((u8)*typed++);
}

/* ---- helpers ---- */

static u8 rd(int reg)
{
	u32 v;
	assert_true(pio_read((u16)(BASE + reg), 1, &v));
	return (u8)v;
}

static void wr(int reg, u8 v)
{
	assert_true(pio_write((u16)(BASE + reg), 1, v));
}

static void guest_puts(const char *s)
{
	while (*s)
		wr(UART_THR, (u8)*s++);
}

static void clear_out(void)
{
	out_len = 0;
	out[0] = 0;
}

static void advance(u64 ticks)
{
	now += ticks;
}

static void tick(void)
{
	vuart_tick(now);
}

static int register_once(void **state)
{
	(void)state;
	log_set_output(capture);
	vuart_init(BASE);
	return 0;
}

/* Every test starts from a reset UART, an empty console and a later time than the last. */
static int setup(void **state)
{
	(void)state;
	vuart_hold(false);
	vuart_set_input(fake_poll);
	now += 1ULL << 32;
	pio_reset_all();
	(void)vuart_next_deadline(true);
	clear_out();
	rises = falls = polls = 0;
	typed = NULL;
	intc_dirty = false;
	return 0;
}

/* ---- registers ---- */

static void test_reset_values(void **state)
{
	(void)state;
	assert_int_equal(rd(UART_IER), 0);
	assert_int_equal(rd(UART_IIR), 0x01);
	assert_int_equal(rd(UART_LCR), 0);
	assert_int_equal(rd(UART_MCR), 0);
	assert_int_equal(rd(UART_LSR), 0x60);
	assert_int_equal(rd(UART_MSR), 0xb0); /* CTS DSR DCD, no deltas */
	assert_false(line);
}

static void test_register_masks_and_dlab(void **state)
{
	(void)state;
	wr(UART_IER, 0xff);
	assert_int_equal(rd(UART_IER), 0x0f);
	wr(UART_IER, 0);
	wr(UART_MCR, 0xff);
	assert_int_equal(rd(UART_MCR), 0x1f);
	wr(UART_MCR, 0);
	wr(UART_SCR, 0x5a);
	assert_int_equal(rd(UART_SCR), 0x5a);
	wr(UART_LCR, UART_LCR_DLAB | UART_LCR_WLEN8);
	wr(UART_DLL, 0x0c);
	wr(UART_DLM, 0x01);
	assert_int_equal(rd(UART_DLL), 0x0c);
	assert_int_equal(rd(UART_DLM), 0x01);
	wr(UART_LCR, UART_LCR_WLEN8);
	assert_int_equal(rd(UART_LCR), 0x03);
	assert_int_equal(rd(UART_IER), 0);
	assert_string_equal(out, ""); /* the DLL write sent nothing */
}

static void test_iir_fifo_bits(void **state)
{
	(void)state;
	wr(UART_FCR, UART_FCR_ENABLE_FIFO);
	assert_int_equal(rd(UART_IIR), 0xc1);
	wr(UART_FCR, 0xc7); /* trigger 14, both FIFOs cleared */
	assert_int_equal(rd(UART_IIR), 0xc1);
	wr(UART_FCR, 0);
	assert_int_equal(rd(UART_IIR), 0x01);
}

/* ---- THR empty ---- */

/* Linux's UART_BUG_THRE test (serial8250_do_startup): IER.THRI 0 -> 1 with THR empty raises
 * the interrupt, the IIR read that reports it clears it, and 0 -> 1 again raises it again. */
static void test_thre_rising_edge_and_iir_read(void **state)
{
	(void)state;
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_THRI);
	assert_true(line);
	assert_int_equal(rd(UART_IIR), 0x02);
	assert_false(line);
	assert_int_equal(rd(UART_IIR), 0x01);
	wr(UART_IER, UART_IER_THRI); /* no 0 -> 1 change: nothing */
	assert_int_equal(rd(UART_IIR), 0x01);
	wr(UART_IER, 0);
	wr(UART_IER, UART_IER_THRI);
	assert_int_equal(rd(UART_IIR), 0x02);
	assert_int_equal(rises, 2);
	assert_int_equal(falls, 2);
}

/* A THR write ends the interrupt and, the byte gone at once, raises it again: the line drops
 * and rises, a new edge for an edge-triggered 8259 even when nobody read IIR. */
static void test_thre_thr_write_reraises_with_edge(void **state)
{
	(void)state;
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_THRI);
	assert_int_equal(rises, 1);
	wr(UART_THR, 'x');
	assert_true(line);
	assert_int_equal(falls, 1);
	assert_int_equal(rises, 2);
	assert_int_equal(rd(UART_IIR), 0x02);
	assert_int_equal(rd(UART_IIR), 0x01);
	wr(UART_THR, 'y');
	assert_int_equal(rd(UART_IIR), 0x02);
	assert_int_equal(rd(UART_LSR) & 0x60, 0x60); /* THRE and TEMT: sent at once */
	wr(UART_IER, 0); /* clearing IER.THRI ends it too */
	wr(UART_THR, 'z');
	wr(UART_IER, UART_IER_RDI);
	assert_int_equal(rd(UART_IIR), 0x01);
	assert_false(line);
}

/* An IIR read that reports a higher source leaves THRE pending. */
static void test_thre_survives_iir_read_of_other_source(void **state)
{
	(void)state;
	wr(UART_IER, UART_IER_THRI | UART_IER_RDI);
	vuart_push_input('a');
	assert_int_equal(rd(UART_IIR), 0x04);
	assert_int_equal(rd(UART_IIR), 0x04);
	assert_int_equal(rd(UART_RBR), 'a');
	assert_int_equal(rd(UART_IIR), 0x02);
	assert_int_equal(rd(UART_IIR), 0x01);
}

/* ---- priorities ---- */

/* All four sources at once, in loopback: line status > received data > THR empty > modem
 * status, each cleared by its own action. */
static void test_iir_priorities(void **state)
{
	(void)state;
	wr(UART_FCR, UART_FCR_ENABLE_FIFO); /* trigger level 1 */
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2); /* CTS and DSR fall: modem status deltas */
	wr(UART_IER, UART_IER_MASK);
	for (int i = 0; i < 17; i++) /* 16 fit, the 17th overruns */
		wr(UART_THR, (u8)('A' + i));
	assert_true(line);
	assert_int_equal(rd(UART_IIR), 0xc6);
	assert_int_equal(rd(UART_LSR), 0x63); /* DR OE THRE TEMT; OE cleared by the read */
	assert_int_equal(rd(UART_IIR), 0xc4);
	for (int i = 0; i < 16; i++)
		assert_int_equal(rd(UART_RBR), 'A' + i);
	assert_int_equal(rd(UART_IIR), 0xc2);
	assert_int_equal(rd(UART_IIR), 0xc0); /* THRE cleared by the read that reported it */
	assert_int_equal(rd(UART_MSR), 0x80 | UART_MSR_DCTS | UART_MSR_DDSR);
	assert_int_equal(rd(UART_IIR), 0xc1);
	assert_false(line);
	assert_string_equal(out, ""); /* loopback output never reaches the console */
}

/* ---- receiving ---- */

static void test_rx_interrupt_on_push(void **state)
{
	(void)state;
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_IER, UART_IER_RDI);
	assert_false(line);
	assert_true(vuart_push_input('a'));
	assert_true(line);
	assert_int_equal(rd(UART_IIR), 0x04);
	assert_int_equal(rd(UART_LSR), 0x61);
	assert_int_equal(rd(UART_RBR), 'a');
	assert_false(line);
	assert_int_equal(rd(UART_IIR), 0x01);
	wr(UART_FCR, UART_FCR_ENABLE_FIFO);
	vuart_push_input('b');
	assert_true(line);
	assert_int_equal(rd(UART_IIR), 0xc4);
}

/* Below the trigger level nothing is raised until the character timeout, 4 character times
 * after the last byte in or out; from the level up, received data at once; a timeout also
 * comes above the level and wins (QEMU); reading RBR ends it. */
static void test_rx_trigger_level_and_timeout(void **state)
{
	(void)state;
	wr(UART_LCR, UART_LCR_WLEN8); /* 8N1 at the reset divisor 1: 10 bits at 115200 baud */
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_FCR, UART_FCR_ENABLE_FIFO | 1 << UART_FCR_TRIGGER_SHIFT); /* 4 bytes */
	wr(UART_IER, UART_IER_RDI);
	u64 t0 = now;
	for (const char *s = "abc"; *s; s++)
		vuart_push_input((u8)*s);
	assert_false(line);
	assert_int_equal(rd(UART_IIR), 0xc1);
	assert_true(vuart_next_deadline(true) == t0 + 4 * CHAR_TICKS);
	now = t0 + 4 * CHAR_TICKS - 1;
	tick();
	assert_false(line);
	assert_int_equal(rd(UART_IIR), 0xc1);
	advance(1);
	tick();
	assert_true(line);
	assert_int_equal(rd(UART_IIR), 0xcc);
	assert_int_equal(rd(UART_RBR), 'a');
	assert_false(line);
	assert_int_equal(rd(UART_IIR), 0xc1);
	assert_true(vuart_next_deadline(true) == now + 4 * CHAR_TICKS);
	vuart_push_input('d');
	vuart_push_input('e'); /* 4 bytes: the level */
	assert_true(line);
	assert_int_equal(rd(UART_IIR), 0xc4);
	advance(4 * CHAR_TICKS);
	assert_int_equal(rd(UART_IIR), 0xcc); /* caught up at the access, no tick needed */
	wr(UART_IER, 0);
	assert_false(line);
	assert_int_equal(rd(UART_IIR), 0xc1); /* the timeout needs IER.RDI too */
}

/* The character time follows the divisor and LCR: 12 (9600 baud), 7 data bits, parity, 2
 * stop bits = 11 bits. */
static void test_rx_timeout_follows_divisor_and_lcr(void **state)
{
	(void)state;
	wr(UART_LCR, UART_LCR_DLAB);
	wr(UART_DLL, 12);
	wr(UART_LCR, 0x02 | UART_LCR_PARITY | UART_LCR_STOP);
	wr(UART_MCR, UART_MCR_OUT2);
	wr(UART_FCR, UART_FCR_ENABLE_FIFO | 2 << UART_FCR_TRIGGER_SHIFT);
	wr(UART_IER, UART_IER_RDI);
	vuart_push_input('a');
	assert_true(vuart_next_deadline(true) == now + 4 * (HZ * 11 * 16 * 12 / 1843200));
	assert_true(vuart_next_deadline(false) == IRQ_NONE); /* IRQ 4 cannot reach the CPU */
}

/* ---- the IRQ line ---- */

static void test_out2_gates_the_line(void **state)
{
	(void)state;
	wr(UART_IER, UART_IER_THRI);
	assert_false(line); /* pending, but OUT2 is clear */
	assert_int_equal(rises, 0);
	wr(UART_MCR, UART_MCR_OUT2);
	assert_true(line);
	wr(UART_MCR, UART_MCR_DTR | UART_MCR_RTS);
	assert_false(line);
	assert_int_equal(rd(UART_IIR), 0x02); /* IIR does not depend on OUT2 */
	wr(UART_IER, 0);
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2); /* the bit gates in loopback too (Bochs) */
	wr(UART_IER, UART_IER_THRI);
	assert_true(line);
}

/* ---- full receiver ---- */

static void test_loopback_overrun(void **state)
{
	(void)state;
	wr(UART_MCR, UART_MCR_LOOP);
	wr(UART_FCR, UART_FCR_ENABLE_FIFO);
	for (int i = 0; i < 20; i++)
		wr(UART_THR, (u8)i);
	assert_int_equal(rd(UART_LSR), 0x63);
	assert_int_equal(rd(UART_LSR), 0x61);
	for (int i = 0; i < 16; i++) /* the first 16 kept, the rest lost */
		assert_int_equal(rd(UART_RBR), i);
	assert_int_equal(rd(UART_LSR), 0x60);
	wr(UART_FCR, 0); /* holding register: a second byte overwrites the first */
	wr(UART_THR, 'p');
	wr(UART_THR, 'q');
	assert_int_equal(rd(UART_LSR), 0x63);
	assert_int_equal(rd(UART_RBR), 'q');
	assert_int_equal(rd(UART_LSR), 0x60);
}

/* Typed input waits in front of the receiver instead of overrunning it. */
static void test_typed_input_flow_control(void **state)
{
	(void)state;
	wr(UART_FCR, UART_FCR_ENABLE_FIFO);
	int accepted = 0;
	while (accepted < 200 && vuart_push_input((u8)accepted))
		accepted++;
	assert_int_equal(accepted, 16 + 64); /* the FIFO, then the queue */
	assert_int_equal(rd(UART_LSR), 0x61); /* no OE */
	for (int i = 0; i < accepted; i++)
		assert_int_equal(rd(UART_RBR), i);
	assert_int_equal(rd(UART_LSR), 0x60);
	wr(UART_FCR, 0);
	vuart_push_input('x');
	vuart_push_input('y');
	assert_int_equal(rd(UART_LSR), 0x61);
	assert_int_equal(rd(UART_RBR), 'x');
	assert_int_equal(rd(UART_RBR), 'y');
	wr(UART_MCR, UART_MCR_LOOP); /* loopback: typed input waits until it ends */
	vuart_push_input('z');
	assert_int_equal(rd(UART_LSR), 0x60);
	wr(UART_MCR, 0);
	assert_int_equal(rd(UART_LSR), 0x61);
	assert_int_equal(rd(UART_RBR), 'z');
}

/* ---- modem status ---- */

static void test_msr_loopback(void **state)
{
	(void)state;
	wr(UART_IER, UART_IER_MSI);
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_RTS | UART_MCR_OUT2); /* Linux's autoconfig check */
	assert_true(line);
	assert_int_equal(rd(UART_IIR), 0x00);
	assert_int_equal(rd(UART_MSR), 0x90 | UART_MSR_DDSR);
	assert_false(line);
	assert_int_equal(rd(UART_MSR), 0x90);
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_OUT1 | UART_MCR_DTR);
	assert_int_equal(rd(UART_MSR), 0xe0 | UART_MSR_DCTS | UART_MSR_DDSR);
	wr(UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_DTR); /* RI falls */
	assert_int_equal(rd(UART_MSR), 0xa0 | UART_MSR_TERI);
	wr(UART_MCR, UART_MCR_OUT2); /* back to the terminal's lines */
	assert_int_equal(rd(UART_MSR), 0xb0 | UART_MSR_DCTS);
	assert_int_equal(rd(UART_IIR), 0x01);
}

/* ---- console output ---- */

static void test_output_complete_lines(void **state)
{
	(void)state;
	guest_puts("hello\r\n\r\nbye\n");
	assert_string_equal(out, "[guest] hello\r\n[guest] \r\n[guest] bye\r\n");
	guest_puts("x\x01\x7f\xe9\t.\n");
	assert_string_equal(out + strlen("[guest] hello\r\n[guest] \r\n[guest] bye\r\n"),
			    "[guest] x???\t.\r\n");
}

/* A prompt shows once the guest has been quiet for IDLE; what follows continues its line. */
static void test_output_partial_line_flush(void **state)
{
	(void)state;
	guest_puts("/ # ");
	u64 t = now;
	assert_true(vuart_next_deadline(true) == t + IDLE);
	now = t + IDLE - 1;
	tick();
	assert_string_equal(out, "");
	advance(1);
	tick();
	assert_string_equal(out, "[guest] / # ");
	assert_true(console_mid_line());
	assert_true(vuart_next_deadline(true) == IRQ_NONE);
	guest_puts("l");
	advance(IDLE);
	tick();
	guest_puts("s\r\n");
	assert_string_equal(out, "[guest] / # ls\r\n");
	assert_false(console_mid_line());
}

/* The first byte of a new partial line is an earlier deadline: the interrupt code is told;
 * later bytes only push it back. */
static void test_output_deadline_marks_dirty(void **state)
{
	(void)state;
	guest_puts("a");
	assert_true(intc_dirty);
	(void)vuart_next_deadline(true);
	intc_dirty = false;
	guest_puts("b");
	assert_false(intc_dirty);
}

/* A hypervisor line ends an open guest line; the guest's next text starts a new one. */
static void test_output_hv_line_between(void **state)
{
	(void)state;
	guest_puts("/ # ");
	advance(IDLE);
	tick();
	klog(LOG_WARN, "something");
	guest_puts("ls\n");
	assert_string_equal(out, "[guest] / # \r\n[hv W] something\r\n[guest] ls\r\n");
	clear_out();
	guest_puts("$ ");
	advance(IDLE);
	tick();
	klog(LOG_WARN, "again");
	vuart_flush(); /* nothing left to end */
	assert_string_equal(out, "[guest] $ \r\n[hv W] again\r\n");
}

/* "\b \b" (a shell erasing a key) leaves the plain text while it still waits; once the text is
 * on the console, BS and the rest go through for the terminal. */
static void test_output_backspace(void **state)
{
	(void)state;
	guest_puts("ab\b \bc\n");
	assert_string_equal(out, "[guest] ac\r\n");
	clear_out();
	guest_puts("x");
	advance(IDLE);
	tick();
	guest_puts("\b \b\x1b[K");
	advance(IDLE);
	tick();
	assert_string_equal(out, "[guest] x\b \b\x1b[K");
}

/* CR LF ends a line; a CR with something other than LF after it ends the line too. */
static void test_output_lone_cr(void **state)
{
	(void)state;
	guest_puts("10%\r20%\r\r\n");
	assert_string_equal(out, "[guest] 10%\r\n[guest] 20%\r\n");
}

static void test_output_cut_at_200(void **state)
{
	(void)state;
	char buf[451];
	memset(buf, 'x', 450);
	buf[450] = 0;
	guest_puts(buf);
	vuart_flush();
	const char *p = out;
	for (int piece = 0; piece < 3; piece++) {
		int want = piece < 2 ? 200 : 50;
		assert_memory_equal(p, "[guest] ", 8);
		p += 8;
		assert_int_equal(strspn(p, "x"), want);
		p += want;
		assert_memory_equal(p, "\r\n", 2);
		p += 2;
	}
	assert_int_equal(*p, 0);
	clear_out();
	guest_puts("12345"); /* a partial line on the console counts toward the 200 */
	advance(IDLE);
	tick();
	guest_puts(buf);
	assert_int_equal(strlen("[guest] ") + 200 + 2, strcspn(out, "\n") + 1);
}

/* While the monitor is open: an open line is ended, finished lines wait, a partial one is
 * not flushed; on release the lines come out in order and the partial flushes later. */
static void test_output_hold(void **state)
{
	(void)state;
	guest_puts("/ # ");
	advance(IDLE);
	tick();
	vuart_hold(true);
	assert_string_equal(out, "[guest] / # \r\n");
	clear_out();
	guest_puts("ls\r\nbin\r\ndev");
	advance(IDLE);
	tick();
	assert_string_equal(out, "");
	assert_true(vuart_next_deadline(true) == IRQ_NONE);
	vuart_hold(false);
	assert_string_equal(out, "[guest] ls\r\n[guest] bin\r\n");
	tick();
	assert_string_equal(out, "[guest] ls\r\n[guest] bin\r\n[guest] dev");
}

static void test_flush_ends_line(void **state)
{
	(void)state;
	guest_puts("end");
	vuart_flush();
	assert_string_equal(out, "[guest] end\r\n");
	clear_out();
	guest_puts("p> ");
	advance(IDLE);
	tick();
	vuart_flush();
	assert_string_equal(out, "[guest] p> \r\n");
	vuart_flush();
	assert_string_equal(out, "[guest] p> \r\n");
}

/* ---- typed input for a guest waiting on the RX interrupt ---- */

/* With IER.RDI, OUT2 and IRQ 4 deliverable, the device asks to be ticked for console polls
 * (a guest halted on the interrupt must see a key); without them it does not. */
static void test_input_poll_deadline(void **state)
{
	(void)state;
	assert_true(vuart_next_deadline(true) == IRQ_NONE);
	wr(UART_IER, UART_IER_RDI);
	assert_true(vuart_next_deadline(true) == IRQ_NONE); /* OUT2 clear */
	intc_dirty = false;
	wr(UART_MCR, UART_MCR_OUT2);
	assert_true(intc_dirty); /* a deadline appeared */
	u64 t = vuart_next_deadline(true);
	assert_true(t <= now);
	assert_true(vuart_next_deadline(false) == IRQ_NONE);
	typed = "k";
	tick();
	assert_int_equal(polls, 1);
	assert_true(line);
	assert_int_equal(rd(UART_RBR), 'k');
	t = vuart_next_deadline(true);
	assert_true(t > now && t <= now + (1ULL << 17));
	now = t;
	tick();
	assert_int_equal(polls, 2);
	assert_false(line);
}

/* A 16-bit access covers two registers; past the 8 ports reads all ones. */
static void test_word_access(void **state)
{
	(void)state;
	wr(UART_SCR, 0x42);
	u32 v;
	assert_true(pio_read(BASE + UART_MSR, 2, &v));
	assert_int_equal(v, 0x42b0);
	wr(UART_MCR, 0x03);
	assert_true(pio_read(BASE + UART_LCR, 2, &v));
	assert_int_equal(v, 0x0300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_values, setup),
		cmocka_unit_test_setup(test_register_masks_and_dlab, setup),
		cmocka_unit_test_setup(test_iir_fifo_bits, setup),
		cmocka_unit_test_setup(test_thre_rising_edge_and_iir_read, setup),
		cmocka_unit_test_setup(test_thre_thr_write_reraises_with_edge, setup),
		cmocka_unit_test_setup(test_thre_survives_iir_read_of_other_source, setup),
		cmocka_unit_test_setup(test_iir_priorities, setup),
		cmocka_unit_test_setup(test_rx_interrupt_on_push, setup),
		cmocka_unit_test_setup(test_rx_trigger_level_and_timeout, setup),
		cmocka_unit_test_setup(test_rx_timeout_follows_divisor_and_lcr, setup),
		cmocka_unit_test_setup(test_out2_gates_the_line, setup),
		cmocka_unit_test_setup(test_loopback_overrun, setup),
		cmocka_unit_test_setup(test_typed_input_flow_control, setup),
		cmocka_unit_test_setup(test_msr_loopback, setup),
		cmocka_unit_test_setup(test_output_complete_lines, setup),
		cmocka_unit_test_setup(test_output_partial_line_flush, setup),
		cmocka_unit_test_setup(test_output_deadline_marks_dirty, setup),
		cmocka_unit_test_setup(test_output_hv_line_between, setup),
		cmocka_unit_test_setup(test_output_backspace, setup),
		cmocka_unit_test_setup(test_output_lone_cr, setup),
		cmocka_unit_test_setup(test_output_cut_at_200, setup),
		cmocka_unit_test_setup(test_output_hold, setup),
		cmocka_unit_test_setup(test_flush_ends_line, setup),
		cmocka_unit_test_setup(test_input_poll_deadline, setup),
		cmocka_unit_test_setup(test_word_access, setup),
	};
	return cmocka_run_group_tests(tests, register_once, NULL);
}
