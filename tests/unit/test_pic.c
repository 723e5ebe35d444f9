/* SOURCES: devices/pic.c devices/pio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_pic.c - devices/pic.c: the 8259A pair as a pure state machine (reset values, the ICW
 * sequences with and without ICW3/ICW4, masking, priority with the cascade, every EOI and
 * rotation command, AEOI, IRR/ISR reads, poll mode, special mask mode, SFNM, edge latching,
 * ELCR/LTIM level mode re-raising after EOI, spurious IR7/IR15) and the port glue through
 * devices/pio.c (byte and split word accesses, pic_set_irq/pending/ack).
 */
#include "unit.h"

#include "devices/pic.h"
#include "devices/pio.h"

#define M 0x20
#define S 0xa0
#define MBASE 0x20
#define SBASE 0x28
#define OCW3_READ_IRR 0x0a
#define OCW3_READ_ISR 0x0b
#define OCW3_POLL 0x0c
#define EOI 0x20

static struct i8259 p;

static void wr(u16 port, u8 v) { i8259_write(&p, port, v); }
static u8 rd(u16 port) { return i8259_read(&p, port); }

/* The usual PC init: edge, cascade, ICW4 with the given bits, everything unmasked. */
static void init_pair(u8 icw4)
{
	wr(M, 0x11); wr(M + 1, MBASE); wr(M + 1, 0x04); wr(M + 1, icw4);
	wr(S, 0x11); wr(S + 1, SBASE); wr(S + 1, 0x02); wr(S + 1, icw4);
	wr(M + 1, 0x00); wr(S + 1, 0x00);
}

static u8 isr(u16 chip) { wr(chip, OCW3_READ_ISR); return rd(chip); }
static u8 irr(u16 chip) { wr(chip, OCW3_READ_IRR); return rd(chip); }

static void pulse(unsigned irq)
{
	i8259_set_irq(&p, irq, true);
	i8259_set_irq(&p, irq, false);
}

static int setup(void **state)
{
	(void)state;
	memset(&p, 0x5a, sizeof(p)); /* reset must not rely on a zeroed struct */
	i8259_reset(&p);
	return 0;
}

/* ---- reset and initialization ---- */

static void test_reset_values_like_qemu(void **state)
{
	(void)state;
	assert_int_equal(rd(M + 1), 0x00);
	assert_int_equal(rd(S + 1), 0x00);
	assert_int_equal(rd(M), 0x00); /* IRR */
	assert_int_equal(isr(M), 0x00);
	assert_int_equal(rd(0x4d0), 0);
	assert_int_equal(rd(0x4d1), 0);
	assert_int_equal(i8259_pending(&p), -1);
	pulse(0); /* unmasked, vector base 0 */
	assert_int_equal(i8259_pending(&p), 0);
	pulse(9);
	assert_int_equal(i8259_ack(&p), 0);
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), 1); /* slave base 0 too: IRQ 9 -> vector 1 */
}

static void test_init_sets_bases_and_clears_imr(void **state)
{
	(void)state;
	wr(M + 1, 0xff);
	assert_int_equal(rd(M + 1), 0xff);
	init_pair(0x01);
	assert_int_equal(rd(M + 1), 0x00);
	pulse(3);
	assert_int_equal(i8259_ack(&p), MBASE + 3);
	pulse(11);
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), SBASE + 3);
}

static void test_icw1_clears_imr_isr_and_state(void **state)
{
	(void)state;
	init_pair(0x01);
	wr(M + 1, 0xf0);
	pulse(1);
	assert_int_equal(i8259_ack(&p), MBASE + 1);
	wr(M, OCW3_READ_ISR);
	wr(M, 0x11); /* ICW1: IMR, ISR cleared, reads select IRR */
	assert_int_equal(rd(M), 0);
	wr(M + 1, 0x30); wr(M + 1, 0x04); wr(M + 1, 0x01);
	assert_int_equal(rd(M + 1), 0x00);
	assert_int_equal(isr(M), 0x00);
	pulse(1);
	assert_int_equal(i8259_ack(&p), 0x31);
}

