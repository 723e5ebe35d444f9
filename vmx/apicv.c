/* apicv.c - VMX APIC virtualization (SDM Vol. 3C ch. 29; docs/vmx.md "APIC virtualization").
 *
 * The model's register page (devices/lapic.c lapic_regs) is the virtual-APIC page. With "use
 * TPR shadow", "virtualize APIC accesses", "APIC-register virtualization" and "virtual-interrupt
 * delivery" the CPU, without an exit:
 *   - answers the guest's reads of the xAPIC registers it lists (29.4.2) from the page;
 *   - takes TPR writes (MMIO or CR8) and EOIs into the page (VTPR; EOI virtualization clears
 *     the VISR bit and moves SVI);
 *   - delivers the highest pending vector (RVI) when the guest can take it (VIRR -> VISR);
 *   - sends a fixed IPI to the APIC's own ID into VIRR (self-IPI virtualization).
 * What is left comes here: a write the model must act on (APIC-write exit, trap-like: the value
 * is already in the page), an access the CPU does not virtualize (APIC-access exit, fault-like:
 * the timer's current count, PPR, sizes other than 32 bits: emulated as before), and the EOI of
 * a level-triggered vector (EOI-induced exit: the I/O APIC needs it). The hypervisor's side
 * changes IRR (device interrupts) only in exits, and apicv_sync then sets RVI before the entry.
 *
 * Without EPT the CPU recognizes an APIC access by its physical address (29.4.6): the shadow
 * maps the guest's APIC window to the APIC-access page (mmu_set_apic_access), only in xAPIC
 * mode. In x2APIC mode the window is MMIO again, and "virtualize x2APIC mode" with the MSR
 * bitmaps does the same for the x2APIC MSRs (x2apic_virtualization, below).
 */
#include "vmx/apicv.h"
#include "vmx/insn.h"
#include "vmx/vmx.h"
#include "vmx/caps.h"
#include "vmx/vectoring.h"
#include "devices/irq.h"
#include "devices/lapic.h"
#include "mmu/mmu.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/pmm.h"

static hpa_t access_page;          /* the APIC-access page: its contents are never used */
static u8 *msr_bitmap;             /* MSR bitmaps (x2APIC virtualization), NULL without */
static u32 eoi_exit_tmr = ~0u;     /* lapic_tmr_changes() the EOI-exit bitmap was built at */

u32 apicv_proc_controls(const struct vcpu *v)
{
	return !v->apicv ? 0 : CPU_TPR_SHADOW | (v->apicv_x2 ? CPU_USE_MSR_BITMAPS : 0);
}

u32 apicv_secondary_controls(const struct vcpu *v)
{
	return v->apicv ? CPU2_VIRTUALIZE_APIC_ACCESSES | CPU2_APIC_REGISTER_VIRT |
			  CPU2_VIRTUAL_INTR_DELIVERY : 0;
}

/*
 * x2APIC mode (SDM Vol. 3C 29.5): with "virtualize x2APIC mode" and the MSR bitmaps passing
 * them, RDMSR of the registers the page holds as the model would answer (ID, version, TPR,
 * LDR, SVR, ISR, TMR, IRR, ESR, the six LVTs, initial count, divide) reads the page, and
 * WRMSR of TPR, EOI and SELF IPI is virtualized (the CPU checks their reserved bits: #GP).
 * Everything else keeps exiting: PPR and the current count are computed, the ICR sends, a
 * reserved or write-only MSR faults in the model. Off outside x2APIC mode, where a passed
 * MSR would reach the host's own APIC.
 */
static const u16 x2apic_reads[] = { /* register offsets; the MSR is LAPIC_X2APIC_MSR(off) */
	LAPIC_REG_ID, LAPIC_REG_VERSION, LAPIC_REG_TPR, LAPIC_REG_LDR, LAPIC_REG_SVR, LAPIC_REG_ESR,
	LAPIC_REG_LVT_TIMER, LAPIC_REG_LVT_THERMAL, LAPIC_REG_LVT_PERF, LAPIC_REG_LVT_LINT0,
	LAPIC_REG_LVT_LINT1, LAPIC_REG_LVT_ERROR, LAPIC_REG_TIMER_ICR, LAPIC_REG_TIMER_DCR,
};
static const u16 x2apic_read_banks[] = { LAPIC_REG_ISR, LAPIC_REG_TMR, LAPIC_REG_IRR };
static const u16 x2apic_writes[] = { LAPIC_REG_TPR, LAPIC_REG_EOI, LAPIC_REG_SELF_IPI };

