/* SOURCES: devices/lapic.c devices/mmio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_lapic.c - devices/lapic.c: reset values, register read/write masks, reserved registers
 * and the ESR latch, access sizes, PPR, priority and ISR nesting with EOI (and its broadcast for
 * level vectors), illegal vectors, the timer in one-shot / periodic / TSC-deadline mode with
 * every divider and several TSC rates (expiry times and current counts written out by hand),
 * masking, x2APIC MSR access rules and IA32_APIC_BASE transitions, self-IPIs through the ICR
 * and SELF IPI, APIC-bus messages, LINT0/ExtINT, and the MMIO glue. Each test starts from
 * lapic_init with a 1 GHz TSC unless it says otherwise.
 */
#include "unit.h"

#include "devices/irq.h"
#include "devices/lapic.h"
#include "devices/mmio.h"
#include "kernel/log.h"
#include "fake.h"

#define GHZ 1000000000ULL

static u64 now;            /* the guest TSC the register accesses pass */
static u8 eoi_seen[16];    /* vectors the EOI broadcast reported */
static int eoi_count;

static void on_eoi(u8 vector)
{
	if (eoi_count < 16)
		eoi_seen[eoi_count] = vector;
	eoi_count++;
}

static void init_hz(u64 tsc_hz, bool x2apic)
{
	struct lapic_config cfg = {
		.tsc_hz = tsc_hz, .maxphyaddr = 39, .x2apic = x2apic, .eoi_broadcast = on_eoi,
	};
	lapic_init(&cfg);
	eoi_count = 0;
	now = 1000;
}

static int setup(void **state)
{
	(void)state;
	init_hz(GHZ, true);
	return 0;
}

static u32 rd(u32 off) { return (u32)lapic_mmio_read(off, 4, now); }
static void wr(u32 off, u32 v) { lapic_mmio_write(off, 4, v, now); }
static void enable(void) { wr(LAPIC_REG_SVR, 0x1ff); }

/* ESR as software reads it: write, then read. */
static u32 esr(void)
{
	wr(LAPIC_REG_ESR, 0);
	return rd(LAPIC_REG_ESR);
}

static bool in_bank(u32 bank, unsigned v) { return rd(bank + (v / 32) * 0x10) & (1u << (v % 32)); }
static bool irr_has(unsigned v) { return in_bank(LAPIC_REG_IRR, v); }
static bool isr_has(unsigned v) { return in_bank(LAPIC_REG_ISR, v); }
static bool tmr_has(unsigned v) { return in_bank(LAPIC_REG_TMR, v); }

static int irr_count(void)
{
	int n = 0;
	for (u32 i = 0; i < 8; i++)
		n += __builtin_popcount(rd(LAPIC_REG_IRR + i * 0x10));
	return n;
}

/* Takes the pending interrupt (ack) and EOIs it. */
static void take_and_eoi(int vector)
{
	assert_int_equal(lapic_pending_vector(), vector);
	lapic_ack(vector);
	wr(LAPIC_REG_EOI, 0);
}

static const u32 lvt_regs[6] = {
	LAPIC_REG_LVT_TIMER, LAPIC_REG_LVT_THERMAL, LAPIC_REG_LVT_PERF,
	LAPIC_REG_LVT_LINT0, LAPIC_REG_LVT_LINT1, LAPIC_REG_LVT_ERROR,
};

/* ---- Reset ---- */

static void check_reset_state(void)
{
	u64 v = 0;
	assert_true(lapic_rdmsr(LAPIC_MSR_APIC_BASE, &v, now));
	assert_int_equal(v, 0xfee00900);
	assert_int_equal(lapic_mode(), LAPIC_MODE_XAPIC);
	assert_int_equal(lapic_window_base(), 0xfee00000);
	assert_int_equal(rd(LAPIC_REG_ID), 0);
	assert_int_equal(rd(LAPIC_REG_VERSION), 0x00050014);
	assert_int_equal(rd(LAPIC_REG_TPR), 0);
	assert_int_equal(rd(LAPIC_REG_APR), 0);
	assert_int_equal(rd(LAPIC_REG_PPR), 0);
	assert_int_equal(rd(LAPIC_REG_LDR), 0);
	assert_int_equal(rd(LAPIC_REG_DFR), 0xffffffff);
	assert_int_equal(rd(LAPIC_REG_SVR), 0xff);
	for (u32 i = 0; i < 8; i++) {
		assert_int_equal(rd(LAPIC_REG_ISR + i * 0x10), 0);
		assert_int_equal(rd(LAPIC_REG_TMR + i * 0x10), 0);
		assert_int_equal(rd(LAPIC_REG_IRR + i * 0x10), 0);
	}
	assert_int_equal(rd(LAPIC_REG_ESR), 0);
	assert_int_equal(rd(LAPIC_REG_ICR_LO), 0);
	assert_int_equal(rd(LAPIC_REG_ICR_HI), 0);
	for (int i = 0; i < 6; i++)
		assert_int_equal(rd(lvt_regs[i]), 0x10000);
	assert_int_equal(rd(LAPIC_REG_TIMER_ICR), 0);
	assert_int_equal(rd(LAPIC_REG_TIMER_CCR), 0);
	assert_int_equal(rd(LAPIC_REG_TIMER_DCR), 0);
	assert_int_equal(lapic_pending_vector(), -1);
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	assert_false(lapic_take_nmi());
	assert_true(lapic_rdmsr(LAPIC_MSR_TSC_DEADLINE, &v, now));
	assert_int_equal(v, 0);
}

static void test_reset_values(void **state)
{
	(void)state;
	check_reset_state();
}

static void test_reset_clears_everything(void **state)
{
	(void)state;
	enable();
	wr(LAPIC_REG_TPR, 0x20);
	wr(LAPIC_REG_ID, 0x07000000);
	wr(LAPIC_REG_LDR, 0x01000000);
	wr(LAPIC_REG_DFR, 0x0fffffff);
	wr(LAPIC_REG_LVT_TIMER, 0x40);
	wr(LAPIC_REG_TIMER_DCR, 0x3);
	wr(LAPIC_REG_TIMER_ICR, 500);
	wr(LAPIC_REG_ICR_HI, 0x07000000);
	wr(LAPIC_REG_ICR_LO, 0x40400); /* NMI to self */
	assert_true(lapic_set_irq(0x50, true));
	lapic_ack(0x50);
	assert_true(lapic_set_irq(0x60, false));
	rd(0x010); /* reserved: an error pending */
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfed00900, now));
	lapic_reset();
	check_reset_state();
	assert_int_equal(eoi_count, 0);
}

/* ---- Register semantics ---- */

static void test_register_write_masks(void **state)
{
	(void)state;
	enable();
	wr(LAPIC_REG_TPR, 0xfffffff5);
	assert_int_equal(rd(LAPIC_REG_TPR), 0xf5);
	wr(LAPIC_REG_LDR, 0xffffffff);
	assert_int_equal(rd(LAPIC_REG_LDR), 0xff000000);
	wr(LAPIC_REG_DFR, 0);
	assert_int_equal(rd(LAPIC_REG_DFR), 0x0fffffff);
	wr(LAPIC_REG_SVR, 0xffffffff);
	assert_int_equal(rd(LAPIC_REG_SVR), 0x1ff);
	wr(LAPIC_REG_ID, 0x12345678);
	assert_int_equal(rd(LAPIC_REG_ID), 0x12000000);
	wr(LAPIC_REG_ICR_HI, 0xffffffff);
	assert_int_equal(rd(LAPIC_REG_ICR_HI), 0xff000000);
	wr(LAPIC_REG_TIMER_DCR, 0xffffffff);
	assert_int_equal(rd(LAPIC_REG_TIMER_DCR), 0xb);
	/* ICR low: everything but delivery status and the reserved bits; shorthand 3 = all but
	 * self, so nothing is delivered */
	wr(LAPIC_REG_ICR_LO, 0xffffffff);
	assert_int_equal(rd(LAPIC_REG_ICR_LO), 0x000ccfff);
	assert_int_equal(irr_count(), 0);
	assert_false(lapic_take_nmi());
	assert_int_equal(esr(), 0);
}

