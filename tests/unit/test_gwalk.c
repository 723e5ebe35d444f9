/* SOURCES: mmu/gwalk.c */
/*
 * test_gwalk.c - mmu/gwalk.c against a reference model written separately from the SDM text
 * (Vol. 3A 4.3-4.8), over a 16 MiB simulated guest memory:
 *   - the permission matrix: every U/S, R/W and XD combination at every level of every mode
 *     and page size, under every CR0.WP, EFER.NXE, CR4.SMEP, CR4.SMAP, RFLAGS.AC, for reads,
 *     writes and fetches by user, supervisor and implicit-supervisor accesses;
 *   - not-present entries at each level (also with junk in the other bits);
 *   - every bit of every entry flipped in turn (reserved, ignored, address, PS bits) under
 *     several MAXPHYADDRs;
 *   - PDPTE loading against table 4-8;
 * comparing status, error code, gpa, page size, effective permissions, G/D, the entries read
 * and the A/D bits in memory afterwards. Then hand-computed classic cases that do not use
 * the model at all.
 */
#include "unit.h"

#include "mmu/gwalk.h"

/* ---- Simulated guest memory --------------------------------------------------------------- */

#define MEM_SIZE (16 * MiB)
#define LOG_MAX 16

static u8 mem[MEM_SIZE];

/* Every set_bits call of the current walk. */
struct set_call {
	u64 gpa, old, bits;
	int size;
};
static struct set_call setlog[LOG_MAX];
static int nset;
static int entry_size;                /* the size every access of this walk must use */
static void (*race_hook)(u64 gpa);    /* run once, inside the next set_bits, before the compare */

static bool mem_in(u64 gpa, int size)
{
	return gpa < MEM_SIZE && (u64)size <= MEM_SIZE - gpa;
}

static u64 mem_get(u64 gpa, int size)
{
	u64 v = 0;

	for (int i = size - 1; i >= 0; i--)
		v = v << 8 | mem[gpa + i];
	return v;
}

static void mem_put(u64 gpa, int size, u64 v)
{
	for (int i = 0; i < size; i++, v >>= 8)
		mem[gpa + i] = (u8)v;
}

static void check_access_shape(u64 gpa, int size)
{
	if (size != entry_size)
		fail_msg("walker used %d-byte access, mode wants %d", size, entry_size);
	if (gpa % size)
		fail_msg("misaligned entry access at %#llx", gpa);
}

static bool sim_read(void *opaque, u64 gpa, void *buf, int size)
{
	(void)opaque;
	check_access_shape(gpa, size);
	if (!mem_in(gpa, size))
		return false;
	memcpy(buf, mem + gpa, size);
	return true;
}

static bool sim_set_bits(void *opaque, u64 gpa, int size, u64 old, u64 bits)
{
	(void)opaque;
	check_access_shape(gpa, size);
	if (!mem_in(gpa, size))
		fail_msg("set_bits outside RAM at %#llx", gpa);
	if (nset == LOG_MAX)
		fail_msg("more than %d set_bits calls in one walk", LOG_MAX);
	setlog[nset++] = (struct set_call){ gpa, old, bits, size };
	if (race_hook) {
		void (*hook)(u64) = race_hook;
		race_hook = NULL;
		hook(gpa);
	}
	u64 now = mem_get(gpa, size);
	if (now != old)
		return false;
	mem_put(gpa, size, now | bits);
	return true;
}

static const struct gwalk_ops sim_ops = { sim_read, sim_set_bits, NULL };

/* ---- Page-table builders ------------------------------------------------------------------ */

/* Entry bits, spelled out here independently of mmu/gwalk.c. */
#define P BIT(0)
#define RW BIT(1)
#define US BIT(2)
#define A BIT(5)
#define D BIT(6)
#define PS BIT(7)
#define G BIT(8)
#define XD BIT(63)

/*
 * Tables live at fixed pages whose addresses pairwise differ in at least two bits, so that
 * flipping one address bit of an entry never makes it point at another of our tables.
 */
static const u64 tbl[4] = { 0x101000, 0x203000, 0x305000, 0x407000 };
#define PAE_PDPT 0x5000e0ULL /* 32-byte aligned, not page aligned: CR3 bits 31:5 */
#define CR3_JUNK 0x18ULL     /* PWT|PCD in CR3: not part of the table address */

struct shape {
	const char *name;
	enum gwalk_mode mode;
	bool pse;      /* CR4.PSE */
	int n;         /* entries in memory, top first */
	bool large;    /* the last one maps a 4 MiB / 2 MiB / 1 GiB page (PS=1) */
	u64 extra[4];  /* further bits set in each entry */
	u64 gva, frame;
	u32 maxphy;    /* MAXPHYADDR for the permission matrix */
};

enum { S32_4K, S32_4K_PSE, S32_4M, S32_PS_NOPSE, SPAE_4K, SPAE_2M, SL_4K, SL_2M, SL_1G, NSHAPES };

#define LONG_GVA ((0xf4ULL << 39) | (0x0f1ULL << 30) | (0x179ULL << 21) | (0x1e2ULL << 12) | 0x123)

static const struct shape shapes[NSHAPES] = {
	[S32_4K] = { "32-bit 4K", GWALK_32, false, 2, false, { 0 }, 0xdeadbeef, 0xabcde000, 36 },
	[S32_4K_PSE] = { "32-bit 4K pse", GWALK_32, true, 2, false, { 0 }, 0xdeadbeef, 0xabcde000,
			 36 },
	[S32_4M] = { "32-bit 4M", GWALK_32, true, 1, true, { 0 }, 0xdeadbeef, 0x5c0400000, 36 },
	/* PS=1 in the PDE but CR4.PSE=0: PS is ignored, the PDE points to a page table. */
	[S32_PS_NOPSE] = { "32-bit PS w/o PSE", GWALK_32, false, 2, false, { PS }, 0xdeadbeef,
			   0xabcde000, 36 },
	[SPAE_4K] = { "PAE 4K", GWALK_PAE, false, 2, false, { 0 }, 0xdeadbeef, 0x876543000, 46 },
	[SPAE_2M] = { "PAE 2M", GWALK_PAE, false, 1, true, { 0 }, 0xdeadbeef, 0x876600000, 46 },
	[SL_4K] = { "long 4K", GWALK_LONG4, false, 4, false, { 0 }, LONG_GVA, 0x876543000, 46 },
	[SL_2M] = { "long 2M", GWALK_LONG4, false, 3, true, { 0 }, LONG_GVA, 0x876600000, 46 },
	[SL_1G] = { "long 1G", GWALK_LONG4, false, 2, true, { 0 }, LONG_GVA, 0x7c0000000, 46 },
};

/* Entries written by the last build, for cleanup. */
static u64 built[8];
static int nbuilt;

static void put_entry(u64 gpa, int size, u64 v)
{
	mem_put(gpa, size, v);
	built[nbuilt++] = gpa;
}

