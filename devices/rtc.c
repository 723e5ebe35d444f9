/* rtc.c - the MC146818 RTC and CMOS RAM: a pure state machine (struct mc146818) timed by the
 * guest TSC, and its port and IRQ 8 glue. */
#include "devices/rtc.h"
#include "devices/irq.h"
#include "devices/pio.h"
#include "kernel/lib.h"

#define REG_SEC 0x00
#define REG_SEC_ALARM 0x01
#define REG_MIN 0x02
#define REG_MIN_ALARM 0x03
#define REG_HOUR 0x04
#define REG_HOUR_ALARM 0x05
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MONTH 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_EQUIPMENT 0x14
#define REG_CENTURY RTC_REG_CENTURY
#define REG_CENTURY_PS2 0x37 /* IBM PS/2 alias of the century byte */

#define A_UIP 0x80
#define A_DV(a) (((a) >> 4) & 7)
#define A_RS(a) ((a) & 0x0f)
#define DV_RESET 6 /* 11x */
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM 0x04 /* binary */
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define C_FLAGS (C_PF | C_AF | C_UF)
#define D_VRT 0x80
#define HOUR_PM 0x80
#define DONT_CARE(v) (((v) & 0xc0) == 0xc0)

#define UIP_CYCLES 8 /* 244 us */
#define SEC_PER_DAY 86400

/* ---- calendar (proleptic Gregorian, days since 1970-01-01) ---- */

