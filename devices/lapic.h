/* lapic.h - the guest's local APIC (one CPU, APIC ID 0): xAPIC MMIO registers, x2APIC MSRs, the
 * timer (one-shot, periodic, TSC-deadline) and interrupt acceptance (Intel SDM Vol. 3A ch. 11).
 *
 * The model is a pure state machine: every entry point that depends on time takes `now`, the
 * guest TSC, and nothing in it reads a clock or touches another device. The only outward calls
 * are the two hooks of struct lapic_config / lapic_attach. The glue at the end of lapic.c
 * (lapic_attach) puts the registers on the MMIO table; the vCPU calls the MSR, timer and
 * interrupt functions itself.
 *
 * Vocabulary: "software-enabled" is SVR bit 8; "hardware-enabled" is IA32_APIC_BASE.EN (bit 11);
 * "xAPIC mode" is EN=1 EXTD=0, "x2APIC mode" EN=1 EXTD=1, "disabled" EN=0 EXTD=0.
 */
#ifndef DEVICES_LAPIC_H
#define DEVICES_LAPIC_H

#include "arch/types.h"
#include "arch/apic.h"

/* ---- Constants the guest can see ---- */

/* Version 0x14 (integrated APIC), max LVT entry 5 (six LVTs: timer, thermal, perf, LINT0,
 * LINT1, error): QEMU's value for the pc machine (TCG and KVM). With max LVT 5 there is no CMCI
 * LVT: offset 0x2f0 / MSR 0x82f are reserved. Bit 24 (EOI-broadcast suppression) is clear. */
#define LAPIC_VERSION 0x00050014u

/*
 * Timer clock. The APIC timer counts at LAPIC_TIMER_HZ(tsc_hz) before the divide configuration:
 * a 1 GHz "bus clock" like QEMU (TCG counts nanoseconds of its virtual clock; KVM's
 * APIC_BUS_CYCLE_NS is 1), or the TSC rate itself when the guest TSC is slower than 1 GHz (the
 * timer is never finer than the clock that times it). So with tsc_hz = 2.5 GHz one timer count at
 * divide-by-1 is 2.5 TSC ticks. The conversions are exact (no drift): expiry k of a timer started
 * at TSC t0 with counts C is t0 + ceil(C * div * tsc_hz / LAPIC_TIMER_HZ). tsc_hz must be at most
 * 18 GHz (the 64-bit intermediate products).
 */
#define LAPIC_BUS_HZ 1000000000ULL
#define LAPIC_TIMER_HZ(tsc_hz) ((tsc_hz) < LAPIC_BUS_HZ ? (tsc_hz) : LAPIC_BUS_HZ)

/* An interrupt message on the APIC bus, as the I/O APIC sends it (8-bit xAPIC-format
 * destination; in x2APIC mode it is compared with the 32-bit ID and LDR, 0xff meaning
 * "everyone"). */
struct apic_msg {
	u8 vector;
	u8 delivery_mode; /* APIC_DM_* */
	bool logical;     /* destination mode */
	bool level;       /* level-triggered (sets TMR: the EOI is broadcast back) */
	u8 dest;
};

enum lapic_mode { LAPIC_MODE_DISABLED, LAPIC_MODE_XAPIC, LAPIC_MODE_X2APIC };

struct lapic_config {
	u64 tsc_hz;     /* guest TSC frequency, <= 18 GHz */
	int maxphyaddr; /* guest MAXPHYADDR: IA32_APIC_BASE bits from it up are reserved; 0 = 36 */
	bool x2apic;    /* CPUID.01H:ECX.x2APIC[21] as the guest sees it: EXTD writable */
	/* Called on the EOI of a vector whose TMR bit is set (a level-triggered interrupt): the
	 * I/O APIC's ioapic_eoi. May be NULL. */
	void (*eoi_broadcast)(u8 vector);
};

/* ---- Life cycle ---- */

