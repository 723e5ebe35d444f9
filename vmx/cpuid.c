/* cpuid.c - the guest's CPUID: the host's answers minus what is not virtualized, plus the
 * topology of one CPU, the TSC leaves, the XSAVE sizes of what XSETBV accepts and the
 * hypervisor leaves 0x40000000-0x400000ff (pure; docs/platform.md "CPU model" has every
 * change, docs/vmx.md the bits). */
#include "vmx/cpuid.h"
#include "arch/x86.h"

#define HV_CPUID_MAX 0x40000001u
/* "Slotvisor" in EBX, ECX, EDX, NUL-padded to 12 bytes. */
#define HV_SIG_EBX 0x746f6c53u /* "Slot" */
#define HV_SIG_ECX 0x6f736976u /* "viso" */
#define HV_SIG_EDX 0x00000072u /* "r\0\0\0" */

/* The highest basic leaf the guest sees at least: leaf 0x16 (processor frequencies), so that
 * the TSC leaves are there whatever the host's highest is. */
#define CPUID_TSC_LEAF 0x15u
#define CPUID_FREQ_LEAF 0x16u

/* CPUID.1:ECX */
#define C1_DTES64 BIT(2)
#define C1_MONITOR BIT(3)
#define C1_DSCPL BIT(4)
#define C1_EST BIT(7)
#define C1_TM2 BIT(8)
#define C1_XTPR BIT(14)
#define C1_DCA BIT(18)
#define C1_SMX BIT(6)
#define C1_FMA BIT(12)
#define C1_PDCM BIT(15)
#define C1_PCID BIT(17)
#define C1_X2APIC BIT(21)
#define C1_TSC_DEADLINE BIT(24)
#define C1_OSXSAVE BIT(27)
#define C1_AVX BIT(28)
#define C1_F16C BIT(29)
/* CPUID.7.0:EBX / ECX */
#define C7B_TSC_ADJUST BIT(1)
#define C7B_SGX BIT(2)
#define C7B_HLE BIT(4)
#define C7B_AVX2 BIT(5)
#define C7B_INVPCID BIT(10)
#define C7B_RTM BIT(11)
#define C7B_PQM BIT(12)
#define C7B_MPX BIT(14)
#define C7B_PQE BIT(15)
#define C7B_AVX512 (BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) | BIT(28) | BIT(30) | BIT(31))
#define C7B_PT BIT(25)
#define C7C_UMIP BIT(2)
#define C7C_PKU BIT(3)
#define C7C_OSPKE BIT(4)
#define C7C_WAITPKG BIT(5)
#define C7C_LA57 BIT(16)
#define C7C_RDPID BIT(22)
#define C7C_VEX256 (BIT(9) | BIT(10)) /* VAES, VPCLMULQDQ: their VEX forms need AVX state */
/* AVX-512 instructions in ECX and EDX, and AMX in EDX: state XCR0 cannot enable here */
#define C7C_AVX512 (BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14))
#define C7D_AVX512 (BIT(2) | BIT(3) | BIT(8) | BIT(23))
#define C7D_AMX (BIT(22) | BIT(24) | BIT(25))
/* CPUID.1:EDX */
#define D1_APIC BIT(9)
#define D1_MTRR BIT(12)
#define D1_DS BIT(21)
#define D1_ACPI BIT(22)
#define D1_HTT BIT(28)
#define D1_TM BIT(29)
/* CPUID.6:EAX */
#define C6A_ARAT BIT(2)
/* CPUID.7.0:EDX: speculation-control MSRs this hypervisor does not provide */
#define C7D_SPEC_CTRL (BIT(26) | BIT(27) | BIT(28) | BIT(29) | BIT(31))
/* CPUID.(EAX=0DH,ECX=1):EAX: XSAVEOPT, XSAVEC (compacted format), XGETBV with ECX = 1. Not
 * XSAVES (bit 3: supervisor state, IA32_XSS and a VMX control) nor XFD (bit 4). */
#define CDA1_XSAVEOPT BIT(0)
#define CDA1_XSAVEC BIT(1)
#define CDA1_XGETBV1 BIT(2)
/* CPUID.(EAX=0DH,ECX=i>=2):ECX bit 1: 64-byte aligned in the compacted format */
#define CDCN_ALIGN64 BIT(1)
/* CPUID.80000001:EDX */
#define C81D_RDTSCP BIT(27)