static void test_read_only_registers_ignore_writes(void **state)
{
	(void)state;
	enable();
	assert_true(lapic_set_irq(0x41, true));
	lapic_ack(0x41);
	assert_true(lapic_set_irq(0x42, false));
	wr(LAPIC_REG_VERSION, 0);
	wr(LAPIC_REG_APR, 0xff);
	wr(LAPIC_REG_PPR, 0);
	wr(LAPIC_REG_TIMER_CCR, 1234);
	for (u32 i = 0; i < 8; i++) {
		wr(LAPIC_REG_ISR + i * 0x10, 0xffffffff);
		wr(LAPIC_REG_TMR + i * 0x10, 0xffffffff);
		wr(LAPIC_REG_IRR + i * 0x10, 0);
	}
	assert_int_equal(rd(LAPIC_REG_VERSION), 0x00050014);
	assert_int_equal(rd(LAPIC_REG_APR), 0);
	assert_int_equal(rd(LAPIC_REG_PPR), 0x40);
	assert_int_equal(rd(LAPIC_REG_TIMER_CCR), 0);
	assert_int_equal(rd(LAPIC_REG_ISR + 0x20), 0x2);  /* vector 0x41: word 2, bit 1 */
	assert_int_equal(rd(LAPIC_REG_TMR + 0x20), 0x2);
	assert_int_equal(rd(LAPIC_REG_IRR + 0x20), 0x4);  /* vector 0x42 */
	assert_int_equal(rd(LAPIC_REG_ISR), 0);
	assert_int_equal(esr(), 0); /* read-only writes are no errors */
}

static void test_lvt_write_masks(void **state)
{
	(void)state;
	static const u32 all_ones[6] = { 0x000700ff, 0x000107ff, 0x000107ff,
					 0x0001a7ff, 0x0001a7ff, 0x000100ff };
	enable();
	for (int i = 0; i < 6; i++) {
		wr(lvt_regs[i], 0xffffffff);
		assert_int_equal(rd(lvt_regs[i]), all_ones[i]);
		wr(lvt_regs[i], 0);
		assert_int_equal(rd(lvt_regs[i]), 0);
	}
}

static void test_lvt_masked_while_software_disabled(void **state)
{
	(void)state;
	for (int i = 0; i < 6; i++) {
		wr(lvt_regs[i], 0x31);
		assert_int_equal(rd(lvt_regs[i]), 0x10031);
	}
	enable();
	for (int i = 0; i < 6; i++) {
		wr(lvt_regs[i], 0x31);
		assert_int_equal(rd(lvt_regs[i]), 0x31);
	}
	wr(LAPIC_REG_SVR, 0xff);
	for (int i = 0; i < 6; i++)
		assert_int_equal(rd(lvt_regs[i]), 0x10031);
}

static void test_reserved_registers_and_esr_latch(void **state)
{
	(void)state;
	static const u32 reserved[] = { 0x000, 0x010, 0x040, 0x070, 0x0c0, 0x2f0, 0x3a0,
					0x3f0, 0x400, 0x800, 0xff0 };
	enable();
	for (size_t i = 0; i < ARRAY_SIZE(reserved); i++) {
		wr(LAPIC_REG_ESR, 0);
		wr(LAPIC_REG_ESR, 0);
		assert_int_equal(lapic_mmio_read(reserved[i], 4, now), 0);
		assert_int_equal(rd(LAPIC_REG_ESR), 0); /* not visible before the ESR write */
		wr(LAPIC_REG_ESR, 0);
		assert_int_equal(rd(LAPIC_REG_ESR), 0x80);
		wr(LAPIC_REG_ESR, 0); /* back-to-back writes clear it */
		assert_int_equal(rd(LAPIC_REG_ESR), 0);
		wr(reserved[i], 0x12345678);
		assert_int_equal(esr(), 0x80);
	}
	/* EOI reads 0 without an error (QEMU) */
	assert_int_equal(rd(LAPIC_REG_EOI), 0);
	assert_int_equal(esr(), 0);
}

static void test_bad_sizes_and_alignment(void **state)
{
	(void)state;
	enable();
	wr(LAPIC_REG_TPR, 0x20);
	assert_int_equal(lapic_mmio_read(LAPIC_REG_TPR, 1, now), 0);
	assert_int_equal(lapic_mmio_read(LAPIC_REG_TPR, 2, now), 0);
	assert_int_equal(lapic_mmio_read(LAPIC_REG_TPR, 8, now), 0);
	assert_int_equal(lapic_mmio_read(LAPIC_REG_VERSION + 4, 4, now), 0);
	assert_int_equal(lapic_mmio_read(LAPIC_REG_VERSION + 1, 4, now), 0);
	lapic_mmio_write(LAPIC_REG_TPR, 1, 0x50, now);
	lapic_mmio_write(LAPIC_REG_TPR, 2, 0x50, now);
	lapic_mmio_write(LAPIC_REG_TPR, 8, 0x50, now);
	lapic_mmio_write(LAPIC_REG_TPR + 4, 4, 0x50, now);
	lapic_mmio_write(LAPIC_REG_TPR + 8, 4, 0x50, now);
	assert_int_equal(rd(LAPIC_REG_TPR), 0x20);
	assert_int_equal(esr(), 0);
}

static void test_cr8(void **state)
{
	(void)state;
	lapic_write_cr8(0x5);
	assert_int_equal(rd(LAPIC_REG_TPR), 0x50);
	wr(LAPIC_REG_TPR, 0x7f);
	assert_int_equal(lapic_read_cr8(), 7);
	lapic_write_cr8(0x1f); /* only bits 3:0 */
	assert_int_equal(rd(LAPIC_REG_TPR), 0xf0);
}

/* ---- Priorities ---- */

