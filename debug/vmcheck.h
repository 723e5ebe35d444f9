/* vmcheck.h - VM-entry checker: the SDM's VM-entry checks over a VMCS snapshot, every broken
 * rule reported by name with the field values involved. Pure (host-tested in
 * tests/unit/test_vmcheck.c).
 *
 * The rules are those of SDM Vol. 3C, chapter "VM Entries": checks on the VMX controls and the
 * host-state area (26.2.1-26.2.4: a failure there is VMfailValid with VM-instruction error 7 or
 * 8) and checks on the guest-state area (26.3.1.1-26.3.1.6: a failure there is a VM exit with
 * reason 33, "invalid guest state"). Section numbers are those of the editions in which
 * "VM Entries" is chapter 26; later editions renumber the chapter, not its subsections.
 *
 * Unlike the CPU, which stops at the first failed check, the checker evaluates every rule and
 * reports each one that is broken; a rule whose preconditions need a field that is itself
 * broken (e.g. the fields of a control the CPU does not allow) is skipped.
 *
 * Assumptions: the CPU is outside SMM (this hypervisor never runs in it). Not checked, for
 * lack of inputs: reserved bits of IA32_PERF_GLOBAL_CTRL, IA32_BNDCFGS, IA32_RTIT_CTL and
 * the CET/PKRS/LBR state; VM-function controls; the EPT-violation #VE and ENCLS/ENCLV bitmaps;
 * the executive-VMCS pointer; the VMCS link pointer being the current VMCS pointer; SGX and
 * RTM support behind interruptibility bit 4 and pending-debug bit 16. Out of scope: the
 * instruction's own checks (26.1: VM-instruction errors 4-6, 26 name them already) and the
 * VM-entry MSR-load entries (26.4, exit reason 34). A snapshot taken after VMfailInvalid (no
 * current VMCS) cannot be checked: there are no fields to read.
 */
#ifndef DEBUG_VMCHECK_H
#define DEBUG_VMCHECK_H

#include "arch/types.h"

/*
 * What the checker needs to know. Invariants: read() is called only for fields the CPU has,
 * judged from the capability values (the field of a control, e.g. EPT_POINTER, is read only
 * when the control is 1 and the CPU allows it), so the hypervisor can pass vmcs_read.
 */
struct vmcheck_input {
	u64 (*read)(void *opaque, u32 field); /* VMCS field by encoding (vmx/vmcs.h) */
	/* Physical memory, for the checks that look at it: the PAE PDPTEs the CPU loads from
	 * guest CR3 without EPT (26.3.1.6), VTPR on the virtual-APIC page (26.2.1.1) and the
	 * revision identifier at the VMCS link pointer (26.3.1.5). NULL, or false for an address
	 * it cannot read: those checks are skipped. */
	bool (*read_phys)(void *opaque, u64 pa, void *buf, int len);
	void *opaque;
	u64 basic;                  /* IA32_VMX_BASIC */
	u64 pin, proc, exit, entry; /* IA32_VMX_TRUE_*_CTLS if basic[55], else the plain ones */
	u64 proc2;                  /* IA32_VMX_PROCBASED_CTLS2; 0 without secondary controls */
	u64 misc;                   /* IA32_VMX_MISC */
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 ept_vpid_cap;           /* IA32_VMX_EPT_VPID_CAP; 0: unknown, the EPTP is then held to
				     * UC or WB and a 4-level walk, A/D flags allowed */
	u8 maxphyaddr;              /* CPUID.80000008H:EAX[7:0]; 0: unknown, no width checks */
	u8 la_bits;                 /* linear-address width for "canonical"; 0 means 48 */
	bool cpu_lma;               /* IA32_EFER.LMA at entry (1 for this 64-bit host) */
};

/*
 * Pseudo field encodings for values that are not VMCS fields (VMCS encodings are below 0x8000).
 */
#define VMCHECK_F_BITS 0x10000u /* the bits of the field before it that break the rule */
#define VMCHECK_F_CAP 0x10001u  /* the capability value the rule uses (a limit, a mask) */
#define VMCHECK_F_MEM 0x10002u  /* a value read from memory (VTPR, VMCS revision identifier) */

struct vmcheck_field {
	u32 field; /* VMCS encoding or VMCHECK_F_* */
	u64 value;
};

/* A broken rule. The strings are static; the struct lives only during the report call. */
struct vmcheck_violation {
	const char *rule;          /* stable name: "guest.tr.type", "ctrl.cr3_target_count" */
	const char *sdm;           /* SDM section: "26.3.1.2" */
	const char *text;          /* one line: what must hold */
	int nfields;               /* 0..2 */
	struct vmcheck_field f[2]; /* the fields involved and their values */
};

/* One entry of the rule table (every rule the checker knows). */
struct vmcheck_rule {
	const char *name, *sdm, *text;
};

typedef void (*vmcheck_report_fn)(void *opaque, const struct vmcheck_violation *v);

/*
 * Evaluates every VM-entry check over the snapshot in `in` and calls report (if not NULL)
 * once per broken rule, in SDM order (controls, host state, guest state); a rule broken in
 * several places (a PDPTE, an I/O bitmap) is reported once per place. Returns the number of
 * reports. Prints nothing; the caller's report function does.
 */
int vmcheck_run(const struct vmcheck_input *in, vmcheck_report_fn report, void *opaque);

/* The rule table: *count gets its length. Names are unique. */
const struct vmcheck_rule *vmcheck_rules(u32 *count);

/* The name of a VMCS field encoding or VMCHECK_F_* value ("GUEST_TR_AR"), or NULL. */
const char *vmcheck_field_name(u32 field);
/* The i-th entry of the field-name table (VMCS encodings, then the VMCHECK_F_* pseudo-fields);
 * false past the end. For tools that list every field (the monitor's vmcs command). */
bool vmcheck_field_at(u32 i, u32 *field, const char **name);

#endif
