/* caps.c - VMX control and fixed-bit arithmetic. */
#include "vmx/caps.h"
#include "vmx/vmcs.h"

u32 vmx_adjust_controls(u64 cap_msr, u32 want, u32 *missing)
{
	u32 must1 = (u32)cap_msr;
	u32 may1 = (u32)(cap_msr >> 32);
	if (missing)
		*missing = want & ~may1;
	return (want | must1) & may1;
}

u32 vmx_secondary_controls(u64 proc_cap, u64 proc2_cap)
{
	u32 may1 = (u32)(proc2_cap >> 32);
	if (!((proc_cap >> 32) & CPU_ACTIVATE_SECONDARY))
		return 0;
	return may1 & CPU2_ENABLE_RDTSCP;
}

bool vmx_apicv_available(u64 pin_cap, u64 proc_cap, u64 proc2_cap)
{
	u32 pin1 = (u32)(pin_cap >> 32), proc1 = (u32)(proc_cap >> 32);
	u32 proc2_1 = (proc1 & CPU_ACTIVATE_SECONDARY) ? (u32)(proc2_cap >> 32) : 0;
	u32 need2 = CPU2_VIRTUALIZE_APIC_ACCESSES | CPU2_APIC_REGISTER_VIRT |
		    CPU2_VIRTUAL_INTR_DELIVERY;
	return (pin1 & PIN_EXT_INTR_EXITING) && (proc1 & CPU_TPR_SHADOW) &&
	       (proc2_1 & need2) == need2;
}

bool vmx_x2apic_virtualization_available(u64 proc_cap, u64 proc2_cap)
{
	u32 proc1 = (u32)(proc_cap >> 32);
	return (proc1 & CPU_USE_MSR_BITMAPS) && (proc1 & CPU_ACTIVATE_SECONDARY) &&
	       ((proc2_cap >> 32) & CPU2_VIRTUALIZE_X2APIC);
}

u64 vmx_fix_cr(u64 value, u64 fixed0, u64 fixed1)
{
	return (value | fixed0) & fixed1;
}

bool vmx_cr_ok(u64 value, u64 fixed0, u64 fixed1)
{
	return (value & fixed0) == fixed0 && (value & ~fixed1) == 0;
}

enum vmx_fc_verdict vmx_feature_control(u64 fc, u64 *write)
{
	const u64 locked = BIT(0), outside_smx = BIT(2);
	if (!(fc & locked)) {
		*write = fc | locked | outside_smx;
		return FC_WRITE;
	}
	return (fc & outside_smx) ? FC_OK : FC_LOCKED_OFF;
}
