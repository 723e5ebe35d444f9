/* exit_msr.c - RDMSR/WRMSR: the MSRs a guest of this hypervisor has; any other one gets #GP
 * and the console says which. */
#include "vmx/exit.h"
#include "vmx/apicv.h"
#include "vmx/vmx.h"
#include "kernel/log.h"
#include "devices/irq.h"
#include "devices/lapic.h"
#include "drivers/tsc.h"
#include "arch/asm.h"

/* IA32_DEBUGCTL bits a guest may set: LBR and BTF (what KVM allows without a PMU). The value
 * lives in the VMCS: the CPU loads it on entry and saves it on exit (debug controls). */
#define DEBUGCTL_ALLOWED (DEBUGCTL_LBR | DEBUGCTL_BTF)

static bool canonical(u64 a)
{
	return (u64)((s64)(a << 16) >> 16) == a;
}

static bool pat_ok(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 t = (u8)(pat >> (i * 8));
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}

/* Returns false for an MSR the guest does not have. */
static bool msr_read(struct vcpu *v, u32 msr, u64 *val)
{
	switch (msr) {
	case MSR_IA32_EFER: *val = v->efer; return true;
	case MSR_IA32_SYSENTER_CS: *val = vmcs_read(GUEST_SYSENTER_CS); return true;
	case MSR_IA32_SYSENTER_ESP: *val = vmcs_read(GUEST_SYSENTER_ESP); return true;
	case MSR_IA32_SYSENTER_EIP: *val = vmcs_read(GUEST_SYSENTER_EIP); return true;
	case MSR_FS_BASE: *val = vmcs_read(GUEST_FS_BASE); return true;
	case MSR_GS_BASE: *val = vmcs_read(GUEST_GS_BASE); return true;
	/* The SYSCALL/SWAPGS MSRs are the CPU's own: the host never uses them, so they hold the
	 * guest's values all the time (nothing to switch on exits). */
	case MSR_KERNEL_GS_BASE: case MSR_STAR: case MSR_LSTAR: case MSR_CSTAR: case MSR_FMASK:
		*val = rdmsr(msr);
		return true;
	/* IA32_TSC_AUX is the guest's in the CPU too: the host never runs RDTSCP or RDPID, and
	 * the guest's RDTSCP and RDPID read the CPU's MSR without an exit, so keeping the value
	 * there is what lets them run natively (no switching: the one vCPU owns this CPU's
	 * copy). It exists only with "enable RDTSCP"; without it the guest gets #GP, as on a CPU
	 * without RDTSCP. */
	case MSR_TSC_AUX:
		if (!v->rdtscp)
			return false;
		*val = rdmsr(msr);
		return true;
	case MSR_IA32_PAT: *val = v->pat; return true;
	case MSR_DEBUGCTL: *val = vmcs_read(GUEST_IA32_DEBUGCTL); return true;
	case MSR_TSC: *val = rdtsc() + v->tsc_offset; return true;
	case MSR_TSC_ADJUST: *val = v->tsc_adjust; return true;
	case MSR_IA32_FEATURE_CONTROL: *val = FEATURE_CONTROL_LOCKED; return true; /* VMX off */
	case MSR_MISC_ENABLE: *val = v->misc_enable; return true;
	case MSR_PLATFORM_ID: case MSR_BIOS_SIGN_ID: case MSR_MTRRCAP:
	case MSR_MCG_CAP: case MSR_MCG_STATUS:
		*val = 0;
		return true;
	default:
		return false;
	}
}

/* The guest's TSC moves by delta (a write to IA32_TSC or IA32_TSC_ADJUST), and so does
 * IA32_TSC_ADJUST, which holds the sum of those moves. */
static void move_tsc(struct vcpu *v, u64 delta)
{
	v->tsc_offset += delta;
	v->tsc_adjust += delta;
	vmcs_write(TSC_OFFSET, v->tsc_offset);
	vtime_set_offset(v->tsc_offset); /* the device clocks move with it */
}

