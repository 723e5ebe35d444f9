/* SOURCES: devices/ioapic.c devices/lapic.c devices/mmio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_ioapic.c - devices/ioapic.c: reset values, the IOREGSEL/IOWIN indirection and access
 * sizes, redirection-entry write masks, edge pins (rising edges only, lost while masked), level
 * pins with remote IRR (no resend until EOI, resend on EOI while still asserted, unmask sends,
 * refused messages leave remote IRR clear, edge mode clears it), the EOI register, NMI entries
 * as edge, and the whole path through the local APIC (devices/lapic.c): destination matching,
 * TMR, EOI broadcast and re-delivery. Messages are caught by a fake deliver callback unless a
 * test wires the real local APIC.
 */
#include "unit.h"

#include "devices/ioapic.h"
#include "devices/lapic.h"
#include "devices/mmio.h"

#define MAX_MSGS 64

static struct apic_msg msgs[MAX_MSGS];
static int nmsgs;
static bool accepting;

static bool fake_deliver(const struct apic_msg *m)
{
	if (nmsgs < MAX_MSGS)
		msgs[nmsgs] = *m;
	nmsgs++;
	return accepting;
}

static int setup(void **state)
{
	(void)state;
	nmsgs = 0;
	accepting = true;
	ioapic_init(fake_deliver);
	return 0;
}

static u32 reg_rd(u8 index)
{
	ioapic_mmio_write(IOAPIC_IOREGSEL, 4, index);
	return (u32)ioapic_mmio_read(IOAPIC_IOWIN, 4);
}

static void reg_wr(u8 index, u32 v)
{
	ioapic_mmio_write(IOAPIC_IOREGSEL, 4, index);
	ioapic_mmio_write(IOAPIC_IOWIN, 4, v);
}

static u32 rte_lo(u32 pin) { return reg_rd((u8)(0x10 + 2 * pin)); }
static u32 rte_hi(u32 pin) { return reg_rd((u8)(0x11 + 2 * pin)); }

/* High half first, as an OS does, so that unmasking comes last. */
static void set_rte(u32 pin, u32 hi, u32 lo)
{
	reg_wr((u8)(0x11 + 2 * pin), hi);
	reg_wr((u8)(0x10 + 2 * pin), lo);
}

static void check_msg(int i, u8 vector, u8 dm, bool logical, bool level, u8 dest)
{
	assert_true(i < nmsgs);
	assert_int_equal(msgs[i].vector, vector);
	assert_int_equal(msgs[i].delivery_mode, dm);
	assert_int_equal(msgs[i].logical, logical);
	assert_int_equal(msgs[i].level, level);
	assert_int_equal(msgs[i].dest, dest);
}

#define REMOTE_IRR 0x4000u

/* ---- Registers ---- */

static void test_reset_values(void **state)
{
	(void)state;
	assert_int_equal(ioapic_mmio_read(IOAPIC_IOREGSEL, 4), 0);
	assert_int_equal(reg_rd(0x00), 0);
	assert_int_equal(reg_rd(0x01), 0x00170020);
	assert_int_equal(reg_rd(0x02), 0);
	for (u32 pin = 0; pin < 24; pin++) {
		assert_int_equal(rte_lo(pin), 0x00010000);
		assert_int_equal(rte_hi(pin), 0);
	}
	static const u8 unimplemented[] = { 0x03, 0x0f, 0x40, 0x41, 0x80, 0xff };
	for (size_t i = 0; i < ARRAY_SIZE(unimplemented); i++)
		assert_int_equal(reg_rd(unimplemented[i]), 0);
	/* ioapic_reset puts the registers back */
	reg_wr(0x00, 0x05000000);
	set_rte(7, 0xff000000, 0x8037);
	ioapic_mmio_write(IOAPIC_IOREGSEL, 4, 0x21);
	ioapic_reset();
	assert_int_equal(ioapic_mmio_read(IOAPIC_IOREGSEL, 4), 0);
	assert_int_equal(reg_rd(0x00), 0);
	assert_int_equal(rte_lo(7), 0x00010000);
	assert_int_equal(rte_hi(7), 0);
	assert_int_equal(nmsgs, 0);
}