static void test_ppr(void **state)
{
	(void)state;
	static const struct { u32 tpr; int isr; u32 ppr; } cases[] = {
		{ 0x00, -1, 0x00 }, { 0x35, -1, 0x35 }, { 0x00, 0x31, 0x30 }, { 0x35, 0x31, 0x35 },
		{ 0x20, 0x45, 0x40 }, { 0x4f, 0x45, 0x4f }, { 0x50, 0x45, 0x50 }, { 0xff, 0xfe, 0xff },
		{ 0x10, 0xe9, 0xe0 }, { 0x3f, 0x40, 0x40 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		init_hz(GHZ, true);
		enable();
		if (cases[i].isr >= 0) {
			assert_true(lapic_set_irq(cases[i].isr, false));
			lapic_ack(cases[i].isr);
		}
		wr(LAPIC_REG_TPR, cases[i].tpr);
		assert_int_equal(rd(LAPIC_REG_PPR), cases[i].ppr);
	}
}

static void test_priority_and_nesting(void **state)
{
	(void)state;
	enable();
	assert_true(lapic_set_irq(0x30, false));
	assert_true(lapic_set_irq(0x50, false));
	assert_true(lapic_set_irq(0x35, false));
	assert_int_equal(lapic_pending_vector(), 0x50);
	lapic_ack(0x50);
	assert_false(irr_has(0x50));
	assert_true(isr_has(0x50));
	assert_int_equal(rd(LAPIC_REG_PPR), 0x50);
	assert_int_equal(lapic_pending_vector(), -1); /* 0x35: class 3 <= 5 */
	assert_true(lapic_set_irq(0x61, false));
	assert_int_equal(lapic_pending_vector(), 0x61); /* nests above 0x50 */
	lapic_ack(0x61);
	assert_int_equal(rd(LAPIC_REG_PPR), 0x60);
	wr(LAPIC_REG_EOI, 0); /* retires 0x61, the highest */
	assert_false(isr_has(0x61));
	assert_true(isr_has(0x50));
	assert_int_equal(lapic_pending_vector(), -1);
	wr(LAPIC_REG_EOI, 0);
	assert_int_equal(rd(LAPIC_REG_PPR), 0);
	assert_int_equal(lapic_pending_vector(), 0x35);
	lapic_ack(0x35);
	assert_int_equal(lapic_pending_vector(), -1); /* 0x30 is in 0x35's class */
	wr(LAPIC_REG_EOI, 0);
	assert_int_equal(lapic_pending_vector(), 0x30);
	wr(LAPIC_REG_TPR, 0x30);
	assert_int_equal(lapic_pending_vector(), -1);
	wr(LAPIC_REG_TPR, 0x2f);
	assert_int_equal(lapic_pending_vector(), 0x30);
	lapic_ack(0x99); /* not pending: ignored */
	assert_false(isr_has(0x99));
	take_and_eoi(0x30);
	assert_int_equal(lapic_pending_vector(), -1);
	wr(LAPIC_REG_EOI, 0); /* nothing in service: harmless */
	assert_int_equal(eoi_count, 0);
}

static void test_eoi_broadcast_for_level_vectors_only(void **state)
{
	(void)state;
	enable();
	assert_true(lapic_set_irq(0x41, true));
	assert_true(tmr_has(0x41));
	take_and_eoi(0x41);
	assert_int_equal(eoi_count, 1);
	assert_int_equal(eoi_seen[0], 0x41);
	assert_true(lapic_set_irq(0x42, false));
	assert_false(tmr_has(0x42));
	take_and_eoi(0x42);
	assert_int_equal(eoi_count, 1);
	assert_true(lapic_set_irq(0x41, false)); /* now edge: TMR follows the last acceptance */
	assert_false(tmr_has(0x41));
	take_and_eoi(0x41);
	assert_int_equal(eoi_count, 1);
}

static void test_illegal_vectors(void **state)
{
	(void)state;
	enable();
	for (int v = 0; v < 16; v++)
		assert_false(lapic_set_irq(v, false));
	assert_false(lapic_set_irq(-1, false));
	assert_false(lapic_set_irq(256, false));
	assert_int_equal(irr_count(), 0);
	assert_int_equal(esr(), 0x40);
	assert_true(lapic_set_irq(16, false));
	assert_int_equal(lapic_pending_vector(), 16);
	assert_int_equal(esr(), 0);
}

static void test_disabled_apic_takes_no_interrupts(void **state)
{
	(void)state;
	assert_false(lapic_set_irq(0x40, false)); /* software-disabled after reset */
	assert_int_equal(irr_count(), 0);
	enable();
	assert_true(lapic_set_irq(0x40, false));
	wr(LAPIC_REG_SVR, 0xff);
	assert_int_equal(lapic_pending_vector(), -1); /* held, not delivered */
	assert_true(irr_has(0x40));
	enable();
	assert_int_equal(lapic_pending_vector(), 0x40);
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00000, now));
	assert_int_equal(lapic_mode(), LAPIC_MODE_DISABLED);
	assert_false(lapic_set_irq(0x40, false));
	assert_int_equal(lapic_pending_vector(), -1);
	assert_int_equal(lapic_mmio_read(LAPIC_REG_VERSION, 4, now), 0xffffffff);
}

static void test_error_interrupt(void **state)
{
	(void)state;
	enable();
	wr(LAPIC_REG_LVT_ERROR, 0x10050); /* masked: recorded, no interrupt */
	rd(0x010);
	assert_int_equal(irr_count(), 0);
	assert_int_equal(esr(), 0x80);
	wr(LAPIC_REG_LVT_ERROR, 0x50);
	rd(0x010);
	assert_true(irr_has(0x50));
	take_and_eoi(0x50);
	rd(0x010); /* same error again before an ESR write: no new interrupt */
	assert_int_equal(irr_count(), 0);
	assert_int_equal(esr(), 0x80);
	wr(0x3f0, 0);
	assert_true(irr_has(0x50));
	take_and_eoi(0x50);
	wr(LAPIC_REG_ESR, 0);
	wr(LAPIC_REG_LVT_ERROR, 0x05); /* an illegal error vector: only the ESR bit */
	rd(0x010);
	assert_int_equal(irr_count(), 0);
	assert_int_equal(esr(), 0xc0);
}

/* ---- Timer ---- */

static void arm(u32 lvt, u32 dcr, u32 count)
{
	enable();
	wr(LAPIC_REG_LVT_TIMER, lvt);
	wr(LAPIC_REG_TIMER_DCR, dcr);
	wr(LAPIC_REG_TIMER_ICR, count);
}

static u32 ccr_at(u64 t)
{
	now = t;
	return rd(LAPIC_REG_TIMER_CCR);
}

static void test_timer_oneshot_every_divider(void **state)
{
	(void)state;
	static const struct { u32 dcr; u64 div; } dividers[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(dividers); i++) {
		u64 div = dividers[i].div, t0 = 5000, expiry = t0 + 1000 * div;
		init_hz(GHZ, true);
		now = t0;
		arm(0x40, dividers[i].dcr, 1000);
		assert_int_equal(lapic_next_deadline(), expiry);
		assert_int_equal(ccr_at(t0), 1000);
		assert_int_equal(ccr_at(t0 + div - 1), 1000);
		assert_int_equal(ccr_at(t0 + div), 999);
		assert_int_equal(ccr_at(expiry - 1), 1);
		lapic_tick(expiry - 1);
		assert_int_equal(irr_count(), 0);
		lapic_tick(expiry);
		assert_true(irr_has(0x40));
		assert_int_equal(lapic_next_deadline(), IRQ_NONE);
		assert_int_equal(ccr_at(expiry), 0);
		take_and_eoi(0x40);
		lapic_tick(expiry + 5000 * div); /* one-shot: never again */
		assert_int_equal(irr_count(), 0);
		assert_int_equal(rd(LAPIC_REG_TIMER_ICR), 1000);
	}
}

static void test_timer_current_count(void **state)
{
	(void)state;
	now = 1000;
	arm(0x40, 0x3, 100); /* divide by 16 */
	assert_int_equal(ccr_at(1000), 100);
	assert_int_equal(ccr_at(1015), 100);
	assert_int_equal(ccr_at(1016), 99);
	assert_int_equal(ccr_at(1800), 50);
	assert_int_equal(ccr_at(2599), 1);
	assert_int_equal(ccr_at(2600), 0);
	assert_true(irr_has(0x40)); /* the read caught the timer up */
	assert_int_equal(ccr_at(9999), 0);
}

static void test_timer_tsc_rates(void **state)
{
	(void)state;
	/* 2.5 GHz: a count is 2.5 TSC ticks; expiry at ceil(3 * 2.5) = 8 */
	init_hz(2500000000ULL, true);
	now = 100;
	arm(0x40, 0xb, 3);
	assert_int_equal(lapic_next_deadline(), 108);
	assert_int_equal(ccr_at(102), 3);  /* 2 ticks = 0.8 counts */
	assert_int_equal(ccr_at(103), 2);  /* 1.2 counts */
	assert_int_equal(ccr_at(107), 1);  /* 2.8 counts */
	lapic_tick(107);
	assert_int_equal(irr_count(), 0);
	lapic_tick(108);
	assert_true(irr_has(0x40));

	/* 3 GHz, divide by 2: 1000 counts = 2000 ns = 6000 ticks */
	init_hz(3000000000ULL, true);
	now = 7;
	arm(0x40, 0x0, 1000);
	assert_int_equal(lapic_next_deadline(), 6007);
	assert_int_equal(ccr_at(3007), 500);

	/* 100 MHz (slower than 1 GHz): the timer counts at the TSC rate */
	init_hz(100000000ULL, true);
	now = 50;
	arm(0x40, 0xb, 1000);
	assert_int_equal(lapic_next_deadline(), 1050);
	assert_int_equal(ccr_at(550), 500);

	/* 3.3 GHz, the longest timer: 0xffffffff counts at divide by 128
	 * = 549755813760 ns = 1814194185408 ticks */
	init_hz(3300000000ULL, true);
	now = 1ULL << 40;
	arm(0x40, 0xa, 0xffffffff);
	assert_int_equal(lapic_next_deadline(), (1ULL << 40) + 1814194185408ULL);
	assert_int_equal(ccr_at((1ULL << 40) + 1814194185408ULL - 1), 1);
	assert_int_equal(ccr_at((1ULL << 40) + 907097092704ULL), 0x80000000);
}

