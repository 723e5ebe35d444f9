/* vmx.c - capability probe, VMXON and VMCS field access. */
#include "vmx/vmx.h"
#include "vmx/caps.h"
#include "vmx/vmx_asm.h"
#include "kernel/fmt.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/pmm.h"
#include "arch/asm.h"

struct vmx_caps vmx_caps;
static hpa_t vmxon_region, vmcs_region;

u64 vmx_simulate_fc;

int vmx_probe(char *err, size_t errlen)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!(c & CPUID_1_ECX_VMX)) {
		fmt_snprintf(err, errlen, "not supported by this CPU (CPUID.1:ECX.VMX=0)");
		return -1;
	}
	/* SDM 23.7: VMXON #GPs unless IA32_FEATURE_CONTROL is locked with VMXON allowed.
	 * vmx_simulate_fc (selftest=vmx_locked_off) stands in for the MSR's value, to exercise
	 * the locked-off path where no emulator here can produce it (Bochs resets the MSR
	 * locked with VMX on; QEMU TCG has no VMX). */
	u64 fc = vmx_simulate_fc ? vmx_simulate_fc : rdmsr(MSR_IA32_FEATURE_CONTROL), w;
	switch (vmx_feature_control(fc, &w)) {
	case FC_WRITE:
		wrmsr(MSR_IA32_FEATURE_CONTROL, w);
		pr_info("vmx: IA32_FEATURE_CONTROL was unlocked; enabled VMX and locked it (%#llx)", w);
		break;
	case FC_LOCKED_OFF:
		fmt_snprintf(err, errlen, "disabled by firmware: IA32_FEATURE_CONTROL=%#llx is locked "
			     "with VMX outside SMX off; enable VT-x in the firmware setup", fc);
		return -1;
	case FC_OK:
		break;
	}
	struct vmx_caps *v = &vmx_caps;
	v->basic = rdmsr(MSR_IA32_VMX_BASIC);
	bool t = vmx_basic_true_ctls(v->basic);
	v->pin = rdmsr(t ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	v->proc = rdmsr(t ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	v->exit = rdmsr(t ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	v->entry = rdmsr(t ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
	v->has_secondary = (v->proc >> 32) & CPU_ACTIVATE_SECONDARY;
	v->proc2 = v->has_secondary ? rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
	v->misc = rdmsr(MSR_IA32_VMX_MISC);
	v->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	v->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	v->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	v->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	pr_info("vmx: basic=%#llx revision=%u true-controls=%d secondary=%d", v->basic,
		vmx_basic_revision(v->basic), t, v->has_secondary);
	pr_debug("vmx: pin=%#llx proc=%#llx proc2=%#llx exit=%#llx entry=%#llx", v->pin, v->proc,
		 v->proc2, v->exit, v->entry);
	return 0;
}

static hpa_t alloc_region(void)
{
	hpa_t pa = pmm_alloc();
	if (!pa)
		panic("vmx: out of memory for a VMX region");
	memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
	*(u32 *)(uintptr_t)pa = vmx_basic_revision(vmx_caps.basic);
	return pa;
}

static int vmx_status_err(const char *insn, int st, char *err, size_t errlen)
{
	if (st == 1) {
		u64 e = 0;
		vmread_checked(VM_INSTRUCTION_ERROR, &e);
		fmt_snprintf(err, errlen, "%s failed: VMfailValid, error %llu (%s)", insn, e,
			     vmx_instruction_error_name((u32)e));
	} else {
		fmt_snprintf(err, errlen, "%s failed: VMfailInvalid", insn);
	}
	return -1;
}

int vmx_enable(char *err, size_t errlen)
{
	const struct vmx_caps *v = &vmx_caps;
	/* SDM 23.8: CR0 and CR4 must satisfy the fixed bits in VMX operation; CR4.VMXE is one. */
	u64 cr4 = vmx_fix_cr(read_cr4() | CR4_VMXE, v->cr4_fixed0, v->cr4_fixed1);
	write_cr4(cr4);
	/* GRUB leaves CR0.NE clear; VMX requires it (native x87 error reporting). */
	u64 cr0 = vmx_fix_cr(read_cr0() | CR0_NE, v->cr0_fixed0, v->cr0_fixed1);
	write_cr0(cr0);
	if (!vmx_cr_ok(cr0, v->cr0_fixed0, v->cr0_fixed1)) {
		fmt_snprintf(err, errlen, "CR0=%#llx does not satisfy VMX fixed bits (0:%#llx 1:%#llx)",
			     cr0, v->cr0_fixed0, v->cr0_fixed1);
		return -1;
	}
	vmxon_region = alloc_region();
	vmcs_region = alloc_region();
	int st = vmxon(vmxon_region);
	if (st)
		return vmx_status_err("VMXON", st, err, errlen);
	if ((st = vmclear(vmcs_region)) != 0)
		return vmx_status_err("VMCLEAR", st, err, errlen);
	if ((st = vmptrld(vmcs_region)) != 0)
		return vmx_status_err("VMPTRLD", st, err, errlen);
	pr_info("vmx: VMXON done (region %#llx), VMCS at %#llx", vmxon_region, vmcs_region);
	return 0;
}

void vmx_field_failed(bool write, enum vmcs_field f, u64 v)
{
	/* The inline accessor only knows that CF or ZF was set: read the error, if there is a
	 * current VMCS to hold one (VMfailValid), to tell the two apart. */
	u64 e = 0;
	int rst = vmread_checked(VM_INSTRUCTION_ERROR, &e);
	const char *why = rst ? "no current VMCS" : vmx_instruction_error_name((u32)e);
	if (write)
		panic("VMWRITE of field %#x value %#llx failed (%s)", f, v, why);
	panic("VMREAD of field %#x failed (%s)", f, why);
}
