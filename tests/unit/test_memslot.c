/* SOURCES: mmu/memslot.c */
/*
 * test_memslot.c - mmu/memslot.c: lookups at the edges of slots and of the gfn space, sorted
 * insertion, every refusal (each must return -1, name its rule in *why and leave the set
 * byte-identical, generation included), the generation's one-per-change count, move/resize/
 * delete semantics, inv_memslots() catching each broken invariant, and 10,000 random operations
 * checked frame by frame against a per-gfn reference model.
 */
#include "unit.h"

#include "mmu/memslot.h"

#define SMALL_PHYS_BITS 24              /* max_gfn = 4096 frames: small enough to model */
#define SMALL_FRAMES 4096ULL
#define HPA(n) ((hpa_t)(n) * PAGE_SIZE + 0x100000000ULL)  /* an aligned host address */

#define WHY_OVERLAP "range overlaps another memslot"
#define WHY_DUP "memslot id already in use"
#define WHY_ID_MAX "memslot id above MEMSLOT_ID_MAX"
#define WHY_ZERO "memslot has zero pages"
#define WHY_ALIGN "memslot hpa not page-aligned"
#define WHY_MAX_GFN "memslot range beyond guest max_gfn"
#define WHY_WRAP "memslot range wraps around the gfn space"
#define WHY_FLAG "unknown memslot flag"
#define WHY_FULL "memslot table full"
#define WHY_NO_ID "no memslot with this id"

static struct memslot mk(u32 id, gfn_t base, u64 npages, hpa_t hpa)
{
	return (struct memslot){ .id = id, .base_gfn = base, .npages = npages, .hpa = hpa };
}

static void init_small(struct memslot_set *s)
{
	memset(s, 0xa5, sizeof(*s));    /* init must not rely on a zeroed struct */
	memslot_init(s, SMALL_PHYS_BITS);
}

/* Asserts a successful change: 0, generation exactly +1 with bit 63 clear, invariants hold. */
static void check_changed(const struct memslot_set *s, u64 gen_before, int rc, const char *what)
{
	if (rc != 0)
		fail_msg("%s: returned %d, expected 0", what, rc);
	assert_int_equal(s->generation, gen_before + 1);
	assert_false(s->generation & MEMSLOT_GEN_UPDATE_IN_PROGRESS);
	assert_true(inv_memslots(s));
}

static void add_ok(struct memslot_set *s, struct memslot m)
{
	u64 gen = s->generation;
	const char *why = "untouched";
	check_changed(s, gen, memslot_add(s, &m, &why), "add");
	assert_string_equal(why, "untouched");
	const struct memslot *got = memslot_by_id(s, m.id);
	assert_non_null(got);
	assert_memory_equal(got, &m, sizeof(m));
}

static void delete_ok(struct memslot_set *s, u32 id)
{
	u64 gen = s->generation;
	const char *why = NULL;
	check_changed(s, gen, memslot_delete(s, id, &why), "delete");
	assert_null(memslot_by_id(s, id));
}

static void move_ok(struct memslot_set *s, u32 id, gfn_t base)
{
	u64 gen = s->generation;
	const char *why = NULL;
	check_changed(s, gen, memslot_move(s, id, base, &why), "move");
	assert_int_equal(memslot_by_id(s, id)->base_gfn, base);
}

static void resize_ok(struct memslot_set *s, u32 id, u64 npages, hpa_t hpa)
{
	u64 gen = s->generation;
	const char *why = NULL;
	check_changed(s, gen, memslot_resize(s, id, npages, hpa, &why), "resize");
	assert_int_equal(memslot_by_id(s, id)->npages, npages);
	assert_int_equal(memslot_by_id(s, id)->hpa, hpa);
}

/* Asserts a refusal: -1, exactly the expected reason, and every byte of the set unchanged. */
static void check_refused(const struct memslot_set *s, const struct memslot_set *before, int rc,
			  const char *why, const char *want)
{
	if (rc != -1)
		fail_msg("expected refusal \"%s\", got rc %d", want, rc);
	if (!why)
		fail_msg("refused without a reason (wanted \"%s\")", want);
	assert_string_equal(why, want);
	assert_memory_equal(s, before, sizeof(*s));
}

static void refuse_add(struct memslot_set *s, struct memslot m, const char *want)
{
	struct memslot_set before;
	memcpy(&before, s, sizeof(before));
	const char *why = NULL;
	int rc = memslot_add(s, &m, &why);
	check_refused(s, &before, rc, why, want);
}