/*
 * The feature bits a guest may see at all, as an allowlist (everything else is hidden, so a
 * host CPU newer than this table shows the guest nothing this hypervisor has not been checked
 * to honour: PCONFIG, CET, UINTR, ... stay hidden on any host). A bit is here when the CPU
 * runs the instruction the same in VMX non-root operation with this hypervisor's controls, or
 * the hypervisor emulates what it needs (MSRs, the local APIC). The per-leaf code below then
 * adds what the model depends on (XSAVE with XCR0, RDPID with "enable RDTSCP") and the bits the
 * emulation provides whatever the host has (x2APIC, TSC-deadline, TSC_ADJUST).
 */
enum { REG_A, REG_B, REG_C, REG_D };
struct cpuid_allow {
	u32 leaf, sub;
	u8 reg;
	u32 mask;
};
static const struct cpuid_allow cpuid_allowed[] = {
	/* SSE3, PCLMULQDQ, SSSE3, FMA, CX16, SSE4.1, SSE4.2, x2APIC, MOVBE, POPCNT, TSC-deadline,
	 * AES, XSAVE, OSXSAVE, AVX, F16C, RDRAND, hypervisor. Not: DTES64, MONITOR, DS-CPL, VMX,
	 * SMX, EST, TM2, CNXT-ID, SDBG, xTPR, PDCM, PCID, DCA. */
	{ 1, 0, REG_C, BIT(0) | BIT(1) | BIT(9) | BIT(12) | BIT(13) | BIT(19) | BIT(20) | BIT(21) |
		       BIT(22) | BIT(23) | BIT(24) | BIT(25) | BIT(26) | BIT(27) | BIT(28) | BIT(29) |
		       BIT(30) | BIT(31) },
	/* FPU, VME, DE, PSE, TSC, MSR, PAE, MCE, CX8, APIC, SEP, PGE, MCA (no banks), CMOV, PAT,
	 * PSE-36, CLFSH, MMX, FXSR, SSE, SSE2, SS. Not: MTRR, PSN, DS, ACPI, HTT, TM, PBE. */
	{ 1, 0, REG_D, GENMASK(9, 0) | BIT(11) | GENMASK(17, 13) | BIT(19) | GENMASK(27, 23) },
	/* FSGSBASE, TSC_ADJUST, BMI1, AVX2, FDP_EXCPTN_ONLY, SMEP, BMI2, ERMS, FPU CS/DS
	 * deprecated, RDSEED, ADX, SMAP, CLFLUSHOPT, CLWB, SHA. Not: SGX, HLE, INVPCID, RTM, the
	 * resource monitors, MPX, AVX-512, PT. */
	{ 7, 0, REG_B, BIT(0) | BIT(1) | BIT(3) | GENMASK(9, 5) | BIT(13) | GENMASK(20, 18) |
		       BIT(23) | BIT(24) | BIT(29) },
	/* PREFETCHWT1, GFNI, VAES, VPCLMULQDQ, RDPID, CLDEMOTE, MOVDIRI, MOVDIR64B. Not: AVX-512,
	 * UMIP, PKU, OSPKE, WAITPKG, CET shadow stacks, TME, LA57, MAWAU, Key Locker, bus-lock
	 * detection, ENQCMD, SGX launch control, PKS. */
	{ 7, 0, REG_C, BIT(0) | BIT(8) | BIT(9) | BIT(10) | BIT(22) | BIT(25) | BIT(27) | BIT(28) },
	/* FSRM, MD_CLEAR, SERIALIZE. Not: AVX-512, UINTR, hybrid, TSXLDTRK, PCONFIG, arch LBRs,
	 * CET IBT, AMX, the speculation-control and core-capabilities MSRs. */
	{ 7, 0, REG_D, BIT(4) | BIT(10) | BIT(14) },
	/* LAHF/SAHF in 64-bit mode, LZCNT, SSE4A, PREFETCHW. Not: SVM and the rest. */
	{ 0x80000001, 0, REG_C, BIT(0) | BIT(5) | BIT(6) | BIT(8) },
	/* SYSCALL, NX, 1 GiB pages, RDTSCP, long mode. */
	{ 0x80000001, 0, REG_D, BIT(11) | BIT(20) | BIT(26) | BIT(27) | BIT(29) },
};

