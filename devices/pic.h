/* pic.h - the PC's two cascaded 8259A interrupt controllers (master 0x20-0x21, slave 0xa0-0xa1,
 * cascade on master IR2) and the PIIX edge/level control registers (ELCR, 0x4d0-0x4d1).
 *
 * The model is a pure state machine on struct i8259 (host-tested in tests/unit/test_pic.c); the
 * glue at the bottom owns the one instance and registers its ports.
 *
 * Behaviour (Intel 8259A datasheet, QEMU hw/intc/i8259.c where the datasheet leaves room):
 *  - ICW1 (port 0, bit 4) starts initialization: IMR, ISR, poll, special mask, AEOI, SFNM and the
 *    priority rotation are cleared, status reads select IRR, edge-latched IRR bits are dropped;
 *    ICW2 (vector base, bits 7:3), ICW3 (skipped when ICW1.SNGL) and ICW4 (only when ICW1.IC4)
 *    follow on port 1. ICW1.LTIM makes every input of that chip level-triggered. ICW3 contents,
 *    ICW1.ADI, ICW4 buffered mode and ICW4.uPM=0 (8080 mode) are accepted and ignored.
 *  - OCW1 (port 1 outside initialization): IMR. OCW2: non-specific EOI, specific EOI, rotate on
 *    (non-)specific EOI, set priority, rotate in AEOI set/clear. OCW3: read IRR/ISR select,
 *    poll (the next read of either port acknowledges the highest request: 0x80 | IR, or 0 when
 *    none), special mask mode (masked in-service levels stop blocking lower priorities).
 *  - Edge-triggered inputs latch IRR on a low-to-high transition (the latch stays when the line
 *    drops again, as in QEMU); level-triggered inputs (ELCR bit or LTIM) mirror the line in IRR
 *    and are not cleared by INTA, so an un-serviced level re-raises after EOI.
 *  - INTA with no request presents IR7 of the controller (spurious): vector base + 7 and no
 *    ISR bit; a spurious slave request sets master ISR2 only (the handler EOIs the master).
 *  - ICW4.SFNM on the master: IR2's in-service bit does not block further slave requests.
 *  - The slave's INT output drives master IR2 like any other input (edge-triggered unless the
 *    master has LTIM: ELCR bit 2 is read-only zero).
 *
 * Reset (power-on, device reset) follows QEMU: both chips ready (no initialization pending),
 * IMR = 0x00 (nothing masked), ISR = IRR = 0, vector base 0, ELCR = 0 (all edge). Real hardware
 * is undefined until ICW1; firmware (SeaBIOS on QEMU) programs bases 0x08/0x70 before the guest
 * runs, so a guest that enables interrupts without programming the PIC gets vector 0 here.
 * ELCR masks as on PIIX3/QEMU: master 0xf8 (IRQ 0-2 always edge), slave 0xde (IRQ 8, 13 edge).
 */
#ifndef DEVICES_PIC_H
#define DEVICES_PIC_H

#include "arch/types.h"

#define PIC_MASTER_PORT 0x20
#define PIC_SLAVE_PORT 0xa0
#define PIC_ELCR_PORT 0x4d0 /* 0x4d0 master, 0x4d1 slave */
#define PIC_CASCADE_IRQ 2
#define PIC_ELCR_MASK_MASTER 0xf8
#define PIC_ELCR_MASK_SLAVE 0xde

/* One 8259A. Invariants: init_step is 0 (ready) or the next ICW (2, 3, 4); irr, isr and imr
 * are indexed by IR number; prio_top is the IR with the highest priority (0 unless rotated). */
struct i8259_chip {
	u8 irr, isr, imr;
	u8 lines;     /* input levels as last driven (edge detection, level mirroring) */
	u8 elcr;      /* level-triggered inputs (ELCR) */
	u8 elcr_mask; /* ELCR bits that exist */
	u8 base;      /* ICW2 & 0xf8 */
	u8 prio_top;
	u8 init_step;
	bool icw4, single, ltim, auto_eoi, rotate_aeoi, sfnm, special_mask, read_isr, poll;
	bool master;
};

/* The cascaded pair: chip[0] master (IRQ 0-7), chip[1] slave (IRQ 8-15). */
struct i8259 {
	struct i8259_chip chip[2];
};

/* Power-on state (see the header comment); the input line levels are cleared too. */
void i8259_reset(struct i8259 *p);
/* Drives ISA IRQ line irq (0-15; others ignored) to level. IRQ 2 is the cascade input, driven
 * only by the slave's INT output: requests on it are ignored. */
void i8259_set_irq(struct i8259 *p, unsigned irq, bool level);
/* The vector the pair would present at INTA, or -1 when the master's INT output is low. */
int i8259_pending(const struct i8259 *p);
/* Interrupt acknowledge: returns the vector (base + 7 of the controller when spurious) and
 * updates ISR/IRR (AEOI, rotation) of both chips. */
int i8259_ack(struct i8259 *p);
/* One byte at a PIC port (0x20, 0x21, 0xa0, 0xa1) or an ELCR port (0x4d0, 0x4d1). Other ports:
 * reads 0xff, writes ignored. */
u8 i8259_read(struct i8259 *p, u16 port);
void i8259_write(struct i8259 *p, u16 port, u8 value);

/* ---- glue: the guest's PIC pair (one instance) ---- */

/* Resets the pair and registers ports 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1 (word and dword
 * accesses are split into bytes at consecutive ports, as the ISA bus does). */
void pic_init(void);
/* IRQ line 0-15 changed level (called by the interrupt routing, irq_set_line). */
void pic_set_irq(unsigned irq, bool level);
/* Vector at the next INTA, -1 when INT is not asserted; pic_ack performs the INTA. */
int pic_pending_vector(void);
int pic_ack(void);
/* The interrupt mask register of chip 0 (master) or 1 (slave), for the vCPU's timer logic. */
u8 pic_imr(unsigned chip);

#endif
