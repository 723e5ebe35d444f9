/* vmx_asm.h - VMX instruction wrappers; each reports VMfailInvalid (CF) and VMfailValid (ZF). */
#ifndef VMX_VMX_ASM_H
#define VMX_VMX_ASM_H

#include "arch/types.h"
#include "vmx/vmcs.h"

/* 0 = success, 1 = VMfailValid (error number in VM_INSTRUCTION_ERROR), 2 = VMfailInvalid. */
#define VMX_ASM_STATUS(insn, ...)                                                      \
	({                                                                             \
		u8 cf, zf;                                                             \
		__asm__ volatile(insn "; setc %0; setz %1"                            \
				 : "=qm"(cf), "=qm"(zf)                                \
				 : __VA_ARGS__                                         \
				 : "cc", "memory");                                    \
		cf ? 2 : zf ? 1 : 0;                                                   \
	})

static inline int vmxon(u64 pa) { return VMX_ASM_STATUS("vmxon %2", "m"(pa)); }
static inline int vmclear(u64 pa) { return VMX_ASM_STATUS("vmclear %2", "m"(pa)); }
static inline int vmptrld(u64 pa) { return VMX_ASM_STATUS("vmptrld %2", "m"(pa)); }
static inline int vmxoff(void) { return VMX_ASM_STATUS("vmxoff", "i"(0)); }

static inline int vmwrite_checked(u64 field, u64 value)
{
	return VMX_ASM_STATUS("vmwrite %3, %2", "r"(field), "rm"(value));
}

static inline int vmread_checked(u64 field, u64 *value)
{
	u8 cf, zf;
	u64 v = 0;
	__asm__ volatile("vmread %3, %2; setc %0; setz %1"
			 : "=qm"(cf), "=qm"(zf), "=rm"(v)
			 : "r"(field)
			 : "cc");
	*value = v;
	return cf ? 2 : zf ? 1 : 0;
}

#endif
