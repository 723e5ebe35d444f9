/* idmap.h - the page tables a paging-off guest really runs on: guest-physical = linear, each
 * page backed by guest RAM. The shadow MMU (docs/mmu.md) replaces this with shadow pages. */
#ifndef MMU_IDMAP_H
#define MMU_IDMAP_H

#include "kernel/types.h"

/*
 * Builds 32-bit (non-PAE) page tables with 4 KiB pages mapping guest-physical [0, ram_size)
 * to host-physical [ram_hpa, ram_hpa + ram_size); everything above is not present, so a guest
 * access there faults (#PF, intercepted) instead of reaching host memory.
 * Returns the page directory's host-physical address (the guest's real CR3), or 0 when out of
 * memory. Requires ram_hpa + ram_size <= 4 GiB (32-bit PTEs).
 */
hpa_t idmap_build(hpa_t ram_hpa, u64 ram_size);
/* Pages the map uses (for the memory report). */
u64 idmap_pages(void);

#endif
