/* SOURCES: mmu/gwalk.c */
/*
 * fuzz_gwalk.c - mmu/gwalk.c: one walk of a gva under a paging context taken from the input,
 * over a 64 KiB guest memory written from the input, compared with a reference walker written
 * here from the SDM (Vol. 3A 4.3-4.8; tests/unit/test_gwalk.c has its own, static, model).
 *
 * Guest RAM is [0, ram_top); gpa g is backed by mem[g % MEM_SIZE], so any table address
 * below ram_top reaches the input's entries (ram_top: 2^52, 64 KiB, 1 MiB or 4 GiB).
 *
 * Input: a HDR_SIZE-byte header, then 10-byte records (u16 offset, u64 value) stored into mem
 * as one entry each (4 or 8 bytes as the mode's entries, offset aligned down).
 *   [0]      mode: b & 3 = none, 32-bit, PAE, 4-level; (b & 0x1c) == 0x1c: an invalid mode
 *   [1]      bits 0-5: CR0.WP EFER.NXE CR4.PSE CR4.SMEP CR4.SMAP RFLAGS.AC; bits 6-7: ram_top
 *   [2]      access kind (GWALK_ACC_*, low 4 bits)
 *   [3]      MAXPHYADDR = 32 + b % 21
 *   [4..11]  CR3    [12..19] gva
 * PAE walks use the PDPTEs gwalk_load_pdptes loads from CR3 (compared with the model's load).
 *
 * Invariants (abort on violation):
 *   - status, error code, gpa, page size, permissions, G/D, levels, pte_gpa[] and pte[] equal
 *     the model's; levels <= 4; on success the gpa is below 2^MAXPHYADDR (2^32 at least);
 *   - every entry read is entry-sized, aligned and below 2^MAXPHYADDR (2^32 at least);
 *   - set_bits only on entries in pte_gpa[], with A (and D on the leaf of a write) only; a
 *     failed walk writes nothing; after a walk memory is exactly the old memory plus the
 *     model's A/D bits;
 *   - a second identical walk after a successful one gives the same translation and writes
 *     nothing.
 */
#include "fuzz.h"

#include "mmu/gwalk.h"

#define MEM_SIZE 0x10000ULL
#define HDR_SIZE 20
#define REC_SIZE 10
#define MAX_CALLS 32

/* Entry bits, named as in the SDM tables. */
#define P BIT(0)
#define RW BIT(1)
#define US BIT(2)
#define A BIT(5)
#define D BIT(6)
#define PS BIT(7)
#define G BIT(8)
#define XD BIT(63)

static u8 mem[MEM_SIZE], mem_before[MEM_SIZE];
static u64 ram_top;
static int entry_bytes;
static u32 maxphy;

static struct {
	u64 gpa, bits;
	int size;
} sets[MAX_CALLS];
static int nsets, nset_fails, nreads;

/* ---- Guest memory ---- */

static bool in_ram(u64 gpa, int size)
{
	return gpa < ram_top && (u64)size <= ram_top - gpa;
}

static u64 get(const u8 *m, u64 gpa, int size)
{
	u64 v = 0;
	memcpy(&v, m + gpa % MEM_SIZE, (size_t)size);
	return v;
}

static void put(u8 *m, u64 gpa, int size, u64 v)
{
	memcpy(m + gpa % MEM_SIZE, &v, (size_t)size);
}

static u64 phys_limit(void)
{
	return BIT(MAX(maxphy, 32u));
}

static void check_entry_access(u64 gpa, int size, int want)
{
	CHECK(size == want, "%d-byte access, entries are %d bytes", size, want);
	CHECK(gpa % (u64)size == 0, "misaligned access at %#llx", gpa);
	CHECK(gpa < phys_limit(), "access at %#llx beyond MAXPHYADDR %u", gpa, maxphy);
}

