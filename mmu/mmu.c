/* mmu.c - shadow page cache, fault handling, MMIO sptes, generations and fast zap.
 *
 * Shadow tables are PAE-format for a guest without long mode (paging off, 32-bit or PAE
 * paging) and 4-level for a long-mode guest. A shadow page (sp) is either "direct" (it maps a
 * guest-physical range through the memslots: paging off, or the inside of a large guest page)
 * or shadows one guest page table, keyed by the table's gfn and a role. Guest tables that are
 * shadowed are write-protected in every spte that maps them (the rmap finds those sptes), so
 * shadows stay coherent with the guest's tables. docs/mmu.md has the whole design.
 */
#include "mmu/mmu.h"
#include "mmu/gwalk.h"
#include "mmu/spte.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/pmm.h"
#include "arch/x86.h"

#define SP_MAX 16384           /* metadata slots; the pool may be smaller */
#define SP_HASH_SIZE 4096
#define GFN_HASH_SIZE 4096
#define RMAP_HASH_SIZE 65536
#define LINK_MAX (512 * 1024)  /* rmap and parent links (8 bytes each: 4 MiB) */
/* The obsolete-page reclaim's work per exit (mmu_reclaim), in units: an spte cleared or a
 * parent unlinked costs RECLAIM_PRESENT_COST (chains to walk), a page looked at costs
 * RECLAIM_PAGE_COST (its present-entry bitmap: empty entries are never scanned), about 11
 * instructions a unit: 1,536 units keep the costliest exit of the zap benchmark under
 * issue 16's bound of 20,000 instructions (docs/bench.md `zap_exit_max`). */
#define RECLAIM_BUDGET 1536
#define RECLAIM_PRESENT_COST 16
#define RECLAIM_PAGE_COST 8
#define RECLAIM_BATCH 16       /* obsolete shadow pages freed per exit at most */
#ifndef MMU_AUDIT_DEFAULT
#define MMU_AUDIT_DEFAULT 0    /* DEBUG=1 builds set it: audit at every named point */
#endif

/*
 * Role: what a shadow page shadows. Bits: 0-2 level (1 = PT .. 4 = PML4), 3 direct,
 * 4 PAE root (the 4-entry PDPT of a PAE-format shadow), 5-7 guest mode (enum gwalk_mode),
 * 8-9 quadrant (which part of a 1024-entry 32-bit guest table), 10-12 access granted by the
 * guest's upper levels (W, U, X), so that one guest table reached through entries with
 * different permissions gets different shadow pages, 13 dirty: a direct page under a large
 * guest page whose D is set. Only such a page may hold writable leaves (also those of the
 * CR0.WP=0 trick, for a read-only large page), so a directory whose entry for the same frames
 * is clean never reuses one, and its writes fault and set its D.
 */
#define ROLE_LEVEL(r) ((r) & 7)
#define ROLE_DIRECT BIT(3)
#define ROLE_PAE_ROOT BIT(4)
#define ROLE_MODE_SHIFT 5
#define ROLE_QUAD_SHIFT 8
#define ROLE_ACC_SHIFT 10
#define ROLE_DIRTY BIT(13)
#define ACC_W 1u
#define ACC_U 2u
#define ACC_X 4u
#define ACC_ALL 7u

/*
 * Invariants (the audit, mmu_audit(), checks those it can see from the tables):
 * - in_use == 1 exactly while the sp is on the active or the obsolete list (else it is on the
 *   free list); valid_gen == mmu_valid_gen exactly while it is on the active list;
 * - an sp is on the (gfn, role) hash while in use, and on the gfn index too when it shadows a
 *   guest table (neither direct nor a PAE-format root): table_sps counts those;
 * - every present non-leaf spte in spt points at a live sp one level down and is on that
 *   child's parents chain; every present RAM leaf is on the rmap chain of its host frame;
 * - a live sp that shadows guest table gfn keeps every RAM leaf mapping gfn read-only
 *   (write_protect_gfn when the first one is made; MMU_WRITABLE says the frame is free of
 *   shadows).
 */
struct sp {
	u64 *spt;                /* the table (host physical = virtual) */
	gfn_t gfn;               /* first gfn covered (direct) or the guest table's gfn */
	u32 role;
	u32 in_use;
	u64 valid_gen;           /* mmu_valid_gen at creation; obsolete when different */
	struct sp *hash_next;    /* (gfn, role) cache chain */
	struct sp *gfn_next;     /* gfn-only chain of shadows of guest tables */
	struct sp *prev, *next;  /* on the active, obsolete or free list */
	u32 parents;             /* link chain: the sptes that point at this page */
	u32 flood;               /* guest writes to its table since a fault last went through
				  * it (write-flood detection: track_write) */
	u32 np_faults;           /* not-present faults reflected at its entries (pf_bypass:
				  * notrap_fault fills the rest from the guest's table at the
				  * NOTRAP_FILL_AFTER-th) */
};

/* Per shadow page, which entries are present (is_shadow_present: a RAM leaf, an MMIO spte,
 * a link to a child): kept by every function that sets or clears an spte, checked by the
 * audit. Freeing a page visits its present entries only, never the empty ones (zero or
 * TRAP). Beside struct sp, from the page allocator (mmu_init), like the audit marks. */
struct present_bits {
	u64 w[SPTE_ENTRIES / 64];
};

/* With the audit on, per shadow page: the entries changed since the last audit point, the
 * entries that lead to a page with such entries, and whether this page or one below it has
 * any (audit_note, audit_changed). Beside struct sp, from the page allocator (mmu_init), not
 * in it: the pool's own table stays as small as without the audit. */
struct audit_marks {
	u64 changed[SPTE_ENTRIES / 64];
	u64 descend[SPTE_ENTRIES / 64];
	bool below_changed;
};

struct sp_list {
	struct sp head;
	u64 count;
};

/* A link names one spte by reference ((sp index << 9) | entry) and chains to the next. */
struct link {
	u32 ref;
	u32 next;
};

struct mmu_stats mmu_stats;
struct memslot_set guest_memslots;
/* The MMIO spte layout (spte.h, "L1TF"): set by spte_init_mmio() in mmu_init. */
struct spte_mmio_layout spte_mmio_layout = SPTE_MMIO_LAYOUT(SPTE_L1TF_CACHE_BITS_MIN);

static struct sp sps[SP_MAX];
static struct audit_marks *marks; /* marks[i] belongs to sps[i] */
static struct present_bits *present; /* present[i] belongs to sps[i] */
#define MARKS(s) (&marks[(s) - sps])
static struct sp *hash[SP_HASH_SIZE];
static struct sp *gfn_hash[GFN_HASH_SIZE];
static u32 rmap[RMAP_HASH_SIZE];
static struct link links[LINK_MAX];
static u32 link_free_head;
static u64 links_used;
static struct sp_list free_list, active_list, obsolete_list;
static u64 mmu_valid_gen;
static u64 table_sps;      /* shadows of guest tables on the gfn index (obsolete ones too) */
static gfn_t table_gfn_lo = ~0ULL, table_gfn_hi; /* every such shadow's gfn is in [lo, hi] */
static struct sp *root;
static bool mmio_sptes_enabled;
static bool nx_enabled;
/* Reflected faults without an exit ("pf_bypass" in docs/mmu.md): on when asked for
 * (struct mmu_cpu) and the TRAP spte can exist (bit 51 reserved, as for MMIO sptes). Then an
 * empty spte is TRAP ("not built yet") and zero means "the guest's entry is not present"
 * (spte.h); without it every empty spte is zero. A PAE-format root's PDPTEs are always zero
 * when empty (a PDPTE cannot hold reserved bits): root_refill says one that was present was
 * cleared, and the root is refilled before the next VM entry, so that no P=0 fault on a
 * PDPTE reaches the guest while its own entry is present. */
static bool pf_bypass;
static u64 spte_empty;
static bool root_refill;
/* With pf_bypass an RSVD fault is an MMIO spte or a TRAP, and only a look at the leaf tells
 * which (~90 instructions on every shadow fault). The linear pages where an MMIO spte was
 * installed are remembered in a one-hash Bloom filter, cleared at zap-all: an RSVD fault on
 * a page it does not name is a TRAP. One it misses (the same shadow table reached at another
 * linear address) takes the slow path, which is right for MMIO too (it installs the spte
 * again); one it names wrongly is looked at, as before. */
#define MMIO_LA_BITS 4096
static u64 mmio_la_seen[MMIO_LA_BITS / 64];
static u32 maxphyaddr;
static hpa_t pool_base;    /* the shadow page pool: sp_of_hpa() */
/* ram_slot's cache: guest RAM is mostly one big slot. Valid while the memslots generation is
 * unchanged (every change bumps it, and a change may move slots within the array). */
static struct {
	const struct memslot *m;
	u64 generation;
} slot_cache;

/* The guest paging state the shadow follows (mmu_set_guest_paging). */
static struct gwalk_ctx gctx;

/* Bumped whenever a present spte is removed or replaced (and at a zap-all): a translation
 * read from the shadow tables stays true while it is unchanged (existing_leaf's cache). */
static u64 shadow_epoch;
static struct sp *prev_root; /* the root before the last CR3 write (mmu_set_guest_cr3) */
/* mmu_entry_root (mmu.h): the root's address while mmu_before_entry has nothing to do; every
 * change of what it tests (the root, the obsolete list, the valid generation, a pending audit
 * or root refill) clears it first (entry_work), and the audit checks that it stays true. */
hpa_t mmu_entry_root;
static inline void entry_work(void)
{
	mmu_entry_root = 0;
}
static int walk_pages_left;   /* what the current walk may still allocate (mmu_topup) */
static bool audit_pending;    /* audit at the next root load (a new root, a memslot change) */
static bool audit_whole_pending; /* that audit covers the whole tables (a memslot change) */
/* APIC virtualization's APIC-access page (mmu_set_apic_access): the guest frame of the local
 * APIC's register window, mapped to this host page, which is in no memslot; ~0: none. */
static gfn_t apic_gfn = ~0ULL;
static hpa_t apic_hpa;
/* The guest table map_ram unprotected last, and the page of the write that did it: the same
 * write faulting there again is emulated instead (map_ram). */
static gfn_t unprotected_gfn = ~0ULL;
static u64 unprotected_la;
/* The last fault reflected to the guest (its tables said not present, or no permission):
 * the guest's kernel is about to write the PTE that fixes it, and track_write then maps
 * that page at once instead of waiting for the retried access to fault (prefetch_pending). */
static struct {
	bool valid;
	u64 la;
	u32 acc;  /* GWALK_ACC_* of the faulting access */
	bool ac;  /* its RFLAGS.AC (SMAP) */
	u64 pte_gpa; /* the guest entry that faulted (the not-present PTE, say) */
	int tries; /* writes of that entry that may still try it (each walks the guest's tables) */
} pending;
#define PENDING_TRIES 4

/* Guest tables with 8-byte entries (PAE, 4-level): guest and shadow entries line up one to
 * one, so a written entry's spte can be fixed in place and neighbours prefetched. */
static bool pte8_mode(void)
{
	return gctx.mode == GWALK_PAE || gctx.mode == GWALK_LONG4;
}

/* The write at la into table frame gfn is the one mmu_unprotect let the guest retry: if it
 * faults there again it must be emulated, or it would loop (map_ram). */
static bool is_unprotected_retry(gfn_t gfn, u64 la)
{
	return gfn == unprotected_gfn && (la & ~(PAGE_SIZE - 1)) == unprotected_la;
}
bool mmu_audit_enabled = MMU_AUDIT_DEFAULT;
u64 mmu_audit_every = 1, mmu_audits_done, mmu_audits_whole;
u64 mmu_audit_points; /* named points reached (audit_point) */

/* existing_leaf's answers: see there. */
#define LEAF_CACHE 2
static struct {
	const struct sp *root;
	u64 epoch, la_page;
	u32 ref;
} leaf_cache[LEAF_CACHE];
static unsigned leaf_cache_next;

/* That is all of the MMU's state: one MMU for the one vCPU (vmx/vcpu.h). */

/* ---- lists ---- */

static void list_init(struct sp_list *l)
{
	l->head.prev = l->head.next = &l->head;
	l->count = 0;
}

static void list_add(struct sp_list *l, struct sp *s)
{
	s->next = l->head.next;
	s->prev = &l->head;
	l->head.next->prev = s;
	l->head.next = s;
	l->count++;
}

