/* exit_vmcall.c - the hypercall ABI (docs/hypercalls.md): VMCALL with the call number in
 * EAX/RAX, arguments in RBX, RCX, RDX, RSI; the result comes back in RAX (negative errno).
 * Only CPL 0 may call, but for the read-only statistics (hc_allowed, vmx/hypercall.h). */
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "vmx/hypercall.h"
#include "vmx/trace.h"
#include "devices/mmio.h"
#include "mmu/mmu.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/pmm.h"
#include "arch/x86.h"

#define HC_ABI_VERSION 1

#define HV_EPERM 1
#define HV_ENOENT 2
#define HV_ENOMEM 12
#define HV_EINVAL 22
#define HV_ENOSYS 38

#define GUEST_SLOT_ID 0             /* guest RAM: the guest may not remove it */
#define HC_BACKING_BUDGET (4096ULL) /* pages of backing hypercalls may allocate (16 MiB) */
#define HC_MAX_BACKINGS 32

/* Host memory behind memslots the guest created: freed when it deletes them. */
static struct backing {
	u32 id;
	hpa_t hpa;
	u64 npages;
	bool used;
} backings[HC_MAX_BACKINGS];
static u64 backing_pages;

static struct backing *backing_of(u32 id)
{
	for (int i = 0; i < HC_MAX_BACKINGS; i++)
		if (backings[i].used && backings[i].id == id)
			return &backings[i];
	return NULL;
}

/* replacing: pages of backing about to be freed (a resize), not counted against the budget */
static hpa_t backing_alloc(u64 npages, u64 replacing)
{
	if (npages == 0 || backing_pages - replacing + npages > HC_BACKING_BUDGET)
		return 0;
	hpa_t pa = pmm_alloc_contig(npages, PAGE_SIZE);
	if (pa) {
		memset((void *)(uintptr_t)pa, 0, npages * PAGE_SIZE);
		backing_pages += npages;
	}
	return pa;
}

static void backing_free(hpa_t pa, u64 npages)
{
	pmm_free_contig(pa, npages);
	backing_pages -= npages;
}

static s64 refused(const char *call, const char *why)
{
	pr_warn("hypercall %s refused: %s", call, why);
	return -HV_EINVAL;
}

/* RAM over a device window would hide the device from the guest: refused. */
static bool over_device(const char *call, u64 gpa, u64 size)
{
	const char *dev = mmio_device_overlapping(gpa, size);
	if (dev)
		pr_warn("hypercall %s refused: [%#llx, %#llx) overlaps the %s window", call, gpa,
			gpa + size, dev);
	return dev != NULL;
}

static s64 hc_add(u64 id, u64 gpa, u64 size, u64 flags)
{
	const char *why;
	struct backing *b = NULL;
	if ((gpa | size) & (PAGE_SIZE - 1) || size == 0 || id > MEMSLOT_ID_MAX)
		return refused("memslot_add", "gpa/size not page-aligned, size 0 or bad id");
	if (gpa + size < gpa || over_device("memslot_add", gpa, size))
		return -HV_EINVAL;
	for (int i = 0; i < HC_MAX_BACKINGS && !b; i++)
		if (!backings[i].used)
			b = &backings[i];
	hpa_t pa = b ? backing_alloc(size / PAGE_SIZE, 0) : 0;
	if (!pa) {
		pr_warn("hypercall memslot_add: no backing for %llu KiB (budget %llu KiB)", size / KiB,
			HC_BACKING_BUDGET * 4);
		return -HV_ENOMEM;
	}
	struct memslot m = { .id = (u32)id, .flags = (u32)flags, .base_gfn = gpa >> PAGE_SHIFT,
			     .npages = size / PAGE_SIZE, .hpa = pa };
	if (mmu_memslot_add(&m, &why)) {
		backing_free(pa, size / PAGE_SIZE);
		return refused("memslot_add", why);
	}
	*b = (struct backing){ (u32)id, pa, size / PAGE_SIZE, true };
	return 0;
}

static s64 hc_delete(u64 id)
{
	const char *why;
	struct backing *b = backing_of((u32)id);
	if (id == GUEST_SLOT_ID)
		return -HV_EPERM;
	if (mmu_memslot_delete((u32)id, &why))
		return memslot_by_id(&guest_memslots, (u32)id) ? refused("memslot_delete", why)
							       : -HV_ENOENT;
	if (b) {
		backing_free(b->hpa, b->npages);
		b->used = false;
	}
	return 0;
}

static s64 hc_move(u64 id, u64 gpa)
{
	const char *why;
	if (id == GUEST_SLOT_ID)
		return -HV_EPERM;
	const struct memslot *m = memslot_by_id(&guest_memslots, (u32)id);
	if (!m)
		return -HV_ENOENT;
	if (gpa & (PAGE_SIZE - 1))
		return refused("memslot_move", "gpa not page-aligned");
	u64 size = m->npages * PAGE_SIZE;
	if (gpa + size < gpa || over_device("memslot_move", gpa, size))
		return -HV_EINVAL;
	return mmu_memslot_move((u32)id, gpa >> PAGE_SHIFT, &why) ? refused("memslot_move", why) : 0;
}

