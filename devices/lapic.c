/* lapic.c - the guest's local APIC: register file, priorities, timer, IPIs to itself and the
 * xAPIC/x2APIC mode transitions (Intel SDM Vol. 3A ch. 11). Pure: time comes in as `now` (the
 * guest TSC); only the glue at the end touches the MMIO table. */
#include "devices/lapic.h"
#include "devices/irq.h"
#include "devices/mmio.h"
#include "kernel/lib.h"
#include "kernel/log.h"

enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

/* Bits a write can set in each LVT (SDM Figure 11-8). Delivery status and remote IRR are
 * read-only and stay 0: nothing is ever pending, and LINT0/LINT1 have no level source here. */
#define LVT_BASIC (APIC_VECTOR_MASK | APIC_LVT_MASKED)
static const u32 lvt_writable[LVT_COUNT] = {
	[LVT_TIMER] = LVT_BASIC | (3u << APIC_TIMER_MODE_SHIFT),
	[LVT_THERMAL] = LVT_BASIC | APIC_DM_MASK,
	[LVT_PERF] = LVT_BASIC | APIC_DM_MASK,
	[LVT_LINT0] = LVT_BASIC | APIC_DM_MASK | APIC_LVT_POLARITY | APIC_TRIGGER_LEVEL,
	[LVT_LINT1] = LVT_BASIC | APIC_DM_MASK | APIC_LVT_POLARITY | APIC_TRIGGER_LEVEL,
	[LVT_ERROR] = LVT_BASIC,
};

#define SVR_WRITABLE 0x1ffu /* vector, software enable (like QEMU; no focus check, no EOI suppression) */
#define ICR_LO_WRITABLE (APIC_VECTOR_MASK | APIC_DM_MASK | APIC_DEST_LOGICAL | APIC_ICR_ASSERT | \
			 APIC_TRIGGER_LEVEL | (3u << APIC_ICR_SHORTHAND_SHIFT))
#define TDCR_WRITABLE 0xbu
#define XAPIC_DEST_MASK 0xff000000u /* ICR high, LDR: bits 31:24 */
#define X2APIC_ID 0u                 /* the one CPU's initial (x2)APIC ID */
#define DEFAULT_MAXPHYADDR 36

/*
 * Invariants:
 *   - irr, isr and tmr never hold vectors 0-15;
 *   - while software-disabled (SVR bit 8 clear) every LVT has its mask bit set;
 *   - timer_armed only in one-shot/periodic mode and with tmict != 0; tsc_deadline != 0 only
 *     in TSC-deadline mode;
 *   - after timer_catch_up(now), an armed timer's next expiry (number `fired`) is after now.
 */
static struct lapic {
	struct lapic_config cfg;
	u8 xapic_id;     /* ID register bits 31:24 (xAPIC mode) */
	u32 ldr, dfr, svr; /* TPR, IRR, ISR and TMR live in regs[] (below) */
	u32 esr;         /* as read */
	u32 esr_pending; /* errors since the last ESR write */
	u32 lvt[LVT_COUNT];
	u32 tmict, tdcr;
	/* One-shot/periodic countdown: count0 counts from t_start (guest TSC) to expiry 0, then
	 * tmict counts to each following expiry; `fired` expiries have been handled. */
	bool timer_armed;
	u64 t_start, count0, fired;
	u64 tsc_deadline; /* IA32_TSC_DEADLINE; 0 = disarmed */
	bool nmi;
	void (*moved)(u64 window); /* glue: the register window moved */
} la;

/*
 * The register page: every register's 32 bits at its xAPIC offset, the layout of VMX's
 * virtual-APIC page (SDM Vol. 3C 29.1.1), so that with APIC virtualization (vmx/apicv.c) this
 * page is that page and the CPU itself reads the registers and delivers, acknowledges and
 * retires interrupts in it. TPR, IRR, ISR, TMR and the ICR have no other copy (the CPU changes
 * them without an exit: VTPR, VIRR, VISR, a virtualized ICR-high write); PPR is computed
 * (ppr()), as are the ID and LDR in x2APIC mode; the other readable registers are mirrored
 * here from la by mirror() after every change, so that a virtualized read returns what a
 * trapped one would.
 */
static u32 regs[1024] __attribute__((aligned(4096)));
#define REG(off) regs[(off) >> 2]
#define IRR (&REG(LAPIC_REG_IRR))
#define ISR (&REG(LAPIC_REG_ISR))
#define TMR (&REG(LAPIC_REG_TMR))