/* Returns false when the write must #GP (unknown MSR or a value the MSR refuses). */
static bool msr_write(struct vcpu *v, u32 msr, u64 val)
{
	u64 efer_ok = EFER_SCE | EFER_LME | EFER_LMA | (cpu_has_nx() ? EFER_NXE : 0);
	switch (msr) {
	case MSR_IA32_EFER:
		if ((val & ~efer_ok) || (((val ^ v->efer) & EFER_LME) && (v->cr0 & CR0_PG)))
			return false;
		v->efer = (val & ~EFER_LMA) | (v->efer & EFER_LMA); /* LMA is read-only */
		vcpu_update_paging(v, false); /* NXE changes permissions; LME alone nothing yet */
		return true;
	case MSR_IA32_SYSENTER_CS: vmcs_write(GUEST_SYSENTER_CS, val & 0xffffffff); return true;
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
		if (!canonical(val))
			return false;
		if (msr == MSR_IA32_SYSENTER_ESP) vmcs_write(GUEST_SYSENTER_ESP, val);
		else if (msr == MSR_IA32_SYSENTER_EIP) vmcs_write(GUEST_SYSENTER_EIP, val);
		else if (msr == MSR_FS_BASE) vmcs_write(GUEST_FS_BASE, val);
		else if (msr == MSR_GS_BASE) vmcs_write(GUEST_GS_BASE, val);
		else
			wrmsr(msr, val); /* KERNEL_GS_BASE, LSTAR, CSTAR: the CPU's own (see above) */
		return true;
	case MSR_STAR: wrmsr(msr, val); return true;
	case MSR_TSC_AUX: /* bits 63:32 are reserved (#GP) */
		if (!v->rdtscp || (val >> 32))
			return false;
		wrmsr(msr, val);
		return true;
	case MSR_FMASK: wrmsr(msr, val & 0xffffffff); return true;
	case MSR_IA32_PAT:
		if (!pat_ok(val))
			return false;
		v->pat = val;
		return true;
	case MSR_DEBUGCTL:
		if (val & ~DEBUGCTL_ALLOWED)
			return false;
		vmcs_write(GUEST_IA32_DEBUGCTL, val);
		return true;
	case MSR_TSC: /* the TSC jumps to val; TSC_ADJUST records the jump (SDM 17.17.3) */
		move_tsc(v, val - (rdtsc() + v->tsc_offset));
		return true;
	case MSR_TSC_ADJUST: /* the TSC moves by what TSC_ADJUST moves */
		move_tsc(v, val - v->tsc_adjust);
		return true;
	case MSR_MISC_ENABLE: /* stored, no effect on the CPU (as KVM); #GP for reserved bits */
		if (val & ~MISC_DEFINED)
			return false;
		v->misc_enable = val;
		return true;
	case MSR_BIOS_SIGN_ID: return true; /* accepted, no effect */
	case MSR_MCG_STATUS: return val == 0;
	default:
		return false;
	}
}

void handle_rdmsr(struct vcpu *v)
{
	u32 msr = (u32)v->regs.gpr[GPR_RCX];
	u64 val;
	intc_changed(); /* APIC registers, the TSC: interrupt state may change (devices/irq.h) */
	bool ok = lapic_owns_msr(msr) ? lapic_rdmsr(msr, &val, vtime_now()) : msr_read(v, msr, &val);
	if (!ok) {
		pr_warn("guest rdmsr %#x (unknown MSR) at rip=%#llx: #GP injected", msr, v->last_rip);
		vcpu_inject_exception(VEC_GP, true, 0);
		return;
	}
	v->regs.gpr[GPR_RAX] = val & 0xffffffff;
	v->regs.gpr[GPR_RDX] = val >> 32;
	vcpu_skip_instruction();
}

void handle_wrmsr(struct vcpu *v)
{
	u32 msr = (u32)v->regs.gpr[GPR_RCX];
	u64 val = (v->regs.gpr[GPR_RDX] << 32) | (v->regs.gpr[GPR_RAX] & 0xffffffff);
	intc_changed();
	bool ok = lapic_owns_msr(msr) ? lapic_wrmsr(msr, val, vtime_now()) : msr_write(v, msr, val);
	if (ok && msr == LAPIC_MSR_APIC_BASE)
		apicv_follow_base(); /* the window moved, or x2APIC mode, or disabled */
	if (!ok) {
		pr_warn("guest wrmsr %#x value %#llx (unknown MSR or refused value) at rip=%#llx: "
			"#GP injected", msr, val, v->last_rip);
		vcpu_inject_exception(VEC_GP, true, 0);
		return;
	}
	vcpu_skip_instruction();
}
