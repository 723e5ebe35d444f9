/* spte.h - the shadow page-table entry (spte) encoding: masks, predicates, builders.
 * Policy lives in mmu/mmu.c; this header only says what the bits mean. Pure, but for one
 * value set at boot, the MMIO spte layout (spte_mmio_layout, "L1TF" below); host-tested in
 * tests/unit/test_spte.c.
 *
 * Shadow tables use the 64-bit entry format of PAE and 4-level paging (SDM Vol. 3A 4.4, 4.5):
 * a guest without long mode runs on PAE shadow tables, a long-mode guest on 4-level ones.
 *
 * A present spte that maps guest RAM:
 *   bit 0 P, 1 R/W, 2 U/S, 3 PWT, 4 PCD, 5 A, 6 D, 7 PS (only in non-leaf levels: we map 4 KiB
 *   only), 8 G, 9 SPTE_HOST_WRITABLE (the memslot allows writes), 10 SPTE_MMU_WRITABLE (no
 *   shadow page shadows this frame, so it may be made writable), 11 SPTE_GUEST_WRITABLE (a
 *   read-only leaf that the guest's tables let it write, D set: read-only only because the
 *   frame holds a shadowed guest table; a write fault on it needs no walk),
 *   12..51 host-physical frame, 52..62 unused (zero), 63 XD.
 *
 * An MMIO spte (the frame is in no memslot; KVM's design for shadow paging), for an L1D
 * cache address width C (see "L1TF" below; 44 <= C <= 51):
 *   bit 0 (P) and bit 51 set: bit 51 is reserved whenever MAXPHYADDR <= 51, so any access
 *   faults with error code P|RSVD and the hypervisor knows at once it is MMIO;
 *   bit 1 = guest write access allowed, bit 2 = guest user access allowed (cached from the
 *   guest's tables, so the fast path can check permissions without walking them);
 *   bits 12..C-6 = gpa bits 12..C-6 (the gfn's low part, in place);
 *   bits C-5..C-1 = all ones (L1TF);
 *   bits C..50 = gpa bits C-5..45 (the gfn's high part, shifted up by 5): a gpa of 46 bits or
 *   more (gfn >= 2^34) cannot be cached at all (mmio_spte_gfn_fits());
 *   bits 3..10 and 52..62 = the low 19 bits of the memslots generation at creation
 *   (8 low generation bits in 3..10, the next 11 in 52..62).
 *   MMIO_GEN_BITS (default 19; a build option, -DMMIO_GEN_BITS=N with 1 <= N <= 19) narrows
 *   the generation kept, so tests reach wrap-around quickly. Only mmu/ may use it and the
 *   generation helpers (mmio_gen_of, mmio_spte_current): everything else asks the MMU
 *   (mmu_mmio_spte_current, mmu_mmio_gen_bits), so the width is one fact per build
 *   (scripts/check-mmio-gen.sh enforces it).
 * The memslots generation's update-in-progress flag (bit 63 of the generation) never goes into
 * an spte: no MMIO spte is created while it is set.
 *
 * L1TF (L1 Terminal Fault, Intel SA-00161): a load through an entry whose walk ends in a
 * terminal fault (not present, or a reserved bit set, as in every MMIO spte) may still be
 * executed speculatively with the address bits of that entry, from the L1D cache. An MMIO
 * spte's address bits hold a guest-chosen gfn, so the guest could pick a host address to
 * probe. As KVM does (shadow_nonpresent_or_rsvd_mask, 5 bits), every MMIO spte sets the 5
 * address bits just below the L1D's address width C, so the address such a load uses lies in
 * the top 1/32 of the cacheable physical space, where no RAM is. C is MAXPHYADDR but at least
 * 44: some CPUs report MAXPHYADDR 36 while their L1D uses 44 address bits (Linux's
 * x86_cache_bits override). C is known only at boot, so the layout is a runtime value,
 * spte_mmio_layout, set once by spte_init_mmio() from mmu_init(); until then it is the layout
 * for C = 44. The gfn bits that would fall in [C-5, C) move up by 5 instead, which is why a
 * gpa must be below 2^46 to be cached (a guest wider than 46 bits takes the slow path for
 * frames above: mmu.c install_mmio()).
 *
 * Empty sptes: an entry with nothing built under it yet is either zero or the TRAP spte.
 * With pf_bypass (mmu.c, "Reflected faults without an exit"; KVM's former bypass_guest_pf)
 * the two mean different things, and the CPU tells them apart by the fault's error code:
 *   TRAP (P, bit 51, bit 63 and the L1TF bits; never an MMIO spte, whose bit 63 is 0): not
 *     built yet. An access faults with P|RSVD and exits; the fault handler builds it.
 *   zero ("notrap"): the guest's own entry here is not present. An access faults with P=0,
 *     and the page-fault error-code mask/match deliver such a fault straight to the guest,
 *     without an exit. Only where the guest's entry is known not present (and its table is
 *     write-protected, so that a write making it present is seen).
 * Without pf_bypass every empty spte is zero and every #PF exits.
 */
