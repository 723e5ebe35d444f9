/* ioapic.h - the guest's I/O APIC (an 82093AA as QEMU's pc machine has it): 24 pins, registers
 * reached through IOREGSEL/IOWIN at 0xfec00000, each pin redirected as an APIC-bus message to
 * the local APIC.
 *
 * Pure state machine: pins are driven with ioapic_set_irq, messages leave through the deliver
 * callback (the glue passes lapic_deliver), and the local APIC's EOI broadcast comes back in
 * through ioapic_eoi. The ISA IRQ 0 -> pin 2 override is the caller's business (devices/irq.h).
 */
#ifndef DEVICES_IOAPIC_H
#define DEVICES_IOAPIC_H

#include "devices/lapic.h"
#include "arch/types.h"

#define IOAPIC_DEFAULT_BASE 0xfec00000ULL
#define IOAPIC_WINDOW_SIZE 0x1000ULL
#define IOAPIC_PINS 24
/* Version 0x20 (QEMU's default: it has the EOI register), max redirection entry 23. */
#define IOAPIC_VERSION 0x00170020u

/* Offsets in the window. */
#define IOAPIC_IOREGSEL 0x00 /* register index, bits 7:0 */
#define IOAPIC_IOWIN 0x10    /* the selected register, 32-bit accesses only */
#define IOAPIC_EOIR 0x40     /* write a vector: EOI for it, like the local APIC's broadcast */

/* Registers behind IOREGSEL. */
#define IOAPIC_REG_ID 0x00      /* bits 27:24 */
#define IOAPIC_REG_VERSION 0x01
#define IOAPIC_REG_ARB 0x02     /* arbitration ID: reads as the ID, like QEMU */
#define IOAPIC_REG_REDTBL 0x10  /* pin n: low dword at 0x10 + 2n, high dword at 0x11 + 2n */

/* Redirection table entry (82093AA datasheet 3.2.4). */
#define IOAPIC_RTE_VECTOR 0xffULL
#define IOAPIC_RTE_DM_SHIFT 8          /* APIC_DM_*: fixed, lowest, SMI, NMI, INIT, ExtINT */
#define IOAPIC_RTE_DEST_LOGICAL BIT(11)
#define IOAPIC_RTE_DELIVERY_PENDING BIT(12) /* read-only, always 0: delivery is immediate */
#define IOAPIC_RTE_POLARITY_LOW BIT(13)     /* stored, not used: pins carry asserted/not */
#define IOAPIC_RTE_REMOTE_IRR BIT(14)       /* read-only */
#define IOAPIC_RTE_LEVEL BIT(15)
#define IOAPIC_RTE_MASKED BIT(16)
#define IOAPIC_RTE_DEST_SHIFT 56            /* bits 63:56, APIC ID or logical set */

/* Takes the delivery callback (true = a local APIC accepted the message) and resets, with
 * every pin deasserted. */
void ioapic_init(bool (*deliver)(const struct apic_msg *m));
/* Register reset: ID 0, IOREGSEL 0, every entry masked (0x10000) and otherwise 0. Pin levels
 * are inputs and stay as driven. */
void ioapic_reset(void);

/* Window access at offset. IOREGSEL takes any size (the low byte); IOWIN and the EOI register
 * only 32-bit accesses (others read 0 / are dropped, like QEMU); other offsets read 0 and drop
 * writes (QEMU mirrors the registers every 256 bytes). Unimplemented indexes read 0. */
u64 ioapic_mmio_read(u64 offset, int size);
void ioapic_mmio_write(u64 offset, int size, u64 value);

/* Drives pin (asserted or not; the polarity bit is not applied, like QEMU). Edge entries send
 * on a rising edge, and an edge on a masked pin is lost (82093AA, and QEMU). Level entries send
 * while the pin is asserted, unmasked and remote IRR is clear; remote IRR is set when the local
 * APIC accepts. Unmasking an asserted level pin sends. Pins >= 24 are ignored. */
void ioapic_set_irq(u32 pin, bool level);
/* EOI for vector (local APIC broadcast or the EOI register): clears remote IRR of the level
 * entries with that vector, and sends again those whose pin is still asserted and unmasked.
 * (QEMU delays the resend after 10000 back-to-back ones to break interrupt storms: not here.) */
void ioapic_eoi(u8 vector);
/* True when the redirection entry of pin is masked (or the pin does not exist). */
bool ioapic_pin_masked(u32 pin);

/* Glue: registers the window on the MMIO table at 0xfec00000. Call once, after ioapic_init. */
void ioapic_attach(void);

#endif