static void apply_allowlist(u32 leaf, u32 sub, struct cpuid_regs *r)
{
	for (u32 i = 0; i < ARRAY_SIZE(cpuid_allowed); i++) {
		const struct cpuid_allow *a = &cpuid_allowed[i];
		if (a->leaf != leaf || a->sub != sub)
			continue;
		u32 *reg = a->reg == REG_A ? &r->a : a->reg == REG_B ? &r->b : a->reg == REG_C ? &r->c : &r->d;
		*reg &= a->mask;
	}
}

bool cpuid_from_host(const struct cpuid_model *m, u32 leaf)
{
	if ((leaf & 0xffffff00u) == CPUID_HV_BASE)
		return false;
	/* Above the host's highest basic leaf an Intel CPU answers with that leaf's data. */
	return !(leaf > m->host_max_basic && leaf <= CPUID_FREQ_LEAF);
}

static u32 align64(u32 x)
{
	return (x + 63u) & ~63u;
}

u32 cpuid_xsave_size(const struct cpuid_model *m, u64 xcr0, bool compacted)
{
	u32 size = XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE;
	xcr0 &= m->xcr0_mask;
	for (u32 i = 2; i < XSAVE_COMPONENTS; i++) {
		const struct xsave_component *c = &m->xc[i];
		if (!(xcr0 & BIT(i)))
			continue;
		if (compacted) /* packed in bit order after the header (SDM Vol. 1, 13.4.3) */
			size = ((c->flags & CDCN_ALIGN64) ? align64(size) : size) + c->size;
		else if (c->offset + c->size > size)
			size = c->offset + c->size;
	}
	return size;
}

static u64 gcd(u64 a, u64 b)
{
	while (b) {
		u64 t = a % b;
		a = b;
		b = t;
	}
	return a;
}

void cpuid_tsc_ratio(u64 tsc_hz, u64 crystal_hz, u32 *num, u32 *den)
{
	u64 khz = crystal_hz / 1000 ? crystal_hz / 1000 : 1;
	u64 max_num = 0xffffffffULL / khz; /* Linux: crystal kHz * numerator in 32 bits */
	*num = *den = 0;
	if (!tsc_hz || !crystal_hz)
		return;
	u64 g = gcd(tsc_hz, crystal_hz), n = tsc_hz / g, d = crystal_hz / g;
	if (n > max_num || d > 0xffffffffULL) {
		/* The largest denominator whose numerator still fits, and the nearest numerator. No
		 * overflow: tsc_hz * d <= max_num * crystal_hz < 2^32 * 1000. */
		d = max_num * crystal_hz / tsc_hz;
		d = d ? d : 1;
		n = (tsc_hz * d + crystal_hz / 2) / crystal_hz;
		n = n > max_num ? max_num : n;
	}
	*num = (u32)n;
	*den = (u32)d;
}

/* Leaf 0x15 (TSC and core crystal clock) and 0x16 (processor frequencies, MHz): the guest TSC
 * is tsc_hz = ECX * EBX / EAX, and the crystal, ECX, is the clock the local APIC timer counts
 * (SDM Vol. 3A, 10.5.4: the timer runs at the crystal's rate when leaf 0x15 enumerates it).
 * Linux takes both (tsc_khz, lapic_timer_period) and skips its own calibrations. Leaf 0x16:
 * base and maximum frequency = the TSC's (an invariant TSC runs at the base frequency), bus
 * (reference) frequency = the crystal. */
static void tsc_leaves(const struct cpuid_model *m, u32 leaf, struct cpuid_regs *r)
{
	if (leaf == CPUID_TSC_LEAF) {
		u32 num, den;
		cpuid_tsc_ratio(m->tsc_hz, m->crystal_hz, &num, &den);
		*r = (struct cpuid_regs){ den, num, num ? (u32)m->crystal_hz : 0, 0 };
	} else {
		u32 mhz = (u32)((m->tsc_hz + 500000) / 1000000) & 0xffffu;
		u32 bus = (u32)((m->crystal_hz + 500000) / 1000000) & 0xffffu;
		*r = (struct cpuid_regs){ mhz, mhz, bus, 0 };
	}
}