static void test_timer_periodic(void **state)
{
	(void)state;
	now = 10000;
	arm(0x20040, 0xb, 1000);
	assert_int_equal(lapic_next_deadline(), 11000);
	lapic_tick(10999);
	assert_int_equal(irr_count(), 0);
	lapic_tick(11000);
	assert_true(irr_has(0x40));
	assert_int_equal(lapic_next_deadline(), 12000);
	assert_int_equal(ccr_at(11000), 1000); /* reloaded */
	assert_int_equal(ccr_at(11250), 750);
	take_and_eoi(0x40);
	lapic_tick(12000);
	assert_true(irr_has(0x40));
	take_and_eoi(0x40);
	/* missed periods (13000, 14000, 15000) coalesce into one interrupt; the grid stays */
	lapic_tick(15500);
	assert_int_equal(irr_count(), 1);
	assert_int_equal(lapic_next_deadline(), 16000);
	assert_int_equal(ccr_at(15500), 500);
	take_and_eoi(0x40);
	lapic_tick(15999);
	assert_int_equal(irr_count(), 0);
	lapic_tick(16000);
	assert_true(irr_has(0x40));
	assert_int_equal(lapic_next_deadline(), 17000);
}

static void test_timer_periodic_no_drift(void **state)
{
	(void)state;
	/* 2.5 GHz, 3 counts: expiries at 7.5, 15, 22.5, 30 ticks -> 8, 15, 23, 30 */
	static const u64 expected[] = { 8, 15, 23, 30, 38 };
	init_hz(2500000000ULL, true);
	now = 0;
	arm(0x20040, 0xb, 3);
	for (size_t i = 0; i < ARRAY_SIZE(expected); i++) {
		assert_int_equal(lapic_next_deadline(), expected[i]);
		lapic_tick(expected[i] - 1);
		assert_int_equal(irr_count(), 0);
		lapic_tick(expected[i]);
		assert_true(irr_has(0x40));
		take_and_eoi(0x40);
	}
}

static void test_timer_masked(void **state)
{
	(void)state;
	now = 1000;
	arm(0x10040, 0xb, 1000); /* one-shot, masked */
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	lapic_tick(2000);
	assert_int_equal(irr_count(), 0);
	assert_int_equal(ccr_at(2000), 0); /* it expired all the same */
	now = 2500;
	wr(LAPIC_REG_LVT_TIMER, 0x40); /* unmasking later brings nothing back */
	lapic_tick(2500);
	assert_int_equal(irr_count(), 0);
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);

	/* periodic, masked through two periods, then unmasked: next expiry on the grid */
	init_hz(GHZ, true);
	now = 1000;
	arm(0x30040, 0xb, 1000);
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	now = 3500;
	wr(LAPIC_REG_LVT_TIMER, 0x20040);
	assert_int_equal(irr_count(), 0);
	assert_int_equal(lapic_next_deadline(), 4000);
	lapic_tick(4000);
	assert_true(irr_has(0x40));

	/* software disable masks the timer too */
	take_and_eoi(0x40);
	now = 4100;
	wr(LAPIC_REG_SVR, 0xff);
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	lapic_tick(5000);
	assert_int_equal(irr_count(), 0);
}

static void test_timer_tsc_deadline(void **state)
{
	(void)state;
	u64 v = 0;
	now = 1000;
	enable();
	wr(LAPIC_REG_LVT_TIMER, 0x40040);
	assert_true(lapic_wrmsr(LAPIC_MSR_TSC_DEADLINE, 5000, now));
	assert_true(lapic_rdmsr(LAPIC_MSR_TSC_DEADLINE, &v, now));
	assert_int_equal(v, 5000);
	assert_int_equal(lapic_next_deadline(), 5000);
	assert_int_equal(rd(LAPIC_REG_TIMER_CCR), 0);
	lapic_tick(4999);
	assert_int_equal(irr_count(), 0);
	lapic_tick(5000);
	assert_true(irr_has(0x40));
	assert_true(lapic_rdmsr(LAPIC_MSR_TSC_DEADLINE, &v, 5000));
	assert_int_equal(v, 0); /* cleared when it fired */
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	take_and_eoi(0x40);

	/* writing 0 disarms */
	now = 6000;
	assert_true(lapic_wrmsr(LAPIC_MSR_TSC_DEADLINE, 7000, now));
	assert_true(lapic_wrmsr(LAPIC_MSR_TSC_DEADLINE, 0, now));
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	lapic_tick(8000);
	assert_int_equal(irr_count(), 0);

	/* a deadline already past fires at once */
	now = 9000;
	assert_true(lapic_wrmsr(LAPIC_MSR_TSC_DEADLINE, 500, now));
	assert_true(irr_has(0x40));
	take_and_eoi(0x40);

	/* the initial count is ignored in TSC-deadline mode */
	wr(LAPIC_REG_TIMER_ICR, 100);
	assert_int_equal(rd(LAPIC_REG_TIMER_ICR), 0);
	assert_int_equal(rd(LAPIC_REG_TIMER_CCR), 0);

	/* masked: it still expires and clears the MSR, without an interrupt */
	wr(LAPIC_REG_LVT_TIMER, 0x50040);
	assert_true(lapic_wrmsr(LAPIC_MSR_TSC_DEADLINE, 9500, now));
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	lapic_tick(9600);
	assert_true(lapic_rdmsr(LAPIC_MSR_TSC_DEADLINE, &v, 9600));
	assert_int_equal(v, 0);
	assert_int_equal(irr_count(), 0);
}

static void test_timer_mode_switches(void **state)
{
	(void)state;
	u64 v = 0;
	/* leaving TSC-deadline mode disarms and clears the MSR */
	now = 1000;
	enable();
	wr(LAPIC_REG_LVT_TIMER, 0x40040);
	assert_true(lapic_wrmsr(LAPIC_MSR_TSC_DEADLINE, 9000, now));
	wr(LAPIC_REG_LVT_TIMER, 0x40);
	assert_true(lapic_rdmsr(LAPIC_MSR_TSC_DEADLINE, &v, now));
	assert_int_equal(v, 0);
	wr(LAPIC_REG_LVT_TIMER, 0x40040);
	assert_true(lapic_rdmsr(LAPIC_MSR_TSC_DEADLINE, &v, now));
	assert_int_equal(v, 0);
	lapic_tick(9000);
	assert_int_equal(irr_count(), 0);

	/* outside TSC-deadline mode the MSR reads 0 and ignores writes */
	wr(LAPIC_REG_LVT_TIMER, 0x40);
	assert_true(lapic_wrmsr(LAPIC_MSR_TSC_DEADLINE, 5000, now));
	assert_true(lapic_rdmsr(LAPIC_MSR_TSC_DEADLINE, &v, now));
	assert_int_equal(v, 0);

	/* entering TSC-deadline mode stops a countdown and clears the initial count */
	wr(LAPIC_REG_TIMER_DCR, 0xb);
	wr(LAPIC_REG_TIMER_ICR, 100);
	wr(LAPIC_REG_LVT_TIMER, 0x40040);
	assert_int_equal(rd(LAPIC_REG_TIMER_ICR), 0);
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	lapic_tick(5000);
	assert_int_equal(irr_count(), 0);

	/* one-shot -> periodic keeps counting, then repeats */
	init_hz(GHZ, true);
	now = 1000;
	arm(0x40, 0xb, 1000);
	now = 1500;
	wr(LAPIC_REG_LVT_TIMER, 0x20040);
	assert_int_equal(lapic_next_deadline(), 2000);
	lapic_tick(2000);
	assert_true(irr_has(0x40));
	assert_int_equal(lapic_next_deadline(), 3000);
}