static void test_icw2_low_bits_ignored(void **state)
{
	(void)state;
	wr(M, 0x11); wr(M + 1, 0x27); wr(M + 1, 0x04); wr(M + 1, 0x01);
	wr(M + 1, 0x00);
	pulse(0);
	assert_int_equal(i8259_ack(&p), 0x20);
}

static void test_single_mode_skips_icw3(void **state)
{
	(void)state;
	wr(M, 0x13);       /* SNGL, IC4 */
	wr(M + 1, 0x40);   /* ICW2 */
	wr(M + 1, 0x03);   /* ICW4: AEOI, 8086 */
	wr(M + 1, 0xfe);   /* OCW1 */
	assert_int_equal(rd(M + 1), 0xfe);
	pulse(0);
	assert_int_equal(i8259_ack(&p), 0x40);
	assert_int_equal(isr(M), 0); /* AEOI came from ICW4 */
}

static void test_no_icw4_clears_icw4_functions(void **state)
{
	(void)state;
	wr(M, 0x11); wr(M + 1, 0x08); wr(M + 1, 0x04); wr(M + 1, 0x02); /* AEOI */
	wr(M, 0x10);       /* no IC4 */
	wr(M + 1, 0x50);   /* ICW2 */
	wr(M + 1, 0x04);   /* ICW3 */
	wr(M + 1, 0xf7);   /* already OCW1 */
	assert_int_equal(rd(M + 1), 0xf7);
	pulse(3);
	assert_int_equal(i8259_ack(&p), 0x53);
	assert_int_equal(isr(M), 0x08); /* not AEOI any more */
}

static void test_single_mode_without_icw4(void **state)
{
	(void)state;
	wr(M, 0x12); wr(M + 1, 0x60); wr(M + 1, 0xaa);
	assert_int_equal(rd(M + 1), 0xaa);
}

/* ---- masking and priority ---- */

static void test_mask_blocks_and_unmask_delivers(void **state)
{
	(void)state;
	init_pair(0x01);
	wr(M + 1, 0x08);
	pulse(3);
	assert_int_equal(i8259_pending(&p), -1);
	assert_int_equal(irr(M), 0x08); /* requested, only masked */
	wr(M + 1, 0x00);
	assert_int_equal(i8259_pending(&p), MBASE + 3);
}

static void test_slave_mask_and_cascade_mask(void **state)
{
	(void)state;
	init_pair(0x01);
	wr(S + 1, 0x10);
	pulse(12);
	assert_int_equal(i8259_pending(&p), -1);
	wr(S + 1, 0x00);
	assert_int_equal(i8259_pending(&p), SBASE + 4);
	wr(M + 1, 0x04); /* masking the cascade hides the whole slave */
	assert_int_equal(i8259_pending(&p), -1);
	wr(M + 1, 0x00);
	assert_int_equal(i8259_ack(&p), SBASE + 4);
}

static void test_lower_irq_wins_and_in_service_blocks(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(5);
	pulse(1);
	assert_int_equal(i8259_ack(&p), MBASE + 1);
	assert_int_equal(i8259_pending(&p), -1); /* 5 waits for IR1's EOI */
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), MBASE + 5);
	pulse(1); /* higher priority preempts IR5 in service */
	assert_int_equal(i8259_pending(&p), MBASE + 1);
	pulse(6);
	assert_int_equal(i8259_ack(&p), MBASE + 1);
	assert_int_equal(isr(M), 0x22);
}

static void test_cascade_priority_between_ir1_and_ir3(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(3);
	pulse(8);
	pulse(15);
	assert_int_equal(i8259_ack(&p), SBASE + 0);
	assert_int_equal(isr(M), 0x04);
	assert_int_equal(isr(S), 0x01);
	assert_int_equal(i8259_pending(&p), -1); /* IR3 below IR2; IRQ 15 below IRQ 8 */
	wr(S, EOI);
	assert_int_equal(i8259_pending(&p), -1); /* master IR2 still in service */
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), SBASE + 7);
	wr(S, EOI);
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), MBASE + 3);
	pulse(0);
	pulse(9);
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), MBASE + 0);
}