static void list_del(struct sp_list *l, struct sp *s)
{
	s->prev->next = s->next;
	s->next->prev = s->prev;
	l->count--;
}

/* Moves every entry of from to the front of to, in O(1). */
static void list_splice(struct sp_list *from, struct sp_list *to)
{
	if (!from->count)
		return;
	struct sp *first = from->head.next, *last = from->head.prev;
	last->next = to->head.next;
	to->head.next->prev = last;
	to->head.next = first;
	first->prev = &to->head;
	to->count += from->count;
	list_init(from);
}

/* ---- spte references and links ---- */

static u32 ref_of(const struct sp *s, int i) { return (u32)((s - sps) << 9) | (u32)i; }
static u64 *ref_ptr(u32 ref) { return &sps[ref >> 9].spt[ref & 511]; }
static struct sp *ref_sp(u32 ref) { return &sps[ref >> 9]; }
static void present_set(u32 ref) { present[ref >> 9].w[(ref & 511) / 64] |= BIT(ref & 63); }
static void present_clear(u32 ref) { present[ref >> 9].w[(ref & 511) / 64] &= ~BIT(ref & 63); }

static u32 link_alloc(u32 ref, u32 next)
{
	u32 i = link_free_head;
	if (!i)
		return 0;
	link_free_head = links[i].next;
	links[i] = (struct link){ ref, next };
	links_used++;
	return i;
}

/* Removes ref from the chain at *head; true when it was there. */
static bool chain_remove(u32 *head, u32 ref)
{
	for (u32 *pp = head; *pp; pp = &links[*pp].next) {
		if (links[*pp].ref != ref)
			continue;
		u32 i = *pp;
		*pp = links[i].next;
		links[i].next = link_free_head;
		link_free_head = i;
		links_used--;
		return true;
	}
	return false;
}

static bool is_leaf_ref(u32 ref)
{
	return ROLE_LEVEL(ref_sp(ref)->role) == 1;
}

static u32 *rmap_head(hpa_t hpa)
{
	return &rmap[(hpa >> PAGE_SHIFT) & (RMAP_HASH_SIZE - 1)];
}

/* The shadow page whose table is at hpa: the pool is one contiguous run, sps[i] owns its
 * i-th page, so this is O(1). NULL for anything outside the pool. */
static struct sp *sp_of_hpa(hpa_t hpa)
{
	if (hpa < pool_base || hpa >= pool_base + mmu_stats.sp_pool * PAGE_SIZE)
		return NULL;
	return &sps[(hpa - pool_base) >> PAGE_SHIFT];
}

static void walk_invariant_broken(const char *what);

/* Records a change of spte ref for the next audit point (mmu_audit=1 audits the changed
 * entries at every point): the entry's bit, and below_changed up every path to a root, so
 * that the audit finds it from the root. */
static void mark_below_changed(struct sp *s)
{
	if (MARKS(s)->below_changed)
		return; /* and so are its parents, or they are marked when they link it */
	MARKS(s)->below_changed = true;
	for (u32 l = s->parents; l; l = links[l].next) {
		u32 ref = links[l].ref;
		struct sp *p = ref_sp(ref);
		MARKS(p)->descend[(ref & 511) / 64] |= BIT(ref & 63);
		mark_below_changed(p);
	}
}

static inline void audit_note(u32 ref)
{
	if (!mmu_audit_enabled)
		return;
	struct sp *s = ref_sp(ref);
	MARKS(s)->changed[(ref & 511) / 64] |= BIT(ref & 63);
	mark_below_changed(s);
}


/* Clearing or replacing a present spte goes through here (or through sp_free, which unlinks
 * a freed page's parents itself), so the rmap (leaf sptes, keyed by the host frame they map)
 * and the parent chains (non-leaf sptes) always match the tables. write_protect_gfn changes
 * leaves in place (R/W and MMU_WRITABLE only: the frame, and so the rmap, stay).
 *
 * No TLB flush follows any of these changes, and none is needed only because VPID is off
 * (vmx/vcpu.c never sets CPU2_ENABLE_VPID): then every VM entry and VM exit invalidates all
 * linear and combined mappings of VPID 0 (SDM Vol. 3C 28.3.3.1), so the guest resumes with
 * no translation cached from an spte changed during the exit. Enabling VPID means adding an
 * INVVPID (or KVM's remote-TLB-flush bookkeeping) wherever an spte loses permissions. */
/* What an emptied spte of s holds: TRAP (with pf_bypass), but zero in a PAE-format root. */
static u64 empty_of(const struct sp *s)
{
	return (s->role & ROLE_PAE_ROOT) ? 0 : spte_empty;
}

/* A present PDPTE of s was cleared: with pf_bypass a root must not keep it clear (above). */
static void pdpte_cleared(const struct sp *s)
{
	if (pf_bypass && (s->role & ROLE_PAE_ROOT)) {
		entry_work();
		root_refill = true;
	}
}

static void spte_clear(u32 ref)
{
	u64 *p = ref_ptr(ref), old = *p, empty = empty_of(ref_sp(ref));
	if (old == empty)
		return;
	audit_note(ref);
	*p = empty;
	if (!is_shadow_present(old))
		return; /* zero to TRAP: no translation was there (shadow_epoch stays) */
	shadow_epoch++;
	present_clear(ref);
	if (is_mmio_spte(old))
		return;
	pdpte_cleared(ref_sp(ref));
	if (is_leaf_ref(ref)) {
		chain_remove(rmap_head(spte_hpa(old)), ref);
		return;
	}
	struct sp *child = sp_of_hpa(spte_hpa(old));
	if (child)
		chain_remove(&child->parents, ref);
}

static void spte_set_leaf(u32 ref, u64 spte)
{
	spte_clear(ref);
	if (is_shadow_present(spte)) {
		present_set(ref);
		if (!is_mmio_spte(spte)) {
			u32 *h = rmap_head(spte_hpa(spte));
			u32 l = link_alloc(ref, *h);
			if (!l)
				walk_invariant_broken("rmap link");
			*h = l;
		}
	}
	*ref_ptr(ref) = spte;
	audit_note(ref);
}

static void spte_set_child(u32 ref, struct sp *child, bool pae_root)
{
	spte_clear(ref);
	u32 l = link_alloc(ref, child->parents);
	if (!l)
		walk_invariant_broken("parent link");
	child->parents = l;
	hpa_t t = (hpa_t)(uintptr_t)child->spt;
	*ref_ptr(ref) = pae_root ? make_pdpte(t) : make_nonleaf_spte(t);
	present_set(ref);
	audit_note(ref);
}

/* ---- the cache ---- */

static u32 hash_of(gfn_t gfn, u32 role)
{
	return (u32)((gfn * 0x9e3779b97f4a7c15ULL + role) >> 52) & (SP_HASH_SIZE - 1);
}

static struct sp **gfn_bucket(gfn_t gfn)
{
	return &gfn_hash[(gfn * 0x9e3779b97f4a7c15ULL) >> 52 & (GFN_HASH_SIZE - 1)];
}

/* A shadow of a guest page table (keyed by the table's gfn, on the gfn index), not a direct
 * page nor a PAE-format root. */
static bool is_table_shadow(u32 role)
{
	return !(role & (ROLE_DIRECT | ROLE_PAE_ROOT));
}

static bool is_obsolete(const struct sp *s)
{
	return s->valid_gen != mmu_valid_gen;
}

static void unhash(struct sp *s)
{
	struct sp **pp = &hash[hash_of(s->gfn, s->role)];
	while (*pp && *pp != s)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = s->hash_next;
	if (!is_table_shadow(s->role))
		return;
	if (!--table_sps) {
		table_gfn_lo = ~0ULL;
		table_gfn_hi = 0;
	}
	pp = gfn_bucket(s->gfn);
	while (*pp && *pp != s)
		pp = &(*pp)->gfn_next;
	if (*pp)
		*pp = s->gfn_next;
}

/* Unlinks s from its parents and its present entries from their children and rmap chains
 * (its present-entry bitmap: what is left of a page freed in parts), while *budget lasts
 * (units: RECLAIM_BUDGET); true when all is done. An obsolete page freed in parts keeps its
 * place: nothing reaches it (no lookup returns an obsolete page, no root is one), and what is
 * left of it stays consistent (every remaining present spte is still on its child's or
 * frame's chain, and in the bitmap). */
static bool sp_clear_some(struct sp *s, s64 *budget)
{
	while (s->parents) {
		if (*budget <= 0)
			return false;
		u32 ref = links[s->parents].ref;
		chain_remove(&s->parents, ref);
		*ref_ptr(ref) = empty_of(ref_sp(ref));
		present_clear(ref);
		pdpte_cleared(ref_sp(ref));
		shadow_epoch++;
		audit_note(ref);
		*budget -= RECLAIM_PRESENT_COST;
	}
	*budget -= RECLAIM_PAGE_COST;
	u64 *bits = present[s - sps].w;
	for (u32 w = 0; w < SPTE_ENTRIES / 64; w++) {
		while (bits[w]) {
			if (*budget <= 0)
				return false;
			spte_clear(ref_of(s, (int)(w * 64 + (u32)__builtin_ctzll(bits[w]))));
			*budget -= RECLAIM_PRESENT_COST;
		}
	}
	return true;
}

/* Frees a page whose entries and parents are all clear: off the caches, onto the free list.
 * The caller has taken it off its list. */
static void sp_release(struct sp *s)
{
	unhash(s);
	s->in_use = 0;
	if (s == root) {
		entry_work();
		root = NULL;
	}
	list_add(&free_list, s);
	mmu_stats.sp_in_use--;
}

/* Unlinks s from its parents and children, drops its rmap entries and frees it, all at once
 * (a live page the guest's write or a memslot change zaps: one page's work). The caller has
 * taken it off its list. */
static void sp_free(struct sp *s)
{
	s64 all = (s64)(~0ULL >> 1);
	sp_clear_some(s, &all);
	sp_release(s);
}

/* Frees the oldest obsolete pages, within RECLAIM_BUDGET units of work and RECLAIM_BATCH
 * pages per call: a page with hundreds of children is freed over several exits, resuming
 * with what its present-entry bitmap says is left. */
void mmu_reclaim(void)
{
	s64 budget = RECLAIM_BUDGET;
	for (int i = 0; i < RECLAIM_BATCH && obsolete_list.count; i++) {
		struct sp *s = obsolete_list.head.prev; /* oldest first */
		if (!sp_clear_some(s, &budget))
			return; /* stays the oldest: the next call goes on with it */
		list_del(&obsolete_list, s);
		sp_release(s);
		mmu_stats.obsolete_freed++;
	}
}

void mmu_zap_all_fast(void)
{
	memset(mmio_la_seen, 0, sizeof(mmio_la_seen)); /* no MMIO spte is reachable now */
	entry_work();
	shadow_epoch++;
	mmu_valid_gen++;
	list_splice(&active_list, &obsolete_list);
	root = NULL; /* reloaded before the next VM entry */
	mmu_stats.zap_all++;
}

/*
 * Reserve before a walk (KVM's mmu_topup_memory_caches). A fault or a root load builds shadow
 * pages while it holds pointers to others (the root being filled, the parent of the next
 * level). If allocating one could zap and reclaim, a held page could be freed and handed back
 * as the very page being allocated (a root becoming its own child). So nothing zaps or
 * reclaims during a walk: mmu_topup() makes room for a whole walk before it starts, while
 * nothing is held, and sp_alloc()/link_alloc() only take from what is reserved; running out
 * during a walk is a hypervisor bug and panics.
 *
 * A walk allocates at most: a PAE-format root and its 4 PDs, then one PT (32-bit and PAE
 * guests), or a PML4, PDPT, PD and PT (4-level); links: one per non-leaf spte set and one
 * for the leaf.
 */
#define WALK_PAGES 8
#define WALK_LINKS 16

static u64 links_free(void) { return LINK_MAX - 1 - links_used; }

static void walk_invariant_broken(const char *what)
{
	panic("mmu: %s allocated beyond the walk's reserve (%d pages, %d links): nothing may be "
	      "reclaimed during a walk", what, WALK_PAGES, WALK_LINKS);
}

