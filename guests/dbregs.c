/* dbregs.c - data and I/O breakpoints (DR0-DR3, DR7, CR4.DE) on accesses the hypervisor
 * performs for the guest: MMIO reads and writes (the local APIC, emulated under the
 * hypervisor, a real device on bare Bochs) and port I/O (COM1, emulated). On hardware the CPU
 * checks every access against the breakpoints; an emulated access must give the same #DB trap
 * (DR6 B0-B3, EIP after the instruction). Paging off. The guest prints what it observes and no
 * verdicts: tests/system/test_dbregs.py compares the lines with the same guest on bare Bochs.
 * Lines starting with "HV " are printed under the hypervisor only. */
#include "guest.h"
#include "hv.h"
#include "idt.h"
#include "pt.h"

#define APIC_VERSION 0xfee00030u
#define APIC_TPR 0xfee00080u
#define COM1_LSR 0x3fd

/* DR7: enable bit L(i), R/W (0 exec, 1 write, 2 I/O, 3 read/write), LEN (0 1B, 1 2B, 3 4B). */
#define DR7_BP(i, rw, len) ((1u << ((i) * 2)) | ((uint32_t)(rw) << (16 + (i) * 4)) | \
			    ((uint32_t)(len) << (18 + (i) * 4)))
#define RW_W 1
#define RW_IO 2
#define RW_RW 3
#define LEN_1 0
#define LEN_2 1
#define LEN_4 3

static volatile uint32_t db_count, db_dr6, db_eip;
static volatile uint32_t ram_var;

static void on_db(struct idt_frame *f)
{
	uint32_t dr6;
	__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
	db_count++;
	db_dr6 = dr6;
	db_eip = f->eip;
	__asm__ volatile("mov %0, %%dr6" ::"r"(0u));
}

static void set_bp(int i, uint32_t addr, uint32_t dr7)
{
	switch (i) {
	case 0: __asm__ volatile("mov %0, %%dr0" ::"r"(addr)); break;
	case 1: __asm__ volatile("mov %0, %%dr1" ::"r"(addr)); break;
	case 2: __asm__ volatile("mov %0, %%dr2" ::"r"(addr)); break;
	case 3: __asm__ volatile("mov %0, %%dr3" ::"r"(addr)); break;
	}
	__asm__ volatile("mov %0, %%dr7" ::"r"(dr7 | 0x400u));
}

static void clear_bps(void)
{
	__asm__ volatile("mov %0, %%dr7" ::"r"(0x400u));
	__asm__ volatile("mov %0, %%dr6" ::"r"(0u));
	db_count = 0;
	db_dr6 = 0;
	db_eip = 0;
}

/* One line per case: how many #DB came, DR6's B0-B3 and whether EIP was just after the
 * access (a trap), given the address of the instruction after it. */
static void report(const char *name, uint32_t after)
{
	printf("case %s db=%u b=0x%x trap_after=%u\n", name, db_count, db_dr6 & 0xf,
	       db_count ? db_eip == after : 0);
	clear_bps();
}

/* Each access is one instruction followed by a global label, so the handler's saved EIP can
 * be compared with the label's address. */
#define ACCESS(label, insn, ...)                                                        \
	__asm__ volatile(insn "\n.global " #label "\n" #label ":" __VA_ARGS__)

extern char a_mmio_rd[], a_mmio_rd2[], a_mmio_wr[], a_mmio_byte[], a_io_in[], a_io_inw[],
	a_io_out[], a_ram_rd[], a_mmio_movzx[];

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	(void)mbi;
	serial_init();
	idt_init();
	idt_set_handler(VEC_DB, on_db);
	printf("TEST dbregs\n");
	if (hv_present())
		printf("HV hypervisor detected\n");
	clear_bps();
	uint32_t v;

	/* MMIO read with a read/write breakpoint on the register. */
	set_bp(0, APIC_VERSION, DR7_BP(0, RW_RW, LEN_4));
	ACCESS(a_mmio_rd, "movl (%1), %0", : "=r"(v) : "r"(APIC_VERSION) : "memory");
	report("mmio_read_rw_bp", (uint32_t)a_mmio_rd);

	/* The same read with a write-only breakpoint: no #DB. */
	set_bp(0, APIC_VERSION, DR7_BP(0, RW_W, LEN_4));
	ACCESS(a_mmio_rd2, "movl (%1), %0", : "=r"(v) : "r"(APIC_VERSION) : "memory");
	report("mmio_read_write_bp", (uint32_t)a_mmio_rd2);

	/* MMIO write (TPR = 0) with a write breakpoint, in DR1. */
	set_bp(1, APIC_TPR, DR7_BP(1, RW_W, LEN_4));
	ACCESS(a_mmio_wr, "movl %0, (%1)", : : "r"(0u), "r"(APIC_TPR) : "memory");
	report("mmio_write_bp", (uint32_t)a_mmio_wr);

	/* A 1-byte breakpoint inside a 4-byte read (DR2 on byte 2 of the register). */
	set_bp(2, APIC_VERSION + 2, DR7_BP(2, RW_RW, LEN_1));
	ACCESS(a_mmio_byte, "movl (%1), %0", : "=r"(v) : "r"(APIC_VERSION) : "memory");
	report("mmio_read_byte_bp", (uint32_t)a_mmio_byte);

	/* MOVZX of the register's low byte: a 1-byte access that misses a breakpoint on byte 2. */
	set_bp(2, APIC_VERSION + 2, DR7_BP(2, RW_RW, LEN_1));
	ACCESS(a_mmio_movzx, "movzbl (%1), %0", : "=r"(v) : "r"(APIC_VERSION) : "memory");
	report("mmio_movzx_miss", (uint32_t)a_mmio_movzx);

	/* I/O breakpoints (CR4.DE): IN from COM1's LSR, a 2-byte IN covering it, an OUT. */
	uint32_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | 8u));
	set_bp(3, COM1_LSR, DR7_BP(3, RW_IO, LEN_1));
	ACCESS(a_io_in, "inb %%dx, %%al", : "=a"(v) : "d"(COM1_LSR));
	report("io_in_bp", (uint32_t)a_io_in);
	set_bp(3, COM1_LSR, DR7_BP(3, RW_IO, LEN_1));
	ACCESS(a_io_inw, "inw %%dx, %%ax", : "=a"(v) : "d"(COM1_LSR - 1));
	report("io_inw_overlap_bp", (uint32_t)a_io_inw);
	set_bp(3, 0x3ff, DR7_BP(3, RW_IO, LEN_1)); /* COM1 scratch register */
	ACCESS(a_io_out, "outb %%al, %%dx", : : "a"(0x5a), "d"(0x3ff));
	report("io_out_bp", (uint32_t)a_io_out);
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4));

	/* RAM: the CPU's own breakpoint, no exit under the hypervisor either. */
	set_bp(0, (uint32_t)&ram_var, DR7_BP(0, RW_RW, LEN_4));
	ACCESS(a_ram_rd, "movl (%1), %0", : "=r"(v) : "r"(&ram_var) : "memory");
	report("ram_read_bp", (uint32_t)a_ram_rd);

	printf("RESULT done\n");
	guest_exit(0);
	return 0;
}
