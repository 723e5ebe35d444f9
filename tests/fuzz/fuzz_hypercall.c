/* SOURCES: vmx/exit_vmcall.c vmx/trace.c vmx/names.c devices/mmio.c mmu/mmu.c mmu/memslot.c mmu/gwalk.c kernel/fmt.c tests/unit/fake_host.c tests/unit/fake_vmx.c */
/*
 * fuzz_hypercall.c - the hypercall handler (vmx/exit_vmcall.c, handle_vmcall) over the real
 * MMU (mmu/mmu.c, memslot.c, gwalk.c), with the host faked as in tests/unit (fake_host.c:
 * pmm on the heap, log, panic; fake_vmx.c: guest_phys_read/write through the memslots,
 * mmio_emulate and #PF injection recorded). The VMCS accesses handle_vmcall makes are faked
 * here: vmcs_read of GUEST_SS_AR (the CPL) and of what vcpu_skip_instruction (vmx/vcpu.h,
 * inline) reads, and vmcs_write of GUEST_RIP, counted as the RIP advances.
 *
 * Each input is one guest life: 1 MiB of guest RAM as slot 0, a 4-page "device window" as
 * slot 1 (not created by the guest), paging off or 32-bit paging with an identity map of
 * 4 MiB pages (PD at gpa 0x1000), then a sequence of exits, each followed by what the run
 * loop does (mmu_root_for_entry, checked against mmu_load_root, before the next entry):
 *   - a VMCALL with the call number and RBX/RCX/RDX/RSI from the input (long mode or not, CPL
 *     0 or not), checked against a model of docs/hypercalls.md;
 *   - a #PF exit at a linear address from the input, with the error code the CPU would give
 *     for the current shadow entry (RSVD only on an MMIO spte).
 * At the end every slot the guest created is deleted by hypercall and everything is freed.
 *
 * Input: [0] bit 0: 32-bit paging; bit 1: EFER.LMA (64-bit hypercall registers). Then 10-byte
 * exits: [0] kind (see run_exit), [1] id, [2..3] gpa, [4..5] size, [6] flags / error code,
 * [7..8] fault address, [9] more call-number bits. See the *_of() decoders for the values.
 *
 * Invariants (abort on violation):
 *   - mmu_audit() finds no bad spte after every exit and after every root load (and the
 *     MMU's own audit points, enabled here, never panic; no panic at all);
 *   - every VMCALL advances RIP once and returns what the model allows: the version; 0 or the
 *     errno of a rule the request breaks (EPERM for CPL > 0, slot 0, or resizing a slot the
 *     guest did not create; ENOENT for an unknown id; EINVAL for misalignment, size 0, an id
 *     above 65535, an unknown flag, a range that overlaps or passes MAXPHYADDR; ENOMEM past
 *     the 16 MiB / 32-slot backing budget); a statistic (the generation, MMIO_GEN_BITS); 0
 *     from the audit call; -ENOSYS for unknown calls; outside long mode zero-extended from
 *     32 bits;
 *   - a change that succeeds bumps the generation by one; anything else leaves the memslot
 *     set byte-identical; inv_memslots() always holds and slot 0 never changes;
 *   - slot contents: a new slot reads zero; marks written at the first and last 8 bytes of a
 *     slot move with it and survive a resize that keeps them; grown pages read zero;
 *   - at the end: every guest slot deletes, the backings are all freed (no pmm allocation
 *     beyond the setup's), and after a full zap no shadow page and no link is left.
 *
 * Not covered: the VMCS and RIP handling (faked), the exit dispatch (vmx/exit.c), PAE and
 * 4-level guest paging, guest writes to its own page tables. fuzz_hypercall_narrow.c runs
 * this harness on the narrow MMIO-generation build.
 */
#include "fuzz.h"

#include <setjmp.h>

#include "fake.h"
#include "kernel/pmm.h"
#include "arch/asm.h"
#include "mmu/gwalk.h"
#include "mmu/mmu.h"
#include "mmu/spte.h"
#include "vmx/vcpu.h"
#include "vmx/insn.h"
#include "vmx/vmx.h"