/* mmu_topup's slow path: the pool or the links are short of one walk. */
static void topup_slow(void)
{
	while (free_list.count < WALK_PAGES && obsolete_list.count)
		mmu_reclaim();
	if (free_list.count < WALK_PAGES) {
		/* The pool is full of live pages: start over. The oldest are freed first. */
		mmu_zap_all_fast();
		while (free_list.count < WALK_PAGES && obsolete_list.count)
			mmu_reclaim();
	}
	if (links_free() < WALK_LINKS) {
		/* Rare: more live sptes than links. Start over; this one exit frees everything. */
		pr_warn("mmu: %llu rmap/parent links in use: zapping all shadow pages", links_used);
		mmu_zap_all_fast();
		while (obsolete_list.count)
			mmu_reclaim();
	}
	if (free_list.count < WALK_PAGES)
		panic("mmu: shadow page pool (%llu pages) cannot hold one walk", mmu_stats.sp_pool);
}

/* mmio_la_seen's bit for linear page la (12 bits of a multiplicative hash). */
static u32 mmio_la_bit(u64 la)
{
	return (u32)(((la >> PAGE_SHIFT) * 0x9e3779b97f4a7c15ULL) >> 52);
}

static void mmio_la_note(u64 la)
{
	u32 b = mmio_la_bit(la);
	mmio_la_seen[b / 64] |= BIT(b & 63);
}

static bool mmio_la_maybe(u64 la)
{
	u32 b = mmio_la_bit(la);
	return mmio_la_seen[b / 64] & BIT(b & 63);
}

/* Called where no shadow page is held (start of a fault or a root load). May zap all. */
static inline void mmu_topup(void)
{
	if (free_list.count < WALK_PAGES || links_free() < WALK_LINKS)
		topup_slow();
	walk_pages_left = WALK_PAGES;
}

/* Fills a new table with its empty value (a string store: one instruction per entry). */
static void spte_fill(u64 *spt, u64 v)
{
	u64 n = SPTE_ENTRIES;
	__asm__ volatile("rep stosq" : "+D"(spt), "+c"(n) : "a"(v) : "memory");
}

static struct sp *sp_alloc(gfn_t gfn, u32 role)
{
	if (walk_pages_left-- <= 0 || !free_list.count)
		walk_invariant_broken("shadow page");
	struct sp *s = free_list.head.next;
	list_del(&free_list, s);
	spte_fill(s->spt, empty_of(&(struct sp){ .role = role }));
	memset(MARKS(s)->changed, 0, sizeof(MARKS(s)->changed));
	memset(MARKS(s)->descend, 0, sizeof(MARKS(s)->descend));
	MARKS(s)->below_changed = false;
	memset(present[s - sps].w, 0, sizeof(present[0].w));
	*s = (struct sp){ .spt = s->spt, .gfn = gfn, .role = role, .in_use = 1,
			  .valid_gen = mmu_valid_gen };
	u32 h = hash_of(gfn, role);
	s->hash_next = hash[h];
	hash[h] = s;
	if (is_table_shadow(role)) {
		struct sp **b = gfn_bucket(gfn);
		s->gfn_next = *b;
		*b = s;
		table_sps++;
		table_gfn_lo = MIN(table_gfn_lo, gfn);
		table_gfn_hi = MAX(table_gfn_hi, gfn);
	}
	list_add(&active_list, s);
	mmu_stats.sp_in_use++;
	mmu_stats.sp_created++;
	return s;
}

/* True when a live shadow page shadows guest table frame gfn. */
static bool gfn_is_shadowed(gfn_t gfn)
{
	for (struct sp *s = *gfn_bucket(gfn); s; s = s->gfn_next)
		if (s->gfn == gfn && !is_obsolete(s))
			return true;
	return false;
}

/* Makes every spte that maps gfn read-only: gfn has become a guest page table. */
static void write_protect_gfn(gfn_t gfn)
{
	const struct memslot *m = memslot_lookup(&guest_memslots, gfn);
	if (!m)
		return;
	hpa_t hpa = memslot_gfn_to_hpa(m, gfn);
	for (u32 l = *rmap_head(hpa); l; l = links[l].next) {
		u64 *p = ref_ptr(links[l].ref);
		if (spte_hpa(*p) == hpa) {
			*p = (*p & ~(SPTE_RW | SPTE_MMU_WRITABLE)) |
			     ((*p & SPTE_RW) ? SPTE_GUEST_WRITABLE : 0);
			audit_note(links[l].ref);
		}
	}
}

/* The live shadow page for (gfn, role), or a new one. */
static struct sp *sp_get(gfn_t gfn, u32 role)
{
	for (struct sp *s = hash[hash_of(gfn, role)]; s; s = s->hash_next)
		if (s->gfn == gfn && s->role == role && !is_obsolete(s)) {
			mmu_stats.sp_reused++;
			return s;
		}
	bool first_shadow = is_table_shadow(role) && !gfn_is_shadowed(gfn);
	struct sp *s = sp_alloc(gfn, role);
	if (first_shadow)
		write_protect_gfn(gfn);
	return s;
}

/* Zaps every live shadow of guest table gfn (the guest wrote to it). */
static void zap_gfn_shadows(gfn_t gfn)
{
	for (struct sp *s = *gfn_bucket(gfn), *next; s; s = next) {
		next = s->gfn_next;
		if (s->gfn != gfn || is_obsolete(s))
			continue;
		list_del(&active_list, s);
		sp_free(s);
	}
}

bool mmu_init(u64 pool_pages, u32 guest_phys_bits, const struct mmu_cpu *cpu)
{
	list_init(&free_list);
	list_init(&active_list);
	list_init(&obsolete_list);
	for (u32 i = 1; i < LINK_MAX; i++) /* link 0 is the chain terminator */
		links[i].next = i + 1 < LINK_MAX ? i + 1 : 0;
	link_free_head = 1;
	pool_pages = MIN(pool_pages, (u64)SP_MAX);
	pool_base = pmm_alloc_contig(pool_pages, PAGE_SIZE);
	u64 mark_pages = (pool_pages * sizeof(struct audit_marks) + PAGE_SIZE - 1) / PAGE_SIZE;
	u64 marks_base = pool_base ? pmm_alloc_contig(mark_pages, PAGE_SIZE) : 0;
	u64 present_pages = (pool_pages * sizeof(struct present_bits) + PAGE_SIZE - 1) / PAGE_SIZE;
	u64 present_base = marks_base ? pmm_alloc_contig(present_pages, PAGE_SIZE) : 0;
	if (!present_base)
		return false;
	marks = (struct audit_marks *)(uintptr_t)marks_base;
	memset(marks, 0, mark_pages * PAGE_SIZE);
	present = (struct present_bits *)(uintptr_t)present_base;
	memset(present, 0, present_pages * PAGE_SIZE);
	for (u64 i = pool_pages; i-- > 0;) {
		sps[i].spt = (u64 *)(uintptr_t)(pool_base + i * PAGE_SIZE);
		list_add(&free_list, &sps[i]);
	}
	mmu_stats.sp_pool = pool_pages;
	memslot_init(&guest_memslots, guest_phys_bits);
	slot_cache.m = NULL;
	maxphyaddr = cpu->maxphyaddr;
	nx_enabled = cpu->nx;
	/* Bit 51 must be reserved for MMIO sptes to fault with RSVD (spte.h). */
	mmio_sptes_enabled = maxphyaddr <= 51;
	spte_init_mmio(maxphyaddr); /* the L1TF bits for this CPU's L1D width */
	pf_bypass = cpu->pf_bypass && mmio_sptes_enabled;
	spte_empty = pf_bypass ? spte_trap() : 0;
	root_refill = false;
	gctx.mode = GWALK_NONE;
	gctx.maxphyaddr = maxphyaddr;
	pr_info("mmu: %llu shadow pages (%llu KiB, audit marks %llu KiB, present bits %llu KiB); "
		"MAXPHYADDR %u: MMIO sptes %s; NX %s; pf_bypass %s", pool_pages, pool_pages * 4,
		mark_pages * 4, present_pages * 4,
		maxphyaddr, mmio_sptes_enabled ? "on" : "off (every MMIO access takes the slow path)",
		nx_enabled ? "on" : "off",
		pf_bypass ? "on" : cpu->pf_bypass ? "off (MAXPHYADDR 52: no reserved bit for TRAP sptes)"
						  : "off");
	return true;
}

/* ---- guest memory ---- */

/*
 * Every write the hypervisor makes into guest RAM on the guest's behalf (the instruction
 * emulator, string I/O, the GDB stub, the monitor) goes through guest_phys_write, which tells
 * the MMU (KVM's kvm_page_track_write): a written frame that holds a shadowed guest table
 * has its shadows zapped, as a guest write would through its write-protected mapping. The one
 * untracked writer is the walker's A/D update below: setting A or D only grants what a
 * shadow already withholds (a leaf is writable only once D is set), and it runs in the middle
 * of a fault, whose walk must not lose its pages.
 */
static void track_write(u64 gpa, u64 len);
static u32 walk_access(u32 ec);

/* The memslot of gfn, through a one-entry cache of the last slot found (slot_cache). */
static inline const struct memslot *ram_slot(gfn_t gfn)
{
	const struct memslot *m = slot_cache.m;
	if (m && slot_cache.generation == guest_memslots.generation &&
	    gfn - m->base_gfn < m->npages)
		return m;
	m = memslot_lookup(&guest_memslots, gfn);
	if (m) {
		slot_cache.m = m;
		slot_cache.generation = guest_memslots.generation;
	}
	return m;
}

/* Inlined into each caller, so the constant write/track tests fold away. */
static inline __attribute__((always_inline)) bool phys_access(u64 gpa, void *buf, u64 len,
							   bool write, bool track)
{
	u8 *p = buf;
	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		const struct memslot *m = ram_slot(gpa >> PAGE_SHIFT);
		if (!m || (write && (m->flags & MEMSLOT_F_READONLY)))
			return false;
		u8 *host = (u8 *)(uintptr_t)(memslot_gfn_to_hpa(m, gpa >> PAGE_SHIFT) +
					     (gpa & (PAGE_SIZE - 1)));
		if (write)
			memcpy(host, p, chunk);
		else
			memcpy(p, host, chunk);
		if (track && gfn_is_shadowed(gpa >> PAGE_SHIFT))
			track_write(gpa, chunk);
		gpa += chunk;
		p += chunk;
		len -= chunk;
	}
	return true;
}

bool guest_phys_read(u64 gpa, void *buf, u64 len)
{
	return phys_access(gpa, buf, len, false, false);
}

bool guest_phys_write(u64 gpa, const void *buf, u64 len)
{
	return phys_access(gpa, (void *)buf, len, true, true);
}

u64 guest_virt_access(gva_t gva, void *buf, u64 len, bool write)
{
	u64 done = 0;
	while (done < len) {
		u64 gpa;
		u32 ec;
		u64 chunk = MIN(len - done, PAGE_SIZE - ((gva + done) & (PAGE_SIZE - 1)));
		/* AC: a debugger reads user pages whatever SMAP says */
		if (!mmu_translate(gva + done, MMU_ACC_AC, &gpa, &ec) ||
		    !phys_access(gpa, (u8 *)buf + done, chunk, write, write))
			break;
		done += chunk;
	}
	return done;
}

/* A guest paging-structure entry (4 or 8 bytes, naturally aligned: never across a page). */
static bool walk_read(void *opaque, u64 gpa, void *buf, int size)
{
	(void)opaque;
	const struct memslot *m = ram_slot(gpa >> PAGE_SHIFT);
	if (!m)
		return false;
	const void *host = (const void *)(uintptr_t)(memslot_gfn_to_hpa(m, gpa >> PAGE_SHIFT) +
						    (gpa & (PAGE_SIZE - 1)));
	if (size == 8)
		*(u64 *)buf = *(const u64 *)host;
	else
		memcpy(buf, host, (size_t)size);
	return true;
}

/* A/D updates: compare-and-set on the guest entry (one vCPU: no race, but keep the contract).
 * Not tracked (see above). */
static bool walk_set_bits(void *opaque, u64 gpa, int size, u64 old, u64 bits)
{
	(void)opaque;
	u64 cur = 0, upd;
	if (!guest_phys_read(gpa, &cur, (u64)size))
		return false;
	if (cur != old)
		return false;
	upd = cur | bits;
	return phys_access(gpa, &upd, (u64)size, true, false);
}

static const struct gwalk_ops walk_ops = { walk_read, walk_set_bits, NULL };

/* ---- guest writes to shadowed tables ---- */

