/* fake_vmx.c - host doubles for what the MMU needs from the VMX layer (vmx/mmio.c, vmx/exit.c):
 * mmio_emulate and mmu_inject_page_fault record their calls; guest_phys_read/write reach
 * guest RAM through the real memslots (guest_memslots), as vmx/mmio.c does. See fake.h. */
#include "unit.h"

#include "fake.h"
#include "mmu/mmu.h"
#include "vmx/mmio.h"

struct fake_mmio_call fake_mmio_calls[FAKE_MAX_CALLS];
int fake_mmio_count;
struct fake_pf_call fake_pf_calls[FAKE_MAX_CALLS];
int fake_pf_count;
u64 fake_phys_reads, fake_phys_writes, fake_phys_failures;

void fake_vmx_reset(void)
{
	memset(fake_mmio_calls, 0, sizeof(fake_mmio_calls));
	memset(fake_pf_calls, 0, sizeof(fake_pf_calls));
	fake_mmio_count = fake_pf_count = 0;
	fake_phys_reads = fake_phys_writes = fake_phys_failures = 0;
}

bool mmio_emulate(u64 gpa, u64 la)
{
	if (fake_mmio_count < FAKE_MAX_CALLS)
		fake_mmio_calls[fake_mmio_count] = (struct fake_mmio_call){ gpa, la };
	fake_mmio_count++;
	return true;
}

bool mmio_emulate_device(u64 gpa, u64 la)
{
	return mmio_emulate(gpa, la); /* recorded the same way: tests check gpa and la */
}

void mmu_inject_page_fault(u64 la, u32 ec)
{
	if (fake_pf_count < FAKE_MAX_CALLS)
		fake_pf_calls[fake_pf_count] = (struct fake_pf_call){ la, ec };
	fake_pf_count++;
}

/* Page by page through the memslots: RAM only, no writes to read-only slots. */
static bool phys_access(u64 gpa, void *buf, u64 len, bool write)
{
	u8 *p = buf;
	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		const struct memslot *m = memslot_lookup(&guest_memslots, gpa >> PAGE_SHIFT);
		if (!m || (write && (m->flags & MEMSLOT_F_READONLY))) {
			fake_phys_failures++;
			return false;
		}
		u8 *host = (u8 *)(uintptr_t)(memslot_gfn_to_hpa(m, gpa >> PAGE_SHIFT) +
					     (gpa & (PAGE_SIZE - 1)));
		if (write)
			memcpy(host, p, chunk);
		else
			memcpy(p, host, chunk);
		gpa += chunk;
		p += chunk;
		len -= chunk;
	}
	return true;
}

bool guest_phys_read(u64 gpa, void *buf, u64 len)
{
	fake_phys_reads++;
	return phys_access(gpa, buf, len, false);
}

bool guest_phys_write(u64 gpa, const void *buf, u64 len)
{
	fake_phys_writes++;
	return phys_access(gpa, (void *)buf, len, true);
}