/* Leaf 0xD as a CPU whose XCR0 can hold exactly m->xcr0_mask would answer: subleaf 0 the
 * valid bits and the standard-format sizes (EBX for the guest's current XCR0, ECX for all of
 * them), subleaf 1 the instructions and the compacted size for the current XCR0 (IA32_XSS is
 * not offered, so it is 0), subleaf i >= 2 the host's size and offset of each offered
 * component; everything else zero. */
static void xsave_leaf(const struct cpuid_model *m, u64 xcr0, u32 sub, struct cpuid_regs *r)
{
	u64 mask = m->xcr0_mask;
	xcr0 |= XCR0_X87; /* always set (its reset value is 1) */
	if (!mask) {
		*r = (struct cpuid_regs){ 0, 0, 0, 0 };
	} else if (sub == 0) {
		*r = (struct cpuid_regs){ (u32)mask, cpuid_xsave_size(m, xcr0, false),
					  cpuid_xsave_size(m, mask, false), (u32)(mask >> 32) };
	} else if (sub == 1) {
		r->a &= (u32)(CDA1_XSAVEOPT | CDA1_XSAVEC | CDA1_XGETBV1);
		r->b = (r->a & CDA1_XSAVEC) ? cpuid_xsave_size(m, xcr0, true) : 0;
		r->c = r->d = 0;
	} else if (sub < XSAVE_COMPONENTS && (mask & BIT(sub))) {
		const struct xsave_component *c = &m->xc[sub];
		*r = (struct cpuid_regs){ c->size, c->offset, c->flags & CDCN_ALIGN64, 0 };
	} else {
		*r = (struct cpuid_regs){ 0, 0, 0, 0 };
	}
}

/* Leaf 1. Hidden: VMX, SMX, MONITOR/MWAIT, PCID, and the features whose MSRs this hypervisor
 * does not provide (PDCM, debug store, SpeedStep, thermal monitors, xTPR, DCA, MTRR, ACPI). */
static void leaf1(const struct cpuid_model *m, const struct cpuid_guest *g, struct cpuid_regs *r)
{
	r->c &= ~(u32)(C1_MONITOR | CPUID_1_ECX_VMX | C1_SMX | C1_PDCM | C1_PCID | C1_OSXSAVE |
		       C1_DTES64 | C1_DSCPL | C1_EST | C1_TM2 | C1_XTPR | C1_DCA);
	r->d &= ~(u32)(D1_DS | D1_ACPI | D1_TM | D1_MTRR);
	/* XSAVE as the host has it when the guest can use it; AVX and what needs its state (FMA,
	 * F16C) only when XCR0 can enable AVX; OSXSAVE mirrors the guest's CR4. */
	if (!m->xcr0_mask)
		r->c &= ~(u32)CPUID_1_ECX_XSAVE;
	if (!(m->xcr0_mask & XCR0_AVX))
		r->c &= ~(u32)(C1_AVX | C1_FMA | C1_F16C);
	if ((g->cr4 & CR4_OSXSAVE) && m->xcr0_mask)
		r->c |= (u32)C1_OSXSAVE;
	/* The emulated local APIC (devices/lapic.c): xAPIC, x2APIC and TSC-deadline. */
	r->c |= (u32)(CPUID_1_ECX_HYPERVISOR | C1_X2APIC | C1_TSC_DEADLINE);
	/* ... present while IA32_APIC_BASE.EN is set: clearing it makes the CPU report no APIC
	 * (SDM 11.4.3; bare Bochs too, which leaves the x2APIC bit as it is). */
	if (g->apic_disabled)
		r->d &= ~(u32)D1_APIC;
	else
		r->d |= (u32)D1_APIC;
	/* One logical processor: initial APIC ID 0, one per package, no HTT. */
	r->b = (r->b & 0x0000ffffu) | (1u << 16);
	r->d &= ~(u32)D1_HTT;
}