static void test_slave_request_waiting_for_eoi_reaches_master(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(9);
	pulse(12);
	assert_int_equal(i8259_ack(&p), SBASE + 1);
	wr(M, EOI); /* master first: the slave still blocks 12 */
	assert_int_equal(i8259_pending(&p), -1);
	wr(S, EOI); /* slave INT rises again: a new edge on master IR2 */
	assert_int_equal(i8259_ack(&p), SBASE + 4);
}

static void test_sfnm_lets_higher_slave_request_through(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(12);
	assert_int_equal(i8259_ack(&p), SBASE + 4);
	pulse(9);
	assert_int_equal(i8259_pending(&p), -1); /* fully nested: master ISR2 blocks */
	setup(NULL);
	init_pair(0x11); /* SFNM */
	pulse(12);
	assert_int_equal(i8259_ack(&p), SBASE + 4);
	pulse(9);
	assert_int_equal(i8259_ack(&p), SBASE + 1);
	assert_int_equal(isr(S), 0x12);
	pulse(13); /* lower than 12 in service: still blocked by the slave */
	assert_int_equal(i8259_pending(&p), -1);
}

/* ---- EOI commands and rotation ---- */

static void test_nonspecific_eoi_clears_highest_in_service(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(5);
	assert_int_equal(i8259_ack(&p), MBASE + 5);
	pulse(1);
	assert_int_equal(i8259_ack(&p), MBASE + 1);
	wr(M, EOI);
	assert_int_equal(isr(M), 0x20);
	wr(M, EOI);
	assert_int_equal(isr(M), 0x00);
	wr(M, EOI); /* nothing in service: no effect */
	assert_int_equal(isr(M), 0x00);
}

static void test_specific_eoi(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(5);
	assert_int_equal(i8259_ack(&p), MBASE + 5);
	pulse(1);
	assert_int_equal(i8259_ack(&p), MBASE + 1);
	wr(M, 0x65); /* specific EOI for IR5, the lower one */
	assert_int_equal(isr(M), 0x02);
	wr(M, 0x67); /* IR7 not in service: harmless */
	assert_int_equal(isr(M), 0x02);
	wr(M, 0x61);
	assert_int_equal(isr(M), 0x00);
}

static void test_rotate_on_nonspecific_eoi(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(3);
	assert_int_equal(i8259_ack(&p), MBASE + 3);
	wr(M, 0xa0); /* IR3 becomes the lowest, IR4 the highest */
	pulse(3);
	pulse(4);
	pulse(0);
	assert_int_equal(i8259_ack(&p), MBASE + 4);
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), MBASE + 0);
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), MBASE + 3);
}

static void test_set_priority_and_rotate_specific(void **state)
{
	(void)state;
	init_pair(0x01);
	wr(M, 0xc4); /* IR4 lowest: IR5 highest */
	pulse(0);
	pulse(5);
	pulse(4);
	assert_int_equal(i8259_ack(&p), MBASE + 5);
	wr(M, 0xe0); /* rotate on specific EOI of IR0: IR1 highest, IR0 lowest */
	assert_int_equal(isr(M), 0x20); /* IR5 still in service */
	wr(M, 0x65);
	assert_int_equal(i8259_ack(&p), MBASE + 4); /* order 1..7,0: 4 before 0 */
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), MBASE + 0);
}

static void test_auto_eoi_and_rotation(void **state)
{
	(void)state;
	init_pair(0x03); /* AEOI */
	pulse(2 + 1);
	assert_int_equal(i8259_ack(&p), MBASE + 3);
	assert_int_equal(isr(M), 0);
	pulse(5);
	assert_int_equal(i8259_ack(&p), MBASE + 5); /* nothing blocks without ISR */
	wr(M, 0x80); /* rotate in AEOI mode */
	pulse(1);
	assert_int_equal(i8259_ack(&p), MBASE + 1);
	pulse(1);
	pulse(6);
	assert_int_equal(i8259_ack(&p), MBASE + 6); /* IR1 rotated to lowest */
	wr(M, 0x00); /* rotation off again */
	pulse(7);
	pulse(3);
	assert_int_equal(i8259_ack(&p), MBASE + 7); /* order now 7,0,1..: 7 first */
	assert_int_equal(i8259_ack(&p), MBASE + 1); /* then IR1 left pending */
}