static bool op_read(void *opaque, u64 gpa, void *buf, int size)
{
	check_entry_access(gpa, size, *(int *)opaque);
	CHECK(++nreads <= 4 * 6, "%d reads in one walk", nreads);
	if (!in_ram(gpa, size))
		return false;
	memcpy(buf, mem + gpa % MEM_SIZE, (size_t)size);
	return true;
}

static bool op_set_bits(void *opaque, u64 gpa, int size, u64 old, u64 bits)
{
	check_entry_access(gpa, size, *(int *)opaque);
	CHECK(in_ram(gpa, size), "set_bits outside RAM at %#llx", gpa);
	CHECK(bits && !(bits & ~(A | D)), "set_bits %#llx: only A and D may be set", bits);
	CHECK(nsets < MAX_CALLS, "more than %d set_bits calls", MAX_CALLS);
	sets[nsets].gpa = gpa;
	sets[nsets].bits = bits;
	sets[nsets++].size = size;
	u64 now = get(mem, gpa, size);
	if (now != old) {
		CHECK(++nset_fails <= 4, "%d lost A/D races in one walk, nothing else writes",
		      nset_fails);
		return false;
	}
	put(mem, gpa, size, now | bits);
	return true;
}

/* ---- Reference model (SDM Vol. 3A 4.3-4.8) ---- */

struct ref {
	enum gwalk_status status;
	u32 ec;
	u64 gpa, size;
	bool writable, user, exec, global, dirty;
	int n;
	u64 addr[4], val[4], add[4];
};

/* Bits hi..lo; none when lo > hi. */
static u64 bits(int hi, int lo)
{
	if (lo > hi || lo > 63)
		return 0;
	u64 top = hi >= 63 ? ~0ULL : BIT(hi + 1) - 1;
	return top & ~(BIT(lo) - 1);
}

/* Level numbers as the SDM counts them: 4 PML4, 3 PDPT, 2 PD, 1 PT. */
static u64 ref_index(enum gwalk_mode mode, int level, u64 va)
{
	if (mode == GWALK_32)
		return (va >> (level == 2 ? 22 : 12)) & 1023;
	return (va >> (12 + 9 * (level - 1))) & 511;
}

static bool ref_maps_page(const struct gwalk_ctx *c, int level, u64 e)
{
	if (level == 1)
		return true;
	if (!(e & PS))
		return false;
	if (c->mode == GWALK_32)
		return c->pse && level == 2;
	if (c->mode == GWALK_PAE)
		return level == 2;
	return level == 2 || level == 3;
}

static u64 ref_reserved(const struct gwalk_ctx *c, int level, bool page)
{
	int m = (int)c->maxphyaddr;
	u64 r = c->nxe ? 0 : XD;

	if (c->mode == GWALK_32) { /* table 4-4: a 4 MiB PDE; PDE bit pa-19 holds bit pa */
		if (level != 2 || !page)
			return 0;
		r = BIT(21);
		for (int pa = 32; pa <= 39; pa++)
			if (pa >= m)
				r |= BIT(pa - 19);
		return r;
	}
	if (c->mode == GWALK_PAE) /* tables 4-9 to 4-11 */
		return r | bits(62, m) | (level == 2 && page ? bits(20, 13) : 0);
	r |= bits(51, m); /* tables 4-14 to 4-19 */
	if (level == 4)
		r |= PS;
	if (level == 3 && page)
		r |= bits(29, 13);
	if (level == 2 && page)
		r |= bits(20, 13);
	return r;
}

static void ref_page(const struct gwalk_ctx *c, int level, u64 e, u64 va, struct ref *r)
{
	if (c->mode == GWALK_32 && level == 2) {
		r->gpa = (e & 0xffc00000ULL) | (((e >> 13) & 0xff) << 32) | (va & 0x3fffff);
		r->size = 4 * MiB;
	} else if (c->mode == GWALK_32) {
		r->gpa = (e & 0xfffff000ULL) | (va & 0xfff);
		r->size = 4 * KiB;
	} else {
		int shift = 12 + 9 * (level - 1);
		r->gpa = (e & bits(51, shift)) | (va & bits(shift - 1, 0));
		r->size = BIT(shift);
	}
}

