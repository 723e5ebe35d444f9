/* pit.c - the 8254 PIT and port 0x61: a pure state machine (struct i8254) timed by the guest
 * TSC, and its port and IRQ 0 glue. */
#include "devices/pit.h"
#include "devices/irq.h"
#include "devices/pio.h"

#define CTRL_PORT (PIT_PORT + 3)
/* control word */
#define CW_CHANNEL(v) ((v) >> 6)
#define CW_ACCESS(v) (((v) >> 4) & 3)
#define CW_MODE(v) (((v) >> 1) & 7)
#define CW_BCD 0x01
#define CW_READBACK 3 /* channel field 11 */
#define RB_NO_COUNT 0x20
#define RB_NO_STATUS 0x10
#define ACCESS_LATCH 0
#define ACCESS_MSB 2
#define ACCESS_WORD 3
/* status byte (read-back) */
#define ST_OUT 0x80
#define ST_NULL_COUNT 0x40
/* port 0x61 */
#define P61_GATE2 0x01
#define P61_SPEAKER 0x02
#define P61_REFRESH 0x10
#define P61_OUT2 0x20

/* Absolute PIT clock at TSC t, and the first TSC at which clock c has begun. Split so that
 * neither product overflows for any u64 time. */
static u64 clk_at(u64 t, u64 hz)
{
	return (t / hz) * PIT_HZ + (t % hz) * PIT_HZ / hz;
}

static u64 tsc_at(u64 c, u64 hz)
{
	return (c / PIT_HZ) * hz + ((c % PIT_HZ) * hz + PIT_HZ - 1) / PIT_HZ;
}

static int eff_mode(const struct i8254_channel *ch)
{
	return ch->mode >= 6 ? ch->mode - 4 : ch->mode;
}

static bool is_triggered_mode(int m)
{
	return m == 1 || m == 5;
}

static u64 elapsed(const struct i8254_channel *ch, u64 c)
{
	return ch->counting && c > ch->load_clk ? ch->d0 + (c - ch->load_clk) : ch->d0;
}

static void start(struct i8254_channel *ch, u64 c)
{
	ch->load_clk = c;
	ch->d0 = 0;
	ch->counting = true;
	ch->start_edge = false;
}

/* Modes 2/3: once the period in which a new count was written ends, count with it. */
static void advance(struct i8254_channel *ch, u64 c)
{
	int m = eff_mode(ch);
	if ((m != 2 && m != 3) || !ch->armed || !ch->null_count || !ch->counting ||
	    elapsed(ch, c) < ch->switch_d)
		return;
	bool edge = ch->n >= 2;
	ch->load_clk += ch->switch_d - ch->d0;
	ch->d0 = 0;
	ch->n = ch->cr;
	ch->null_count = false;
	ch->start_edge = edge;
}

/* Mode 3 counter value at phase p (0 <= p < n) of a period. */
static u64 square_value(u64 n, u64 p)
{
	u64 high = (n + 1) / 2;
	if (p < high)
		return p == 0 ? n : (n & 1 ? n + 1 - 2 * p : n - 2 * p);
	p -= high;
	return p == 0 ? n : (n & 1 ? n - 1 - 2 * p : n - 2 * p);
}

/* The counting element's value (binary, before any BCD encoding). */
static u32 ce_value(const struct i8254_channel *ch, u64 c)
{
	int m = eff_mode(ch);
	if (!ch->armed || (is_triggered_mode(m) && !ch->triggered))
		return ch->hold;
	u64 d = elapsed(ch, c), n = ch->n, mod = ch->bcd ? 10000 : 65536;
	switch (m) {
	case 2: return (n - d % n) % mod;
	case 3: return square_value(n, d % n) % mod;
	default: return (n + mod - d % mod) % mod;
	}
}

static bool out_level(const struct i8254_channel *ch, u64 c)
{
	int m = eff_mode(ch);
	if (!ch->armed)
		return m != 0;
	u64 d = elapsed(ch, c), n = ch->n;
	switch (m) {
	case 0: return d >= n;
	case 1: return !ch->triggered || d >= n;
	case 2: return !ch->counting || n < 2 || d % n != n - 1;
	case 3: return !ch->counting || n < 2 || d % n < (n + 1) / 2;
	case 4: return d != n;
	default: return !ch->triggered || d != n;
	}
}