#ifndef FUZZ_KNOWN_BUGS
#define FUZZ_KNOWN_BUGS 1 /* see "The model's verdict" below */
#endif

#define RAM_PAGES 256
#define POOL_PAGES 64
#define PHYS_BITS 36
#define MAX_GFN BIT(PHYS_BITS - PAGE_SHIFT)
#define PD_GPA 0x1000ULL
#define WIN_ID 1
#define WIN_GFN 0xfe000ULL
#define WIN_PAGES 4
#define EXIT_SIZE 10
#define MAX_EXITS 64

/* The ABI (docs/hypercalls.md). */
enum { HC_VERSION, HC_ADD, HC_DELETE, HC_MOVE, HC_RESIZE, HC_STAT, HC_AUDIT, HC_ZAP };
#define STAT_GENERATION 6
#define STAT_MMIO_GEN_BITS 14
#define STAT_SP_POOL 15
#define STAT_LINKS_IN_USE 16
#define STAT_COUNT 25 /* 24 exit_ticks is the last named one (docs/hypercalls.md) */
#define BUDGET_PAGES 4096
#define MAX_BACKINGS 32

/* Results as a set: what the model allows. */
#define R_OK BIT(0)
#define R_EPERM BIT(1)
#define R_ENOENT BIT(2)
#define R_ENOMEM BIT(3)
#define R_EINVAL BIT(4)

/* ---- The VMX side handle_vmcall uses ---- */

static struct vcpu v;
struct vcpu vcpu0; /* vcpu_skip_instruction's: RIP 0, 32-bit code */
static int cpl, skips;

u64 vmcs_read(enum vmcs_field f)
{
	switch (f) {
	case GUEST_SS_AR: return 0x93 | ((u64)cpl << 5);
	case VM_EXIT_INSTRUCTION_LEN: return 3; /* VMCALL */
	case GUEST_RFLAGS: return RFLAGS_FIXED;
	case GUEST_INTERRUPTIBILITY: return 0;
	default: CHECK(false, "vmcs_read(%#x) is not faked", (unsigned)f); return 0;
	}
}

void vmcs_write(enum vmcs_field f, u64 value)
{
	CHECK(f == GUEST_RIP, "vmcs_write(%#x) is not faked", (unsigned)f);
	CHECK(value == 3, "RIP %#llx after a 3-byte VMCALL at 0", value);
	skips++;
}

void handle_vmcall(struct vcpu *vc);

/* ---- Model of the guest's slots ---- */

static struct mslot {
	u64 id;
	gfn_t base;
	u64 npages;
	bool guest;    /* created by hypercall: backed from the budget */
	bool readonly;
	bool marked;   /* the first and last 8 bytes hold mark(id, 0/1) */
} slots[MEMSLOT_MAX + 1];
static int nslots;
static u64 budget_used, backings_used;
static u8 *ram, *win;
static u64 setup_allocs;
static jmp_buf panic_jmp;

static int find(u64 id)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].id == id)
			return i;
	return -1;
}

static bool fits(gfn_t base, u64 np)
{
	return np > 0 && base + np >= base && base + np <= MAX_GFN;
}

static bool overlaps(gfn_t base, u64 np, int skip)
{
	for (int i = 0; i < nslots; i++)
		if (i != skip && base < slots[i].base + slots[i].npages && slots[i].base < base + np)
			return true;
	return false;
}

static u64 mark(u64 id, int which)
{
	return 0x6d61726b00000000ULL ^ (id << 8) ^ (u64)which;
}

static u64 read8(u64 gpa)
{
	u64 val = 0;
	CHECK(guest_phys_read(gpa, &val, 8), "guest_phys_read(%#llx) failed inside a slot", gpa);
	return val;
}

static void write_marks(struct mslot *s)
{
	if (s->readonly)
		return;
	u64 a = mark(s->id, 0), b = mark(s->id, 1);
	CHECK(guest_phys_write(s->base << PAGE_SHIFT, &a, 8), "mark write failed");
	CHECK(guest_phys_write(((s->base + s->npages) << PAGE_SHIFT) - 8, &b, 8), "mark write failed");
	s->marked = true;
}