static s64 floor_div(s64 a, s64 b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static s64 days_from_civil(s64 y, s64 month, s64 mday)
{
	y += floor_div(month - 1, 12);
	s64 m = month - 1 - floor_div(month - 1, 12) * 12 + 1; /* 1-12 */
	y -= m <= 2;
	s64 era = floor_div(y, 400);
	s64 yoe = y - era * 400;
	s64 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	s64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + mday - 1;
}

struct civil {
	s64 year;
	int month, mday, wday; /* 1-12, 1-31, 0 = Sunday */
	int hour, min, sec;
};

static struct civil civil_from_time(s64 t)
{
	struct civil c;
	s64 z = floor_div(t, SEC_PER_DAY), sod = t - z * SEC_PER_DAY;
	c.hour = sod / 3600;
	c.min = sod / 60 % 60;
	c.sec = sod % 60;
	c.wday = (int)(z - floor_div(z + 4, 7) * 7 + 4); /* 1970-01-01 was a Thursday */
	z += 719468;
	s64 era = floor_div(z, 146097);
	s64 doe = z - era * 146097;
	s64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	s64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	s64 mp = (5 * doy + 2) / 153;
	c.mday = doy - (153 * mp + 2) / 5 + 1;
	c.month = mp < 10 ? mp + 3 : mp - 9;
	c.year = yoe + era * 400 + (c.month <= 2);
	return c;
}

/* ---- register encoding ---- */

static u8 to_reg(const struct mc146818 *s, int v)
{
	return s->cmos[REG_B] & B_DM ? v : (v / 10) << 4 | v % 10;
}

static int from_reg(const struct mc146818 *s, u8 v)
{
	return s->cmos[REG_B] & B_DM ? v : (v >> 4) * 10 + (v & 15);
}

static u8 hour_to_reg(const struct mc146818 *s, int h)
{
	if (s->cmos[REG_B] & B_24H)
		return to_reg(s, h);
	return to_reg(s, h % 12 ? h % 12 : 12) | (h >= 12 ? HOUR_PM : 0);
}

static int hour_from_reg(const struct mc146818 *s, u8 v)
{
	if (s->cmos[REG_B] & B_24H)
		return from_reg(s, v);
	return from_reg(s, v & ~HOUR_PM) % 12 + (v & HOUR_PM ? 12 : 0);
}

static void fill_time_regs(struct mc146818 *s, s64 t)
{
	struct civil c = civil_from_time(t);
	s64 y = c.year < 0 ? 0 : c.year;
	s->cmos[REG_SEC] = to_reg(s, c.sec);
	s->cmos[REG_MIN] = to_reg(s, c.min);
	s->cmos[REG_HOUR] = hour_to_reg(s, c.hour);
	s->cmos[REG_WDAY] = to_reg(s, c.wday + 1);
	s->cmos[REG_MDAY] = to_reg(s, c.mday);
	s->cmos[REG_MONTH] = to_reg(s, c.month);
	s->cmos[REG_YEAR] = to_reg(s, y % 100);
	s->cmos[REG_CENTURY] = to_reg(s, y / 100 % 100);
}

/* The registers' time; the day of week is ignored (recomputed from the date, as QEMU). */
static s64 parse_time_regs(const struct mc146818 *s)
{
	const u8 *r = s->cmos;
	s64 year = from_reg(s, r[REG_CENTURY]) * 100 + from_reg(s, r[REG_YEAR]);
	s64 days = days_from_civil(year, from_reg(s, r[REG_MONTH]), from_reg(s, r[REG_MDAY]));
	return days * SEC_PER_DAY + hour_from_reg(s, r[REG_HOUR]) * 3600 +
	       from_reg(s, r[REG_MIN]) * 60 + from_reg(s, r[REG_SEC]);
}

/* ---- the divider chain ---- */

static u64 cycles_in(u64 dt, u64 hz)
{
	return (dt / hz) * RTC_HZ + (dt % hz) * RTC_HZ / hz;
}

static u64 cycle_at(const struct mc146818 *s, u64 now, u64 hz)
{
	if (!s->running || now <= s->base_tsc)
		return s->base_cyc;
	return s->base_cyc + cycles_in(now - s->base_tsc, hz);
}

/* First TSC at which the chain has reached cycle x (> base_cyc, chain running). */
static u64 tsc_of_cycle(const struct mc146818 *s, u64 x, u64 hz)
{
	u64 dc = x - s->base_cyc;
	return s->base_tsc + (dc / RTC_HZ) * hz + ((dc % RTC_HZ) * hz + RTC_HZ - 1) / RTC_HZ;
}

static s64 time_at(const struct mc146818 *s, u64 cyc)
{
	return s->sec_base + (s64)(cyc / RTC_HZ - s->sec_idx);
}

static void set_time(struct mc146818 *s, s64 t, u64 cyc)
{
	s->sec_base = t;
	s->sec_idx = cyc / RTC_HZ;
}

/* Periodic interrupt period in cycles, 0 when off. */
static u64 period(const struct mc146818 *s)
{
	int rs = A_RS(s->cmos[REG_A]);
	if (!rs)
		return 0;
	if (rs <= 2)
		rs += 7;
	return 1ULL << (rs - 1);
}

/* Seconds (1-86400) from second-of-day sod to the next second matching the alarm registers, or
 * 0 when they never match. */
static u32 alarm_next(const struct mc146818 *s, s64 sod)
{
	const u8 *r = s->cmos;
	int ah = DONT_CARE(r[REG_HOUR_ALARM]) ? -1 : hour_from_reg(s, r[REG_HOUR_ALARM]);
	int am = DONT_CARE(r[REG_MIN_ALARM]) ? -1 : from_reg(s, r[REG_MIN_ALARM]);
	int as = DONT_CARE(r[REG_SEC_ALARM]) ? -1 : from_reg(s, r[REG_SEC_ALARM]);
	if (ah > 23 || am > 59 || as > 59)
		return 0;
	int h0 = sod / 3600, m0 = sod / 60 % 60, s0 = sod % 60;
	for (int dh = 0; dh <= 24; dh++) {
		int h = (h0 + dh) % 24;
		if (ah >= 0 && h != ah)
			continue;
		for (int m = dh ? 0 : m0; m < 60; m++) {
			if (am >= 0 && m != am)
				continue;
			for (int sec = dh == 0 && m == m0 ? s0 + 1 : 0; sec < 60; sec++)
				if (as < 0 || sec == as)
					return (h0 + dh) * 3600 + m * 60 + sec - sod;
		}
	}
	return 0;
}

static s64 sod_of(s64 t)
{
	return t - floor_div(t, SEC_PER_DAY) * SEC_PER_DAY;
}

/* Sets the C flags of the events between flags_cyc and cyc. */
static void accumulate(struct mc146818 *s, u64 cyc)
{
	if (cyc <= s->flags_cyc)
		return;
	u64 from = s->flags_cyc, p = period(s);
	u64 updates = cyc / RTC_HZ - from / RTC_HZ;
	if (updates) {
		s->cmos[REG_C] |= C_UF;
		if (!s->frozen) {
			u32 k = alarm_next(s, sod_of(time_at(s, from)));
			if (k && k <= updates)
				s->cmos[REG_C] |= C_AF;
		}
	}
	if (p && cyc / p > from / p)
		s->cmos[REG_C] |= C_PF;
	s->flags_cyc = cyc;
}

static bool irqf(const struct mc146818 *s)
{
	return s->cmos[REG_C] & s->cmos[REG_B] & C_FLAGS;
}

/* Enters or leaves the frozen state (B.SET or a stopped chain) at cycle cyc. */
static void refreeze(struct mc146818 *s, bool frozen, u64 cyc)
{
	if (frozen && !s->frozen)
		fill_time_regs(s, time_at(s, cyc));
	else if (!frozen && s->frozen)
		set_time(s, parse_time_regs(s), cyc);
	s->frozen = frozen;
}

static void write_a(struct mc146818 *s, u8 v, u64 cyc, u64 now)
{
	int old_dv = A_DV(s->cmos[REG_A]);
	bool run = A_DV(v) <= 2;
	s->cmos[REG_A] = v & ~A_UIP;
	if (run != s->running) {
		if (run && old_dv >= DV_RESET) {
			/* the first update comes half a second after the divider reset ends */
			cyc = (cyc / RTC_HZ + 1) * RTC_HZ + RTC_HZ / 2;
			s->flags_cyc = cyc;
		}
		s->base_cyc = cyc;
		s->base_tsc = now;
		s->running = run;
	}
	refreeze(s, (s->cmos[REG_B] & B_SET) || !s->running, cyc);
}

/* The registers are snapshot or parsed in the format in effect before the write (QEMU). */
static void write_b(struct mc146818 *s, u8 v, u64 cyc)
{
	if (v & B_SET)
		v &= ~B_UIE;
	refreeze(s, (v & B_SET) || !s->running, cyc);
	s->cmos[REG_B] = v;
}

static bool is_time_reg(u8 idx)
{
	return idx == REG_SEC || idx == REG_MIN || idx == REG_HOUR || idx == REG_CENTURY ||
	       (idx >= REG_WDAY && idx <= REG_YEAR);
}

static u8 read_data(struct mc146818 *s, u64 cyc)
{
	u8 idx = s->index == REG_CENTURY_PS2 ? REG_CENTURY : s->index, v;
	if (is_time_reg(idx) && !s->frozen)
		fill_time_regs(s, time_at(s, cyc));
	switch (idx) {
	case REG_A:
		v = s->cmos[REG_A];
		if (s->running && !(s->cmos[REG_B] & B_SET) && cyc % RTC_HZ >= RTC_HZ - UIP_CYCLES)
			v |= A_UIP;
		return v;
	case REG_C:
		v = s->cmos[REG_C] | (irqf(s) ? C_IRQF : 0);
		s->cmos[REG_C] = 0;
		return v;
	case REG_D:
		return D_VRT;
	default:
		return s->cmos[idx];
	}
}

static void write_data(struct mc146818 *s, u8 v, u64 cyc, u64 now)
{
	u8 idx = s->index == REG_CENTURY_PS2 ? REG_CENTURY : s->index;
	if (is_time_reg(idx)) {
		if (!s->frozen)
			fill_time_regs(s, time_at(s, cyc));
		s->cmos[idx] = v;
		if (!s->frozen)
			set_time(s, parse_time_regs(s), cyc);
		return;
	}
	switch (idx) {
	case REG_A: write_a(s, v, cyc, now); break;
	case REG_B: write_b(s, v, cyc); break;
	case REG_C:
	case REG_D: break;
	default: s->cmos[idx] = v;
	}
}

void mc146818_init(struct mc146818 *s, u64 epoch_seconds, u64 now, u64 hz)
{
	(void)hz;
	*s = (struct mc146818){ .running = true, .base_tsc = now, .sec_base = (s64)epoch_seconds };
	s->cmos[REG_A] = 0x26;
	s->cmos[REG_B] = B_24H;
	s->cmos[REG_D] = D_VRT;
	s->cmos[REG_EQUIPMENT] = 0x06; /* FPU, PS/2 mouse */
	fill_time_regs(s, s->sec_base);
}

static void set_word(struct mc146818 *s, u8 at, u64 v)
{
	v = MIN(v, 0xffffULL);
	s->cmos[at] = v;
	s->cmos[at + 1] = v >> 8;
}

void mc146818_set_memory(struct mc146818 *s, u64 ram_below_4g, u64 ram_above_4g)
{
	u64 ext = ram_below_4g > MiB ? (ram_below_4g - MiB) / KiB : 0;
	set_word(s, 0x15, MIN(ram_below_4g / KiB, 640));
	set_word(s, 0x17, ext);
	set_word(s, 0x30, ext);
	set_word(s, 0x34, ram_below_4g > 16 * MiB ? (ram_below_4g - 16 * MiB) / (64 * KiB) : 0);
	u64 high = ram_above_4g / (64 * KiB);
	s->cmos[0x5b] = high;
	s->cmos[0x5c] = high >> 8;
	s->cmos[0x5d] = high >> 16;
	s->cmos[0x5f] = 0; /* CPUs - 1 */
}

void mc146818_reset(struct mc146818 *s, u64 now, u64 hz)
{
	accumulate(s, cycle_at(s, now, hz));
	s->cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | B_SQWE);
	s->cmos[REG_C] = 0;
}