/*
 * A write into a guest table that has shadows (the guest's own write, emulated after its
 * write-protection fault, or any other tracked write) keeps the shadows and fixes the entries
 * it wrote in place (KVM's kvm_mmu_pte_write), so a kernel editing the page tables of a live
 * process does not lose the rest of each table's shadow at every edit:
 *  - a written entry's spte is cleared (rebuilt from the new guest entry on its next fault),
 *    except the one leaf that answers the last fault reflected to the guest: that is mapped
 *    at once from a walk of the faulting access (the guest's retry would make exactly this
 *    walk and set the same A/D bits), which saves the retry's exit;
 *  - write-flood detection: a shadow page written FLOOD_WRITES times with no fault going
 *    through it in between is zapped (the guest is clearing or reusing the page, e.g. an
 *    munmap clearing a whole table, or a freed table being reused as data); the next write
 *    faults once and maps the page writable, and the rest go through without exits.
 * Only for 8-byte entries (PAE and 4-level guests), where guest and shadow entries line up
 * one to one; a 32-bit guest's table (1024 entries over two quadrants) has its shadows
 * zapped, as every guest did before.
 */
#define FLOOD_WRITES 3

static u64 ram_leaf(const struct memslot *m, gfn_t gfn, u32 acc);
static u32 acc_of_entry(u64 e);

/* The leaf for walk w in table shadow s: as map_ram makes it, never with more permission
 * than s's role (its upper levels) grants. */
static u64 prefetch_leaf(const struct sp *s, const struct gwalk_result *w,
			 const struct memslot *m)
{
	u32 acc = (s->role >> ROLE_ACC_SHIFT) & ACC_ALL;
	acc &= (w->writable && w->dirty ? ACC_W : 0) | (w->user ? ACC_U : 0) | (w->exec ? ACC_X : 0);
	return ram_leaf(m, w->gpa >> PAGE_SHIFT, acc);
}

/* The leaf for guest PTE g in s (a shadow of a guest table, level 1) read without a walk: only
 * for a PTE present, accessed, without reserved bits (rsvd: gwalk_pte_rsvd), on RAM (an MMIO
 * spte is made by its first access); writable only once dirty; never more permission than the
 * PTE and s's role (its upper levels) grant. Sets no A or D bit. */
static bool gpte_leaf(const struct sp *s, u64 g, u64 rsvd, u64 *spte)
{
	if (!(g & PTE_P) || !(g & PTE_A) || (g & rsvd))
		return false;
	gfn_t gfn = (g & PTE_ADDR_64 & ~rsvd) >> PAGE_SHIFT;
	const struct memslot *m = ram_slot(gfn);
	if (!m)
		return false;
	u32 a = ((s->role >> ROLE_ACC_SHIFT) & ACC_ALL) & acc_of_entry(g);
	if (!(g & PTE_D))
		a &= ~ACC_W;
	*spte = ram_leaf(m, gfn, a);
	return true;
}

/* Makes spte ref zero ("notrap", spte.h): its guest entry is known not present, so a fault
 * there is the guest's own and goes to it without an exit (pf_bypass). */
static void set_notrap(u32 ref)
{
	spte_clear(ref);
	u64 *p = ref_ptr(ref);
	if (*p) {
		*p = 0;
		audit_note(ref);
	}
}

static void track_write(u64 gpa, u64 len)
{
	gfn_t gfn = gpa >> PAGE_SHIFT;
	mmu_stats.tracked_writes++;
	if (!pte8_mode()) {
		zap_gfn_shadows(gfn);
		return;
	}
	u32 first = (u32)(gpa & (PAGE_SIZE - 1)) / 8;
	u32 last = (u32)((gpa & (PAGE_SIZE - 1)) + len - 1) / 8;
	/* Does this write answer the last reflected fault (its last entry is one of those
	 * written)? A PTE now present and accessed (a kernel's new PTE usually is: Linux's
	 * page protections include A) is mapped from its value; otherwise the faulting access
	 * is walked again (it sets A and D as the guest's retry would) and mapped if it
	 * succeeds. */
	struct gwalk_result w;
	const struct memslot *m = NULL;
	u32 fill = ~0u;
	u64 g = 0, rsvd = 0;
	bool by_value = false;
	if (pending.valid && pending.pte_gpa >> 3 >= gpa >> 3 &&
	    pending.pte_gpa >> 3 <= (gpa + len - 1) >> 3 && links_free() > WALK_LINKS) {
		u32 i = (u32)(pending.pte_gpa & (PAGE_SIZE - 1)) / 8;
		rsvd = gwalk_pte_rsvd(&gctx);
		if (walk_read(NULL, pending.pte_gpa & ~7ULL, &g, 8) && (g & PTE_P) && (g & PTE_A) &&
		    !(g & rsvd)) {
			by_value = true;
			fill = i;
		} else if (pending.tries-- > 0) {
			gctx.ac = pending.ac;
			if (gwalk(&gctx, &walk_ops, pending.la, pending.acc, &w) == GWALK_OK &&
			    w.page_size == PAGE_SIZE && w.pte_gpa[w.levels - 1] >> PAGE_SHIFT == gfn &&
			    w.pte_gpa[w.levels - 1] >> 3 == pending.pte_gpa >> 3 &&
			    (m = ram_slot(w.gpa >> PAGE_SHIFT)) != NULL)
				fill = i;
		}
	}
	/* pf_bypass: the entries' new values (the write is done), read once. */
	u64 gnew[2] = { 0, 0 };
	bool have_new = pf_bypass && last - first < 2 &&
			walk_read(NULL, (gfn << PAGE_SHIFT) + first * 8, gnew, (int)(last - first + 1) * 8);
	u64 rsvd_new = ~0ULL; /* gwalk_pte_rsvd, once a value is mapped from */
	bool filled = false;
	for (struct sp *s = *gfn_bucket(gfn), *next; s; s = next) {
		next = s->gfn_next;
		if (s->gfn != gfn || is_obsolete(s))
			continue;
		/* pf_bypass: a leaf entry whose spte is zero written present, mapped from its value
		 * (below), is a table in use (most likely the guest's answer to its own fault there,
		 * which reached it without an exit), not a flood. */
		bool answer = have_new && first == last &&
			      ROLE_LEVEL(s->role) == 1 && !s->spt[first] && (gnew[0] & PTE_P);
		if (!answer && ++s->flood >= FLOOD_WRITES) {
			mmu_stats.flood_zaps++;
			list_del(&active_list, s);
			sp_free(s);
			continue;
		}
		mmu_stats.pte_updates++;
		for (u32 i = first; i <= last; i++) {
			u64 leaf, gn = gnew[i - first];
			u32 ref = ref_of(s, (int)i);
			if (i == fill && ROLE_LEVEL(s->role) == 1 && links_free() > WALK_LINKS &&
			    (by_value ? gpte_leaf(s, g, rsvd, &leaf)
				      : (leaf = prefetch_leaf(s, &w, m), true))) {
				spte_set_leaf(ref, leaf);
				filled = true;
			} else if (!have_new) {
				spte_clear(ref);
			} else if (!(gn & PTE_P)) {
				set_notrap(ref); /* the guest's own fault, no exit */
			} else if (ROLE_LEVEL(s->role) == 1 && !s->spt[i] && links_free() > WALK_LINKS &&
				   gpte_leaf(s, gn, rsvd_new == ~0ULL ? (rsvd_new = gwalk_pte_rsvd(&gctx))
								      : rsvd_new, &leaf)) {
				/* The guest fills a hole its faults reached it through without an exit:
				 * mapped now, as the answer to a reflected fault is (by value). */
				spte_set_leaf(ref, leaf);
				mmu_stats.prefetched++;
			} else {
				spte_clear(ref);
			}
		}
	}
	if (filled) {
		mmu_stats.prefetched++;
		pending.valid = false;
	}
}

/* A fault reflected to the guest: its path is in use (not a flood), and the write that
 * answers it may map it (track_write). */
static int root_level(void);
static int shadow_index(u64 la, int level);

static void note_guest_fault(u64 la, u32 ec, const struct gwalk_result *w)
{
	pending.valid = w->levels > 0;
	pending.pte_gpa = w->levels ? w->pte_gpa[w->levels - 1] : 0;
	pending.la = la;
	pending.acc = walk_access(ec);
	pending.ac = ec & PFEC_SW_AC;
	pending.tries = PENDING_TRIES;
	struct sp *s = root;
	for (int level = root_level(); s; level--) {
		s->flood = 0;
		if (level == 1)
			break;
		u64 e = s->spt[shadow_index(la, level)];
		if (!is_shadow_present(e))
			break;
		s = sp_of_hpa(spte_hpa(e));
	}
}

/* ---- guest paging state ---- */

int mmu_set_guest_paging(const struct mmu_paging *p)
{
	struct gwalk_ctx n = {
		.mode = !p->pg ? GWALK_NONE : p->lma ? GWALK_LONG4 : p->pae ? GWALK_PAE : GWALK_32,
		.wp = p->wp, .nxe = p->nxe && nx_enabled, .pse = p->pse, .smep = p->smep,
		.smap = p->smap, .cr3 = p->cr3, .maxphyaddr = maxphyaddr,
	};
	if (n.mode == GWALK_PAE) {
		if (p->load_pdptes || gctx.mode != GWALK_PAE) {
			if (!gwalk_load_pdptes(&walk_ops, p->cr3, maxphyaddr, n.pdpte))
				return -1;
		} else {
			memcpy(n.pdpte, gctx.pdpte, sizeof(n.pdpte));
		}
	}
	bool reset = n.mode != gctx.mode || n.wp != gctx.wp || n.nxe != gctx.nxe ||
		     n.pse != gctx.pse || n.smep != gctx.smep || n.smap != gctx.smap;
	gctx = n;
	pending.valid = false;
	if (reset)
		mmu_zap_all_fast(); /* permissions in sptes depend on these bits */
	entry_work();
	root = NULL; /* looked up again (cached) and, for PAE-format roots, refilled */
	return 0;
}

static gfn_t long4_root_gfn(void);
static u32 long4_root_role(void);
static void root_ready(void);

int mmu_set_guest_cr3(u64 cr3)
{
	if (gctx.mode == GWALK_PAE) {
		u64 pdpte[4];
		if (!gwalk_load_pdptes(&walk_ops, cr3, maxphyaddr, pdpte))
			return -1;
		memcpy(gctx.pdpte, pdpte, sizeof(pdpte));
	}
	gctx.cr3 = cr3;
	entry_work();
	struct sp *back = prev_root;
	prev_root = root;
	root = NULL; /* looked up again (cached) and, for PAE-format roots, refilled */
	/* A 4-level guest switching back to the root it left last (Linux's page-table
	 * isolation: every kernel entry and exit): that root, without the cache's lookup, and
	 * the next entry without mmu_before_entry when nothing else waits. */
	if (gctx.mode == GWALK_LONG4 && back && back->in_use && !is_obsolete(back) &&
	    back->gfn == long4_root_gfn() && back->role == long4_root_role()) {
		root = back;
		mmu_stats.sp_reused++;
		if (mmu_audit_enabled)
			audit_pending = true; /* the root load's audit point */
		else
			root_ready();
	}
	return 0;
}

bool mmu_guest_paging_on(void)
{
	return gctx.mode != GWALK_NONE;
}

bool mmu_pf_bypass_active(void)
{
	return pf_bypass && gctx.mode != GWALK_NONE;
}

/* ---- roots ---- */

static u32 mode_bits(void) { return (u32)gctx.mode << ROLE_MODE_SHIFT; }

static u32 role_of(int level, bool direct, u32 quadrant, u32 acc)
{
	return (u32)level | (direct ? ROLE_DIRECT : 0) | mode_bits() |
	       (quadrant << ROLE_QUAD_SHIFT) | (acc << ROLE_ACC_SHIFT);
}

/* PAE-format roots hold 4 PDPTEs: for a 32-bit guest, the 4 quadrants of its page directory;
 * for a PAE guest, its 4 PDPTEs as loaded at the last CR3 write. */
static void fill_pae_root(struct sp *r)
{
	for (u32 i = 0; i < 4; i++) {
		struct sp *pd = NULL;
		if (gctx.mode == GWALK_32)
			pd = sp_get((gctx.cr3 & PTE_ADDR_32) >> PAGE_SHIFT,
				    role_of(2, false, i, ACC_ALL));
		else if (gctx.pdpte[i] & PTE_P)
			pd = sp_get((gctx.pdpte[i] & PTE_ADDR_64) >> PAGE_SHIFT,
				    role_of(2, false, 0, ACC_ALL));
		if (pd && (spte_hpa(r->spt[i]) != (hpa_t)(uintptr_t)pd->spt ||
			   !(r->spt[i] & SPTE_P)))
			spte_set_child(ref_of(r, (int)i), pd, true);
		else if (!pd && r->spt[i])
			spte_clear(ref_of(r, (int)i));
	}
}

