/* fake_vmx.c - host doubles for the VMX side of the MMU: fake_fault() does with
 * mmu_page_fault's verdict what vmx/exit.c does, recording the emulations and #PF injections
 * instead (a test may have an emulation really run: fake_emulate_hook). See fake.h. */
#include "unit.h"

#include "fake.h"
#include "mmu/mmu.h"

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

/* What vmx/exit.c does with the MMU's verdict, recorded instead of done. */
enum mmu_fault fake_fault(u64 la, u32 ec, u64 *bad_gpa)
{
	struct mmu_verdict r = mmu_page_fault(la, ec);
	switch (r.what) {
	case MMU_EMULATE:
	case MMU_EMULATE_DEVICE:
	case MMU_EMULATE_PT_WRITE:
		if (fake_mmio_count < FAKE_MAX_CALLS)
			fake_mmio_calls[fake_mmio_count] = (struct fake_mmio_call){ r.gpa, la };
		fake_mmio_count++;
		if (fake_emulate_hook)
			fake_emulate_hook(r.gpa, la);
		return MMU_HANDLED;
	case MMU_GUEST_FAULT:
		if (fake_pf_count < FAKE_MAX_CALLS)
			fake_pf_calls[fake_pf_count] = (struct fake_pf_call){ la, r.error_code };
		fake_pf_count++;
		return MMU_GUEST_FAULT;
	case MMU_BAD_TABLE:
		*bad_gpa = r.gpa;
		return MMU_BAD_TABLE;
	default:
		return MMU_HANDLED;
	}
}
