/* pit.h - the 8254 programmable interval timer (ports 0x40-0x43) and the channel 2 gate/output
 * bits of port 0x61 (the PC speaker port).
 *
 * Time: the PIT's 1.193182 MHz clock is derived from the guest TSC. "Clock c" is the absolute
 * PIT clock floor(tsc * PIT_HZ / hz); every pure function takes the TSC `now` and its rate `hz`.
 *
 * Behaviour (Intel 82C54 datasheet; QEMU hw/timer/i8254*.c where noted):
 *  - Control word (0x43): channel, access (latch / LSB / MSB / LSB then MSB), mode 0-5 (6 and 7
 *    act as 2 and 3 and read back as written), BCD. Writing it resets the read/write byte
 *    order, sets OUT to the mode's initial level (low in mode 0, high otherwise) and holds the
 *    counter until a count is written; NULL COUNT is set until the count is loaded.
 *  - Counts: 0 means 65536 (10000 in BCD). The count is loaded at the write itself (QEMU; the
 *    datasheet loads on the next CLK edge, one 838 ns clock later). In mode 0 the first byte of
 *    an LSB+MSB pair stops counting and drives OUT low until the second byte.
 *    Modes 0/4 restart on every count write; modes 2/3 take a new count at the end of the
 *    current period (the datasheet ends mode 3's half period; QEMU restarts at once); modes 1/5
 *    take it at the next gate trigger.
 *  - Modes: 0 OUT rises at terminal count (elapsed = N) and stays high, the counter wraps;
 *    1 one-shot: OUT low for N clocks after a gate rising edge; 2 rate generator: OUT low for
 *    the one clock before each reload (rises every N clocks); 3 square wave: high for
 *    ceil(N/2), low for floor(N/2), counter steps by 2 (odd counts as the datasheet: first step
 *    1 after a reload to high, 3 after a reload to low); 4 software strobe: OUT low for one
 *    clock at elapsed = N; 5 hardware strobe: like 4 after a gate rising edge.
 *    Counts of 1 in modes 2/3 (illegal on the chip) keep OUT high with no edges.
 *  - Gate: channels 0 and 1 are tied high; channel 2's gate is port 0x61 bit 0 (low at reset).
 *    Gate low pauses modes 0/4, stops modes 2/3 with OUT high (a rising gate reloads), and
 *    gate rising edges trigger modes 1/5, so modes 1 and 5 never start on channels 0 and 1.
 *    QEMU uses the gate only as a trigger/reload and starts every mode at the count write.
 *  - Latch command (access 00) and read-back (0xc0-0xff: status byte OUT, NULL COUNT, access,
 *    mode, BCD; then the latched count). A second latch before the count is read is ignored;
 *    a latched status is read before a latched count. Port 0x43 reads 0 (QEMU).
 *  - Port 0x61: read bit 0 gate 2, bit 1 speaker data, bit 4 toggles on every read (refresh
 *    request, as QEMU), bit 5 OUT2; other bits 0. Write: bit 0 gate 2, bit 1 speaker data.
 *  - IRQ 0 follows OUT0's rising edges (see pit_tick). BCD counting is supported.
 * Reset (QEMU): every channel mode 3, count 65536 loaded, access bits 00 (reads and writes act
 * as LSB only until a control word). Channel 0 therefore ticks IRQ 0 at 18.2 Hz from reset.
 */
#ifndef DEVICES_PIT_H
#define DEVICES_PIT_H

#include "arch/types.h"
#include "arch/i8254.h"

#define PIT_NO_EDGE (~0ULL)

/* One counter. Invariants: 1 <= cr, n <= 65536 (10000 when bcd); while counting the elapsed
 * clocks at clock c >= load_clk are d0 + (c - load_clk); switch_d is meaningful only in modes
 * 2/3 while null_count (a new count waits for the end of the period at elapsed == switch_d). */
struct i8254_channel {
	u8 mode;   /* M2-M0 as written */
	u8 access; /* RW1-RW0: 0 (reset value, acts as LSB), 1 LSB, 2 MSB, 3 LSB then MSB */
	bool bcd, gate;
	bool write_msb_next, read_msb_next;
	u8 write_lsb;
	u8 latch_bytes; /* 0 none, 1 LSB left, 2 MSB left, 3 both left (LSB first) */
	u16 latched;
	bool status_latched;
	u8 status;
	u32 cr, n;        /* count register (last written) and the count being used */
	bool armed;       /* a count was written since the control word */
	bool null_count;  /* cr not yet loaded into the counting element */
	bool triggered;   /* modes 1/5: a gate edge started the count */
	bool counting;
	bool start_edge;  /* load_clk is a reload of modes 2/3 (a rising OUT edge) */
	u64 load_clk, d0, switch_d;
	u32 hold;         /* counter value shown while nothing is counting (binary) */
};

struct i8254 {
	struct i8254_channel ch[3];
	bool speaker;      /* port 0x61 bit 1 */
	u8 refresh;        /* port 0x61 bit 4 */
	u64 irq_clk;       /* OUT0 rising edges up to this clock were reported by i8254_tick */
	bool edge_pending; /* an OUT0 edge was passed while handling a port access */
};

/* Power-on state at TSC now (see the header comment). */
void i8254_reset(struct i8254 *s, u64 now, u64 hz);
/* One byte at 0x40-0x43 or 0x61 (other ports: read 0xff, write ignored). */
u8 i8254_read(struct i8254 *s, u16 port, u64 now, u64 hz);
void i8254_write(struct i8254 *s, u16 port, u8 value, u64 now, u64 hz);
/* OUT of channel ch (0-2) at now. */
bool i8254_out(struct i8254 *s, int ch, u64 now, u64 hz);
/* Guest TSC of the first OUT0 rising edge not yet reported by i8254_tick (in the past when a
 * tick is overdue), or PIT_NO_EDGE. */
u64 i8254_next_edge(const struct i8254 *s, u64 hz);
/* Reports whether OUT0 had at least one rising edge since the previous call (or reset) up to
 * now; any number of missed edges count as one. */
bool i8254_tick(struct i8254 *s, u64 now, u64 hz);

/* ---- glue: the guest's PIT (one instance, time from vtime_now()/vtime_hz()) ---- */

/* Resets the PIT and registers 0x40-0x43 and 0x61. vtime_hz() must already be non-zero. */
void pit_init(void);
/* Guest TSC of the next OUT0 rising edge (an IRQ 0 request), IRQ_NONE when none will come. */
u64 pit_next_deadline(void);
/* Delivers OUT0's rising edges up to now on IRQ 0: at most one pulse per call however many
 * periods passed. A late call therefore drops ticks instead of bursting them; the PIC would
 * merge them into one IRR bit anyway unless the guest acknowledged each in time. Afterwards the
 * line is at OUT0's level. Port accesses call it first, so an edge of the old programming is
 * still delivered when the guest reprograms. */
void pit_tick(u64 now);

#endif
