/* exit_vmcall.c - the hypercall ABI (docs/hypercalls.md): VMCALL with the call number in
 * EAX/RAX, arguments in RBX, RCX, RDX, RSI; the result comes back in RAX (negative errno). */
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "kernel/log.h"
#include "kernel/x86.h"

#define HC_ABI_VERSION 1
#define HC_GET_VERSION 0
#define HV_EPERM 1
#define HV_ENOSYS 38

void handle_vmcall(struct vcpu *v)
{
	u64 nr = v->regs.gpr[GPR_RAX];
	s64 ret;
	u32 cpl = (u32)(vmcs_read(GUEST_SS_AR) >> 5) & 3;
	if (!(v->efer & EFER_LMA))
		nr &= 0xffffffff;
	if (cpl != 0)
		ret = -HV_EPERM; /* hypercalls are for the guest kernel only */
	else if (nr == HC_GET_VERSION)
		ret = HC_ABI_VERSION;
	else {
		pr_debug("hypercall %#llx: unknown, -ENOSYS", nr);
		ret = -HV_ENOSYS;
	}
	vcpu_set_gpr(v, GPR_RAX, (u64)ret);
	vcpu_skip_instruction();
}