/* Zeroes everything the last case wrote: built entries and A/D targets (8 bytes also for a
 * 4-byte entry: the neighbour is zero anyway, or ours). */
static void cleanup(void)
{
	for (int i = 0; i < nbuilt; i++)
		mem_put(built[i], 8, 0);
	for (int i = 0; i < nset; i++)
		mem_put(setlog[i].gpa, setlog[i].size, 0);
	nbuilt = nset = 0;
}

/* Where entry i of the shape lives (top first). */
static u64 entry_addr(const struct shape *s, int i)
{
	u64 va = s->gva;

	switch (s->mode) {
	case GWALK_32: /* PD index 31:22, PT index 21:12, 4-byte entries */
		return tbl[i] + 4 * ((i == 0 ? va >> 22 : va >> 12) & 0x3ff);
	case GWALK_PAE: /* PD index 29:21, PT index 20:12 */
		return tbl[i] + 8 * ((i == 0 ? va >> 21 : va >> 12) & 0x1ff);
	default: /* PML4 47:39, PDPT 38:30, PD 29:21, PT 20:12 */
		return tbl[i] + 8 * ((va >> (39 - 9 * i)) & 0x1ff);
	}
}

/* The frame field of the shape's leaf entry. */
static u64 leaf_frame_bits(const struct shape *s)
{
	if (s->mode == GWALK_32 && s->large) /* 31:22 in place, 39:32 in 20:13 (PSE-36) */
		return (s->frame & 0xffc00000) | ((s->frame >> 32) << 13);
	return s->frame;
}

static void ctx_init(struct gwalk_ctx *c, const struct shape *s)
{
	memset(c, 0, sizeof(*c));
	c->mode = s->mode;
	c->pse = s->pse;
	c->maxphyaddr = s->maxphy;
}

/* 32-bit paging: CR3 -> PD -> (PT). fl[i] are entry i's flag bits. */
static void build_32(const struct shape *s, const u64 fl[], struct gwalk_ctx *c)
{
	ctx_init(c, s);
	c->cr3 = tbl[0] | CR3_JUNK;
	for (int i = 0; i < s->n; i++) {
		u64 next = i == s->n - 1 ? leaf_frame_bits(s) : tbl[i + 1];
		u64 ps = i == s->n - 1 && s->large ? PS : 0;
		put_entry(entry_addr(s, i), 4, (next | fl[i] | ps | s->extra[i]) & 0xffffffff);
	}
}

/* PAE paging: CR3 -> PDPT (in memory, and in the PDPTE registers) -> PD -> (PT). */
static void build_pae(const struct shape *s, const u64 fl[], struct gwalk_ctx *c)
{
	u64 pdpi = (s->gva >> 30) & 3;

	ctx_init(c, s);
	c->cr3 = PAE_PDPT; /* only read by gwalk_load_pdptes: the walk uses the registers */
	for (u64 i = 0; i < 4; i++) {
		c->pdpte[i] = i == pdpi ? tbl[0] | P : 0;
		put_entry(PAE_PDPT + 8 * i, 8, c->pdpte[i]);
	}
	for (int i = 0; i < s->n; i++) {
		u64 next = i == s->n - 1 ? leaf_frame_bits(s) : tbl[i + 1];
		u64 ps = i == s->n - 1 && s->large ? PS : 0;
		put_entry(entry_addr(s, i), 8, next | fl[i] | ps | s->extra[i]);
	}
}

/* 4-level paging: CR3 -> PML4 -> PDPT -> (PD -> (PT)). */
static void build_long4(const struct shape *s, const u64 fl[], struct gwalk_ctx *c)
{
	ctx_init(c, s);
	c->cr3 = tbl[0] | CR3_JUNK;
	for (int i = 0; i < s->n; i++) {
		u64 next = i == s->n - 1 ? leaf_frame_bits(s) : tbl[i + 1];
		u64 ps = i == s->n - 1 && s->large ? PS : 0;
		put_entry(entry_addr(s, i), 8, next | fl[i] | ps | s->extra[i]);
	}
}

static int entry_size_of(const struct shape *s)
{
	return s->mode == GWALK_32 ? 4 : 8;
}

static void build(const struct shape *s, const u64 fl[], struct gwalk_ctx *c)
{
	cleanup();
	entry_size = entry_size_of(s);
	if (s->mode == GWALK_32)
		build_32(s, fl, c);
	else if (s->mode == GWALK_PAE)
		build_pae(s, fl, c);
	else
		build_long4(s, fl, c);
}

/* ---- Reference model ---------------------------------------------------------------------- */

/*
 * Written from the SDM text, not from gwalk.c: the structures are named as the SDM names them,
 * the reserved bits are transcribed table by table and the access rights follow the 4.6 bullet
 * list literally. It reads guest memory directly, never through the ops.
 */
enum ref_level { PML4, PDPT, PD, PT };

struct ref {
	enum gwalk_status status;
	u32 ec;
	u64 gpa, size;
	bool writable, user, exec, global, dirty;
	int n;            /* entries read from memory */
	u64 addr[4], val[4];
	u64 add[4];       /* bits the walk must set in entry i (A, D) */
};

/* Bits hi..lo (none when lo > hi). */
static u64 bits(int hi, int lo)
{
	u64 m = 0;

	for (int b = lo; b <= hi && b < 64; b++)
		m |= 1ULL << b;
	return m;
}

static u64 ref_index(enum gwalk_mode mode, enum ref_level lvl, u64 va)
{
	if (mode == GWALK_32) /* 4.3: PD by 31:22, PT by 21:12 */
		return lvl == PD ? (va >> 22) & 1023 : (va >> 12) & 1023;
	switch (lvl) { /* 4.4.2, 4.5 */
	case PML4:
		return (va >> 39) & 511;
	case PDPT:
		return (va >> 30) & 511;
	case PD:
		return (va >> 21) & 511;
	default:
		return (va >> 12) & 511;
	}
}

/* Whether a present entry maps a page (rather than referencing a table). */
static bool ref_maps_page(const struct gwalk_ctx *c, enum ref_level lvl, u64 e)
{
	bool ps = e & PS;

	if (lvl == PT)
		return true;
	if (c->mode == GWALK_32) /* 4.3: "If CR4.PSE = 1 and the PDE's PS flag is 1" */
		return c->pse && ps;
	if (c->mode == GWALK_PAE) /* 4.4.2: a PDE with PS=1 maps a 2 MiB page */
		return ps;
	return (lvl == PDPT || lvl == PD) && ps; /* 4.5.4: 1 GiB and 2 MiB pages */
}