/* Modes 2/3: the first reload (elapsed clocks) after elapsed da, or PIT_NO_EDGE. */
static u64 periodic_rise(const struct i8254_channel *ch, u64 da)
{
	u64 n = ch->n, base = 0;
	if (ch->null_count) {
		if (da < ch->switch_d && n >= 2)
			return ch->switch_d;
		base = ch->switch_d;
		n = ch->cr;
		da = MAX(da, base);
	}
	if (n < 2)
		return PIT_NO_EDGE;
	return base + ((da - base) / n + 1) * n;
}

/* The clock of the first rising OUT edge after clock `after` that time alone produces (edges
 * caused by port writes are not included), or PIT_NO_EDGE. */
static u64 next_rise(const struct i8254_channel *ch, u64 after)
{
	int m = eff_mode(ch);
	if (!ch->armed || !ch->counting || (is_triggered_mode(m) && !ch->triggered))
		return PIT_NO_EDGE;
	if (after < ch->load_clk && ch->start_edge)
		return ch->load_clk;
	u64 da = elapsed(ch, after), e;
	switch (m) {
	case 0:
	case 1:
		if (da >= ch->n)
			return PIT_NO_EDGE;
		e = ch->n;
		break;
	case 4:
	case 5:
		if (da >= ch->n + 1)
			return PIT_NO_EDGE;
		e = ch->n + 1;
		break;
	default:
		e = periodic_rise(ch, da);
		if (e == PIT_NO_EDGE)
			return PIT_NO_EDGE;
	}
	return ch->load_clk + (e - ch->d0);
}

/* Records an OUT0 edge between the last report and c, before a port access changes channel 0. */
static void catch_up(struct i8254 *s, u64 c)
{
	if (c < s->irq_clk)
		return;
	u64 e = next_rise(&s->ch[0], s->irq_clk);
	if (e != PIT_NO_EDGE && e <= c)
		s->edge_pending = true;
	s->irq_clk = c;
	for (int i = 0; i < 3; i++)
		advance(&s->ch[i], c);
}

static u32 bcd_to_bin(u32 v)
{
	return (v >> 12 & 15) * 1000 + (v >> 8 & 15) * 100 + (v >> 4 & 15) * 10 + (v & 15);
}