static void refuse_delete(struct memslot_set *s, u32 id, const char *want)
{
	struct memslot_set before;
	memcpy(&before, s, sizeof(before));
	const char *why = NULL;
	int rc = memslot_delete(s, id, &why);
	check_refused(s, &before, rc, why, want);
}

static void refuse_move(struct memslot_set *s, u32 id, gfn_t base, const char *want)
{
	struct memslot_set before;
	memcpy(&before, s, sizeof(before));
	const char *why = NULL;
	int rc = memslot_move(s, id, base, &why);
	check_refused(s, &before, rc, why, want);
}

static void refuse_resize(struct memslot_set *s, u32 id, u64 npages, hpa_t hpa, const char *want)
{
	struct memslot_set before;
	memcpy(&before, s, sizeof(before));
	const char *why = NULL;
	int rc = memslot_resize(s, id, npages, hpa, &why);
	check_refused(s, &before, rc, why, want);
}

/* The id of the slot holding gfn, or -1 for MMIO. */
static long owner(const struct memslot_set *s, gfn_t gfn)
{
	const struct memslot *m = memslot_lookup(s, gfn);
	return m ? (long)m->id : -1;
}

/* ---- init ---- */

static void test_init(void **state)
{
	(void)state;
	static const struct { u32 bits; gfn_t max; } cases[] = {
		{ 24, 1ULL << 12 }, { 32, 1ULL << 20 }, { 36, 1ULL << 24 }, { 52, 1ULL << 40 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct memslot_set s;
		memset(&s, 0xff, sizeof(s));
		memslot_init(&s, cases[i].bits);
		assert_int_equal(s.max_gfn, cases[i].max);
		assert_int_equal(s.n, 0);
		assert_int_equal(s.generation, 0);
		assert_true(inv_memslots(&s));
		assert_null(memslot_lookup(&s, 0));
		assert_null(memslot_by_id(&s, 0));
	}
}

/* ---- lookup ---- */

static void test_lookup_slot_edges(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	struct memslot m = mk(7, 100, 10, HPA(0x200));
	m.flags = MEMSLOT_F_READONLY;
	add_ok(&s, m);
	assert_null(memslot_lookup(&s, 99));
	const struct memslot *first = memslot_lookup(&s, 100), *last = memslot_lookup(&s, 109);
	assert_non_null(first);
	assert_non_null(last);
	assert_ptr_equal(first, last);
	assert_int_equal(first->id, 7);
	assert_int_equal(first->flags, MEMSLOT_F_READONLY);
	assert_int_equal(memslot_gfn_to_hpa(first, 100), HPA(0x200));
	assert_int_equal(memslot_gfn_to_hpa(last, 109), HPA(0x200) + 9 * PAGE_SIZE);
	assert_null(memslot_lookup(&s, 110));
	assert_null(memslot_lookup(&s, 0));
	assert_null(memslot_by_id(&s, 8));
}

static void test_lookup_gfn_space_edges(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 0, 1, HPA(0)));
	add_ok(&s, mk(2, SMALL_FRAMES - 1, 1, HPA(1)));    /* ends exactly at max_gfn */
	assert_int_equal(owner(&s, 0), 1);
	assert_int_equal(owner(&s, 1), -1);
	assert_int_equal(owner(&s, SMALL_FRAMES - 2), -1);
	assert_int_equal(owner(&s, SMALL_FRAMES - 1), 2);
	assert_int_equal(owner(&s, SMALL_FRAMES), -1);
	assert_int_equal(owner(&s, ~0ULL), -1);
}

/* Touching ranges are legal and each frame goes to its own side of the boundary. */
static void test_adjacent_slots(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0)));
	add_ok(&s, mk(2, 110, 10, HPA(100)));  /* right neighbour */
	add_ok(&s, mk(3, 90, 10, HPA(200)));   /* left neighbour */
	assert_int_equal(owner(&s, 89), -1);
	assert_int_equal(owner(&s, 90), 3);
	assert_int_equal(owner(&s, 99), 3);
	assert_int_equal(owner(&s, 100), 1);
	assert_int_equal(owner(&s, 109), 1);
	assert_int_equal(owner(&s, 110), 2);
	assert_int_equal(owner(&s, 119), 2);
	assert_int_equal(owner(&s, 120), -1);
	assert_int_equal(s.slots[0].id, 3);
	assert_int_equal(s.slots[1].id, 1);
	assert_int_equal(s.slots[2].id, 2);
}