static void test_timer_stop_restart_and_divider_change(void **state)
{
	(void)state;
	now = 1000;
	arm(0x40, 0x0, 100); /* divide by 2: expiry at 1200 */
	assert_int_equal(lapic_next_deadline(), 1200);
	now = 1050; /* 25 counts gone */
	wr(LAPIC_REG_TIMER_DCR, 0x0); /* same divider: nothing moves */
	assert_int_equal(lapic_next_deadline(), 1200);
	wr(LAPIC_REG_TIMER_DCR, 0x2); /* divide by 8: 75 counts left at 8 ticks each */
	assert_int_equal(rd(LAPIC_REG_TIMER_CCR), 75);
	assert_int_equal(lapic_next_deadline(), 1050 + 600);
	assert_int_equal(ccr_at(1058), 74);
	now = 1100;
	wr(LAPIC_REG_TIMER_ICR, 0); /* 0 stops it */
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	assert_int_equal(rd(LAPIC_REG_TIMER_CCR), 0);
	lapic_tick(5000);
	assert_int_equal(irr_count(), 0);
	now = 6000;
	wr(LAPIC_REG_TIMER_ICR, 10); /* restarts from the write */
	assert_int_equal(lapic_next_deadline(), 6080);
	now = 6040;
	wr(LAPIC_REG_TIMER_ICR, 10); /* and again */
	assert_int_equal(lapic_next_deadline(), 6120);
}

/* ---- x2APIC ---- */

static void to_x2apic(void)
{
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00c00, now));
	assert_int_equal(lapic_mode(), LAPIC_MODE_X2APIC);
}

static u64 msr(u32 m)
{
	u64 v = 0xdead;
	assert_true(lapic_rdmsr(m, &v, now));
	return v;
}

static void test_apic_base_transitions(void **state)
{
	(void)state;
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00400, now)); /* EN=0 EXTD=1 */
	to_x2apic();
	assert_int_equal(msr(LAPIC_MSR_APIC_BASE), 0xfee00d00); /* BSP kept */
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00800, now)); /* x2APIC -> xAPIC */
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00400, now));
	assert_int_equal(lapic_mode(), LAPIC_MODE_X2APIC);
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00000, now)); /* -> disabled */
	assert_int_equal(lapic_mode(), LAPIC_MODE_DISABLED);
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00c00, now)); /* disabled -> x2APIC */
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00400, now));
	assert_int_equal(lapic_mode(), LAPIC_MODE_DISABLED);
	assert_int_equal(msr(LAPIC_MSR_APIC_BASE), 0xfee00100);
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00800, now)); /* -> xAPIC */
	assert_int_equal(lapic_mode(), LAPIC_MODE_XAPIC);
	assert_int_equal(msr(LAPIC_MSR_APIC_BASE), 0xfee00900);
	/* reserved bits: 0-7, 9, MAXPHYADDR (39) and up */
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00801, now));
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00880, now));
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00a00, now));
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, (1ULL << 39) | 0xfee00800, now));
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, (1ULL << 63) | 0xfee00800, now));
	assert_int_equal(msr(LAPIC_MSR_APIC_BASE), 0xfee00900);
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, (1ULL << 38) | 0x800, now));
	assert_int_equal(lapic_window_base(), 1ULL << 38);
	assert_int_equal(msr(LAPIC_MSR_APIC_BASE), (1ULL << 38) | 0x900);
	/* without x2APIC in CPUID, EXTD is reserved */
	init_hz(GHZ, false);
	assert_false(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00c00, now));
	assert_int_equal(lapic_mode(), LAPIC_MODE_XAPIC);
}

static void test_disable_resets_registers(void **state)
{
	(void)state;
	enable();
	wr(LAPIC_REG_TPR, 0x20);
	wr(LAPIC_REG_LVT_LINT0, 0x700);
	wr(LAPIC_REG_LVT_TIMER, 0x30);
	assert_true(lapic_set_irq(0x40, false));
	wr(LAPIC_REG_TIMER_DCR, 0xb);
	wr(LAPIC_REG_TIMER_ICR, 1000);
	to_x2apic(); /* xAPIC -> x2APIC keeps the registers */
	assert_int_equal(msr(0x808), 0x20);
	assert_int_equal(msr(0x80f), 0x1ff);
	assert_int_equal(msr(0x835), 0x700);
	assert_int_equal(lapic_pending_vector(), 0x40);
	assert_int_equal(lapic_next_deadline(), 2000);
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00000, now));
	assert_int_equal(lapic_next_deadline(), IRQ_NONE);
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00800, now));
	check_reset_state();
	assert_true(lapic_extint_enabled());
}

static void test_x2apic_msr_rules(void **state)
{
	(void)state;
	u64 v = 0;
	assert_true(lapic_owns_msr(0x1b));
	assert_true(lapic_owns_msr(0x6e0));
	assert_true(lapic_owns_msr(0x800));
	assert_true(lapic_owns_msr(0xbff));
	assert_false(lapic_owns_msr(0x7ff));
	assert_false(lapic_owns_msr(0xc00));
	assert_false(lapic_owns_msr(0x10));
	/* xAPIC mode: no x2APIC MSRs */
	assert_false(lapic_rdmsr(0x802, &v, now));
	assert_false(lapic_wrmsr(0x808, 0, now));
	assert_false(lapic_wrmsr(0x83f, 0x40, now));

	enable();
	wr(LAPIC_REG_ID, 0x05000000);
	to_x2apic();
	assert_int_equal(msr(0x802), 0); /* the 32-bit x2APIC ID */
	assert_int_equal(msr(0x803), 0x00050014);
	assert_int_equal(msr(0x80d), 0x00000001); /* LDR: cluster 0, bit 0 */
	assert_int_equal(msr(0x80f), 0x1ff);
	assert_int_equal(msr(0x832), 0x10000);
	/* read-only */
	static const u32 ro[] = { 0x802, 0x803, 0x80a, 0x80d, 0x810, 0x817, 0x818, 0x820, 0x827, 0x839 };
	for (size_t i = 0; i < ARRAY_SIZE(ro); i++)
		assert_false(lapic_wrmsr(ro[i], 0, now));
	/* reserved: neither read nor write */
	static const u32 rsvd[] = { 0x800, 0x801, 0x804, 0x809, 0x80c, 0x80e, 0x82f, 0x831,
				    0x83a, 0x83d, 0x840, 0x8ff, 0xbff };
	for (size_t i = 0; i < ARRAY_SIZE(rsvd); i++) {
		assert_false(lapic_rdmsr(rsvd[i], &v, now));
		assert_false(lapic_wrmsr(rsvd[i], 0, now));
	}
	/* write-only */
	assert_false(lapic_rdmsr(0x80b, &v, now));
	assert_false(lapic_rdmsr(0x83f, &v, now));
	/* EOI and ESR take only 0 */
	assert_false(lapic_wrmsr(0x80b, 1, now));
	assert_true(lapic_wrmsr(0x80b, 0, now));
	assert_false(lapic_wrmsr(0x828, 1, now));
	assert_true(lapic_wrmsr(0x828, 0, now));
	/* bits 63:32 are reserved except in the ICR */
	assert_true(lapic_wrmsr(0x808, 0x20, now));
	assert_false(lapic_wrmsr(0x808, (1ULL << 32) | 0x30, now));
	assert_int_equal(msr(0x808), 0x20);
	assert_false(lapic_wrmsr(0x832, 1ULL << 40, now));
	assert_false(lapic_wrmsr(0x83f, 1ULL << 32 | 0x40, now));
	/* reserved bits 31:0 of TPR, SVR and SELF IPI (as bare Bochs; SELF IPI as the SDM) */
	assert_false(lapic_wrmsr(0x808, 0x120, now));
	assert_int_equal(msr(0x808), 0x20);
	assert_false(lapic_wrmsr(0x80f, 0x2ff, now)); /* focus checking */
	assert_false(lapic_wrmsr(0x80f, 0x10ff, now)); /* EOI-broadcast suppression */
	assert_false(lapic_wrmsr(0x80f, 0x800001ff, now));
	assert_int_equal(msr(0x80f), 0x1ff);
	assert_false(lapic_wrmsr(0x83f, 0x140, now));
	assert_false(lapic_wrmsr(0x83f, 0x80000040, now));
	/* ... the other registers' reserved bits are ignored (as Bochs and KVM) */
	assert_true(lapic_wrmsr(0x83e, 0x1b, now));
	assert_int_equal(msr(0x83e), 0xb);
	assert_int_equal(lapic_pending_vector(), -1);
	/* the MMIO window is off */
	assert_int_equal(lapic_mmio_read(LAPIC_REG_VERSION, 4, now), 0xffffffff);
	lapic_mmio_write(LAPIC_REG_TPR, 4, 0x90, now);
	assert_int_equal(msr(0x808), 0x20);
	/* timer registers by MSR */
	assert_true(lapic_wrmsr(0x83e, 0xb, now));
	assert_true(lapic_wrmsr(0x832, 0x40, now));
	assert_true(lapic_wrmsr(0x838, 500, now));
	now += 100;
	assert_int_equal(msr(0x839), 400);
	assert_int_equal(msr(0x838), 500);
}

