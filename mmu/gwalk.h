/* gwalk.h - the guest page-table walker: emulates the CPU's walk in one place for 32-bit,
 * PAE and 4-level paging (SDM Vol. 3A ch. 4), including accessed/dirty updates and the
 * page-fault error code. Pure: guest memory is reached through struct gwalk_ops, so host
 * tests run it against a reference model (tests/unit/test_gwalk.c). */
#ifndef MMU_GWALK_H
#define MMU_GWALK_H

#include "arch/x86.h" /* PFEC_*, PTE_* */

enum gwalk_mode {
	GWALK_NONE = 0,   /* paging off: gpa = gva (truncated to 32 bits) */
	GWALK_32 = 2,     /* CR0.PG=1, CR4.PAE=0: two levels, 4 MiB pages with CR4.PSE */
	GWALK_PAE = 3,    /* CR4.PAE=1, EFER.LMA=0: PDPTEs from the PDPTE registers + two levels */
	GWALK_LONG4 = 4,  /* EFER.LMA=1, four levels, 2 MiB and 1 GiB pages */
};

/* Access kinds for a walk (combine). */
#define GWALK_ACC_WRITE BIT(0)
#define GWALK_ACC_USER BIT(1)   /* CPL 3 access (not an implicit supervisor access) */
#define GWALK_ACC_FETCH BIT(2)
#define GWALK_ACC_IMPLICIT BIT(3) /* implicit supervisor access (e.g. GDT/IDT): never "user" */


struct gwalk_ctx {
	enum gwalk_mode mode;
	bool wp, nxe, pse, smep, smap, ac; /* CR0.WP, EFER.NXE, CR4.PSE, CR4.SMEP, CR4.SMAP, RFLAGS.AC */
	u64 cr3;
	u64 pdpte[4];   /* PAE only: the PDPTE registers (loaded at CR3 write) */
	u32 maxphyaddr; /* guest physical-address width, bits (reserved-bit checks) */
};

struct gwalk_ops {
	/* Reads/writes 8 (PAE/long) or 4 (32-bit) bytes of guest-physical memory.
	 * Return false when gpa is not RAM (then the walk fails with GWALK_BAD_TABLE). */
	bool (*read)(void *opaque, u64 gpa, void *buf, int size);
	/* Atomically sets bits in a guest PTE if it still equals old (A/D updates); returns false
	 * when it changed meanwhile (the walker then restarts). */
	bool (*set_bits)(void *opaque, u64 gpa, int size, u64 old, u64 bits);
	void *opaque;
};

enum gwalk_status {
	GWALK_OK = 0,
	GWALK_FAULT,      /* page fault: error_code is what the CPU would push */
	GWALK_BAD_TABLE,  /* a paging structure is not in guest RAM (e.g. MMIO): not modelled */
};

#define GWALK_MAX_LEVELS 4

struct gwalk_result {
	enum gwalk_status status;
	u32 error_code;          /* valid for GWALK_FAULT */
	u64 gpa;                 /* translated address (GWALK_OK) */
	u64 page_size;           /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
	/* Effective permissions of the translation, as the CPU combines them over the levels
	 * (independent of the access checked): writable, user, executable. */
	bool writable, user, exec;
	bool global, dirty;      /* leaf G and D bits (after any update by this walk) */
	int levels;              /* entries read, top first */
	u64 pte_gpa[GWALK_MAX_LEVELS]; /* where each entry lives (for write-protection) */
	u64 pte[GWALK_MAX_LEVELS];     /* each entry's value as read (before A/D updates) */
};

/*
 * Translates gva for an access of kind acc (GWALK_ACC_*). On success sets the accessed bit in
 * every entry used and the dirty bit in the leaf for a write, exactly as the CPU would, and
 * returns GWALK_OK; on a fault no A/D bit of a faulting walk is set beyond what the CPU sets
 * (SDM 4.8: the CPU may set A bits of entries before the faulting level; this walker sets
 * them only on success). Never writes anything else.
 */
enum gwalk_status gwalk(const struct gwalk_ctx *ctx, const struct gwalk_ops *ops, u64 gva,
			u32 acc, struct gwalk_result *res);

/* The reserved bits of a present PTE (a level-1 entry) in ctx's paging mode: a PTE with one
 * of them set faults with RSVD. For the MMU's prefetch, which reads PTEs without a walk. */
u64 gwalk_pte_rsvd(const struct gwalk_ctx *ctx);

/* Loads the four PAE PDPTEs from cr3 as MOV CR3 does; false (#GP in the guest) when one is
 * present with reserved bits set or is not readable. */
bool gwalk_load_pdptes(const struct gwalk_ops *ops, u64 cr3, u32 maxphyaddr, u64 pdpte[4]);

#endif