/* ---- OCW3 ---- */

static void test_read_irr_isr_select(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(4);
	pulse(6);
	assert_int_equal(rd(M), 0x50); /* IRR after init */
	assert_int_equal(i8259_ack(&p), MBASE + 4);
	assert_int_equal(rd(M), 0x40);
	wr(M, OCW3_READ_ISR);
	assert_int_equal(rd(M), 0x10);
	assert_int_equal(rd(M), 0x10); /* selection sticks */
	wr(M, 0x08); /* OCW3 without RR: selection unchanged */
	assert_int_equal(rd(M), 0x10);
	wr(M, OCW3_READ_IRR);
	assert_int_equal(rd(M), 0x40);
	assert_int_equal(rd(M + 1), 0x00); /* port 1 is always IMR */
}

static void test_poll_mode(void **state)
{
	(void)state;
	init_pair(0x01);
	wr(M + 1, 0x01); /* IR0 masked: poll skips it */
	pulse(0);
	pulse(5);
	wr(M, OCW3_POLL);
	assert_int_equal(rd(M), 0x85);
	assert_int_equal(isr(M), 0x20);
	assert_int_equal(irr(M), 0x01);
	wr(M, OCW3_POLL);
	assert_int_equal(rd(M + 1), 0x00); /* nothing above IR5 in service */
	assert_int_equal(rd(M + 1), 0x01); /* one-shot: back to IMR */
	wr(M, EOI);
	pulse(11);
	wr(S, OCW3_POLL);
	assert_int_equal(rd(S), 0x83);
	assert_int_equal(isr(S), 0x08);
}

static void test_special_mask_mode(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(3);
	assert_int_equal(i8259_ack(&p), MBASE + 3);
	pulse(5);
	assert_int_equal(i8259_pending(&p), -1);
	wr(M + 1, 0x08);  /* mask IR3 */
	wr(M, 0x68);      /* enter special mask mode */
	assert_int_equal(i8259_ack(&p), MBASE + 5);
	assert_int_equal(isr(M), 0x28);
	pulse(4); /* IR5 (unmasked, in service) still blocks IR4? no: 4 is above 5 */
	assert_int_equal(i8259_pending(&p), MBASE + 4);
	wr(M, 0x65);
	wr(M, 0x48);      /* leave special mask mode: IR3 in service blocks IR4 again */
	assert_int_equal(i8259_pending(&p), -1);
	wr(M, 0x28);      /* OCW3 with SMM but not ESMM: no change */
	assert_int_equal(i8259_pending(&p), -1);
}

/* ---- triggering ---- */

static void test_edge_needs_new_rising_edge(void **state)
{
	(void)state;
	init_pair(0x01);
	i8259_set_irq(&p, 4, true);
	assert_int_equal(i8259_ack(&p), MBASE + 4);
	wr(M, EOI);
	i8259_set_irq(&p, 4, true); /* still high: no new edge */
	assert_int_equal(i8259_pending(&p), -1);
	i8259_set_irq(&p, 4, false);
	i8259_set_irq(&p, 4, true);
	assert_int_equal(i8259_pending(&p), MBASE + 4);
}

static void test_edge_latched_after_line_drops(void **state)
{
	(void)state;
	init_pair(0x01);
	pulse(6);
	assert_int_equal(irr(M), 0x40);
	assert_int_equal(i8259_ack(&p), MBASE + 6);
	assert_int_equal(irr(M), 0x00);
}

