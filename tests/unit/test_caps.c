/* SOURCES: vmx/caps.c */
/*
 * test_caps.c - vmx/caps.c: control values from allowed-0/allowed-1 capability MSRs, the
 * secondary controls chosen, and CR0/CR4 fixed bits, with values as real CPUs report them.
 * Expected values are written out by hand, not recomputed with the formula under test.
 */
#include "unit.h"

#include "vmx/caps.h"

/* IA32_VMX_PINBASED_CTLS: must be 1: bits 1,2,4; may be 1: bits 0-6. */
#define PINBASED_MSR 0x0000007f00000016ULL
/* IA32_VMX_PROCBASED_CTLS: must be 1: 0x0401e172; may not be 1: bits 0, 17, 18. */
#define PROCBASED_MSR 0xfff9fffe0401e172ULL

#define CR0_FIXED0 0x80000021ULL /* PG, NE, PE */
#define CR0_FIXED1 0xffffffffULL
#define CR4_FIXED0 0x2000ULL     /* VMXE */
#define CR4_FIXED1 0x3727ffULL   /* no UMIP(11), LA57(12), SMXE(14), PKE(22), ... */

/* ---- vmx_adjust_controls ---- */

static void test_controls_must_be_one_added(void **state)
{
	(void)state;
	u32 missing = 0xdead;
	assert_int_equal(vmx_adjust_controls(PINBASED_MSR, 0, &missing), 0x16);
	assert_int_equal(missing, 0);
}

static void test_controls_wanted_and_allowed(void **state)
{
	(void)state;
	u32 missing = 0xdead;
	/* external-interrupt exiting (0) and NMI exiting (3) */
	assert_int_equal(vmx_adjust_controls(PINBASED_MSR, 0x9, &missing), 0x1f);
	assert_int_equal(missing, 0);
}

static void test_controls_wanted_but_not_allowed(void **state)
{
	(void)state;
	u32 missing = 0;
	/* process posted interrupts (7) is not in allowed-1: dropped and reported */
	assert_int_equal(vmx_adjust_controls(PINBASED_MSR, 0x89, &missing), 0x1f);
	assert_int_equal(missing, 0x80);
}

static void test_controls_procbased(void **state)
{
	(void)state;
	u32 missing = 0;
	/* secondary controls (31), MSR bitmaps (28), unconditional I/O (24), HLT (7): all allowed;
	 * bit 0 and CR3-load exiting (17) are not */
	u32 want = BIT(31) | BIT(28) | BIT(24) | BIT(7) | BIT(17) | BIT(0);
	assert_int_equal(vmx_adjust_controls(PROCBASED_MSR, want, &missing), 0x9501e1f2);
	assert_int_equal(missing, BIT(17) | BIT(0));
}

static void test_controls_must_be_one_already_wanted(void **state)
{
	(void)state;
	u32 missing = 1;
	assert_int_equal(vmx_adjust_controls(PINBASED_MSR, 0x16, &missing), 0x16);
	assert_int_equal(missing, 0);
}

static void test_controls_nothing_allowed(void **state)
{
	(void)state;
	u32 missing = 0;
	assert_int_equal(vmx_adjust_controls(0, 0xffffffff, &missing), 0);
	assert_int_equal(missing, 0xffffffff);
}

static void test_controls_everything_allowed(void **state)
{
	(void)state;
	u32 missing = 1;
	assert_int_equal(vmx_adjust_controls(0xffffffff00000000ULL, 0x12345678, &missing), 0x12345678);
	assert_int_equal(missing, 0);
	assert_int_equal(vmx_adjust_controls(0xffffffff00000000ULL, 0, &missing), 0);
}

static void test_controls_all_must_be_one(void **state)
{
	(void)state;
	u32 missing = 1;
	assert_int_equal(vmx_adjust_controls(0xffffffffffffffffULL, 0, &missing), 0xffffffff);
	assert_int_equal(missing, 0);
}

static void test_controls_missing_may_be_null(void **state)
{
	(void)state;
	assert_int_equal(vmx_adjust_controls(PINBASED_MSR, 0x89, NULL), 0x1f);
}

/* ---- vmx_fix_cr / vmx_cr_ok: CR0 ---- */

