/* memslot.h - the memslot manager: guest-physical ranges backed by host memory; every other
 * guest frame is MMIO. Pure (no hardware access): host-tested in tests/unit/test_memslot.c. */
#ifndef MMU_MEMSLOT_H
#define MMU_MEMSLOT_H

#include "arch/types.h"

#define MEMSLOT_MAX 64                 /* slots in one set */
#define MEMSLOT_ID_MAX 0xffff          /* ids are 0..MEMSLOT_ID_MAX */
#define MEMSLOT_F_READONLY BIT(0)      /* ROM: guest writes are MMIO writes (ignored) */
#define MEMSLOT_F_ALL MEMSLOT_F_READONLY

/*
 * The memslots generation (KVM's scheme). Bit 63 is "update in progress": set while a change
 * is under way, so that anything cached during the change carries a generation that can never
 * equal a later one. Bits 62:0 count completed changes, one per change.
 * Invariant: outside memslot_* calls, bit 63 is clear.
 */
#define MEMSLOT_GEN_UPDATE_IN_PROGRESS BIT(63)

struct memslot {
	u32 id;
	u32 flags;
	gfn_t base_gfn;
	u64 npages;
	hpa_t hpa;      /* host-physical address of base_gfn; page aligned */
};

/*
 * Invariants (inv_memslots() checks them): slots[0..n) sorted by base_gfn, non-overlapping,
 * each npages > 0, base_gfn + npages <= max_gfn, ids unique, hpa page-aligned.
 */
struct memslot_set {
	struct memslot slots[MEMSLOT_MAX];
	int n;
	gfn_t max_gfn;  /* exclusive limit on guest frames (guest MAXPHYADDR) */
	u64 generation;
};

/* Empty set; max_gfn from the guest's physical-address width in bits (e.g. 36..52). */
void memslot_init(struct memslot_set *s, u32 phys_bits);

/*
 * Changes. Each validates the request first; a refused request returns -1 with a one-line
 * reason in *why (a static string) and changes nothing, generation included. A successful one
 * bumps the generation by exactly one (passing through UPDATE_IN_PROGRESS while it applies)
 * and returns 0.
 *  add:    new slot; id unused and <= MEMSLOT_ID_MAX; npages > 0; hpa page-aligned; range
 *          inside max_gfn; no overlap; no unknown flag; fewer than MEMSLOT_MAX slots.
 *  delete: id must exist.
 *  move:   id must exist; the moved range must fit and not overlap another slot (it may
 *          overlap its own old range). The backing (hpa) moves with the slot.
 *  resize: id must exist; new_npages > 0; must fit and not overlap another slot; the caller
 *          supplies new_hpa, page-aligned (the backing may move when a slot grows).
 * why may be NULL. Changes are made in place: the caller serializes changes and lookups (one
 * vCPU, changes only inside exit handlers), and pointers returned by memslot_lookup() and
 * memslot_by_id() are valid only until the next change.
 */
int memslot_add(struct memslot_set *s, const struct memslot *m, const char **why);
int memslot_delete(struct memslot_set *s, u32 id, const char **why);
int memslot_move(struct memslot_set *s, u32 id, gfn_t new_base_gfn, const char **why);
int memslot_resize(struct memslot_set *s, u32 id, u64 new_npages, hpa_t new_hpa,
		   const char **why);

/* The slot holding gfn, or NULL (the frame is MMIO). O(log n) binary search, no allocation. */
const struct memslot *memslot_lookup(const struct memslot_set *s, gfn_t gfn);
/* The slot with this id, or NULL. */
const struct memslot *memslot_by_id(const struct memslot_set *s, u32 id);
/* host-physical address of gfn inside slot m (gfn must be inside m). */
static inline hpa_t memslot_gfn_to_hpa(const struct memslot *m, gfn_t gfn)
{
	return m->hpa + ((gfn - m->base_gfn) << PAGE_SHIFT);
}

/* True when every invariant above holds. */
bool inv_memslots(const struct memslot_set *s);

#endif