/* Reserved bits of a present entry (SDM 4.3 with table 4-4, 4.4.2 tables 4-9..4-11, 4.5.4). */
static u64 ref_reserved(const struct gwalk_ctx *c, enum ref_level lvl, bool page)
{
	int m = c->maxphyaddr;
	u64 xd = c->nxe ? 0 : bits(63, 63);
	u64 r;

	if (c->mode == GWALK_32) {
		if (lvl != PD || !page)
			return 0; /* "there are reserved bits only if CR4.PSE = 1" (and PS=1) */
		r = bits(21, 21);
		for (int pa = 32; pa <= 39; pa++) /* PDE bit pa-19 holds physical bit pa */
			if (pa >= m)
				r |= bits(pa - 19, pa - 19);
		return r;
	}
	if (c->mode == GWALK_PAE) {
		r = bits(62, m) | xd;
		if (lvl == PD && page)
			r |= bits(20, 13);
		return r;
	}
	r = bits(51, m) | xd;
	if (lvl == PML4)
		r |= bits(7, 7);
	if (lvl == PDPT && page)
		r |= bits(29, 13);
	if (lvl == PD && page)
		r |= bits(20, 13);
	return r;
}

/* Address of the next table, or of the byte va in the page that e maps. */
static u64 ref_address(const struct gwalk_ctx *c, enum ref_level lvl, bool page, u64 e, u64 va)
{
	if (c->mode == GWALK_32) {
		if (!page)
			return e & 0xfffff000;
		if (lvl == PD)
			return (e & 0xffc00000) | (((e >> 13) & 0xff) << 32) | (va & 0x3fffff);
		return (e & 0xfffff000) | (va & 0xfff);
	}
	if (!page)
		return e & bits(51, 12);
	if (lvl == PDPT)
		return (e & bits(51, 30)) | (va & bits(29, 0));
	if (lvl == PD)
		return (e & bits(51, 21)) | (va & bits(20, 0));
	return (e & bits(51, 12)) | (va & bits(11, 0));
}

/* SDM 4.6.1, item by item. user_addr: U/S=1 in every entry; rw: R/W=1 in every entry. */
static bool ref_allowed(const struct gwalk_ctx *c, bool user, bool write, bool fetch,
			bool implicit, bool user_addr, bool rw, bool xd_any)
{
	bool nx = c->nxe && c->mode != GWALK_32; /* "For PAE paging or 4-level paging with NXE=1" */

	if (user) { /* user-mode access */
		if (!user_addr)
			return false; /* no user access to supervisor-mode addresses */
		if (fetch)
			return !(nx && xd_any);
		if (write)
			return rw;
		return true;
	}
	if (fetch) { /* supervisor-mode instruction fetch */
		if (user_addr && c->smep)
			return false;
		return !(nx && xd_any);
	}
	if (!write) { /* supervisor-mode data read */
		if (!user_addr || !c->smap)
			return true;
		return c->ac && !implicit;
	}
	/* supervisor-mode data write */
	if (user_addr && c->smap && !(c->ac && !implicit))
		return false;
	if (!c->wp)
		return true;
	return rw;
}

static void ref_walk(const struct gwalk_ctx *c, u64 va, u32 acc, struct ref *r)
{
	bool implicit = acc & GWALK_ACC_IMPLICIT;
	bool fetch = acc & GWALK_ACC_FETCH;
	bool write = (acc & GWALK_ACC_WRITE) && !fetch;
	bool user = (acc & GWALK_ACC_USER) && !implicit;
	bool nx = c->nxe && c->mode != GWALK_32;
	u32 ec = (write ? 2 : 0) | (user ? 4 : 0) | (fetch && (c->smep || nx) ? 16 : 0);
	int bytes = c->mode == GWALK_32 ? 4 : 8;
	enum ref_level lvl = PML4;
	u64 table = 0, e = 0;
	bool page = false, rw = true, us = true, xd_any = false;

	memset(r, 0, sizeof(*r));
	if (c->mode != GWALK_LONG4)
		va &= 0xffffffff;
	if (c->mode == GWALK_NONE) {
		r->status = GWALK_OK;
		r->gpa = va;
		r->size = 4096;
		r->writable = r->user = r->exec = true;
		return;
	}
	if (c->mode == GWALK_32) {
		lvl = PD;
		table = c->cr3 & 0xfffff000;
	} else if (c->mode == GWALK_PAE) {
		u64 pdpte = c->pdpte[(va >> 30) & 3];
		if (!(pdpte & P)) {
			r->status = GWALK_FAULT;
			r->ec = ec;
			return;
		}
		lvl = PD;
		table = pdpte & bits(51, 12);
	} else {
		table = c->cr3 & bits(c->maxphyaddr - 1, 12);
	}
	while (!page) {
		u64 addr = table + ref_index(c->mode, lvl, va) * bytes;
		if (!mem_in(addr, bytes)) {
			r->status = GWALK_BAD_TABLE;
			return;
		}
		e = mem_get(addr, bytes);
		r->addr[r->n] = addr;
		r->val[r->n++] = e;
		if (!(e & P)) {
			r->status = GWALK_FAULT;
			r->ec = ec;
			return;
		}
		page = ref_maps_page(c, lvl, e);
		if (e & ref_reserved(c, lvl, page)) {
			r->status = GWALK_FAULT;
			r->ec = ec | 1 | 8;
			return;
		}
		rw = rw && (e & RW);
		us = us && (e & US);
		xd_any = xd_any || (nx && (e & XD));
		table = ref_address(c, lvl, page, e, va);
		lvl++;
	}
	if (!ref_allowed(c, user, write, fetch, implicit, us, rw, xd_any)) {
		r->status = GWALK_FAULT;
		r->ec = ec | 1;
		return;
	}
	r->status = GWALK_OK;
	r->gpa = table;
	r->size = lvl - 1 == PDPT ? 1 * GiB : lvl - 1 == PT ? 4 * KiB
		  : c->mode == GWALK_32 ? 4 * MiB : 2 * MiB;
	r->writable = rw;
	r->user = us;
	r->exec = !xd_any;
	r->global = e & G;
	r->dirty = (e & D) || write;
	/* 4.8: A in every entry used, D in the one that maps the page */
	for (int i = 0; i < r->n; i++)
		r->add[i] = (A | (i == r->n - 1 && write ? D : 0)) & ~r->val[i];
}

/* ---- Comparing walker and model ----------------------------------------------------------- */

/* The case being run, for failure messages. */
static struct {
	const char *matrix;
	int shape;
	u64 fl[4];
	u32 acc;
	int level, bit;
} cur;

static const char *acc_name(u32 acc)
{
	static char buf[48];

	snprintf(buf, sizeof(buf), "%s%s%s%s", acc & GWALK_ACC_USER ? "user " : "",
		 acc & GWALK_ACC_IMPLICIT ? "implicit " : "",
		 acc & GWALK_ACC_FETCH ? "fetch" : acc & GWALK_ACC_WRITE ? "write" : "read",
		 acc & (GWALK_ACC_USER | GWALK_ACC_IMPLICIT) ? "" : " (supervisor)");
	return buf;
}

