/* SOURCES: mmu/memslot.c */
/*
 * fuzz_memslot.c - mmu/memslot.c: the input is a sequence of add / delete / move / resize
 * requests on one memslot set, each checked against a reference model kept here: an unsorted
 * list of slots that decides from memslot.h's rules alone whether a request must succeed.
 *
 * Input: [0] phys_bits = 32 + b % 21, then 8-byte requests:
 *   [0]    bits 0-1: add, delete, move, resize; bit 2: why = NULL; bits 3-7: id (see id_of)
 *   [1..2] a gfn (see gfn_of)       [3..4] a page count (see count_of)
 *   [5..6] hpa: page number, bit 15: misaligned by 1 + (b7 & 0x3f)
 *   [7]    bits 6-7: id ranges (see id_of); bit 5: one arbitrary flag bit
 *          (b7 & 31), else bit 0: MEMSLOT_F_READONLY
 * Values are drawn mostly from a small gfn space (0..1023) so that slots meet, plus the edges
 * of max_gfn and of the 64-bit space.
 *
 * Invariants (abort on violation), after every request:
 *   - inv_memslots() holds; slots past n are all zero;
 *   - the request succeeds exactly when the model says it must;
 *   - a refused one returns -1 with a non-empty *why and leaves the set byte-identical,
 *     generation included; a successful one returns 0 and bumps the generation by exactly 1;
 *   - the set holds the model's slots: memslot_by_id() finds each with its fields, and
 *     memslot_lookup() agrees with the model at the edges of the ranges the request named
 *     and of max_gfn (after the last request: at every slot's edges and for every gfn below
 *     LOOKUP_SPAN); memslot_gfn_to_hpa() too.
 */
#include "fuzz.h"

#include "mmu/memslot.h"

#define REQ_SIZE 8
#define LOOKUP_SPAN 1300 /* gfns up to 1023 + counts up to 255 */
#define MAX_REQS 256

static struct memslot_set set, before;

/* The model: slots in no particular order. */
static struct memslot model[MEMSLOT_MAX + 1];
static int nmodel;

static int model_find_id(u32 id)
{
	for (int i = 0; i < nmodel; i++)
		if (model[i].id == id)
			return i;
	return -1;
}

static bool model_fits(gfn_t base, u64 npages)
{
	return npages > 0 && base + npages >= base && base + npages <= set.max_gfn;
}

/* Whether [base, base + npages) meets a model slot other than the one at index skip. */
static bool model_overlaps(gfn_t base, u64 npages, int skip)
{
	for (int i = 0; i < nmodel; i++) {
		if (i == skip)
			continue;
		const struct memslot *o = &model[i];
		if (base < o->base_gfn + o->npages && o->base_gfn < base + npages)
			return true;
	}
	return false;
}

static const struct memslot *model_lookup(gfn_t gfn)
{
	for (int i = 0; i < nmodel; i++)
		if (gfn >= model[i].base_gfn && gfn - model[i].base_gfn < model[i].npages)
			return &model[i];
	return NULL;
}

/* ---- Values from the input ---- */

/* 96 valid ids (enough to fill the table) and invalid ones. */
static u32 id_of(u8 sel, u8 extra)
{
	u32 id = sel >> 3; /* 0..31: ids meet often */
	switch (extra >> 6) {
	case 1: return MEMSLOT_ID_MAX - id;
	case 2: return 32 + id;
	case 3: return (id & 1) ? MEMSLOT_ID_MAX + 1 + id : 0xffffffffu - id;
	default: return id;
	}
}

static u64 edge(u16 v, u64 small)
{
	switch (v >> 14) {
	case 2: return set.max_gfn - (v & 0xff);
	case 3: return ~0ULL - (v & 0xff);
	default: return small;
	}
}

static gfn_t gfn_of(u16 v) { return edge(v, v & 0x3ff); }
static u64 count_of(u16 v) { return edge(v, v & 0xff); }

/* ---- Checks ---- */

static void check_lookup(gfn_t gfn)
{
	const struct memslot *got = memslot_lookup(&set, gfn), *want = model_lookup(gfn);
	CHECK(!got == !want, "lookup(%#llx): %s, model %s", gfn, got ? "a slot" : "MMIO",
	      want ? "a slot" : "MMIO");
	if (!got)
		return;
	CHECK(got->id == want->id, "lookup(%#llx): slot %u, model %u", gfn, got->id, want->id);
	CHECK(memslot_gfn_to_hpa(got, gfn) == want->hpa + ((gfn - want->base_gfn) << PAGE_SHIFT),
	      "gfn_to_hpa(%#llx) wrong", gfn);
}

static void check_edges(gfn_t base, u64 npages)
{
	check_lookup(base - 1);
	check_lookup(base);
	check_lookup(base + npages - 1);
	check_lookup(base + npages);
}

/* The whole set against the model; lookups at the edges of every slot when all_edges, else
 * only of the range the last request touched (old and new place of its slot). */
