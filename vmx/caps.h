/* caps.h - VMX capability arithmetic: pure functions over capability MSR values (host-tested). */
#ifndef VMX_CAPS_H
#define VMX_CAPS_H

#include "arch/types.h"

/*
 * A control capability MSR holds allowed-0 settings in bits 31:0 (a 1 there: the control must
 * be 1) and allowed-1 settings in bits 63:32 (a 0 there: the control must be 0), SDM Vol. 3D
 * A.3-A.5. Returns the control value: want, plus every must-be-1 bit, minus nothing;
 * *missing gets the wanted bits the CPU cannot set (the caller decides if that is fatal).
 */
u32 vmx_adjust_controls(u64 cap_msr, u32 want, u32 *missing);

/*
 * The secondary processor-based controls this hypervisor turns on, from the primary (proc_cap)
 * and secondary (proc2_cap) capability MSRs: "enable RDTSCP" when the CPU can set it, so that
 * RDTSCP and RDPID run natively (without it both #UD in VMX non-root operation, SDM Vol. 3C
 * 25.3). 0 when none can be set: the caller then leaves "activate secondary controls" off.
 * proc2_cap is ignored when the primary controls cannot activate secondary ones (vmx/vmx.c
 * then does not even read that MSR).
 */
u32 vmx_secondary_controls(u64 proc_cap, u64 proc2_cap);

/*
 * Whether the CPU offers what APIC virtualization (vmx/apicv.c) uses, from the pin-based,
 * primary and secondary capability MSRs: external-interrupt exiting (which virtual-interrupt
 * delivery requires), "use TPR shadow", "activate secondary controls", and the secondary
 * "virtualize APIC accesses", "APIC-register virtualization" and "virtual-interrupt delivery"
 * (SDM Vol. 3C 24.6.8, ch. 29). All or nothing: the hypervisor has no half way.
 */
bool vmx_apicv_available(u64 pin_cap, u64 proc_cap, u64 proc2_cap);
/* And x2APIC mode virtualized too: "use MSR bitmaps" and "virtualize x2APIC mode". */
bool vmx_x2apic_virtualization_available(u64 proc_cap, u64 proc2_cap);

/* Makes a CR0/CR4 value legal in VMX operation: sets fixed-1 bits, clears fixed-0 bits (A.7/A.8). */
u64 vmx_fix_cr(u64 value, u64 fixed0, u64 fixed1);

/* True when value already satisfies the fixed bits. */
bool vmx_cr_ok(u64 value, u64 fixed0, u64 fixed1);

/*
 * What to do with IA32_FEATURE_CONTROL (SDM Vol. 3C 23.7) read as fc: VMXON needs it locked
 * with "VMXON outside SMX" allowed. Unlocked: returns FC_WRITE with *write the value to write
 * (that bit and the lock set: firmware left it to the OS). Locked with the bit set: FC_OK.
 * Locked without it (VT-x disabled in the firmware setup; only a reset unlocks it): FC_LOCKED_OFF,
 * the caller stops with a message saying so.
 */
enum vmx_fc_verdict { FC_OK, FC_WRITE, FC_LOCKED_OFF };
enum vmx_fc_verdict vmx_feature_control(u64 fc, u64 *write);

/* Fields of IA32_VMX_BASIC (A.1). */
static inline u32 vmx_basic_revision(u64 basic) { return (u32)(basic & 0x7fffffff); }
static inline u32 vmx_basic_region_size(u64 basic) { return (u32)((basic >> 32) & 0x1fff); }
static inline bool vmx_basic_true_ctls(u64 basic) { return (basic >> 55) & 1; }
static inline u32 vmx_basic_memtype(u64 basic) { return (u32)((basic >> 50) & 0xf); }

#endif