static void check_marks(const struct mslot *s, const char *after)
{
	if (!s->marked)
		return;
	CHECK(read8(s->base << PAGE_SHIFT) == mark(s->id, 0), "slot %#llx: first mark lost after %s",
	      s->id, after);
	CHECK(read8(((s->base + s->npages) << PAGE_SHIFT) - 8) == mark(s->id, 1),
	      "slot %#llx: last mark lost after %s", s->id, after);
}

/* ---- Values from the input ---- */

static u64 id_of(u8 b)
{
	switch (b >> 6) {
	case 2: return (b & 1) ? MEMSLOT_ID_MAX + 1 : MEMSLOT_ID_MAX;
	case 3: /* only a 64-bit register holds this (see id_seen) */
		return FUZZ_KNOWN_BUGS ? 0xffffffffu - (b & 7) : BIT(32) | (b & 7);
	default: return b & 15;
	}
}

static u64 gpa_of(u16 v16)
{
	u64 page = (u64)(v16 & 0xfff) << PAGE_SHIFT;
	switch (v16 >> 12) {
	case 12: return page | 0x800;                          /* misaligned */
	case 13: return (MAX_GFN << PAGE_SHIFT) - page - PAGE_SIZE; /* near MAXPHYADDR */
	case 14: return (WIN_GFN << PAGE_SHIFT) + (page & 0xffff); /* near the device window */
	case 15: return BIT(63) | page;                        /* absurd */
	default: return page;
	}
}

static u64 size_of(u16 v16)
{
	u64 pages = v16 & 0x3ff;
	switch (v16 >> 12) {
	case 12: return (pages << PAGE_SHIFT) | 0x10;  /* misaligned */
	case 13: return (BUDGET_PAGES - (pages & 3)) << PAGE_SHIFT; /* the budget's edge */
	case 14: return ~0ULL << (pages & 63);         /* absurd */
	case 15: return BIT(32) | (pages << PAGE_SHIFT); /* truncates to 32 bits */
	default: return (pages & 0x3f) << PAGE_SHIFT;  /* 0..63 pages */
	}
}

static u64 flags_of(u8 b)
{
	return b & 0x80 ? BIT(b & 63) : b & 1;
}

/* Linear address of a fault: RAM, the guest's slots above it, the window, or MMIO. */
static u64 la_of(u16 v16)
{
	u64 page = v16 & 0x1fff, off = (u64)(v16 >> 13) << 9;
	if (page >= 0x1ff8)
		return ((WIN_GFN + (page & 7)) << PAGE_SHIFT) + off;
	return (page << PAGE_SHIFT) + off;
}

/* ---- The model's verdict on one VMCALL ---- */

/*
 * Known bugs (README.md, "Known bugs"): with FUZZ_KNOWN_BUGS=1 (the Makefile's default) the
 * model expects what the code does today, so that fuzzing goes on past them; with 0 it
 * expects what docs/hypercalls.md says, and the inputs in repro/hypercall/ fail.
 */
/* Bug: hc_delete, hc_move and hc_resize check id == 0 on the 64-bit register but then use
 * (u32)id: in long mode id 2^32 deletes or moves slot 0, the guest's RAM. With the known bugs
 * tolerated id_of() gives no such id. */

/* Bug: hc_add passes (u32)flags to the memslot layer: flag bits 32-63 are dropped, not
 * refused. */
static u64 flags_seen(u64 flags)
{
	return FUZZ_KNOWN_BUGS ? (u32)flags : flags;
}

struct call {
	u64 nr, a[4];
	u32 allowed;    /* R_* set; 0 when want_value is used */
	bool value_call;
	s64 want_value;
};