static u32 tmr_changes; /* lapic_tmr_changes */

static void local_deliver(int lvt);

/* ---- Vector bitmaps (IRR, ISR, TMR: 8 x 32 bits, one word every 16 bytes) ---- */

static bool vec_test(const u32 *map, unsigned v) { return map[v / 32 * 4] & (1u << (v % 32)); }
static void vec_set(u32 *map, unsigned v) { map[v / 32 * 4] |= 1u << (v % 32); }
static void vec_clear(u32 *map, unsigned v) { map[v / 32 * 4] &= ~(1u << (v % 32)); }

static int vec_highest(const u32 *map)
{
	for (int i = 7; i >= 0; i--)
		if (map[i * 4])
			return i * 32 + 31 - __builtin_clz(map[i * 4]);
	return -1;
}

/* ---- Modes ---- */

u64 lapic_base; /* IA32_APIC_BASE: written by set_base only */

static bool x2apic_mode(void) { return lapic_mode() == LAPIC_MODE_X2APIC; }

static bool sw_enabled(void)
{
	return lapic_mode() != LAPIC_MODE_DISABLED && (la.svr & APIC_SVR_ENABLE);
}

u64 lapic_window_base(void) { return lapic_base & ~(LAPIC_WINDOW_SIZE - 1); }

/* x2APIC logical ID (SDM 11.12.10.2): cluster ID[19:4] in bits 31:16, 1 << ID[3:0] below. */
static u32 x2apic_ldr(void) { return ((X2APIC_ID >> 4) << 16) | (1u << (X2APIC_ID & 0xf)); }

/* ---- Errors and acceptance (SDM 11.5.3, 11.8.4) ---- */

/* Records errors: ESR shows them after the next ESR write. A new error raises the LVT error
 * interrupt when it is unmasked; an illegal error vector only adds "receive illegal vector". */
static void record_error(u32 bits)
{
	u32 fresh = bits & ~la.esr_pending;
	la.esr_pending |= bits;
	if (!fresh || (la.lvt[LVT_ERROR] & APIC_LVT_MASKED))
		return;
	if ((la.lvt[LVT_ERROR] & APIC_VECTOR_MASK) < 16)
		la.esr_pending |= APIC_ESR_RECV_ILLEGAL;
	else
		local_deliver(LVT_ERROR);
}

/* A fixed interrupt reaches IRR; vectors 0-15 never do (they set "receive illegal vector"). */
static bool accept(unsigned vector, bool level)
{
	if (vector < 16) {
		record_error(APIC_ESR_RECV_ILLEGAL);
		return false;
	}
	vec_set(IRR, vector);
	if (level != vec_test(TMR, vector)) {
		if (level)
			vec_set(TMR, vector);
		else
			vec_clear(TMR, vector);
		tmr_changes++;
	}
	return true;
}

/* An interrupt from an LVT entry. Only the timer and the error LVT have sources here; both
 * deliver fixed and edge-triggered. */
static void local_deliver(int lvt)
{
	u32 v = la.lvt[lvt];
	if (!(v & APIC_LVT_MASKED))
		accept(v & APIC_VECTOR_MASK, false);
}

bool lapic_set_irq(int vector, bool level_triggered)
{
	if (vector < 0 || vector > 255 || !sw_enabled())
		return false;
	return accept((unsigned)vector, level_triggered);
}

/* What one delivery mode does to this CPU. SMI (no SMM), INIT, STARTUP (the BSP never waits for
 * a SIPI; a self-INIT would reset the CPU: not emulated) and ExtINT are dropped. NMIs are
 * accepted even when software-disabled (SDM 11.4.7.2). */
static bool deliver_mode(unsigned dm, unsigned vector, bool level)
{
	switch (dm) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST: /* one CPU: the lowest-priority one is this one */
		return lapic_set_irq((int)vector, level);
	case APIC_DM_NMI:
		la.nmi = true;
		return true;
	default:
		return false;
	}
}

/* Whether this APIC is a destination (SDM 11.6.2). wide: a 32-bit x2APIC ICR destination
 * (broadcast 0xffffffff); otherwise an 8-bit xAPIC-format one (broadcast 0xff), compared with
 * the x2APIC ID and LDR in x2APIC mode. */
