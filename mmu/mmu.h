/* mmu.h - the shadow MMU: shadow page cache, fault handling, MMIO sptes and their generation,
 * fast invalidation of all shadow pages (docs/mmu.md). */
#ifndef MMU_MMU_H
#define MMU_MMU_H

#include "arch/types.h"
#include "mmu/memslot.h"

/* Numbers the MMU keeps (summary line keys in docs/debugging.md; readable by hypercall). */
struct mmu_stats {
	u64 shadow_faults;      /* #PF exits on RAM the MMU handled: leaves installed, and writes
				 * emulated (to a guest table in use, to a read-only memslot) */
	u64 guest_faults;       /* page faults injected into the guest */
	u64 mmio_fast;          /* MMIO accesses served from a current MMIO spte */
	u64 mmio_slow;          /* MMIO accesses that needed a walk + memslot lookup */
	u64 mmio_sptes;         /* MMIO sptes created */
	u64 memslot_changes;
	u64 gen_wraps;          /* generation wrap-arounds in the MMIO spte bits */
	u64 zap_all;            /* fast invalidations of all shadow pages */
	u64 obsolete_freed;     /* obsolete shadow pages freed (lazily, in batches) */
	u64 sp_created;         /* shadow pages created */
	u64 sp_reused;          /* shadow pages found in the cache instead of built */
	u64 sp_in_use;          /* shadow pages allocated now */
	u64 sp_pool;            /* shadow pages in the pool */
	u64 tracked_writes;     /* writes into a shadowed guest table (emulated guest writes, the
				 * debuggers'): their shadows fixed in place, or zapped */
	u64 pte_updates;        /* shadow pages whose entries such a write fixed in place */
	u64 flood_zaps;         /* shadow pages zapped by write-flood detection */
	u64 prefetched;         /* leaves mapped by the write that answered a reflected fault */
	u64 notrap_sptes;       /* sptes made zero at a reflected not-present fault: the next
				 * fault there goes to the guest without an exit (pf_bypass) */
	u64 trap_faults;        /* #PF exits on a TRAP spte (nothing built yet; pf_bypass) */
	u64 notrap_fills;       /* table shadows made zero wherever the guest's entries are not
				 * present, after repeated faults there (pf_bypass) */
};

extern struct mmu_stats mmu_stats;
extern struct memslot_set guest_memslots;

/* What the MMU needs to know of the host CPU (the caller reads it: the MMU runs no CPUID). */
struct mmu_cpu {
	u32 maxphyaddr; /* physical-address width: reserved bits, MMIO sptes (bit 51), L1TF bits */
	bool nx;        /* execute-disable: sptes use XD for non-executable guest pages */
	bool pf_bypass; /* reflect the guest's not-present faults without an exit (docs/mmu.md,
			 * "Reflected faults without an exit"; cmdline pf_bypass=) */
};

/* Allocates the shadow-page pool (pool_pages pages) and the rmap pool. False if out of memory. */
bool mmu_init(u64 pool_pages, u32 guest_phys_bits, const struct mmu_cpu *cpu);

/* The root the CPU must use now for the guest's paging state (v->cr0/cr3/cr4/efer); loads or
 * builds it. Returns its host-physical address (GUEST_CR3). */
hpa_t mmu_load_root(void);
/* Before a VM entry: frees a batch of obsolete shadow pages if any wait (mmu_reclaim), then
 * returns the root (mmu_load_root). The run loop calls it through mmu_root_for_entry, below,
 * only when there is something to do. */
hpa_t mmu_before_entry(void);
/* The root's address while mmu_before_entry has nothing to do (no obsolete page waits, the
 * root is loaded, current and needs no refill, no audit waits); 0 otherwise. */
extern hpa_t mmu_entry_root;
/* mmu_before_entry, with its common case (nothing to do) inline: the run loop calls it before
 * every entry. */
static inline hpa_t mmu_root_for_entry(void)
{
	hpa_t r = mmu_entry_root;
	return r ? r : mmu_before_entry();
}

/* What the caller of mmu_page_fault must do (KVM's RET_PF_*): the MMU never calls up. */
enum mmu_fault {
	MMU_HANDLED,        /* the shadow was fixed: the guest retries the access */
	MMU_GUEST_FAULT,    /* the guest's own tables fault: inject #PF(error_code), CR2 = la */
	MMU_EMULATE,        /* emulate the instruction: its access at la hits gpa, which may be
			     * RAM (a write to a guest table in use, to ROM) */
	MMU_EMULATE_DEVICE, /* the same, and gpa is known not to be RAM (an MMIO access) */
	MMU_EMULATE_PT_WRITE, /* a write to a guest page table (8-byte entries) that the access's
			       * own walk does not use: emulate it (the shadows follow it), unless
			       * it is a bulk write (a REP string instruction): then mmu_unprotect
			       * and let the guest retry it natively */
	MMU_BAD_TABLE,      /* a guest paging structure is not in RAM: gpa says where */
};