static u32 verdict_add(u64 id, u64 gpa, u64 size, u64 flags)
{
	u32 errs = 0;
	u64 np = size >> PAGE_SHIFT;
	if (((gpa | size) & (PAGE_SIZE - 1)) || size == 0 || id > MEMSLOT_ID_MAX)
		return R_EINVAL;
	if (budget_used + np > BUDGET_PAGES || backings_used == MAX_BACKINGS)
		errs |= R_ENOMEM;
	if ((flags_seen(flags) & ~(u64)MEMSLOT_F_READONLY) || find(id) >= 0 || nslots == MEMSLOT_MAX ||
	    !fits(gpa >> PAGE_SHIFT, np) || overlaps(gpa >> PAGE_SHIFT, np, -1))
		errs |= R_EINVAL;
	return errs ? errs : R_OK;
}

static u32 verdict_delete(u64 id)
{
	if (id == 0)
		return R_EPERM;
	return find(id) < 0 ? R_ENOENT : R_OK;
}

static u32 verdict_move(u64 id, u64 gpa)
{
	int i = find(id);
	if (id == 0)
		return R_EPERM;
	if (i < 0)
		return R_ENOENT;
	if ((gpa & (PAGE_SIZE - 1)) || !fits(gpa >> PAGE_SHIFT, slots[i].npages) ||
	    overlaps(gpa >> PAGE_SHIFT, slots[i].npages, i))
		return R_EINVAL;
	return R_OK;
}

/* The budget counts the old backing while the new one is filled, so a resize that fits the
 * budget only once the old backing is gone may be refused with ENOMEM. */
static u32 verdict_resize(u64 id, u64 size)
{
	int i = find(id);
	u64 np = size >> PAGE_SHIFT;
	if (id == 0 || (i >= 0 && !slots[i].guest))
		return R_EPERM;
	if (i < 0)
		return R_ENOENT;
	if ((size & (PAGE_SIZE - 1)) || size == 0)
		return R_EINVAL;
	u32 errs = 0;
	if (budget_used - slots[i].npages + np > BUDGET_PAGES)
		errs |= R_ENOMEM;
	if (!fits(slots[i].base, np) || overlaps(slots[i].base, np, i))
		errs |= R_EINVAL;
	if (errs)
		return errs;
	return budget_used + np > BUDGET_PAGES ? R_OK | R_ENOMEM : R_OK;
}

static void verdict(struct call *c)
{
	c->value_call = false;
	c->allowed = 0;
	if (cpl) {
		c->allowed = R_EPERM;
		return;
	}
	switch (c->nr) {
	case HC_VERSION: c->value_call = true; c->want_value = 1; return;
	case HC_ADD: c->allowed = verdict_add(c->a[0], c->a[1], c->a[2], c->a[3]); return;
	case HC_DELETE: c->allowed = verdict_delete(c->a[0]); return;
	case HC_MOVE: c->allowed = verdict_move(c->a[0], c->a[1]); return;
	case HC_RESIZE: c->allowed = verdict_resize(c->a[0], c->a[1]); return;
	case HC_STAT:
		c->value_call = true;
		if (c->a[0] >= STAT_COUNT)
			c->want_value = -22;
		else if (c->a[0] == STAT_GENERATION)
			c->want_value = (s64)mmu_generation();
		else if (c->a[0] == STAT_MMIO_GEN_BITS)
			c->want_value = MMIO_GEN_BITS;
		else if (c->a[0] == STAT_SP_POOL)
			c->want_value = (s64)mmu_stats.sp_pool;
		else if (c->a[0] == STAT_LINKS_IN_USE)
			c->want_value = (s64)mmu_links_used();
		else
			c->want_value = -1000; /* any value >= 0 */
		return;
	case HC_AUDIT: case HC_ZAP: c->value_call = true; c->want_value = 0; return;
	default: c->value_call = true; c->want_value = -38; return;
	}
}

static u32 result_bit(s64 r)
{
	switch (r) {
	case 0: return R_OK;
	case -1: return R_EPERM;
	case -2: return R_ENOENT;
	case -12: return R_ENOMEM;
	case -22: return R_EINVAL;
	default: return 0;
	}
}