/* SDM 4.6.1 item by item; us and rw: U/S and R/W set at every level. */
static bool ref_allowed(const struct gwalk_ctx *c, bool user, bool write, bool fetch,
			bool implicit, bool us, bool rw, bool xd_any)
{
	bool smap_blocks = us && c->smap && !(c->ac && !implicit);

	if (user) {
		if (!us)
			return false;
		if (fetch)
			return !xd_any;
		return !write || rw;
	}
	if (fetch)
		return !(us && c->smep) && !xd_any;
	if (smap_blocks)
		return false;
	return !write || !c->wp || rw;
}

static void ref_walk(const struct gwalk_ctx *c, u64 va, u32 acc, struct ref *r)
{
	bool implicit = acc & GWALK_ACC_IMPLICIT, fetch = acc & GWALK_ACC_FETCH;
	bool write = (acc & GWALK_ACC_WRITE) && !fetch, user = (acc & GWALK_ACC_USER) && !implicit;
	bool nx = c->nxe && c->mode != GWALK_32;
	u32 ec = (write ? PFEC_W : 0) | (user ? PFEC_U : 0) | (fetch && (c->smep || nx) ? PFEC_I : 0);
	bool rw = true, us = true, xd_any = false;
	int level, bytes = c->mode == GWALK_32 ? 4 : 8;
	u64 table, e;

	memset(r, 0, sizeof(*r));
	if (c->mode != GWALK_LONG4)
		va &= 0xffffffffULL;
	switch (c->mode) {
	case GWALK_NONE:
		r->status = GWALK_OK;
		r->gpa = va;
		r->size = 4 * KiB;
		r->writable = r->user = r->exec = true;
		return;
	case GWALK_32:
		level = 2;
		table = c->cr3 & 0xfffff000ULL;
		break;
	case GWALK_PAE:
		e = c->pdpte[(va >> 30) & 3];
		if (!(e & P)) {
			r->status = GWALK_FAULT;
			r->ec = ec;
			return;
		}
		level = 2;
		table = e & bits(51, 12);
		break;
	case GWALK_LONG4:
		level = 4;
		table = c->cr3 & bits((int)c->maxphyaddr - 1, 12);
		break;
	default:
		r->status = GWALK_BAD_TABLE;
		return;
	}
	for (;; level--) {
		u64 addr = table + ref_index(c->mode, level, va) * (u64)bytes;
		if (!in_ram(addr, bytes)) {
			r->status = GWALK_BAD_TABLE;
			return;
		}
		e = get(mem_before, addr, bytes);
		r->addr[r->n] = addr;
		r->val[r->n++] = e;
		if (!(e & P)) {
			r->status = GWALK_FAULT;
			r->ec = ec;
			return;
		}
		bool page = ref_maps_page(c, level, e);
		if (e & ref_reserved(c, level, page)) {
			r->status = GWALK_FAULT;
			r->ec = ec | PFEC_P | PFEC_RSVD;
			return;
		}
		rw = rw && (e & RW);
		us = us && (e & US);
		xd_any = xd_any || (nx && (e & XD));
		if (page) {
			ref_page(c, level, e, va, r);
			break;
		}
		table = c->mode == GWALK_32 ? e & 0xfffff000ULL : e & bits(51, 12);
	}
	if (!ref_allowed(c, user, write, fetch, implicit, us, rw, xd_any)) {
		memset(r, 0, offsetof(struct ref, n)); /* keep the entries read */
		r->status = GWALK_FAULT;
		r->ec = ec | PFEC_P;
		return;
	}
	r->status = GWALK_OK;
	r->writable = rw;
	r->user = us;
	r->exec = !xd_any;
	r->global = e & G;
	r->dirty = (e & D) || write;
	for (int i = 0; i < r->n; i++) /* 4.8: A in every entry used, D in the leaf of a write */
		r->add[i] = (A | (i == r->n - 1 && write ? D : 0)) & ~r->val[i];
}