/* The MSR bitmaps' low-MSR halves (SDM 24.6.9): reads at byte 0, writes at byte 2048; a set
 * bit makes the access exit. off: the x2APIC register's offset. */
static void msr_exits(u32 off, bool write, bool exit)
{
	u32 msr = LAPIC_X2APIC_MSR(off);
	u8 *b = msr_bitmap + (write ? 2048 : 0) + msr / 8;
	*b = exit ? (u8)(*b | BIT(msr % 8)) : (u8)(*b & ~BIT(msr % 8));
}

static void x2apic_virtualization(bool on)
{
	for (u32 i = 0; i < ARRAY_SIZE(x2apic_reads); i++)
		msr_exits(x2apic_reads[i], false, !on);
	for (u32 i = 0; i < ARRAY_SIZE(x2apic_read_banks); i++)
		for (u32 w = 0; w < 8; w++) /* 8 registers, 16 bytes apart */
			msr_exits(x2apic_read_banks[i] + 16 * w, false, !on);
	for (u32 i = 0; i < ARRAY_SIZE(x2apic_writes); i++)
		msr_exits(x2apic_writes[i], true, !on);
	u64 c = vmcs_read(SECONDARY_VM_EXEC_CONTROL);
	c = on ? (c & ~CPU2_VIRTUALIZE_APIC_ACCESSES) | CPU2_VIRTUALIZE_X2APIC
	       : (c & ~CPU2_VIRTUALIZE_X2APIC) | CPU2_VIRTUALIZE_APIC_ACCESSES;
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, c);
}

void apicv_follow_base(void)
{
	if (!vcpu0.apicv)
		return;
	if (vcpu0.apicv_x2) {
		bool x2 = lapic_mode() == LAPIC_MODE_X2APIC;
		if (x2 != !!(vmcs_read(SECONDARY_VM_EXEC_CONTROL) & CPU2_VIRTUALIZE_X2APIC))
			x2apic_virtualization(x2);
	}
	/* (the MMU does nothing when the frame is unchanged) */
	mmu_set_apic_access(lapic_mode() == LAPIC_MODE_XAPIC ? lapic_window_base() >> PAGE_SHIFT
							      : ~0ULL, access_page);
}

void apicv_sync(void)
{
	int rvi = lapic_highest_irr(), svi = lapic_highest_isr();
	vmcs_write(GUEST_INTR_STATUS, (u64)((svi < 0 ? 0 : svi) << 8 | (rvi < 0 ? 0 : rvi)));
	if (lapic_tmr_changes() == eoi_exit_tmr)
		return;
	eoi_exit_tmr = lapic_tmr_changes();
	for (int i = 0; i < 4; i++)
		vmcs_write(EOI_EXIT_BITMAP0 + 2 * (u32)i,
			   lapic_tmr_word(2 * i) | (u64)lapic_tmr_word(2 * i + 1) << 32);
}

