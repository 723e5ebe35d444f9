/* hypercall.h - the hypercall numbers and statistic indices of the VMCALL ABI
 * (docs/hypercalls.md; guests/lib/hv.h is the guest's copy), and the privilege rule, kept
 * apart from vmx/exit_vmcall.c so that host tests can check the rule. */
#ifndef VMX_HYPERCALL_H
#define VMX_HYPERCALL_H

#include "arch/types.h"

enum hypercall {
	HC_GET_VERSION = 0,
	HC_MEMSLOT_ADD = 1,    /* rbx id, rcx gpa, rdx size, rsi flags: fresh zeroed backing */
	HC_MEMSLOT_DELETE = 2, /* rbx id */
	HC_MEMSLOT_MOVE = 3,   /* rbx id, rcx new gpa */
	HC_MEMSLOT_RESIZE = 4, /* rbx id, rcx new size */
	HC_GET_STAT = 5,       /* rbx index (enum hc_stat) -> value */
	HC_AUDIT = 6,          /* -> number of bad sptes (0 = pass) */
	HC_ZAP_ALL = 7,        /* invalidate every shadow page (fast zap) */
};

enum hc_stat {
	STAT_SHADOW_FAULTS, STAT_GUEST_FAULTS, STAT_MMIO_FAST, STAT_MMIO_SLOW, STAT_MMIO_SPTES,
	STAT_MEMSLOT_CHANGES, STAT_GENERATION, STAT_GEN_WRAPS, STAT_ZAP_ALL, STAT_OBSOLETE_FREED,
	STAT_SP_IN_USE, STAT_SP_CREATED, STAT_SP_REUSED, STAT_EXITS, STAT_MMIO_GEN_BITS,
	STAT_SP_POOL, STAT_LINKS_IN_USE, STAT_FREE_PAGES,
	STAT_INTR_INJECTED,  /* external interrupts injected */
	STAT_TRACKED_WRITES, /* hypervisor writes into a shadowed guest table */
	STAT_RAM_EMULATIONS, /* #PF exits whose access to RAM was emulated (writes to a guest
			      * page table in use, to ROM) */
	STAT_PTE_UPDATES,    /* shadow pages a write into their guest table fixed in place */
	STAT_FLOOD_ZAPS,     /* shadow pages zapped by write-flood detection */
	STAT_PREFETCHED,     /* leaves mapped by prefetch */
	STAT_EXIT_TICKS,     /* host TSC ticks from VM exits to the next entries, summed (the
			      * exit-costs totals): the hypervisor's own work */
	STAT_COUNT,
	/* STAT_EXIT_REASON + r: the VM exits of basic reason r (0..EXIT_REASON_MAX, the last
	 * being every reason beyond the name table), the summary line's exits.NAME */
	STAT_EXIT_REASON = 0x100,
};

/* Who may call: CPL 0 may make every call; at CPL 1-3 (guest userland) only HC_GET_STAT,
 * which reads counters and changes nothing. Guest userland gets the counters for its own
 * benchmarks (guests/linux/lbench.c); memslots, the audit and the zap stay with the kernel. */
static inline bool hc_allowed(u32 cpl, u64 nr)
{
	return cpl == 0 || nr == HC_GET_STAT;
}

#endif