static void audit_point(const char *where);

/* True when mmu_before_entry has nothing to do but return the root (what mmu_entry_root
 * promises; the audit checks it). */
static bool entry_ready(void)
{
	return !obsolete_list.count && root && !audit_pending && !root_refill && !is_obsolete(root);
}

/* The root is loaded and current, no audit waits: the next entries may skip
 * mmu_before_entry unless obsolete pages wait or a PDPTE was cleared meanwhile. */
static void root_ready(void)
{
	mmu_entry_root = obsolete_list.count || root_refill ? 0 : (hpa_t)(uintptr_t)root->spt;
}

hpa_t mmu_before_entry(void)
{
	if (obsolete_list.count)
		mmu_reclaim();
	return mmu_load_root(); /* it sets mmu_entry_root when nothing is left to do */
}

/* The root the guest's CR3 selects in 4-level paging (its key in the cache). */
static gfn_t long4_root_gfn(void) { return (gctx.cr3 & PTE_ADDR_64) >> PAGE_SHIFT; }
static u32 long4_root_role(void) { return role_of(4, false, 0, ACC_ALL); }

/* The root for the guest's paging state, built when it is missing or obsolete. */
static struct sp *get_root(void)
{
	switch (gctx.mode) {
	case GWALK_NONE:
		return sp_get(0, ROLE_DIRECT | ROLE_PAE_ROOT | 3 | mode_bits());
	case GWALK_LONG4:
		return sp_get(long4_root_gfn(), long4_root_role());
	default: { /* 32-bit and PAE guests: the root is keyed by CR3 itself */
		struct sp *r = sp_get(gctx.cr3 & CR3_PAE_PDPT_ADDR, ROLE_PAE_ROOT | 3 | mode_bits());
		/* A cached 32-bit root whose 4 quadrant entries are present is complete (a freed
		 * child clears its parent entry); PAE PDPTEs may have been reloaded. */
		if (gctx.mode != GWALK_32 || !(r->spt[0] & r->spt[1] & r->spt[2] & r->spt[3] & SPTE_P))
			fill_pae_root(r);
		return r;
	}
	}
}

hpa_t mmu_load_root(void)
{
	if (!root || is_obsolete(root) || root_refill) {
		mmu_topup(); /* nothing is held yet; it may zap all, and the root is built below */
		entry_work();
		root_refill = false; /* get_root refills a PAE-format root's missing PDPTEs */
		root = get_root();
		audit_pending = true;
	}
	if (audit_pending) {
		audit_pending = false;
		audit_point("root load");
	}
	root_ready();
	return (hpa_t)(uintptr_t)root->spt;
}

/* ---- walking and building the shadow ---- */

static int root_level(void) { return gctx.mode == GWALK_LONG4 ? 4 : 3; }

static int shadow_index(u64 la, int level)
{
	return level == 3 && root_level() == 3 ? (int)((la >> 30) & 3) : (int)SPTE_INDEX(la, level);
}

int mmu_shadow_walk(u64 la, u64 sptes[4])
{
	if (!root)
		return 0;
	u64 *table = root->spt;
	int n = 0;
	for (int level = root_level(); level >= 1; level--) {
		u64 e = table[shadow_index(la, level)];
		sptes[n++] = e;
		if (level == 1 || !is_shadow_present(e))
			break;
		table = (u64 *)(uintptr_t)spte_hpa(e);
	}
	return n;
}

/* What a missing child of a shadow entry at level (child level - 1 = level - 1) must be. */
struct child_key {
	gfn_t gfn;
	u32 role;
};

static u32 acc_of_entry(u64 e)
{
	return ((e & PTE_RW) ? ACC_W : 0) | ((e & PTE_US) ? ACC_U : 0) |
	       ((gctx.nxe && (e & PTE_XD)) ? 0 : ACC_X);
}

/*
 * The shadow page that belongs under the shadow entry at `level` for linear address la, from
 * the guest walk w (top entry first). Guest and shadow levels line up except for 32-bit
 * guests (1024-entry tables split by quadrant) and PAE guests (no PDPT level in w).
 */
static struct child_key child_for(u64 la, int level, const struct gwalk_result *w)
{
	/* Index in w of the guest entry that corresponds to this shadow entry. */
	int idx = gctx.mode == GWALK_LONG4 ? root_level() - level : level == 3 ? -1 : 0;
	int last = w->levels - 1; /* the guest entry that maps the page */
	u32 acc = ACC_ALL;
	if (gctx.mode == GWALK_NONE)
		return (struct child_key){ (la >> SPTE_LEVEL_SHIFT(level)) << (9 * (level - 1)),
					   role_of(level - 1, true, 0, ACC_ALL) };
	if (idx < 0) /* under a PAE-format root: set up by fill_pae_root */
		return (struct child_key){ 0, 0 };
	int j = MIN(idx, last);
	for (int i = 0; i <= j; i++)
		acc &= acc_of_entry(w->pte[i]);
	if (idx >= last) {
		/* Inside a large guest page (at or below its entry): a direct shadow of the part
		 * this shadow entry covers. A clean large page grants no write: the first write
		 * faults, the walker sets D, and the child is replaced by a writable one. D as it is
		 * after this walk (w->dirty), not as read (w->pte): the leaf map_ram installs under
		 * this child is writable exactly when D is now set, and a clean-keyed child must
		 * never hold a writable leaf that another address space with a clean entry reuses. */
		if (!w->dirty)
			acc &= ~ACC_W;
		gfn_t base = (w->gpa & ~(w->page_size - 1)) >> PAGE_SHIFT;
		gfn_t off = ((la & (w->page_size - 1)) >> SPTE_LEVEL_SHIFT(level)) << (9 * (level - 1));
		return (struct child_key){ base + off, role_of(level - 1, true, 0, acc) |
							   (w->dirty ? ROLE_DIRTY : 0) };
	}
	u64 e = w->pte[idx];
	u64 table = e & (gctx.mode == GWALK_32 ? PTE_ADDR_32 : PTE_ADDR_64);
	u32 quad = gctx.mode == GWALK_32 ? (u32)((la >> 21) & 1) : 0;
	return (struct child_key){ table >> PAGE_SHIFT, role_of(level - 1, false, quad, acc) };
}

/* Returns the ref of the level-1 spte for la, building the path (and replacing a child whose
 * key no longer matches the guest's entries, e.g. a large page that became dirty). The caller
 * reserved the pages (mmu_topup). ~0u only when a PAE-format root has no PD for la (the guest
 * retries). */
static u32 shadow_path_to(u64 la, const struct gwalk_result *w, int stop);

static u32 shadow_path(u64 la, const struct gwalk_result *w)
{
	return shadow_path_to(la, w, 1);
}

/* shadow_path down to the spte at level stop (whose guest entry the walk w read). */
static u32 shadow_path_to(u64 la, const struct gwalk_result *w, int stop)
{
	struct sp *s = root;
	for (int level = root_level(); level > stop; level--) {
		int i = shadow_index(la, level);
		s->flood = 0; /* a fault goes through it: in use as a table */
		bool pae_root = level == 3 && root_level() == 3;
		if (pae_root && gctx.mode != GWALK_NONE && !is_shadow_present(s->spt[i])) {
			/* The root's PDPTEs were zapped with the guest's page directory: refill. */
			fill_pae_root(s);
			if (!is_shadow_present(s->spt[i]))
				return ~0u; /* no PD for this PDPTE: the guest retries */
		}
		struct child_key k = pae_root && gctx.mode != GWALK_NONE ? (struct child_key){ 0, 0 }
									 : child_for(la, level, w);
		u64 e = s->spt[i];
		struct sp *cur = is_shadow_present(e) ? sp_of_hpa(spte_hpa(e)) : NULL;
		if (k.role && (!cur || cur->gfn != k.gfn || cur->role != k.role)) {
			/* The walk reserved its pages (mmu_topup): s stays live. */
			spte_set_child(ref_of(s, i), sp_get(k.gfn, k.role), pae_root);
			e = s->spt[i];
		}
		s = sp_of_hpa(spte_hpa(e));
		if (!s)
			panic("mmu: shadow entry %#llx points outside the pool", e);
	}
	s->flood = 0;
	return ref_of(s, shadow_index(la, stop));
}

/* ---- faults ---- */

static bool install_mmio(u32 ref, gfn_t gfn, bool w, bool u)
{
	u64 gen = guest_memslots.generation;
	/* One vCPU: the memslot lookup that sent us here ran in this exit, and no memslot
	 * update can be in progress now (docs/mmu.md, invariant 6). A second vCPU would have to
	 * refuse instead, as KVM does, while the update-in-progress bit is set. */
	ASSERT(!(gen & MEMSLOT_GEN_UPDATE_IN_PROGRESS));
	if (!mmio_sptes_enabled || !mmio_spte_gfn_fits(gfn))
		return false; /* nothing cached: the next access takes the slow path again */
	spte_set_leaf(ref, make_mmio_spte(gfn, w, u, gen));
	mmu_stats.mmio_sptes++;
	return true;
}

static const struct mmu_verdict handled = { MMU_HANDLED, 0, 0 };

static struct mmu_verdict emulate_at(u64 gpa, bool device)
{
	return (struct mmu_verdict){ device ? MMU_EMULATE_DEVICE : MMU_EMULATE, 0, gpa };
}

static u32 walk_access(u32 ec)
{
	return ((ec & PFEC_W) ? GWALK_ACC_WRITE : 0) | ((ec & PFEC_U) ? GWALK_ACC_USER : 0) |
	       ((ec & PFEC_I) ? GWALK_ACC_FETCH : 0);
}

/* True when gfn holds one of the guest entries this walk read: a write there would change
 * the very translation being built. */
static bool walk_uses_gfn(const struct gwalk_result *w, gfn_t gfn)
{
	for (int i = 0; i < w->levels; i++)
		if (w->pte_gpa[i] >> PAGE_SHIFT == gfn)
			return true;
	return false;
}

static void prefetch_around(u32 ref);

/* A RAM leaf for gfn (in memslot m) with the guest's permissions acc (ACC_*, the write
 * permission only where D is set): read-only where the memslot is, or where the frame holds
 * a shadowed guest table (then marked SPTE_GUEST_WRITABLE: a write fault there needs no
 * walk, see page_fault). */
static u64 ram_leaf(const struct memslot *m, gfn_t gfn, u32 acc)
{
	bool host_w = !(m->flags & MEMSLOT_F_READONLY), mmu_w = !gfn_is_shadowed(gfn);
	u64 spte = make_leaf_spte(memslot_gfn_to_hpa(m, gfn), acc & ACC_W, acc & ACC_U,
				  (acc & ACC_X) || !nx_enabled, host_w, mmu_w);
	if ((acc & ACC_W) && host_w && !mmu_w)
		spte |= SPTE_GUEST_WRITABLE;
	return spte;
}

