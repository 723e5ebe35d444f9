/* vintr.c - a local APIC interrupt whose delivery faults on the stack page it pushes its frame
 * to, right after the guest took an INT3. Under the hypervisor with APIC virtualization the CPU
 * delivers the interrupt itself (virtual-interrupt delivery); the push takes a shadow-paging
 * fault, and the exit must deliver the interrupt again, not the INT3 Bochs reports as the
 * event being delivered (vmx/apicv.c apicv_vectoring: Debian's kernel died of exactly this).
 * With apicv=off the hypervisor injects the interrupt and the fault interrupts its own
 * injection. Paging on (32-bit, 4 KiB pages for the low 4 MiB): the test rewrites the PTE of
 * the stack page the frame goes to, so that the shadow has no entry for it. Prints
 * observations, no verdicts: tests/system/test_nmi.py compares them with bare Bochs. */
#include "paging.h"

#define APIC_SVR 0xfee000f0u
#define APIC_EOI 0xfee000b0u
#define APIC_ICR_LO 0xfee00300u
#define VEC 0x41
/* Fixed delivery, edge, the "self" shorthand. */
#define ICR_SELF (VEC | (1u << 18))

static uint8_t pool_pages[8][4096] __attribute__((aligned(4096)));
static uint8_t irq_stack[2][4096] __attribute__((aligned(4096)));

static void *root;
static volatile uint32_t irq_count, bp_count, irq_eip, irq_frame;

static void on_irq(struct idt_frame *f)
{
	irq_count++;
	irq_eip = f->eip;
	irq_frame = (uint32_t)&f->eip;
	*(volatile uint32_t *)APIC_EOI = 0;
}

static void on_bp(struct idt_frame *f)
{
	(void)f;
	bp_count++;
}

/* Drops the shadow's entry for va: its PTE rewritten (A cleared, same frame), its TLB entry
 * flushed. The next access walks the guest's tables again. */
static void drop_page(uint32_t va)
{
	void *pte = pt_entry(PT_MODE_32, root, va, 1);
	pt_set(PT_MODE_32, pte, pt_get(PT_MODE_32, pte) & ~PTE_A);
	invlpg(va);
}

static uint32_t saved_esp;

/* With IF clear: an INT3 (the last event the guest delivers itself), the self-IPI (pending),
 * then ESP at the start of irq_stack[1] + 12, so the interrupt's frame fills the first 12
 * bytes of that page, and STI: the interrupt is taken after the instruction that follows. */
static void one_case(const char *name, bool drop)
{
	irq_count = bp_count = irq_eip = irq_frame = 0;
	uint32_t resume;
	__asm__ volatile("cli; int3" ::: "memory");
	*(volatile uint32_t *)APIC_ICR_LO = ICR_SELF;
	if (drop)
		drop_page((uint32_t)irq_stack[1]);
	__asm__ volatile("mov %%esp, %[saved]\n\t"
			 "mov %[top], %%esp\n\t"
			 "sti\n\t"
			 "nop\n\t"
			 "1: nop\n\t"
			 "cli\n\t"
			 "mov %[saved], %%esp\n\t"
			 "lea 1b, %[resume]"
			 : [saved] "=m"(saved_esp), [resume] "=r"(resume)
			 : [top] "r"((uint32_t)irq_stack[1] + 12)
			 : "memory");
	printf("case %s: irq=%u int3=%u resumed_at_label=%d frame_in_page=%d\n", name, irq_count,
	       bp_count, irq_eip == resume, irq_frame == (uint32_t)irq_stack[1] + 0);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	pt_guest_start("vintr");
	idt_install_all();
	idt_set_handler(VEC, on_irq);
	idt_set_handler(VEC_BP, on_bp);
	struct pt_pool pool = PT_POOL(pool_pages);
	root = pt_paging32_low4m(&pool);
	*(volatile uint32_t *)APIC_SVR = 0x1ff; /* software-enabled, spurious vector 0xff */
	one_case("stack_mapped", false);
	one_case("stack_fault", true);
	one_case("stack_fault_again", true);
	hv_audit("vintr");
	printf("RESULT done\n");
	return 0;
}
