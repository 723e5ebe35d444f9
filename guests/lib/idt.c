/* idt.c - guest GDT/IDT setup and the C side of the exception stubs (see idt.h). */
#include "idt.h"

extern const uint32_t isr_stubs[IDT_VECTORS]; /* isr.S */

static const uint64_t gdt[3] __attribute__((aligned(8))) = {
	0,
	0x00cf9a000000ffffull, /* 0x08: code, flat 4 GiB, 32-bit, ring 0 */
	0x00cf92000000ffffull, /* 0x10: data, flat 4 GiB, ring 0 */
};
static struct gate32 idt[256] __attribute__((aligned(8)));
static idt_handler_t handlers[IDT_VECTORS];
static volatile int expect_vec = -1;
static volatile unsigned expect_skip;

volatile struct idt_exception idt_last = { .vector = -1 };

static void set_gate(int v)
{
	idt[v].off_lo = (uint16_t)isr_stubs[v];
	idt[v].off_hi = (uint16_t)(isr_stubs[v] >> 16);
	idt[v].sel = 0x08;
	idt[v].zero = 0;
	idt[v].type = 0x8e; /* present, DPL 0, 32-bit interrupt gate */
}

void idt_install_all(void)
{
	for (int v = IDT_STUBS; v < IDT_VECTORS; v++)
		set_gate(v);
}

void idt_init(void)
{
	struct dtr32 g = { sizeof(gdt) - 1, (uint32_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp $0x08, $1f\n"
			 "1:\tmovw $0x10, %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%fs\n\t"
			 "movw %%ax, %%gs\n\t"
			 "movw %%ax, %%ss"
			 :
			 : "m"(g)
			 : "eax", "memory");
	memset(idt, 0, sizeof(idt));
	for (int v = 0; v < IDT_STUBS; v++)
		set_gate(v);
	struct dtr32 i = { sizeof(idt) - 1, (uint32_t)idt };
	__asm__ volatile("lidt %0" : : "m"(i) : "memory");
	/* The BIOS (QEMU's SeaBIOS, Bochs's BIOS) leaves the 8259s at base 8 with IRQ 0 unmasked,
	 * so the first STI after a PIT tick takes IRQ 0 on the #DF vector. A guest that wants the
	 * PIC programs it (platform.c); all others start with both 8259s masked. */
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

void idt_expect(int vector, unsigned skip_bytes)
{
	idt_last.vector = -1;
	expect_skip = skip_bytes;
	expect_vec = vector;
	__asm__ volatile("" ::: "memory");
}

bool idt_caught(int vector)
{
	__asm__ volatile("" ::: "memory");
	expect_vec = -1;
	return idt_last.vector == vector;
}

void idt_set_handler(int vector, idt_handler_t h)
{
	if (vector >= 0 && vector < IDT_VECTORS)
		handlers[vector] = h;
}

void idt_dispatch(struct idt_frame *f); /* called from isr.S */

void idt_dispatch(struct idt_frame *f)
{
	uint32_t cr2 = 0;
	if (f->vector == VEC_PF)
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	idt_last.vector = (int)f->vector;
	idt_last.error = f->error;
	idt_last.eip = f->eip;
	idt_last.cr2 = cr2;
	idt_last.count++;
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (expect_vec == (int)f->vector) {
		expect_vec = -1;
		f->eip += expect_skip;
		return;
	}
	printf("UNEXPECTED EXCEPTION %u err=0x%x eip=0x%x\n", f->vector, f->error, f->eip);
	guest_exit(IDT_UNEXPECTED_EXIT);
}