static void fail_case(const struct gwalk_ctx *c, const char *field, u64 got, u64 want)
{
	fail_msg("[%s] %s: %s got %#llx want %#llx | %s wp=%d nxe=%d smep=%d smap=%d ac=%d "
		 "M=%u | entries %#llx %#llx %#llx %#llx | level %d bit %d",
		 cur.matrix, shapes[cur.shape].name, field, got, want, acc_name(cur.acc), c->wp,
		 c->nxe, c->smep, c->smap, c->ac, c->maxphyaddr, cur.fl[0], cur.fl[1], cur.fl[2],
		 cur.fl[3], cur.level, cur.bit);
}

#define EXPECT(field, got, want)                                                   \
	do {                                                                       \
		if ((u64)(got) != (u64)(want))                                     \
			fail_case(c, field, (u64)(got), (u64)(want));              \
	} while (0)

/* Memory after the walk: each entry the model read holds its old value plus add[]. */
static void compare_memory(const struct gwalk_ctx *c, const struct ref *want, bool ok)
{
	if (!ok)
		EXPECT("set_bits calls on a failed walk", nset, 0);
	for (int i = 0; i < nset; i++) {
		bool known = false;
		for (int j = 0; j < want->n; j++)
			known |= setlog[i].gpa == want->addr[j];
		if (!known)
			fail_case(c, "set_bits on an entry not in the walk", setlog[i].gpa, 0);
	}
	for (int i = 0; i < want->n; i++) {
		u64 expect = want->val[i];
		for (int j = 0; j < want->n; j++)
			if (want->addr[j] == want->addr[i])
				expect |= want->add[j];
		EXPECT("entry after walk", mem_get(want->addr[i], entry_size), expect);
	}
}

/* Runs the walker and the model on the current memory and asserts they agree in full. */
static void check_walk(const struct gwalk_ctx *c, u64 gva, u32 acc)
{
	struct ref want;
	struct gwalk_result got;

	cur.acc = acc;
	ref_walk(c, gva, acc, &want);
	memset(&got, 0xa5, sizeof(got)); /* every field must be written */
	nset = 0;
	enum gwalk_status st = gwalk(c, &sim_ops, gva, acc, &got);

	EXPECT("return value", st, want.status);
	EXPECT("status", got.status, want.status);
	if (want.status == GWALK_FAULT)
		EXPECT("error code", got.error_code, want.ec);
	EXPECT("gpa", got.gpa, want.gpa);
	EXPECT("page size", got.page_size, want.size);
	EXPECT("writable", got.writable, want.writable);
	EXPECT("user", got.user, want.user);
	EXPECT("exec", got.exec, want.exec);
	EXPECT("global", got.global, want.global);
	EXPECT("dirty", got.dirty, want.dirty);
	EXPECT("levels", got.levels, want.n);
	for (int i = 0; i < want.n; i++) {
		EXPECT("pte_gpa", got.pte_gpa[i], want.addr[i]);
		EXPECT("pte", got.pte[i], want.val[i]);
	}
	compare_memory(c, &want, want.status == GWALK_OK);
}

/* ---- The matrices ------------------------------------------------------------------------- */

/* The nine access kinds: (read, write, fetch) x (user, supervisor, implicit supervisor). */
static u32 access_kind(int k)
{
	static const u32 type[3] = { 0, GWALK_ACC_WRITE, GWALK_ACC_FETCH };
	static const u32 who[3] = { GWALK_ACC_USER, 0, GWALK_ACC_IMPLICIT };

	return type[k % 3] | who[k / 3];
}
#define NKINDS 9

/* The 32 combinations of CR0.WP, EFER.NXE, CR4.SMEP, CR4.SMAP, RFLAGS.AC. */
static void set_controls(struct gwalk_ctx *c, int f)
{
	c->wp = f & 1;
	c->nxe = f & 2;
	c->smep = f & 4;
	c->smap = f & 8;
	c->ac = f & 16;
}
#define NCONTROLS 32

/* Flags of level i from bit i of each mask; A preset from bits 3:0 of ad, leaf D from bit 4. */
static void level_flags(const struct shape *s, unsigned us, unsigned rw, unsigned xd,
			unsigned ad, u64 fl[4])
{
	for (int i = 0; i < 4; i++) {
		fl[i] = P;
		fl[i] |= (us >> i & 1) ? US : 0;
		fl[i] |= (rw >> i & 1) ? RW : 0;
		fl[i] |= (xd >> i & 1) ? XD : 0;
		fl[i] |= (ad >> i & 1) ? A : 0;
		fl[i] |= i == s->n - 1 && (ad >> 4 & 1) ? D : 0;
	}
}

static long matrix_cases;

/* Preset A (bits 3:0, per level) and leaf D (bit 4) for case n: a multiplicative hash, so
 * that every pattern meets every combination of the other parameters. */
static unsigned ad_pattern(long n)
{
	return (u32)((u64)n * 2654435761u) >> 27;
}

/* Builds shape si with cur.fl, lets edit change memory/ctx, then compares walker and model. */
static void run_case(int si, int controls, u32 acc, void (*edit)(struct gwalk_ctx *c))
{
	const struct shape *s = &shapes[si];
	struct gwalk_ctx c;

	cur.shape = si;
	build(s, cur.fl, &c);
	set_controls(&c, controls);
	if (edit)
		edit(&c);
	check_walk(&c, s->gva, acc);
	matrix_cases++;
}

/* Every U/S, R/W, XD combination at every level x 32 control settings x 9 access kinds. */
static void test_permission_matrix(void **state)
{
	(void)state;
	long before = matrix_cases;

	cur.matrix = "permissions";
	for (int si = 0; si < NSHAPES; si++) {
		const struct shape *s = &shapes[si];
		unsigned combos = 1u << s->n, xd_combos = s->mode == GWALK_32 ? 1 : combos;

		for (unsigned flags = 0; flags < combos * combos * xd_combos; flags++) {
			unsigned us = flags % combos, rw = flags / combos % combos;
			unsigned xd = flags / combos / combos;

			for (int fk = 0; fk < NCONTROLS * NKINDS; fk++) {
				level_flags(s, us, rw, xd, ad_pattern(matrix_cases), cur.fl);
				run_case(si, fk / NKINDS, access_kind(fk % NKINDS), NULL);
			}
		}
	}
	cleanup();
	print_message("permission matrix: %ld cases\n", matrix_cases - before);
}

/* Not-present entry at level cur.level (-1: the PAE PDPTE register); junk in the rest. */
static bool np_junk;

static void make_not_present(struct gwalk_ctx *c)
{
	const struct shape *s = &shapes[cur.shape];
	/* Reserved bits are not checked in an entry whose P flag is 0 (4.7). */
	u64 junk = !np_junk ? 0 : entry_size == 4 ? BIT(21) | PS : XD | BIT(62) | BIT(51) | 0x7fe;

	if (cur.level < 0) {
		c->pdpte[(s->gva >> 30) & 3] = junk;
		return;
	}
	u64 a = entry_addr(s, cur.level);
	mem_put(a, entry_size, (mem_get(a, entry_size) & ~P) | junk);
}

