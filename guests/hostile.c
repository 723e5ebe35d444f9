/* hostile.c - a guest that tries to break the hypervisor, one thing at a time (issue 7). After
 * each attempt the hypervisor's audit must pass (HC_AUDIT == 0) and the guest must still run.
 * Attempts: page tables mapping every 4 MiB of the 4 GiB guest-physical space (RAM, MMIO, far
 * beyond RAM) read and written; a self-referencing page directory written through itself; a
 * large page straddling the end of guest RAM; malformed hypercalls; a storm of interrupts;
 * software interrupts on every vector with a gate; unknown and reserved MSRs; VMX instructions.
 * With "variant=mmio_pt" on its command line it finally points a page-directory entry at
 * device memory: the hypervisor must end the run with a clear reason. */
#include "guest.h"
#include "hv.h"
#include "idt.h"

static uint32_t pd[1024] __attribute__((aligned(4096)));
static volatile uint32_t irqs;

#define P 1u
#define RW 2u
#define PS 0x80u
#define SELF 0x3ffu /* the PD maps itself at 0xffc00000 */

static void audit(const char *what)
{
	int32_t bad = hypercall(HC_AUDIT, 0, 0, 0, 0);
	printf("%s: audit bad=%d\n", what, bad);
	guest_failures += bad != 0;
}

static void paging_on(void)
{
	for (uint32_t i = 0; i < 1024; i++)
		pd[i] = (i << 22) | P | RW | PS; /* every 4 MiB of the 4 GiB space, identity */
	pd[SELF] = (uint32_t)pd | P | RW;       /* recursive: the PD as a page table */
	uint32_t cr4, cr0;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | 0x10));
	__asm__ volatile("mov %0, %%cr3" ::"r"(pd));
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" ::"r"(cr0 | 0x80000000u));
}

/* Reads and writes one word in each 4 MiB of guest-physical space (except the 4 MiB the
 * guest's own code lives in, and the self-map slot). */
static void touch_everything(void)
{
	uint32_t ones = 0, ram = 0;
	for (uint32_t i = 1; i < 1023; i++) {
		volatile uint32_t *p = (uint32_t *)(i << 22) + 17;
		uint32_t v = *p;
		*p = v ^ 0x5a5a5a5a; /* RAM changes; MMIO/unassigned drops it */
		if (*p == (v ^ 0x5a5a5a5a))
			ram++;
		else if (v == 0xffffffffu)
			ones++;
		*p = v;
	}
	printf("every 4 MiB: %u writable RAM, %u read all ones\n", ram, ones);
	audit("map everything");
}

static void self_map(void)
{
	volatile uint32_t *pd_via_self = (uint32_t *)(0xffc00000u + SELF * 4096);
	uint32_t old = pd_via_self[0x300];
	pd_via_self[0x300] = (0x00400000u) | P | RW | PS; /* 0xc0000000 -> 4 MiB, via itself */
	__asm__ volatile("invlpg (%0)" ::"r"(0xc0000000u) : "memory");
	printf("self-map write seen: %u\n", *(volatile uint32_t *)0xc0000000u ==
	       *(volatile uint32_t *)0x00400000u);
	pd_via_self[0x300] = old;
	audit("self-referencing directory");
}

static void straddle(void)
{
	/* guest_mem=62M: the 4 MiB page at 60 MiB is half RAM, half beyond. */
	volatile uint32_t *lo = (uint32_t *)(60u << 20), *hi = (uint32_t *)(63u << 20);
	*lo = 0x1234;
	*hi = 0x1234;
	printf("straddling page: ram half %s, beyond half reads 0x%x\n", *lo == 0x1234 ? "ok" : "bad",
	       *hi);
	audit("page straddling the end of RAM");
}

