/* fake_vmx.c - host doubles for what the MMU needs from the VMX layer (vmx/mmio.c, vmx/exit.c):
 * mmio_emulate and mmu_inject_page_fault record their calls; a test may have mmio_emulate
 * run a real emulation (fake_emulate_hook). See fake.h. */
#include "unit.h"

#include "fake.h"
#include "mmu/mmu.h"
#include "vmx/mmio.h"

struct fake_mmio_call fake_mmio_calls[FAKE_MAX_CALLS];
int fake_mmio_count;
struct fake_pf_call fake_pf_calls[FAKE_MAX_CALLS];
int fake_pf_count;
bool (*fake_emulate_hook)(u64 gpa, u64 la);

void fake_vmx_reset(void)
{
	memset(fake_mmio_calls, 0, sizeof(fake_mmio_calls));
	memset(fake_pf_calls, 0, sizeof(fake_pf_calls));
	fake_mmio_count = fake_pf_count = 0;
	fake_emulate_hook = NULL;
}

bool mmio_emulate(u64 gpa, u64 la)
{
	if (fake_mmio_count < FAKE_MAX_CALLS)
		fake_mmio_calls[fake_mmio_count] = (struct fake_mmio_call){ gpa, la };
	fake_mmio_count++;
	return fake_emulate_hook ? fake_emulate_hook(gpa, la) : true;
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

