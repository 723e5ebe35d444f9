/* pmm.c - first-fit bitmap page allocator (1 bit per 4 KiB page; 1 = used). */
#include "kernel/pmm.h"
#include "kernel/lib.h"

static u64 bitmap[PMM_PAGES / 64];   /* 1 = used */
static u64 reserved[PMM_PAGES / 64]; /* 1 = pmm_reserve()d: never freed by pmm_add_free */
static u64 nfree, ntotal, hint;

static bool used(u64 pfn) { return bitmap[pfn / 64] & BIT(pfn % 64); }

static void set_used(u64 pfn)
{
	if (!used(pfn))
		nfree--;
	bitmap[pfn / 64] |= BIT(pfn % 64);
}

static void set_free(u64 pfn)
{
	if (used(pfn))
		nfree++;
	bitmap[pfn / 64] &= ~BIT(pfn % 64);
}

void pmm_init(void)
{
	memset(bitmap, 0xff, sizeof(bitmap));
	memset(reserved, 0, sizeof(reserved));
	reserved[0] = 1; /* page 0: its address is the "no page" value */
	nfree = ntotal = hint = 0;
}

void pmm_add_free(u64 base, u64 len)
{
	if (base >= PMM_LIMIT || len == 0 || base + len < base)
		return;
	u64 first = ALIGN_UP(base, PAGE_SIZE) / PAGE_SIZE;
	u64 end = MIN(ALIGN_DOWN(base + len, PAGE_SIZE), PMM_LIMIT) / PAGE_SIZE;
	for (u64 p = first; p < end; p++)
		if (used(p) && !(reserved[p / 64] & BIT(p % 64))) {
			set_free(p);
			ntotal++;
		}
}

void pmm_reserve(u64 base, u64 len)
{
	if (base >= PMM_LIMIT || len == 0)
		return;
	u64 last = (base + len < base || base + len > PMM_LIMIT) ? PMM_LIMIT : base + len;
	for (u64 p = base / PAGE_SIZE; p < ALIGN_UP(last, PAGE_SIZE) / PAGE_SIZE; p++) {
		reserved[p / 64] |= BIT(p % 64);
		if (!used(p)) {
			set_used(p);
			ntotal--;
		}
	}
}

u64 pmm_alloc(void)
{
	for (u64 n = 0; n < PMM_PAGES / 64; n++) {
		u64 w = (hint + n) % (PMM_PAGES / 64);
		if (bitmap[w] == ~0ULL)
			continue;
		u64 pfn = w * 64 + (u64)__builtin_ctzll(~bitmap[w]);
		set_used(pfn);
		hint = w;
		return pfn * PAGE_SIZE;
	}
	return 0;
}

u64 pmm_alloc_contig(u64 npages, u64 align)
{
	u64 step = MAX(align, PAGE_SIZE) / PAGE_SIZE;
	if (npages == 0 || (step & (step - 1)) || npages > PMM_PAGES)
		return 0;
	for (u64 start = step; start + npages <= PMM_PAGES; start += step) {
		u64 i = 0;
		while (i < npages && !used(start + i))
			i++;
		if (i == npages) {
			for (i = 0; i < npages; i++)
				set_used(start + i);
			return start * PAGE_SIZE;
		}
		start = ALIGN_DOWN(start + i, step); /* skip past the used page */
	}
	return 0;
}

void pmm_free(u64 pa)
{
	pmm_free_contig(pa, 1);
}

void pmm_free_contig(u64 pa, u64 npages)
{
	for (u64 i = 0; i < npages; i++) {
		u64 pfn = pa / PAGE_SIZE + i;
		if (pfn < PMM_PAGES)
			set_free(pfn);
	}
}

u64 pmm_free_pages(void) { return nfree; }
u64 pmm_total_pages(void) { return ntotal; }
bool pmm_is_free(u64 pa) { return pa < PMM_LIMIT && !used(pa / PAGE_SIZE); }