/* RAM leaf for a successful walk w of access ec; or the write to emulate instead. */
static struct mmu_verdict map_ram(u32 ref, const struct memslot *m, u64 la, u32 ec,
				  const struct gwalk_result *w)
{
	gfn_t gfn = w->gpa >> PAGE_SHIFT;
	bool write = ec & PFEC_W, user = w->user;
	/* Read-only until the guest's dirty bit is set: the first write faults and sets it. */
	bool writable = w->writable && (w->dirty || gctx.mode == GWALK_NONE);
	bool host_w = !(m->flags & MEMSLOT_F_READONLY);
	bool wp0_write = write && !w->writable && !(ec & PFEC_U) && !gctx.wp;
	if (wp0_write) {
		writable = true; /* CR0.WP=0: supervisor may write; keep users out (KVM's trick) */
		user = false;
	}
	mmu_stats.shadow_faults++; /* every way out below handles this #PF exit */
	if (write && !host_w)
		return emulate_at(w->gpa, false); /* ROM: the write is dropped */
	if (wp0_write && w->user && (gctx.smap || gctx.smep))
		/* The trick would make a user page supervisor-only, and the CPU would then miss
		 * SMAP (supervisor reads with AC=0) and SMEP faults on it: emulate the write. */
		return emulate_at(w->gpa, false);
	u32 acc = (writable ? ACC_W : 0) | (user ? ACC_U : 0) | (w->exec ? ACC_X : 0);
	bool retry = is_unprotected_retry(gfn, la);
	if (write && gfn_is_shadowed(gfn) && pte8_mode() && !walk_uses_gfn(w, gfn) && !retry) {
		/* A guest table (8-byte entries): the write is emulated, and track_write keeps
		 * the shadows, fixing the entries written, until the page floods; or the caller
		 * unprotects it for a bulk write (mmu_unprotect). The leaf is read-only (the
		 * frame is shadowed) and guest-writable, so the next write to the table here
		 * needs no walk. */
		if (!wp0_write)
			spte_set_leaf(ref, ram_leaf(m, gfn, acc));
		return (struct mmu_verdict){ MMU_EMULATE_PT_WRITE, 0, w->gpa };
	}
	if (write && gfn_is_shadowed(gfn)) {
		/* The guest edits a table this very access goes through: emulate the write
		 * (tracked: guest_phys_write drops any shadow made meanwhile). So too when the
		 * same write faults again on the table it unprotected last time (KVM's
		 * retry_instruction rule): another walk the instruction needs (its own fetch,
		 * say, through a large page that table maps) shadowed it again before the write
		 * could retire, and unprotecting it once more would loop forever. */
		if (walk_uses_gfn(w, gfn) || retry) {
			zap_gfn_shadows(gfn); /* rebuilt on use, from what the guest writes now */
			unprotected_gfn = ~0ULL;
			return emulate_at(w->gpa, false);
		}
		/* Otherwise it is no longer a table in use: unprotected, mapped writable. */
		mmu_unprotect(w->gpa, la);
		if (!root)
			return handled;
	}
	/* The CR0.WP=0 trick's leaf is writable though the guest's entry is not: never marked
	 * guest-writable. */
	u64 spte = ram_leaf(m, gfn, acc);
	if (wp0_write)
		spte &= ~SPTE_GUEST_WRITABLE;
	spte_set_leaf(ref, spte);
	prefetch_around(ref);
	return handled;
}

void mmu_unprotect(u64 gpa, u64 la)
{
	zap_gfn_shadows(gpa >> PAGE_SHIFT);
	unprotected_gfn = gpa >> PAGE_SHIFT;
	unprotected_la = la & ~(PAGE_SIZE - 1);
}

/*
 * Prefetch (KVM's direct_pte_prefetch): after a fault maps one leaf inside a large guest page
 * (a direct shadow page: a kernel's direct map of RAM), the other frames of its aligned group
 * of PREFETCH_PTES that have no spte yet are mapped too, with the large page's permissions
 * (writable only once its D is set, as its role says), so the kernel touching neighbouring
 * frames takes one fault per group. Measured on the Linux boot: 109,000 exits to /init
 * without it, 75,500 with it. The same for shadows of guest tables (KVM's pte_prefetch, for
 * PTEs present and accessed) was measured too and costs more than it saves: Linux's
 * fault-around marks 16 file pages accessed at a time, most of which a short-lived process
 * never touches (fork 2.96 against 2.88, exec 3.24 against 3.16); the code below still
 * handles table shadows (tested) but is called for direct pages only (prefetch_around).
 * It sets no A or D bit. PAE and 4-level guests (8-byte entries, one shadow entry each).
 */
#define PREFETCH_PTES 8
bool mmu_prefetch_tables;

static void prefetch_around(u32 ref)
{
	struct sp *s = ref_sp(ref);
	if (ROLE_LEVEL(s->role) != 1 || !pte8_mode() ||
	    (!(s->role & ROLE_DIRECT) && !mmu_prefetch_tables))
		return;
	u32 idx = ref & 511, base = idx & ~(u32)(PREFETCH_PTES - 1);
	u32 acc = (s->role >> ROLE_ACC_SHIFT) & ACC_ALL;
	bool direct = s->role & ROLE_DIRECT;
	u64 g[PREFETCH_PTES];
	if (!direct && !guest_phys_read((s->gfn << PAGE_SHIFT) + base * 8, g, sizeof(g)))
		return;
	u64 rsvd = gwalk_pte_rsvd(&gctx);
	for (u32 j = 0; j < PREFETCH_PTES; j++) {
		u32 i = base + j;
		if (i == idx || is_shadow_present(s->spt[i]) || links_free() <= WALK_LINKS)
			continue;
		u64 leaf;
		if (direct) { /* a direct page's role already lacks W while its D is clear */
			const struct memslot *m = ram_slot(s->gfn + i);
			if (!m)
				continue; /* MMIO: its spte is made by its first access */
			leaf = ram_leaf(m, s->gfn + i, acc);
		} else if (!gpte_leaf(s, g[j], rsvd, &leaf)) {
			continue;
		}
		spte_set_leaf(ref_of(s, (int)i), leaf);
		mmu_stats.prefetched++;
	}
}

u64 mmu_mmio_last_page = ~0ULL;

/* A current MMIO spte that allows the access: the device's gpa in *gpa. */
static bool mmio_fast_path(u32 ref, u64 la, u32 ec, u64 *gpa)
{
	u64 spte = *ref_ptr(ref);
	if (!is_mmio_spte(spte) || !mmio_spte_current(spte, guest_memslots.generation))
		return false;
	/* The guest's permissions, cached in the spte: a violation goes the slow way, whose
	 * walk injects the guest's own fault. */
	if (((ec & PFEC_W) && !(spte & SPTE_MMIO_ACC_W)) || ((ec & PFEC_U) && !(spte & SPTE_MMIO_ACC_U)))
		return false;
	/* SMAP: a supervisor access to a user page with RFLAGS.AC=0 is the guest's fault. */
	if (gctx.smap && !(ec & (PFEC_U | PFEC_SW_AC)) && (spte & SPTE_MMIO_ACC_U))
		return false;
	/* Execute permission is not cached: a fetch takes the slow path, whose walk injects the
	 * guest's NX fault (and code in device memory is not run anyway). */
	if (ec & PFEC_I)
		return false;
	mmu_stats.mmio_fast++;
	mmu_mmio_last_page = la & ~(PAGE_SIZE - 1);
	*gpa = (mmio_spte_gfn(spte) << PAGE_SHIFT) | (la & 0xfff);
	return true;
}

/* The leaf spte ref for la in the current root, without building anything; ~0u if absent.
 * Follows the tables as the CPU does (a present non-leaf spte points into the pool: the
 * audit checks it), looking the page up only at the end: every RSVD fault (an MMIO or a TRAP
 * spte) takes this walk before anything else. */
static u32 existing_leaf_walk(u64 la)
{
	if (!root)
		return ~0u;
	const u64 *t = root->spt;
	int level = root_level();
	if (level == 3) { /* a PAE-format root: 4 PDPTEs */
		u64 e = t[(la >> 30) & 3];
		if (!(e & SPTE_P))
			return ~0u;
		t = (const u64 *)(uintptr_t)spte_hpa(e);
		level = 2;
	}
	for (; level > 1; level--) {
		u64 e = t[SPTE_INDEX(la, level)];
		if (!is_shadow_present(e))
			return ~0u;
		t = (const u64 *)(uintptr_t)spte_hpa(e);
	}
	struct sp *s = sp_of_hpa((hpa_t)(uintptr_t)t);
	return s ? ref_of(s, (int)SPTE_INDEX(la, 1)) : ~0u;
}

/* existing_leaf_walk with a small cache of its answers, valid while neither the root nor any
 * present spte changed (shadow_epoch): an MMIO loop asks for the same two pages (its code
 * page, for the instruction bytes, and the device page, for the MMIO spte) at every exit.
 * A cached ref is the right slot; its content is read again by every user. */
static inline u32 leaf_cached(u64 la)
{
	u64 page = la & ~(PAGE_SIZE - 1);
	for (unsigned i = 0; i < LEAF_CACHE; i++)
		if (leaf_cache[i].la_page == page && leaf_cache[i].root == root && root &&
		    leaf_cache[i].epoch == shadow_epoch)
			return leaf_cache[i].ref;
	return ~0u;
}

/* existing_leaf_walk, its answer kept in the cache (the caller found none there). */
static u32 leaf_walk_cache(u64 la)
{
	u32 ref = existing_leaf_walk(la);
	if (ref != ~0u) {
		unsigned i = leaf_cache_next++ % LEAF_CACHE;
		leaf_cache[i].root = root;
		leaf_cache[i].epoch = shadow_epoch;
		leaf_cache[i].la_page = la & ~(PAGE_SIZE - 1);
		leaf_cache[i].ref = ref;
	}
	return ref;
}

static u32 existing_leaf(u64 la)
{
	u32 ref = leaf_cached(la);
	return ref != ~0u ? ref : leaf_walk_cache(la);
}

static struct mmu_verdict page_fault(u64 la, u32 ec);

static bool is_apic_access(u64 spte)
{
	return apic_gfn != ~0ULL && spte_hpa(spte) == apic_hpa;
}

void mmu_set_apic_access(gfn_t gfn, hpa_t hpa)
{
	if (gfn == apic_gfn && (gfn == ~0ULL || hpa == apic_hpa))
		return;
	/* Rare (the guest moves its APIC window, or switches it to x2APIC mode or off): every
	 * leaf of the old frame, and any MMIO spte of the new one, go with all shadow pages. The
	 * first mapping, before the guest ran (no APIC leaf and no MMIO spte was ever made),
	 * has nothing to drop. */
	bool nothing_cached = apic_gfn == ~0ULL && !mmu_stats.mmio_sptes;
	apic_gfn = gfn;
	apic_hpa = hpa;
	if (!nothing_cached)
		mmu_zap_all_fast();
}

/* A fault on the APIC-access page's frame: a leaf to the APIC-access page with the guest's
 * permissions, so that the CPU virtualizes the access (SDM Vol. 3C 29.4: without EPT, an
 * access is an APIC access when its physical address is the APIC-access address). A write
 * the guest's entry does not allow (CR0.WP=0) is emulated instead. */
static struct mmu_verdict map_apic_access(u32 ref, u32 ec, const struct gwalk_result *w)
{
	bool writable = w->writable && (w->dirty || gctx.mode == GWALK_NONE);
	if ((ec & PFEC_W) && !writable)
		return emulate_at(w->gpa, true);
	mmu_stats.shadow_faults++;
	spte_set_leaf(ref, make_leaf_spte(apic_hpa, writable, w->user, w->exec || !nx_enabled,
					  true, true));
	return handled;
}

bool mmu_mmio_cached(u64 la, u32 ec, u64 code_la, u64 *gpa, hpa_t *code_hpa)
{
	if (mmu_audit_enabled || !root) /* the audit point of mmu_page_fault sees every fault */
		return false;
	/* The two entries are the two pages (a driver's loop: see leaf_cached), in either order. */
	_Static_assert(LEAF_CACHE == 2, "mmu_mmio_cached looks for the two pages in two entries");
	u64 page = la & ~(PAGE_SIZE - 1), code_page = code_la & ~(PAGE_SIZE - 1);
	unsigned d;
	if (leaf_cache[0].la_page == page && leaf_cache[1].la_page == code_page)
		d = 0;
	else if (leaf_cache[1].la_page == page && leaf_cache[0].la_page == code_page)
		d = 1;
	else
		return false;
	if (leaf_cache[0].root != root || leaf_cache[1].root != root ||
	    leaf_cache[0].epoch != shadow_epoch || leaf_cache[1].epoch != shadow_epoch)
		return false;
	u32 ref = leaf_cache[d].ref;
	u64 code = *ref_ptr(leaf_cache[d ^ 1].ref);
	if (!is_shadow_present(code) || is_mmio_spte(code) || is_apic_access(code))
		return false;
	*code_hpa = spte_hpa(code) | (code_la & (PAGE_SIZE - 1));
	return mmio_fast_path(ref, la, ec, gpa);
}

bool mmu_shadow_hpa(u64 la, hpa_t *hpa)
{
	u32 ref = existing_leaf(la);
	if (ref == ~0u)
		return false;
	u64 spte = *ref_ptr(ref);
	if (!is_shadow_present(spte) || is_mmio_spte(spte) || is_apic_access(spte))
		return false;
	*hpa = spte_hpa(spte);
	return true;
}

struct mmu_verdict mmu_page_fault(u64 la, u32 ec)
{
	struct mmu_verdict r = page_fault(la, ec);
	if (root)
		audit_point("page fault");
	return r;
}

static const struct memslot *slot_of_hpa(hpa_t hpa, gfn_t *gfn);