static void test_cr0_fix_sets_must_be_one_bits(void **state)
{
	(void)state;
	/* ET only -> PG, NE, PE added */
	assert_int_equal(vmx_fix_cr(0x10, CR0_FIXED0, CR0_FIXED1), 0x80000031);
	/* CD|NW|ET|PE -> PG, NE added, CD and NW may stay */
	assert_int_equal(vmx_fix_cr(0x60000011, CR0_FIXED0, CR0_FIXED1), 0xe0000031);
	assert_int_equal(vmx_fix_cr(0, CR0_FIXED0, CR0_FIXED1), 0x80000021);
}

static void test_cr0_fix_clears_high_bits(void **state)
{
	(void)state;
	assert_int_equal(vmx_fix_cr(BIT(40) | 0x80000031, CR0_FIXED0, CR0_FIXED1), 0x80000031);
	assert_int_equal(vmx_fix_cr(~0ULL, CR0_FIXED0, CR0_FIXED1), 0xffffffff);
}

static void test_cr0_fix_keeps_legal_value(void **state)
{
	(void)state;
	assert_int_equal(vmx_fix_cr(0x80050033, CR0_FIXED0, CR0_FIXED1), 0x80050033);
}

static void test_cr0_ok(void **state)
{
	(void)state;
	assert_true(vmx_cr_ok(0x80000021, CR0_FIXED0, CR0_FIXED1));
	assert_true(vmx_cr_ok(0x80050033, CR0_FIXED0, CR0_FIXED1));
	assert_true(vmx_cr_ok(0xffffffff, CR0_FIXED0, CR0_FIXED1));
	assert_false(vmx_cr_ok(0x00000031, CR0_FIXED0, CR0_FIXED1)); /* PG clear */
	assert_false(vmx_cr_ok(0x80000030, CR0_FIXED0, CR0_FIXED1)); /* PE clear */
	assert_false(vmx_cr_ok(0x80000011, CR0_FIXED0, CR0_FIXED1)); /* NE clear */
	assert_false(vmx_cr_ok(0, CR0_FIXED0, CR0_FIXED1));
	assert_false(vmx_cr_ok(BIT(32) | 0x80000021, CR0_FIXED0, CR0_FIXED1));
}

/* Unrestricted guest: PE and PG are no longer fixed, only NE. */
static void test_cr0_unrestricted_guest(void **state)
{
	(void)state;
	assert_int_equal(vmx_fix_cr(0x10, 0x20, CR0_FIXED1), 0x30);
	assert_true(vmx_cr_ok(0x30, 0x20, CR0_FIXED1));
	assert_false(vmx_cr_ok(0x10, 0x20, CR0_FIXED1));
}

/* ---- vmx_fix_cr / vmx_cr_ok: CR4 ---- */

static void test_cr4_fix_sets_vmxe(void **state)
{
	(void)state;
	assert_int_equal(vmx_fix_cr(0x20, CR4_FIXED0, CR4_FIXED1), 0x2020);        /* PAE */
	assert_int_equal(vmx_fix_cr(0x6b0, CR4_FIXED0, CR4_FIXED1), 0x26b0);
	assert_int_equal(vmx_fix_cr(0x2020, CR4_FIXED0, CR4_FIXED1), 0x2020);
}

static void test_cr4_fix_clears_unsupported(void **state)
{
	(void)state;
	/* PAE | UMIP | LA57 | SMXE | PKE -> PAE | VMXE */
	assert_int_equal(vmx_fix_cr(0x20 | BIT(11) | BIT(12) | BIT(14) | BIT(22), CR4_FIXED0,
				    CR4_FIXED1), 0x2020);
	/* SMEP, SMAP, FSGSBASE, PCIDE, OSXSAVE are allowed and kept */
	u64 v = 0x20 | BIT(16) | BIT(17) | BIT(18) | BIT(20) | BIT(21);
	assert_int_equal(vmx_fix_cr(v, CR4_FIXED0, CR4_FIXED1), v | 0x2000);
	assert_int_equal(vmx_fix_cr(~0ULL, CR4_FIXED0, CR4_FIXED1), 0x3727ff);
}