static void test_register_writes(void **state)
{
	(void)state;
	reg_wr(0x00, 0xffffffff);
	assert_int_equal(reg_rd(0x00), 0x0f000000);
	assert_int_equal(reg_rd(0x02), 0x0f000000); /* arbitration ID follows the ID */
	reg_wr(0x01, 0);
	reg_wr(0x02, 0);
	assert_int_equal(reg_rd(0x01), 0x00170020);
	assert_int_equal(reg_rd(0x02), 0x0f000000);
	/* entries: delivery status (12), remote IRR (14) and bits 55:17 never stick */
	reg_wr(0x10 + 2 * 5, 0xffffffff); /* masked, level: nothing sent */
	assert_int_equal(rte_lo(5), 0x0001afff);
	reg_wr(0x11 + 2 * 5, 0xffffffff);
	assert_int_equal(rte_hi(5), 0xff000000);
	reg_wr(0x10 + 2 * 23, 0x00010031);
	reg_wr(0x11 + 2 * 23, 0x12000000);
	assert_int_equal(rte_lo(23), 0x00010031);
	assert_int_equal(rte_hi(23), 0x12000000);
	reg_wr(0x40, 0x31); /* would be pin 24: there is none */
	assert_int_equal(reg_rd(0x40), 0);
	assert_int_equal(rte_lo(22), 0x00010000);
	assert_int_equal(nmsgs, 0);
}

static void test_access_sizes_and_offsets(void **state)
{
	(void)state;
	ioapic_mmio_write(IOAPIC_IOREGSEL, 1, 0x01);
	assert_int_equal(ioapic_mmio_read(IOAPIC_IOREGSEL, 1), 0x01);
	assert_int_equal(ioapic_mmio_read(IOAPIC_IOWIN, 4), 0x00170020);
	assert_int_equal(ioapic_mmio_read(IOAPIC_IOWIN, 1), 0);
	assert_int_equal(ioapic_mmio_read(IOAPIC_IOWIN, 2), 0);
	assert_int_equal(ioapic_mmio_read(IOAPIC_IOWIN, 8), 0);
	ioapic_mmio_write(IOAPIC_IOREGSEL, 4, 0x1234); /* only the low byte */
	assert_int_equal(ioapic_mmio_read(IOAPIC_IOREGSEL, 4), 0x34);
	ioapic_mmio_write(IOAPIC_IOREGSEL, 4, 0x10);
	ioapic_mmio_write(IOAPIC_IOWIN, 2, 0x31);
	ioapic_mmio_write(IOAPIC_IOWIN, 1, 0x31);
	ioapic_mmio_write(IOAPIC_IOWIN, 8, 0x31);
	assert_int_equal(rte_lo(0), 0x00010000);
	assert_int_equal(ioapic_mmio_read(0x04, 4), 0);
	assert_int_equal(ioapic_mmio_read(0x20, 4), 0);
	assert_int_equal(ioapic_mmio_read(0x100, 4), 0);
	assert_int_equal(ioapic_mmio_read(IOAPIC_EOIR, 4), 0);
	ioapic_mmio_write(0x110, 4, 0x31); /* not a mirror of IOWIN */
	assert_int_equal(rte_lo(0), 0x00010000);
}

/* ---- Edge pins ---- */

static void test_edge_pin(void **state)
{
	(void)state;
	set_rte(1, 0x00000000, 0x0031);
	ioapic_set_irq(1, true);
	assert_int_equal(nmsgs, 1);
	check_msg(0, 0x31, APIC_DM_FIXED, false, false, 0);
	ioapic_set_irq(1, true); /* still high: no new edge */
	assert_int_equal(nmsgs, 1);
	ioapic_set_irq(1, false);
	assert_int_equal(nmsgs, 1);
	ioapic_set_irq(1, true);
	assert_int_equal(nmsgs, 2);
	assert_int_equal(rte_lo(1), 0x0031); /* never remote IRR */
	/* every field reaches the message */
	set_rte(2, 0xab000000, 0x0932); /* lowest priority, logical */
	ioapic_set_irq(2, true);
	assert_int_equal(nmsgs, 3);
	check_msg(2, 0x32, APIC_DM_LOWEST, true, false, 0xab);
	/* a refused edge is simply gone */
	accepting = false;
	ioapic_set_irq(2, false);
	ioapic_set_irq(2, true);
	assert_int_equal(nmsgs, 4);
	assert_int_equal(rte_lo(2), 0x0932);
	ioapic_set_irq(24, true); /* no such pin */
	ioapic_set_irq(1000, true);
	assert_int_equal(nmsgs, 4);
}