#ifndef MMU_SPTE_H
#define MMU_SPTE_H

#include "arch/types.h"
#include "arch/x86.h" /* PTE_*: a shadow entry is a 4-level paging entry the CPU walks */

/* Hardware bits: the architectural ones (arch/x86.h), under the shadow's names. */
#define SPTE_P PTE_P
#define SPTE_RW PTE_RW
#define SPTE_US PTE_US
#define SPTE_PWT PTE_PWT
#define SPTE_PCD PTE_PCD
#define SPTE_A PTE_A
#define SPTE_D PTE_D
#define SPTE_PS PTE_PS
#define SPTE_G PTE_G
#define SPTE_XD PTE_XD
#define SPTE_ADDR_MASK PTE_ADDR_64
/* Software bits, ignored by the CPU in PAE and 4-level entries (SDM Vol. 3A, 4.4, 4.5). */
#define SPTE_HOST_WRITABLE BIT(9)
#define SPTE_MMU_WRITABLE BIT(10)
#define SPTE_GUEST_WRITABLE BIT(11)
_Static_assert(!((SPTE_HOST_WRITABLE | SPTE_MMU_WRITABLE | SPTE_GUEST_WRITABLE) &
		 (SPTE_P | SPTE_RW | SPTE_US | SPTE_PWT | SPTE_PCD | SPTE_A | SPTE_D | SPTE_PS |
		  SPTE_G | SPTE_XD | SPTE_ADDR_MASK)),
	       "software spte bits overlap hardware bits");

#define SPTE_ENTRIES 512
#define SPTE_LEVEL_SHIFT(level) (PAGE_SHIFT + 9 * ((level) - 1))
#define SPTE_INDEX(addr, level) (((addr) >> SPTE_LEVEL_SHIFT(level)) & (SPTE_ENTRIES - 1))

/* MMIO sptes (and the TRAP spte below). */
#define SPTE_MMIO_MARK BIT(51)
#define SPTE_MMIO_VALUE (SPTE_P | SPTE_MMIO_MARK)
#define SPTE_MMIO_ACC_W BIT(1)
#define SPTE_MMIO_ACC_U BIT(2)
#define SPTE_MMIO_ADDR_FIELD GENMASK(50, 12) /* gfn parts and L1TF bits, for every C */
#define SPTE_MMIO_GEN_LOW_SHIFT 3   /* generation bits 0..7 -> spte bits 3..10 */
#define SPTE_MMIO_GEN_LOW_BITS 8
#define SPTE_MMIO_GEN_HIGH_SHIFT 52 /* generation bits 8..18 -> spte bits 52..62 */
#define SPTE_MMIO_GEN_MAX_BITS 19

#ifndef MMIO_GEN_BITS
#define MMIO_GEN_BITS SPTE_MMIO_GEN_MAX_BITS
#endif
_Static_assert(MMIO_GEN_BITS >= 1 && MMIO_GEN_BITS <= SPTE_MMIO_GEN_MAX_BITS,
	       "MMIO_GEN_BITS must be 1..19");
#define MMIO_GEN_MASK ((1ULL << MMIO_GEN_BITS) - 1)