static u16 encode(const struct i8254_channel *ch, u32 v)
{
	if (!ch->bcd)
		return v;
	return (v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10;
}

static void load_count(struct i8254_channel *ch, u16 raw, u64 c)
{
	u32 v = ch->bcd ? bcd_to_bin(raw) : raw;
	bool first = !ch->armed;
	int m = eff_mode(ch);
	ch->cr = v ? v : ch->bcd ? 10000 : 65536;
	ch->armed = true;
	if (is_triggered_mode(m)) {
		ch->null_count = true; /* loaded by the next gate trigger */
		if (first)
			ch->triggered = false;
	} else if (m == 0 || m == 4 || first || !ch->counting) {
		ch->n = ch->cr;
		ch->null_count = false;
		start(ch, c);
		ch->counting = ch->gate;
	} else { /* modes 2/3 while counting: at the end of this period */
		ch->switch_d = (elapsed(ch, c) / ch->n + 1) * ch->n;
		ch->null_count = true;
	}
}

static void write_count(struct i8254_channel *ch, u8 v, u64 c)
{
	switch (ch->access) {
	case ACCESS_MSB:
		load_count(ch, (u16)v << 8, c);
		break;
	case ACCESS_WORD:
		if (ch->write_msb_next) {
			ch->write_msb_next = false;
			load_count(ch, ch->write_lsb | (u16)v << 8, c);
			break;
		}
		ch->write_lsb = v;
		ch->write_msb_next = true;
		if (eff_mode(ch) == 0 && ch->armed) { /* first byte stops mode 0, OUT low */
			ch->hold = ce_value(ch, c);
			ch->armed = false;
			ch->null_count = true;
		}
		break;
	default: /* LSB, and access 00 after reset */
		load_count(ch, v, c);
	}
}

static void latch_count(struct i8254_channel *ch, u64 c)
{
	if (ch->latch_bytes)
		return;
	ch->latched = encode(ch, ce_value(ch, c));
	ch->latch_bytes = ch->access == ACCESS_WORD ? 3 : ch->access == ACCESS_MSB ? 2 : 1;
}

static void latch_status(struct i8254_channel *ch, u64 c)
{
	if (ch->status_latched)
		return;
	ch->status = (out_level(ch, c) ? ST_OUT : 0) | (ch->null_count ? ST_NULL_COUNT : 0) |
		     ch->access << 4 | ch->mode << 1 | ch->bcd;
	ch->status_latched = true;
}

static void write_control(struct i8254 *s, u8 v, u64 c)
{
	if (CW_CHANNEL(v) == CW_READBACK) {
		for (int i = 0; i < 3; i++) {
			if (!(v & (2 << i)))
				continue;
			if (!(v & RB_NO_STATUS))
				latch_status(&s->ch[i], c);
			if (!(v & RB_NO_COUNT))
				latch_count(&s->ch[i], c);
		}
		return;
	}
	struct i8254_channel *ch = &s->ch[CW_CHANNEL(v)];
	if (CW_ACCESS(v) == ACCESS_LATCH) {
		latch_count(ch, c);
		return;
	}
	ch->hold = ce_value(ch, c);
	ch->mode = CW_MODE(v);
	ch->access = CW_ACCESS(v);
	ch->bcd = v & CW_BCD;
	ch->armed = ch->triggered = ch->counting = false;
	ch->null_count = true;
	ch->write_msb_next = ch->read_msb_next = false;
}

static u8 read_counter(struct i8254_channel *ch, u64 c)
{
	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->status;
	}
	if (ch->latch_bytes) {
		bool msb = ch->latch_bytes == 2;
		ch->latch_bytes = ch->latch_bytes == 3 ? 2 : 0;
		return msb ? ch->latched >> 8 : ch->latched & 0xff;
	}
	u16 v = encode(ch, ce_value(ch, c));
	bool msb = ch->access == ACCESS_MSB;
	if (ch->access == ACCESS_WORD) {
		msb = ch->read_msb_next;
		ch->read_msb_next = !msb;
	}
	return msb ? v >> 8 : v & 0xff;
}

static void set_gate(struct i8254_channel *ch, bool gate, u64 c)
{
	if (gate == ch->gate)
		return;
	ch->gate = gate;
	if (!ch->armed)
		return;
	switch (eff_mode(ch)) {
	case 0:
	case 4: /* pause and resume */
		if (gate) {
			ch->load_clk = c;
			ch->counting = true;
		} else {
			ch->d0 = elapsed(ch, c);
			ch->counting = false;
		}
		break;
	case 1:
	case 5: /* a rising edge (re)triggers */
		if (gate) {
			ch->n = ch->cr;
			ch->null_count = false;
			ch->triggered = true;
			start(ch, c);
		}
		break;
	default: /* 2, 3: low stops with OUT high, rising reloads */
		if (gate) {
			ch->n = ch->cr;
			ch->null_count = false;
			start(ch, c);
		} else {
			ch->d0 = elapsed(ch, c);
			ch->counting = false;
		}
	}
}

void i8254_reset(struct i8254 *s, u64 now, u64 hz)
{
	u64 c = clk_at(now, hz);
	*s = (struct i8254){ .irq_clk = c };
	for (int i = 0; i < 3; i++) {
		struct i8254_channel *ch = &s->ch[i];
		ch->mode = 3;
		ch->gate = i != 2;
		ch->cr = ch->n = 65536;
		ch->armed = true;
		start(ch, c);
		ch->counting = ch->gate;
	}
}

u8 i8254_read(struct i8254 *s, u16 port, u64 now, u64 hz)
{
	u64 c = clk_at(now, hz);
	catch_up(s, c);
	if (port >= PIT_PORT && port < CTRL_PORT)
		return read_counter(&s->ch[port - PIT_PORT], c);
	if (port == CTRL_PORT)
		return 0;
	if (port != PIT_SPEAKER_PORT)
		return 0xff;
	s->refresh ^= P61_REFRESH;
	return (s->ch[2].gate ? P61_GATE2 : 0) | (s->speaker ? P61_SPEAKER : 0) | s->refresh |
	       (out_level(&s->ch[2], c) ? P61_OUT2 : 0);
}

