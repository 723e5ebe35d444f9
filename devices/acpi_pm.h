/* acpi_pm.h - the guest's ACPI power-management registers (fixed hardware, ACPI spec 4.8) in a
 * PIIX4-style block at ACPI_PM_BASE, as QEMU's pc machine has them at 0x600, and the reset
 * control register at 0xcf9 (PIIX3/ICH). The FADT (devices/acpi.c) points the guest here.
 *
 * Registers (offsets from ACPI_PM_BASE; any access size, each byte going to its register):
 *  - 0x0 PM1a status (16 bits): write 1 to clear. No event sets a bit: there is no power or
 *    sleep button, no RTC alarm wake, no bus master or global-lock traffic, and the timer's
 *    carry (TMR_STS) is not generated, so it reads 0 and no SCI is ever raised.
 *  - 0x2 PM1a enable (16 bits): TMR_EN, GBL_EN, PWRBTN_EN, SLPBTN_EN, RTC_EN, PCIEXP_WAKE_DIS
 *    are stored; other bits read 0.
 *  - 0x4 PM1a control (16 bits): SCI_EN reads 1 (the platform is always in ACPI mode: the FADT
 *    has no SMI_CMD); BM_RLD and SLP_TYP are stored; GBL_RLS and SLP_EN read 0. A write with
 *    SLP_EN set enters the sleep state SLP_TYP: ACPI_S5_SLP_TYP (the DSDT's \_S5) is soft-off,
 *    any other value is a state the platform does not have.
 *  - 0x6-0x7: not decoded (all ones, writes dropped).
 *  - 0x8 PM timer (32 bits, TMR_VAL_EXT; read-only): floor(tsc * 3579545 / hz) mod 2^32 of the
 *    guest TSC, so it agrees exactly with the PIT, RTC and APIC timer. It never runs backwards:
 *    after a backwards IA32_TSC write it stands still until the TSC catches up (as the other
 *    timers do).
 * Reset control (0xcf9, 8 bits): SYS_RST and FULL_RST are stored; a write with RST_CPU set
 * resets the machine, which here ends the run.
 *
 * The model is a pure state machine: writes return what the guest asked for (a verdict), and
 * the glue (acpi_pm_init) turns it into a platform stop request (devices/platform_stop.h).
 */
#ifndef DEVICES_ACPI_PM_H
#define DEVICES_ACPI_PM_H

#include "arch/acpi.h"
#include "arch/types.h"

#define ACPI_PM_BASE 0x600
#define ACPI_PM_PORTS 12                 /* 0x600-0x60b */
#define ACPI_PM1A_EVT (ACPI_PM_BASE + 0) /* status, then enable at + ACPI_PM1_EVT_LEN / 2 */
#define ACPI_PM1A_CNT (ACPI_PM_BASE + 4)
#define ACPI_PM_TMR (ACPI_PM_BASE + 8)
#define ACPI_PM1_EVT_LEN 4
#define ACPI_PM1_CNT_LEN 2
#define ACPI_PM_TMR_LEN 4
/* The SCI's ISA IRQ (QEMU's and Bochs's); the FADT says so, the MADT makes it level/high. */
#define ACPI_SCI_IRQ 9
/* SLP_TYP of soft-off: the value the DSDT's \_S5 package gives, PIIX4's "soft off" (QEMU's and
 * Bochs's BIOS's \_S5 value too). */
#define ACPI_S5_SLP_TYP 0

#define RESET_CONTROL_PORT 0xcf9
#define RESET_CONTROL_SYS_RST BIT(1)  /* hard (1) or soft (0) reset: stored */
#define RESET_CONTROL_RST_CPU BIT(2)  /* write 1: reset */
#define RESET_CONTROL_FULL_RST BIT(3) /* stored */
#define RESET_CONTROL_VALUE 0x06      /* what the FADT's RESET_VALUE asks the OS to write */

/* Invariants: sts holds only status bits, en only ACPI_PM_EN_BITS, cnt only BM_RLD and
 * SLP_TYP (SCI_EN is added on reads); tmr_tsc is the latest guest TSC the timer was read at
 * (the timer counts from max(now, tmr_tsc)); rcr holds only SYS_RST and FULL_RST. */
struct acpi_pm {
	u16 sts, en, cnt;
	u64 tmr_tsc;
	u8 rcr;
	u16 last_cnt; /* the latest PM1a_CNT write as a whole register (for the verdict's message) */
};

/* What a write asked for. */
enum acpi_pm_verdict {
	ACPI_PM_NOTHING,
	ACPI_PM_POWEROFF,    /* SLP_EN with SLP_TYP = ACPI_S5_SLP_TYP */
	ACPI_PM_BAD_SLEEP,   /* SLP_EN with any other SLP_TYP (acpi_pm_sleep_type says which) */
	ACPI_PM_RESET,       /* RST_CPU written to the reset control register */
};

/* Power-on state: status, enable and control 0 (SCI_EN reads 1), reset control 0. The timer
 * is not reset (it runs from the guest TSC). */
void acpi_pm_reset(struct acpi_pm *s);
/* An access of size 1, 2 or 4 at offset (0..ACPI_PM_PORTS-1) in the PM block; bytes outside the
 * registers read 0xff. now/hz: the guest TSC and its rate (hz > 0). */
u32 acpi_pm_read(struct acpi_pm *s, u16 offset, int size, u64 now, u64 hz);
enum acpi_pm_verdict acpi_pm_write(struct acpi_pm *s, u16 offset, int size, u32 value);
/* The PM timer's 32 bits at now (advances tmr_tsc). */
u32 acpi_pm_timer(struct acpi_pm *s, u64 now, u64 hz);
/* SLP_TYP of the latest PM1a_CNT write. */
static inline u32 acpi_pm_sleep_type(const struct acpi_pm *s)
{
	return (s->last_cnt & ACPI_PM1_CNT_SLP_TYP) >> ACPI_PM1_CNT_SLP_TYP_SHIFT;
}
/* The reset control register (port 0xcf9), its low byte. */
u8 reset_control_read(struct acpi_pm *s);
enum acpi_pm_verdict reset_control_write(struct acpi_pm *s, u8 value);

/* ---- glue: the guest's PM block (time from vtime_now()/vtime_hz()) ---- */

/* Registers ACPI_PM_BASE..+ACPI_PM_PORTS and RESET_CONTROL_PORT; a poweroff, reset or
 * unsupported sleep state becomes a platform stop request. vtime_hz() must be non-zero. */
void acpi_pm_init(void);

#endif