/* Slot k of 64: [k*60 + k%7, +1 + k*13%50): disjoint, gaps between them, all below 4096. */
static struct memslot grid_slot(u32 k)
{
	return mk(1000 + k, k * 60 + k % 7, 1 + (k * 13) % 50, HPA(k * 64));
}

static void test_many_slots_out_of_order(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	for (u32 i = 0; i < MEMSLOT_MAX; i++)
		add_ok(&s, grid_slot((i * 37) % MEMSLOT_MAX));   /* 37 is odd: a permutation */
	assert_int_equal(s.n, MEMSLOT_MAX);
	assert_int_equal(s.generation, MEMSLOT_MAX);
	for (u32 k = 0; k < MEMSLOT_MAX; k++)
		assert_int_equal(s.slots[k].id, 1000 + k);
	for (gfn_t gfn = 0; gfn < SMALL_FRAMES; gfn++) {
		long want = -1;
		for (u32 k = 0; k < MEMSLOT_MAX; k++) {
			struct memslot g = grid_slot(k);
			if (gfn >= g.base_gfn && gfn < g.base_gfn + g.npages)
				want = g.id;
		}
		if (owner(&s, gfn) != want)
			fail_msg("gfn %llu: in %ld, expected %ld", gfn, owner(&s, gfn), want);
	}
}

/* ---- refusals: each leaves the set byte-identical ---- */

static void test_refuse_overlap(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0)));
	add_ok(&s, mk(2, 200, 10, HPA(100)));
	refuse_add(&s, mk(9, 95, 6, HPA(500)), WHY_OVERLAP);    /* over the left edge */
	refuse_add(&s, mk(9, 109, 6, HPA(500)), WHY_OVERLAP);   /* over the right edge */
	refuse_add(&s, mk(9, 102, 3, HPA(500)), WHY_OVERLAP);   /* inside */
	refuse_add(&s, mk(9, 90, 40, HPA(500)), WHY_OVERLAP);   /* covering */
	refuse_add(&s, mk(9, 100, 10, HPA(500)), WHY_OVERLAP);  /* identical */
	refuse_add(&s, mk(9, 105, 100, HPA(500)), WHY_OVERLAP); /* bridging both */
	refuse_add(&s, mk(9, 199, 1000, HPA(500)), WHY_OVERLAP);/* covering the last */
}

static void test_refuse_duplicate_id(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(3, 100, 10, HPA(0)));
	refuse_add(&s, mk(3, 500, 10, HPA(100)), WHY_DUP);
}

static void test_refuse_id_above_max(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	refuse_add(&s, mk(MEMSLOT_ID_MAX + 1, 0, 1, HPA(0)), WHY_ID_MAX);
	refuse_add(&s, mk(~0u, 0, 1, HPA(0)), WHY_ID_MAX);
	add_ok(&s, mk(MEMSLOT_ID_MAX, 0, 1, HPA(0)));
}

static void test_refuse_zero_pages(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0)));
	refuse_add(&s, mk(2, 50, 0, HPA(100)), WHY_ZERO);
	refuse_add(&s, mk(2, 105, 0, HPA(100)), WHY_ZERO);  /* zero pages "inside" a slot */
}

static void test_refuse_misaligned_hpa(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0)));
	refuse_add(&s, mk(2, 0, 1, HPA(5) + 1), WHY_ALIGN);
	refuse_add(&s, mk(2, 0, 1, HPA(5) + 0x800), WHY_ALIGN);
	refuse_add(&s, mk(2, 0, 1, HPA(5) + 0xfff), WHY_ALIGN);
}

static void test_refuse_beyond_max_gfn(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	refuse_add(&s, mk(1, SMALL_FRAMES - 6, 7, HPA(0)), WHY_MAX_GFN);  /* one frame too many */
	refuse_add(&s, mk(1, SMALL_FRAMES, 1, HPA(0)), WHY_MAX_GFN);      /* starts at max_gfn */
	refuse_add(&s, mk(1, 0, SMALL_FRAMES + 1, HPA(0)), WHY_MAX_GFN);
	refuse_add(&s, mk(1, ~0ULL - 10, 5, HPA(0)), WHY_MAX_GFN);        /* far out, no wrap */
	add_ok(&s, mk(1, SMALL_FRAMES - 6, 6, HPA(0)));
}

