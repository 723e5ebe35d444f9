/* acpi_pm.c - the ACPI PM1a registers, the PM timer and the reset control register at 0xcf9
 * (devices/acpi_pm.h). Pure state machine first, then the glue that registers the ports. */
#include "devices/acpi_pm.h"
#include "devices/irq.h"
#include "devices/pio.h"
#include "devices/platform_stop.h"

#define ACPI_PM_EN_BITS (ACPI_PM1_TMR_EN | ACPI_PM1_GBL_EN | ACPI_PM1_PWRBTN_EN | \
			 ACPI_PM1_SLPBTN_EN | ACPI_PM1_RTC_EN | ACPI_PM1_PCIEXP_WAKE_DIS)
#define ACPI_PM_CNT_BITS (ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SLP_TYP)

/* The registers of the block: offset from ACPI_PM_BASE and width in bytes. */
enum { REG_STS = 0, REG_EN = 2, REG_CNT = 4, REG_TMR = 8 };
static const struct { u8 off, width; } regs[] = {
	{ REG_STS, 2 }, { REG_EN, 2 }, { REG_CNT, 2 }, { REG_TMR, ACPI_PM_TMR_LEN },
};

void acpi_pm_reset(struct acpi_pm *s)
{
	s->sts = s->en = s->cnt = s->last_cnt = 0;
	s->rcr = 0;
}

/* floor(t * F / hz) mod 2^32 without overflow: t = q * hz + r, so t * F / hz = q * F + r * F /
 * hz with r < hz (r * F < 2^64 for any hz below 5 THz); q * F may wrap, which changes only bits
 * above the 32 kept. Exact, so it never decreases while t grows. */
u32 acpi_pm_timer(struct acpi_pm *s, u64 now, u64 hz)
{
	if (now < s->tmr_tsc)
		now = s->tmr_tsc;
	s->tmr_tsc = now;
	if (!hz)
		return 0;
	u64 q = now / hz, r = now % hz;
	return (u32)(q * ACPI_PM_TIMER_HZ + r * ACPI_PM_TIMER_HZ / hz);
}

static u32 reg_read(struct acpi_pm *s, u8 reg, u64 now, u64 hz)
{
	switch (reg) {
	case REG_STS: return s->sts;
	case REG_EN: return s->en;
	case REG_CNT: return s->cnt | ACPI_PM1_CNT_SCI_EN;
	default: return acpi_pm_timer(s, now, hz);
	}
}

/* value/mask: the bits of the register the access wrote (a byte access writes 8 of 16). */
static enum acpi_pm_verdict reg_write(struct acpi_pm *s, u8 reg, u32 value, u32 mask)
{
	u32 w = value & mask;
	switch (reg) {
	case REG_STS:
		s->sts &= (u16)~w;
		return ACPI_PM_NOTHING;
	case REG_EN:
		s->en = (u16)((s->en & ~mask) | (w & ACPI_PM_EN_BITS));
		return ACPI_PM_NOTHING;
	case REG_CNT:
		s->cnt = (u16)((s->cnt & ~mask) | (w & ACPI_PM_CNT_BITS));
		s->last_cnt = (u16)((s->cnt & ~mask) | w);
		if (!(w & ACPI_PM1_CNT_SLP_EN))
			return ACPI_PM_NOTHING;
		return acpi_pm_sleep_type(s) == ACPI_S5_SLP_TYP ? ACPI_PM_POWEROFF : ACPI_PM_BAD_SLEEP;
	default: /* the timer is read-only */
		return ACPI_PM_NOTHING;
	}
}

/* Bytes [lo, hi) of the access that fall into register i, relative to the register. */
static bool overlap(u32 i, u16 offset, int size, u32 *lo, u32 *hi)
{
	u32 a = regs[i].off, b = regs[i].off + regs[i].width;
	*lo = MAX(a, (u32)offset);
	*hi = MIN(b, (u32)offset + (u32)size);
	return *lo < *hi;
}

u32 acpi_pm_read(struct acpi_pm *s, u16 offset, int size, u64 now, u64 hz)
{
	u32 v = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1, lo, hi;
	for (u32 i = 0; i < ARRAY_SIZE(regs); i++) {
		if (!overlap(i, offset, size, &lo, &hi))
			continue;
		u32 r = reg_read(s, regs[i].off, now, hz);
		for (u32 b = lo; b < hi; b++) {
			u32 sh = 8 * (b - offset);
			v = (v & ~(0xffu << sh)) | (((r >> (8 * (b - regs[i].off))) & 0xff) << sh);
		}
	}
	return v;
}

