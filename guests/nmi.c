/* nmi.c - NMIs sent to self through the local APIC, and the NMI-blocking window that the
 * handler's IRET ends: an NMI that arrives while the handler runs is held, and must be
 * delivered right after that IRET, before the interrupted code runs one more instruction. Under
 * the hypervisor the held NMI is software state (an NMI pending while the guest's "blocking by
 * NMI" is set), so it needs an exit at the end of the blocking (NMI-window exiting); when the
 * IRET itself faults (a shadow-paging #PF on the stack page it pops from), the CPU has already
 * unblocked NMIs and the hypervisor must block them again before the IRET is retried (SDM
 * "NMI unblocking due to IRET"). Paging on (32-bit, 4 KiB pages for the low 4 MiB) so that the
 * handler can make its own IRET fault: it rewrites the PTE of the page holding its frame. Prints observations, no verdicts:
 * tests/system/test_nmi.py compares them with the same guest on bare Bochs. */
#include "paging.h"

#define APIC_SVR 0xfee000f0u
#define APIC_ICR_LO 0xfee00300u
#define APIC_ICR_HI 0xfee00310u
/* Delivery mode NMI (4 << 8), level assert, physical destination (ICR_HI: APIC ID 0, ours):
 * the "self" shorthand is valid with fixed delivery only. */
#define ICR_NMI_SELF 0x4400u

static uint8_t pool_pages[8][4096] __attribute__((aligned(4096)));
/* Two pages: the NMI's IRET frame (12 bytes) is pushed at the start of the second, the
 * handler stub's registers go below it, into the first. */
static uint8_t nmi_stack[2][4096] __attribute__((aligned(4096)));

static void *root;
static volatile uint32_t nmi_count, nested_count;
static volatile uint32_t frame_at[2]; /* where the first two NMIs' frames were pushed */
static volatile bool send_nested, drop_frame_page;

static void send_self_nmi(void)
{
	*(volatile uint32_t *)APIC_ICR_LO = ICR_NMI_SELF;
}

static void on_nmi(struct idt_frame *f)
{
	if (nmi_count < 2)
		frame_at[nmi_count] = (uint32_t)&f->eip;
	nmi_count++;
	if (send_nested && nmi_count == 1) {
		send_self_nmi(); /* blocked: the handler is running */
		nested_count = nmi_count;
		if (drop_frame_page) {
			/* The IRET reads its frame from nmi_stack[1]: rewrite that page's PTE (A
			 * cleared, same frame) and drop its TLB entry. The CPU walks again; the
			 * shadow MMU has dropped its spte for the changed PTE, so the IRET faults
			 * into the hypervisor. */
			uint32_t va = (uint32_t)nmi_stack[1];
			void *pte = pt_entry(PT_MODE_32, root, va, 1);
			pt_set(PT_MODE_32, pte, pt_get(PT_MODE_32, pte) & ~PTE_A);
			invlpg(va);
		}
	}
}

/* Sends an NMI to self with ESP at the start of nmi_stack[1] + 12, so the NMI's frame fills
 * the first 12 bytes of that page; returns nmi_count as read by the next instruction after
 * the ICR write's completion and the NMIs it causes. */
static uint32_t saved_esp;

static uint32_t nmi_round(void)
{
	uint32_t after;
	nmi_count = 0;
	__asm__ volatile("mov %%esp, %[saved]\n\t"
			 "mov %[top], %%esp\n\t"
			 "movl %[icr], (%[reg])\n\t"
			 "mov %[count], %[after]\n\t"
			 "mov %[saved], %%esp"
			 : [after] "=&r"(after), [saved] "=m"(saved_esp)
			 : [top] "r"((uint32_t)nmi_stack[1] + 12), [icr] "i"(ICR_NMI_SELF),
			   [reg] "r"(APIC_ICR_LO), [count] "m"(nmi_count)
			 : "memory");
	return after;
}

static void one_case(const char *name, bool nested, bool drop)
{
	send_nested = nested;
	drop_frame_page = drop;
	nested_count = 0;
	frame_at[0] = frame_at[1] = 0;
	uint32_t after = nmi_round();
	/* Something that exits under the hypervisor (the serial port), then a bounded wait: a
	 * late NMI shows up here instead of hanging the guest. */
	printf("case %s: count_after_iret=%u", name, after);
	for (int i = 0; i < 100000 && nmi_count < (nested ? 2u : 1u); i++)
		__asm__ volatile("pause");
	printf(" count_later=%u count_in_handler=%u", nmi_count, nested_count);
	/* On hardware the second NMI comes after the first one's IRET, at the same stack place;
	 * delivered before that IRET completes, it would nest below the first one's frame. */
	if (nested)
		printf(" second_frame_minus_first=%d", (int)(frame_at[1] - frame_at[0]));
	printf("\n");
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	pt_guest_start("nmi");
	idt_set_handler(VEC_NMI, on_nmi);
	struct pt_pool pool = PT_POOL(pool_pages);
	root = pt_paging32_low4m(&pool);
	*(volatile uint32_t *)APIC_SVR = 0x1ff; /* software-enabled, spurious vector 0xff */
	*(volatile uint32_t *)APIC_ICR_HI = 0;
	one_case("single", false, false);
	one_case("nested", true, false);
	one_case("nested_iret_faults", true, true);
	one_case("single_again", false, false);
	hv_audit("nmi");
	printf("RESULT done\n");
	return 0;
}