static void test_refuse_wraparound(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 10, 10, HPA(0)));
	/* Each end wraps to a small number that would pass a naive "end <= max_gfn" test. */
	refuse_add(&s, mk(2, ~0ULL, 1, HPA(100)), WHY_WRAP);
	refuse_add(&s, mk(2, ~0ULL - 1, 3, HPA(100)), WHY_WRAP);
	refuse_add(&s, mk(2, 1ULL << 63, 1ULL << 63, HPA(100)), WHY_WRAP);
	refuse_add(&s, mk(2, 30, ~0ULL - 20, HPA(100)), WHY_WRAP);
}

static void test_refuse_unknown_flag(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	struct memslot m = mk(1, 0, 1, HPA(0));
	m.flags = (u32)BIT(1);
	refuse_add(&s, m, WHY_FLAG);
	m.flags = (u32)BIT(31) | MEMSLOT_F_READONLY;
	refuse_add(&s, m, WHY_FLAG);
	m.flags = ~0u;
	refuse_add(&s, m, WHY_FLAG);
	m.flags = MEMSLOT_F_ALL;
	add_ok(&s, m);
}

static void test_refuse_table_full(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	for (u32 k = 0; k < MEMSLOT_MAX; k++)
		add_ok(&s, grid_slot(k));
	refuse_add(&s, mk(1, SMALL_FRAMES - 10, 1, HPA(0)), WHY_FULL);   /* otherwise valid */
	delete_ok(&s, grid_slot(5).id);
	add_ok(&s, mk(1, SMALL_FRAMES - 10, 1, HPA(0)));
	refuse_add(&s, mk(2, SMALL_FRAMES - 5, 1, HPA(0)), WHY_FULL);
}

static void test_refuse_unknown_id(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	refuse_delete(&s, 0, WHY_NO_ID);                     /* empty set */
	refuse_move(&s, 0, 10, WHY_NO_ID);
	refuse_resize(&s, 0, 1, HPA(0), WHY_NO_ID);
	add_ok(&s, mk(4, 100, 10, HPA(0)));
	add_ok(&s, mk(6, 200, 10, HPA(100)));
	refuse_delete(&s, 5, WHY_NO_ID);
	refuse_move(&s, 5, 300, WHY_NO_ID);
	refuse_resize(&s, 5, 3, HPA(7), WHY_NO_ID);
	refuse_delete(&s, MEMSLOT_ID_MAX + 1, WHY_NO_ID);
}

/* A refusal with why == NULL still refuses and changes nothing (no write through NULL). */
static void test_refuse_without_why(void **state)
{
	(void)state;
	struct memslot_set s, before;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0)));
	memcpy(&before, &s, sizeof(s));
	struct memslot m = mk(1, 500, 1, HPA(0));
	assert_int_equal(memslot_add(&s, &m, NULL), -1);
	assert_int_equal(memslot_delete(&s, 2, NULL), -1);
	assert_int_equal(memslot_move(&s, 1, SMALL_FRAMES, NULL), -1);
	assert_int_equal(memslot_resize(&s, 1, 0, HPA(0), NULL), -1);
	assert_memory_equal(&s, &before, sizeof(s));
}

/* ---- generation ---- */

static void test_generation_counts_changes(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	const char *why;
	struct memslot a = mk(1, 100, 10, HPA(0)), bad = mk(2, 105, 1, HPA(0));
	assert_int_equal(memslot_add(&s, &a, &why), 0);
	assert_int_equal(memslot_add(&s, &bad, &why), -1);
	assert_int_equal(memslot_move(&s, 1, 200, &why), 0);
	assert_int_equal(memslot_move(&s, 1, 200, &why), 0);     /* no-op: still a change */
	assert_int_equal(memslot_resize(&s, 1, 0, HPA(0), &why), -1);
	assert_int_equal(memslot_resize(&s, 1, 20, HPA(0), &why), 0);
	assert_int_equal(memslot_delete(&s, 1, &why), 0);
	assert_int_equal(memslot_delete(&s, 1, &why), -1);
	assert_int_equal(s.generation, 5);

	/* Counting continues from any clean value, and bit 63 never survives a change. */
	s.generation = (1ULL << 62) + 41;
	assert_int_equal(memslot_add(&s, &a, &why), 0);
	assert_int_equal(s.generation, (1ULL << 62) + 42);
	assert_true(inv_memslots(&s));
}

/* ---- move ---- */