struct mmu_verdict {
	enum mmu_fault what;
	u32 error_code; /* MMU_GUEST_FAULT */
	u64 gpa;        /* MMU_EMULATE, MMU_EMULATE_DEVICE, MMU_BAD_TABLE */
};

/* Drops the shadows of the guest table at gpa so that the write at la that faulted on it
 * runs natively when the guest retries (after MMU_EMULATE_PT_WRITE). Should the same write
 * fault there again, it is emulated (MMU_EMULATE): no loop. */
void mmu_unprotect(u64 gpa, u64 la);

/* Handles a #PF exit at linear address la with hardware error code ec (plus PFEC_SW_AC when
 * RFLAGS.AC was 1) and says what is left to do. */
struct mmu_verdict mmu_page_fault(u64 la, u32 ec);

/* The MMIO exit's fast path (vmx/insn.c mmio_fast_exit): an RSVD fault (hardware error code
 * ec, plus PFEC_SW_AC) at la that mmu_page_fault would answer with MMU_EMULATE_DEVICE from a
 * current MMIO spte, when the leaf cache holds both that spte and the RAM leaf of code_la,
 * where the faulting instruction is (a driver's register loop): true with the device's gpa
 * and the host address of code_la (as mmu_shadow_hpa), counted as mmu_page_fault counts it.
 * False, having changed nothing, when anything else may be going on (a page not cached, a
 * stale or refusing spte, the audit on): then mmu_page_fault decides. */
bool mmu_mmio_cached(u64 la, u32 ec, u64 code_la, u64 *gpa, hpa_t *code_hpa);
/* The linear page of the last access answered from a current MMIO spte (~0: none yet): a
 * hint only, for the caller of mmu_mmio_cached to skip it at once on an RSVD fault elsewhere
 * (a TRAP spte, pf_bypass: most RSVD faults of a guest that builds page tables). */
extern u64 mmu_mmio_last_page;

/* APIC virtualization (vmx/apicv.c): guest frame gfn, the local APIC's register window, is
 * mapped to host page hpa, the APIC-access page, in every shadow leaf that maps it (with the
 * guest's permissions), although it is in no memslot: the CPU then virtualizes the accesses
 * (or exits: APIC-access, APIC-write). Everything else (the emulator, the debuggers) still
 * sees the frame as MMIO. gfn ~0: none (the APIC window is MMIO again). A change zaps all
 * shadow pages. */
void mmu_set_apic_access(gfn_t gfn, hpa_t hpa);

/* The guest's paging state, from its CR0/CR3/CR4/EFER. */
struct mmu_paging {
	bool pg, pae, lma, pse, wp, nxe, smep, smap;
	u64 cr3;
	/* PAE: load the PDPTEs from memory at CR3. The CPU does so on MOV to CR3 and on a MOV to
	 * CR0/CR4 that changes CD, NW, PG, PAE, PGE, PSE or SMEP (SDM Vol. 3A 4.4.1); otherwise
	 * the PDPTE registers keep what they hold, whatever memory says now. */
	bool load_pdptes;
};

/* Follows a change of the guest's paging state (CR0, CR3, CR4 or EFER write). A CR3 write
 * only switches roots (cached shadows are reused); a change of mode or of the bits that
 * decide permissions zaps all shadow pages. Returns -1 when PAE PDPTEs cannot be loaded
 * (the caller injects #GP), 0 otherwise. */
int mmu_set_guest_paging(const struct mmu_paging *p);
/* A MOV to CR3 with every other paging bit unchanged: the same as mmu_set_guest_paging with
 * only cr3 different, without rebuilding the context. -1 as there (PAE PDPTEs). */
int mmu_set_guest_cr3(u64 cr3);
/* True when the guest's not-present faults may reach it without an exit (pf_bypass, and
 * the guest's paging on): every zero spte then has a not-present guest entry (docs/mmu.md).
 * The caller sets the page-fault error-code mask and match to match (vmx/vcpu.c). */
bool mmu_pf_bypass_active(void);
bool mmu_guest_paging_on(void);

/* For mmu_translate's acc, beside GWALK_ACC_*: RFLAGS.AC was 1 (CPL < 3), so SMAP lets an
 * explicit supervisor access reach user pages. */
