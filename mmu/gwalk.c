/* gwalk.c - the guest page-table walker: 32-bit, PAE and 4-level paging (SDM Vol. 3A ch. 4).
 *
 * One loop serves the three formats; they differ only in entry size, linear-address bits per
 * level, where the walk starts, which levels may map a page and which bits are reserved.
 * Levels are numbered as the hardware counts them: 1 = PT, 2 = PD, 3 = PDPT, 4 = PML4. */
#include "mmu/gwalk.h"
#include "kernel/lib.h"

/* Paging-entry bits: arch/x86.h (PTE_*, PDE_*, PDPTE_*). */
#define LINEAR_32 GENMASK(31, 0) /* linear addresses are 32 bits without IA-32e (4.3, 4.4) */

/* One walk in progress. Invariants: write and fetch are exclusive; user implies !implicit. */
struct walk {
	const struct gwalk_ctx *ctx;
	const struct gwalk_ops *ops;
	struct gwalk_result *res;
	u64 gva;
	bool write, user, fetch, implicit;
	int size;     /* bytes per entry: 4 (32-bit paging) or 8 */
	int idx_bits; /* linear-address bits per level: 10 or 9 */
	u64 xd;       /* PTE_XD when it means execute-disable, else 0 */
};

/* Bits hi..maxphyaddr of a physical address: bits the guest does not have. */
static u64 above_maxphy(u32 maxphyaddr, int hi)
{
	u64 have = maxphyaddr >= 64 ? ~0ULL : BIT(maxphyaddr) - 1;

	return GENMASK(hi, 0) & ~have;
}

static int level_shift(const struct walk *w, int level)
{
	return PAGE_SHIFT + w->idx_bits * (level - 1);
}

/*
 * Whether a present entry at level maps a page rather than a table. A PTE always does; a PDE
 * with PS=1 does in 32-bit paging only with CR4.PSE=1 (4.3: otherwise PS is ignored), always
 * in PAE and 4-level paging (4.4.2, 4.5.4), as does a 4-level PDPTE (1 GiB page). PS in a PML4E
 * is reserved, so this is never asked for a mapping there.
 */
static bool maps_page(const struct walk *w, int level, u64 e)
{
	if (level == 1)
		return true;
	if (!(e & PTE_PS))
		return false;
	switch (w->ctx->mode) {
	case GWALK_32:
		return w->ctx->pse;
	case GWALK_PAE:
		return level == 2;
	default:
		return level <= 3;
	}
}

/* Reserved bits of a present entry (4.3, 4.4.2, 4.5.4); a set one is a RSVD fault (4.7). */
static u64 rsvd_bits(const struct walk *w, int level, bool page)
{
	const struct gwalk_ctx *c = w->ctx;
	u64 r = c->nxe ? 0 : PTE_XD;

	switch (c->mode) {
	case GWALK_32: /* only a 4 MiB PDE has any: bit 21 and PSE-36 bits beyond MAXPHYADDR */
		if (!page || level != 2)
			return 0;
		return PDE_4M_RSVD |
		       ((above_maxphy(c->maxphyaddr, 39) >> PDE_PSE36_SHIFT) & PDE_PSE36_HI);
	case GWALK_PAE: /* 62:M (PAE has no ignored high bits), 20:13 in a 2 MiB PDE */
		if (page && level == 2)
			r |= GENMASK(20, 13);
		return r | above_maxphy(c->maxphyaddr, 62);
	default: /* 51:M; PS in a PML4E; 29:13 / 20:13 of a 1 GiB / 2 MiB page */
		if (level == 4)
			r |= PTE_PS;
		else if (page && level > 1)
			r |= GENMASK(level_shift(w, level) - 1, 13);
		return r | above_maxphy(c->maxphyaddr, 51);
	}
}

u64 gwalk_pte_rsvd(const struct gwalk_ctx *ctx)
{
	struct walk w = { .ctx = ctx, .idx_bits = ctx->mode == GWALK_32 ? 10 : 9 };
	return rsvd_bits(&w, 1, true);
}

/* Physical address of gva in the page that entry e (at level) maps (4.3, 4.4.2, 4.5.4). */
static u64 page_gpa(const struct walk *w, int level, u64 e)
{
	u64 off = BIT(level_shift(w, level)) - 1;

	if (w->ctx->mode == GWALK_32 && level == 2) /* 4 MiB: 31:22 in place, 39:32 from 20:13 */
		return (e & PDE_4M_ADDR) | ((e & PDE_PSE36_HI) << PDE_PSE36_SHIFT) | (w->gva & off);
	return (e & (w->size == 4 ? PTE_ADDR_32 : PTE_ADDR_64) & ~off) | (w->gva & off);
}