static void test_elcr_level_reraises_after_eoi(void **state)
{
	(void)state;
	init_pair(0x01);
	wr(0x4d1, 0x04); /* IRQ 10 level */
	i8259_set_irq(&p, 10, true);
	assert_int_equal(i8259_ack(&p), SBASE + 2);
	assert_int_equal(irr(S), 0x04); /* INTA leaves a level request */
	wr(S, EOI);
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), SBASE + 2); /* still high: again */
	i8259_set_irq(&p, 10, false); /* the handler quiets the device before its EOI */
	assert_int_equal(irr(S), 0x00);
	wr(S, EOI);
	wr(M, EOI);
	assert_int_equal(i8259_pending(&p), -1);
}

static void test_elcr_level_dropped_before_inta(void **state)
{
	(void)state;
	init_pair(0x01);
	wr(0x4d0, 0x20); /* IRQ 5 level */
	i8259_set_irq(&p, 5, true);
	assert_int_equal(i8259_pending(&p), MBASE + 5);
	i8259_set_irq(&p, 5, false);
	assert_int_equal(i8259_pending(&p), -1);
	assert_int_equal(i8259_ack(&p), MBASE + 7); /* spurious IR7 */
	assert_int_equal(isr(M), 0);
}

static void test_elcr_masks_and_readback(void **state)
{
	(void)state;
	wr(0x4d0, 0xff);
	wr(0x4d1, 0xff);
	assert_int_equal(rd(0x4d0), 0xf8);
	assert_int_equal(rd(0x4d1), 0xde);
	init_pair(0x01); /* ICW1 does not touch ELCR */
	assert_int_equal(rd(0x4d0), 0xf8);
	i8259_reset(&p);
	assert_int_equal(rd(0x4d0), 0x00);
}

static void test_elcr_change_picks_up_held_line(void **state)
{
	(void)state;
	init_pair(0x01);
	i8259_set_irq(&p, 11, true);
	assert_int_equal(i8259_ack(&p), SBASE + 3);
	wr(S, EOI);
	wr(M, EOI);
	assert_int_equal(i8259_pending(&p), -1);
	wr(0x4d1, 0x08); /* now level: the held line requests */
	assert_int_equal(i8259_ack(&p), SBASE + 3);
}

static void test_ltim_makes_all_inputs_level(void **state)
{
	(void)state;
	wr(M, 0x19); wr(M + 1, MBASE); wr(M + 1, 0x04); wr(M + 1, 0x01); /* LTIM */
	wr(M + 1, 0xfb);
	wr(M + 1, 0x00);
	i8259_set_irq(&p, 1, true);
	assert_int_equal(i8259_ack(&p), MBASE + 1);
	wr(M, EOI);
	assert_int_equal(i8259_ack(&p), MBASE + 1);
	wr(M, EOI);
	i8259_set_irq(&p, 1, false);
	assert_int_equal(i8259_pending(&p), -1);
}

static void test_icw1_drops_edge_requests_keeps_level(void **state)
{
	(void)state;
	init_pair(0x01);
	wr(0x4d0, 0x08);
	wr(M + 1, 0xff);
	pulse(4);
	i8259_set_irq(&p, 3, true);
	assert_int_equal(irr(M), 0x18);
	wr(M, 0x11);
	assert_int_equal(rd(M), 0x08);
	wr(M + 1, MBASE); wr(M + 1, 0x04); wr(M + 1, 0x01);
	assert_int_equal(i8259_ack(&p), MBASE + 3);
}

static void test_spurious_slave_sets_master_isr2_only(void **state)
{
	(void)state;
	init_pair(0x01);
	wr(0x4d1, 0x04);
	i8259_set_irq(&p, 10, true); /* slave INT: edge into master IR2 */
	i8259_set_irq(&p, 10, false);
	assert_int_equal(irr(M), 0x04); /* master latched the edge */
	assert_int_equal(i8259_pending(&p), SBASE + 7);
	assert_int_equal(i8259_ack(&p), SBASE + 7);
	assert_int_equal(isr(M), 0x04);
	assert_int_equal(isr(S), 0x00);
	assert_int_equal(i8259_ack(&p), MBASE + 7); /* nothing at all: master IR7 */
}