static void test_move_onto_own_range(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0x40)));
	add_ok(&s, mk(2, 120, 5, HPA(0x80)));
	move_ok(&s, 1, 105);                                /* up, overlapping [100,110) */
	assert_int_equal(owner(&s, 104), -1);
	assert_int_equal(owner(&s, 105), 1);
	assert_int_equal(owner(&s, 114), 1);
	assert_int_equal(owner(&s, 115), -1);
	assert_int_equal(memslot_gfn_to_hpa(memslot_lookup(&s, 105), 105), HPA(0x40));
	move_ok(&s, 1, 110);                                /* flush against the neighbour */
	assert_int_equal(owner(&s, 119), 1);
	assert_int_equal(owner(&s, 120), 2);
	move_ok(&s, 1, 103);                                /* down, overlapping [110,120) */
	assert_int_equal(owner(&s, 102), -1);
	assert_int_equal(owner(&s, 103), 1);
	assert_int_equal(owner(&s, 112), 1);
	assert_int_equal(owner(&s, 113), -1);
	move_ok(&s, 1, 103);                                /* onto exactly itself */
	assert_int_equal(memslot_by_id(&s, 1)->hpa, HPA(0x40));
	assert_int_equal(memslot_by_id(&s, 1)->npages, 10);
}

/* Moving past neighbours re-sorts the array; lookups follow. */
static void test_move_reorders(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0)));
	add_ok(&s, mk(2, 200, 10, HPA(100)));
	add_ok(&s, mk(3, 300, 10, HPA(200)));
	move_ok(&s, 1, 400);
	assert_int_equal(s.slots[0].id, 2);
	assert_int_equal(s.slots[1].id, 3);
	assert_int_equal(s.slots[2].id, 1);
	move_ok(&s, 3, 0);
	assert_int_equal(s.slots[0].id, 3);
	assert_int_equal(s.slots[1].id, 2);
	assert_int_equal(s.slots[2].id, 1);
	assert_int_equal(owner(&s, 100), -1);
	assert_int_equal(owner(&s, 9), 3);
	assert_int_equal(owner(&s, 409), 1);
	assert_int_equal(owner(&s, 300), -1);
}

static void test_move_refusals(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0)));
	add_ok(&s, mk(2, 200, 10, HPA(100)));
	refuse_move(&s, 1, 191, WHY_OVERLAP);               /* last frame onto 2's first */
	refuse_move(&s, 1, 209, WHY_OVERLAP);               /* first frame onto 2's last */
	refuse_move(&s, 2, 105, WHY_OVERLAP);
	refuse_move(&s, 1, SMALL_FRAMES - 9, WHY_MAX_GFN);
	refuse_move(&s, 1, ~0ULL - 5, WHY_WRAP);
	move_ok(&s, 1, 190);                                /* flush against 2: accepted */
	move_ok(&s, 1, SMALL_FRAMES - 10);
}

/* ---- resize ---- */

static void test_resize(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0)));
	add_ok(&s, mk(2, 200, 10, HPA(100)));
	resize_ok(&s, 1, 4, HPA(0));                        /* shrink */
	assert_int_equal(owner(&s, 103), 1);
	assert_int_equal(owner(&s, 104), -1);
	resize_ok(&s, 1, 100, HPA(0x1000));                 /* grow up to 2; backing moved */
	assert_int_equal(owner(&s, 199), 1);
	assert_int_equal(owner(&s, 200), 2);
	assert_int_equal(memslot_gfn_to_hpa(memslot_lookup(&s, 150), 150), HPA(0x1000 + 50));
	refuse_resize(&s, 1, 101, HPA(0x1000), WHY_OVERLAP); /* grow into the neighbour by one */
	refuse_resize(&s, 1, 200, HPA(0x1000), WHY_OVERLAP); /* over it entirely */
	refuse_resize(&s, 2, SMALL_FRAMES - 199, HPA(100), WHY_MAX_GFN);
	refuse_resize(&s, 2, ~0ULL - 100, HPA(100), WHY_WRAP);
	refuse_resize(&s, 2, 0, HPA(100), WHY_ZERO);
	refuse_resize(&s, 2, 5, HPA(100) + 0x10, WHY_ALIGN);
	resize_ok(&s, 2, SMALL_FRAMES - 200, HPA(100));     /* up to max_gfn exactly */
	assert_int_equal(owner(&s, SMALL_FRAMES - 1), 2);
}

/* ---- delete ---- */