#define SPTE_MMIO_GEN_LOW_MASK GENMASK(10, 3)
#define SPTE_MMIO_GEN_HIGH_MASK GENMASK(62, 52)
#define SPTE_MMIO_FLAGS (SPTE_MMIO_VALUE | SPTE_MMIO_ACC_W | SPTE_MMIO_ACC_U)
_Static_assert((SPTE_MMIO_GEN_LOW_MASK & SPTE_MMIO_ADDR_FIELD) == 0, "gen/gfn overlap");
_Static_assert((SPTE_MMIO_GEN_HIGH_MASK & SPTE_MMIO_ADDR_FIELD) == 0, "gen/gfn overlap");
_Static_assert(((SPTE_MMIO_GEN_LOW_MASK | SPTE_MMIO_GEN_HIGH_MASK) & SPTE_MMIO_FLAGS) == 0,
	       "gen/flag overlap");
_Static_assert((SPTE_MMIO_ADDR_FIELD & SPTE_MMIO_FLAGS) == 0, "gfn/flag (or mark) overlap");
_Static_assert((SPTE_MMIO_GEN_LOW_MASK & SPTE_MMIO_GEN_HIGH_MASK) == 0, "gen/gen overlap");

/*
 * The L1TF part of the MMIO spte layout (see the header comment), for an L1D address width C.
 * SPTE_MMIO_GPA_BITS: an MMIO spte holds gpas below 2^46 (51 address bits minus the 5).
 */
#define SPTE_L1TF_RSVD_BITS 5        /* KVM's SHADOW_NONPRESENT_OR_RSVD_MASK_LEN */
#define SPTE_L1TF_CACHE_BITS_MIN 44  /* some CPUs' L1D is wider than their MAXPHYADDR */
#define SPTE_L1TF_CACHE_BITS_MAX 51  /* bit 51 is the MMIO mark */
#define SPTE_MMIO_GPA_BITS (51 - SPTE_L1TF_RSVD_BITS)
#define SPTE_MMIO_RSVD_MASK(c) GENMASK((c) - 1, (c) - SPTE_L1TF_RSVD_BITS)
#define SPTE_MMIO_LOW_GPA_MASK(c) GENMASK((c) - SPTE_L1TF_RSVD_BITS - 1, PAGE_SHIFT)
#define SPTE_MMIO_HIGH_GPA_MASK(c) GENMASK(SPTE_MMIO_GPA_BITS - 1, (c) - SPTE_L1TF_RSVD_BITS)
#define SPTE_MMIO_LAYOUT(c) { (c), SPTE_MMIO_RSVD_MASK(c), SPTE_MMIO_LOW_GPA_MASK(c), \
			      SPTE_MMIO_HIGH_GPA_MASK(c) }

/* For every C: the L1TF bits, the low gpa part in place and the high one shifted up by 5 are
 * disjoint and fill exactly SPTE_MMIO_ADDR_FIELD (so, by the asserts above, never touch the
 * mark, the generation or the flags); the high part shifted stays below bit 51. */
#define SPTE_MMIO_LAYOUT_OK(c)                                                                  \
	((SPTE_MMIO_RSVD_MASK(c) & SPTE_MMIO_LOW_GPA_MASK(c)) == 0 &&                           \
	 (SPTE_MMIO_RSVD_MASK(c) & (SPTE_MMIO_HIGH_GPA_MASK(c) << SPTE_L1TF_RSVD_BITS)) == 0 && \
	 (SPTE_MMIO_LOW_GPA_MASK(c) & (SPTE_MMIO_HIGH_GPA_MASK(c) << SPTE_L1TF_RSVD_BITS)) == 0 && \
	 (SPTE_MMIO_RSVD_MASK(c) | SPTE_MMIO_LOW_GPA_MASK(c) |                                   \
	  (SPTE_MMIO_HIGH_GPA_MASK(c) << SPTE_L1TF_RSVD_BITS)) == SPTE_MMIO_ADDR_FIELD &&          \
	 (SPTE_MMIO_LOW_GPA_MASK(c) | SPTE_MMIO_HIGH_GPA_MASK(c)) ==                             \
	  GENMASK(SPTE_MMIO_GPA_BITS - 1, PAGE_SHIFT))