/*
 * A write fault on a leaf marked SPTE_GUEST_WRITABLE: the guest's tables allow the write
 * (the leaf mirrors them: every write to a shadowed table fixes its shadows), and the leaf
 * is read-only only because its frame holds a shadowed guest table. So the verdict is known
 * without a walk (KVM's fast page fault, for write-protected tables): emulate the write.
 * False when anything else may be going on (a permission the leaf does not give, SMAP, the
 * write that mmu_unprotect let retry): then the full path decides.
 */
static bool pt_write_fast(u64 la, u32 ec, struct mmu_verdict *v)
{
	u32 ref = existing_leaf(la);
	if (ref == ~0u)
		return false;
	u64 spte = *ref_ptr(ref);
	gfn_t gfn;
	if (!is_shadow_present(spte) || is_mmio_spte(spte) || (spte & SPTE_RW) ||
	    !(spte & SPTE_GUEST_WRITABLE) || ((ec & PFEC_U) && !(spte & SPTE_US)) ||
	    (gctx.smap && (spte & SPTE_US) && !(ec & (PFEC_U | PFEC_SW_AC))) ||
	    !slot_of_hpa(spte_hpa(spte), &gfn) || !gfn_is_shadowed(gfn) ||
	    is_unprotected_retry(gfn, la))
		return false;
	mmu_stats.shadow_faults++;
	*v = (struct mmu_verdict){ MMU_EMULATE_PT_WRITE, 0,
				   (gfn << PAGE_SHIFT) | (la & (PAGE_SIZE - 1)) };
	return true;
}

/* The level of the guest entry a walk that failed read last (the not-present one), in the
 * shadow's numbering: 4-level guests walk from level 4; 32-bit and PAE guests from their
 * page directory, level 2 (a PAE guest's PDPTEs are not in w). */
static int fault_level(const struct gwalk_result *w)
{
	return (gctx.mode == GWALK_LONG4 ? 5 : 3) - w->levels;
}

/*
 * A table shadow at whose entries the guest took NOTRAP_FILL_AFTER not-present faults (a heap
 * or a stack growing, a file mapped page by page): every TRAP entry whose guest entry is not
 * present becomes zero at once (KVM's former prefetch_page, but only for tables that show the
 * need: filling every new shadow costs a read and a store per entry, measured at fork +0.3 on
 * the Linux bench, docs/bench.md). The rest of the guest's faults in that table then reach it
 * without an exit. 32-bit guests: a shadow PT is one half of the guest's table (quadrant), a
 * shadow PD a quarter, two shadow entries (2 MiB each) per guest PDE (4 MiB).
 */
#define NOTRAP_FILL_AFTER 2
bool mmu_notrap_fill = true;

static void notrap_fill(struct sp *s)
{
	const struct memslot *m = ram_slot(s->gfn);
	if (!m)
		return;
	const void *t = (const void *)(uintptr_t)memslot_gfn_to_hpa(m, s->gfn);
	u32 quad = (s->role >> ROLE_QUAD_SHIFT) & 3, shift = 0;
	const u64 *g64 = t;
	const u32 *g32 = t;
	if (gctx.mode == GWALK_32) {
		shift = ROLE_LEVEL(s->role) == 1 ? 0 : 1; /* two shadow PDEs per guest PDE */
		g32 += quad * (SPTE_ENTRIES >> shift);
	}
	for (u32 i = 0; i < SPTE_ENTRIES; i++) {
		if (s->spt[i] != spte_empty)
			continue;
		bool p = gctx.mode == GWALK_32 ? g32[i >> shift] & PTE_P : g64[i] & PTE_P;
		if (!p) {
			s->spt[i] = 0;
			audit_note(ref_of(s, (int)i));
		}
	}
	mmu_stats.notrap_fills++;
}

/* A not-present fault reflected to the guest: the spte of the guest entry that is not
 * present becomes zero (notrap), building the shadow down to its table (the upper guest
 * entries are present: the walk went through them), so that the next fault there goes to
 * the guest without an exit. A PAE guest's missing PDPTE is zero in the root already. */
static void notrap_fault(u64 la, const struct gwalk_result *w)
{
	int level = fault_level(w);
	if (level >= root_level() && root_level() == 3)
		return;
	u32 ref = shadow_path_to(la, w, level);
	if (ref == ~0u)
		return;
	set_notrap(ref);
	mmu_stats.notrap_sptes++;
	struct sp *s = ref_sp(ref);
	if (mmu_notrap_fill && ++s->np_faults == NOTRAP_FILL_AFTER)
		notrap_fill(s);
}

static struct mmu_verdict page_fault(u64 la, u32 ec)
{
	struct gwalk_result w;
	/* Order within this exit (one vCPU): memslot lookup, then install an MMIO spte, then
	 * emulate. Nothing can change the memslots in between, so an MMIO spte installed here is
	 * never stale when installed (install_mmio() asserts it; a second vCPU would have to
	 * refuse while a memslot update is in progress instead). */
	if (ec & PFEC_RSVD) { /* only MMIO and TRAP sptes set reserved bits */
		if (!root)
			mmu_load_root();
		/* The leaf cache first (a driver's MMIO loop); on a miss the leaf itself, unless
		 * the Bloom filter says no MMIO spte was made at this page: a TRAP (the audit's
		 * runs always look, for the panic below). */
		u32 ref = leaf_cached(la);
		if (ref == ~0u && (!pf_bypass || mmu_audit_enabled || mmio_la_maybe(la)))
			ref = leaf_walk_cache(la);
		u64 e = ref == ~0u ? 0 : *ref_ptr(ref);
		if (is_mmio_spte(e)) {
			u64 gpa;
			if (mmio_fast_path(ref, la, ec, &gpa))
				return emulate_at(gpa, true);
			spte_clear(ref); /* stale: rebuild from the guest tables and memslots */
		} else if (!pf_bypass || is_shadow_present(e)) {
			panic("mmu: RSVD fault at %#llx without an MMIO spte (spte %#llx)", la, e);
		} else {
			mmu_stats.trap_faults++; /* a TRAP spte on the way: built below */
		}
	}
	struct mmu_verdict fast;
	if ((ec & (PFEC_P | PFEC_W | PFEC_RSVD | PFEC_I)) == (PFEC_P | PFEC_W) && root &&
	    pte8_mode() && pt_write_fast(la, ec, &fast))
		return fast;
	mmu_topup(); /* nothing held from here to the leaf: reserve the whole walk */
	if (!root)
		mmu_load_root();
	gctx.ac = ec & PFEC_SW_AC; /* SMAP: RFLAGS.AC of this access (the walker's ctx->ac) */
	enum gwalk_status st = gwalk(&gctx, &walk_ops, la, walk_access(ec), &w);
	if (st == GWALK_FAULT) {
		mmu_stats.guest_faults++;
		note_guest_fault(la, ec, &w);
		if (pf_bypass && !(w.error_code & PFEC_P))
			notrap_fault(la, &w);
		return (struct mmu_verdict){ MMU_GUEST_FAULT, w.error_code, 0 };
	}
	if (st == GWALK_BAD_TABLE) {
		/* The table the walk could not read: where the last entry read points, or CR3. */
		return (struct mmu_verdict){ MMU_BAD_TABLE, 0, w.levels ? w.pte[w.levels - 1] &
					     PTE_ADDR_64 : gctx.cr3 & GENMASK(51, 5) };
	}
	u32 ref = shadow_path(la, &w);
	if (ref == ~0u) {
		mmu_stats.shadow_faults++; /* no PD under the PAE-format root: the guest retries */
		return handled;
	}
	const struct memslot *m = memslot_lookup(&guest_memslots, w.gpa >> PAGE_SHIFT);
	if (m)
		return map_ram(ref, m, la, ec, &w);
	if (w.gpa >> PAGE_SHIFT == apic_gfn)
		return map_apic_access(ref, ec, &w);
	mmu_stats.mmio_slow++;
	/* Write permission is cached only once the guest entry is dirty, so that the first
	 * write takes the slow path and the walker sets D as the CPU would. */
	mmio_la_note(la);
	install_mmio(ref, w.gpa >> PAGE_SHIFT, w.writable && (w.dirty || gctx.mode == GWALK_NONE),
		     w.user);
	return emulate_at(w.gpa, true);
}

bool mmu_translate(u64 la, u32 acc, u64 *gpa, u32 *ec)
{
	struct gwalk_result w;
	gctx.ac = acc & MMU_ACC_AC;
	enum gwalk_status st = gwalk(&gctx, &walk_ops, la, acc & ~MMU_ACC_AC, &w);
	*ec = w.error_code;
	*gpa = w.gpa;
	return st == GWALK_OK;
}

/* ---- memslot changes ---- */

/*
 * What a slot's delete, move or resize takes away: its old range [base_gfn, +npages) at its
 * old backing. Clears every leaf spte that maps that backing (through the rmap: O(pages of
 * the slot), whatever the number of MMIO sptes), and zaps every shadow of a guest table whose
 * gfn lies in the old range (KVM's kvm_mmu_zap_memslot_pages_and_flush): the table is gone
 * or its backing changed, so its shadow maps translations the guest no longer has. That costs
 * O(min(slot pages, live shadow pages)).
 */
static void zap_slot_range(const struct memslot *m)
{
	for (u64 i = 0; i < m->npages; i++) {
		hpa_t hpa = m->hpa + i * PAGE_SIZE;
		u32 *h = rmap_head(hpa);
		for (u32 l = *h, next; l; l = next) {
			next = links[l].next;
			if (spte_hpa(*ref_ptr(links[l].ref)) == hpa)
				spte_clear(links[l].ref);
		}
	}
	if (!table_sps || m->base_gfn > table_gfn_hi || m->base_gfn + m->npages <= table_gfn_lo)
		return; /* no shadowed guest table in the range (none at all with paging off) */
	if (m->npages <= active_list.count) {
		for (u64 i = 0; i < m->npages; i++)
			zap_gfn_shadows(m->base_gfn + i);
		return;
	}
	for (struct sp *s = active_list.head.next, *next; s != &active_list.head; s = next) {
		next = s->next;
		if (is_table_shadow(s->role) && s->gfn - m->base_gfn < m->npages) {
			list_del(&active_list, s);
			sp_free(s);
		}
	}
}

/* After any change: MMIO sptes cached with the old generation are stale now (O(1)); when the
 * generation's low bits wrap, an old MMIO spte could look current again, so zap everything. */
static void after_change(void)
{
	mmu_stats.memslot_changes++;
	entry_work();
	audit_pending = true;
	audit_whole_pending = true; /* MMIO sptes' currency changed without an spte write */
	if (mmio_gen_of(guest_memslots.generation) == 0) {
		mmu_stats.gen_wraps++;
		mmu_zap_all_fast();
	}
}

static struct memslot slot_copy(u32 id)
{
	const struct memslot *m = memslot_by_id(&guest_memslots, id);
	return m ? *m : (struct memslot){ 0 };
}

int mmu_memslot_add(const struct memslot *m, const char **why)
{
	if (memslot_add(&guest_memslots, m, why))
		return -1;
	after_change();
	return 0;
}

int mmu_memslot_delete(u32 id, const char **why)
{
	struct memslot old = slot_copy(id);
	if (memslot_delete(&guest_memslots, id, why))
		return -1;
	zap_slot_range(&old);
	after_change();
	return 0;
}

int mmu_memslot_move(u32 id, gfn_t new_base_gfn, const char **why)
{
	struct memslot old = slot_copy(id);
	if (memslot_move(&guest_memslots, id, new_base_gfn, why))
		return -1;
	zap_slot_range(&old);
	after_change();
	return 0;
}

int mmu_memslot_resize(u32 id, u64 new_npages, hpa_t new_hpa, const char **why)
{
	struct memslot old = slot_copy(id);
	if (memslot_resize(&guest_memslots, id, new_npages, new_hpa, why))
		return -1;
	zap_slot_range(&old); /* the backing may have moved */
	after_change();
	return 0;
}

u64 mmu_generation(void)
{
	return guest_memslots.generation;
}

bool mmu_mmio_spte_current(u64 spte)
{
	return is_mmio_spte(spte) && mmio_spte_current(spte, guest_memslots.generation);
}

u32 mmu_mmio_gen_bits(void)
{
	return MMIO_GEN_BITS;
}

u64 mmu_links_used(void)
{
	return links_used;
}

/* ---- audit ---- */


