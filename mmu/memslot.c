/* memslot.c - the memslot manager: a sorted array of guest-physical ranges and its generation. */
#include "mmu/memslot.h"
#include "kernel/lib.h"

/* Stores *why (when the caller gave somewhere to put it) and returns -1: the refusal path. */
static int refuse(const char **why, const char *reason)
{
	if (why)
		*why = reason;
	return -1;
}

/* Index of the slot with this id, or -1. Ids are not sorted: linear, at most MEMSLOT_MAX. */
static int index_of_id(const struct memslot_set *s, u32 id)
{
	for (int i = 0; i < s->n; i++)
		if (s->slots[i].id == id)
			return i;
	return -1;
}

/* Index of the first slot whose base_gfn is > gfn (0..n): where a slot at gfn is inserted. */
static int upper_bound(const struct memslot_set *s, gfn_t gfn)
{
	int lo = 0, hi = s->n;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (s->slots[mid].base_gfn <= gfn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Checks that [base, base + npages) is a legal range for this set; NULL when it is, else the
 * reason. Order: wrap first, so a wrapping range is reported as such and not as "beyond max_gfn".
 */
static const char *range_error(const struct memslot_set *s, gfn_t base, u64 npages)
{
	if (npages == 0)
		return "memslot has zero pages";
	if (base + npages < base)
		return "memslot range wraps around the gfn space";
	if (base >= s->max_gfn || npages > s->max_gfn - base)
		return "memslot range beyond guest max_gfn";
	return NULL;
}

/* True when [base, base + npages) meets any slot other than slots[skip]; skip = -1 skips none. */
static bool overlaps_other(const struct memslot_set *s, gfn_t base, u64 npages, int skip)
{
	gfn_t end = base + npages;	/* range_error() ran first: no wrap */
	for (int i = 0; i < s->n; i++) {
		const struct memslot *o = &s->slots[i];
		if (i != skip && base < o->base_gfn + o->npages && o->base_gfn < end)
			return true;
	}
	return false;
}

/* Opens a hole at slots[i] (n < MEMSLOT_MAX) and stores m there. */
static void insert_at(struct memslot_set *s, int i, const struct memslot *m)
{
	memmove(&s->slots[i + 1], &s->slots[i], (size_t)(s->n - i) * sizeof(s->slots[0]));
	s->slots[i] = *m;
	s->n++;
}

/* Closes slots[i] and clears the vacated last entry, so unused entries hold no stale slot. */
static void remove_at(struct memslot_set *s, int i)
{
	memmove(&s->slots[i], &s->slots[i + 1], (size_t)(s->n - i - 1) * sizeof(s->slots[0]));
	s->n--;
	memset(&s->slots[s->n], 0, sizeof(s->slots[0]));
}

/*
 * Why atomics in a single-writer module: the intermediate UPDATE_IN_PROGRESS value is never
 * read back here, so plain stores could legally be merged into the final one. The release store
 * and fence keep it as a real store that is visible before any slot changes, as KVM relies on
 * (the caller still serializes writers).
 */
static void update_begin(struct memslot_set *s)
{
	__atomic_store_n(&s->generation, s->generation | MEMSLOT_GEN_UPDATE_IN_PROGRESS,
			 __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void update_end(struct memslot_set *s)
{
	__atomic_store_n(&s->generation, (s->generation & ~MEMSLOT_GEN_UPDATE_IN_PROGRESS) + 1,
			 __ATOMIC_RELEASE);
}

/* Empty set, generation 0; max_gfn = 2^(phys_bits - 12). phys_bits is trusted (32..52). */
void memslot_init(struct memslot_set *s, u32 phys_bits)
{
	memset(s, 0, sizeof(*s));
	s->max_gfn = BIT(phys_bits - PAGE_SHIFT);
}

/* Reason m cannot be added to s, or NULL. Table-wide rules first, then the slot's own fields. */
static const char *add_error(const struct memslot_set *s, const struct memslot *m)
{
	if (s->n >= MEMSLOT_MAX)
		return "memslot table full";
	if (m->flags & ~MEMSLOT_F_ALL)
		return "unknown memslot flag";
	if (m->id > MEMSLOT_ID_MAX)
		return "memslot id above MEMSLOT_ID_MAX";
	if (index_of_id(s, m->id) >= 0)
		return "memslot id already in use";
	if (m->hpa & (PAGE_SIZE - 1))
		return "memslot hpa not page-aligned";
	const char *e = range_error(s, m->base_gfn, m->npages);
	if (e)
		return e;
	if (overlaps_other(s, m->base_gfn, m->npages, -1))
		return "range overlaps another memslot";
	return NULL;
}

/*
 * Adds *m (copied) at its sorted position. Refuses (-1, *why, nothing changed) a full table, an
 * unknown flag, an id above MEMSLOT_ID_MAX or already in use, a misaligned hpa, zero pages, a
 * range that wraps or passes max_gfn, or one that overlaps a slot. 0 and generation + 1 on success.
 */
int memslot_add(struct memslot_set *s, const struct memslot *m, const char **why)
{
	const char *e = add_error(s, m);
	if (e)
		return refuse(why, e);
	update_begin(s);
	insert_at(s, upper_bound(s, m->base_gfn), m);
	update_end(s);
	return 0;
}

/* Removes the slot with this id; its frames become MMIO. Refuses an unknown id. */
int memslot_delete(struct memslot_set *s, u32 id, const char **why)
{
	int i = index_of_id(s, id);
	if (i < 0)
		return refuse(why, "no memslot with this id");
	update_begin(s);
	remove_at(s, i);
	update_end(s);
	return 0;
}

/*
 * Moves the slot with this id to new_base_gfn, keeping its size, flags and hpa (the backing
 * follows). The new range may overlap the slot's own old range but no other slot; it must not
 * wrap or pass max_gfn. Refused requests change nothing.
 */
int memslot_move(struct memslot_set *s, u32 id, gfn_t new_base_gfn, const char **why)
{
	int i = index_of_id(s, id);
	if (i < 0)
		return refuse(why, "no memslot with this id");
	struct memslot m = s->slots[i];
	const char *e = range_error(s, new_base_gfn, m.npages);
	if (e)
		return refuse(why, e);
	if (overlaps_other(s, new_base_gfn, m.npages, i))
		return refuse(why, "range overlaps another memslot");
	update_begin(s);
	remove_at(s, i);
	m.base_gfn = new_base_gfn;
	insert_at(s, upper_bound(s, new_base_gfn), &m);
	update_end(s);
	return 0;
}

/*
 * Gives the slot with this id new_npages pages backed at new_hpa, base_gfn unchanged. Refuses an
 * unknown id, zero pages, a misaligned new_hpa, a range that wraps or passes max_gfn, or growth
 * into another slot. The sorted position cannot change, so the slot is rewritten in place.
 */
int memslot_resize(struct memslot_set *s, u32 id, u64 new_npages, hpa_t new_hpa,
		   const char **why)
{
	int i = index_of_id(s, id);
	if (i < 0)
		return refuse(why, "no memslot with this id");
	if (new_hpa & (PAGE_SIZE - 1))
		return refuse(why, "memslot hpa not page-aligned");
	const char *e = range_error(s, s->slots[i].base_gfn, new_npages);
	if (e)
		return refuse(why, e);
	if (overlaps_other(s, s->slots[i].base_gfn, new_npages, i))
		return refuse(why, "range overlaps another memslot");
	update_begin(s);
	s->slots[i].npages = new_npages;
	s->slots[i].hpa = new_hpa;
	update_end(s);
	return 0;
}

/* The slot holding gfn, or NULL: the last slot starting at or below gfn, if gfn is inside it. */
const struct memslot *memslot_lookup(const struct memslot_set *s, gfn_t gfn)
{
	int i = upper_bound(s, gfn) - 1;
	if (i < 0)
		return NULL;
	const struct memslot *m = &s->slots[i];
	return gfn - m->base_gfn < m->npages ? m : NULL;
}

/* The slot with this id, or NULL. */
const struct memslot *memslot_by_id(const struct memslot_set *s, u32 id)
{
	int i = index_of_id(s, id);
	return i < 0 ? NULL : &s->slots[i];
}

/* The per-slot invariants: size, alignment, known flags, id range, inside max_gfn. */
static bool inv_slot(const struct memslot_set *s, const struct memslot *m)
{
	return !(m->flags & ~MEMSLOT_F_ALL) && m->id <= MEMSLOT_ID_MAX &&
	       !(m->hpa & (PAGE_SIZE - 1)) && !range_error(s, m->base_gfn, m->npages);
}

/*
 * True when the set obeys memslot.h's invariants: 0 <= n <= MEMSLOT_MAX; every slot valid on
 * its own (inv_slot); each slot ends at or before the next one's base (sorted and disjoint in one
 * test, since npages > 0); ids unique; generation's UPDATE_IN_PROGRESS bit clear.
 */
bool inv_memslots(const struct memslot_set *s)
{
	if (s->n < 0 || s->n > MEMSLOT_MAX || (s->generation & MEMSLOT_GEN_UPDATE_IN_PROGRESS))
		return false;
	for (int i = 0; i < s->n; i++) {
		const struct memslot *m = &s->slots[i];
		if (!inv_slot(s, m))
			return false;
		if (i > 0 && s->slots[i - 1].base_gfn + s->slots[i - 1].npages > m->base_gfn)
			return false;
		for (int j = 0; j < i; j++)
			if (s->slots[j].id == m->id)
				return false;
	}
	return true;
}
