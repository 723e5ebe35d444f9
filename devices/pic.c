/* pic.c - the 8259A pair and ELCR: a pure state machine (struct i8259) and its port glue. */
#include "devices/pic.h"
#include "devices/pio.h"

#define MASTER 0
#define SLAVE 1

/* ICW1 (port 0, bit 4 set) */
#define ICW1_IC4 0x01
#define ICW1_SNGL 0x02
#define ICW1_LTIM 0x08
#define ICW1_INIT 0x10
/* ICW4 */
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
/* OCW3 (port 0, bits 4:3 = 01) */
#define OCW3_SEL 0x08
#define OCW3_RIS 0x01
#define OCW3_RR 0x02
#define OCW3_POLL 0x04
#define OCW3_SMM 0x20
#define OCW3_ESMM 0x40
/* OCW2 (port 0, bits 4:3 = 00): R, SL, EOI in bits 7:5 */
#define OCW2_ROTATE_AEOI_CLEAR 0
#define OCW2_EOI 1
#define OCW2_NOP 2
#define OCW2_SPECIFIC_EOI 3
#define OCW2_ROTATE_AEOI_SET 4
#define OCW2_ROTATE_EOI 5
#define OCW2_SET_PRIORITY 6
#define OCW2_ROTATE_SPECIFIC_EOI 7

#define NO_IRQ 8

static u8 level_mask(const struct i8259_chip *c)
{
	return c->ltim ? 0xff : c->elcr;
}

/* Priority rank (0 = highest) of the highest-priority bit in mask, NO_IRQ when none. */
static int top_rank(const struct i8259_chip *c, u8 mask)
{
	for (int r = 0; r < 8; r++)
		if (mask & (1u << ((r + c->prio_top) & 7)))
			return r;
	return NO_IRQ;
}

static int ir_of_rank(const struct i8259_chip *c, int rank)
{
	return (rank + c->prio_top) & 7;
}

/* The IR this chip requests (its INT output), or -1: the highest unmasked request whose
 * priority is above every level in service (special mask mode ignores masked in-service
 * levels; SFNM on the master ignores the cascade's in-service bit). */
static int chip_request(const struct i8259_chip *c)
{
	int want = top_rank(c, c->irr & ~c->imr);
	if (want == NO_IRQ)
		return -1;
	u8 busy = c->isr;
	if (c->special_mask)
		busy &= ~c->imr;
	if (c->sfnm && c->master)
		busy &= ~(1u << PIC_CASCADE_IRQ);
	return want < top_rank(c, busy) ? ir_of_rank(c, want) : -1;
}

static void chip_set_line(struct i8259_chip *c, int ir, bool level)
{
	u8 bit = 1u << ir;
	if (level_mask(c) & bit) {
		c->irr = level ? c->irr | bit : c->irr & ~bit;
	} else if (level && !(c->lines & bit)) {
		c->irr |= bit;
	}
	c->lines = level ? c->lines | bit : c->lines & ~bit;
}

/* Level-triggered IRR bits follow their lines (after ELCR or LTIM changes). */
static void chip_sync_levels(struct i8259_chip *c)
{
	u8 lv = level_mask(c);
	c->irr = (c->irr & ~lv) | (c->lines & lv);
}

/* Feeds the slave's INT output to master IR2; call after every slave change. */
static void cascade(struct i8259 *p)
{
	chip_set_line(&p->chip[MASTER], PIC_CASCADE_IRQ, chip_request(&p->chip[SLAVE]) >= 0);
}

static void chip_intack(struct i8259_chip *c, int ir)
{
	u8 bit = 1u << ir;
	if (c->auto_eoi) {
		if (c->rotate_aeoi)
			c->prio_top = (ir + 1) & 7;
	} else {
		c->isr |= bit;
	}
	if (!(level_mask(c) & bit))
		c->irr &= ~bit;
}

/* ICW1: the datasheet's initialization reset. The edge detector keeps the line levels: an input
 * held high must go low and high again to request. */