/* ---- IPIs to self ---- */

static void send_xapic(u32 hi, u32 lo)
{
	wr(LAPIC_REG_ICR_HI, hi);
	wr(LAPIC_REG_ICR_LO, lo);
}

static void test_self_ipi_xapic(void **state)
{
	(void)state;
	enable();
	send_xapic(0, 0x48040);   /* self shorthand, trigger bit set: still edge */
	assert_true(irr_has(0x40));
	assert_false(tmr_has(0x40));
	assert_int_equal(rd(LAPIC_REG_ICR_LO), 0x48040); /* delivery status 0 */
	send_xapic(0x00000000, 0x41); /* physical, own ID */
	assert_true(irr_has(0x41));
	send_xapic(0x01000000, 0x42); /* physical, another ID */
	assert_false(irr_has(0x42));
	send_xapic(0xff000000, 0x43); /* physical broadcast */
	assert_true(irr_has(0x43));
	send_xapic(0, 0xc0044);       /* all but self */
	assert_false(irr_has(0x44));
	send_xapic(0x01000000, 0x80045); /* all including self (destination ignored) */
	assert_true(irr_has(0x45));
	send_xapic(0x01000000, 0x146);   /* lowest priority: to this one CPU */
	assert_false(irr_has(0x46));
	wr(LAPIC_REG_ID, 0x01000000);
	send_xapic(0x01000000, 0x146);
	assert_true(irr_has(0x46));
	/* logical, flat model */
	wr(LAPIC_REG_LDR, 0x01000000);
	send_xapic(0x01000000, 0x847);
	assert_true(irr_has(0x47));
	send_xapic(0x02000000, 0x848);
	assert_false(irr_has(0x48));
	/* logical, cluster model: cluster 2, member bit 0 */
	wr(LAPIC_REG_DFR, 0x0fffffff);
	wr(LAPIC_REG_LDR, 0x21000000);
	send_xapic(0x23000000, 0x849);
	assert_true(irr_has(0x49));
	send_xapic(0x11000000, 0x84a);
	assert_false(irr_has(0x4a));
	send_xapic(0x22000000, 0x84b);
	assert_false(irr_has(0x4b));
	assert_int_equal(esr(), 0);
	assert_int_equal(irr_count(), 7);
}

static void test_self_ipi_other_modes_and_errors(void **state)
{
	(void)state;
	enable();
	send_xapic(0, 0x40400); /* NMI to self */
	assert_true(lapic_take_nmi());
	assert_false(lapic_take_nmi());
	send_xapic(0, 0xc0400); /* NMI to the others: nobody */
	assert_false(lapic_take_nmi());
	send_xapic(0, 0x40500); /* INIT, STARTUP, SMI to self: dropped */
	send_xapic(0, 0x40610);
	send_xapic(0, 0x40200);
	assert_false(lapic_take_nmi());
	assert_int_equal(irr_count(), 0);
	assert_int_equal(esr(), 0);
	send_xapic(0, 0x4000f); /* illegal vector to self: send and receive errors */
	assert_int_equal(irr_count(), 0);
	assert_int_equal(esr(), 0x60);
	send_xapic(0, 0xc000f); /* illegal vector to nobody: send error only */
	assert_int_equal(esr(), 0x20);
	send_xapic(0, 0x4040f); /* an NMI's vector is not checked */
	assert_int_equal(esr(), 0);
	assert_true(lapic_take_nmi());
	wr(LAPIC_REG_SVR, 0xff); /* software-disabled: fixed IPIs are dropped, NMIs are not */
	send_xapic(0, 0x40050);
	assert_int_equal(irr_count(), 0);
	send_xapic(0, 0x40400);
	assert_true(lapic_take_nmi());
}

static bool irr_has_msr(unsigned v) { return msr(0x820 + v / 32) & (1u << (v % 32)); }

static void test_self_ipi_x2apic(void **state)
{
	(void)state;
	to_x2apic();
	assert_true(lapic_wrmsr(0x80f, 0x1ff, now));
	assert_true(lapic_wrmsr(0x83f, 0x50, now));
	assert_int_equal(lapic_pending_vector(), 0x50);
	assert_int_equal(msr(0x818 + 0x50 / 32), 0); /* edge */
	assert_true(lapic_wrmsr(0x830, 0x51, now));                         /* physical, ID 0 */
	assert_true(lapic_wrmsr(0x830, (1ULL << 32) | 0x52, now));          /* ID 1 */
	assert_true(lapic_wrmsr(0x830, (0xffffffffULL << 32) | 0x53, now)); /* broadcast */
	assert_true(lapic_wrmsr(0x830, (0xffULL << 32) | 0x54, now));       /* just ID 255 here */
	assert_true(lapic_wrmsr(0x830, (1ULL << 32) | 0x855, now));         /* logical: cluster 0 bit 0 */
	assert_true(lapic_wrmsr(0x830, (2ULL << 32) | 0x856, now));         /* bit 1 */
	assert_true(lapic_wrmsr(0x830, (0x10001ULL << 32) | 0x857, now));   /* cluster 1 */
	assert_true(lapic_wrmsr(0x830, 0x40058, now));                      /* self shorthand */
	assert_true(irr_has_msr(0x50));
	assert_true(irr_has_msr(0x51));
	assert_false(irr_has_msr(0x52));
	assert_true(irr_has_msr(0x53));
	assert_false(irr_has_msr(0x54));
	assert_true(irr_has_msr(0x55));
	assert_false(irr_has_msr(0x56));
	assert_false(irr_has_msr(0x57));
	assert_true(irr_has_msr(0x58));
	assert_int_equal(msr(0x830), 0x40058); /* the whole 64-bit ICR reads back */
	assert_true(lapic_wrmsr(0x830, (0x12345678ULL << 32) | 0x0c0059, now));
	assert_int_equal(msr(0x830), (0x12345678ULL << 32) | 0x0c0059);
	/* SELF IPI with an illegal vector: both ESR bits, no IRR */
	assert_true(lapic_wrmsr(0x83f, 0x05, now));
	assert_true(lapic_wrmsr(0x828, 0, now));
	assert_int_equal(msr(0x828), 0x60);
	assert_int_equal(msr(0x820), 0);
	/* EOI by MSR */
	lapic_ack(0x58);
	assert_true(msr(0x812) & (1u << (0x58 - 64)));
	assert_true(lapic_wrmsr(0x80b, 0, now));
	assert_int_equal(msr(0x812), 0);
}

/* ---- APIC-bus messages, LINT0 ---- */

static bool send_msg(u8 vector, u8 dm, bool logical, bool level, u8 dest)
{
	struct apic_msg m = { .vector = vector, .delivery_mode = dm, .logical = logical,
			      .level = level, .dest = dest };
	return lapic_deliver(&m);
}

