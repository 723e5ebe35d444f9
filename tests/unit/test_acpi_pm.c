/* SOURCES: devices/acpi_pm.c devices/platform_stop.c devices/pio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_acpi_pm.c - devices/acpi_pm.c: the PM1a status (write 1 to clear), enable and control
 * registers (SCI_EN always 1; SLP_EN with the \_S5 sleep type is soft-off, any other type an
 * unsupported state), the PM timer (3.579545 MHz of the guest TSC, exact, monotonic, 32 bits,
 * no overflow for any TSC value), the reset control register at 0xcf9 (RST_CPU resets), accesses
 * of every size spanning registers, and the glue: each verdict becomes the platform stop
 * request the vCPU acts on (devices/platform_stop.h).
 */
#include "unit.h"

#include "devices/acpi_pm.h"
#include "devices/pio.h"
#include "devices/platform_stop.h"

#define HZ 2500000000ULL /* a 2.5 GHz guest TSC */

static struct acpi_pm s;

static int setup(void **state)
{
	(void)state;
	memset(&s, 0, sizeof(s));
	acpi_pm_reset(&s);
	return 0;
}

static u32 rd(u16 port, int size)
{
	return acpi_pm_read(&s, port - ACPI_PM_BASE, size, 0, HZ);
}

static enum acpi_pm_verdict wr(u16 port, int size, u32 v)
{
	return acpi_pm_write(&s, port - ACPI_PM_BASE, size, v);
}

/* floor(now * F / hz) mod 2^32, computed in 128 bits. */
static u32 ref_timer(u64 now, u64 hz)
{
	return (u32)((unsigned __int128)now * ACPI_PM_TIMER_HZ / hz);
}

static void test_reset_state(void **state)
{
	(void)state;
	assert_int_equal(rd(ACPI_PM1A_EVT, 2), 0);               /* status */
	assert_int_equal(rd(ACPI_PM1A_EVT + 2, 2), 0);           /* enable */
	assert_int_equal(rd(ACPI_PM1A_CNT, 2), ACPI_PM1_CNT_SCI_EN); /* ACPI mode, always */
	assert_int_equal(rd(ACPI_PM1A_EVT, 4), 0);               /* status and enable at once */
	assert_int_equal(rd(ACPI_PM1A_CNT + 2, 2), 0xffff);      /* 0x606-0x607: not decoded */
	assert_int_equal(rd(ACPI_PM1A_CNT, 4), 0xffff0001);
}

static void test_status_write_one_to_clear(void **state)
{
	(void)state;
	s.sts = ACPI_PM1_TMR_STS | ACPI_PM1_PWRBTN_STS | ACPI_PM1_WAK_STS; /* as if events came */
	assert_int_equal(wr(ACPI_PM1A_EVT, 2, 0), ACPI_PM_NOTHING);
	assert_int_equal(rd(ACPI_PM1A_EVT, 2), 0x8101);          /* writing 0 clears nothing */
	wr(ACPI_PM1A_EVT, 2, ACPI_PM1_TMR_STS);
	assert_int_equal(rd(ACPI_PM1A_EVT, 2), 0x8100);
	wr(ACPI_PM1A_EVT + 1, 1, 0x80);                          /* a byte write: WAK_STS */
	assert_int_equal(rd(ACPI_PM1A_EVT, 2), 0x0100);
	wr(ACPI_PM1A_EVT, 4, 0xffff);                            /* enable half written as 0 */
	assert_int_equal(rd(ACPI_PM1A_EVT, 4), 0);
	wr(ACPI_PM1A_EVT, 2, 0xffff);                            /* nothing sets a status bit */
	assert_int_equal(rd(ACPI_PM1A_EVT, 2), 0);
}

static void test_enable_stores_defined_bits(void **state)
{
	(void)state;
	wr(ACPI_PM1A_EVT + 2, 2, 0xffff);
	assert_int_equal(rd(ACPI_PM1A_EVT + 2, 2), 0x4721); /* TMR GBL PWRBTN SLPBTN RTC WAKE_DIS */
	wr(ACPI_PM1A_EVT + 2, 1, 0);                        /* the low byte only */
	assert_int_equal(rd(ACPI_PM1A_EVT + 2, 2), 0x4700);
	wr(ACPI_PM1A_EVT, 4, 0x01000000);                   /* through the dword at 0x600 */
	assert_int_equal(rd(ACPI_PM1A_EVT, 4), 0x01000000);
	assert_int_equal(rd(ACPI_PM1A_EVT + 3, 1), 0x01);
}