/* Table 4-8: the PDPTE registers as MOV CR3 loads them; false for #GP. */
static bool ref_load_pdptes(u64 cr3, u32 m, u64 out[4])
{
	u64 base = cr3 & bits(31, 5), rsvd = bits(2, 1) | bits(8, 5) | bits(63, (int)m);
	for (int i = 0; i < 4; i++) {
		if (!in_ram(base + 8 * (u64)i, 8))
			return false;
		out[i] = get(mem_before, base + 8 * (u64)i, 8);
		if ((out[i] & P) && (out[i] & rsvd))
			return false;
	}
	return true;
}

/* ---- Comparison ---- */

static void compare(const struct gwalk_result *got, const struct ref *want, bool raced)
{
	CHECK(got->status == want->status, "status %d, model %d", got->status, want->status);
	CHECK(got->levels >= 0 && got->levels <= GWALK_MAX_LEVELS, "levels %d", got->levels);
	CHECK(got->levels == want->n, "levels %d, model %d", got->levels, want->n);
	for (int i = 0; i < want->n; i++) {
		u64 mask = raced ? ~A : ~0ULL; /* a restart re-reads entries with A already set */
		CHECK(got->pte_gpa[i] == want->addr[i], "pte_gpa[%d] %#llx, model %#llx", i,
		      got->pte_gpa[i], want->addr[i]);
		CHECK((got->pte[i] & mask) == (want->val[i] & mask), "pte[%d] %#llx, model %#llx", i,
		      got->pte[i], want->val[i]);
	}
	for (int i = want->n; i < GWALK_MAX_LEVELS; i++)
		CHECK(!got->pte_gpa[i] && !got->pte[i], "entry %d filled beyond levels", i);
	CHECK(got->error_code == (want->status == GWALK_FAULT ? want->ec : 0),
	      "error code %#x, model %#x", got->error_code, want->ec);
	CHECK(got->gpa == want->gpa && got->page_size == want->size, "gpa %#llx size %#llx, model "
	      "%#llx %#llx", got->gpa, got->page_size, want->gpa, want->size);
	CHECK(got->writable == want->writable && got->user == want->user &&
	      got->exec == want->exec && got->global == want->global && got->dirty == want->dirty,
	      "w/u/x/g/d %d%d%d%d%d, model %d%d%d%d%d", got->writable, got->user, got->exec,
	      got->global, got->dirty, want->writable, want->user, want->exec, want->global,
	      want->dirty);
	if (got->status == GWALK_OK)
		CHECK(got->gpa < phys_limit(), "gpa %#llx beyond MAXPHYADDR %u", got->gpa, maxphy);
}

/* Memory after the walk: the old contents plus the model's A/D bits, nothing else. */
static void compare_memory(const struct gwalk_result *got, const struct ref *want)
{
	static u8 expect[MEM_SIZE];

	if (want->status != GWALK_OK)
		CHECK(nsets == 0, "%d set_bits calls in a failed walk", nsets);
	for (int i = 0; i < nsets; i++) {
		bool listed = false;
		for (int j = 0; j < got->levels; j++)
			listed |= sets[i].gpa == got->pte_gpa[j];
		CHECK(listed, "set_bits at %#llx, not an entry of the walk", sets[i].gpa);
	}
	memcpy(expect, mem_before, sizeof(expect));
	if (want->status == GWALK_OK)
		for (int i = 0; i < want->n; i++)
			put(expect, want->addr[i], entry_bytes,
			    get(expect, want->addr[i], entry_bytes) | want->add[i]);
	CHECK(!memcmp(expect, mem, sizeof(mem)), "memory after the walk differs from the model");
}