static void check_set(bool all_edges, const struct memslot *touched, int ntouched)
{
	static const struct memslot zero;
	CHECK(inv_memslots(&set), "inv_memslots fails");
	CHECK(set.n == nmodel, "%d slots, model %d", set.n, nmodel);
	for (int i = set.n; i < MEMSLOT_MAX; i++)
		CHECK(!memcmp(&set.slots[i], &zero, sizeof(zero)), "stale slot at %d (n %d)", i, set.n);
	for (int i = 0; i < nmodel; i++) {
		const struct memslot *m = memslot_by_id(&set, model[i].id);
		CHECK(m && m->id == model[i].id && m->flags == model[i].flags &&
		      m->base_gfn == model[i].base_gfn && m->npages == model[i].npages &&
		      m->hpa == model[i].hpa, "slot %u differs from the model", model[i].id);
		if (all_edges)
			check_edges(model[i].base_gfn, model[i].npages);
	}
	for (int i = 0; i < ntouched; i++)
		check_edges(touched[i].base_gfn, touched[i].npages);
	check_lookup(set.max_gfn - 1);
	check_lookup(set.max_gfn);
	check_lookup(~0ULL);
}

/* ---- Requests ---- */

/* Runs one request on the set and the model; returns whether the model expected success.
 * touched[] gets the ranges the request named (its slot's old place, the range asked for),
 * *ntouched their number. */
static bool request(struct fz *f, struct memslot touched[2], int *ntouched)
{
	u8 op = fz_u8(f);
	u16 g = fz_u16(f), c = fz_u16(f), h = fz_u16(f);
	u8 x = fz_u8(f);
	u32 id = id_of(op, x);
	gfn_t gfn = gfn_of(g);
	u64 count = count_of(c);
	hpa_t hpa = ((u64)(h & 0x7fff) << PAGE_SHIFT) | (h & 0x8000 ? (u64)(x & 0x3f) + 1 : 0);
	const char *why = NULL, **whyp = (op & 4) ? NULL : &why;
	int i = model_find_id(id), r;
	bool expect;
	struct memslot m = { .id = id, .flags = (x & 0x20) ? BIT(x & 31) : (x & 1),
			     .base_gfn = gfn, .npages = count, .hpa = hpa };

	*ntouched = 0;
	if (i >= 0) {
		touched[(*ntouched)++] = model[i];
		if ((op & 3) == 2)
			m.npages = model[i].npages;
		if ((op & 3) == 3)
			m.base_gfn = model[i].base_gfn;
	}
	if ((op & 3) != 1)
		touched[(*ntouched)++] = m;
	switch (op & 3) {
	case 0:
		expect = nmodel < MEMSLOT_MAX && !(m.flags & ~MEMSLOT_F_ALL) &&
			 id <= MEMSLOT_ID_MAX && i < 0 && !(hpa & (PAGE_SIZE - 1)) &&
			 model_fits(gfn, count) && !model_overlaps(gfn, count, -1);
		r = memslot_add(&set, &m, whyp);
		if (expect)
			model[nmodel++] = m;
		break;
	case 1:
		expect = i >= 0;
		r = memslot_delete(&set, id, whyp);
		if (expect)
			model[i] = model[--nmodel];
		break;
	case 2:
		expect = i >= 0 && model_fits(gfn, model[i].npages) &&
			 !model_overlaps(gfn, model[i].npages, i);
		r = memslot_move(&set, id, gfn, whyp);
		if (expect)
			model[i].base_gfn = gfn;
		break;
	default:
		expect = i >= 0 && !(hpa & (PAGE_SIZE - 1)) && model_fits(model[i].base_gfn, count) &&
			 !model_overlaps(model[i].base_gfn, count, i);
		r = memslot_resize(&set, id, count, hpa, whyp);
		if (expect) {
			model[i].npages = count;
			model[i].hpa = hpa;
		}
	}
	CHECK(r == 0 || r == -1, "op %d returned %d", op & 3, r);
	CHECK((r == 0) == expect, "op %d id %u gfn %#llx count %#llx hpa %#llx: returned %d, "
	      "model expects %s (%s)", op & 3, id, gfn, count, hpa, r, expect ? "success" : "refusal",
	      why ? why : "");
	if (r == -1 && whyp)
		CHECK(why && why[0], "refused without a reason");
	return expect;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	memslot_init(&set, 32 + fz_u8(&f) % 21);
	CHECK(set.n == 0 && set.generation == 0 && inv_memslots(&set), "bad initial set");
	nmodel = 0;
	for (int n = 0; f.n >= REQ_SIZE && n < MAX_REQS; n++) {
		struct memslot touched[2];
		int ntouched;
		memcpy(&before, &set, sizeof(set));
		bool ok = request(&f, touched, &ntouched);
		if (ok)
			CHECK(set.generation == before.generation + 1, "generation %#llx -> %#llx",
			      before.generation, set.generation);
		else
			CHECK(!memcmp(&set, &before, sizeof(set)), "refused request changed the set");
		check_set(false, touched, ntouched);
	}
	check_set(true, NULL, 0);
	for (gfn_t g = 0; g < LOOKUP_SPAN; g++)
		check_lookup(g);
	return 0;
}