static void bad_hypercalls(void)
{
	printf("hc huge add: %d\n", hypercall(HC_MEMSLOT_ADD, 9, 0xd0000000u, 0xfffff000u, 0));
	printf("hc add over RAM: %d\n", hypercall(HC_MEMSLOT_ADD, 9, 0x100000u, 0x1000, 0));
	printf("hc bad flags: %d\n", hypercall(HC_MEMSLOT_ADD, 9, 0xd0000000u, 0x1000, 0x80));
	printf("hc id too big: %d\n", hypercall(HC_MEMSLOT_ADD, 0x10000, 0xd0000000u, 0x1000, 0));
	printf("hc move unknown: %d\n", hypercall(HC_MEMSLOT_MOVE, 77, 0xd0000000u, 0, 0));
	printf("hc delete slot 1 then re-add over it: %d %d\n",
	       hypercall(HC_MEMSLOT_RESIZE, 1, 0x1000, 0, 0), hypercall(HC_GET_STAT, 999, 0, 0, 0));
	for (uint32_t nr = 8; nr < 40; nr++)
		if (hypercall(nr, 1, 2, 3, 4) != HV_ENOSYS)
			printf("hc %u not ENOSYS\n", nr);
	audit("malformed hypercalls");
}

static void on_irq(struct idt_frame *f)
{
	(void)f;
	irqs++;
	*(volatile uint32_t *)0xfee000b0u = 0; /* EOI */
}

static void storm(void)
{
	volatile uint32_t *apic = (uint32_t *)0xfee00000u;
	idt_set_handler(0x30, on_irq);
	apic[0xf0 / 4] = 0x1ff;
	apic[0x3e0 / 4] = 0xb;               /* divide by 1 */
	apic[0x320 / 4] = 0x30 | (1u << 17); /* periodic */
	apic[0x380 / 4] = 0x80000;           /* every 0.5 ms: faster starves any guest, as on hardware */
	__asm__ volatile("sti");
	while (irqs < 2000)
		__asm__ volatile("pause");
	__asm__ volatile("cli");
	apic[0x320 / 4] = 0x10000;
	printf("interrupt storm: took %s2000 interrupts\n", irqs >= 2000 ? "" : "fewer than ");
	audit("interrupt storm");
}

static uint32_t soft_vec;
static void on_soft(struct idt_frame *f)
{
	soft_vec = f->vector;
}

static void every_vector(void)
{
	uint32_t ok = 0;
	for (int v = 32; v < IDT_STUBS; v++)
		idt_set_handler(v, on_soft);
#define SOFT(n) __asm__ volatile("int $" #n); ok += soft_vec == n;
	SOFT(32) SOFT(33) SOFT(40) SOFT(47) SOFT(48) SOFT(55) SOFT(62) SOFT(63)
	printf("software interrupts delivered: %u of 8\n", ok);
	idt_expect(VEC_GP, 2);
	__asm__ volatile("int $0x80");
	printf("int 0x80 without a gate: #GP %u\n", idt_caught(VEC_GP));
	audit("software interrupts");
}

static void msrs_and_vmx(void)
{
	uint32_t gp = 0, tried = 0;
	static const uint32_t bases[] = { 0x0, 0x100, 0x400, 0x800, 0xc0000000u, 0xc0010000u,
					  0x40000000u, 0x12345678u };
	for (uint32_t b = 0; b < sizeof(bases) / 4; b++)
		for (uint32_t m = bases[b]; m < bases[b] + 0x40; m += 7, tried++) {
			idt_expect(VEC_GP, 2);
			(void)rdmsr(m);
			gp += idt_caught(VEC_GP);
		}
	printf("rdmsr: %u of %u tried raised #GP\n", gp, tried);
	idt_expect(VEC_UD, 3);
	__asm__ volatile(".byte 0x0f, 0x01, 0xc4"); /* vmxoff */
	printf("vmxoff: #UD %u\n", idt_caught(VEC_UD));
	audit("MSRs and VMX instructions");
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	serial_init();
	idt_init();
	paging_on();
	touch_everything();
	self_map();
	straddle();
	bad_hypercalls();
	storm();
	every_vector();
	msrs_and_vmx();
	const char *cl = (mbi->flags & 4) ? (const char *)mbi->cmdline : "";
	for (const char *p = cl; *p; p++)
		if (!memcmp(p, "variant=mmio_pt", 15)) {
			puts("pointing a page-directory entry at device memory\n");
			pd[0x301] = 0xfeb00000u | P | RW; /* a page table in MMIO */
			__asm__ volatile("invlpg (%0)" ::"r"(0xc0400000u) : "memory");
			printf("read through it: 0x%x\n", *(volatile uint32_t *)0xc0400000u);
		}
	printf("RESULT failures=%d\n", guest_failures);
	return guest_failures;
}