static void test_bus_messages(void **state)
{
	(void)state;
	enable();
	assert_true(send_msg(0x60, APIC_DM_FIXED, false, false, 0));
	assert_true(irr_has(0x60));
	assert_false(send_msg(0x61, APIC_DM_FIXED, false, false, 1));
	assert_false(send_msg(0x62, APIC_DM_FIXED, true, false, 0x01)); /* LDR is 0 */
	assert_true(send_msg(0x63, APIC_DM_FIXED, true, false, 0xff));  /* broadcast */
	assert_true(send_msg(0x64, APIC_DM_LOWEST, false, true, 0));
	assert_true(tmr_has(0x64));
	wr(LAPIC_REG_LDR, 0x04000000);
	assert_true(send_msg(0x65, APIC_DM_FIXED, true, false, 0x0c));
	assert_false(send_msg(0x66, APIC_DM_FIXED, true, false, 0x03));
	assert_true(send_msg(0, APIC_DM_NMI, false, false, 0));
	assert_true(lapic_take_nmi());
	assert_false(send_msg(0x67, APIC_DM_SMI, false, false, 0));
	assert_false(send_msg(0x68, APIC_DM_INIT, false, false, 0));
	assert_false(send_msg(0x69, APIC_DM_EXTINT, false, false, 0));
	assert_false(send_msg(0x0e, APIC_DM_FIXED, false, false, 0)); /* illegal vector */
	assert_int_equal(esr(), 0x40);
	assert_int_equal(irr_count(), 4);
	/* x2APIC mode: an 8-bit destination against the 32-bit ID and LDR */
	to_x2apic();
	assert_true(send_msg(0x70, APIC_DM_FIXED, false, false, 0));
	assert_false(send_msg(0x71, APIC_DM_FIXED, false, false, 2));
	assert_true(send_msg(0x72, APIC_DM_FIXED, true, false, 0x01));
	assert_false(send_msg(0x73, APIC_DM_FIXED, true, false, 0x02));
	assert_true(send_msg(0x74, APIC_DM_FIXED, false, false, 0xff));
	/* hardware-disabled: nothing arrives */
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00000, now));
	assert_false(send_msg(0x75, APIC_DM_FIXED, false, false, 0));
	assert_false(send_msg(0, APIC_DM_NMI, false, false, 0));
	assert_false(lapic_take_nmi());
}

static void test_extint_enabled(void **state)
{
	(void)state;
	assert_true(lapic_extint_enabled()); /* software-disabled: virtual wire */
	enable();
	assert_false(lapic_extint_enabled()); /* LINT0 still masked from reset */
	wr(LAPIC_REG_LVT_LINT0, 0x700);
	assert_true(lapic_extint_enabled());
	wr(LAPIC_REG_LVT_LINT0, 0x8700);
	assert_true(lapic_extint_enabled());
	wr(LAPIC_REG_LVT_LINT0, 0x10700);
	assert_false(lapic_extint_enabled());
	wr(LAPIC_REG_LVT_LINT0, 0x30); /* fixed */
	assert_false(lapic_extint_enabled());
	wr(LAPIC_REG_LVT_LINT0, 0x400); /* NMI */
	assert_false(lapic_extint_enabled());
	wr(LAPIC_REG_SVR, 0xff);
	assert_true(lapic_extint_enabled());
	enable();
	assert_false(lapic_extint_enabled());
	to_x2apic();
	assert_false(lapic_extint_enabled());
	assert_true(lapic_wrmsr(0x835, 0x700, now));
	assert_true(lapic_extint_enabled());
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00000, now));
	assert_true(lapic_extint_enabled()); /* hardware-disabled: INTR wired in */
}

static void test_bios_init(void **state)
{
	(void)state;
	lapic_bios_init();
	assert_int_equal(rd(LAPIC_REG_SVR), 0x1ff);
	assert_int_equal(rd(LAPIC_REG_LVT_LINT0), 0x8700);
	assert_int_equal(rd(LAPIC_REG_LVT_LINT1), 0x8400);
	assert_int_equal(rd(LAPIC_REG_LVT_TIMER), 0x10000);
	assert_int_equal(rd(LAPIC_REG_LVT_ERROR), 0x10000);
	assert_true(lapic_extint_enabled());
	assert_true(lapic_set_irq(0x30, false));
}

/* ---- Glue ---- */

static u64 glue_clock;
static u64 clock_fn(void) { return glue_clock; }

static u64 dummy_read(struct mmio_device *d, u64 offset, int size)
{
	(void)d, (void)offset, (void)size;
	return 0x1234;
}

static void test_glue_window(void **state)
{
	(void)state;
	static struct mmio_device other = { .name = "other", .base = 0xfec00000, .size = 0x1000,
					    .read = dummy_read };
	u64 v = 0;
	mmio_register(&other);
	lapic_attach(clock_fn);
	assert_true(mmio_read(0xfee00030, 4, &v));
	assert_int_equal(v, 0x00050014);
	/* the timer sees the clock */
	glue_clock = 100;
	assert_true(mmio_write(0xfee000f0, 4, 0x1ff));
	assert_true(mmio_write(0xfee003e0, 4, 0xb));
	assert_true(mmio_write(0xfee00380, 4, 1000));
	glue_clock = 350;
	assert_true(mmio_read(0xfee00390, 4, &v));
	assert_int_equal(v, 750);
	/* relocation follows IA32_APIC_BASE */
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfed00900, glue_clock));
	assert_true(mmio_read(0xfed00030, 4, &v));
	assert_int_equal(v, 0x00050014);
	assert_false(mmio_read(0xfee00030, 4, &v));
	/* onto another device: refused with a warning, the window stays */
	fake_log_reset();
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfec00900, glue_clock));
	assert_int_equal(fake_log_count[LOG_WARN], 1);
	assert_true(mmio_read(0xfed00030, 4, &v));
	assert_int_equal(v, 0x00050014);
	assert_true(mmio_read(0xfec00030, 4, &v));
	assert_int_equal(v, 0x1234);
	/* reset moves it home */
	lapic_reset();
	assert_true(mmio_read(0xfee00030, 4, &v));
	assert_int_equal(v, 0x00050014);
	assert_false(mmio_read(0xfed00030, 4, &v));
}

/* ---- The register page as VMX's virtual-APIC page (SDM Vol. 3C 29.1, 29.4.2) ---- */

/* The offsets whose reads the CPU answers from the virtual-APIC page (SDM 29.4.2). */
static const u32 virtualized_reads[] = {
	0x020, 0x030, 0x080, 0x0b0, 0x0d0, 0x0e0, 0x0f0,
	0x100, 0x110, 0x120, 0x130, 0x140, 0x150, 0x160, 0x170,
	0x180, 0x190, 0x1a0, 0x1b0, 0x1c0, 0x1d0, 0x1e0, 0x1f0,
	0x200, 0x210, 0x220, 0x230, 0x240, 0x250, 0x260, 0x270,
	0x280, 0x300, 0x310, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x3e0,
};

static void assert_page_matches_registers(void)
{
	const u32 *page = lapic_regs();
	for (u32 i = 0; i < ARRAY_SIZE(virtualized_reads); i++) {
		u32 off = virtualized_reads[i];
		if (page[off / 4] != rd(off))
			fail_msg("offset %#x: page %#x, register %#x", off, page[off / 4], rd(off));
	}
}

static void test_register_page_mirrors_every_virtualized_read(void **state)
{
	(void)state;
	assert_int_equal((uintptr_t)lapic_regs() & 0xfff, 0);
	assert_page_matches_registers(); /* reset values */
	enable();
	wr(LAPIC_REG_ID, 0x05000000);
	wr(LAPIC_REG_LDR, 0x81000000);
	wr(LAPIC_REG_DFR, 0x0fffffff);
	wr(LAPIC_REG_TPR, 0x20);
	wr(LAPIC_REG_LVT_TIMER, 0xffffffff); /* reserved bits dropped in the page too */
	wr(LAPIC_REG_LVT_LINT0, 0x8700);
	wr(LAPIC_REG_TIMER_DCR, 0xb);
	wr(LAPIC_REG_TIMER_ICR, 123456);
	wr(LAPIC_REG_ICR_HI, 0x12000000);
	wr(0x3a0, 1); /* reserved: ESR illegal register, shown after the next ESR write */
	wr(LAPIC_REG_ESR, 0);
	assert_true(lapic_set_irq(0x41, true));
	assert_true(lapic_set_irq(0x62, false));
	lapic_ack(lapic_pending_vector());
	assert_page_matches_registers();
	/* x2APIC mode keeps TPR, IRR, ISR, TMR; the ID and LDR views change */
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00d00, now));
	u64 v;
	assert_true(lapic_rdmsr(0x802, &v, now));
	assert_int_equal(lapic_regs()[LAPIC_REG_ID / 4], v);
	assert_true(lapic_rdmsr(0x80d, &v, now));
	assert_int_equal(lapic_regs()[LAPIC_REG_LDR / 4], v);
	assert_true(lapic_rdmsr(0x808, &v, now));
	assert_int_equal(lapic_regs()[LAPIC_REG_TPR / 4], v);
	/* disabling clears the page with the registers */
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00100, now));
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00900, now));
	assert_page_matches_registers();
	assert_int_equal(lapic_highest_irr(), -1);
	assert_int_equal(lapic_highest_isr(), -1);
}