static void reset_calls(void)
{
	nsets = nset_fails = nreads = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum gwalk_mode modes[4] = { GWALK_NONE, GWALK_32, GWALK_PAE, GWALK_LONG4 };
	static const u64 tops[4] = { BIT(52), MEM_SIZE, 1 * MiB, 4 * GiB };
	struct fz f = { data, size };
	struct gwalk_ctx ctx;
	struct gwalk_result got, again;
	struct ref want;

	memset(&ctx, 0, sizeof(ctx));
	u8 b = fz_u8(&f);
	ctx.mode = (b & 0x1c) == 0x1c ? (enum gwalk_mode)1 : modes[b & 3];
	b = fz_u8(&f);
	ctx.wp = b & 1, ctx.nxe = b & 2, ctx.pse = b & 4, ctx.smep = b & 8, ctx.smap = b & 16;
	ctx.ac = b & 32;
	ram_top = tops[b >> 6];
	u32 acc = fz_u8(&f) & 15;
	ctx.maxphyaddr = maxphy = 32 + fz_u8(&f) % 21;
	ctx.cr3 = fz_u64(&f);
	u64 gva = fz_u64(&f);
	entry_bytes = ctx.mode == GWALK_32 ? 4 : 8;

	memset(mem, 0, sizeof(mem));
	while (f.n >= REC_SIZE) {
		u64 off = fz_u16(&f) & ~(u64)(entry_bytes - 1);
		put(mem, off, entry_bytes, fz_u64(&f));
	}
	memcpy(mem_before, mem, sizeof(mem));
	struct gwalk_ops ops = { op_read, op_set_bits, &entry_bytes };

	if (ctx.mode == GWALK_PAE) {
		u64 ref_pdpte[4] = { 0 }, sentinel = 0xdead0000beefULL;
		for (int i = 0; i < 4; i++)
			ctx.pdpte[i] = sentinel;
		int eight = 8;
		struct gwalk_ops ops8 = { op_read, op_set_bits, &eight };
		bool ok = gwalk_load_pdptes(&ops8, ctx.cr3, maxphy, ctx.pdpte);
		bool ref_ok = ref_load_pdptes(ctx.cr3, maxphy, ref_pdpte);
		CHECK(ok == ref_ok, "PDPTE load %d, model %d", ok, ref_ok);
		for (int i = 0; i < 4; i++)
			CHECK(ctx.pdpte[i] == (ok ? ref_pdpte[i] : sentinel),
			      "PDPTE %d = %#llx after a load that returned %d", i, ctx.pdpte[i], ok);
		CHECK(nsets == 0 && !memcmp(mem, mem_before, sizeof(mem)), "PDPTE load wrote memory");
		reset_calls();
		if (!ok)
			return 0;
	}

	ref_walk(&ctx, gva, acc, &want);
	memset(&got, 0xa5, sizeof(got)); /* every field must be written */
	reset_calls();
	enum gwalk_status st = gwalk(&ctx, &ops, gva, acc, &got);
	CHECK(st == GWALK_OK || st == GWALK_FAULT || st == GWALK_BAD_TABLE, "status %d", st);
	CHECK(st == got.status, "returned %d, result says %d", st, got.status);
	compare(&got, &want, nset_fails > 0);
	compare_memory(&got, &want);
	if (st != GWALK_OK)
		return 0;

	/* A/D are in place now: the same walk translates the same way and writes nothing. */
	reset_calls();
	CHECK(gwalk(&ctx, &ops, gva, acc, &again) == GWALK_OK, "second walk failed");
	CHECK(nsets == 0, "second walk made %d set_bits calls", nsets);
	CHECK(again.gpa == got.gpa && again.page_size == got.page_size &&
	      again.levels == got.levels && again.writable == got.writable &&
	      again.user == got.user && again.exec == got.exec && again.global == got.global &&
	      again.dirty == got.dirty, "second walk translates differently");
	return 0;
}