static bool match_dest(u32 dest, bool logical, bool wide)
{
	bool x2 = x2apic_mode();
	if (dest == (wide ? 0xffffffffu : 0xffu))
		return true;
	if (!logical)
		return dest == (x2 ? X2APIC_ID : la.xapic_id);
	if (x2) {
		u32 ldr = x2apic_ldr();
		return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffff);
	}
	u32 id = la.ldr >> 24;
	switch (la.dfr >> 28) {
	case 0xf: return dest & id;                                    /* flat model */
	case 0x0: return (dest >> 4) == (id >> 4) && (dest & id & 0xf); /* cluster model */
	default: return false;
	}
}

bool lapic_deliver(const struct apic_msg *m)
{
	if (lapic_mode() == LAPIC_MODE_DISABLED || !match_dest(m->dest, m->logical, false))
		return false;
	return deliver_mode(m->delivery_mode, m->vector, m->level);
}

/* An IPI from the ICR or SELF IPI (SDM 11.6.1). With one CPU only this APIC can be reached.
 * Delivery is immediate, so the delivery-status bit never reads 1. IPIs are edge-triggered:
 * the ICR trigger-mode bit only qualifies INIT de-assert (QEMU and KVM pass it on as TMR). */
static void send_ipi(u32 lo, u32 dest, bool wide)
{
	unsigned vector = lo & APIC_VECTOR_MASK;
	unsigned dm = (lo & APIC_DM_MASK) >> APIC_DM_SHIFT;
	bool self;

	switch ((lo >> APIC_ICR_SHORTHAND_SHIFT) & 3) {
	case APIC_SHORTHAND_NONE: self = match_dest(dest, lo & APIC_DEST_LOGICAL, wide); break;
	case APIC_SHORTHAND_SELF:
	case APIC_SHORTHAND_ALL: self = true; break;
	default: self = false; break; /* all excluding self: nobody */
	}
	if ((dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST) && vector < 16)
		record_error(APIC_ESR_SEND_ILLEGAL);
	if (self)
		deliver_mode(dm, vector, false);
}

/* ---- Priorities (SDM 11.8.3.1) and EOI (11.8.5) ---- */

static u32 ppr(void)
{
	int isrv = vec_highest(ISR);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xf0, tpr = REG(LAPIC_REG_TPR);
	return (tpr & 0xf0) >= isr_class ? tpr : isr_class;
}

int lapic_pending_vector(void)
{
	if (!sw_enabled())
		return -1;
	int v = vec_highest(IRR);
	if (v < 0 || ((u32)v & 0xf0) <= (ppr() & 0xf0))
		return -1;
	return v;
}

void lapic_ack(int vector)
{
	if (vector < 16 || vector > 255 || !vec_test(IRR, (unsigned)vector))
		return;
	vec_clear(IRR, (unsigned)vector);
	vec_set(ISR, (unsigned)vector);
}

/* EOI: retires the highest in-service vector; a level-triggered one (TMR) is broadcast to the
 * I/O APIC, whose remote IRR it clears. */
static void eoi(void)
{
	int v = vec_highest(ISR);
	if (v < 0)
		return;
	vec_clear(ISR, (unsigned)v);
	lapic_eoi_done((u8)v);
}

void lapic_eoi_done(u8 vector)
{
	if (vec_test(TMR, vector) && la.cfg.eoi_broadcast)
		la.cfg.eoi_broadcast(vector);
}

bool lapic_extint_enabled(void)
{
	if (!sw_enabled())
		return true;
	u32 lint0 = la.lvt[LVT_LINT0];
	return !(lint0 & APIC_LVT_MASKED) && (lint0 & APIC_DM_MASK) >> APIC_DM_SHIFT == APIC_DM_EXTINT;
}

bool lapic_take_nmi(void)
{
	bool nmi = la.nmi;
	la.nmi = false;
	return nmi;
}

u64 lapic_read_cr8(void) { return REG(LAPIC_REG_TPR) >> 4; }
void lapic_write_cr8(u64 value) { REG(LAPIC_REG_TPR) = (u32)(value & 0xf) << 4; }

/* ---- Timer (SDM 11.5.4) ---- */

static unsigned timer_mode(void) { return (la.lvt[LVT_TIMER] >> APIC_TIMER_MODE_SHIFT) & 3; }
static bool deadline_mode(void) { return timer_mode() == APIC_TIMER_TSC_DEADLINE; }

