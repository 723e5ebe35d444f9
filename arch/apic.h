/* apic.h - the local APIC's architectural facts (Intel SDM Vol. 3A ch. 11): its MSRs, the
 * IA32_APIC_BASE bits, the register offsets and the LVT/ICR fields. Used by the guest's model
 * (devices/lapic.c) and by the host's own use of its APIC (kernel/cpu.c). */
#ifndef ARCH_APIC_H
#define ARCH_APIC_H

#include "arch/types.h"

#define LAPIC_DEFAULT_BASE 0xfee00000ULL
#define LAPIC_WINDOW_SIZE 0x1000ULL

/* MSRs the local APIC owns (devices/lapic.c lapic_owns_msr). */
#define LAPIC_MSR_APIC_BASE 0x1b
#define LAPIC_MSR_TSC_DEADLINE 0x6e0
#define LAPIC_MSR_X2APIC_FIRST 0x800 /* 0x800 + (MMIO offset >> 4) */
#define LAPIC_MSR_X2APIC_LAST 0xbff  /* the whole range is reserved for x2APIC (#GP if unused) */
#define LAPIC_X2APIC_MSR(off) (LAPIC_MSR_X2APIC_FIRST + ((off) >> 4)) /* off: enum lapic_reg */

/* IA32_APIC_BASE (SDM 11.4.4): bits 0-7 and 9 reserved, address bits 12..MAXPHYADDR-1. */
#define APIC_BASE_BSP BIT(8)   /* bootstrap processor: read-only here */
#define APIC_BASE_EXTD BIT(10) /* x2APIC mode */
#define APIC_BASE_EN BIT(11)   /* hardware enable (global) */
#define APIC_BASE_RESET (LAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP) /* 0xfee00900 */

/* Register offsets in the xAPIC window (SDM Table 11-1); x2APIC MSR = 0x800 + offset / 16. */
enum lapic_reg {
	LAPIC_REG_ID = 0x020,
	LAPIC_REG_VERSION = 0x030,
	LAPIC_REG_TPR = 0x080,
	LAPIC_REG_APR = 0x090,     /* xAPIC only: reads 0 */
	LAPIC_REG_PPR = 0x0a0,
	LAPIC_REG_EOI = 0x0b0,
	LAPIC_REG_LDR = 0x0d0,     /* read-only (computed) in x2APIC mode */
	LAPIC_REG_DFR = 0x0e0,     /* xAPIC only */
	LAPIC_REG_SVR = 0x0f0,
	LAPIC_REG_ISR = 0x100,     /* 8 registers, 0x10 apart: vectors 32*i .. 32*i+31 */
	LAPIC_REG_TMR = 0x180,
	LAPIC_REG_IRR = 0x200,
	LAPIC_REG_ESR = 0x280,
	LAPIC_REG_ICR_LO = 0x300,  /* x2APIC: the 64-bit ICR MSR 0x830 */
	LAPIC_REG_ICR_HI = 0x310,  /* xAPIC only */
	LAPIC_REG_LVT_TIMER = 0x320,
	LAPIC_REG_LVT_THERMAL = 0x330,
	LAPIC_REG_LVT_PERF = 0x340,
	LAPIC_REG_LVT_LINT0 = 0x350,
	LAPIC_REG_LVT_LINT1 = 0x360,
	LAPIC_REG_LVT_ERROR = 0x370,
	LAPIC_REG_TIMER_ICR = 0x380, /* initial count */
	LAPIC_REG_TIMER_CCR = 0x390, /* current count (computed from now) */
	LAPIC_REG_TIMER_DCR = 0x3e0, /* divide configuration */
	LAPIC_REG_SELF_IPI = 0x3f0,  /* x2APIC only (MSR 0x83f), write-only */
};

/* LVT and ICR fields (SDM Figures 11-8 and 11-12). */
#define APIC_VECTOR_MASK 0xffu
#define APIC_DM_SHIFT 8
#define APIC_DM_MASK (7u << APIC_DM_SHIFT)
#define APIC_DM_FIXED 0
#define APIC_DM_LOWEST 1
#define APIC_DM_SMI 2
#define APIC_DM_NMI 4
#define APIC_DM_INIT 5
#define APIC_DM_STARTUP 6
#define APIC_DM_EXTINT 7
#define APIC_DEST_LOGICAL (1u << 11)
#define APIC_DELIVERY_PENDING (1u << 12) /* always reads 0 here: delivery is immediate */
#define APIC_LVT_POLARITY (1u << 13)
#define APIC_LVT_REMOTE_IRR (1u << 14)
#define APIC_ICR_ASSERT (1u << 14)       /* ICR level bit (INIT de-assert only) */
#define APIC_TRIGGER_LEVEL (1u << 15)
#define APIC_LVT_MASKED (1u << 16)
#define APIC_TIMER_MODE_SHIFT 17
#define APIC_TIMER_ONESHOT 0
#define APIC_TIMER_PERIODIC 1
#define APIC_TIMER_TSC_DEADLINE 2
#define APIC_ICR_SHORTHAND_SHIFT 18
#define APIC_SHORTHAND_NONE 0
#define APIC_SHORTHAND_SELF 1
#define APIC_SHORTHAND_ALL 2
#define APIC_SHORTHAND_OTHERS 3
#define APIC_SVR_ENABLE (1u << 8)

/* ESR bits (SDM 11.5.3). */
#define APIC_ESR_SEND_ILLEGAL (1u << 5)
#define APIC_ESR_RECV_ILLEGAL (1u << 6)
#define APIC_ESR_ILLEGAL_REG (1u << 7)

#endif