static void test_masked_edge_is_lost(void **state)
{
	(void)state;
	set_rte(3, 0, 0x10033);
	ioapic_set_irq(3, true);
	assert_int_equal(nmsgs, 0);
	set_rte(3, 0, 0x0033); /* unmasking while high sends nothing */
	assert_int_equal(nmsgs, 0);
	ioapic_set_irq(3, false);
	ioapic_set_irq(3, true);
	assert_int_equal(nmsgs, 1);
	check_msg(0, 0x33, APIC_DM_FIXED, false, false, 0);
}

static void test_nmi_entry_is_edge(void **state)
{
	(void)state;
	set_rte(6, 0, 0x8400); /* NMI with the level bit: treated as edge */
	ioapic_set_irq(6, true);
	assert_int_equal(nmsgs, 1);
	check_msg(0, 0x00, APIC_DM_NMI, false, false, 0);
	assert_int_equal(rte_lo(6) & REMOTE_IRR, 0);
	ioapic_set_irq(6, true);
	assert_int_equal(nmsgs, 1);
}

/* ---- Level pins ---- */

static void test_level_pin_remote_irr(void **state)
{
	(void)state;
	set_rte(9, 0, 0x8039);
	ioapic_set_irq(9, true);
	assert_int_equal(nmsgs, 1);
	check_msg(0, 0x39, APIC_DM_FIXED, false, true, 0);
	assert_int_equal(rte_lo(9), 0x8039 | REMOTE_IRR);
	ioapic_set_irq(9, true); /* waits for the EOI */
	assert_int_equal(nmsgs, 1);
	ioapic_eoi(0x38); /* another vector */
	assert_int_equal(rte_lo(9), 0x8039 | REMOTE_IRR);
	assert_int_equal(nmsgs, 1);
	ioapic_eoi(0x39); /* still asserted: sent again */
	assert_int_equal(nmsgs, 2);
	check_msg(1, 0x39, APIC_DM_FIXED, false, true, 0);
	assert_int_equal(rte_lo(9), 0x8039 | REMOTE_IRR);
	ioapic_set_irq(9, false);
	ioapic_eoi(0x39); /* deasserted: just cleared */
	assert_int_equal(nmsgs, 2);
	assert_int_equal(rte_lo(9), 0x8039);
	ioapic_set_irq(9, true);
	assert_int_equal(nmsgs, 3);
	/* a remote IRR write is ignored */
	reg_wr(0x10 + 2 * 9, 0x8039);
	assert_int_equal(rte_lo(9), 0x8039 | REMOTE_IRR);
	assert_int_equal(nmsgs, 3);
}

static void test_level_pin_masked_then_unmasked(void **state)
{
	(void)state;
	set_rte(10, 0, 0x1803a);
	ioapic_set_irq(10, true);
	assert_int_equal(nmsgs, 0);
	assert_int_equal(rte_lo(10), 0x1803a);
	set_rte(10, 0, 0x803a);
	assert_int_equal(nmsgs, 1);
	assert_int_equal(rte_lo(10), 0x803a | REMOTE_IRR);
	/* masked while waiting for EOI: the EOI clears remote IRR but sends nothing */
	set_rte(10, 0, 0x1803a);
	ioapic_eoi(0x3a);
	assert_int_equal(rte_lo(10), 0x1803a);
	assert_int_equal(nmsgs, 1);
	set_rte(10, 0, 0x803a); /* still asserted: unmasking sends */
	assert_int_equal(nmsgs, 2);
	/* deasserted before the unmask: nothing */
	set_rte(10, 0, 0x1803a);
	ioapic_eoi(0x3a);
	ioapic_set_irq(10, false);
	set_rte(10, 0, 0x803a);
	assert_int_equal(nmsgs, 2);
}

