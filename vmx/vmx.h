/* vmx.h - VMX bring-up: capability probe, VMXON, VMCS setup, field access. */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include "kernel/types.h"
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
/* Enters VMX root operation and makes a fresh, current VMCS. Returns 0 or -1 with err. */
int vmx_enable(char *err, size_t errlen);

/* Field access: a failure here is a hypervisor bug, reported with the field and the error. */
u64 vmcs_read(enum vmcs_field f);
void vmcs_write(enum vmcs_field f, u64 v);

const char *vmx_instruction_error_name(u32 err);
const char *vmx_exit_reason_name(u32 reason);

#endif