static void chip_icw1(struct i8259_chip *c, u8 v)
{
	c->ltim = v & ICW1_LTIM;
	c->irr &= level_mask(c);
	chip_sync_levels(c);
	c->isr = c->imr = 0;
	c->prio_top = 0;
	c->read_isr = c->poll = c->special_mask = false;
	c->auto_eoi = c->rotate_aeoi = c->sfnm = false;
	c->single = v & ICW1_SNGL;
	c->icw4 = v & ICW1_IC4;
	c->init_step = 2;
}

static void chip_ocw2(struct i8259_chip *c, u8 v)
{
	int ir, rank;
	switch (v >> 5) {
	case OCW2_ROTATE_AEOI_CLEAR:
	case OCW2_ROTATE_AEOI_SET:
		c->rotate_aeoi = v >> 7;
		break;
	case OCW2_EOI:
	case OCW2_ROTATE_EOI:
		rank = top_rank(c, c->isr);
		if (rank == NO_IRQ)
			break;
		ir = ir_of_rank(c, rank);
		c->isr &= ~(1u << ir);
		if (v >> 5 == OCW2_ROTATE_EOI)
			c->prio_top = (ir + 1) & 7;
		break;
	case OCW2_SPECIFIC_EOI:
	case OCW2_ROTATE_SPECIFIC_EOI:
		c->isr &= ~(1u << (v & 7));
		if (v >> 5 == OCW2_ROTATE_SPECIFIC_EOI)
			c->prio_top = ((v & 7) + 1) & 7;
		break;
	case OCW2_SET_PRIORITY:
		c->prio_top = ((v & 7) + 1) & 7; /* v & 7 becomes the lowest priority */
		break;
	default: /* OCW2_NOP */
		break;
	}
}

static void chip_write_cmd(struct i8259_chip *c, u8 v)
{
	if (v & ICW1_INIT) {
		chip_icw1(c, v);
	} else if (v & OCW3_SEL) {
		if (v & OCW3_POLL)
			c->poll = true;
		if (v & OCW3_RR)
			c->read_isr = v & OCW3_RIS;
		if (v & OCW3_ESMM)
			c->special_mask = v & OCW3_SMM;
	} else {
		chip_ocw2(c, v);
	}
}

static void chip_write_data(struct i8259_chip *c, u8 v)
{
	switch (c->init_step) {
	case 2: /* ICW2 */
		c->base = v & 0xf8;
		c->init_step = !c->single ? 3 : c->icw4 ? 4 : 0;
		break;
	case 3: /* ICW3: cascade wiring is fixed on a PC */
		c->init_step = c->icw4 ? 4 : 0;
		break;
	case 4: /* ICW4 */
		c->auto_eoi = v & ICW4_AEOI;
		c->sfnm = v & ICW4_SFNM;
		c->init_step = 0;
		break;
	default: /* OCW1 */
		c->imr = v;
		break;
	}
}

/* A read after an OCW3 poll command: acknowledge the highest request as INTA would. */
static u8 chip_poll(struct i8259_chip *c)
{
	int ir = chip_request(c);
	c->poll = false;
	if (ir < 0)
		return 0;
	chip_intack(c, ir);
	return 0x80 | ir;
}

static void chip_reset(struct i8259_chip *c, bool master)
{
	*c = (struct i8259_chip){ .master = master };
	c->elcr_mask = master ? PIC_ELCR_MASK_MASTER : PIC_ELCR_MASK_SLAVE;
}

void i8259_reset(struct i8259 *p)
{
	chip_reset(&p->chip[MASTER], true);
	chip_reset(&p->chip[SLAVE], false);
}

void i8259_set_irq(struct i8259 *p, unsigned irq, bool level)
{
	if (irq >= 16 || irq == PIC_CASCADE_IRQ)
		return;
	chip_set_line(&p->chip[irq >> 3], irq & 7, level);
	if (irq >= 8)
		cascade(p);
}