static void test_delete_then_readd(void **state)
{
	(void)state;
	struct memslot_set s;
	init_small(&s);
	add_ok(&s, mk(1, 100, 10, HPA(0)));
	add_ok(&s, mk(5, 200, 10, HPA(100)));
	add_ok(&s, mk(9, 300, 10, HPA(200)));
	delete_ok(&s, 5);                                   /* the middle one */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.slots[0].id, 1);
	assert_int_equal(s.slots[1].id, 9);
	assert_int_equal(owner(&s, 200), -1);
	assert_int_equal(owner(&s, 209), -1);
	assert_int_equal(owner(&s, 300), 9);
	add_ok(&s, mk(5, 200, 10, HPA(100)));               /* same id, same range */
	assert_int_equal(owner(&s, 205), 5);
	delete_ok(&s, 5);
	add_ok(&s, mk(5, 400, 20, HPA(777)));               /* same id, elsewhere */
	assert_int_equal(owner(&s, 205), -1);
	assert_int_equal(owner(&s, 419), 5);
	assert_int_equal(s.slots[2].id, 5);
	delete_ok(&s, 1);
	delete_ok(&s, 9);
	delete_ok(&s, 5);
	assert_int_equal(s.n, 0);
	assert_int_equal(owner(&s, 419), -1);
}

/* ---- inv_memslots(): each invariant, broken alone, is caught ---- */