/* ---- Running exits ---- */

/* Any panic (an audit point included) is a finding. */
#define GUARDED(stmt)                                                                      \
	do {                                                                               \
		if (setjmp(panic_jmp))                                                     \
			CHECK(0, "panic: %s", fake_panic_msg);                             \
		fake_panic_jmp = &panic_jmp;                                               \
		stmt;                                                                      \
		fake_panic_jmp = NULL;                                                     \
	} while (0)

static void audit(const char *where)
{
	u64 bad;
	GUARDED(bad = mmu_audit(where));
	CHECK(bad == 0, "audit %s: %llu bad sptes; last: %s", where, bad, fake_last_err);
}

static void check_slot0(void)
{
	const struct memslot *m = memslot_by_id(&guest_memslots, 0);
	CHECK(m && m->base_gfn == 0 && m->npages == RAM_PAGES && m->hpa == (u64)(uintptr_t)ram &&
	      m->flags == 0, "slot 0 (guest RAM) changed or vanished");
}

/* Model update after a memslot call that returned 0. */
static void apply(const struct call *c)
{
	int i = find(c->a[0]);
	struct mslot *s;
	u64 old;
	switch (c->nr) {
	case HC_ADD:
		s = &slots[nslots++];
		*s = (struct mslot){ .id = c->a[0], .base = c->a[1] >> PAGE_SHIFT,
				     .npages = c->a[2] >> PAGE_SHIFT, .guest = true,
				     .readonly = c->a[3] & MEMSLOT_F_READONLY };
		budget_used += s->npages;
		backings_used++;
		CHECK(read8(s->base << PAGE_SHIFT) == 0 &&
		      read8(((s->base + s->npages) << PAGE_SHIFT) - 8) == 0, "new slot not zeroed");
		write_marks(s);
		break;
	case HC_DELETE:
		if (slots[i].guest) {
			budget_used -= slots[i].npages;
			backings_used--;
		}
		slots[i] = slots[--nslots];
		break;
	case HC_MOVE:
		slots[i].base = c->a[1] >> PAGE_SHIFT;
		check_marks(&slots[i], "move");
		break;
	case HC_RESIZE:
		s = &slots[i];
		old = s->npages;
		budget_used += (c->a[1] >> PAGE_SHIFT) - old;
		s->npages = c->a[1] >> PAGE_SHIFT;
		if (s->marked) {
			CHECK(read8(s->base << PAGE_SHIFT) == mark(s->id, 0), "first mark lost by resize");
			if (s->npages >= old)
				CHECK(read8((s->base + old) * PAGE_SIZE - 8) == mark(s->id, 1),
				      "last mark lost by growing");
			if (s->npages > old)
				CHECK(read8((s->base + s->npages) * PAGE_SIZE - 8) == 0,
				      "grown pages not zeroed");
		}
		write_marks(s);
		break;
	}
}