static void test_cr4_ok(void **state)
{
	(void)state;
	assert_true(vmx_cr_ok(0x2020, CR4_FIXED0, CR4_FIXED1));
	assert_true(vmx_cr_ok(0x3727ff, CR4_FIXED0, CR4_FIXED1));
	assert_false(vmx_cr_ok(0x20, CR4_FIXED0, CR4_FIXED1));                /* VMXE clear */
	assert_false(vmx_cr_ok(0x2020 | BIT(22), CR4_FIXED0, CR4_FIXED1));    /* PKE */
	assert_false(vmx_cr_ok(0x2020 | BIT(11), CR4_FIXED0, CR4_FIXED1));    /* UMIP */
	assert_false(vmx_cr_ok(0x2020 | BIT(63), CR4_FIXED0, CR4_FIXED1));
}

/* Whatever the input, the fixed value is legal, and a legal value is left alone. */
static void test_fix_then_ok_property(void **state)
{
	(void)state;
	u64 x = 0x9e3779b97f4a7c15ULL;
	for (int i = 0; i < 10000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		u64 f0 = vmx_fix_cr(x, CR0_FIXED0, CR0_FIXED1);
		u64 f4 = vmx_fix_cr(x, CR4_FIXED0, CR4_FIXED1);
		assert_true(vmx_cr_ok(f0, CR0_FIXED0, CR0_FIXED1));
		assert_true(vmx_cr_ok(f4, CR4_FIXED0, CR4_FIXED1));
		assert_int_equal(vmx_fix_cr(f0, CR0_FIXED0, CR0_FIXED1), f0);
		/* only bits that had to change did */
		assert_int_equal(f4 ^ x, (x ^ (x | CR4_FIXED0)) | (x & ~CR4_FIXED1));
		if (vmx_cr_ok(x, CR4_FIXED0, CR4_FIXED1))
			assert_int_equal(f4, x);
	}
}

/* ---- IA32_VMX_BASIC fields ---- */

static void test_vmx_basic_fields(void **state)
{
	(void)state;
	/* revision 4, 4 KiB region, write-back (6), INS/OUTS info (54), true controls (55) */
	u64 basic = 0x00d8100000000004ULL;
	assert_int_equal(vmx_basic_revision(basic), 4);
	assert_int_equal(vmx_basic_region_size(basic), 0x1000);
	assert_int_equal(vmx_basic_memtype(basic), 6);
	assert_true(vmx_basic_true_ctls(basic));
	/* bit 31 is always 0 in the revision; no true controls, uncacheable */
	basic = 0x0000040080000012ULL;
	assert_int_equal(vmx_basic_revision(basic), 0x12);
	assert_int_equal(vmx_basic_region_size(basic), 0x400);
	assert_int_equal(vmx_basic_memtype(basic), 0);
	assert_false(vmx_basic_true_ctls(basic));
}

/* IA32_FEATURE_CONTROL: unlocked -> write locked + VMX outside SMX (keeping other bits);
 * locked with it -> OK; locked without it (firmware disabled VT-x) -> locked off, even when
 * VMX inside SMX is allowed. */
static void test_feature_control(void **state)
{
	(void)state;
	u64 w = 0;
	assert_int_equal(vmx_feature_control(0, &w), FC_WRITE);
	assert_int_equal(w, 0x5);
	w = 0;
	assert_int_equal(vmx_feature_control(0x100002, &w), FC_WRITE);
	assert_int_equal(w, 0x100007);
	assert_int_equal(vmx_feature_control(0x5, &w), FC_OK);
	assert_int_equal(vmx_feature_control(0x7, &w), FC_OK);
	assert_int_equal(vmx_feature_control(0x1, &w), FC_LOCKED_OFF);
	assert_int_equal(vmx_feature_control(0x3, &w), FC_LOCKED_OFF);
}

/* ---- vmx_secondary_controls ---- */

/* Bochs 2.7's corei7_skylake_x: IA32_VMX_TRUE_PROCBASED_CTLS and IA32_VMX_PROCBASED_CTLS2 as
 * the hypervisor reads them (loglevel=debug). "Enable RDTSCP" (bit 3) is allowed. */
#define BOCHS_PROC 0xf7f9fffe04006172ULL
#define BOCHS_PROC2 0x02177fff00000000ULL