/* Resizing needs new backing: allocate, copy what both sizes share, switch, free the old. */
static s64 hc_resize(u64 id, u64 size)
{
	const char *why;
	struct backing *b = backing_of((u32)id);
	const struct memslot *m = memslot_by_id(&guest_memslots, (u32)id);
	if (id == GUEST_SLOT_ID || (m && !b))
		return -HV_EPERM; /* only slots the guest created */
	if (!b)
		return -HV_ENOENT;
	if ((size & (PAGE_SIZE - 1)) || size == 0)
		return refused("memslot_resize", "size 0 or not page-aligned");
	u64 base = m->base_gfn << PAGE_SHIFT;
	if (base + size < base || over_device("memslot_resize", base, size))
		return -HV_EINVAL;
	u64 np = size / PAGE_SIZE;
	hpa_t pa = backing_alloc(np, b->npages);
	if (!pa)
		return -HV_ENOMEM;
	memcpy((void *)(uintptr_t)pa, (void *)(uintptr_t)b->hpa, MIN(np, b->npages) * PAGE_SIZE);
	if (mmu_memslot_resize((u32)id, np, pa, &why)) {
		backing_free(pa, np);
		return refused("memslot_resize", why);
	}
	backing_free(b->hpa, b->npages);
	b->hpa = pa;
	b->npages = np;
	return 0;
}

static s64 hc_stat(struct vcpu *v, u64 index)
{
	const struct mmu_stats *s = &mmu_stats;
	switch (index) {
	case STAT_SHADOW_FAULTS: return (s64)s->shadow_faults;
	case STAT_GUEST_FAULTS: return (s64)s->guest_faults;
	case STAT_MMIO_FAST: return (s64)s->mmio_fast;
	case STAT_MMIO_SLOW: return (s64)s->mmio_slow;
	case STAT_MMIO_SPTES: return (s64)s->mmio_sptes;
	case STAT_MEMSLOT_CHANGES: return (s64)s->memslot_changes;
	case STAT_GENERATION: return (s64)mmu_generation();
	case STAT_GEN_WRAPS: return (s64)s->gen_wraps;
	case STAT_ZAP_ALL: return (s64)s->zap_all;
	case STAT_OBSOLETE_FREED: return (s64)s->obsolete_freed;
	case STAT_SP_IN_USE: return (s64)s->sp_in_use;
	case STAT_SP_CREATED: return (s64)s->sp_created;
	case STAT_SP_REUSED: return (s64)s->sp_reused;
	case STAT_EXITS: return (s64)v->exits_total;
	case STAT_MMIO_GEN_BITS: return mmu_mmio_gen_bits();
	case STAT_SP_POOL: return (s64)s->sp_pool;
	case STAT_LINKS_IN_USE: return (s64)mmu_links_used();
	case STAT_FREE_PAGES: return (s64)pmm_free_pages();
	case STAT_INTR_INJECTED: return (s64)v->intr_injected;
	case STAT_TRACKED_WRITES: return (s64)s->tracked_writes;
	case STAT_RAM_EMULATIONS: return (s64)v->ram_emulations;
	case STAT_PTE_UPDATES: return (s64)s->pte_updates;
	case STAT_FLOOD_ZAPS: return (s64)s->flood_zaps;
	case STAT_PREFETCHED: return (s64)s->prefetched;
	case STAT_EXIT_TICKS: {
		u64 t = 0;
		for (u32 r = 0; r <= EXIT_REASON_MAX; r++)
			t += trace_cost_of(r)->total;
		return (s64)(t & ~BIT(63));
	}
	default:
		if (index >= STAT_EXIT_REASON && index <= STAT_EXIT_REASON + EXIT_REASON_MAX)
			return (s64)v->exits[index - STAT_EXIT_REASON];
		return -HV_EINVAL;
	}
}

static s64 dispatch(struct vcpu *v, u64 nr, const u64 *a)
{
	/* Ids and flags are checked at full width before anything truncates them (an id of
	 * 2^32 must not become slot 0). */
	if (nr == HC_MEMSLOT_ADD && a[0] > MEMSLOT_ID_MAX)
		return refused("memslot_add", "id above 65535");
	if (nr > HC_MEMSLOT_ADD && nr <= HC_MEMSLOT_RESIZE && a[0] > MEMSLOT_ID_MAX)
		return -HV_ENOENT; /* no slot can have such an id */
	if (nr == HC_MEMSLOT_ADD && (a[3] & ~(u64)MEMSLOT_F_ALL))
		return refused("memslot_add", "unknown flag");
	switch (nr) {
	case HC_GET_VERSION: return HC_ABI_VERSION;
	case HC_MEMSLOT_ADD: return hc_add(a[0], a[1], a[2], a[3]);
	case HC_MEMSLOT_DELETE: return hc_delete(a[0]);
	case HC_MEMSLOT_MOVE: return hc_move(a[0], a[1]);
	case HC_MEMSLOT_RESIZE: return hc_resize(a[0], a[1]);
	case HC_GET_STAT: return hc_stat(v, a[0]);
	case HC_AUDIT: return (s64)mmu_audit("hypercall");
	case HC_ZAP_ALL: mmu_zap_all_fast(); return 0;
	default:
		pr_debug("hypercall %#llx: unknown, -ENOSYS", nr);
		return -HV_ENOSYS;
	}
}

void handle_vmcall(struct vcpu *v)
{
	bool wide = v->efer & EFER_LMA;
	u64 mask = wide ? ~0ULL : 0xffffffffULL;
	u64 nr = v->regs.gpr[GPR_RAX] & mask;
	u64 args[4] = { v->regs.gpr[GPR_RBX] & mask, v->regs.gpr[GPR_RCX] & mask,
			v->regs.gpr[GPR_RDX] & mask, v->regs.gpr[GPR_RSI] & mask };
	u32 cpl = (u32)AR_DPL(vmcs_read(GUEST_SS_AR));
	s64 ret = hc_allowed(cpl, nr) ? dispatch(v, nr, args) : -HV_EPERM;
	vcpu_set_gpr(v, GPR_RAX, (u64)ret);
	vcpu_skip_instruction();
}
