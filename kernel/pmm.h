/* pmm.h - physical page allocator: a bitmap over the identity-mapped low 4 GiB. */
#ifndef KERNEL_PMM_H
#define KERNEL_PMM_H

#include "arch/types.h"

#define PMM_LIMIT (4 * GiB) /* only memory the boot page tables map is managed */
#define PMM_PAGES (PMM_LIMIT / PAGE_SIZE)

/*
 * Invariants: a page is free only if a memory map said "available" for all of it and no
 * pmm_reserve() covered any of it; the low 1 MiB, the hypervisor image, the boot modules and
 * the boot information are reserved by kmain before the first allocation.
 */
void pmm_init(void);                     /* everything used: nothing is free yet */
void pmm_add_free(u64 base, u64 len);    /* pages fully inside [base, base+len) become free */
void pmm_reserve(u64 base, u64 len);     /* pages touching [base, base+len) become used */
u64 pmm_alloc(void);                     /* one page, or 0 when none is left */
/* npages contiguous pages aligned to align bytes (a power of two >= 4 KiB), or 0. */
u64 pmm_alloc_contig(u64 npages, u64 align);
void pmm_free(u64 pa);
void pmm_free_contig(u64 pa, u64 npages);
u64 pmm_free_pages(void);
u64 pmm_total_pages(void);               /* pages that were ever free */
bool pmm_is_free(u64 pa);

#endif