u8 mc146818_read(struct mc146818 *s, u16 port, u64 now, u64 hz)
{
	u64 cyc = cycle_at(s, now, hz);
	accumulate(s, cyc);
	return port == RTC_PORT + 1 ? read_data(s, cyc) : 0xff;
}

void mc146818_write(struct mc146818 *s, u16 port, u8 value, u64 now, u64 hz)
{
	u64 cyc = cycle_at(s, now, hz);
	accumulate(s, cyc);
	if (port == RTC_PORT) {
		s->index = value & 0x7f;
		s->nmi_masked = value & 0x80;
	} else if (port == RTC_PORT + 1) {
		write_data(s, value, cyc, now);
	}
}

bool mc146818_irq(struct mc146818 *s, u64 now, u64 hz)
{
	accumulate(s, cycle_at(s, now, hz));
	return irqf(s);
}

u64 mc146818_next_event(struct mc146818 *s, u64 now, u64 hz)
{
	u64 cyc = cycle_at(s, now, hz), p = period(s), next = RTC_NO_EVENT;
	u8 b = s->cmos[REG_B];
	accumulate(s, cyc);
	if (irqf(s) || !s->running)
		return RTC_NO_EVENT;
	if ((b & B_PIE) && p)
		next = MIN(next, (cyc / p + 1) * p);
	if (b & B_UIE)
		next = MIN(next, (cyc / RTC_HZ + 1) * RTC_HZ);
	if ((b & B_AIE) && !s->frozen) {
		u32 k = alarm_next(s, sod_of(time_at(s, cyc)));
		if (k)
			next = MIN(next, (cyc / RTC_HZ + k) * RTC_HZ);
	}
	return next == RTC_NO_EVENT ? next : tsc_of_cycle(s, next, hz);
}

