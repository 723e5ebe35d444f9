/* caps.h - VMX capability arithmetic: pure functions over capability MSR values (host-tested). */
#ifndef VMX_CAPS_H
#define VMX_CAPS_H

#include "kernel/types.h"

/*
 * A control capability MSR holds allowed-0 settings in bits 31:0 (a 1 there: the control must
 * be 1) and allowed-1 settings in bits 63:32 (a 0 there: the control must be 0), SDM Vol. 3D
 * A.3-A.5. Returns the control value: want, plus every must-be-1 bit, minus nothing;
 * *missing gets the wanted bits the CPU cannot set (the caller decides if that is fatal).
 */
u32 vmx_adjust_controls(u64 cap_msr, u32 want, u32 *missing);

/* Makes a CR0/CR4 value legal in VMX operation: sets fixed-1 bits, clears fixed-0 bits (A.7/A.8). */
u64 vmx_fix_cr(u64 value, u64 fixed0, u64 fixed1);

/* True when value already satisfies the fixed bits. */
bool vmx_cr_ok(u64 value, u64 fixed0, u64 fixed1);

/* Fields of IA32_VMX_BASIC (A.1). */
static inline u32 vmx_basic_revision(u64 basic) { return (u32)(basic & 0x7fffffff); }
static inline u32 vmx_basic_region_size(u64 basic) { return (u32)((basic >> 32) & 0x1fff); }
static inline bool vmx_basic_true_ctls(u64 basic) { return (basic >> 55) & 1; }
static inline u32 vmx_basic_memtype(u64 basic) { return (u32)((basic >> 50) & 0xf); }

#endif