static void test_control_register(void **state)
{
	(void)state;
	/* SLP_TYP without SLP_EN is stored; SCI_EN cannot be cleared; GBL_RLS reads 0 */
	assert_int_equal(wr(ACPI_PM1A_CNT, 2, (3 << 10) | ACPI_PM1_CNT_GBL_RLS | ACPI_PM1_CNT_BM_RLD),
			 ACPI_PM_NOTHING);
	assert_int_equal(rd(ACPI_PM1A_CNT, 2), (3 << 10) | ACPI_PM1_CNT_BM_RLD | ACPI_PM1_CNT_SCI_EN);
	wr(ACPI_PM1A_CNT, 2, 0);
	assert_int_equal(rd(ACPI_PM1A_CNT, 2), ACPI_PM1_CNT_SCI_EN);
	assert_int_equal(rd(ACPI_PM1A_CNT, 1), 0x01);
}

static void test_sleep_enable(void **state)
{
	(void)state;
	u32 s5 = ACPI_S5_SLP_TYP << ACPI_PM1_CNT_SLP_TYP_SHIFT;
	assert_int_equal(wr(ACPI_PM1A_CNT, 2, s5 | ACPI_PM1_CNT_SLP_EN), ACPI_PM_POWEROFF);
	assert_int_equal(rd(ACPI_PM1A_CNT, 2) & ACPI_PM1_CNT_SLP_EN, 0); /* write-only */
	for (u32 typ = 0; typ < 8; typ++) {
		if (typ == ACPI_S5_SLP_TYP)
			continue;
		assert_int_equal(wr(ACPI_PM1A_CNT, 2, (typ << 10) | ACPI_PM1_CNT_SLP_EN),
				 ACPI_PM_BAD_SLEEP);
		assert_int_equal(acpi_pm_sleep_type(&s), typ);
	}
	/* Linux writes SLP_TYP first, then SLP_EN with it; a byte write of the high half works */
	wr(ACPI_PM1A_CNT, 2, s5);
	assert_int_equal(wr(ACPI_PM1A_CNT + 1, 1, (s5 | ACPI_PM1_CNT_SLP_EN) >> 8), ACPI_PM_POWEROFF);
	wr(ACPI_PM1A_CNT, 2, 5 << 10);
	assert_int_equal(wr(ACPI_PM1A_CNT + 1, 1, ACPI_PM1_CNT_SLP_EN >> 8 | 5 << 2),
			 ACPI_PM_BAD_SLEEP);
	assert_int_equal(acpi_pm_sleep_type(&s), 5);
	/* a low-byte write cannot carry SLP_EN; SLP_TYP stored as it was */
	assert_int_equal(wr(ACPI_PM1A_CNT, 1, 0xff), ACPI_PM_NOTHING);
	/* a dword write at the status block never reaches the control register */
	assert_int_equal(wr(ACPI_PM1A_EVT, 4, 0xffffffff), ACPI_PM_NOTHING);
}

static void test_timer_rate_and_value(void **state)
{
	(void)state;
	static const u64 rates[] = { HZ, 1000000000ULL, 100000000ULL, 3579545ULL, 18000000000ULL };
	for (u32 i = 0; i < ARRAY_SIZE(rates); i++) {
		u64 hz = rates[i];
		struct acpi_pm t = { 0 };
		assert_int_equal(acpi_pm_timer(&t, 0, hz), 0);
		assert_int_equal(acpi_pm_timer(&t, hz, hz), 3579545);   /* one second */
		assert_int_equal(acpi_pm_timer(&t, 2 * hz, hz), 2 * 3579545);
		u64 big = 0xfedcba9876543210ULL;                        /* no overflow anywhere */
		assert_int_equal(acpi_pm_timer(&t, big, hz), ref_timer(big, hz));
		assert_int_equal(acpi_pm_timer(&t, ~0ULL, hz), ref_timer(~0ULL, hz));
	}
}