/* A not-present entry at each level, clean and with junk, x 32 controls x 9 access kinds. */
static void test_not_present_matrix(void **state)
{
	(void)state;
	long before = matrix_cases;

	cur.matrix = "not-present";
	for (int si = 0; si < NSHAPES; si++) {
		const struct shape *s = &shapes[si];

		for (cur.level = s->mode == GWALK_PAE ? -1 : 0; cur.level < s->n; cur.level++)
			for (int fkj = 0; fkj < NCONTROLS * NKINDS * 2; fkj++) {
				int fk = fkj / 2;

				np_junk = fkj & 1;
				level_flags(s, 15, 15, 0, 0, cur.fl);
				run_case(si, fk / NKINDS, access_kind(fk % NKINDS),
					 make_not_present);
			}
	}
	cleanup();
	cur.level = 0;
	print_message("not-present matrix: %ld cases\n", matrix_cases - before);
}

/* Flips bit cur.bit of entry cur.level and sets MAXPHYADDR. */
static u32 flip_maxphy;

static void flip_bit(struct gwalk_ctx *c)
{
	u64 a = entry_addr(&shapes[cur.shape], cur.level);

	mem_put(a, entry_size, mem_get(a, entry_size) ^ BIT(cur.bit));
	c->maxphyaddr = flip_maxphy;
}

/*
 * Every bit of every entry flipped in turn, for several MAXPHYADDRs, NXE 0/1, two control
 * settings (all off; WP, SMEP, SMAP on) and the nine access kinds: the reserved bits of each
 * level (and that ignored bits are ignored), PS turning a table into a page and back, and
 * address bits leading to other memory or out of RAM.
 */
static void test_bit_flip_matrix(void **state)
{
	(void)state;
	static const u32 maxphys[] = { 32, 36, 39, 40, 46, 52 };
	static const int controls[] = { 0, 2, 13, 15 };
	long before = matrix_cases;

	cur.matrix = "bit-flip";
	for (int si = 0; si < NSHAPES; si++) {
		const struct shape *s = &shapes[si];

		for (size_t m = 0; m < ARRAY_SIZE(maxphys); m++) {
			if (s->frame >> maxphys[m])
				continue; /* the frame itself would be beyond MAXPHYADDR */
			flip_maxphy = maxphys[m];
			for (cur.level = 0; cur.level < s->n; cur.level++)
				for (cur.bit = 0; cur.bit < 8 * entry_size_of(s); cur.bit++)
					for (int fk = 0; fk < 4 * NKINDS; fk++) {
						level_flags(s, 15, 15, 0, 0, cur.fl);
						run_case(si, controls[fk / NKINDS],
							 access_kind(fk % NKINDS), flip_bit);
					}
		}
	}
	cleanup();
	cur.level = cur.bit = 0;
	print_message("bit-flip matrix: %ld cases\n", matrix_cases - before);
}

/* One PDPTE load with bit b of PDPTE i flipped and P forced to p; checks table 4-8. */
static void pdpte_load_case(int i, int b, bool p, u32 m)
{
	u64 out[4] = { 1, 2, 3, 4 };
	u64 rsvd = bits(2, 1) | bits(8, 5) | bits(63, m);

	for (int j = 0; j < 4; j++)
		mem_put(PAE_PDPT + 8 * j, 8, (0x101000 + j * 0x1000) | P);
	u64 e = mem_get(PAE_PDPT + 8 * i, 8) ^ BIT(b);
	mem_put(PAE_PDPT + 8 * i, 8, p ? e | P : e & ~P);
	bool want = !(p && (BIT(b) & rsvd));
	bool got = gwalk_load_pdptes(&sim_ops, PAE_PDPT | 0x18, m, out);
	if (got != want)
		fail_msg("PDPTE %d bit %d P=%d M=%u: got %d want %d", i, b, p, m, got, want);
	for (int j = 0; j < 4; j++) /* loaded as in memory, or untouched on #GP */
		assert_int_equal(out[j], got ? mem_get(PAE_PDPT + 8 * j, 8) : (u64)j + 1);
}

/* gwalk_load_pdptes against table 4-8: every bit of every PDPTE, present or not. */
static void test_pdpte_load_matrix(void **state)
{
	(void)state;
	static const u32 maxphys[] = { 32, 36, 40, 46, 52 };
	long n = 0;

	entry_size = 8;
	for (size_t m = 0; m < ARRAY_SIZE(maxphys); m++)
		for (int i = 0; i < 4; i++)
			for (int b = 1; b < 64; b++, n += 2) {
				pdpte_load_case(i, b, false, maxphys[m]);
				pdpte_load_case(i, b, true, maxphys[m]);
			}
	memset(mem + PAE_PDPT, 0, 32);
	matrix_cases += n;
	print_message("PDPTE load matrix: %ld cases\n", n);
}

/* ---- Hand-computed classic cases (no model) ----------------------------------------------- */

#define ALL (P | RW | US)

static struct gwalk_result res;

/* Builds shape si with the given flags (missing levels: ALL) and returns its ctx. */
static struct gwalk_ctx setup(int si, u64 f0, u64 f1, u64 f2, u64 f3)
{
	struct gwalk_ctx c;
	u64 fl[4] = { f0, f1, f2, f3 };

	build(&shapes[si], fl, &c);
	memcpy(cur.fl, fl, sizeof(fl));
	cur.shape = si;
	return c;
}

static enum gwalk_status walk(const struct gwalk_ctx *c, u64 gva, u32 acc)
{
	memset(&res, 0xa5, sizeof(res));
	nset = 0;
	return gwalk(c, &sim_ops, gva, acc, &res);
}

static void expect_fault(const struct gwalk_ctx *c, u64 gva, u32 acc, u32 ec)
{
	assert_int_equal(walk(c, gva, acc), GWALK_FAULT);
	assert_int_equal(res.error_code, ec);
	assert_int_equal(nset, 0); /* no A/D update on a fault */
}

static u64 leaf_entry(int si)
{
	const struct shape *s = &shapes[si];

	return mem_get(entry_addr(s, s->n - 1), s->mode == GWALK_32 ? 4 : 8);
}

/* User write to a read-only 4 KiB page: P|W|U = 0x7. */
static void test_user_write_readonly(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_4K, ALL, ALL, ALL, P | US);

	expect_fault(&c, LONG_GVA, GWALK_ACC_USER | GWALK_ACC_WRITE, 0x7);
	c.wp = true;
	expect_fault(&c, LONG_GVA, GWALK_ACC_USER | GWALK_ACC_WRITE, 0x7);
	/* read-only at the PDPTE instead: same */
	c = setup(SL_4K, ALL, P | US, ALL, ALL);
	expect_fault(&c, LONG_GVA, GWALK_ACC_USER | GWALK_ACC_WRITE, 0x7);
}

