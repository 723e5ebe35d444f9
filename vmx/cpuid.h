/* cpuid.h - the CPU model a guest sees through CPUID (pure, host-tested by
 * tests/unit/test_cpuid.c): the host's answer to a leaf, filtered and completed from a model
 * fixed before the guest runs and from the guest's own CR4 and XCR0. vmx/exit_cpuid.c fills the
 * model, runs the host's CPUID and applies cpuid_guest_view; docs/platform.md ("CPU model")
 * lists what is shown, hidden and made up. */
#ifndef VMX_CPUID_H
#define VMX_CPUID_H

#include "arch/types.h"

struct cpuid_regs {
	u32 a, b, c, d;
};

/* XCR0 has 63 feature bits (bit 63 is reserved); components 0 and 1 live in the legacy region. */
#define XSAVE_COMPONENTS 63

/* One extended XSAVE state component (i >= 2) as the host's CPUID.(EAX=0DH,ECX=i) gives it. */
struct xsave_component {
	u32 size;   /* EAX: bytes of the component */
	u32 offset; /* EBX: its offset in the standard (non-compacted) format */
	u32 flags;  /* ECX: bit 0 supervisor (IA32_XSS) state, bit 1 64-byte aligned when compacted */
};

/*
 * What the guest's CPUID is made of besides the host's answers.
 * Invariants (vmx/exit_cpuid.c cpuid_setup fills it once, before the first entry):
 * - tsc_hz is the guest TSC's rate, vtime_hz(), and crystal_hz the clock the emulated local
 *   APIC timer counts, LAPIC_TIMER_HZ(tsc_hz): leaves 0x15 and 0x16 state these two and nothing
 *   else (Linux takes leaf 0x15's crystal as the APIC timer's clock);
 * - rdtscp is true exactly when the VMCS has "enable RDTSCP" set: then RDTSCP, RDPID and
 *   IA32_TSC_AUX work in the guest, otherwise the first two #UD and are hidden here;
 * - xcr0_mask is what XSETBV accepts (vmx/xsave.c xsave_guest_mask, 0 without XSAVE), and xc[i]
 *   holds the host's description of every component i >= 2 in it.
 */
struct cpuid_model {
	u32 host_max_basic; /* CPUID.0:EAX of the host */
	u64 tsc_hz;
	u64 crystal_hz;
	bool rdtscp;
	u64 xcr0_mask;
	struct xsave_component xc[XSAVE_COMPONENTS];
};

/* The guest state some answers mirror: CR4 (OSXSAVE), XCR0 (leaf 0xD's current sizes) and
 * whether IA32_APIC_BASE.EN is clear (leaf 1 then shows no APIC). */
struct cpuid_guest {
	u64 cr4, xcr0;
	bool apic_disabled;
};

/* True when the guest's answer to leaf starts from the host's: false for the hypervisor range
 * (0x40000000-0x400000ff) and for basic leaves the model adds beyond the host's highest. */
bool cpuid_from_host(const struct cpuid_model *m, u32 leaf);

/* Turns r, the host's answer to (leaf, sub) or zeros where cpuid_from_host says so, into the
 * guest's answer. */
void cpuid_guest_view(const struct cpuid_model *m, const struct cpuid_guest *g, u32 leaf, u32 sub,
		      struct cpuid_regs *r);

/* The answers already given (issue 16: a CPUID exit without the model's work). An answer
 * depends on the leaf, the subleaf and struct cpuid_guest, nothing else: the host's CPUID is
 * constant (leaf 0xD's sizes follow XCR0, which is the guest's own, in the key), and the model
 * is fixed at cpuid_setup. Direct-mapped by (leaf, subleaf); a different guest state misses. */
#define CPUID_CACHE_SIZE 64
struct cpuid_cache_entry {
	u32 leaf, sub;
	struct cpuid_guest g;
	struct cpuid_regs r;
	bool valid;
};
struct cpuid_cache {
	struct cpuid_cache_entry e[CPUID_CACHE_SIZE];
	u64 hits, misses;
};
/* Leaves cluster at 0, 0x40000000 and 0x80000000: fold the top bits in, spread subleaves. */
static inline u32 cpuid_cache_index(u32 leaf, u32 sub)
{
	return (leaf + (leaf >> 27) + sub * 5) & (CPUID_CACHE_SIZE - 1);
}
/* True, with the cached answer in *r, when (leaf, sub, *g) was answered before. Inline: every
 * CPUID exit asks. */
static inline bool cpuid_cache_get(struct cpuid_cache *c, const struct cpuid_guest *g, u32 leaf,
				   u32 sub, struct cpuid_regs *r)
{
	const struct cpuid_cache_entry *e = &c->e[cpuid_cache_index(leaf, sub)];
	if (e->valid && e->leaf == leaf && e->sub == sub && e->g.cr4 == g->cr4 &&
	    e->g.xcr0 == g->xcr0 && e->g.apic_disabled == g->apic_disabled) {
		*r = e->r;
		c->hits++;
		return true;
	}
	c->misses++;
	return false;
}
void cpuid_cache_put(struct cpuid_cache *c, const struct cpuid_guest *g, u32 leaf, u32 sub,
		     const struct cpuid_regs *r);

/* Bytes of an XSAVE area holding the components in xcr0 (limited to m->xcr0_mask; x87 and SSE
 * always count: the legacy region and header), in the standard format (XSAVE, leaf 0xD.0 EBX
 * and ECX) or the compacted one (XSAVEC, leaf 0xD.1 EBX). */
u32 cpuid_xsave_size(const struct cpuid_model *m, u64 xcr0, bool compacted);

/* Leaf 0x15's TSC/crystal ratio: num / den = tsc_hz / crystal_hz exactly when that ratio has
 * small enough terms (the numerator times the crystal's kHz must fit 32 bits: Linux's
 * native_calibrate_tsc multiplies them in 32 bits), else the nearest such ratio. drivers/tsc.h
 * tsc_nominal_hz makes the guest's rate one with an exact ratio. */
void cpuid_tsc_ratio(u64 tsc_hz, u64 crystal_hz, u32 *num, u32 *den);

#endif