#define MMU_ACC_AC BIT(8)
/* Translates linear address la through the guest's tables for an access acc (GWALK_ACC_*,
 * MMU_ACC_AC), setting A/D bits as the CPU would. False with the page-fault error code in
 * *ec. */
bool mmu_translate(u64 la, u32 acc, u64 *gpa, u32 *ec);
/* The host-physical page the current shadow tables map la to, when a present RAM leaf does
 * (no guest walk: the shadow mirrors the guest's tables, so this is the page the CPU itself
 * just used, e.g. for an instruction fetch). False when there is none (then walk). */
bool mmu_shadow_hpa(u64 la, hpa_t *hpa);
u64 mmu_links_used(void);

/* Guest RAM through the memslots (RAM only; a write to a read-only slot fails). Every write
 * the hypervisor makes on the guest's behalf goes through guest_phys_write: it zaps the
 * shadows of any guest page table it writes (docs/mmu.md, "tracked writes"). */
bool guest_phys_read(u64 gpa, void *buf, u64 len);
bool guest_phys_write(u64 gpa, const void *buf, u64 len);
/* For debuggers: guest-virtual memory through the guest's tables, page by page, with no
 * permission check (a debugger may patch code). Returns the bytes done (fewer at the first
 * unmapped or non-RAM page). Writes are tracked as guest_phys_write's. */
u64 guest_virt_access(gva_t gva, void *buf, u64 len, bool write);

struct gwalk_result;
/* The guest walk for la as a supervisor read, without touching guest memory (no A/D update):
 * for the monitor's walk command. True when it translates; w holds every entry read. */
bool mmu_walk_debug(u64 la, struct gwalk_result *w);

/* Memslot changes that take effect for the guest at once (hypercalls, devices). Same
 * contract as memslot_*(): -1 with *why on refusal. */
int mmu_memslot_add(const struct memslot *m, const char **why);
int mmu_memslot_delete(u32 id, const char **why);
int mmu_memslot_move(u32 id, gfn_t new_base_gfn, const char **why);
int mmu_memslot_resize(u32 id, u64 new_npages, hpa_t new_hpa, const char **why);
/* The memslots generation now. */
u64 mmu_generation(void);
/* True when spte is an MMIO spte whose generation is current (its cached gfn is still MMIO).
 * Code outside mmu/ asks this instead of using spte.h's generation helpers, so that every
 * object of a build agrees on the generation width (MMIO_GEN_BITS, set for mmu/ only). */
bool mmu_mmio_spte_current(u64 spte);
/* How many low bits of the memslots generation an MMIO spte keeps (MMIO_GEN_BITS). */
u32 mmu_mmio_gen_bits(void);

/* Invalidates every shadow page in O(1) (valid-generation bump); they are freed later in
 * bounded batches by mmu_reclaim(). */
void mmu_zap_all_fast(void);
/* Frees at most a bounded batch of obsolete shadow pages; called once per exit. */
void mmu_reclaim(void);

/* Audit: walks every live shadow table from the root and checks each spte against the
 * guest's tables (walked without touching them) and the memslots. Returns the number of bad
 * sptes (0 = pass), printing each. Runs on request (hypercall) and, with mmu_audit_enabled
 * (mmu_audit=N or a DEBUG=1 build), at the named points: after every page fault and every
 * root load that follows a CR3 switch, zap or memslot change; a failure there panics. */
u64 mmu_audit(const char *where);
extern bool mmu_audit_enabled;
/* Prefetch around a fault under shadows of guest tables too, not only inside large guest
 * pages (mmu.c prefetch_around; off: measured slower on Linux, docs/mmu.md). */
extern bool mmu_prefetch_tables;
/* A table shadow with repeated not-present faults gets zero sptes wherever the guest's
 * entries are not present (pf_bypass; mmu.c notrap_fill): on by default; tests turn it off. */
extern bool mmu_notrap_fill;
/* With mmu_audit_enabled, every named point audits the sptes changed since the previous one,
 * and every mmu_audit_every-th (mmu_audit=N; N = 1: every 1000th) and the first after a
 * memslot change the whole tables; mmu_audits_done counts the audits they ran,
 * mmu_audits_whole those of the whole tables. */
extern u64 mmu_audit_every, mmu_audits_done, mmu_audits_whole;
extern u64 mmu_audit_points; /* named points reached so far */

/* Reads the spte chain for la in the current root, for the monitor and tests: fills up to 4
 * entries top first and returns how many. */
int mmu_shadow_walk(u64 la, u64 sptes[4]);

#endif
