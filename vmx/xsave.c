/* xsave.c - XSETBV emulation and what XCR0 may hold. XCR0 is not switched by VMX: the
 * hardware XCR0 is the guest's while it runs, and the host, which is built without SSE, never
 * touches the state XSAVE covers. */
#include "vmx/xsave.h"
#include "vmx/vmx.h"
#include "kernel/log.h"
#include "arch/asm.h"

static u64 host_xcr0_mask; /* XCR0 bits the CPU supports (CPUID.0xD.0:EDX:EAX) */

bool xsave_supported(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	return c & CPUID_1_ECX_XSAVE;
}

static void xsetbv(u32 idx, u64 v)
{
	__asm__ volatile("xsetbv" ::"c"(idx), "a"((u32)v), "d"((u32)(v >> 32)));
}

void xsave_init(void)
{
	u32 a, b, c, d;
	if (!xsave_supported())
		return;
	write_cr4(read_cr4() | CR4_OSXSAVE);
	cpuid(0xd, 0, &a, &b, &c, &d);
	host_xcr0_mask = ((u64)d << 32) | a;
	pr_info("xsave: host XCR0 features %#llx; guests may enable %#llx", host_xcr0_mask,
		host_xcr0_mask & XSAVE_GUEST_FEATURES);
}

u64 xsave_guest_mask(void)
{
	return host_xcr0_mask & XSAVE_GUEST_FEATURES;
}

/* SDM Vol. 2, XSETBV: #GP(0) at CPL > 0, for ECX != 0, for reserved or unsupported bits, bit 0
 * clear, or AVX without SSE. CR4.OSXSAVE = 0 gives #UD before any exit. */
void handle_xsetbv(struct vcpu *v)
{
	u32 idx = (u32)v->regs.gpr[GPR_RCX];
	u64 val = ((v->regs.gpr[GPR_RDX] & 0xffffffff) << 32) | (v->regs.gpr[GPR_RAX] & 0xffffffff);
	u32 cpl = (u32)AR_DPL(vmcs_read(GUEST_SS_AR));
	u64 allowed = xsave_guest_mask();
	if (!(v->cr4 & CR4_OSXSAVE)) {
		vcpu_inject_exception(VEC_UD, false, 0);
		return;
	}
	if (cpl || idx || (val & ~allowed) || !(val & XCR0_X87) ||
	    ((val & XCR0_AVX) && !(val & XCR0_SSE))) {
		pr_warn("guest xsetbv XCR%u=%#llx refused (allowed %#llx): #GP", idx, val, allowed);
		vcpu_inject_exception(VEC_GP, true, 0);
		return;
	}
	xsetbv(0, val);
	v->xcr0 = val;
	vcpu_skip_instruction();
}