_Static_assert(SPTE_MMIO_LAYOUT_OK(44) && SPTE_MMIO_LAYOUT_OK(45) && SPTE_MMIO_LAYOUT_OK(46) &&
	       SPTE_MMIO_LAYOUT_OK(47) && SPTE_MMIO_LAYOUT_OK(48) && SPTE_MMIO_LAYOUT_OK(49) &&
	       SPTE_MMIO_LAYOUT_OK(50) && SPTE_MMIO_LAYOUT_OK(51), "MMIO spte layout overlap");
_Static_assert(SPTE_L1TF_CACHE_BITS_MIN - SPTE_L1TF_RSVD_BITS > PAGE_SHIFT &&
	       SPTE_L1TF_CACHE_BITS_MAX <= 51, "L1TF bits must lie inside the address field");

/* Invariants: rsvd_mask, low_gpa_mask and high_gpa_mask are SPTE_MMIO_LAYOUT(cache_bits)
 * with SPTE_L1TF_CACHE_BITS_MIN <= cache_bits <= SPTE_L1TF_CACHE_BITS_MAX. */
struct spte_mmio_layout {
	u32 cache_bits;     /* C: the L1D's physical address width */
	u64 rsvd_mask;      /* spte bits [C-5, C): set in every MMIO spte */
	u64 low_gpa_mask;   /* gpa bits [12, C-5): kept in place */
	u64 high_gpa_mask;  /* gpa bits [C-5, 46): kept shifted up by SPTE_L1TF_RSVD_BITS */
};
/* The layout in use: defined (for C = 44) in mmu/mmu.c, set at boot by spte_init_mmio().
 * A host test that does not link mmu.c defines its own. */
extern struct spte_mmio_layout spte_mmio_layout;

/* The L1D address width for a CPU reporting maxphyaddr: at least 44 (Linux raises
 * x86_cache_bits to 44 for CPUs whose MAXPHYADDR is smaller than their L1D's width), at most
 * 51 (with MAXPHYADDR 52 there are no MMIO sptes at all). */
static inline u32 spte_l1tf_cache_bits(u32 maxphyaddr)
{
	if (maxphyaddr < SPTE_L1TF_CACHE_BITS_MIN)
		return SPTE_L1TF_CACHE_BITS_MIN;
	return maxphyaddr > SPTE_L1TF_CACHE_BITS_MAX ? SPTE_L1TF_CACHE_BITS_MAX : maxphyaddr;
}

/* Sets the MMIO spte layout for this CPU. Called once at boot (mmu_init), before any MMIO
 * spte exists: sptes made with another layout would decode wrongly. */
static inline void spte_init_mmio(u32 maxphyaddr)
{
	u32 c = spte_l1tf_cache_bits(maxphyaddr);
	spte_mmio_layout = (struct spte_mmio_layout)SPTE_MMIO_LAYOUT(c);
}

/* The TRAP spte: "not built yet" (see the header comment). P and the reserved bit 51 make
 * every access through it fault with P|RSVD, at any level; bit 63 (XD, or reserved without
 * NX) sets it apart from every MMIO spte; the L1TF bits put the address a speculative load
 * would use where no RAM is, as for MMIO sptes. */
#define SPTE_TRAP_ID (SPTE_P | SPTE_MMIO_MARK | SPTE_XD)
static inline u64 spte_trap(void) { return SPTE_TRAP_ID | spte_mmio_layout.rsvd_mask; }
static inline bool is_trap_spte(u64 spte) { return (spte & SPTE_TRAP_ID) == SPTE_TRAP_ID; }

/* An spte with something built: a RAM leaf, an MMIO spte or a link to a child table. Zero
 * and TRAP are empty. */
static inline bool is_shadow_present(u64 spte)
{
	return (spte & SPTE_P) && !is_trap_spte(spte);
}

static inline bool is_mmio_spte(u64 spte)
{
	return (spte & (SPTE_MMIO_VALUE | SPTE_XD)) == SPTE_MMIO_VALUE;
}