void i8254_write(struct i8254 *s, u16 port, u8 value, u64 now, u64 hz)
{
	u64 c = clk_at(now, hz);
	catch_up(s, c);
	if (port >= PIT_PORT && port < CTRL_PORT) {
		write_count(&s->ch[port - PIT_PORT], value, c);
	} else if (port == CTRL_PORT) {
		write_control(s, value, c);
	} else if (port == PIT_SPEAKER_PORT) {
		s->speaker = value & P61_SPEAKER;
		set_gate(&s->ch[2], value & P61_GATE2, c);
	}
}

bool i8254_out(struct i8254 *s, int ch, u64 now, u64 hz)
{
	u64 c = clk_at(now, hz);
	advance(&s->ch[ch], c);
	return out_level(&s->ch[ch], c);
}

u64 i8254_next_edge(const struct i8254 *s, u64 hz)
{
	if (s->edge_pending)
		return tsc_at(s->irq_clk, hz);
	u64 e = next_rise(&s->ch[0], s->irq_clk);
	return e == PIT_NO_EDGE ? PIT_NO_EDGE : tsc_at(e, hz);
}

bool i8254_tick(struct i8254 *s, u64 now, u64 hz)
{
	catch_up(s, clk_at(now, hz));
	bool edge = s->edge_pending;
	s->edge_pending = false;
	return edge;
}

/* ---- glue ---- */

static struct i8254 pit;
static bool line0; /* IRQ 0 level as last driven */

/* Drives IRQ 0: a rising edge when rise, then low if OUT0 is low. The line is raised only on
 * real rising edges, never to catch up with a level, so no edge is invented. */
static void drive_irq0(bool rise, bool out)
{
	if (rise) {
		if (line0)
			irq_set_line(0, false);
		irq_set_line(0, true);
		line0 = true;
	}
	if (!out && line0) {
		irq_set_line(0, false);
		line0 = false;
	}
}

void pit_tick(u64 now)
{
	u64 hz = vtime_hz();
	bool edge = i8254_tick(&pit, now, hz);
	drive_irq0(edge, i8254_out(&pit, 0, now, hz));
}

u64 pit_next_deadline(void)
{
	u64 t = i8254_next_edge(&pit, vtime_hz());
	return t == PIT_NO_EDGE ? IRQ_NONE : t;
}

static u32 pit_pio_read(struct pio_device *d, u16 port, int size)
{
	u64 now = vtime_now(), hz = vtime_hz();
	u32 v = 0;
	pit_tick(now);
	for (int i = 0; i < size; i++) {
		u16 at = port + i;
		u8 b = at < d->base + d->count ? i8254_read(&pit, at, now, hz) : 0xff;
		v |= (u32)b << (8 * i);
	}
	return v;
}

static void pit_pio_write(struct pio_device *d, u16 port, int size, u32 value)
{
	u64 now = vtime_now(), hz = vtime_hz();
	pit_tick(now);
	bool before = i8254_out(&pit, 0, now, hz);
	for (int i = 0; i < size && port + i < d->base + d->count; i++)
		i8254_write(&pit, port + i, value >> (8 * i), now, hz);
	bool after = i8254_out(&pit, 0, now, hz);
	drive_irq0(!before && after, after);
}

static void pit_pio_reset(struct pio_device *d)
{
	(void)d;
	i8254_reset(&pit, vtime_now(), vtime_hz());
	drive_irq0(false, false);
}

static struct pio_device pit_devs[] = {
	{ "pit", PIT_PORT, 4, pit_pio_read, pit_pio_write, pit_pio_reset, false },
	{ "pit-port61", PIT_SPEAKER_PORT, 1, pit_pio_read, pit_pio_write, NULL, false },
};

void pit_init(void)
{
	i8254_reset(&pit, vtime_now(), vtime_hz());
	line0 = false;
	for (size_t i = 0; i < ARRAY_SIZE(pit_devs); i++)
		pio_register(&pit_devs[i]);
}