/* Supervisor write to a read-only page: allowed with WP=0 (and sets D), 0x3 with WP=1. */
static void test_supervisor_write_wp(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_4K, ALL, ALL, P, P);

	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_WRITE), GWALK_OK);
	assert_int_equal(res.gpa, 0x876543123);
	assert_false(res.writable);
	assert_true(res.dirty);
	assert_int_equal(leaf_entry(SL_4K), 0x876543000 | P | A | D);
	c = setup(SL_4K, ALL, ALL, P, P);
	c.wp = true;
	expect_fault(&c, LONG_GVA, GWALK_ACC_WRITE, 0x3);
	assert_int_equal(leaf_entry(SL_4K), 0x876543000 | P);
}

/* NX fetch with NXE: supervisor P|I = 0x11, user P|U|I = 0x15; without NXE bit 63 is RSVD. */
static void test_nx_fetch(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_4K, ALL, ALL, ALL | XD, ALL);

	c.nxe = true;
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH, 0x11);
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH | GWALK_ACC_USER, 0x15);
	assert_int_equal(walk(&c, LONG_GVA, 0), GWALK_OK); /* reads are fine */
	assert_false(res.exec);
	c.nxe = false;
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH, 0x9); /* RSVD, and no I without NXE/SMEP */
}

/* PAE PTE with bit 63 and NXE=0: supervisor read gives P|RSVD = 0x9; with NXE it is XD. */
static void test_pae_bit63_reserved(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SPAE_4K, ALL, ALL | XD, 0, 0);

	expect_fault(&c, 0xdeadbeef, 0, 0x9);
	expect_fault(&c, 0xdeadbeef, GWALK_ACC_USER | GWALK_ACC_WRITE, 0xf);
	c.nxe = true;
	assert_int_equal(walk(&c, 0xdeadbeef, 0), GWALK_OK);
	assert_int_equal(res.gpa, 0x876543eef);
	assert_int_equal(res.levels, 2); /* PDE and PTE: the PDPTE register is not read */
	/* bit 62 is reserved in PAE entries (62:M) although 4-level paging ignores it */
	c = setup(SPAE_4K, ALL, ALL | BIT(62), 0, 0);
	expect_fault(&c, 0xdeadbeef, 0, 0x9);
	c = setup(SL_4K, ALL, ALL, ALL, ALL | BIT(62));
	assert_int_equal(walk(&c, LONG_GVA, 0), GWALK_OK);
}

/* 32-bit: PS=1 in a PDE makes a 4 MiB page only with CR4.PSE=1. */
static void test_4m_needs_pse(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(S32_4K, ALL | PS, ALL, 0, 0);

	assert_int_equal(walk(&c, 0xdeadbeef, GWALK_ACC_WRITE), GWALK_OK);
	assert_int_equal(res.page_size, 4 * KiB);
	assert_int_equal(res.gpa, 0xabcdeeef); /* through the page table */
	assert_int_equal(res.levels, 2);
	assert_int_equal(mem_get(entry_addr(&shapes[S32_4K], 0), 4), tbl[1] | ALL | PS | A);
	/* the same PDE with PSE=1 is a 4 MiB PDE; its "address" 0x203000 has bit 21 set: RSVD */
	c = setup(S32_4K, ALL | PS, ALL, 0, 0);
	c.pse = true;
	expect_fault(&c, 0xdeadbeef, 0, 0x9);
	/* a clean 4 MiB PDE: gpa from PDE bits 31:22 and gva bits 21:0 */
	mem_put(entry_addr(&shapes[S32_4K], 0), 4, 0xc0000000 | ALL | PS);
	assert_int_equal(walk(&c, 0xdeadbeef, 0), GWALK_OK);
	assert_int_equal(res.page_size, 4 * MiB);
	assert_int_equal(res.gpa, 0xc02dbeef);
	assert_int_equal(res.levels, 1);
}

/* PSE-36: PDE bits 20:13 are physical 39:32; bits beyond MAXPHYADDR and bit 21 are RSVD. */
static void test_pse36(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(S32_4M, ALL, 0, 0, 0);

	assert_int_equal(walk(&c, 0xdeadbeef, GWALK_ACC_WRITE), GWALK_OK);
	assert_int_equal(res.gpa, 0x5c0400000 | 0x2dbeef);
	assert_int_equal(res.page_size, 4 * MiB);
	assert_true(res.dirty);
	u64 a = entry_addr(&shapes[S32_4M], 0);
	mem_put(a, 4, mem_get(a, 4) | BIT(17)); /* physical bit 36 with MAXPHYADDR 36 */
	expect_fault(&c, 0xdeadbeef, 0, 0x9);
	c.maxphyaddr = 40;
	assert_int_equal(walk(&c, 0xdeadbeef, 0), GWALK_OK);
	assert_int_equal(res.gpa, (1ULL << 36) | 0x5c0400000 | 0x2dbeef);
	c = setup(S32_4M, ALL | BIT(21), 0, 0, 0);
	c.maxphyaddr = 40;
	expect_fault(&c, 0xdeadbeef, GWALK_ACC_USER, 0xd);
}

/* Dirty is set only on a write; accessed on every successful walk; nothing on a fault. */
static void test_dirty_only_on_write(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_2M, ALL, ALL, ALL | G, 0);
	u64 pde = entry_addr(&shapes[SL_2M], 2), pml4e = entry_addr(&shapes[SL_2M], 0);

	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_USER), GWALK_OK);
	assert_int_equal(nset, 3);
	assert_int_equal(mem_get(pde, 8), 0x876600000 | ALL | G | PS | A);
	assert_int_equal(mem_get(pml4e, 8), tbl[1] | ALL | A);
	assert_false(res.dirty);
	assert_true(res.global);
	assert_int_equal(res.pte[2], 0x876600000 | ALL | G | PS); /* as read, before A */
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_USER), GWALK_OK);
	assert_int_equal(nset, 0); /* nothing left to set */
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_USER | GWALK_ACC_WRITE), GWALK_OK);
	assert_int_equal(nset, 1);
	assert_int_equal(mem_get(pde, 8), 0x876600000 | ALL | G | PS | A | D);
	assert_int_equal(mem_get(pml4e, 8), tbl[1] | ALL | A); /* D only in the leaf */
	assert_true(res.dirty);
	assert_int_equal(res.gpa, 0x876600000 | (LONG_GVA & 0x1fffff));
}