/* Leaf 7: subleaf 0 with TSC_ADJUST (vmx/exit_msr.c emulates it; with it and a constant,
 * non-stop TSC, Linux runs its TSC clocksource without the watchdog), without SGX, TSX,
 * INVPCID, the resource monitors, MPX, AVX-512 and AMX (XCR0 cannot enable their state), PT,
 * UMIP, PKU, WAITPKG, LA57 and the speculation-control MSRs; AVX2 with AVX only; RDPID with
 * "enable RDTSCP" only (it #UDs in VMX non-root operation without it). Other subleaves zero. */
static void leaf7(const struct cpuid_model *m, u32 sub, struct cpuid_regs *r)
{
	if (sub != 0) {
		*r = (struct cpuid_regs){ 0, 0, 0, 0 };
		return;
	}
	r->b |= (u32)C7B_TSC_ADJUST;
	r->b &= ~(u32)(C7B_SGX | C7B_HLE | C7B_INVPCID | C7B_RTM | C7B_PQM |
		       C7B_MPX | C7B_PQE | C7B_AVX512 | C7B_PT);
	if (!(m->xcr0_mask & XCR0_AVX))
		r->b &= ~(u32)C7B_AVX2, r->c &= ~(u32)C7C_VEX256;
	r->c &= ~(u32)(C7C_UMIP | C7C_PKU | C7C_OSPKE | C7C_WAITPKG | C7C_LA57 | C7C_AVX512);
	if (!m->rdtscp)
		r->c &= ~(u32)C7C_RDPID;
	r->d &= ~(u32)(C7D_SPEC_CTRL | C7D_AVX512 | C7D_AMX);
}

void cpuid_guest_view(const struct cpuid_model *m, const struct cpuid_guest *g, u32 leaf, u32 sub,
		      struct cpuid_regs *r)
{
	apply_allowlist(leaf, sub, r);
	switch (leaf) {
	case 0:
		r->a = r->a > CPUID_FREQ_LEAF ? r->a : CPUID_FREQ_LEAF;
		break;
	case 1:
		leaf1(m, g, r);
		break;
	case 4: /* cache parameters stay; one core and one thread share each cache */
		r->a &= 0x00003fffu;
		break;
	case 6: /* thermal and power: only "APIC timer always running" (the emulated one is) */
		*r = (struct cpuid_regs){ C6A_ARAT, 0, 0, 0 };
		break;
	case 7:
		leaf7(m, sub, r);
		break;
	case 0xb: case 0x1f: /* x2APIC topology: one thread, one core, x2APIC ID 0 */
		if (sub <= 1)
			*r = (struct cpuid_regs){ 0, 1, (sub + 1) << 8 | sub, 0 };
		else
			*r = (struct cpuid_regs){ 0, 0, sub, 0 };
		break;
	case 0xd:
		xsave_leaf(m, g->xcr0, sub, r);
		break;
	case 5: case 0xa: case 0x12: case 0x14: /* MONITOR, PMU, SGX, processor trace */
		*r = (struct cpuid_regs){ 0, 0, 0, 0 };
		break;
	case CPUID_TSC_LEAF: case CPUID_FREQ_LEAF:
		tsc_leaves(m, leaf, r);
		break;
	case 0x80000001:
		if (!m->rdtscp) /* RDTSCP #UDs in VMX non-root operation without the control */
			r->d &= ~(u32)C81D_RDTSCP;
		break;
	case 0x80000008: /* address sizes stay; one core */
		r->c &= ~0xf0ffu;
		break;
	case CPUID_HV_BASE:
		*r = (struct cpuid_regs){ HV_CPUID_MAX, HV_SIG_EBX, HV_SIG_ECX, HV_SIG_EDX };
		break;
	default:
		/* The rest of the hypervisor range (0x40000001: features, none) is zero: those
		 * leaves never start from the host's answer (cpuid_from_host). */
		break;
	}
}

void cpuid_cache_put(struct cpuid_cache *c, const struct cpuid_guest *g, u32 leaf, u32 sub,
		     const struct cpuid_regs *r)
{
	c->e[cpuid_cache_index(leaf, sub)] = (struct cpuid_cache_entry){ leaf, sub, *g, *r, true };
}