/* Takes the configuration and does a power-up reset (lapic_reset). */
void lapic_init(const struct lapic_config *cfg);
/* Power-up/RESET state (SDM 11.4.7.1, 11.12.5.1): IA32_APIC_BASE 0xfee00900 (xAPIC mode, BSP),
 * ID 0, SVR 0xff (software-disabled), every LVT masked (0x10000), DFR all ones, everything
 * else 0, timer stopped, no NMI pending. */
void lapic_reset(void);
/* Applies what SeaBIOS leaves on QEMU's pc machine before any guest runs (src/fw/smp.c):
 * SVR |= software enable (0x1ff), LVT LINT0 = 0x8700 (ExtINT, level), LVT LINT1 = 0x8400 (NMI,
 * level). Guests booted by QEMU -kernel see this state; call it after lapic_reset to match. */
void lapic_bios_init(void);

/* ---- Register access (the vCPU / glue passes the guest TSC as now) ---- */

/* xAPIC window access at offset (0..0xfff). Only 32-bit accesses at 16-byte-aligned offsets
 * reach a register; any other size or alignment reads 0 and drops writes (QEMU reads 0 for
 * sizes below 4 too, but maps an unaligned dword to the register of its 16-byte slot). A
 * reserved offset reads 0 / drops the write and records ESR "illegal register address". When
 * not in xAPIC mode the window is not decoded: reads return all ones, writes are dropped. */
u64 lapic_mmio_read(u64 offset, int size, u64 now);
void lapic_mmio_write(u64 offset, int size, u64 value, u64 now);

/* True for IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range 0x800-0xbff. */
bool lapic_owns_msr(u32 msr);
/* RDMSR/WRMSR of an MSR lapic_owns_msr accepts. False means "inject #GP(0)": x2APIC MSRs
 * outside x2APIC mode, reserved or write-only MSRs on read, read-only ones on write, bits 63:32
 * set (all but the ICR), reserved bits of TPR (31:8), SVR (31:9) and SELF IPI (31:8), non-zero
 * EOI or ESR writes, illegal IA32_APIC_BASE values or
 * transitions (SDM 11.12.1.2, 11.12.5). IA32_TSC_DEADLINE never faults here (the vCPU decides
 * from CPUID): it reads 0 and ignores writes outside TSC-deadline mode. */
bool lapic_rdmsr(u32 msr, u64 *value, u64 now);
bool lapic_wrmsr(u32 msr, u64 value, u64 now);

/* IA32_APIC_BASE as the guest last wrote it (read-only outside lapic.c). */
extern u64 lapic_base;
/* Inline: every CPUID exit asks (vmx/exit_cpuid.c). */
static inline enum lapic_mode lapic_mode(void)
{
	if (!(lapic_base & APIC_BASE_EN))
		return LAPIC_MODE_DISABLED;
	return (lapic_base & APIC_BASE_EXTD) ? LAPIC_MODE_X2APIC : LAPIC_MODE_XAPIC;
}
/* The guest-physical address of the register window (IA32_APIC_BASE bits 12 and up). */
u64 lapic_window_base(void);

/* MOV from/to CR8 in 64-bit mode: CR8[3:0] is TPR[7:4]; a write clears TPR[3:0]. */
u64 lapic_read_cr8(void);
void lapic_write_cr8(u64 value);

/* ---- Timer ---- */

/* Guest TSC of the next timer interrupt, or IRQ_NONE (devices/irq.h): when the timer is
 * stopped, or masked (a masked timer keeps counting but needs no wake-up: its state is
 * brought up to date at the next register access or tick). May be <= the current time: then
 * call lapic_tick. */
u64 lapic_next_deadline(void);
/* Fires the timer if it is due at now: sets the IRR bit of the LVT timer vector unless masked.
 * One-shot stops; periodic carries on from the same time grid (expiry k at t0 + k periods, no
 * drift), and periods that passed without a tick are coalesced into one interrupt (an IRR bit
 * holds one); TSC-deadline disarms and clears IA32_TSC_DEADLINE. */
void lapic_tick(u64 now);

/* ---- Interrupts ---- */