/* gwalk_load_pdptes: accepts good ones, masks CR3 to 31:5, refuses reserved bits / no RAM. */
static void test_pdpte_load(void **state)
{
	(void)state;
	u64 out[4] = { 0 }, keep[4] = { 9, 9, 9, 9 };

	entry_size = 8;
	mem_put(PAE_PDPT, 8, 0x1000 | P);
	mem_put(PAE_PDPT + 8, 8, 0xffffffffffff0ffeULL); /* not present: anything goes */
	mem_put(PAE_PDPT + 16, 8, 0x3000 | P | BIT(3) | BIT(4) | BIT(9)); /* PWT PCD ignored */
	mem_put(PAE_PDPT + 24, 8, 0);
	assert_true(gwalk_load_pdptes(&sim_ops, 0xffffffff00000000ULL | PAE_PDPT | 0x1f, 36, out));
	assert_int_equal(out[0], 0x1000 | P);
	assert_int_equal(out[1], 0xffffffffffff0ffeULL);
	mem_put(PAE_PDPT + 24, 8, 0x4000 | P | BIT(5)); /* bit 5 (A position) is reserved */
	memcpy(out, keep, sizeof(out));
	assert_false(gwalk_load_pdptes(&sim_ops, PAE_PDPT, 36, out));
	assert_memory_equal(out, keep, sizeof(out));
	mem_put(PAE_PDPT + 24, 8, (1ULL << 36) | P); /* above MAXPHYADDR */
	assert_false(gwalk_load_pdptes(&sim_ops, PAE_PDPT, 36, out));
	assert_true(gwalk_load_pdptes(&sim_ops, PAE_PDPT, 37, out));
	mem_put(PAE_PDPT + 24, 8, XD | P); /* no XD in a PAE PDPTE */
	assert_false(gwalk_load_pdptes(&sim_ops, PAE_PDPT, 52, out));
	assert_false(gwalk_load_pdptes(&sim_ops, 0xfffffff0, 52, out)); /* not RAM */
	memset(mem + PAE_PDPT, 0, 32);
}

/* Not-present faults: error code has no P, but W/U/I describe the access. */
static void test_not_present_codes(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_4K, ALL, ALL, ALL, ALL);

	mem_put(entry_addr(&shapes[SL_4K], 0), 8, 0);
	expect_fault(&c, LONG_GVA, GWALK_ACC_USER | GWALK_ACC_WRITE, 0x6);
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH, 0x0); /* no NXE, no SMEP: I stays 0 */
	c.smep = true;
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH, 0x10);
	c.smep = false;
	c.nxe = true;
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH | GWALK_ACC_USER, 0x14);
	assert_int_equal(res.levels, 1);
	assert_int_equal(res.pte[0], 0);
	/* 32-bit paging: NXE does not give I (no XD there), SMEP does */
	c = setup(S32_4K, ALL, 0, 0, 0);
	c.nxe = true;
	expect_fault(&c, 0xdeadbeef, GWALK_ACC_FETCH, 0x0);
	c.smep = true;
	expect_fault(&c, 0xdeadbeef, GWALK_ACC_FETCH, 0x10);
	/* PAE: a not-present PDPTE register faults before any memory is read */
	c = setup(SPAE_4K, ALL, ALL, 0, 0);
	c.pdpte[3] = 0;
	expect_fault(&c, 0xdeadbeef, GWALK_ACC_WRITE, 0x2);
	assert_int_equal(res.levels, 0);
}

/* SMAP: supervisor data access to a user page. */
static void test_smap(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_4K, ALL, ALL, ALL, P | US); /* user, read-only */

	c.smap = true;
	expect_fault(&c, LONG_GVA, 0, 0x1);
	c.ac = true;
	assert_int_equal(walk(&c, LONG_GVA, 0), GWALK_OK);
	expect_fault(&c, LONG_GVA, GWALK_ACC_IMPLICIT, 0x1); /* AC does not help implicit ones */
	/* WP=0, AC=1: a supervisor write to the user read-only page is allowed (as without SMAP) */
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_WRITE), GWALK_OK);
	/* WP=0, AC=0: SMAP forbids the write although WP=0 would allow it */
	c = setup(SL_4K, ALL, ALL, ALL, P | US);
	c.smap = true;
	expect_fault(&c, LONG_GVA, GWALK_ACC_WRITE, 0x3);
	/* the user access itself is not affected by SMAP */
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_USER), GWALK_OK);
	/* a supervisor page is not affected either */
	c = setup(SL_4K, ALL, P | RW, ALL, ALL);
	c.smap = true;
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_WRITE), GWALK_OK);
	assert_false(res.user);
}

/* SMEP: supervisor fetch from a user page = P|I = 0x11; fine from a supervisor page. */
static void test_smep(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_1G, ALL, ALL, 0, 0);

	c.smep = true;
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH, 0x11);
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_FETCH | GWALK_ACC_USER), GWALK_OK);
	assert_int_equal(res.gpa, 0x7c0000000 | (LONG_GVA & 0x3fffffff));
	assert_int_equal(res.page_size, 1 * GiB);
	c = setup(SL_1G, P | RW, ALL, 0, 0); /* U/S=0 at the PML4E: supervisor page */
	c.smep = true;
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_FETCH), GWALK_OK);
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH | GWALK_ACC_USER, 0x15);
}

/* Implicit supervisor accesses at CPL 3 are supervisor accesses: no U in the error code. */
static void test_implicit(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_4K, ALL, ALL, P | RW, ALL); /* supervisor page */

	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_IMPLICIT | GWALK_ACC_USER), GWALK_OK);
	expect_fault(&c, LONG_GVA, GWALK_ACC_USER, 0x5);
	mem_put(entry_addr(&shapes[SL_4K], 3), 8, 0);
	expect_fault(&c, LONG_GVA, GWALK_ACC_IMPLICIT | GWALK_ACC_USER | GWALK_ACC_WRITE, 0x2);
}

/* Reserved bits in 4-level entries: PS in a PML4E, 29:13 of a 1 GiB page, beyond M. */
static void test_long_reserved(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_4K, ALL | PS, ALL, ALL, ALL);

	expect_fault(&c, LONG_GVA, GWALK_ACC_USER, 0xd);
	assert_int_equal(res.levels, 1);
	c = setup(SL_1G, ALL, ALL | BIT(13), 0, 0);
	expect_fault(&c, LONG_GVA, 0, 0x9);
	c = setup(SL_1G, ALL, ALL | BIT(29), 0, 0);
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH, 0x9);
	c = setup(SL_1G, ALL, ALL | BIT(12), 0, 0); /* PAT bit of a 1 GiB page: fine */
	assert_int_equal(walk(&c, LONG_GVA, 0), GWALK_OK);
	assert_int_equal(res.gpa, 0x7c0000000 | (LONG_GVA & 0x3fffffff));
	c = setup(SL_4K, ALL, ALL, ALL | BIT(46), ALL); /* M = 46 */
	expect_fault(&c, LONG_GVA, GWALK_ACC_WRITE, 0xb);
	c = setup(SL_4K, ALL, ALL, ALL | BIT(52) | BIT(9), ALL); /* ignored bits */
	assert_int_equal(walk(&c, LONG_GVA, 0), GWALK_OK);
	/* RSVD at a lower level wins over a permission problem at a higher one */
	c = setup(SL_4K, P | RW, ALL, ALL, ALL | BIT(50));
	expect_fault(&c, LONG_GVA, GWALK_ACC_USER, 0xd);
	/* not-present at a lower level wins over a permission problem at a higher one */
	c = setup(SL_4K, P | RW, ALL, ALL, US | RW);
	expect_fault(&c, LONG_GVA, GWALK_ACC_USER, 0x4);
}