/* Error-code bits that describe the access rather than the cause (4.7). */
static u32 access_pfec(const struct walk *w)
{
	u32 ec = 0;

	if (w->write)
		ec |= PFEC_W;
	if (w->user)
		ec |= PFEC_U;
	/* I/D: a fetch, reported only with SMEP or with execute-disable in use (4.7). */
	if (w->fetch && pfec_reports_fetch(w->ctx->smep, w->ctx->mode != GWALK_32, w->ctx->nxe))
		ec |= PFEC_I;
	return ec;
}

/* Ends the walk with a page fault; why is 0 (not present) or P, P|RSVD. Returns true. */
static bool fault(struct walk *w, u32 why)
{
	struct gwalk_result *r = w->res;

	r->status = GWALK_FAULT;
	r->error_code = why | access_pfec(w);
	r->gpa = r->page_size = 0;
	r->writable = r->user = r->exec = r->global = r->dirty = false;
	return true;
}

/* Ends the walk on a paging structure outside guest RAM. Returns true. */
static bool bad_table(struct walk *w)
{
	fault(w, 0);
	w->res->status = GWALK_BAD_TABLE;
	w->res->error_code = 0;
	return true;
}

/* Reads the entry at gpa into *e and appends it to the result; false when not in RAM. */
static bool read_entry(const struct walk *w, u64 gpa, u64 *e)
{
	struct gwalk_result *r = w->res;
	u32 e32 = 0;
	bool ok;

	if (w->size == 4) {
		ok = w->ops->read(w->ops->opaque, gpa, &e32, 4);
		*e = e32;
	} else {
		ok = w->ops->read(w->ops->opaque, gpa, e, 8);
	}
	if (!ok)
		return false;
	r->pte_gpa[r->levels] = gpa;
	r->pte[r->levels++] = *e;
	return true;
}

/*
 * The access check once a translation exists (4.6). "User page" means U/S=1 at every level.
 * Supervisor data accesses to user pages are SMAP's business (blocked unless an explicit
 * access with AC=1, whatever CR0.WP says); supervisor writes otherwise need R/W only with
 * CR0.WP=1; supervisor fetches from user pages are SMEP's.
 */
static bool access_allowed(const struct walk *w)
{
	const struct gwalk_ctx *c = w->ctx;
	const struct gwalk_result *r = w->res;

	if (w->user)
		return r->user && (!w->write || r->writable) && (!w->fetch || r->exec);
	if (w->fetch)
		return r->exec && !(c->smep && r->user);
	if (r->user && c->smap && !(c->ac && !w->implicit))
		return false;
	return !w->write || r->writable || !c->wp;
}

/*
 * Sets A in every entry used and D in the leaf for a write (4.8), each with a compare-and-set
 * as the CPU's locked update; false when an entry changed since it was read.
 */
static bool set_accessed_dirty(const struct walk *w)
{
	const struct gwalk_result *r = w->res;

	for (int i = 0; i < r->levels; i++) {
		u64 want = PTE_A | (i == r->levels - 1 && w->write ? PTE_D : 0);
		u64 missing = want & ~r->pte[i];

		if (missing && !w->ops->set_bits(w->ops->opaque, r->pte_gpa[i], w->size, r->pte[i],
						 missing))
			return false;
	}
	return true;
}

/* The leaf e at level gives a translation: check the access, then update A/D. */
static bool finish(struct walk *w, int level, u64 e)
{
	struct gwalk_result *r = w->res;

	r->gpa = page_gpa(w, level, e);
	r->page_size = BIT(level_shift(w, level));
	r->global = e & PTE_G;
	r->dirty = e & PTE_D;
	if (!access_allowed(w))
		return fault(w, PFEC_P);
	if (!set_accessed_dirty(w))
		return false;
	r->dirty |= w->write;
	r->status = GWALK_OK;
	return true;
}

/* First table and its level; false when a PAE walk meets a not-present PDPTE register. */
static bool walk_start(const struct walk *w, u64 *table, int *level)
{
	const struct gwalk_ctx *c = w->ctx;
	u64 pdpte;

	switch (c->mode) {
	case GWALK_32:
		*table = c->cr3 & PTE_ADDR_32;
		*level = 2;
		return true;
	case GWALK_PAE:
		/* 4.4.1: the PDPTE registers, loaded at MOV CR3, stand in for the PDPT in memory;
		 * their reserved bits were checked then, and they have no A bit to set. */
		pdpte = c->pdpte[(w->gva >> 30) & 3];
		*table = pdpte & PTE_ADDR_64;
		*level = 2;
		return pdpte & PTE_P;
	default:
		*table = c->cr3 & PTE_ADDR_64 & ~above_maxphy(c->maxphyaddr, 63);
		*level = 4;
		return true;
	}
}