enum acpi_pm_verdict acpi_pm_write(struct acpi_pm *s, u16 offset, int size, u32 value)
{
	enum acpi_pm_verdict verdict = ACPI_PM_NOTHING;
	u32 lo, hi;
	for (u32 i = 0; i < ARRAY_SIZE(regs); i++) {
		if (!overlap(i, offset, size, &lo, &hi))
			continue;
		u32 rv = 0, mask = 0;
		for (u32 b = lo; b < hi; b++) {
			u32 sh = 8 * (b - regs[i].off);
			rv |= ((value >> (8 * (b - offset))) & 0xff) << sh;
			mask |= 0xffu << sh;
		}
		enum acpi_pm_verdict r = reg_write(s, regs[i].off, rv, mask);
		if (r != ACPI_PM_NOTHING)
			verdict = r;
	}
	return verdict;
}

u8 reset_control_read(struct acpi_pm *s)
{
	return s->rcr;
}

enum acpi_pm_verdict reset_control_write(struct acpi_pm *s, u8 value)
{
	s->rcr = value & (RESET_CONTROL_SYS_RST | RESET_CONTROL_FULL_RST);
	return (value & RESET_CONTROL_RST_CPU) ? ACPI_PM_RESET : ACPI_PM_NOTHING;
}

/* ---- glue ---- */

static struct acpi_pm pm;

/* Poweroff and reset end the run with code 0 (a clean end the guest asked for; hv.c passes it
 * to power_off); an unsupported sleep state ends it as a guest error. */
static void request_stop(enum acpi_pm_verdict v, u32 written)
{
	switch (v) {
	case ACPI_PM_POWEROFF:
		platform_stop_request(PSTOP_POWEROFF, 0, "guest entered S5 (soft-off): PM1a_CNT=%#x",
				      pm.last_cnt);
		break;
	case ACPI_PM_BAD_SLEEP:
		platform_stop_request(PSTOP_UNSUPPORTED, 0, "guest asked for sleep type %u "
				      "(PM1a_CNT=%#x): not supported, the only sleep state is \\_S5 "
				      "(soft-off, sleep type %u)", acpi_pm_sleep_type(&pm), pm.last_cnt,
				      ACPI_S5_SLP_TYP);
		break;
	case ACPI_PM_RESET:
		platform_stop_request(PSTOP_RESET, 0, "guest asked for a reset: wrote %#x to the reset "
				      "control register (%#x)", written & 0xff, RESET_CONTROL_PORT);
		break;
	case ACPI_PM_NOTHING:
		break;
	}
}

static u32 pm_pio_read(struct pio_device *d, u16 port, int size)
{
	(void)d;
	return acpi_pm_read(&pm, port - ACPI_PM_BASE, size, vtime_now(), vtime_hz());
}

static void pm_pio_write(struct pio_device *d, u16 port, int size, u32 value)
{
	(void)d;
	request_stop(acpi_pm_write(&pm, port - ACPI_PM_BASE, size, value), value);
}

static void pm_pio_reset(struct pio_device *d)
{
	(void)d;
	acpi_pm_reset(&pm);
}

/* Any size: the low byte is the register (the PIIX decodes one byte). */
static u32 rcr_pio_read(struct pio_device *d, u16 port, int size)
{
	(void)d, (void)port, (void)size;
	return reset_control_read(&pm);
}

static void rcr_pio_write(struct pio_device *d, u16 port, int size, u32 value)
{
	(void)d, (void)port, (void)size;
	request_stop(reset_control_write(&pm, (u8)value), value);
}

static struct pio_device pm_dev = {
	"acpi-pm", ACPI_PM_BASE, ACPI_PM_PORTS, pm_pio_read, pm_pio_write, pm_pio_reset,
	.neutral = true,
};
static struct pio_device rcr_dev = {
	"reset-control", RESET_CONTROL_PORT, 1, rcr_pio_read, rcr_pio_write, NULL, .neutral = true,
};

void acpi_pm_init(void)
{
	acpi_pm_reset(&pm);
	pio_register(&pm_dev);
	pio_register(&rcr_dev);
}