static void test_inv_detects_each_violation(void **state)
{
	(void)state;
	struct memslot_set good, s;
	init_small(&good);
	add_ok(&good, mk(1, 100, 10, HPA(0)));
	add_ok(&good, mk(2, 200, 10, HPA(100)));
	add_ok(&good, mk(3, 300, 10, HPA(200)));
	assert_true(inv_memslots(&good));
#define BROKEN(stmt)                                            \
	do {                                                    \
		memcpy(&s, &good, sizeof(s));                   \
		stmt;                                           \
		if (inv_memslots(&s))                           \
			fail_msg("inv_memslots missed: %s", #stmt); \
	} while (0)
	BROKEN((s.slots[0] = good.slots[1], s.slots[1] = good.slots[0]));  /* unsorted */
	BROKEN(s.slots[0].npages = 101);                    /* overlaps the next by one frame */
	BROKEN(s.slots[1].base_gfn = 109);                  /* overlaps the previous by one */
	BROKEN(s.slots[1].npages = 0);
	BROKEN(s.slots[2].npages = SMALL_FRAMES);           /* past max_gfn */
	BROKEN(s.slots[2].base_gfn = SMALL_FRAMES);
	BROKEN(s.slots[2].npages = ~0ULL - 100);            /* wraps */
	BROKEN(s.slots[2].id = 1);                          /* duplicate id, not adjacent */
	BROKEN(s.slots[1].hpa |= 0x10);
	BROKEN(s.slots[0].flags = (u32)BIT(5));
	BROKEN(s.slots[0].id = MEMSLOT_ID_MAX + 1);
	BROKEN(s.generation |= MEMSLOT_GEN_UPDATE_IN_PROGRESS);
	BROKEN(s.n = MEMSLOT_MAX + 1);
	BROKEN(s.n = -1);
#undef BROKEN
}

/* ---- randomized sequence against a per-gfn reference model ---- */

#define RND_OPS 10000
#define RND_IDS 80                      /* more ids than slots, so the table can fill */
#define RND_SEED 0x9e3779b97f4a7c15ULL

/* Reference: who owns each frame, and each id's slot; validity computed independently. */
struct model {
	long owner[SMALL_FRAMES];
	bool present[RND_IDS];
	struct memslot slot[RND_IDS];
	int n;
};

static u64 rng_state;

static u64 rnd(u64 bound)
{
	rng_state ^= rng_state << 13;   /* xorshift64 */
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state % bound;
}

/* Occasionally absurd parameters so that every refusal path is taken. */
static gfn_t rnd_base(void)
{
	switch (rnd(64)) {
	case 0: return ~0ULL - rnd(8);                      /* wraps with most sizes */
	case 1: return SMALL_FRAMES + rnd(64);              /* beyond max_gfn */
	default: return rnd(SMALL_FRAMES);
	}
}

static u64 rnd_npages(void)
{
	switch (rnd(32)) {
	case 0: return 0;
	case 1: return ~0ULL - rnd(4);
	case 2: case 3: return 1 + rnd(512);
	default: return 1 + rnd(24);
	}
}

static hpa_t rnd_hpa(void)
{
	return HPA(rnd(1 << 20)) + (rnd(24) == 0 ? 1 + rnd(PAGE_SIZE - 1) : 0);
}

static bool model_range_free(const struct model *md, gfn_t base, u64 npages, long self)
{
	if (npages == 0 || (unsigned __int128)base + npages > SMALL_FRAMES)
		return false;
	for (gfn_t g = base; g < base + npages; g++)
		if (md->owner[g] != -1 && md->owner[g] != self)
			return false;
	return true;
}

/* Gives the model's frames of m to who (an id, or -1 for MMIO). */
static void model_set(struct model *md, const struct memslot *m, long who)
{
	for (gfn_t g = m->base_gfn; g < m->base_gfn + m->npages; g++)
		md->owner[g] = who;
}

/* Compares every frame, every id and the invariants with the model. */
static void check_against_model(const struct memslot_set *s, const struct model *md, int op)
{
	if (!inv_memslots(s))
		fail_msg("op %d: invariants broken", op);
	assert_int_equal(s->n, md->n);
	for (gfn_t g = 0; g < SMALL_FRAMES; g++) {
		const struct memslot *m = memslot_lookup(s, g);
		long got = m ? (long)m->id : -1;
		if (got != md->owner[g])
			fail_msg("op %d: gfn %llu in %ld, model: %ld", op, g, got, md->owner[g]);
		if (m) {
			const struct memslot *r = &md->slot[m->id];
			hpa_t want = r->hpa + (g - r->base_gfn) * PAGE_SIZE;
			assert_int_equal(memslot_gfn_to_hpa(m, g), want);
		}
	}
	assert_null(memslot_lookup(s, SMALL_FRAMES));
	assert_null(memslot_lookup(s, ~0ULL));
	for (u32 id = 0; id < RND_IDS; id++) {
		const struct memslot *m = memslot_by_id(s, id);
		assert_int_equal(m != NULL, md->present[id]);
		if (m)
			assert_memory_equal(m, &md->slot[id], sizeof(*m));
	}
}

/*
 * The random operations: each draws its parameters, predicts the outcome from the model alone,
 * runs the real call (rc, why) and, when the model predicted success, updates the model.
 */
static bool rnd_add(struct memslot_set *s, struct model *md, u32 id, int *rc, const char **why)
{
	struct memslot m = mk(id, rnd_base(), rnd_npages(), rnd_hpa());
	m.flags = rnd(32) == 0 ? (u32)BIT(1 + rnd(31)) : (u32)rnd(2);
	bool ok = !md->present[id] && md->n < MEMSLOT_MAX && !(m.flags & ~MEMSLOT_F_ALL) &&
		  !(m.hpa % PAGE_SIZE) && model_range_free(md, m.base_gfn, m.npages, -1);
	*rc = memslot_add(s, &m, why);
	if (ok) {
		md->slot[id] = m;
		md->present[id] = true;
		md->n++;
		model_set(md, &m, id);
	}
	return ok;
}

static bool rnd_delete(struct memslot_set *s, struct model *md, u32 id, int *rc,
		       const char **why)
{
	bool ok = md->present[id];
	*rc = memslot_delete(s, id, why);
	if (ok) {
		model_set(md, &md->slot[id], -1);
		md->present[id] = false;
		md->n--;
	}
	return ok;
}

static bool rnd_move(struct memslot_set *s, struct model *md, u32 id, int *rc, const char **why)
{
	struct memslot *r = &md->slot[id];
	gfn_t base = rnd_base();
	bool ok = md->present[id] && model_range_free(md, base, r->npages, id);
	*rc = memslot_move(s, id, base, why);
	if (ok) {
		model_set(md, r, -1);
		r->base_gfn = base;
		model_set(md, r, id);
	}
	return ok;
}

static bool rnd_resize(struct memslot_set *s, struct model *md, u32 id, int *rc,
		       const char **why)
{
	struct memslot *r = &md->slot[id];
	u64 npages = rnd_npages();
	hpa_t hpa = rnd_hpa();
	bool ok = md->present[id] && !(hpa % PAGE_SIZE) &&
		  model_range_free(md, r->base_gfn, npages, id);
	*rc = memslot_resize(s, id, npages, hpa, why);
	if (ok) {
		model_set(md, r, -1);
		r->npages = npages;
		r->hpa = hpa;
		model_set(md, r, id);
	}
	return ok;
}

static bool (*const rnd_ops[])(struct memslot_set *, struct model *, u32, int *,
			       const char **) = { rnd_add, rnd_delete, rnd_move, rnd_resize };

/*
 * Index into rnd_ops. Alternating phases of 1000 operations favour adding (the table fills up)
 * and then deleting (it drains), so both ends of the table are visited.
 */
static int rnd_kind(int op)
{
	u64 r = rnd(100);
	if ((op / 1000) % 2 == 0)
		return r < 70 ? 0 : r < 75 ? 1 : r < 88 ? 2 : 3;
	return r < 20 ? 0 : r < 60 ? 1 : r < 80 ? 2 : 3;
}

/* Every refusal the random parameters can provoke (ids stay below MEMSLOT_ID_MAX). */
static const char *const random_whys[] = {
	WHY_OVERLAP, WHY_DUP, WHY_ZERO, WHY_ALIGN, WHY_MAX_GFN, WHY_WRAP, WHY_FLAG, WHY_FULL,
	WHY_NO_ID,
};

static void note_why(const char *why, bool *seen)
{
	for (size_t i = 0; why && i < ARRAY_SIZE(random_whys); i++)
		if (!strcmp(why, random_whys[i]))
			seen[i] = true;
}

static void test_random_against_model(void **state)
{
	(void)state;
	static struct memslot_set s, before;
	static struct model md;
	int done[4][2] = { { 0 } }, max_n = 0;
	bool whys_seen[ARRAY_SIZE(random_whys)] = { false };
	init_small(&s);
	memset(&md, 0, sizeof(md));
	for (gfn_t g = 0; g < SMALL_FRAMES; g++)
		md.owner[g] = -1;
	rng_state = RND_SEED;
	for (int op = 0; op < RND_OPS; op++) {
		memcpy(&before, &s, sizeof(s));
		int kind = rnd_kind(op), rc;
		const char *why = NULL;
		bool ok = rnd_ops[kind](&s, &md, (u32)rnd(RND_IDS), &rc, &why);
		if (rc != (ok ? 0 : -1))
			fail_msg("op %d (kind %d): rc %d, model expected %s (why: %s)", op, kind,
				 rc, ok ? "success" : "refusal", why ? why : "-");
		if (ok)
			assert_int_equal(s.generation, before.generation + 1);
		else if (!why || memcmp(&s, &before, sizeof(s)))
			fail_msg("op %d (kind %d): refusal without reason or changed", op, kind);
		done[kind][ok]++;
		note_why(ok ? NULL : why, whys_seen);
		max_n = MAX(max_n, s.n);
		check_against_model(&s, &md, op);
	}
	/* The sequence must have exercised every operation both ways and filled the table. */
	for (int k = 0; k < 4; k++)
		if (done[k][0] < 100 || done[k][1] < 100)
			fail_msg("kind %d: %d refused, %d accepted", k, done[k][0], done[k][1]);
	assert_int_equal(max_n, MEMSLOT_MAX);
	for (size_t i = 0; i < ARRAY_SIZE(random_whys); i++)
		if (!whys_seen[i])
			fail_msg("no random operation was refused with \"%s\"", random_whys[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_lookup_slot_edges),
		cmocka_unit_test(test_lookup_gfn_space_edges),
		cmocka_unit_test(test_adjacent_slots),
		cmocka_unit_test(test_many_slots_out_of_order),
		cmocka_unit_test(test_refuse_overlap),
		cmocka_unit_test(test_refuse_duplicate_id),
		cmocka_unit_test(test_refuse_id_above_max),
		cmocka_unit_test(test_refuse_zero_pages),
		cmocka_unit_test(test_refuse_misaligned_hpa),
		cmocka_unit_test(test_refuse_beyond_max_gfn),
		cmocka_unit_test(test_refuse_wraparound),
		cmocka_unit_test(test_refuse_unknown_flag),
		cmocka_unit_test(test_refuse_table_full),
		cmocka_unit_test(test_refuse_unknown_id),
		cmocka_unit_test(test_refuse_without_why),
		cmocka_unit_test(test_generation_counts_changes),
		cmocka_unit_test(test_move_onto_own_range),
		cmocka_unit_test(test_move_reorders),
		cmocka_unit_test(test_move_refusals),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_delete_then_readd),
		cmocka_unit_test(test_inv_detects_each_violation),
		cmocka_unit_test(test_random_against_model),
	};
	return cmocka_run_group_tests(tests, 0, NULL);
}