/* Divide configuration bits 3,1:0: 000 -> 2, 001 -> 4, ..., 110 -> 128, 111 -> 1. */
static u64 divider(void)
{
	unsigned v = (la.tdcr & 3) | ((la.tdcr >> 1) & 4);
	return 1ULL << ((v + 1) & 7);
}

static u64 timer_hz(void) { return LAPIC_TIMER_HZ(la.cfg.tsc_hz); }

/* a * b / c, rounded down or up, with no 128-bit division (the freestanding build has no
 * libgcc). Exact while (c - 1) * b fits in 64 bits: b and c are tsc_hz and the timer rate. */
static u64 muldiv(u64 a, u64 b, u64 c, bool round_up)
{
	u64 rb = (a % c) * b;
	return (a / c) * b + rb / c + (round_up && rb % c);
}

/* Whole counts (at the current divider) between t_start and now. */
static u64 counts_at(u64 now)
{
	if (now <= la.t_start)
		return 0;
	return muldiv(now - la.t_start, timer_hz(), la.cfg.tsc_hz, false) / divider();
}

static u64 expiry_counts(u64 k) { return la.count0 + k * la.tmict; }

/* Guest TSC of expiry k: the first TSC value at which counts_at reaches expiry_counts(k). */
static u64 expiry_tsc(u64 k)
{
	return la.t_start + muldiv(expiry_counts(k) * divider(), la.cfg.tsc_hz, timer_hz(), true);
}

/* Brings the timer up to now, firing what is due: one interrupt however many periods went by.
 * Every register access calls it first, so a masked or late-ticked timer behaves as if it had
 * been ticked on time (an expiry while masked is lost, as on hardware). */
static void timer_catch_up(u64 now)
{
	if (deadline_mode()) {
		if (la.tsc_deadline && now >= la.tsc_deadline) {
			la.tsc_deadline = 0; /* SDM 11.5.4.1: it disarms and clears the MSR */
			local_deliver(LVT_TIMER);
		}
		return;
	}
	if (!la.timer_armed)
		return;
	u64 n = counts_at(now);
	if (n < expiry_counts(la.fired))
		return;
	if (timer_mode() == APIC_TIMER_PERIODIC)
		la.fired = (n - la.count0) / la.tmict + 1;
	else /* one-shot, and the reserved mode 3 */
		la.timer_armed = false;
	local_deliver(LVT_TIMER);
}

/* Current count (0 when stopped, and always in TSC-deadline mode, where nothing is armed);
 * the timer must be caught up to now. */
static u32 current_count(u64 now)
{
	if (!la.timer_armed)
		return 0;
	return (u32)(expiry_counts(la.fired) - counts_at(now));
}

static void timer_start(u64 count, u64 now)
{
	la.t_start = now;
	la.count0 = count;
	la.fired = 0;
}

/* Initial count: (re)starts the countdown; 0 stops it; ignored in TSC-deadline mode. */
static void write_tmict(u32 v, u64 now)
{
	if (deadline_mode())
		return;
	la.tmict = v;
	la.timer_armed = v != 0;
	timer_start(v, now);
}

/* A new divider applies from now: the remaining counts go on at the new rate (like KVM; the
 * SDM leaves it open). */
static void write_tdcr(u32 v, u64 now)
{
	u64 old = divider();
	u32 count = current_count(now);
	la.tdcr = v & TDCR_WRITABLE;
	if (la.timer_armed && divider() != old)
		timer_start(count, now);
}

u64 lapic_next_deadline(void)
{
	if (lapic_mode() == LAPIC_MODE_DISABLED || (la.lvt[LVT_TIMER] & APIC_LVT_MASKED))
		return IRQ_NONE;
	if (deadline_mode())
		return la.tsc_deadline ? la.tsc_deadline : IRQ_NONE;
	return la.timer_armed ? expiry_tsc(la.fired) : IRQ_NONE;
}

void lapic_tick(u64 now) { timer_catch_up(now); }

/* ---- Register writes with side effects ---- */

/* Switching into or out of TSC-deadline mode disarms the timer (SDM 11.5.4.1); like KVM the
 * initial count is cleared too. One-shot <-> periodic keeps counting. */
static void write_lvt(int i, u32 v)
{
	v &= lvt_writable[i];
	if (!(la.svr & APIC_SVR_ENABLE))
		v |= APIC_LVT_MASKED; /* SDM 11.4.7.2: the masks cannot be cleared */
	bool was_deadline = deadline_mode();
	la.lvt[i] = v;
	if (i == LVT_TIMER && was_deadline != deadline_mode()) {
		la.timer_armed = false;
		la.tmict = 0;
		la.tsc_deadline = 0;
	}
}

