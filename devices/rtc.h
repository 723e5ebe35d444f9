/* rtc.h - the MC146818 real-time clock and CMOS RAM of the PC (index port 0x70, data 0x71).
 *
 * Time: the chip's 32.768 kHz divider chain is derived from the guest TSC ("cycles"); the date
 * is a start time (seconds since 1970-01-01 00:00 UTC, from the host's RTC) plus the elapsed
 * guest time. Every pure function takes the TSC `now` and its rate `hz`.
 *
 * Registers (MC146818A datasheet; QEMU hw/rtc/mc146818rtc.c where noted):
 *  - 0x70 write: bits 6:0 select the register, bit 7 is the NMI mask (stored, see rtc_nmi_masked);
 *    0x70 reads 0xff (QEMU).
 *  - 0x00-0x09 seconds, alarm seconds, minutes, alarm minutes, hours, alarm hours, day of week
 *    (1 = Sunday), day of month, month, year; 0x32 century (0x37 is an alias, as QEMU). BCD or
 *    binary per B.DM, 12-hour (bit 7 = PM, 12 AM = 12) or 24-hour per B.24/12. Writing a time
 *    register while the clock runs sets the clock at once (QEMU); while B.SET is 1 or the divider
 *    is stopped the registers hold what was written and become the time when the clock runs
 *    again. Out-of-range values are normalized as mktime() would.
 *  - A: UIP (read-only) is 1 during the last 244 us before each update while the clock runs;
 *    DV2-0 (bits 6:4): 010 (and, as QEMU, 000/001) run the clock, 11x hold the divider in reset
 *    (the first update then comes 500 ms after the reset ends), others stop it; RS3-0 (bits
 *    3:0) the periodic rate (1 and 2 act as 8 and 9, 0 = off). Reset value 0x26.
 *  - B: SET stops updates and clears UIE; PIE, AIE, UIE enable IRQ 8; SQWE, DSE are stored and
 *    do nothing. Reset value 0x02 (24-hour, BCD).
 *  - C (read-only, cleared by reading): IRQF = (PF & PIE) | (AF & AIE) | (UF & UIE), PF at every
 *    periodic tick (also without PIE, as the datasheet; QEMU sets PF only with PIE), AF when an
 *    update reaches the alarm time (0xc0-0xff = don't care; not while SET), UF at every update
 *    (also while SET, as QEMU).
 *  - D reads 0x80 (VRT: battery good); writes ignored. C and D are not writable.
 *  - 0x0e-0x7f: CMOS RAM, read/write. Filled as QEMU's pc machine: 0x14 equipment 0x06 (FPU,
 *    PS/2 mouse, no floppy), 0x15/0x16 base memory in KiB (640), 0x17/0x18 and 0x30/0x31
 *    memory above 1 MiB in KiB (capped at 65535), 0x34/0x35 memory above 16 MiB below 4 GiB in
 *    64 KiB units (capped at 65535), 0x5b-0x5d memory above 4 GiB in 64 KiB units, 0x5f CPUs
 *    minus one (0). Not filled (QEMU fills them from its drive configuration): 0x10 floppy
 *    types, 0x12/0x19/0x1a hard disks, 0x38/0x3d boot order; no checksum at 0x2e/0x2f.
 * IRQ 8 is IRQF: it rises when an enabled event happens and falls when C is read.
 * Device reset keeps the time and RAM, clears PIE, AIE, UIE and SQWE (the datasheet's RESET;
 * QEMU keeps UIE) and the flags.
 */
#ifndef DEVICES_RTC_H
#define DEVICES_RTC_H

#include "arch/types.h"

#define RTC_PORT 0x70 /* 0x70 index, 0x71 data */
#define RTC_HZ 32768ULL
#define RTC_REG_CENTURY 0x32 /* CMOS index of the century byte (the FADT's CENTURY) */
#define RTC_NO_EVENT (~0ULL)

/* Invariants: while running, the chain is at base_cyc + cycles(now - base_tsc), else at
 * base_cyc; while !frozen the time is sec_base + (cycle / 32768 - sec_idx) and cmos[0..9, 0x32]
 * are only a cache; frozen == (B.SET || !running); flags_cyc <= the chain's cycle. */
struct mc146818 {
	u8 cmos[128];
	u8 index;
	bool nmi_masked;
	bool running, frozen;
	u64 base_tsc, base_cyc;
	s64 sec_base;
	u64 sec_idx;
	u64 flags_cyc; /* register C holds the events up to this cycle */
};

/* Power-on state: time = epoch_seconds at TSC now, A/B/C/D = 0x26/0x02/0x00/0x80, RAM zero
 * except the equipment byte. */
void mc146818_init(struct mc146818 *s, u64 epoch_seconds, u64 now, u64 hz);
/* The memory-size bytes for ram_below_4g bytes of RAM from address 0 and ram_above_4g bytes
 * from 4 GiB (QEMU's pc puts at most 3 GiB below 4 GiB once RAM reaches 3.5 GiB). */
void mc146818_set_memory(struct mc146818 *s, u64 ram_below_4g, u64 ram_above_4g);
/* Device reset (see the header comment). */
void mc146818_reset(struct mc146818 *s, u64 now, u64 hz);
/* One byte at 0x70/0x71 (other ports: read 0xff, write ignored). */
u8 mc146818_read(struct mc146818 *s, u16 port, u64 now, u64 hz);
void mc146818_write(struct mc146818 *s, u16 port, u8 value, u64 now, u64 hz);
/* IRQ 8 level (IRQF) at now. */
bool mc146818_irq(struct mc146818 *s, u64 now, u64 hz);
/* Guest TSC of the next event that will raise IRQ 8, or RTC_NO_EVENT (IRQF already high, no
 * enabled event, or the clock stopped). */
u64 mc146818_next_event(struct mc146818 *s, u64 now, u64 hz);
/* The clock as seconds since the epoch at now (the registers' time while frozen). */
s64 mc146818_time(struct mc146818 *s, u64 now, u64 hz);

/* ---- glue: the guest's RTC (one instance, time from vtime_now()/vtime_hz()) ---- */

/* Starts the clock at epoch_seconds, fills the memory-size bytes, registers 0x70-0x71.
 * vtime_hz() must already be non-zero. */
void rtc_init(u64 epoch_seconds, u64 ram_below_4g, u64 ram_above_4g);
/* Guest TSC at which IRQ 8 will rise, IRQ_NONE when it will not. */
u64 rtc_next_deadline(void);
/* Brings IRQ 8 up to date at now (irq_set_line on changes). */
void rtc_tick(u64 now);
/* Port 0x70 bit 7 as last written: the guest asked for NMIs to be masked. */
bool rtc_nmi_masked(void);

#endif
