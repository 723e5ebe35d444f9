/* SOURCES: vmx/vectoring.c */
/*
 * test_vectoring.c - vmx/vectoring.c: which event an exit during event delivery delivers again
 * with virtual-interrupt delivery on. The cases are the ones seen in Bochs (a timer interrupt
 * 0xec interrupted while Bochs named the INT3 of Linux's text patching) and the ones that must
 * be left alone (a genuine fault in an event's delivery with no virtual interrupt delivered in
 * the run, IF clear, an interrupt already named right).
 */
#include "unit.h"
#include "vmx/vectoring.h"
#include "vmx/vmcs.h"

#define INT3 0x80000603u  /* valid, software exception, vector 3 */
#define PF_HW 0x80000b0eu /* valid, error code, hardware exception, vector 14 */
#define EXT(v) (0x80000000u | (v))

static void test_stale_report_gives_the_virtual_interrupt(void **state)
{
	(void)state;
	/* SVI 0 -> 0xec during the run, IF still set: Bochs's stale INT3 becomes 0xec */
	assert_int_equal(vectoring_redeliver(INT3, 0x0000, 0xec00, true), EXT(0xec));
	/* an older interrupt in service: SVI 0x31 -> 0xec */
	assert_int_equal(vectoring_redeliver(PF_HW, 0x3100, 0xec00, true), EXT(0xec));
	/* RVI does not matter, only SVI */
	assert_int_equal(vectoring_redeliver(INT3, 0x00ec, 0xec41, true), EXT(0xec));
}

static void test_genuine_reports_are_kept(void **state)
{
	(void)state;
	/* no virtual interrupt delivered in the run: SVI unchanged */
	assert_int_equal(vectoring_redeliver(INT3, 0xec00, 0xec00, true), INT3);
	assert_int_equal(vectoring_redeliver(PF_HW, 0x0000, 0x0000, true), PF_HW);
	/* IF clear at the exit: the interrupt's handler has started (an interrupt gate) */
	assert_int_equal(vectoring_redeliver(INT3, 0x0000, 0xec00, false), INT3);
	/* the report already names the virtual interrupt */
	assert_int_equal(vectoring_redeliver(EXT(0xec), 0x0000, 0xec00, true), EXT(0xec));
	/* an external interrupt of another vector is not the one SVI shows: replaced */
	assert_int_equal(vectoring_redeliver(EXT(0x30), 0x0000, 0xec00, true), EXT(0xec));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stale_report_gives_the_virtual_interrupt),
		cmocka_unit_test(test_genuine_reports_are_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