static void write_svr(u32 v)
{
	la.svr = v & SVR_WRITABLE;
	if (!(la.svr & APIC_SVR_ENABLE))
		for (int i = 0; i < LVT_COUNT; i++)
			la.lvt[i] |= APIC_LVT_MASKED;
}

/* Any ESR write shows the errors collected since the previous one (SDM 11.5.3). */
static void write_esr(void)
{
	la.esr = la.esr_pending;
	la.esr_pending = 0;
}

/* ---- The register file, shared by both modes (offsets as in the xAPIC window) ---- */

static bool in_bank(u32 off, u32 first) { return off >= first && off < first + 0x80; }
static bool is_lvt(u32 off) { return off >= LAPIC_REG_LVT_TIMER && off <= LAPIC_REG_LVT_ERROR; }
static int lvt_index(u32 off) { return (int)(off - LAPIC_REG_LVT_TIMER) >> 4; }

/* Reads the register at offset off (a multiple of 16) in the current mode; the timer is caught
 * up. False: reserved or write-only in this mode. */
static bool reg_read(u32 off, u64 now, u64 *val)
{
	bool x2 = x2apic_mode();
	*val = 0;
	switch (off) {
	case LAPIC_REG_ID: *val = x2 ? X2APIC_ID : (u32)la.xapic_id << 24; return true;
	case LAPIC_REG_VERSION: *val = LAPIC_VERSION; return true;
	case LAPIC_REG_TPR: *val = REG(LAPIC_REG_TPR); return true;
	case LAPIC_REG_APR: return !x2; /* reads 0: no arbitration on a one-CPU bus */
	case LAPIC_REG_PPR: *val = ppr(); return true;
	case LAPIC_REG_EOI: return !x2; /* xAPIC: reads 0 (QEMU); x2APIC: write-only */
	case LAPIC_REG_LDR: *val = x2 ? x2apic_ldr() : la.ldr; return true;
	case LAPIC_REG_DFR: *val = la.dfr; return !x2;
	case LAPIC_REG_SVR: *val = la.svr; return true;
	case LAPIC_REG_ESR: *val = la.esr; return true;
	case LAPIC_REG_ICR_LO:
		*val = REG(LAPIC_REG_ICR_LO) | (x2 ? (u64)REG(LAPIC_REG_ICR_HI) << 32 : 0);
		return true;
	case LAPIC_REG_ICR_HI: *val = REG(LAPIC_REG_ICR_HI); return !x2;
	case LAPIC_REG_TIMER_ICR: *val = la.tmict; return true;
	case LAPIC_REG_TIMER_CCR: *val = current_count(now); return true;
	case LAPIC_REG_TIMER_DCR: *val = la.tdcr; return true;
	}
	if (in_bank(off, LAPIC_REG_ISR) || in_bank(off, LAPIC_REG_TMR) || in_bank(off, LAPIC_REG_IRR))
		*val = REG(off);
	else if (is_lvt(off))
		*val = la.lvt[lvt_index(off)];
	else
		return false;
	return true;
}

/* Writes the register at offset off; val is 64-bit only for the x2APIC ICR. False: reserved,
 * or (x2APIC) read-only or a non-zero EOI/ESR write. xAPIC ignores writes to read-only
 * registers, like QEMU. */