static inline hpa_t spte_hpa(u64 spte) { return spte & SPTE_ADDR_MASK; }

/* The low MMIO_GEN_BITS of a memslots generation, as stored in an MMIO spte. */
static inline u64 mmio_gen_of(u64 memslots_gen) { return memslots_gen & MMIO_GEN_MASK; }

/* True when an MMIO spte can cache gfn: its gpa is below 2^46 (see "L1TF" above). */
static inline bool mmio_spte_gfn_fits(gfn_t gfn)
{
	return gfn < (1ULL << (SPTE_MMIO_GPA_BITS - PAGE_SHIFT));
}

/* An MMIO spte for gfn (which must fit: mmio_spte_gfn_fits; higher bits are dropped). */
static inline u64 make_mmio_spte(gfn_t gfn, bool write, bool user, u64 memslots_gen)
{
	const struct spte_mmio_layout *l = &spte_mmio_layout;
	u64 gen = mmio_gen_of(memslots_gen), gpa = gfn << PAGE_SHIFT;
	u64 spte = SPTE_MMIO_VALUE | l->rsvd_mask | (gpa & l->low_gpa_mask) |
		   ((gpa & l->high_gpa_mask) << SPTE_L1TF_RSVD_BITS);
	spte |= (gen << SPTE_MMIO_GEN_LOW_SHIFT) & SPTE_MMIO_GEN_LOW_MASK;
	spte |= ((gen >> SPTE_MMIO_GEN_LOW_BITS) << SPTE_MMIO_GEN_HIGH_SHIFT) &
		SPTE_MMIO_GEN_HIGH_MASK;
	if (write)
		spte |= SPTE_MMIO_ACC_W;
	if (user)
		spte |= SPTE_MMIO_ACC_U;
	return spte;
}

/* The gfn an MMIO spte caches: the only decoder (the fast path, the audit, the monitor). */
static inline gfn_t mmio_spte_gfn(u64 spte)
{
	const struct spte_mmio_layout *l = &spte_mmio_layout;
	u64 gpa = (spte & l->low_gpa_mask) | ((spte >> SPTE_L1TF_RSVD_BITS) & l->high_gpa_mask);
	return gpa >> PAGE_SHIFT;
}

static inline u64 mmio_spte_gen(u64 spte)
{
	return ((spte & SPTE_MMIO_GEN_LOW_MASK) >> SPTE_MMIO_GEN_LOW_SHIFT) |
	       (((spte & SPTE_MMIO_GEN_HIGH_MASK) >> SPTE_MMIO_GEN_HIGH_SHIFT)
		<< SPTE_MMIO_GEN_LOW_BITS);
}

/* An MMIO spte is current when its generation equals the low bits of the memslots
 * generation and no memslot update is in progress. */
static inline bool mmio_spte_current(u64 spte, u64 memslots_gen)
{
	return !(memslots_gen & BIT(63)) && mmio_spte_gen(spte) == mmio_gen_of(memslots_gen);
}

/* A leaf spte mapping host frame hpa with the given effective guest permissions. */
static inline u64 make_leaf_spte(hpa_t hpa, bool write, bool user, bool exec, bool host_writable,
				 bool mmu_writable)
{
	u64 spte = SPTE_P | SPTE_A | (hpa & SPTE_ADDR_MASK);
	if (write && host_writable && mmu_writable)
		spte |= SPTE_RW | SPTE_D;
	if (user)
		spte |= SPTE_US;
	if (!exec)
		spte |= SPTE_XD;
	if (host_writable)
		spte |= SPTE_HOST_WRITABLE;
	if (mmu_writable)
		spte |= SPTE_MMU_WRITABLE;
	return spte;
}

/* A non-leaf spte pointing at a shadow table. Permissions are granted at the leaf only. */
static inline u64 make_nonleaf_spte(hpa_t table) { return table | SPTE_P | SPTE_RW | SPTE_US | SPTE_A; }

/* A PAE PDPTE (shadow root entry of a 32-bit guest): only P, PWT, PCD may be set. */
static inline u64 make_pdpte(hpa_t table) { return table | SPTE_P; }

#endif