/* What the CPU does in the page with virtual-interrupt delivery is the model's state. */
static void test_register_page_changes_by_the_cpu(void **state)
{
	(void)state;
	u32 *page = lapic_regs();
	enable();
	assert_true(lapic_set_irq(0x51, true)); /* level: TMR */
	assert_true(lapic_set_irq(0x33, false));
	assert_int_equal(lapic_highest_irr(), 0x51);
	assert_int_equal(lapic_tmr_word(2), 1u << (0x51 - 64));
	assert_int_equal(lapic_tmr_word(1), 0);
	/* virtual-interrupt delivery of 0x51: VIRR -> VISR */
	page[(0x200 + 0x20) / 4] &= ~(1u << (0x51 - 64));
	page[(0x100 + 0x20) / 4] |= 1u << (0x51 - 64);
	assert_int_equal(lapic_highest_isr(), 0x51);
	assert_int_equal(rd(LAPIC_REG_PPR), 0x50);
	assert_int_equal(lapic_pending_vector(), -1); /* 0x33 is below PPR */
	/* a virtualized TPR write (or MOV to CR8) */
	page[LAPIC_REG_TPR / 4] = 0x60;
	assert_int_equal(rd(LAPIC_REG_TPR), 0x60);
	assert_int_equal(lapic_read_cr8(), 6);
	assert_int_equal(rd(LAPIC_REG_PPR), 0x60);
	page[LAPIC_REG_TPR / 4] = 0;
	/* EOI virtualization retires 0x51 from VISR, then the EOI-induced exit: broadcast,
	 * because TMR says level; an edge vector's is not */
	page[(0x100 + 0x20) / 4] &= ~(1u << (0x51 - 64));
	lapic_eoi_done(0x51);
	assert_int_equal(eoi_count, 1);
	assert_int_equal(eoi_seen[0], 0x51);
	assert_int_equal(lapic_pending_vector(), 0x33);
	lapic_eoi_done(0x33);
	assert_int_equal(eoi_count, 1);
}

/* An APIC-write exit: the guest's value is in the page; the model applies it as a write. */
static void test_apic_write_exit(void **state)
{
	(void)state;
	u32 *page = lapic_regs();
	enable();
	page[LAPIC_REG_LVT_TIMER / 4] = 0xfffff0ff; /* as the guest wrote it, reserved bits too */
	lapic_apic_write(LAPIC_REG_LVT_TIMER, now);
	assert_int_equal(rd(LAPIC_REG_LVT_TIMER), 0x000700ff);
	assert_page_matches_registers();
	/* SVR software-disable masks every LVT, in the page too */
	page[LAPIC_REG_SVR / 4] = 0xff;
	lapic_apic_write(LAPIC_REG_SVR, now);
	assert_int_equal(page[LAPIC_REG_LVT_LINT0 / 4] & APIC_LVT_MASKED, APIC_LVT_MASKED);
	assert_page_matches_registers();
	enable();
	/* ICR low sends the IPI: a self-IPI of vector 0x70 reaches IRR */
	page[LAPIC_REG_ICR_LO / 4] = 0x70 | (APIC_SHORTHAND_SELF << APIC_ICR_SHORTHAND_SHIFT);
	lapic_apic_write(LAPIC_REG_ICR_LO, now);
	assert_int_equal(lapic_highest_irr(), 0x70);
	/* the initial count starts the timer */
	wr(LAPIC_REG_LVT_TIMER, 0x40);
	page[LAPIC_REG_TIMER_ICR / 4] = 1000;
	lapic_apic_write(LAPIC_REG_TIMER_ICR, now);
	assert_int_not_equal(lapic_next_deadline(), IRQ_NONE);
	/* ESR: a write latches the errors; the guest's value is not kept */
	wr(0x3a0, 1);
	page[LAPIC_REG_ESR / 4] = 0x1234;
	lapic_apic_write(LAPIC_REG_ESR, now);
	assert_int_equal(page[LAPIC_REG_ESR / 4], APIC_ESR_ILLEGAL_REG);
	/* not in xAPIC mode: nothing */
	assert_true(lapic_wrmsr(LAPIC_MSR_APIC_BASE, 0xfee00d00, now));
	page[LAPIC_REG_TIMER_DCR / 4] = 3;
	lapic_apic_write(LAPIC_REG_TIMER_DCR, now);
	u64 v;
	assert_true(lapic_rdmsr(0x83e, &v, now));
	assert_int_equal(v, 0);
	assert_int_equal(page[LAPIC_REG_TIMER_DCR / 4], 0); /* the page says so again */
	/* x2APIC mode's one APIC-write exit: a virtualized SELF IPI of an illegal vector */
	assert_true(lapic_wrmsr(0x80f, 0x1ff, now));
	page[LAPIC_REG_SELF_IPI / 4] = 5;
	lapic_apic_write(LAPIC_REG_SELF_IPI, now);
	assert_true(lapic_wrmsr(0x828, 0, now));
	assert_true(lapic_rdmsr(0x828, &v, now));
	assert_int_equal(v, APIC_ESR_SEND_ILLEGAL | APIC_ESR_RECV_ILLEGAL); /* sent to itself */
	assert_int_equal(lapic_highest_irr(), 0x70); /* nothing new accepted */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_values, setup),
		cmocka_unit_test_setup(test_reset_clears_everything, setup),
		cmocka_unit_test_setup(test_register_write_masks, setup),
		cmocka_unit_test_setup(test_read_only_registers_ignore_writes, setup),
		cmocka_unit_test_setup(test_lvt_write_masks, setup),
		cmocka_unit_test_setup(test_lvt_masked_while_software_disabled, setup),
		cmocka_unit_test_setup(test_reserved_registers_and_esr_latch, setup),
		cmocka_unit_test_setup(test_bad_sizes_and_alignment, setup),
		cmocka_unit_test_setup(test_cr8, setup),
		cmocka_unit_test_setup(test_ppr, setup),
		cmocka_unit_test_setup(test_priority_and_nesting, setup),
		cmocka_unit_test_setup(test_eoi_broadcast_for_level_vectors_only, setup),
		cmocka_unit_test_setup(test_illegal_vectors, setup),
		cmocka_unit_test_setup(test_disabled_apic_takes_no_interrupts, setup),
		cmocka_unit_test_setup(test_error_interrupt, setup),
		cmocka_unit_test_setup(test_timer_oneshot_every_divider, setup),
		cmocka_unit_test_setup(test_timer_current_count, setup),
		cmocka_unit_test_setup(test_timer_tsc_rates, setup),
		cmocka_unit_test_setup(test_timer_periodic, setup),
		cmocka_unit_test_setup(test_timer_periodic_no_drift, setup),
		cmocka_unit_test_setup(test_timer_masked, setup),
		cmocka_unit_test_setup(test_timer_tsc_deadline, setup),
		cmocka_unit_test_setup(test_timer_mode_switches, setup),
		cmocka_unit_test_setup(test_timer_stop_restart_and_divider_change, setup),
		cmocka_unit_test_setup(test_apic_base_transitions, setup),
		cmocka_unit_test_setup(test_disable_resets_registers, setup),
		cmocka_unit_test_setup(test_x2apic_msr_rules, setup),
		cmocka_unit_test_setup(test_self_ipi_xapic, setup),
		cmocka_unit_test_setup(test_self_ipi_other_modes_and_errors, setup),
		cmocka_unit_test_setup(test_self_ipi_x2apic, setup),
		cmocka_unit_test_setup(test_bus_messages, setup),
		cmocka_unit_test_setup(test_extint_enabled, setup),
		cmocka_unit_test_setup(test_bios_init, setup),
		cmocka_unit_test_setup(test_glue_window, setup),
		cmocka_unit_test_setup(test_register_page_mirrors_every_virtualized_read, setup),
		cmocka_unit_test_setup(test_register_page_changes_by_the_cpu, setup),
		cmocka_unit_test_setup(test_apic_write_exit, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