static bool reg_write(u32 off, u64 val, u64 now)
{
	bool x2 = x2apic_mode();
	u32 v = (u32)val;
	switch (off) {
	case LAPIC_REG_ID:
		if (x2)
			return false;
		la.xapic_id = (u8)(v >> 24);
		return true;
	case LAPIC_REG_VERSION:
	case LAPIC_REG_APR:
	case LAPIC_REG_PPR:
	case LAPIC_REG_TIMER_CCR:
		return !x2;
	case LAPIC_REG_TPR: REG(LAPIC_REG_TPR) = v & 0xff; return true;
	case LAPIC_REG_EOI:
		if (x2 && v)
			return false;
		eoi();
		return true;
	case LAPIC_REG_LDR:
		if (x2)
			return false;
		la.ldr = v & XAPIC_DEST_MASK;
		return true;
	case LAPIC_REG_DFR:
		if (x2)
			return false;
		la.dfr = v | 0x0fffffff;
		return true;
	case LAPIC_REG_SVR: write_svr(v); return true;
	case LAPIC_REG_ESR:
		if (x2 && v)
			return false;
		write_esr();
		return true;
	case LAPIC_REG_ICR_LO:
		REG(LAPIC_REG_ICR_LO) = v & ICR_LO_WRITABLE;
		if (x2)
			REG(LAPIC_REG_ICR_HI) = (u32)(val >> 32);
		else /* a virtualized ICR-high write left the guest's value (bits 23:0 cleared) */
			REG(LAPIC_REG_ICR_HI) &= XAPIC_DEST_MASK;
		send_ipi(REG(LAPIC_REG_ICR_LO),
			 x2 ? REG(LAPIC_REG_ICR_HI) : REG(LAPIC_REG_ICR_HI) >> 24, x2);
		return true;
	case LAPIC_REG_ICR_HI:
		if (x2)
			return false;
		REG(LAPIC_REG_ICR_HI) = v & XAPIC_DEST_MASK;
		return true;
	case LAPIC_REG_TIMER_ICR: write_tmict(v, now); return true;
	case LAPIC_REG_TIMER_DCR: write_tdcr(v, now); return true;
	case LAPIC_REG_SELF_IPI:
		if (!x2)
			return false;
		send_ipi((v & APIC_VECTOR_MASK) | APIC_SHORTHAND_SELF << APIC_ICR_SHORTHAND_SHIFT, 0, true);
		return true;
	}
	if (in_bank(off, LAPIC_REG_ISR) || in_bank(off, LAPIC_REG_TMR) || in_bank(off, LAPIC_REG_IRR))
		return !x2;
	if (!is_lvt(off))
		return false;
	write_lvt(lvt_index(off), v);
	return true;
}

/* The readable registers kept in la, copied to their slots in the register page (regs[]):
 * after every change, so that a read the CPU virtualizes from the page returns what
 * reg_read would. PPR, the current count and x2APIC-only views are not read from the page
 * (those reads exit: SDM 29.4.2 lists what is virtualized). */
static void mirror(void)
{
	bool x2 = x2apic_mode();
	REG(LAPIC_REG_ID) = x2 ? X2APIC_ID : (u32)la.xapic_id << 24;
	REG(LAPIC_REG_VERSION) = LAPIC_VERSION;
	REG(LAPIC_REG_EOI) = 0;
	REG(LAPIC_REG_LDR) = x2 ? x2apic_ldr() : la.ldr;
	REG(LAPIC_REG_DFR) = la.dfr;
	REG(LAPIC_REG_SVR) = la.svr;
	REG(LAPIC_REG_ESR) = la.esr;
	for (int i = 0; i < LVT_COUNT; i++)
		REG(LAPIC_REG_LVT_TIMER + 16 * (u32)i) = la.lvt[i];
	REG(LAPIC_REG_TIMER_ICR) = la.tmict;
	REG(LAPIC_REG_TIMER_DCR) = la.tdcr;
}

u32 *lapic_regs(void) { return regs; }

int lapic_highest_irr(void) { return vec_highest(IRR); }
int lapic_highest_isr(void) { return vec_highest(ISR); }
u32 lapic_tmr_word(int i) { return TMR[i * 4]; }
u32 lapic_tmr_changes(void) { return tmr_changes; }

void lapic_apic_write(u32 offset, u64 now)
{
	/* x2APIC mode: only a virtualized SELF IPI of a vector below 16 exits this way */
	bool x2_self = x2apic_mode() && offset == LAPIC_REG_SELF_IPI;
	if ((lapic_mode() == LAPIC_MODE_XAPIC || x2_self) && !(offset & 0xf) &&
	    offset < LAPIC_WINDOW_SIZE) {
		timer_catch_up(now);
		if (!reg_write(offset, REG(offset), now))
			record_error(APIC_ESR_ILLEGAL_REG);
	}
	mirror(); /* the page shows the register again, not what was written */
}

/* Whether a write at offset off may change what mirror() copies: not TPR, EOI, the ICR or
 * SELF IPI, which live in the page (or change only IRR/ISR there): the common writes (EOI,
 * TPR, IPIs) skip the copy. */
static bool changes_mirrored(u32 off)
{
	return off != LAPIC_REG_EOI && off != LAPIC_REG_TPR && off != LAPIC_REG_ICR_LO &&
	       off != LAPIC_REG_ICR_HI && off != LAPIC_REG_SELF_IPI;
}