/*
 * One pass over the paging structures, top down: a not-present entry or one with a reserved
 * bit ends it at once (so those win over a protection violation, which needs the whole
 * translation: 4.7). Returns false when an A/D update raced and the walk must restart.
 */
static bool walk_once(struct walk *w)
{
	struct gwalk_result *r = w->res;
	u64 table, e;
	int level;

	memset(r, 0, sizeof(*r));
	if (!walk_start(w, &table, &level))
		return fault(w, 0);
	r->writable = r->user = r->exec = true;
	for (;; level--) {
		u64 idx = (w->gva >> level_shift(w, level)) & (BIT(w->idx_bits) - 1);

		if (!read_entry(w, table + idx * w->size, &e))
			return bad_table(w);
		if (!(e & PTE_P))
			return fault(w, 0);
		bool page = maps_page(w, level, e);
		if (e & rsvd_bits(w, level, page))
			return fault(w, PFEC_P | PFEC_RSVD);
		r->writable &= !!(e & PTE_RW);
		r->user &= !!(e & PTE_US);
		r->exec &= !(e & w->xd);
		if (page)
			return finish(w, level, e);
		table = e & (w->size == 4 ? PTE_ADDR_32 : PTE_ADDR_64);
	}
}

/* Paging off: identity on the low 32 bits, everything allowed, nothing read. */
static void no_paging(const struct walk *w)
{
	struct gwalk_result *r = w->res;

	memset(r, 0, sizeof(*r));
	r->status = GWALK_OK;
	r->gpa = w->gva & LINEAR_32;
	r->page_size = PAGE_SIZE;
	r->writable = r->user = r->exec = true;
}

/*
 * Translates gva for an access of kind acc, as the header describes. Beyond it: FETCH wins
 * over WRITE and IMPLICIT over USER; with 32-bit and PAE paging gva is truncated to 32 bits.
 * On GWALK_FAULT and GWALK_BAD_TABLE only status, error_code (0 for BAD_TABLE), levels,
 * pte_gpa[] and pte[] are meaningful (levels counts the entries read, a not-present or
 * reserved-bit one included); the other fields are zero. With PAE paging the PDPTE register is not an entry
 * read (no pte_gpa, no A bit), so levels is 2 or 1 on success. An unknown mode gives
 * GWALK_BAD_TABLE. An A/D update that loses a race restarts the walk, without bound, as KVM's
 * walker does: each restart needs the guest to have changed an entry meanwhile.
 */
enum gwalk_status gwalk(const struct gwalk_ctx *ctx, const struct gwalk_ops *ops, u64 gva,
			u32 acc, struct gwalk_result *res)
{
	struct walk w = {
		.ctx = ctx,
		.ops = ops,
		.res = res,
		.gva = ctx->mode == GWALK_LONG4 ? gva : gva & LINEAR_32,
		.fetch = acc & GWALK_ACC_FETCH,
		.implicit = acc & GWALK_ACC_IMPLICIT,
		.size = ctx->mode == GWALK_32 ? 4 : 8,
		.idx_bits = ctx->mode == GWALK_32 ? 10 : 9,
		/* 4.6: XD exists only with PAE or 4-level paging, and only with EFER.NXE=1. */
		.xd = ctx->nxe && ctx->mode != GWALK_32 ? PTE_XD : 0,
	};
	w.write = (acc & GWALK_ACC_WRITE) && !w.fetch;
	w.user = (acc & GWALK_ACC_USER) && !w.implicit;

	switch (ctx->mode) {
	case GWALK_NONE:
		no_paging(&w);
		break;
	case GWALK_32:
	case GWALK_PAE:
	case GWALK_LONG4:
		while (!walk_once(&w))
			;
		break;
	default:
		memset(res, 0, sizeof(*res));
		res->status = GWALK_BAD_TABLE;
	}
	return res->status;
}

/*
 * Loads the four PAE PDPTEs as MOV CR3 does (4.4.1): the PDPT is at CR3 bits 31:5; a present
 * PDPTE with a reserved bit (table 4-8: 2:1, 8:5, 63:M) or an unreadable one fails the load
 * (#GP) and leaves pdpte[] unchanged. Not-present PDPTEs are loaded whatever their other bits.
 */
bool gwalk_load_pdptes(const struct gwalk_ops *ops, u64 cr3, u32 maxphyaddr, u64 pdpte[4])
{
	u64 rsvd = PDPTE_PAE_RSVD | above_maxphy(maxphyaddr, 63);
	u64 base = cr3 & CR3_PAE_PDPT_ADDR, tmp[4];

	for (int i = 0; i < 4; i++) {
		if (!ops->read(ops->opaque, base + 8 * i, &tmp[i], 8))
			return false;
		if ((tmp[i] & PTE_P) && (tmp[i] & rsvd))
			return false;
	}
	memcpy(pdpte, tmp, sizeof(tmp));
	return true;
}