/* Paging off: gpa is the low 32 bits of gva, everything allowed, no memory touched. */
static void test_no_paging(void **state)
{
	(void)state;
	struct gwalk_ctx c;

	memset(&c, 0, sizeof(c));
	c.mode = GWALK_NONE;
	c.cr3 = 0xfffffffff000; /* ignored */
	assert_int_equal(walk(&c, 0x123456789abcULL, GWALK_ACC_USER | GWALK_ACC_WRITE), GWALK_OK);
	assert_int_equal(res.gpa, 0x56789abc);
	assert_true(res.writable && res.user && res.exec);
	assert_int_equal(res.levels, 0);
	assert_int_equal(res.page_size, 4096);
	c.mode = 1; /* not a mode */
	assert_int_equal(walk(&c, 0, 0), GWALK_BAD_TABLE);
}

/* Inputs the walker normalises: high gva bits without IA-32e, WRITE|FETCH, CR3 extras. */
static void test_input_forms(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(S32_4K, ALL, ALL, 0, 0);

	assert_int_equal(walk(&c, 0xffffffff00000000ULL | 0xdeadbeef, 0), GWALK_OK);
	assert_int_equal(res.gpa, 0xabcdeeef);
	c = setup(SPAE_2M, ALL, 0, 0, 0);
	assert_int_equal(walk(&c, 0x7ULL << 32 | 0xdeadbeef, 0), GWALK_OK);
	assert_int_equal(res.gpa, 0x876600000 | (0xdeadbeef & 0x1fffff));
	/* a fetch is never a write: read-only page, WP=1, no W in the error code, no D */
	c = setup(SL_4K, ALL, ALL, ALL, ALL | XD);
	c.wp = c.nxe = true;
	expect_fault(&c, LONG_GVA, GWALK_ACC_FETCH | GWALK_ACC_WRITE | GWALK_ACC_USER, 0x15);
	c = setup(SL_4K, ALL, ALL, ALL, P | US);
	c.wp = true;
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_FETCH | GWALK_ACC_WRITE), GWALK_OK);
	assert_false(res.dirty);
	/* CR3 bit 63 (MOV CR3 "no flush" with PCIDs) and a PCID in 11:0 are not address bits */
	c = setup(SL_4K, ALL, ALL, ALL, ALL);
	c.cr3 = BIT(63) | tbl[0] | 0xabc;
	assert_int_equal(walk(&c, LONG_GVA, 0), GWALK_OK);
	assert_int_equal(res.pte_gpa[0], entry_addr(&shapes[SL_4K], 0));
}

/* Paging structures outside RAM: GWALK_BAD_TABLE, nothing written. */
static void test_bad_table(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_4K, ALL, ALL, ALL, ALL);

	mem_put(entry_addr(&shapes[SL_4K], 1), 8, 0xfee00000 | ALL); /* PD at the LAPIC */
	assert_int_equal(walk(&c, LONG_GVA, 0), GWALK_BAD_TABLE);
	assert_int_equal(res.levels, 2);
	assert_int_equal(nset, 0);
	c.cr3 = 0x40000000;
	assert_int_equal(walk(&c, LONG_GVA, 0), GWALK_BAD_TABLE);
	assert_int_equal(res.levels, 0);
}

/* A/D compare-and-set loses a race: the walk restarts and sees the new entry. */
static u64 race_addr, race_value;

static void race_write(u64 gpa)
{
	(void)gpa;
	mem_put(race_addr, entry_size, race_value);
}

static void test_ad_race_restarts(void **state)
{
	(void)state;
	struct gwalk_ctx c = setup(SL_4K, ALL, ALL, ALL, ALL);
	u64 pte = entry_addr(&shapes[SL_4K], 3);

	/* another vCPU remaps the page while we set A in the PML4E */
	race_addr = pte;
	race_value = 0x111000 | ALL;
	race_hook = race_write;
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_WRITE), GWALK_OK);
	assert_int_equal(res.gpa, 0x111123);
	assert_int_equal(res.pte[3], 0x111000 | ALL);
	assert_int_equal(mem_get(pte, 8), 0x111000 | ALL | A | D);
	/* ... or makes the page read-only for the user: the restarted walk faults */
	c = setup(SL_4K, ALL, ALL, ALL, ALL);
	race_addr = entry_addr(&shapes[SL_4K], 2);
	race_value = tbl[3] | P | US;
	race_hook = race_write;
	assert_int_equal(walk(&c, LONG_GVA, GWALK_ACC_USER | GWALK_ACC_WRITE), GWALK_FAULT);
	assert_int_equal(res.error_code, 0x7);
	/* ... 32-bit paging: 4-byte compare-and-set */
	c = setup(S32_4K, ALL, ALL, 0, 0);
	race_addr = entry_addr(&shapes[S32_4K], 0);
	race_value = tbl[1] | ALL | A;
	race_hook = race_write;
	assert_int_equal(walk(&c, 0xdeadbeef, GWALK_ACC_WRITE), GWALK_OK);
	assert_int_equal(res.gpa, 0xabcdeeef);
	assert_int_equal(mem_get(race_addr, 4), tbl[1] | ALL | A);
	assert_int_equal(leaf_entry(S32_4K), 0xabcde000 | ALL | A | D);
}

/* Reset memory between tests so each one starts from zeroed tables. */
static int reset(void **state)
{
	(void)state;
	cleanup();
	race_hook = NULL;
	memset(mem, 0, 0x600000);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_user_write_readonly, reset),
		cmocka_unit_test_setup(test_supervisor_write_wp, reset),
		cmocka_unit_test_setup(test_nx_fetch, reset),
		cmocka_unit_test_setup(test_pae_bit63_reserved, reset),
		cmocka_unit_test_setup(test_4m_needs_pse, reset),
		cmocka_unit_test_setup(test_pse36, reset),
		cmocka_unit_test_setup(test_dirty_only_on_write, reset),
		cmocka_unit_test_setup(test_pdpte_load, reset),
		cmocka_unit_test_setup(test_not_present_codes, reset),
		cmocka_unit_test_setup(test_smap, reset),
		cmocka_unit_test_setup(test_smep, reset),
		cmocka_unit_test_setup(test_implicit, reset),
		cmocka_unit_test_setup(test_long_reserved, reset),
		cmocka_unit_test_setup(test_no_paging, reset),
		cmocka_unit_test_setup(test_input_forms, reset),
		cmocka_unit_test_setup(test_bad_table, reset),
		cmocka_unit_test_setup(test_ad_race_restarts, reset),
		cmocka_unit_test_setup(test_permission_matrix, reset),
		cmocka_unit_test_setup(test_not_present_matrix, reset),
		cmocka_unit_test_setup(test_bit_flip_matrix, reset),
		cmocka_unit_test_setup(test_pdpte_load_matrix, reset),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	print_message("gwalk: %ld matrix cases in all\n", matrix_cases);
	return rc;
}