/* ---- xAPIC window ---- */

u64 lapic_mmio_read(u64 offset, int size, u64 now)
{
	u64 val;
	if (lapic_mode() != LAPIC_MODE_XAPIC)
		return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
	if (size != 4 || (offset & 0xf) || offset >= LAPIC_WINDOW_SIZE)
		return 0;
	timer_catch_up(now);
	if (!reg_read((u32)offset, now, &val))
		record_error(APIC_ESR_ILLEGAL_REG);
	return val;
}

void lapic_mmio_write(u64 offset, int size, u64 value, u64 now)
{
	if (lapic_mode() != LAPIC_MODE_XAPIC || size != 4 || (offset & 0xf) ||
	    offset >= LAPIC_WINDOW_SIZE)
		return;
	timer_catch_up(now);
	if (!reg_write((u32)offset, (u32)value, now))
		record_error(APIC_ESR_ILLEGAL_REG);
	if (changes_mirrored((u32)offset))
		mirror();
}

/* ---- MSRs ---- */

bool lapic_owns_msr(u32 msr)
{
	return msr == LAPIC_MSR_APIC_BASE || msr == LAPIC_MSR_TSC_DEADLINE ||
	       (msr >= LAPIC_MSR_X2APIC_FIRST && msr <= LAPIC_MSR_X2APIC_LAST);
}

static bool is_x2apic_msr(u32 msr)
{
	return x2apic_mode() && msr >= LAPIC_MSR_X2APIC_FIRST && msr <= LAPIC_MSR_X2APIC_LAST;
}

static u32 msr_offset(u32 msr) { return (msr - LAPIC_MSR_X2APIC_FIRST) << 4; }

/* The bits 31:0 of an x2APIC register that a WRMSR must leave 0 (else #GP, SDM 11.12.1.3):
 * TPR and SVR as bare Bochs checks them (SVR: the bits it stores, as in xAPIC mode), SELF IPI
 * bits 31:8 as the SDM (Figure 11-35) and KVM do (Bochs 2.7 does not check them). The other
 * registers' reserved bits are ignored, as Bochs and KVM ignore them. */
static u32 x2apic_reserved(u32 off)
{
	switch (off) {
	case LAPIC_REG_TPR: return ~0xffu;
	case LAPIC_REG_SVR: return ~SVR_WRITABLE;
	case LAPIC_REG_SELF_IPI: return ~APIC_VECTOR_MASK;
	default: return 0;
	}
}

/* Power-up values of everything but IA32_APIC_BASE and the ID. */
static void reset_registers(void)
{
	memset(regs, 0, sizeof(regs)); /* TPR, IRR, ISR, TMR */
	tmr_changes++;
	la.ldr = 0;
	la.dfr = 0xffffffff;
	la.svr = 0xff;
	la.esr = la.esr_pending = 0;
	for (int i = 0; i < LVT_COUNT; i++)
		la.lvt[i] = APIC_LVT_MASKED;
	la.tmict = la.tdcr = 0;
	la.timer_armed = false;
	timer_start(0, 0);
	la.tsc_deadline = 0;
	la.nmi = false;
}

static u64 base_reserved(void)
{
	int m = la.cfg.maxphyaddr ? la.cfg.maxphyaddr : DEFAULT_MAXPHYADDR;
	u64 r = GENMASK(7, 0) | BIT(9) | (m < 64 ? ~0ULL << m : 0);
	return la.cfg.x2apic ? r : r | APIC_BASE_EXTD;
}

static void set_base(u64 value)
{
	u64 old_window = lapic_window_base();
	lapic_base = value;
	if (la.moved && lapic_window_base() != old_window)
		la.moved(lapic_window_base());
}

/* IA32_APIC_BASE write (SDM 11.12.5): EN=0 EXTD=1 is invalid; x2APIC -> xAPIC and disabled ->
 * x2APIC must go through the other state. Entering the disabled state resets every register
 * but the ID (the SDM lets the APIC "return to the power-up state"), so re-enabling starts
 * clean; xAPIC -> x2APIC keeps the registers and switches to the 32-bit ID and computed LDR.
 * The BSP flag is read-only. */