void apicv_setup(struct vcpu *v)
{
	if (!v->apicv)
		return;
	access_page = pmm_alloc();
	if (!access_page)
		panic("apicv: no page left for the APIC-access page");
	memset((void *)(uintptr_t)access_page, 0, PAGE_SIZE);
	vmcs_write(VIRTUAL_APIC_PAGE_ADDR, (u64)(uintptr_t)lapic_regs());
	vmcs_write(APIC_ACCESS_ADDR, access_page);
	vmcs_write(TPR_THRESHOLD, 0);
	if (v->apicv_x2) {
		msr_bitmap = (u8 *)(uintptr_t)pmm_alloc();
		if (!msr_bitmap)
			panic("apicv: no page left for the MSR bitmaps");
		memset(msr_bitmap, 0xff, PAGE_SIZE); /* every MSR exits, as without bitmaps */
		vmcs_write(MSR_BITMAP, (u64)(uintptr_t)msr_bitmap);
	}
	apicv_sync(); /* the guest interrupt status and the EOI-exit bitmap */
	apicv_follow_base();
	pr_info("apicv: on: LAPIC reads, TPR writes, EOIs and interrupt delivery stay in the guest "
		"(virtual-APIC page %#llx, APIC-access page %#llx); x2APIC mode %s",
		(u64)(uintptr_t)lapic_regs(), access_page, v->apicv_x2 ? "virtualized too" :
		"traps (no x2APIC virtualization or MSR bitmaps)");
}

/*
 * Bochs 2.7 records the IDT-vectoring information of an event only where it checks the event
 * for an exit, which virtual-interrupt delivery skips: an exit in the middle of delivering a
 * virtual interrupt (a shadow page fault on the stack the frame goes to: common under shadow
 * paging) reports the event delivered before it (a guest INT3 in Linux's text patching, an
 * injected exception) instead. Re-delivering that event loses the interrupt and runs the
 * handler of something that did not happen (Linux then died with #UD in native_set_pte,
 * test_bench's Linux boot). The SDM's answer is the virtual interrupt as an external
 * interrupt (KVM re-injects it so). It is recognized by what the delivery did: SVI moved
 * during this run to a vector the guest was interrupted for (RFLAGS.IF still 1: the handler
 * never ran), which no event of the guest's own does. Misread only if a virtual interrupt was
 * delivered, its handler set IF again before its EOI, and a fault of its own was then
 * interrupted by an exit, all in one run: Linux's handlers run with IF clear until the EOI.
 */
u32 apicv_vectoring(struct vcpu *v, u32 idt)
{
	u32 again = vectoring_redeliver(idt, v->intr_status_entry,
					(u16)vmcs_read(GUEST_INTR_STATUS),
					vmcs_read(GUEST_RFLAGS) & RFLAGS_IF);
	if (again != idt && !v->apicv_stale_vectoring++)
		pr_info("apicv: an exit interrupted the delivery of virtual interrupt %#x and the CPU "
			"reported another event (%#x) as being delivered: %#x re-delivered (Bochs "
			"behaviour, vmx/apicv.c)", again & INTR_INFO_VECTOR_MASK, idt,
			again & INTR_INFO_VECTOR_MASK);
	return again;
}

/* Exit qualification of an APIC-access exit (SDM Table 27-6): the page offset in bits 11:0,
 * the access type in 15:12. */
enum { APIC_ACCESS_READ = 0, APIC_ACCESS_WRITE = 1, APIC_ACCESS_FETCH = 2 };

void handle_apic_access(struct vcpu *v)
{
	u32 off = (u32)(v->exit_qual & 0xfff), type = (u32)(v->exit_qual >> 12) & 0xf;
	if (type != APIC_ACCESS_READ && type != APIC_ACCESS_WRITE) {
		/* An instruction fetch from the APIC page, or an access while delivering an event
		 * (its IDT or stack there): no guest does this on purpose. */
		vcpu_stop(v, END_GUEST_ERROR, "the guest %s its local APIC page (offset %#x, access "
			  "type %u, rip=%#llx): not emulated under APIC virtualization (apicv=off "
			  "traps it as MMIO)", type == APIC_ACCESS_FETCH ? "executes from" :
			  "delivers an event through", off, type, v->last_rip);
		return;
	}
	/* The linear address is not reported: the emulator translates the operand itself. */
	intc_changed();
	mmio_emulate_device(lapic_window_base() + off, ~0ULL);
}

void handle_apic_write(struct vcpu *v)
{
	intc_changed();
	lapic_apic_write((u32)(v->exit_qual & 0xfff), vtime_now());
}

void handle_virtualized_eoi(struct vcpu *v)
{
	intc_changed();
	lapic_eoi_done((u8)v->exit_qual);
}