static void vmcall(struct call *c, bool lma)
{
	static struct memslot_set before;
	u64 mask = lma ? ~0ULL : 0xffffffffULL;
	c->nr &= mask;
	for (int i = 0; i < 4; i++)
		c->a[i] &= mask;
	verdict(c);
	memcpy(&before, &guest_memslots, sizeof(before));
	v.efer = lma ? EFER_LMA : 0;
	v.regs.gpr[GPR_RAX] = c->nr;
	v.regs.gpr[GPR_RBX] = c->a[0];
	v.regs.gpr[GPR_RCX] = c->a[1];
	v.regs.gpr[GPR_RDX] = c->a[2];
	v.regs.gpr[GPR_RSI] = c->a[3];
	int skips_before = skips;
	GUARDED(handle_vmcall(&v));
	CHECK(skips == skips_before + 1, "RIP advanced %d times", skips - skips_before);

	u64 rax = v.regs.gpr[GPR_RAX];
	s64 r = lma ? (s64)rax : (s64)(s32)(u32)rax;
	CHECK(lma || rax <= 0xffffffffULL, "RAX %#llx not zero-extended outside long mode", rax);
	if (c->value_call) {
		s64 want = c->want_value;
		if (!lma && want >= 0)
			want = (s64)(s32)(u32)want;
		if (want == -1000)
			CHECK(r >= 0, "statistic %llu returned %lld", c->a[0], r);
		else
			CHECK(r == want, "call %#llx (%#llx) returned %lld, expected %lld", c->nr,
			      c->a[0], r, want);
	} else {
		CHECK(result_bit(r) & c->allowed, "call %llu (%#llx, %#llx, %#llx, %#llx) cpl %d "
		      "returned %lld, model allows %#x", c->nr, c->a[0], c->a[1], c->a[2], c->a[3],
		      cpl, r, c->allowed);
	}
	bool changed = !cpl && r == 0 && c->nr >= HC_ADD && c->nr <= HC_RESIZE;
	if (changed)
		CHECK(guest_memslots.generation == before.generation + 1, "generation %#llx -> %#llx",
		      before.generation, guest_memslots.generation);
	else
		CHECK(!memcmp(&guest_memslots, &before, sizeof(before)),
		      "call %llu returned %lld and changed the memslots", c->nr, r);
	CHECK(inv_memslots(&guest_memslots), "inv_memslots fails");
	check_slot0();
	if (changed)
		apply(c);
	CHECK(guest_memslots.n == nslots, "%d memslots, model %d", guest_memslots.n, nslots);
}

/* A #PF exit with the error code the CPU gives for the current shadow entry. */
static void page_fault(u64 la, u8 bits)
{
	u32 ec = bits & (PFEC_W | PFEC_U | PFEC_I);
	u64 sptes[4] = { 0 }, bad = 0;
	int n;
	GUARDED(n = mmu_shadow_walk(la, sptes));
	if (n == 3 && is_mmio_spte(sptes[2]))
		ec |= PFEC_P | PFEC_RSVD;
	else if (n == 3 && is_shadow_present(sptes[2]))
		ec |= PFEC_P;
	GUARDED(fake_fault(la, ec, &bad));
}

/*
 * kind (b0 & 7): 0, 6: page fault; 1-4: memslot calls; 5: call number (b0 >> 3) | b9 << 5:
 * 0 and 5-7 and unknown ones; 7: a memslot call (b0 >> 3 & 3) + 1 at CPL 1-3.
 */
/* What the run loop does before an entry (vmx/vcpu.c): the inline test of mmu_entry_root,
 * else mmu_before_entry (a batch of reclaim, the root). The root it gives must be the one
 * mmu_load_root would: a stale mmu_entry_root would run the guest on an old root. */
static void entry_root(void)
{
	hpa_t r = 0, want = 0;
	GUARDED(r = mmu_root_for_entry());
	GUARDED(want = mmu_load_root());
	CHECK(r == want, "mmu_root_for_entry %#llx, mmu_load_root %#llx", r, want);
}

static void run_exit(struct fz *f, bool lma)
{
	u8 kind = fz_u8(f), idb = fz_u8(f);
	u16 g = fz_u16(f), sz = fz_u16(f);
	u8 fl = fz_u8(f);
	u16 lav = fz_u16(f);
	u8 hi = fz_u8(f);
	struct call c = { .a = { id_of(idb), gpa_of(g), size_of(sz), flags_of(fl) } };

	entry_root(); /* VM entry */
	cpl = 0;
	switch (kind & 7) {
	case 0:
	case 6:
		page_fault(la_of(lav), fl);
		break;
	case 5:
		c.nr = (u64)(kind >> 3) | ((u64)hi << 5);
		if (c.nr == HC_STAT)
			c.a[0] = idb & 31;
		vmcall(&c, lma);
		break;
	case 7:
		cpl = 1 + (hi % 3);
		c.nr = ((kind >> 3) & 3) + 1;
		vmcall(&c, lma);
		break;
	default:
		c.nr = kind & 7;
		if (c.nr == HC_MOVE || c.nr == HC_RESIZE) /* their second argument is RCX */
			c.a[1] = c.nr == HC_MOVE ? gpa_of(g) : size_of(sz);
		vmcall(&c, lma);
	}
	audit("after exit");
	entry_root();
	audit("after root load");
	for (int i = 0; i < nslots; i++)
		check_marks(&slots[i], "exit");
}