static void test_level_pin_refused(void **state)
{
	(void)state;
	accepting = false;
	set_rte(11, 0, 0x803b);
	ioapic_set_irq(11, true);
	assert_int_equal(nmsgs, 1);
	assert_int_equal(rte_lo(11), 0x803b); /* not accepted: no remote IRR */
	ioapic_eoi(0x3b); /* nothing to clear, nothing sent */
	assert_int_equal(nmsgs, 1);
	accepting = true;
	ioapic_set_irq(11, true); /* asserted again: retried */
	assert_int_equal(nmsgs, 2);
	assert_int_equal(rte_lo(11), 0x803b | REMOTE_IRR);
}

static void test_edge_mode_clears_remote_irr(void **state)
{
	(void)state;
	set_rte(12, 0, 0x803c);
	ioapic_set_irq(12, true);
	assert_int_equal(rte_lo(12), 0x803c | REMOTE_IRR);
	reg_wr(0x10 + 2 * 12, 0x1003c); /* masked, edge */
	assert_int_equal(rte_lo(12), 0x1003c);
	reg_wr(0x10 + 2 * 12, 0x1803c); /* masked, level again */
	assert_int_equal(rte_lo(12), 0x1803c);
	reg_wr(0x10 + 2 * 12, 0x803c); /* unmasked, still asserted: sent */
	assert_int_equal(nmsgs, 2);
}

static void test_eoi_register(void **state)
{
	(void)state;
	set_rte(13, 0, 0x803d);
	set_rte(14, 0, 0x803d); /* two pins, one vector */
	ioapic_set_irq(13, true);
	ioapic_set_irq(14, true);
	ioapic_set_irq(13, false);
	assert_int_equal(nmsgs, 2);
	ioapic_mmio_write(IOAPIC_EOIR, 1, 0x3d); /* not a 32-bit write: ignored */
	assert_int_equal(rte_lo(13), 0x803d | REMOTE_IRR);
	ioapic_mmio_write(IOAPIC_EOIR, 4, 0x3d);
	assert_int_equal(rte_lo(13), 0x803d);
	assert_int_equal(rte_lo(14), 0x803d | REMOTE_IRR); /* pin 14 still asserted: resent */
	assert_int_equal(nmsgs, 3);
}

/* ---- Through the local APIC ---- */

static u32 apic_rd(u32 off) { return (u32)lapic_mmio_read(off, 4, 0); }
static void apic_wr(u32 off, u32 v) { lapic_mmio_write(off, 4, v, 0); }

static void wire_lapic(void)
{
	struct lapic_config cfg = { .tsc_hz = 1000000000ULL, .maxphyaddr = 39, .x2apic = true,
				    .eoi_broadcast = ioapic_eoi };
	lapic_init(&cfg);
	ioapic_init(lapic_deliver);
	apic_wr(LAPIC_REG_SVR, 0x1ff);
}

static void test_level_through_lapic(void **state)
{
	(void)state;
	wire_lapic();
	set_rte(4, 0, 0x8044);
	ioapic_set_irq(4, true);
	assert_int_equal(lapic_pending_vector(), 0x44);
	assert_int_equal(apic_rd(LAPIC_REG_TMR + 0x20), 1u << 4); /* level: TMR set */
	lapic_ack(0x44);
	assert_int_equal(lapic_pending_vector(), -1);
	apic_wr(LAPIC_REG_EOI, 0); /* broadcast: remote IRR cleared, pin still high: again */
	assert_int_equal(lapic_pending_vector(), 0x44);
	assert_int_equal(rte_lo(4), 0x8044 | REMOTE_IRR);
	lapic_ack(0x44);
	ioapic_set_irq(4, false);
	apic_wr(LAPIC_REG_EOI, 0);
	assert_int_equal(rte_lo(4), 0x8044);
	assert_int_equal(lapic_pending_vector(), -1);
}