static void test_secondary_rdtscp_when_allowed(void **state)
{
	(void)state;
	assert_int_equal(vmx_secondary_controls(BOCHS_PROC, BOCHS_PROC2), BIT(3));
	/* only RDTSCP, whatever else may be set (EPT, VPID, unrestricted guest, INVPCID...) */
	assert_int_equal(vmx_secondary_controls(BOCHS_PROC, 0xffffffff00000000ULL), BIT(3));
}

/* The hidden path: a CPU whose secondary controls lack RDTSCP, or that has no secondary
 * controls at all (then the second MSR's value, whatever it is, does not count). */
static void test_secondary_none_without_rdtscp(void **state)
{
	(void)state;
	assert_int_equal(vmx_secondary_controls(BOCHS_PROC, BOCHS_PROC2 & ~BIT(35)), 0);
	assert_int_equal(vmx_secondary_controls(BOCHS_PROC, 0), 0);
	assert_int_equal(vmx_secondary_controls(BOCHS_PROC & ~BIT(63), BOCHS_PROC2), 0);
	assert_int_equal(vmx_secondary_controls(0, 0xffffffff00000000ULL), 0);
}

/* Bochs's corei7_skylake_x pin-based capability (its boot log, loglevel=debug). */
#define BOCHS_PIN 0x7f00000016ULL

static void test_apicv_available(void **state)
{
	(void)state;
	assert_true(vmx_apicv_available(BOCHS_PIN, BOCHS_PROC, BOCHS_PROC2));
	/* each piece missing alone */
	assert_false(vmx_apicv_available(BOCHS_PIN & ~(1ULL << 32), BOCHS_PROC, BOCHS_PROC2));
	assert_false(vmx_apicv_available(BOCHS_PIN, BOCHS_PROC & ~(1ULL << (32 + 21)), BOCHS_PROC2));
	assert_false(vmx_apicv_available(BOCHS_PIN, BOCHS_PROC & ~(1ULL << (32 + 31)), BOCHS_PROC2));
	for (int bit = 0; bit < 10; bit++) {
		bool needed = bit == 0 || bit == 8 || bit == 9;
		assert_int_equal(vmx_apicv_available(BOCHS_PIN, BOCHS_PROC,
						     BOCHS_PROC2 & ~(1ULL << (32 + bit))), !needed);
	}
	/* allowed-0 halves say nothing about what may be 1 */
	assert_false(vmx_apicv_available(BOCHS_PIN, BOCHS_PROC, 0x301));
	/* x2APIC mode too: MSR bitmaps (primary bit 28) and "virtualize x2APIC mode" (bit 4) */
	assert_true(vmx_x2apic_virtualization_available(BOCHS_PROC, BOCHS_PROC2));
	assert_false(vmx_x2apic_virtualization_available(BOCHS_PROC & ~(1ULL << (32 + 28)),
							 BOCHS_PROC2));
	assert_false(vmx_x2apic_virtualization_available(BOCHS_PROC, BOCHS_PROC2 & ~(1ULL << 36)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_controls_must_be_one_added),
		cmocka_unit_test(test_controls_wanted_and_allowed),
		cmocka_unit_test(test_controls_wanted_but_not_allowed),
		cmocka_unit_test(test_controls_procbased),
		cmocka_unit_test(test_controls_must_be_one_already_wanted),
		cmocka_unit_test(test_controls_nothing_allowed),
		cmocka_unit_test(test_controls_everything_allowed),
		cmocka_unit_test(test_controls_all_must_be_one),
		cmocka_unit_test(test_controls_missing_may_be_null),
		cmocka_unit_test(test_cr0_fix_sets_must_be_one_bits),
		cmocka_unit_test(test_cr0_fix_clears_high_bits),
		cmocka_unit_test(test_cr0_fix_keeps_legal_value),
		cmocka_unit_test(test_cr0_ok),
		cmocka_unit_test(test_cr0_unrestricted_guest),
		cmocka_unit_test(test_cr4_fix_sets_vmxe),
		cmocka_unit_test(test_cr4_fix_clears_unsupported),
		cmocka_unit_test(test_cr4_ok),
		cmocka_unit_test(test_fix_then_ok_property),
		cmocka_unit_test(test_vmx_basic_fields),
		cmocka_unit_test(test_feature_control),
		cmocka_unit_test(test_secondary_rdtscp_when_allowed),
		cmocka_unit_test(test_secondary_none_without_rdtscp),
		cmocka_unit_test(test_apicv_available),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
