/* fault.c - exception recording with a fixed resume point, and GDT extension (see fault.h).
 * The assembly half (fault_run, fault_run_user, the resume point) is guests/lib/fault.S. */
#include "fault.h"

volatile struct fault_rec fault_last = { .vector = -1 };
volatile uint32_t fault_armed; /* fault.S sets it around a run */

extern char fault_resume[], fault_user_done[]; /* fault.S */

static uint64_t gdt[FAULT_GDT_ENTRIES] __attribute__((aligned(16)));
static bool gdt_copied;

void fault_record(struct idt_frame *f)
{
	uint32_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	fault_last.vector = (int)f->vector;
	fault_last.error = f->error;
	fault_last.eip = f->eip;
	fault_last.cs = f->cs;
	fault_last.eflags = f->eflags;
	fault_last.cr2 = cr2;
	fault_last.count++;
	fault_armed = 0;
	f->eip = (uint32_t)fault_resume;
	f->cs = 0x08;
	f->eflags = 0x2;
}

static void handler(struct idt_frame *f)
{
	if (!fault_armed) {
		printf("UNEXPECTED EXCEPTION %u err=0x%x eip=0x%x\n", f->vector, f->error, f->eip);
		guest_exit(IDT_UNEXPECTED_EXIT);
	}
	fault_record(f);
}

void fault_init(void)
{
	struct dtr32 i;
	for (int v = 0; v < 32; v++)
		idt_set_handler(v, handler);
	__asm__ volatile("sidt %0" : "=m"(i));
	uint8_t *g = (uint8_t *)i.base + FAULT_USER_VECTOR * 8;
	uint32_t h = (uint32_t)fault_user_done;
	g[0] = (uint8_t)h;
	g[1] = (uint8_t)(h >> 8);
	g[2] = 0x08; /* kernel code selector */
	g[3] = 0;
	g[4] = 0;
	g[5] = 0xee; /* present, DPL 3, 32-bit interrupt gate */
	g[6] = (uint8_t)(h >> 16);
	g[7] = (uint8_t)(h >> 24);
}

uint64_t fault_seg_desc(uint32_t base, uint32_t limit, uint8_t access, bool big)
{
	uint64_t flags = big ? 0x4 : 0; /* D/B */
	if (limit > 0xfffff) {
		limit >>= 12;
		flags |= 0x8; /* G */
	}
	return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)access << 40) |
	       ((uint64_t)((limit >> 16) & 0xf) << 48) | (flags << 52) |
	       ((uint64_t)(base >> 24) << 56);
}

uint64_t fault_call_gate(uint16_t sel, uint32_t off, int dpl)
{
	return (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)(0x8c | (dpl << 5)) << 40) |
	       ((uint64_t)(off >> 16) << 48);
}

uint16_t fault_gdt_set(int index, uint64_t desc)
{
	struct dtr32 g;
	if (!gdt_copied) {
		__asm__ volatile("sgdt %0" : "=m"(g));
		memset(gdt, 0, sizeof(gdt));
		unsigned n = (g.limit + 1u) / 8;
		memcpy(gdt, (const void *)g.base, (n < FAULT_GDT_ENTRIES ? n : FAULT_GDT_ENTRIES) * 8);
		gdt_copied = true;
	}
	gdt[index] = desc;
	g.limit = sizeof(gdt) - 1;
	g.base = (uint32_t)gdt;
	__asm__ volatile("lgdt %0" : : "m"(g) : "memory");
	return (uint16_t)(index * 8);
}
