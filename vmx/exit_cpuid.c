/* exit_cpuid.c - CPUID: the host's answers, minus what is not virtualized, plus the
 * hypervisor leaves 0x40000000-0x400000ff (docs/vmx.md lists every change). */
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "arch/asm.h"
#include "vmx/xsave.h"

#define HV_CPUID_BASE 0x40000000u
#define HV_CPUID_MAX 0x40000001u
/* "Slotvisor" in EBX, ECX, EDX, NUL-padded to 12 bytes. */
#define HV_SIG_EBX 0x746f6c53u /* "Slot" */
#define HV_SIG_ECX 0x6f736976u /* "viso" */
#define HV_SIG_EDX 0x00000072u /* "r\0\0\0" */

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
#define C1_HYPERVISOR BIT(31)
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
/* CPUID.80000001:EDX */
#define C81D_RDTSCP BIT(27)

struct cpuid_regs {
	u32 a, b, c, d;
};

/* Removes what the hypervisor does not virtualize (yet): VMX, SMX, MONITOR/MWAIT, XSAVE and
 * everything that needs it (AVX...), PCID/INVPCID, x2APIC and TSC-deadline, PMU, TSX, SGX. */
static void filter(u32 leaf, u32 sub, struct cpuid_regs *r)
{
	switch (leaf) {
	case 1:
		/* Also hidden: features whose MSRs this hypervisor does not provide (debug store,
		 * SpeedStep, thermal monitors, xTPR, DCA), so a guest never touches them. */
		r->c &= ~(u32)(C1_MONITOR | CPUID_1_ECX_VMX | C1_SMX | C1_PDCM | C1_PCID |
			       C1_OSXSAVE | C1_DTES64 | C1_DSCPL | C1_EST | C1_TM2 | C1_XTPR | C1_DCA);
		r->d &= ~(u32)(D1_DS | D1_ACPI | D1_TM);
		/* XSAVE and what needs it (AVX, FMA, F16C) stay as the host has them; OSXSAVE
		 * mirrors the guest's CR4 (vmx/exit_xsave.c handles XSETBV). */
		if (vcpu0.cr4 & CR4_OSXSAVE)
			r->c |= (u32)C1_OSXSAVE;
		/* The emulated local APIC (devices/lapic.c): xAPIC, x2APIC and TSC-deadline. */
		r->c |= (u32)(C1_HYPERVISOR | C1_X2APIC | C1_TSC_DEADLINE);
		r->d |= (u32)D1_APIC;
		r->d &= ~(u32)D1_MTRR; /* no MTRR MSRs (yet) */
		/* One logical processor: initial APIC ID 0, one per package, no HTT. */
		r->b = (r->b & 0x0000ffffu) | (1u << 16);
		r->d &= ~(u32)D1_HTT;
		break;
	case 4: /* cache parameters stay; one core and one thread share each cache */
		r->a &= 0x00003fffu;
		break;
	case 6: /* thermal and power: only "APIC timer always running" (the emulated one is) */
		*r = (struct cpuid_regs){ C6A_ARAT, 0, 0, 0 };
		break;
	case 0xb: case 0x1f: /* x2APIC topology: one thread, one core, x2APIC ID 0 */
		if (sub <= 1)
			*r = (struct cpuid_regs){ 0, 1, (sub + 1) << 8 | sub, 0 };
		else
			*r = (struct cpuid_regs){ 0, 0, sub, 0 };
		break;
	case 0x80000008: /* address sizes stay; one core */
		r->c &= ~0xf0ffu;
		break;
	case 0xd:
		xsave_filter_cpuid(sub, &r->a, &r->b, &r->c, &r->d);
		break;
	case 5: case 0xa: case 0x12: case 0x14: /* MONITOR, PMU, SGX, processor trace */
		*r = (struct cpuid_regs){ 0, 0, 0, 0 };
		break;
	case 7:
		if (sub == 0) {
			r->b &= ~(u32)(C7B_TSC_ADJUST | C7B_SGX | C7B_HLE | C7B_INVPCID | C7B_RTM | C7B_PQM |
				       C7B_MPX | C7B_PQE | C7B_AVX512 | C7B_PT);
			r->c &= ~(u32)(C7C_UMIP | C7C_PKU | C7C_OSPKE | C7C_WAITPKG | C7C_LA57);
			r->d &= ~(u32)C7D_SPEC_CTRL;
		} else {
			*r = (struct cpuid_regs){ 0, 0, 0, 0 };
		}
		break;
	case 0x80000001:
		r->d &= ~(u32)C81D_RDTSCP;
		break;
	default:
		break;
	}
}

void handle_cpuid(struct vcpu *v)
{
	u32 leaf = (u32)v->regs.gpr[GPR_RAX], sub = (u32)v->regs.gpr[GPR_RCX];
	struct cpuid_regs r = { 0, 0, 0, 0 };
	if (leaf == HV_CPUID_BASE)
		r = (struct cpuid_regs){ HV_CPUID_MAX, HV_SIG_EBX, HV_SIG_ECX, HV_SIG_EDX };
	else if ((leaf & 0xffffff00u) != HV_CPUID_BASE) {
		cpuid(leaf, sub, &r.a, &r.b, &r.c, &r.d);
		filter(leaf, sub, &r);
	}
	/* 0x40000001 (features) and the rest of the range: all zero. */
	v->regs.gpr[GPR_RAX] = r.a;
	v->regs.gpr[GPR_RBX] = r.b;
	v->regs.gpr[GPR_RCX] = r.c;
	v->regs.gpr[GPR_RDX] = r.d;
	vcpu_skip_instruction();
}