static bool write_base(u64 v)
{
	if (v & base_reserved())
		return false;
	bool en = v & APIC_BASE_EN, extd = v & APIC_BASE_EXTD;
	if (!en && extd)
		return false;
	enum lapic_mode old = lapic_mode();
	enum lapic_mode new = !en ? LAPIC_MODE_DISABLED : extd ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
	if ((old == LAPIC_MODE_X2APIC && new == LAPIC_MODE_XAPIC) ||
	    (old == LAPIC_MODE_DISABLED && new == LAPIC_MODE_X2APIC))
		return false;
	if (new == LAPIC_MODE_DISABLED && old != LAPIC_MODE_DISABLED)
		reset_registers();
	if (new == LAPIC_MODE_X2APIC && old == LAPIC_MODE_XAPIC)
		la.xapic_id = (u8)X2APIC_ID; /* the legacy ID is the x2APIC ID's low 8 bits */
	set_base((v & ~APIC_BASE_BSP) | (lapic_base & APIC_BASE_BSP));
	return true;
}

bool lapic_rdmsr(u32 msr, u64 *value, u64 now)
{
	timer_catch_up(now);
	switch (msr) {
	case LAPIC_MSR_APIC_BASE: *value = lapic_base; return true;
	case LAPIC_MSR_TSC_DEADLINE: *value = deadline_mode() ? la.tsc_deadline : 0; return true;
	}
	if (!is_x2apic_msr(msr))
		return false;
	return reg_read(msr_offset(msr), now, value);
}

static bool wrmsr_apply(u32 msr, u64 value, u64 now);

bool lapic_wrmsr(u32 msr, u64 value, u64 now)
{
	bool ok = wrmsr_apply(msr, value, now);
	if (msr < LAPIC_MSR_X2APIC_FIRST || changes_mirrored(msr_offset(msr)))
		mirror();
	return ok;
}

static bool wrmsr_apply(u32 msr, u64 value, u64 now)
{
	timer_catch_up(now);
	switch (msr) {
	case LAPIC_MSR_APIC_BASE:
		return write_base(value);
	case LAPIC_MSR_TSC_DEADLINE:
		if (deadline_mode()) {
			la.tsc_deadline = value; /* 0 disarms; a past deadline fires at once */
			timer_catch_up(now);
		}
		return true;
	}
	if (!is_x2apic_msr(msr))
		return false;
	u32 off = msr_offset(msr);
	/* SDM 11.12.1.3: bits 63:32 are reserved in all but the ICR, and so are the register's
	 * own reserved bits below them (x2apic_reserved). */
	if (off != LAPIC_REG_ICR_LO && ((value >> 32) || ((u32)value & x2apic_reserved(off))))
		return false;
	return reg_write(off, value, now);
}

/* ---- Life cycle ---- */

void lapic_reset(void)
{
	la.xapic_id = (u8)X2APIC_ID;
	reset_registers();
	set_base(APIC_BASE_RESET);
	mirror();
}

void lapic_init(const struct lapic_config *cfg)
{
	la.cfg = *cfg;
	if (!la.cfg.tsc_hz)
		la.cfg.tsc_hz = LAPIC_BUS_HZ;
	lapic_reset();
}

void lapic_bios_init(void)
{
	write_svr(la.svr | APIC_SVR_ENABLE);
	write_lvt(LVT_LINT0, APIC_TRIGGER_LEVEL | APIC_DM_EXTINT << APIC_DM_SHIFT);
	write_lvt(LVT_LINT1, APIC_TRIGGER_LEVEL | APIC_DM_NMI << APIC_DM_SHIFT);
	mirror();
}

/* ---- Glue: the register window on the MMIO table ---- */

static struct mmio_device window;
static u64 (*window_clock)(void);

static u64 window_read(struct mmio_device *d, u64 offset, int size)
{
	(void)d;
	return lapic_mmio_read(offset, size, window_clock());
}

static void window_write(struct mmio_device *d, u64 offset, int size, u64 value)
{
	(void)d;
	lapic_mmio_write(offset, size, value, window_clock());
}

static void window_reset(struct mmio_device *d)
{
	(void)d;
	lapic_reset();
}

static void window_moved(u64 base)
{
	if (!mmio_device_move(&window, base))
		pr_warn("lapic: cannot move the register window to %#llx (another device is there); "
			"it stays at %#llx", base, window.base);
}

void lapic_attach(u64 (*clock)(void))
{
	window_clock = clock;
	window.name = "lapic";
	window.base = lapic_window_base();
	window.size = LAPIC_WINDOW_SIZE;
	window.read = window_read;
	window.write = window_write;
	window.reset = window_reset;
	mmio_register(&window);
	la.moved = window_moved;
}
