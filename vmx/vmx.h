/* vmx.h - VMX bring-up: capability probe, VMXON, VMCS setup, field access. */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include "arch/types.h"
#include "vmx/vmcs.h"

struct vmx_caps {
	u64 basic, misc;
	u64 pin, proc, proc2, exit, entry; /* TRUE_* MSRs when VMX_BASIC[55] says so */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	bool has_secondary;
};

extern struct vmx_caps vmx_caps;

/* Checks CPUID and IA32_FEATURE_CONTROL (enabling and locking it when unlocked) and reads the
 * capability MSRs. Returns 0, or -1 with the reason in err. */
int vmx_probe(char *err, size_t errlen);
/* Non-zero: vmx_probe takes this as IA32_FEATURE_CONTROL's value (selftest=vmx_locked_off). */
extern u64 vmx_simulate_fc;
/* Enters VMX root operation and makes a fresh, current VMCS. Returns 0 or -1 with err. */
int vmx_enable(char *err, size_t errlen);

/* Field access: a failure here is a hypervisor bug, reported with the field and the error
 * (vmx_field_failed panics). Inline, because every exit does a dozen of them: the success
 * path is the VMREAD/VMWRITE and one branch on CF|ZF (asm goto: no flag copied to a register
 * and tested). */
#ifdef HOST_TEST
/* Host unit tests and fuzz harnesses provide their own doubles. */
u64 vmcs_read(enum vmcs_field f);
void vmcs_write(enum vmcs_field f, u64 v);
#else
__attribute__((noreturn, cold)) void vmx_field_failed(bool write, enum vmcs_field f, u64 v);

static inline u64 vmcs_read(enum vmcs_field f)
{
	u64 v;
	__asm__ goto("vmread %1, %0; jbe %l[failed]" : "=r"(v) : "r"((u64)f) : "cc" : failed);
	return v;
failed:
	vmx_field_failed(false, f, 0);
}

static inline void vmcs_write(enum vmcs_field f, u64 v)
{
	__asm__ goto("vmwrite %0, %1; jbe %l[failed]" : : "rm"(v), "r"((u64)f) : "cc" : failed);
	return;
failed:
	vmx_field_failed(true, f, v);
}
#endif

const char *vmx_instruction_error_name(u32 err);
const char *vmx_exit_reason_name(u32 reason);

#endif