/* The audit walks the guest's tables without touching them: no A/D update. */
static bool audit_set_bits(void *opaque, u64 gpa, int size, u64 old, u64 bits)
{
	(void)opaque, (void)gpa, (void)size, (void)old, (void)bits;
	return true;
}

static const struct gwalk_ops audit_ops = { walk_read, audit_set_bits, NULL };

/* The memslot whose backing holds hpa, and the gfn it maps there; NULL outside every slot. */
static const struct memslot *slot_of_hpa(hpa_t hpa, gfn_t *gfn)
{
	for (int k = 0; k < guest_memslots.n; k++) {
		const struct memslot *m = &guest_memslots.slots[k];
		if (hpa >= m->hpa && hpa < m->hpa + m->npages * PAGE_SIZE) {
			*gfn = m->base_gfn + ((hpa - m->hpa) >> PAGE_SHIFT);
			return m;
		}
	}
	return NULL;
}

/* Checks an MMIO spte at linear address la against the guest walk w. */
static u64 audit_mmio(u64 spte, u64 la, const struct gwalk_result *w)
{
	gfn_t gfn = mmio_spte_gfn(spte);
	const struct memslot *m = memslot_lookup(&guest_memslots, gfn);
	if ((spte & spte_mmio_layout.rsvd_mask) != spte_mmio_layout.rsvd_mask) {
		pr_err("audit: MMIO spte %#llx at la %#llx lacks the L1TF bits %#llx", spte, la,
		       spte_mmio_layout.rsvd_mask);
		return 1;
	}
	if (gfn != w->gpa >> PAGE_SHIFT) {
		pr_err("audit: MMIO spte %#llx at la %#llx caches gfn %#llx, the guest maps %#llx",
		       spte, la, gfn, w->gpa >> PAGE_SHIFT);
		return 1;
	}
	if (m && mmio_spte_current(spte, guest_memslots.generation)) {
		pr_err("audit: current MMIO spte %#llx for gfn %#llx inside memslot %u", spte, gfn,
		       m->id);
		return 1;
	}
	return 0;
}

/* Checks a RAM leaf at la: it maps a page of some memslot (the security property), the page
 * the guest's tables give, with no more permission than they give. */
static u64 audit_ram(u64 spte, u64 la, const struct gwalk_result *w)
{
	gfn_t gfn;
	const struct memslot *m = slot_of_hpa(spte_hpa(spte), &gfn);
	if (!m && is_apic_access(spte)) {
		if (apic_gfn == w->gpa >> PAGE_SHIFT && !((spte & SPTE_US) && !w->user) &&
		    !((spte & SPTE_RW) && !(w->writable && (w->dirty || gctx.mode == GWALK_NONE))))
			return 0;
		pr_err("audit: APIC-access spte %#llx at la %#llx: the guest maps gpa %#llx (the "
		       "APIC page is gfn %#llx), or with less permission", spte, la, w->gpa, apic_gfn);
		return 1;
	}
	if (!m) {
		pr_err("audit: spte %#llx at la %#llx maps host memory outside every memslot", spte, la);
		return 1;
	}
	if (gfn != w->gpa >> PAGE_SHIFT) {
		pr_err("audit: spte %#llx at la %#llx maps gfn %#llx, the guest maps %#llx", spte, la,
		       gfn, w->gpa >> PAGE_SHIFT);
		return 1;
	}
	bool wp_trick = !gctx.wp && !(spte & SPTE_US);
	const char *why = NULL;
	if ((spte & SPTE_RW) && (m->flags & MEMSLOT_F_READONLY))
		why = "writable but the memslot is read-only";
	else if ((spte & SPTE_RW) && gfn_is_shadowed(gfn))
		why = "writable but it holds a shadowed guest table";
	else if ((spte & SPTE_RW) && !((w->writable || wp_trick) && (w->dirty || gctx.mode == GWALK_NONE)))
		why = "writable but the guest entry is read-only or not dirty";
	else if ((spte & SPTE_GUEST_WRITABLE) && !((w->writable || wp_trick) && w->dirty))
		why = "marked guest-writable but the guest entry is read-only or not dirty";
	else if ((spte & SPTE_US) && !w->user)
		why = "user-accessible but the guest page is supervisor-only";
	else if (nx_enabled && !(spte & SPTE_XD) && !w->exec)
		why = "executable but the guest page is not";
	if (why) {
		pr_err("audit: spte %#llx at la %#llx (gpa %#llx): %s", spte, la, w->gpa, why);
		return 1;
	}
	return 0;
}

static u64 audit_leaf(u64 spte, u64 la)
{
	struct gwalk_ctx ctx = gctx;
	struct gwalk_result w;
	ctx.smap = false; /* a plain supervisor read: only the mapping matters here */
	if (gwalk(&ctx, &audit_ops, la, 0, &w) != GWALK_OK) {
		pr_err("audit: spte %#llx at la %#llx, but the guest's tables do not map it (status "
		       "%d, error %#x)", spte, la, w.status, w.error_code);
		return 1;
	}
	return is_mmio_spte(spte) ? audit_mmio(spte, la, &w) : audit_ram(spte, la, &w);
}

/* The linear address entry i of s maps under la_base (canonical). */
static u64 entry_la(const struct sp *s, int i, u64 la_base)
{
	int level = (int)ROLE_LEVEL(s->role);
	u64 la = la_base + ((u64)i << ((s->role & ROLE_PAE_ROOT) ? 30 : SPTE_LEVEL_SHIFT(level)));
	if (level == 4 && (la & BIT(47)))
		la |= GENMASK(63, 48); /* canonical upper half */
	return la;
}

/* The live shadow page one level below a non-leaf spte e of a level-`level` page; NULL, with
 * the error printed, when e points at anything else. */
static struct sp *audit_child(u64 e, int level)
{
	struct sp *child = sp_of_hpa(spte_hpa(e));
	if (!child || !child->in_use || is_obsolete(child) ||
	    (int)ROLE_LEVEL(child->role) != level - 1) {
		pr_err("audit: level-%d spte %#llx points to no live shadow page", level, e);
		return NULL;
	}
	return child;
}

/* A zero spte (notrap) of s, entry i at la, with pf_bypass: the CPU gives the guest a
 * not-present fault there without an exit, so the guest's own walk must fail not-present at
 * this level or above. In a direct page (no guest entry) none may be zero; in a PAE-format
 * root a zero PDPTE is right only where the guest's is not present (refilled before entry). */
static u64 audit_zero(const struct sp *s, int i, u64 la)
{
	if (!mmu_pf_bypass_active())
		return 0; /* every #PF exits */
	const char *why = NULL;
	if (s->role & ROLE_PAE_ROOT) {
		if (s == root && !root_refill &&
		    (gctx.mode == GWALK_32 || (gctx.pdpte[i] & PTE_P)))
			why = "a zero PDPTE where the guest's is present";
	} else if (s->role & ROLE_DIRECT) {
		why = "a zero spte in a direct page";
	} else {
		struct gwalk_ctx ctx = gctx;
		struct gwalk_result w;
		ctx.smap = false;
		if (gwalk(&ctx, &audit_ops, la, 0, &w) != GWALK_FAULT || (w.error_code & PFEC_P) ||
		    fault_level(&w) < (int)ROLE_LEVEL(s->role))
			why = "zero (the guest's fault, no exit) but the guest's entry is present";
	}
	if (!why)
		return 0;
	pr_err("audit: level-%u spte %d at la %#llx: %s", ROLE_LEVEL(s->role), i, la, why);
	return 1;
}

/* The present-entry bitmap says what the table holds (sp_clear_some frees by it). */
static u64 audit_present_bit(const struct sp *s, int i)
{
	bool bit = present[s - sps].w[i / 64] & BIT(i & 63);
	if (bit == is_shadow_present(s->spt[i]))
		return 0;
	pr_err("audit: level-%u spte %d (%#llx) is %s, its present bit %s", ROLE_LEVEL(s->role),
	       i, s->spt[i], is_shadow_present(s->spt[i]) ? "present" : "empty",
	       bit ? "set" : "clear");
	return 1;
}

static u64 audit_table(const struct sp *s, u64 la_base)
{
	u64 bad = 0;
	int level = (int)ROLE_LEVEL(s->role);
	bool pae_root = s->role & ROLE_PAE_ROOT;
	int n = pae_root ? 4 : SPTE_ENTRIES;
	for (int i = 0; i < n; i++) {
		u64 e = s->spt[i];
		if (!e)
			bad += audit_zero(s, i, entry_la(s, i, la_base));
		bad += audit_present_bit(s, i);
		if (!is_shadow_present(e))
			continue;
		u64 la = entry_la(s, i, la_base);
		if (level == 1) {
			bad += audit_leaf(e, la);
			continue;
		}
		struct sp *child = audit_child(e, level);
		bad += child ? audit_table(child, la) : 1;
	}
	return bad;
}

/* mmu_entry_root is a promise that nothing waits before the next entry (entry_work). */
static u64 audit_entry_root(void)
{
	if (mmu_entry_root && (!entry_ready() || mmu_entry_root != (hpa_t)(uintptr_t)root->spt)) {
		pr_err("audit: mmu_entry_root %#llx, but mmu_before_entry has work (root %p, %llu "
		       "obsolete pages, audit %d, refill %d)", mmu_entry_root, (void *)root,
		       obsolete_list.count, audit_pending, root_refill);
		return 1;
	}
	return 0;
}

u64 mmu_audit(const char *where)
{
	u64 bad = audit_entry_root();
	if (!root)
		return bad;
	bad += audit_table(root, 0);
	if (bad)
		pr_err("audit at %s: %llu bad sptes", where, bad);
	else
		pr_debug("audit at %s: pass", where);
	return bad;
}

/* The entries of s changed since the last audit point (audit_note), each checked as
 * audit_table checks it, and the same below them; their marks are cleared on the way. A page
 * reachable from two parents is checked under the first path the audit takes. */
static u64 audit_changed(struct sp *s, u64 la_base)
{
	u64 bad = 0;
	int level = (int)ROLE_LEVEL(s->role);
	if (!MARKS(s)->below_changed)
		return 0;
	for (int w = 0; w < SPTE_ENTRIES / 64; w++)
	for (u64 bits = MARKS(s)->changed[w] | MARKS(s)->descend[w]; bits; bits &= bits - 1) {
		int i = w * 64 + __builtin_ctzll(bits);
		u64 e = s->spt[i];
		bool changed = MARKS(s)->changed[w] & BIT(i & 63);
		if (!e && changed)
			bad += audit_zero(s, i, entry_la(s, i, la_base));
		if (changed)
			bad += audit_present_bit(s, i);
		if (!is_shadow_present(e))
			continue;
		u64 la = entry_la(s, i, la_base);
		if (level == 1) {
			bad += audit_leaf(e, la);
			continue;
		}
		struct sp *child = audit_child(e, level);
		if (!child)
			bad++;
		else if (changed) /* a new link: the whole subtree is new to this path */
			bad += audit_table(child, la);
		else if (MARKS(child)->below_changed)
			bad += audit_changed(child, la);
	}
	memset(MARKS(s)->changed, 0, sizeof(MARKS(s)->changed));
	memset(MARKS(s)->descend, 0, sizeof(MARKS(s)->descend));
	MARKS(s)->below_changed = false;
	return bad;
}

/* The named audit points (mmu_audit=N on the command line, or a DEBUG=1 build): a failure
 * there is a hypervisor bug, so it stops everything. Each point checks the sptes changed
 * since the previous one (the whole subtree of a new link); every Nth point (N = 1: every
 * 1000th; AUDIT_WHOLE_EVERY) and after a memslot change, the whole tables. */
#define AUDIT_WHOLE_EVERY 1000
static void audit_point(const char *where)
{
	if (!mmu_audit_enabled)
		return;
	u64 every = mmu_audit_every > 1 ? mmu_audit_every : AUDIT_WHOLE_EVERY;
	bool whole = audit_whole_pending || ++mmu_audit_points % every == 0;
	audit_whole_pending = false;
	mmu_audits_done++;
	u64 bad = whole ? mmu_audit(where) : audit_changed(root, 0) + audit_entry_root();
	if (whole)
		mmu_audits_whole++;
	if (bad)
		panic("mmu: audit failed at %s (%s)", where, whole ? "whole tables" : "changed sptes");
}

bool mmu_walk_debug(u64 la, struct gwalk_result *w)
{
	struct gwalk_ctx ctx = gctx;
	ctx.smap = false;
	return gwalk(&ctx, &audit_ops, la, 0, w) == GWALK_OK;
}