/* ---- One guest life ---- */

static void setup(bool paging)
{
	fake_vmx_reset();
	fake_log_reset();
	mmu_audit_enabled = true;
	memset(&v, 0, sizeof(v));
	nslots = 0;
	budget_used = backings_used = 0;
	ram = (u8 *)(uintptr_t)pmm_alloc_contig(RAM_PAGES, PAGE_SIZE);
	win = (u8 *)(uintptr_t)pmm_alloc_contig(WIN_PAGES, PAGE_SIZE);
	CHECK(ram && win, "out of memory");
	GUARDED(CHECK(mmu_init(POOL_PAGES, PHYS_BITS, &(struct mmu_cpu){ cpu_maxphyaddr(), cpu_has_nx(), true }), "mmu_init failed"));
	u64 pool = mmu_stats.sp_pool;
	memset(&mmu_stats, 0, sizeof(mmu_stats));
	mmu_stats.sp_pool = pool;
	struct mmu_paging p = { 0 };
	if (paging) { /* 32-bit paging, every PDE a 4 MiB identity page, user and writable */
		u32 *pd = (u32 *)(ram + PD_GPA);
		for (u32 i = 0; i < 1024; i++)
			pd[i] = (i << 22) | 0x87;
		p = (struct mmu_paging){ .pg = true, .pse = true, .wp = true, .cr3 = PD_GPA };
	}
	GUARDED(CHECK(mmu_set_guest_paging(&p) == 0, "mmu_set_guest_paging failed"));
	struct memslot s0 = { .id = 0, .base_gfn = 0, .npages = RAM_PAGES,
			      .hpa = (u64)(uintptr_t)ram };
	struct memslot s1 = { .id = WIN_ID, .base_gfn = WIN_GFN, .npages = WIN_PAGES,
			      .hpa = (u64)(uintptr_t)win };
	const char *why = NULL;
	GUARDED(CHECK(!mmu_memslot_add(&s0, &why) && !mmu_memslot_add(&s1, &why), "setup: %s", why));
	slots[nslots++] = (struct mslot){ .id = 0, .base = 0, .npages = RAM_PAGES };
	slots[nslots++] = (struct mslot){ .id = WIN_ID, .base = WIN_GFN, .npages = WIN_PAGES };
	write_marks(&slots[1]);
	setup_allocs = fake_pmm_outstanding();
}

static void teardown(bool lma)
{
	for (int i = nslots - 1; i >= 0; i--) {
		if (!slots[i].guest)
			continue;
		struct call c = { .nr = HC_DELETE, .a = { slots[i].id } };
		cpl = 0;
		vmcall(&c, lma);
	}
	CHECK(budget_used == 0 && backings_used == 0, "model budget left");
	CHECK(fake_pmm_outstanding() == setup_allocs, "%llu pmm allocations after deleting every "
	      "guest slot, %llu at setup: backing leaked", fake_pmm_outstanding(), setup_allocs);
	GUARDED(mmu_zap_all_fast());
	for (int i = 0; i < 100000 && mmu_stats.sp_in_use; i++)
		GUARDED(mmu_reclaim());
	CHECK(mmu_stats.sp_in_use == 0 && mmu_links_used() == 0, "%llu shadow pages and %llu "
	      "links left after a full zap", mmu_stats.sp_in_use, mmu_links_used());
	fake_pmm_free_all();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	setenv("CMOCKA_TEST_ABORT", "1", 0); /* a fake's fail_msg() aborts outside cmocka */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	u8 hdr = fz_u8(&f);
	bool paging = hdr & 1, lma = hdr & 2;
	setup(paging);
	for (int n = 0; f.n >= EXIT_SIZE && n < MAX_EXITS; n++)
		run_exit(&f, lma);
	teardown(lma);
	return 0;
}