s64 mc146818_time(struct mc146818 *s, u64 now, u64 hz)
{
	return s->frozen ? parse_time_regs(s) : time_at(s, cycle_at(s, now, hz));
}

/* ---- glue ---- */

static struct mc146818 rtc;
static bool line8; /* IRQ 8 level as last driven */

static void drive_irq8(bool level)
{
	if (level != line8) {
		line8 = level;
		irq_set_line(8, level);
	}
}

void rtc_tick(u64 now)
{
	drive_irq8(mc146818_irq(&rtc, now, vtime_hz()));
}

u64 rtc_next_deadline(void)
{
	u64 now = vtime_now(), hz = vtime_hz();
	if (mc146818_irq(&rtc, now, hz) != line8)
		return now; /* an event already passed: the line is due now */
	u64 t = mc146818_next_event(&rtc, now, hz);
	return t == RTC_NO_EVENT ? IRQ_NONE : t;
}

bool rtc_nmi_masked(void)
{
	return rtc.nmi_masked;
}

static u32 rtc_pio_read(struct pio_device *d, u16 port, int size)
{
	u64 now = vtime_now(), hz = vtime_hz();
	u32 v = 0;
	rtc_tick(now);
	for (int i = 0; i < size; i++) {
		u16 at = port + i;
		u8 b = at < d->base + d->count ? mc146818_read(&rtc, at, now, hz) : 0xff;
		v |= (u32)b << (8 * i);
	}
	drive_irq8(mc146818_irq(&rtc, now, hz));
	return v;
}

static void rtc_pio_write(struct pio_device *d, u16 port, int size, u32 value)
{
	u64 now = vtime_now(), hz = vtime_hz();
	rtc_tick(now);
	for (int i = 0; i < size && port + i < d->base + d->count; i++)
		mc146818_write(&rtc, port + i, value >> (8 * i), now, hz);
	drive_irq8(mc146818_irq(&rtc, now, hz));
}

static void rtc_pio_reset(struct pio_device *d)
{
	(void)d;
	mc146818_reset(&rtc, vtime_now(), vtime_hz());
	drive_irq8(false);
}

static struct pio_device rtc_dev = {
	"rtc-cmos", RTC_PORT, 2, rtc_pio_read, rtc_pio_write, rtc_pio_reset, false,
};

void rtc_init(u64 epoch_seconds, u64 ram_below_4g, u64 ram_above_4g)
{
	mc146818_init(&rtc, epoch_seconds, vtime_now(), vtime_hz());
	mc146818_set_memory(&rtc, ram_below_4g, ram_above_4g);
	line8 = false;
	pio_register(&rtc_dev);
}