static void test_edge_through_lapic(void **state)
{
	(void)state;
	wire_lapic();
	set_rte(2, 0, 0x0030);
	ioapic_set_irq(2, true);
	ioapic_set_irq(2, false);
	assert_int_equal(lapic_pending_vector(), 0x30);
	assert_int_equal(apic_rd(LAPIC_REG_TMR + 0x10), 0);
	lapic_ack(0x30);
	apic_wr(LAPIC_REG_EOI, 0);
	assert_int_equal(lapic_pending_vector(), -1);
}

static void test_destinations_through_lapic(void **state)
{
	(void)state;
	wire_lapic();
	set_rte(5, 0x01000000, 0x8045); /* physical ID 1: nobody */
	ioapic_set_irq(5, true);
	assert_int_equal(lapic_pending_vector(), -1);
	assert_int_equal(rte_lo(5), 0x8045);
	apic_wr(LAPIC_REG_LDR, 0x01000000); /* logical, flat: bit 0 */
	set_rte(5, 0x03000000, 0x8845);
	assert_int_equal(lapic_pending_vector(), 0x45);
	assert_int_equal(rte_lo(5), 0x8845 | REMOTE_IRR);
	set_rte(6, 0xff000000, 0x0046); /* physical broadcast */
	ioapic_set_irq(6, true);
	assert_true(apic_rd(LAPIC_REG_IRR + 0x20) & (1u << 6));
}

static void test_software_disabled_lapic_refuses(void **state)
{
	(void)state;
	wire_lapic();
	apic_wr(LAPIC_REG_SVR, 0xff);
	set_rte(7, 0, 0x8047);
	ioapic_set_irq(7, true);
	assert_int_equal(rte_lo(7), 0x8047); /* refused: remote IRR clear */
	apic_wr(LAPIC_REG_SVR, 0x1ff);
	assert_int_equal(lapic_pending_vector(), -1);
	ioapic_set_irq(7, true); /* still asserted: the next assertion gets through */
	assert_int_equal(lapic_pending_vector(), 0x47);
	assert_int_equal(rte_lo(7), 0x8047 | REMOTE_IRR);
}

/* ---- Glue ---- */

static void test_glue_window(void **state)
{
	(void)state;
	u64 v = 0;
	ioapic_attach();
	assert_true(mmio_write(0xfec00000, 4, 0x01));
	assert_true(mmio_read(0xfec00010, 4, &v));
	assert_int_equal(v, 0x00170020);
	assert_true(mmio_write(0xfec00000, 1, 0x10));
	assert_true(mmio_write(0xfec00010, 4, 0x31));
	ioapic_set_irq(0, true);
	assert_int_equal(nmsgs, 1);
	check_msg(0, 0x31, APIC_DM_FIXED, false, false, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_reset_values, setup),
		cmocka_unit_test_setup(test_register_writes, setup),
		cmocka_unit_test_setup(test_access_sizes_and_offsets, setup),
		cmocka_unit_test_setup(test_edge_pin, setup),
		cmocka_unit_test_setup(test_masked_edge_is_lost, setup),
		cmocka_unit_test_setup(test_nmi_entry_is_edge, setup),
		cmocka_unit_test_setup(test_level_pin_remote_irr, setup),
		cmocka_unit_test_setup(test_level_pin_masked_then_unmasked, setup),
		cmocka_unit_test_setup(test_level_pin_refused, setup),
		cmocka_unit_test_setup(test_edge_mode_clears_remote_irr, setup),
		cmocka_unit_test_setup(test_eoi_register, setup),
		cmocka_unit_test_setup(test_level_through_lapic, setup),
		cmocka_unit_test_setup(test_edge_through_lapic, setup),
		cmocka_unit_test_setup(test_destinations_through_lapic, setup),
		cmocka_unit_test_setup(test_software_disabled_lapic_refuses, setup),
		cmocka_unit_test_setup(test_glue_window, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
