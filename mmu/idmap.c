/* idmap.c - identity map of guest RAM for a guest with paging off. */
#include "mmu/idmap.h"
#include "kernel/lib.h"
#include "kernel/pmm.h"

#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTES_PER_TABLE 1024

static u64 npages;

static u32 *alloc_table(void)
{
	hpa_t pa = pmm_alloc();
	if (!pa)
		return NULL;
	npages++;
	memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
	return (u32 *)(uintptr_t)pa;
}

hpa_t idmap_build(hpa_t ram_hpa, u64 ram_size)
{
	if (ram_hpa + ram_size > 4 * GiB || (ram_hpa & (PAGE_SIZE - 1)))
		return 0;
	u32 *pd = alloc_table();
	if (!pd)
		return 0;
	for (u64 gpa = 0; gpa < ram_size; gpa += PAGE_SIZE) {
		u64 pdi = gpa >> 22, pti = (gpa >> 12) & (PTES_PER_TABLE - 1);
		if (!(pd[pdi] & PTE_P)) {
			u32 *pt = alloc_table();
			if (!pt)
				return 0;
			pd[pdi] = (u32)(uintptr_t)pt | PTE_P | PTE_RW | PTE_US;
		}
		u32 *pt = (u32 *)(uintptr_t)(pd[pdi] & ~0xfffu);
		pt[pti] = (u32)(ram_hpa + gpa) | PTE_P | PTE_RW | PTE_US;
	}
	return (hpa_t)(uintptr_t)pd;
}

u64 idmap_pages(void)
{
	return npages;
}
