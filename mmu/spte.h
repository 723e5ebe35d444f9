/* spte.h - the shadow page-table entry (spte) encoding: masks, predicates, builders.
 * Policy lives in mmu/mmu.c; this header only says what the bits mean. Pure (host-tested in
 * tests/unit/test_spte.c).
 *
 * Shadow tables use the 64-bit entry format of PAE and 4-level paging (SDM Vol. 3A 4.4, 4.5):
 * a guest without long mode runs on PAE shadow tables, a long-mode guest on 4-level ones.
 *
 * A present spte that maps guest RAM:
 *   bit 0 P, 1 R/W, 2 U/S, 3 PWT, 4 PCD, 5 A, 6 D, 7 PS (only in non-leaf levels: we map 4 KiB
 *   only), 8 G, 9 SPTE_HOST_WRITABLE (the memslot allows writes), 10 SPTE_MMU_WRITABLE (no
 *   shadow page shadows this frame, so it may be made writable), 11 unused,
 *   12..51 host-physical frame, 52..62 unused (zero), 63 XD.
 *
 * An MMIO spte (the frame is in no memslot; KVM's design for shadow paging):
 *   bit 0 (P) and bit 51 set: bit 51 is reserved whenever MAXPHYADDR <= 51, so any access
 *   faults with error code P|RSVD and the hypervisor knows at once it is MMIO;
 *   bit 1 = guest write access allowed, bit 2 = guest user access allowed (cached from the
 *   guest's tables, so the fast path can check permissions without walking them);
 *   bits 12..50 = guest frame number (gfn);
 *   bits 3..10 and 52..62 = the low 19 bits of the memslots generation at creation
 *   (8 low generation bits in 3..10, the next 11 in 52..62).
 *   MMIO_GEN_BITS (default 19; a build option, -DMMIO_GEN_BITS=N with 1 <= N <= 19) narrows
 *   the generation kept, so tests reach wrap-around quickly.
 * The memslots generation's update-in-progress flag (bit 63 of the generation) never goes into
 * an spte: no MMIO spte is created while it is set.
 *
 * A zero spte is not present; the guest's access faults and the fault handler fills it.
 */
#ifndef MMU_SPTE_H
#define MMU_SPTE_H

#include "kernel/types.h"

#define SPTE_P BIT(0)
#define SPTE_RW BIT(1)
#define SPTE_US BIT(2)
#define SPTE_PWT BIT(3)
#define SPTE_PCD BIT(4)
#define SPTE_A BIT(5)
#define SPTE_D BIT(6)
#define SPTE_PS BIT(7)
#define SPTE_G BIT(8)
#define SPTE_HOST_WRITABLE BIT(9)
#define SPTE_MMU_WRITABLE BIT(10)
#define SPTE_XD BIT(63)
#define SPTE_ADDR_MASK GENMASK(51, 12)

#define SPTE_ENTRIES 512
#define SPTE_LEVEL_SHIFT(level) (PAGE_SHIFT + 9 * ((level) - 1))
#define SPTE_INDEX(addr, level) (((addr) >> SPTE_LEVEL_SHIFT(level)) & (SPTE_ENTRIES - 1))

/* MMIO sptes. */
#define SPTE_MMIO_MARK BIT(51)
#define SPTE_MMIO_VALUE (SPTE_P | SPTE_MMIO_MARK)
#define SPTE_MMIO_ACC_W BIT(1)
#define SPTE_MMIO_ACC_U BIT(2)
#define SPTE_MMIO_GFN_MASK GENMASK(50, 12)
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
_Static_assert((SPTE_MMIO_GEN_LOW_MASK & SPTE_MMIO_GFN_MASK) == 0, "gen/gfn overlap");
_Static_assert((SPTE_MMIO_GEN_HIGH_MASK & SPTE_MMIO_GFN_MASK) == 0, "gen/gfn overlap");
_Static_assert(((SPTE_MMIO_GEN_LOW_MASK | SPTE_MMIO_GEN_HIGH_MASK) &
		(SPTE_MMIO_VALUE | SPTE_MMIO_ACC_W | SPTE_MMIO_ACC_U)) == 0, "gen/flag overlap");
_Static_assert((SPTE_MMIO_GFN_MASK & SPTE_MMIO_MARK) == 0, "gfn/mark overlap");

static inline bool is_shadow_present(u64 spte) { return spte & SPTE_P; }

static inline bool is_mmio_spte(u64 spte)
{
	return (spte & SPTE_MMIO_VALUE) == SPTE_MMIO_VALUE;
}

static inline hpa_t spte_hpa(u64 spte) { return spte & SPTE_ADDR_MASK; }

/* The low MMIO_GEN_BITS of a memslots generation, as stored in an MMIO spte. */
static inline u64 mmio_gen_of(u64 memslots_gen) { return memslots_gen & MMIO_GEN_MASK; }

static inline u64 make_mmio_spte(gfn_t gfn, bool write, bool user, u64 memslots_gen)
{
	u64 gen = mmio_gen_of(memslots_gen);
	u64 spte = SPTE_MMIO_VALUE | ((gfn << PAGE_SHIFT) & SPTE_MMIO_GFN_MASK);
	spte |= (gen << SPTE_MMIO_GEN_LOW_SHIFT) & SPTE_MMIO_GEN_LOW_MASK;
	spte |= ((gen >> SPTE_MMIO_GEN_LOW_BITS) << SPTE_MMIO_GEN_HIGH_SHIFT) &
		SPTE_MMIO_GEN_HIGH_MASK;
	if (write)
		spte |= SPTE_MMIO_ACC_W;
	if (user)
		spte |= SPTE_MMIO_ACC_U;
	return spte;
}

static inline gfn_t mmio_spte_gfn(u64 spte) { return (spte & SPTE_MMIO_GFN_MASK) >> PAGE_SHIFT; }

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
