/* intc.c - the platform's interrupt wiring and its devices (docs/devices.md):
 *   ISA IRQ lines -> the 8259 pair (IRQ n) and the I/O APIC (pin n; the PIT's IRQ 0 on pin 2,
 *   QEMU's interrupt-source override);
 *   the I/O APIC -> the local APIC (messages); the local APIC's EOI of a level-triggered
 *   vector -> the I/O APIC;
 *   the 8259's INTR -> the local APIC's LINT0 when it is in ExtINT / virtual-wire mode;
 *   timers (PIT, RTC, local APIC; the 16550's timed events) polled by the vCPU before each
 *   entry and during HLT. */
#include "devices/intc.h"
#include "devices/acpi.h"
#include "devices/acpi_pm.h"
#include "devices/fwcfg.h"
#include "devices/ioapic.h"
#include "devices/irq.h"
#include "devices/lapic.h"
#include "devices/pci.h"
#include "devices/pic.h"
#include "devices/pit.h"
#include "devices/pio.h"
#include "devices/rtc.h"
#include "drivers/cmos.h"
#include "arch/x86.h"

static bool last_from_pic; /* where the vector intc_pending() returned comes from */

static u32 ioapic_pin_of(u32 gsi)
{
	return gsi == 0 ? 2 : gsi;
}

bool intc_dirty = true;

void irq_set_line(u32 gsi, bool level)
{
	intc_changed();
	if (gsi < 16)
		pic_set_irq(gsi, level);
	ioapic_set_irq(ioapic_pin_of(gsi), level);
}

void intc_tick(u64 now)
{
	intc_changed();
	pit_tick(now);
	rtc_tick(now);
	lapic_tick(now);
	vuart_tick(now);
}

static u64 earliest(u64 a, u64 b)
{
	return a < b ? a : b;
}

/* True when an edge on ISA line gsi could reach the CPU now: through the 8259s (with the
 * local APIC passing ExtINT) or through an unmasked I/O APIC entry. Read through the same
 * register interfaces the guest uses, restoring IOREGSEL. */
static bool isa_line_deliverable(u32 gsi)
{
	u8 imr_m = pic_imr(0), imr_s = pic_imr(1);
	bool via_pic = gsi < 8 ? !(imr_m & BIT(gsi))
			       : !(imr_m & BIT(2)) && !(imr_s & BIT(gsi - 8));
	if (via_pic && lapic_extint_enabled())
		return true;
	return !ioapic_pin_masked(ioapic_pin_of(gsi));
}

/* Only timers whose interrupt can be delivered count: a guest halted with every timer line
 * masked can never wake, and the vCPU then ends the run instead of waiting forever. */
u64 intc_next_deadline(void)
{
	u64 pit = isa_line_deliverable(0) ? pit_next_deadline() : IRQ_NONE;
	u64 rtc = isa_line_deliverable(8) ? rtc_next_deadline() : IRQ_NONE;
	u64 uart = vuart_next_deadline(isa_line_deliverable(4)); /* COM1: its flush counts always */
	return earliest(earliest(pit, rtc), earliest(lapic_next_deadline(), uart));
}

int intc_pending(void)
{
	int v = lapic_pending_vector();
	last_from_pic = false;
	if (v >= 0)
		return v;
	if (!lapic_extint_enabled())
		return -1;
	v = pic_pending_vector();
	last_from_pic = v >= 0;
	return v;
}

int intc_pending_extint(void)
{
	int v = lapic_extint_enabled() ? pic_pending_vector() : -1;
	last_from_pic = v >= 0;
	return v;
}

void intc_ack(int vector)
{
	intc_changed();
	if (last_from_pic)
		pic_ack();
	else
		lapic_ack(vector);
}

/*
 * The state QEMU's firmware (SeaBIOS) leaves, which guests booted with -kernel see: the 8259s
 * initialized with vector bases 0x08 and 0x70 and every line masked but the cascade; the
 * local APIC software-enabled with LINT0 in ExtINT mode (virtual wire) and LINT1 as NMI.
 */
static void bios_init_pic(void)
{
	static const u8 seq[][2] = {
		{ 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 }, { 0x21, 0x01 },
		{ 0xa0, 0x11 }, { 0xa1, 0x70 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
		{ 0x21, 0xfb }, { 0xa1, 0xff },
	};
	for (u32 i = 0; i < ARRAY_SIZE(seq); i++)
		pio_write(seq[i][0], 1, seq[i][1]);
}

void intc_init(u64 ram_size)
{
	struct lapic_config lc = { .tsc_hz = vtime_hz(), .maxphyaddr = 36, .x2apic = true,
				   .eoi_broadcast = ioapic_eoi };
	pic_init();
	pit_init();
	rtc_init(cmos_read_epoch(), MIN(ram_size, 3 * GiB), 0);
	pci_init(true);
	fwcfg_init(ram_size);
	ioapic_init(lapic_deliver);
	ioapic_attach();
	lapic_init(&lc);
	lapic_reset();
	lapic_bios_init();
	lapic_attach(vtime_now);
	bios_init_pic();
	acpi_pm_init();
}

/* The facts are read back from the models as the guest would see them (the IDs through their
 * registers) and from this file's wiring (IRQ 0 on pin 2), so the tables follow the devices. */
void intc_acpi_platform(struct acpi_platform *p)
{
	ioapic_mmio_write(IOAPIC_IOREGSEL, 4, IOAPIC_REG_ID);
	u32 ioapic_id = (u32)ioapic_mmio_read(IOAPIC_IOWIN, 4) >> 24;
	ioapic_mmio_write(IOAPIC_IOREGSEL, 4, 0); /* the reset value: as the firmware left it */
	*p = (struct acpi_platform){
		.lapic_base = (u32)lapic_window_base(),
		.lapic_id = (u8)(lapic_mmio_read(LAPIC_REG_ID, 4, vtime_now()) >> 24),
		.ioapic_base = (u32)IOAPIC_DEFAULT_BASE, .ioapic_id = (u8)ioapic_id,
		.ioapic_gsi_base = 0,
		.irq0_gsi = (u8)ioapic_pin_of(0),
		.sci_irq = ACPI_SCI_IRQ, .sci_gsi = (u8)ioapic_pin_of(ACPI_SCI_IRQ),
		.pm1a_evt = ACPI_PM1A_EVT, .pm1a_cnt = ACPI_PM1A_CNT, .pm_tmr = ACPI_PM_TMR,
		.reset_port = RESET_CONTROL_PORT, .reset_value = RESET_CONTROL_VALUE,
		.s5_slp_typ = ACPI_S5_SLP_TYP,
		.rtc_century = RTC_REG_CENTURY,
	};
}