/* A fixed interrupt arrives (I/O APIC, glue): sets IRR, and TMR when level_triggered (its EOI
 * is then broadcast). Returns false when not accepted: APIC hardware- or software-disabled
 * (like KVM), or an illegal vector 0-15 (sets ESR "receive illegal vector"). */
bool lapic_set_irq(int vector, bool level_triggered);
/* An APIC-bus message (the I/O APIC's): true if this APIC is a destination (physical ID, or
 * logical through LDR/DFR, or broadcast) and accepted it. Fixed and lowest-priority go to
 * lapic_set_irq; NMI makes lapic_take_nmi true; SMI, INIT, STARTUP and ExtINT are dropped. */
bool lapic_deliver(const struct apic_msg *m);
/* The vector the CPU would take now: the highest IRR vector whose priority class (bits 7:4)
 * is above PPR's, when hardware- and software-enabled; else -1. */
int lapic_pending_vector(void);
/* Interrupt acknowledge of the vector lapic_pending_vector returned: IRR -> ISR (so PPR rises).
 * A vector not in IRR is ignored. */
void lapic_ack(int vector);
/* Whether the 8259 PIC's INTR reaches the CPU through LINT0 (the vCPU then asks the PIC):
 *   - APIC hardware-disabled (IA32_APIC_BASE.EN = 0): a CPU without APIC, INTR is wired in;
 *   - APIC software-disabled (SVR bit 8 = 0), whatever LVT LINT0 holds: virtual-wire mode
 *     as on QEMU, whose BSP LINT0 is 0x700 at reset and 0x8700 after SeaBIOS;
 *   - otherwise only when LVT LINT0 is unmasked with delivery mode ExtINT.
 * QEMU passes INTR when EN = 0 or LINT0 is unmasked in any delivery mode; it does not force
 * the LVT masks when software-disabled. So the two differ only when a guest unmasks LINT0 in
 * fixed/NMI mode (QEMU delivers the PIC's INTR as that; here nothing) and when a guest
 * enables the APIC without programming LINT0 after lapic_reset without lapic_bios_init. */
bool lapic_extint_enabled(void);
/* True once per NMI sent to this CPU (self-IPI, I/O APIC message): the vCPU injects it. */
bool lapic_take_nmi(void);

/* ---- APIC virtualization (vmx/apicv.c; SDM Vol. 3C ch. 29) ---- */

/* The register page: 4 KiB, page-aligned, every register's 32 bits at its xAPIC offset: the
 * layout of VMX's virtual-APIC page, which it is when APIC virtualization is on. TPR, IRR,
 * ISR, TMR and the ICR are kept only here, so the CPU's virtual TPR writes, interrupt
 * deliveries (VIRR -> VISR) and EOIs change the model's state itself; the other readable
 * registers are copied here after every change. */
u32 *lapic_regs(void);
/* The highest vector in IRR / ISR, or -1: the RVI and SVI of the guest interrupt status. */
int lapic_highest_irr(void);
int lapic_highest_isr(void);
/* TMR bits 32*i .. 32*i+31 (the EOI-exit bitmap: the EOI of a level-triggered vector must
 * reach the I/O APIC). */
u32 lapic_tmr_word(int i);
/* A count that moves whenever TMR may have changed: the EOI-exit bitmap is rebuilt then only. */
u32 lapic_tmr_changes(void);
/* An APIC-write VM exit (trap-like): the guest's 32-bit write at offset is already in the
 * register page; applies it as lapic_mmio_write would (side effects, reserved bits, ESR). */
void lapic_apic_write(u32 offset, u64 now);
/* vector was retired from ISR (by the CPU: an EOI-induced VM exit, or by the model's EOI):
 * broadcasts its EOI to the I/O APIC when TMR says it was level-triggered. */
void lapic_eoi_done(u8 vector);

/* ---- Glue ---- */

/* Registers the xAPIC register window on the MMIO table at the current base and keeps it
 * following IA32_APIC_BASE (mmio_device_move; a refused move is logged and the window stays).
 * clock() gives the guest TSC for MMIO accesses (vtime_now). Call once, after lapic_init. */
void lapic_attach(u64 (*clock)(void));

#endif