int i8259_pending(const struct i8259 *p)
{
	int ir = chip_request(&p->chip[MASTER]);
	if (ir < 0)
		return -1;
	if (ir != PIC_CASCADE_IRQ)
		return p->chip[MASTER].base + ir;
	int sir = chip_request(&p->chip[SLAVE]);
	return p->chip[SLAVE].base + (sir < 0 ? 7 : sir);
}

int i8259_ack(struct i8259 *p)
{
	struct i8259_chip *m = &p->chip[MASTER], *s = &p->chip[SLAVE];
	int ir = chip_request(m), vector;
	if (ir < 0)
		return m->base + 7; /* spurious IR7: nothing in service */
	if (ir == PIC_CASCADE_IRQ) {
		int sir = chip_request(s);
		if (sir >= 0)
			chip_intack(s, sir);
		vector = s->base + (sir < 0 ? 7 : sir);
	} else {
		vector = m->base + ir;
	}
	chip_intack(m, ir);
	cascade(p);
	return vector;
}

static struct i8259_chip *chip_at(struct i8259 *p, u16 port)
{
	if ((port & ~1) == PIC_MASTER_PORT)
		return &p->chip[MASTER];
	if ((port & ~1) == PIC_SLAVE_PORT)
		return &p->chip[SLAVE];
	return NULL;
}

u8 i8259_read(struct i8259 *p, u16 port)
{
	if ((port & ~1) == PIC_ELCR_PORT)
		return p->chip[port & 1].elcr;
	struct i8259_chip *c = chip_at(p, port);
	if (!c)
		return 0xff;
	u8 v;
	if (c->poll)
		v = chip_poll(c);
	else if (port & 1)
		v = c->imr;
	else
		v = c->read_isr ? c->isr : c->irr;
	cascade(p);
	return v;
}

void i8259_write(struct i8259 *p, u16 port, u8 value)
{
	struct i8259_chip *c;
	if ((port & ~1) == PIC_ELCR_PORT) {
		c = &p->chip[port & 1];
		c->elcr = value & c->elcr_mask;
		chip_sync_levels(c);
	} else if ((c = chip_at(p, port))) {
		if (port & 1)
			chip_write_data(c, value);
		else
			chip_write_cmd(c, value);
	} else {
		return;
	}
	cascade(p);
}

/* ---- glue ---- */

static struct i8259 pic;

/* Word and dword accesses touch consecutive byte ports, as the ISA bus splits them. */
static u32 pic_pio_read(struct pio_device *d, u16 port, int size)
{
	u32 v = 0;
	for (int i = 0; i < size; i++) {
		u16 at = port + i;
		u8 b = at < d->base + d->count ? i8259_read(&pic, at) : 0xff;
		v |= (u32)b << (8 * i);
	}
	return v;
}

static void pic_pio_write(struct pio_device *d, u16 port, int size, u32 value)
{
	for (int i = 0; i < size && port + i < d->base + d->count; i++)
		i8259_write(&pic, port + i, value >> (8 * i));
}

static void pic_pio_reset(struct pio_device *d)
{
	(void)d;
	i8259_reset(&pic); /* once for the pair: the slave and ELCR devices have no reset */
}

static struct pio_device pic_devs[] = {
	{ "pic-master", PIC_MASTER_PORT, 2, pic_pio_read, pic_pio_write, pic_pio_reset, false },
	{ "pic-slave", PIC_SLAVE_PORT, 2, pic_pio_read, pic_pio_write, NULL, false },
	{ "pic-elcr", PIC_ELCR_PORT, 2, pic_pio_read, pic_pio_write, NULL, false },
};

void pic_init(void)
{
	i8259_reset(&pic);
	for (size_t i = 0; i < ARRAY_SIZE(pic_devs); i++)
		pio_register(&pic_devs[i]);
}

void pic_set_irq(unsigned irq, bool level)
{
	i8259_set_irq(&pic, irq, level);
}

int pic_pending_vector(void)
{
	return i8259_pending(&pic);
}

int pic_ack(void)
{
	return i8259_ack(&pic);
}

u8 pic_imr(unsigned chip)
{
	return chip < 2 ? pic.chip[chip].imr : 0xff;
}