static void test_timer_monotonic(void **state)
{
	(void)state;
	struct acpi_pm t = { 0 };
	u64 now = 0x123456789abULL, seed = 1;
	u64 prev = 0;
	for (int i = 0; i < 100000; i++) {
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		now += (seed >> 33) % 5000; /* steps of 0 to 5000 TSC ticks */
		u32 v = acpi_pm_timer(&t, now, HZ);
		assert_int_equal(v, ref_timer(now, HZ));
		u64 full = (u64)((unsigned __int128)now * ACPI_PM_TIMER_HZ / HZ);
		assert_true(full >= prev);
		prev = full;
	}
	/* a backwards TSC (a guest write of IA32_TSC) stalls the timer until it catches up */
	u32 before = acpi_pm_timer(&t, now, HZ);
	assert_int_equal(acpi_pm_timer(&t, now - 1000000, HZ), before);
	assert_int_equal(acpi_pm_timer(&t, now, HZ), before);
	assert_true(acpi_pm_timer(&t, now + HZ, HZ) == before + 3579545u);
}

static void test_timer_wraps_at_32_bits(void **state)
{
	(void)state;
	struct acpi_pm t = { 0 };
	/* 2^32 ticks is 1199.86 s: the value just below and just after the wrap */
	u64 at = (u64)(((unsigned __int128)1 << 32) * HZ / ACPI_PM_TIMER_HZ);
	assert_true(acpi_pm_timer(&t, at - HZ / 1000, HZ) > 0xfff00000u);
	assert_true(acpi_pm_timer(&t, at + HZ / 1000, HZ) < 0x00100000u);
}

static void test_timer_accesses(void **state)
{
	(void)state;
	u64 now = 7 * HZ + 12345;
	u32 v = ref_timer(now, HZ);
	u16 off = ACPI_PM_TMR - ACPI_PM_BASE;
	assert_int_equal(acpi_pm_read(&s, off, 4, now, HZ), v);
	assert_int_equal(acpi_pm_read(&s, off, 2, now, HZ), v & 0xffff);
	assert_int_equal(acpi_pm_read(&s, off + 1, 1, now, HZ), (v >> 8) & 0xff);
	assert_int_equal(acpi_pm_read(&s, off + 2, 4, now, HZ), 0xffff0000u | v >> 16); /* past the end */
	assert_int_equal(acpi_pm_write(&s, off, 4, 0), ACPI_PM_NOTHING);           /* read-only */
	assert_int_equal(acpi_pm_read(&s, off, 4, now, HZ), v);
}

static void test_reset_control(void **state)
{
	(void)state;
	assert_int_equal(reset_control_read(&s), 0);
	assert_int_equal(reset_control_write(&s, RESET_CONTROL_SYS_RST), ACPI_PM_NOTHING);
	assert_int_equal(reset_control_read(&s), RESET_CONTROL_SYS_RST);
	assert_int_equal(reset_control_write(&s, RESET_CONTROL_VALUE), ACPI_PM_RESET);
	assert_int_equal(reset_control_read(&s), RESET_CONTROL_SYS_RST); /* RST_CPU reads 0 */
	assert_int_equal(reset_control_write(&s, RESET_CONTROL_RST_CPU), ACPI_PM_RESET);
	assert_int_equal(reset_control_write(&s, 0xfb), ACPI_PM_NOTHING);
	assert_int_equal(reset_control_read(&s), RESET_CONTROL_SYS_RST | RESET_CONTROL_FULL_RST);
}

/* ---- glue ---- */

static u64 fake_now;
u64 vtime_now(void) { return fake_now; }
u64 vtime_hz(void) { return HZ; }

static int register_once(void **state)
{
	(void)state;
	acpi_pm_init();
	return 0;
}

static int glue_setup(void **state)
{
	(void)state;
	platform_stop_take();
	pio_reset_all();
	return 0;
}