static void test_irq2_and_out_of_range_ignored(void **state)
{
	(void)state;
	init_pair(0x01);
	i8259_set_irq(&p, 2, true);
	i8259_set_irq(&p, 16, true);
	i8259_set_irq(&p, 200, true);
	assert_int_equal(irr(M), 0);
	assert_int_equal(irr(S), 0);
	assert_int_equal(i8259_read(&p, 0x22), 0xff);
	i8259_write(&p, 0x22, 0x11); /* not a PIC port */
	assert_int_equal(rd(M + 1), 0x00);
}

/* ---- glue through the port table ---- */

static void test_glue_ports_and_api(void **state)
{
	(void)state;
	static bool registered;
	u32 v;
	if (!registered) {
		pic_init();
		registered = true;
	}
	pio_reset_all();
	pio_write(0x20, 1, 0x11);
	pio_write(0x21, 1, 0x08);
	pio_write(0x21, 1, 0x04);
	pio_write(0x21, 1, 0x01);
	pio_write(0xa0, 1, 0x11);
	pio_write(0xa1, 1, 0x70);
	pio_write(0xa1, 1, 0x02);
	pio_write(0xa1, 1, 0x01);
	pio_write(0x20, 2, 0xfe0b); /* word OUT: OCW3 read ISR to 0x20, IMR 0xfe to 0x21 */
	assert_true(pio_read(0x21, 1, &v));
	assert_int_equal(v, 0xfe);
	pio_write(0x21, 1, 0x00);
	pic_set_irq(8, true);
	pic_set_irq(8, false);
	assert_int_equal(pic_pending_vector(), 0x70);
	assert_int_equal(pic_ack(), 0x70);
	assert_int_equal(pic_pending_vector(), -1);
	assert_true(pio_read(0x20, 2, &v)); /* ISR | IMR << 8 */
	assert_int_equal(v, 0x0004);
	pio_write(0xa0, 1, 0x0b);
	assert_true(pio_read(0xa0, 4, &v)); /* ISR, IMR, then beyond the slave's ports: 0xff */
	assert_int_equal(v, 0xffff0001);
	pio_write(0x4d0, 2, 0xffff);
	assert_true(pio_read(0x4d0, 2, &v));
	assert_int_equal(v, 0xdef8);
	pio_reset_all();
	assert_int_equal(pic_pending_vector(), -1);
	pic_set_irq(1, true);
	assert_int_equal(pic_ack(), 1); /* reset: base 0 */
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reset_values_like_qemu),
		T(test_init_sets_bases_and_clears_imr),
		T(test_icw1_clears_imr_isr_and_state),
		T(test_icw2_low_bits_ignored),
		T(test_single_mode_skips_icw3),
		T(test_no_icw4_clears_icw4_functions),
		T(test_single_mode_without_icw4),
		T(test_mask_blocks_and_unmask_delivers),
		T(test_slave_mask_and_cascade_mask),
		T(test_lower_irq_wins_and_in_service_blocks),
		T(test_cascade_priority_between_ir1_and_ir3),
		T(test_slave_request_waiting_for_eoi_reaches_master),
		T(test_sfnm_lets_higher_slave_request_through),
		T(test_nonspecific_eoi_clears_highest_in_service),
		T(test_specific_eoi),
		T(test_rotate_on_nonspecific_eoi),
		T(test_set_priority_and_rotate_specific),
		T(test_auto_eoi_and_rotation),
		T(test_read_irr_isr_select),
		T(test_poll_mode),
		T(test_special_mask_mode),
		T(test_edge_needs_new_rising_edge),
		T(test_edge_latched_after_line_drops),
		T(test_elcr_level_reraises_after_eoi),
		T(test_elcr_level_dropped_before_inta),
		T(test_elcr_masks_and_readback),
		T(test_elcr_change_picks_up_held_line),
		T(test_ltim_makes_all_inputs_level),
		T(test_icw1_drops_edge_requests_keeps_level),
		T(test_spurious_slave_sets_master_isr2_only),
		T(test_irq2_and_out_of_range_ignored),
		T(test_glue_ports_and_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
