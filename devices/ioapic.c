/* ioapic.c - the guest's I/O APIC: indirect registers, 24 redirection entries, edge and level
 * pins with remote IRR (82093AA datasheet; QEMU hw/intc/ioapic.c is the reference guests were
 * written for). Pure: messages leave through the deliver callback. */
#include "devices/ioapic.h"
#include "devices/mmio.h"
#include "kernel/lib.h"

/* Writable entry bits: destination, mask, trigger, polarity, destination mode, delivery mode
 * and vector. Delivery status and remote IRR are read-only, bits 55:17 reserved (read 0). */
#define RTE_WRITABLE (GENMASK(63, 56) | IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | \
		      IOAPIC_RTE_POLARITY_LOW | IOAPIC_RTE_DEST_LOGICAL | GENMASK(10, 0))
#define ID_MASK 0x0f000000u

/*
 * Invariants:
 *   - remote IRR is only ever set on an entry whose trigger bit says level;
 *   - line holds the pins' levels as last driven, bit n for pin n.
 */
static struct ioapic {
	bool (*deliver)(const struct apic_msg *m);
	u8 regsel;
	u32 id; /* ID register: bits 27:24 */
	u64 rte[IOAPIC_PINS];
	u32 line;
} io;

static unsigned rte_dm(u64 e) { return (e >> IOAPIC_RTE_DM_SHIFT) & 7; }

/* Level semantics (remote IRR, resend on EOI) apply to fixed and lowest-priority entries: the
 * 82093AA treats NMI, SMI, INIT and ExtINT as edge whatever the trigger bit says. */
static bool level_entry(u64 e)
{
	unsigned dm = rte_dm(e);
	return (e & IOAPIC_RTE_LEVEL) && (dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST);
}

static bool asserted(u32 pin) { return io.line & (1u << pin); }

/* Sends pin's message unless it is masked or a level one waits for its EOI. */
static void service(u32 pin)
{
	u64 e = io.rte[pin];
	bool level = level_entry(e);
	if ((e & IOAPIC_RTE_MASKED) || (level && (e & IOAPIC_RTE_REMOTE_IRR)))
		return;
	struct apic_msg m = {
		.vector = (u8)(e & IOAPIC_RTE_VECTOR),
		.delivery_mode = (u8)rte_dm(e),
		.logical = e & IOAPIC_RTE_DEST_LOGICAL,
		.level = level,
		.dest = (u8)(e >> IOAPIC_RTE_DEST_SHIFT),
	};
	if (io.deliver && io.deliver(&m) && level)
		io.rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

void ioapic_set_irq(u32 pin, bool level)
{
	if (pin >= IOAPIC_PINS)
		return;
	bool was = asserted(pin);
	if (level)
		io.line |= 1u << pin;
	else
		io.line &= ~(1u << pin);
	if (level && (level_entry(io.rte[pin]) || !was))
		service(pin);
}

void ioapic_eoi(u8 vector)
{
	for (u32 pin = 0; pin < IOAPIC_PINS; pin++) {
		u64 e = io.rte[pin];
		if ((e & IOAPIC_RTE_VECTOR) != vector || !(e & IOAPIC_RTE_REMOTE_IRR))
			continue;
		io.rte[pin] = e & ~IOAPIC_RTE_REMOTE_IRR;
		if (asserted(pin))
			service(pin);
	}
}

/* One half of an entry. Making it edge-triggered clears remote IRR (Linux relies on this to
 * clear a stuck remote IRR; QEMU does the same). A level pin that is asserted is sent as soon
 * as the entry allows it (unmasked, remote IRR clear). */
static void write_rte(u32 pin, bool high, u32 v)
{
	u64 e = io.rte[pin];
	u64 remote_irr = e & IOAPIC_RTE_REMOTE_IRR;
	if (high)
		e = (e & 0xffffffffULL) | (u64)v << 32;
	else
		e = (e & ~0xffffffffULL) | v;
	e = (e & RTE_WRITABLE) | remote_irr;
	if (!(e & IOAPIC_RTE_LEVEL))
		e &= ~IOAPIC_RTE_REMOTE_IRR;
	io.rte[pin] = e;
	if (asserted(pin) && level_entry(e))
		service(pin);
}

static u32 read_reg(u8 index)
{
	switch (index) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return io.id;
	case IOAPIC_REG_VERSION:
		return IOAPIC_VERSION;
	}
	if (index < IOAPIC_REG_REDTBL || index >= IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
		return 0;
	u64 e = io.rte[(index - IOAPIC_REG_REDTBL) / 2];
	return (index & 1) ? (u32)(e >> 32) : (u32)e;
}

static void write_reg(u8 index, u32 v)
{
	if (index == IOAPIC_REG_ID)
		io.id = v & ID_MASK;
	else if (index >= IOAPIC_REG_REDTBL && index < IOAPIC_REG_REDTBL + 2 * IOAPIC_PINS)
		write_rte((index - IOAPIC_REG_REDTBL) / 2, index & 1, v);
	/* version, arbitration and unimplemented indexes: read-only */
}

u64 ioapic_mmio_read(u64 offset, int size)
{
	switch (offset) {
	case IOAPIC_IOREGSEL: return io.regsel;
	case IOAPIC_IOWIN: return size == 4 ? read_reg(io.regsel) : 0;
	default: return 0;
	}
}

void ioapic_mmio_write(u64 offset, int size, u64 value)
{
	switch (offset) {
	case IOAPIC_IOREGSEL:
		io.regsel = (u8)value;
		break;
	case IOAPIC_IOWIN:
		if (size == 4)
			write_reg(io.regsel, (u32)value);
		break;
	case IOAPIC_EOIR:
		if (size == 4)
			ioapic_eoi((u8)value);
		break;
	}
}

void ioapic_reset(void)
{
	io.regsel = 0;
	io.id = 0;
	for (u32 pin = 0; pin < IOAPIC_PINS; pin++)
		io.rte[pin] = IOAPIC_RTE_MASKED;
}

void ioapic_init(bool (*deliver)(const struct apic_msg *m))
{
	memset(&io, 0, sizeof(io));
	io.deliver = deliver;
	ioapic_reset();
}

/* ---- Glue: the register window on the MMIO table ---- */

static struct mmio_device window;

static u64 window_read(struct mmio_device *d, u64 offset, int size)
{
	(void)d;
	return ioapic_mmio_read(offset, size);
}

static void window_write(struct mmio_device *d, u64 offset, int size, u64 value)
{
	(void)d;
	ioapic_mmio_write(offset, size, value);
}

static void window_reset(struct mmio_device *d)
{
	(void)d;
	ioapic_reset();
}

void ioapic_attach(void)
{
	window.name = "ioapic";
	window.base = IOAPIC_DEFAULT_BASE;
	window.size = IOAPIC_WINDOW_SIZE;
	window.read = window_read;
	window.write = window_write;
	window.reset = window_reset;
	mmio_register(&window);
}

bool ioapic_pin_masked(u32 pin)
{
	return pin >= IOAPIC_PINS || (io.rte[pin] & BIT(16));
}