static void test_glue_poweroff(void **state)
{
	(void)state;
	assert_true(pio_write(ACPI_PM1A_CNT, 2, ACPI_S5_SLP_TYP << 10)); /* SLP_TYP alone */
	assert_false(platform_stop_requested());
	assert_true(pio_write(ACPI_PM1A_CNT, 2, ACPI_S5_SLP_TYP << 10 | ACPI_PM1_CNT_SLP_EN));
	struct platform_stop r = platform_stop_take();
	assert_int_equal(r.kind, PSTOP_POWEROFF);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.reason, "guest entered S5 (soft-off): PM1a_CNT=0x2000");
}

static void test_glue_unsupported_sleep(void **state)
{
	(void)state;
	assert_true(pio_write(ACPI_PM1A_CNT, 2, 3 << 10 | ACPI_PM1_CNT_SLP_EN));
	struct platform_stop r = platform_stop_take();
	assert_int_equal(r.kind, PSTOP_UNSUPPORTED);
	assert_string_equal(r.reason, "guest asked for sleep type 3 (PM1a_CNT=0x2c00): not "
			    "supported, the only sleep state is \\_S5 (soft-off, sleep type 0)");
}

static void test_glue_reset(void **state)
{
	(void)state;
	u32 v = 0;
	assert_true(pio_write(RESET_CONTROL_PORT, 1, 0x02));
	assert_false(platform_stop_requested());
	assert_true(pio_read(RESET_CONTROL_PORT, 1, &v));
	assert_int_equal(v, 0x02);
	assert_true(pio_write(RESET_CONTROL_PORT, 1, 0x06));
	struct platform_stop r = platform_stop_take();
	assert_int_equal(r.kind, PSTOP_RESET);
	assert_int_equal(r.code, 0);
	assert_string_equal(r.reason, "guest asked for a reset: wrote 0x6 to the reset control "
			    "register (0xcf9)");
	/* 0xcf8 and 0xcfa are not the reset register */
	assert_false(pio_write(0xcf8, 1, 0x06));
	assert_false(platform_stop_requested());
}

static void test_glue_timer_and_reset(void **state)
{
	(void)state;
	u32 v = 0;
	fake_now = 3 * HZ;
	assert_true(pio_read(ACPI_PM_TMR, 4, &v));
	assert_int_equal(v, 3 * 3579545);
	pio_write(ACPI_PM1A_EVT + 2, 2, 0xffff);
	pio_write(ACPI_PM1A_CNT, 2, 7 << 10);
	pio_reset_all(); /* device reset: registers back to power-on, the timer runs on */
	assert_true(pio_read(ACPI_PM1A_EVT, 4, &v));
	assert_int_equal(v, 0);
	assert_true(pio_read(ACPI_PM1A_CNT, 2, &v));
	assert_int_equal(v, ACPI_PM1_CNT_SCI_EN);
	assert_true(pio_read(ACPI_PM_TMR, 4, &v));
	assert_int_equal(v, 3 * 3579545);
	assert_false(platform_stop_requested());
}

int main(void)
{
	const struct CMUnitTest model[] = {
		cmocka_unit_test_setup(test_reset_state, setup),
		cmocka_unit_test_setup(test_status_write_one_to_clear, setup),
		cmocka_unit_test_setup(test_enable_stores_defined_bits, setup),
		cmocka_unit_test_setup(test_control_register, setup),
		cmocka_unit_test_setup(test_sleep_enable, setup),
		cmocka_unit_test_setup(test_timer_rate_and_value, setup),
		cmocka_unit_test_setup(test_timer_monotonic, setup),
		cmocka_unit_test_setup(test_timer_wraps_at_32_bits, setup),
		cmocka_unit_test_setup(test_timer_accesses, setup),
		cmocka_unit_test_setup(test_reset_control, setup),
	};
	const struct CMUnitTest glue[] = {
		cmocka_unit_test_setup(test_glue_poweroff, glue_setup),
		cmocka_unit_test_setup(test_glue_unsupported_sleep, glue_setup),
		cmocka_unit_test_setup(test_glue_reset, glue_setup),
		cmocka_unit_test_setup(test_glue_timer_and_reset, glue_setup),
	};
	int failed = cmocka_run_group_tests_name("model", model, NULL, NULL);
	return failed + cmocka_run_group_tests_name("glue", glue, register_once, NULL);
}
