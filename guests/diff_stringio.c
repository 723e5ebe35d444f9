/* diff_stringio.c - port I/O and string I/O (INS/OUTS with and without REP) on ports QEMU and
 * the hypervisor both answer: the COM1 scratch and modem registers, the PIC masks, CMOS,
 * fw_cfg, the PIT status and port 0x80. Forward and backward (DF), byte/word/dword, REP counts
 * of 0 and beyond the hypervisor's per-exit batch, 16-bit address size (0x67) with DI/SI
 * wrapping inside the segment, 32-bit linear wrap-around, buffers crossing a page, and last,
 * with paging on: a buffer whose two linear pages map to frames out of order, and a #PF in the
 * middle of a REP INSB. Prints the resulting buffers and ECX/ESI/EDI (as deltas) for a
 * line-by-line comparison with QEMU (tests/system/test_differential.py).
 *
 * Not covered: word/dword accesses that run past the end of a device's port range (QEMU hands
 * the whole access to the device at the first port, so INSD at 0x20 reads the IMR at 0x22 and
 * 0x23; the hypervisor reads all ones there, as an ISA bus would). */
#include "guest.h"
#include "idt.h"
#include "pt.h"
#include "fault.h"

#define COM1 0x3f8
#define SCRATCH (COM1 + 7)
#define SEL_WRAP 0x18   /* data segment based at wrap_area + 0x1000 (fault_gdt_set) */
#define SEL_HIGH 0x20   /* data segment based at 0x10000000 */
#define HIGH_BASE 0x10000000u

/* Registers in and out of one string instruction (sio_* below). */
struct sio_regs {
	uint32_t eax, ecx, edx, esi, edi, es;
} rg;

/* Each sio_NAME loads EAX ECX EDX ESI EDI ES from rg, runs its instruction(s), stores EAX ECX
 * ESI EDI back, restores ES and clears DF. */
#define SIO(name, insn)                                                                        \
	".global " #name "\n" #name ":\n"                                                      \
	"pushl %esi\n pushl %edi\n movw rg+20, %ax\n movw %ax, %es\n"                          \
	"movl rg, %eax\n movl rg+4, %ecx\n movl rg+8, %edx\n movl rg+12, %esi\n"              \
	"movl rg+16, %edi\n" insn "\n cld\n"                                                   \
	"movl %eax, rg\n movl %ecx, rg+4\n movl %esi, rg+12\n movl %edi, rg+16\n"             \
	"movw $0x10, %ax\n movw %ax, %es\n popl %edi\n popl %esi\n ret\n"

__asm__(".text\n"
	SIO(sio_insb, "rep insb") SIO(sio_insw, "rep insw")
	SIO(sio_outsb, "rep outsb") SIO(sio_outsw, "rep outsw") SIO(sio_outsd, "rep outsl")
	SIO(sio_insb_std, "std\n rep insb") SIO(sio_outsb_std, "std\n rep outsb")
	SIO(sio_insw_std, "std\n rep insw")
	SIO(sio_insb_once, "insb") SIO(sio_outsw_once, "outsw")
	SIO(sio_insb_a16, ".byte 0x67, 0xf3, 0x6c")              /* addr16 rep insb */
	SIO(sio_insb_a16_std, "std\n .byte 0x67, 0xf3, 0x6c")
	SIO(sio_outsb_a16_es, ".byte 0x67, 0xf3, 0x26, 0x6e")    /* addr16 rep outsb %es:(%si) */
	".global sio_pf_at\n"
	SIO(sio_pf, "sio_pf_at: rep insb"));

extern char sio_insb[], sio_insw[], sio_outsb[], sio_outsw[], sio_outsd[],
	sio_insb_std[], sio_outsb_std[], sio_insw_std[], sio_insb_once[], sio_outsw_once[],
	sio_insb_a16[], sio_insb_a16_std[], sio_outsb_a16_es[], sio_pf[], sio_pf_at[];

static uint8_t src[64], dst[64];
static uint8_t big[12288];
static uint8_t page_pair[2][4096] __attribute__((aligned(4096)));
static uint8_t wrap_area[0x12000] __attribute__((aligned(4096)));

/* Runs fn with the registers in rg (ES 0 means the flat data segment); ES is reset after. */
static void call(char *fn)
{
	if (!rg.es)
		rg.es = 0x10;
	((void (*)(void))fn)();
	rg.es = 0;
}

static void run(char *fn, uint32_t ecx, uint16_t port, const void *esi, void *edi)
{
	rg.eax = 0;
	rg.ecx = ecx;
	rg.edx = port;
	rg.esi = (uint32_t)esi;
	rg.edi = (uint32_t)edi;
	call(fn);
}

/* "NAME: ecx=0x.. esi=+N edi=+N" with the deltas from the given start values. */
static void regs(const char *name, const void *esi0, const void *edi0)
{
	printf("%s: ecx=0x%x esi=%d edi=%d\n", name, rg.ecx, (int)(rg.esi - (uint32_t)esi0),
	       (int)(rg.edi - (uint32_t)edi0));
}

static void hex(const char *name, const volatile uint8_t *p, unsigned n)
{
	char line[200];
	unsigned k = 0;
	for (unsigned i = 0; i < n && k + 4 < sizeof(line); i++) {
		line[k++] = ' ';
		line[k++] = "0123456789abcdef"[p[i] >> 4];
		line[k++] = "0123456789abcdef"[p[i] & 15];
	}
	line[k] = 0;
	printf("%s:%s\n", name, line);
}

static void fill(uint8_t *p, unsigned n, uint8_t first, uint8_t step)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(first + i * step);
}

static void uart_string_io(void)
{
	fill(src, sizeof(src), 0x11, 0x11);
	run(sio_outsb, 4, SCRATCH, src, 0);
	regs("com1.outsb4", src, 0);
	printf("com1.outsb4 scratch=0x%02x\n", inb(SCRATCH));
	memset(dst, 0, sizeof(dst));
	run(sio_insb, 8, SCRATCH, 0, dst);
	regs("com1.insb8", 0, dst);
	hex("com1.insb8 buf", dst, 10);
	run(sio_outsb_std, 3, SCRATCH, src + 2, 0);
	regs("com1.outsb3_df1", src + 2, 0);
	printf("com1.outsb3_df1 scratch=0x%02x\n", inb(SCRATCH));
	outb(SCRATCH, 0x77);
	memset(dst, 0, sizeof(dst));
	run(sio_insb_std, 3, SCRATCH, 0, dst + 4);
	regs("com1.insb3_df1", 0, dst + 4);
	hex("com1.insb3_df1 buf", dst, 8);
	outb(SCRATCH, 0x99);
	run(sio_outsb, 0, SCRATCH, src, 0);
	regs("com1.outsb_count0", src, 0);
	printf("com1.outsb_count0 scratch=0x%02x\n", inb(SCRATCH));
	run(sio_insb_once, 0x55, SCRATCH, 0, dst);
	regs("com1.insb_no_rep", 0, dst);
	hex("com1.insb_no_rep buf", dst, 2);
	/* 16-bit accesses at MSR (0x3fe) + scratch (0x3ff): the ISA bus splits them. */
	outb(SCRATCH, 0x3c);
	memset(dst, 0, sizeof(dst));
	run(sio_insw, 2, COM1 + 6, 0, dst);
	regs("com1.insw2_msr_scratch", 0, dst);
	hex("com1.insw2_msr_scratch buf", dst, 6);
	static const uint16_t w = 0xa55a;
	run(sio_outsw_once, 0, COM1 + 6, &w, 0);
	printf("com1.outsw_msr_scratch scratch=0x%02x\n", inb(SCRATCH));
	/* More iterations than one exit handles. */
	outb(SCRATCH, 0x5a);
	memset(big, 0, sizeof(big));
	run(sio_insb, 5000, SCRATCH, 0, big);
	regs("com1.insb5000", 0, big);
	unsigned n = 0;
	for (unsigned i = 0; i < sizeof(big); i++)
		n += big[i] == 0x5a;
	printf("com1.insb5000 bytes=%u big[4999]=0x%02x big[5000]=0x%02x\n", n, big[4999], big[5000]);
	run(sio_outsb, 6000, 0x80, big, 0);
	regs("port80.outsb6000", big, 0);
	run(sio_outsd, 1500, 0x80, big, 0);
	regs("port80.outsd1500", big, 0);
	memset(dst, 0, sizeof(dst));
	run(sio_insb, 4, 0x80, 0, dst);
	hex("port80.insb4 buf", dst, 4);
}

static void pic_string_io(void)
{
	static const uint8_t masks[] = { 0xfd, 0xfb, 0xf7, 0xbf };
	uint8_t old1 = inb(0x21), old2 = inb(0xa1);
	run(sio_outsb, 4, 0x21, masks, 0);
	regs("pic.outsb4_imr", masks, 0);
	printf("pic.imr=0x%02x\n", inb(0x21));
	memset(dst, 0, sizeof(dst));
	run(sio_insb, 3, 0x21, 0, dst);
	hex("pic.insb3_imr buf", dst, 4);
	outb(0xa1, 0xef);
	outb(0x20, 0x0b); /* OCW3: reads of 0x20 return the ISR */
	memset(dst, 0, sizeof(dst));
	run(sio_insw, 2, 0x20, 0, dst);
	hex("pic.insw2_isr_imr buf", dst, 4);
	/* Many word reads, backwards: ISR (0) and IMR. */
	memset(big, 0, sizeof(big));
	run(sio_insw_std, 4100, 0x20, 0, big + 12286);
	regs("pic.insw4100_df1", 0, big + 12286);
	unsigned n = 0, bad = 0;
	for (unsigned i = 0; i < sizeof(big); i += 2) {
		n += big[i + 1] == 0xbf;
		bad += big[i] != 0 || (big[i + 1] != 0 && big[i + 1] != 0xbf);
	}
	printf("pic.insw4100_df1 words=%u other=%u first=0x%02x%02x\n", n, bad, big[12287], big[12286]);
	outb(0x20, 0x0a);
	outb(0x21, old1);
	outb(0xa1, old2);
}

static uint8_t cmos(uint8_t r)
{
	outb(0x70, r);
	return inb(0x71);
}

static void cmos_string_io(void)
{
	static const uint8_t idx[] = { 0x0b };
	run(sio_outsb, 1, 0x70, idx, 0);
	memset(dst, 0, sizeof(dst));
	run(sio_insb, 3, 0x71, 0, dst);
	hex("cmos.insb3_regb buf", dst, 3);
	/* A word write to 0x70 is the index (low byte) then the data (high byte). */
	static const uint16_t iw[] = { 0xa54f, 0x3c4e };
	run(sio_outsw, 2, 0x70, iw, 0);
	regs("cmos.outsw2", iw, 0);
	printf("cmos.outsw2 ram4e=0x%02x ram4f=0x%02x\n", cmos(0x4e), cmos(0x4f));
	outb(0x70, 0x4f);
	memset(dst, 0, sizeof(dst));
	run(sio_insb, 2, 0x71, 0, dst);
	hex("cmos.insb2_ram4f buf", dst, 2);
	outb(0x70, 0x15);
	memset(dst, 0, sizeof(dst));
	run(sio_insw, 1, 0x70, 0, dst);
	hex("cmos.insw_70_71 buf", dst, 2);
}

static void fwcfg_select(uint16_t key)
{
	__asm__ volatile("outw %0, %1" : : "a"(key), "Nd"((uint16_t)0x510));
}

static void fwcfg_string_io(void)
{
	memset(dst, 0, sizeof(dst));
	fwcfg_select(0);
	run(sio_insb, 4, 0x511, 0, dst);
	regs("fwcfg.insb4_sig", 0, dst);
	printf("fwcfg.insb4_sig %c%c%c%c\n", dst[0], dst[1], dst[2], dst[3]);
	run(sio_insb, 4, 0x511, 0, dst + 4);
	hex("fwcfg.insb4_past_end buf", dst + 4, 4);
	memset(dst, 0, sizeof(dst));
	fwcfg_select(0);
	run(sio_insb_std, 4, 0x511, 0, dst + 3);
	regs("fwcfg.insb4_sig_df1", 0, dst + 3);
	printf("fwcfg.insb4_sig_df1 %c%c%c%c\n", dst[0], dst[1], dst[2], dst[3]);
	fwcfg_select(3);
	memset(dst, 0, sizeof(dst));
	run(sio_insb, 8, 0x511, 0, dst);
	printf("fwcfg.ram_size=0x%08x%08x\n", *(uint32_t *)(dst + 4), *(uint32_t *)dst);
	static const uint16_t keys[] = { 3, 5, 0 };
	run(sio_outsw, 3, 0x510, keys, 0);
	regs("fwcfg.outsw3_select", keys, 0);
	memset(dst, 0, sizeof(dst));
	run(sio_insb, 4, 0x510, 0, dst); /* reads of 0x510 return data too */
	printf("fwcfg.insb4_port510 %c%c%c%c\n", dst[0], dst[1], dst[2], dst[3]);
}

static void pit_string_io(void)
{
	static const uint8_t ctl[] = { 0xb0 }, cnt[] = { 0x34, 0x12 };
	uint8_t p61 = inb(0x61);
	outb(0x61, p61 & ~3u); /* gate and speaker off */
	run(sio_outsb, 1, 0x43, ctl, 0);
	run(sio_outsb, 2, 0x42, cnt, 0);
	outb(0x43, 0xe8); /* read-back: status of channel 2 */
	printf("pit.ch2_status=0x%02x\n", inb(0x42) & 0x3f);
	outb(0x61, p61);
}

/* 16-bit address size: DI/SI wrap at 64 KiB inside the segment (base B = wrap_area + 0x1000);
 * 32-bit: base + EDI wraps at 4 GiB. Marker 0xee shows where nothing may be written. */
static void wrap_string_io(void)
{
	uint8_t *b = wrap_area + 0x1000;
	memset(wrap_area, 0xee, sizeof(wrap_area));
	outb(SCRATCH, 0x5a);
	rg.es = SEL_WRAP;
	rg.ecx = 0xabcd0004;
	rg.edx = SCRATCH;
	rg.edi = 0x1234fffe;
	call(sio_insb_a16);
	printf("wrap16.insb4: ecx=0x%08x edi=0x%08x\n", rg.ecx, rg.edi);
	hex("wrap16.insb4 b-2..b+2", b - 2, 4);
	hex("wrap16.insb4 b+fffc..b+10002", b + 0xfffc, 6);
	memset(wrap_area, 0xee, sizeof(wrap_area));
	rg.es = SEL_WRAP;
	rg.ecx = 4;
	rg.edi = 1;
	call(sio_insb_a16_std);
	printf("wrap16.insb4_df1: ecx=0x%08x edi=0x%08x\n", rg.ecx, rg.edi);
	hex("wrap16.insb4_df1 b-2..b+2", b - 2, 4);
	hex("wrap16.insb4_df1 b+fffc..b+10002", b + 0xfffc, 6);
	b[0xffff] = 0x31;
	b[0] = 0x32;
	b[0x10000] = 0x33;
	rg.es = SEL_WRAP;
	rg.ecx = 2;
	rg.esi = 0x7777ffff;
	call(sio_outsb_a16_es);
	printf("wrap16.outsb2_es: ecx=0x%08x esi=0x%08x scratch=0x%02x\n", rg.ecx, rg.esi,
	       inb(SCRATCH));
	/* 32-bit: ES base 0x10000000 + EDI wraps to dst. */
	memset(dst, 0, sizeof(dst));
	outb(SCRATCH, 0x47);
	rg.es = SEL_HIGH;
	rg.ecx = 3;
	rg.edx = SCRATCH;
	rg.edi = (uint32_t)dst - HIGH_BASE;
	call(sio_insb);
	printf("wrap32.insb3: ecx=0x%x edi=dst+%d\n", rg.ecx, (int)(rg.edi + HIGH_BASE - (uint32_t)dst));
	hex("wrap32.insb3 buf", dst, 4);
}

/* A buffer crossing a page boundary, paging off. */
static void page_cross(void)
{
	uint8_t *p = page_pair[1] - 6;
	memset(page_pair, 0, sizeof(page_pair));
	outb(SCRATCH, 0x42);
	run(sio_insb, 12, SCRATCH, 0, p);
	regs("page_cross.insb12", 0, p);
	hex("page_cross.insb12 buf", p - 1, 14);
	fill(src, sizeof(src), 1, 1);
	memcpy(p, src, 12);
	run(sio_outsb, 12, SCRATCH, p, 0);
	regs("page_cross.outsb12", p, 0);
	printf("page_cross.outsb12 scratch=0x%02x\n", inb(SCRATCH));
}

/* Paging on: linear pages V and V+4K map to frames page_pair[1] and page_pair[0] (out of
 * order); then V+4K is made not present and a REP INSB runs into it. */
static uint8_t pt_pages[4][4096] __attribute__((aligned(4096)));
#define LIN_V 0x00800000u

/* The registers at the fault, before fault_record() moves on to the resume point. */
static void on_pf(struct idt_frame *f)
{
	rg.ecx = f->ecx;
	rg.edi = f->edi;
	fault_record(f);
}

static void paged_string_io(void)
{
	struct pt_pool pool = PT_POOL(pt_pages);
	void *pd = pt_alloc(&pool);
	for (uint32_t va = 0; va < (4u << 20); va += 4096)
		pt_map(&pool, PT_MODE_32, pd, va, va, PTE_P | PTE_W, 1);
	pt_map(&pool, PT_MODE_32, pd, LIN_V, (uint32_t)page_pair[1], PTE_P | PTE_W, 1);
	uint32_t *pte2 = pt_map(&pool, PT_MODE_32, pd, LIN_V + 4096, (uint32_t)page_pair[0],
				PTE_P | PTE_W, 1);
	memset(page_pair, 0, sizeof(page_pair));
	write_cr3((uint32_t)pd);
	write_cr0(read_cr0() | CR0_PG);
	uint8_t *v = (uint8_t *)(LIN_V + 4096 - 4);
	outb(SCRATCH, 0x6b);
	run(sio_insb, 8, SCRATCH, 0, v);
	regs("paged.insb8_cross", 0, v);
	hex("paged.insb8_cross frame1 end", page_pair[1] + 4092, 4);
	hex("paged.insb8_cross frame0 start", page_pair[0], 5);
	static const uint8_t pat[] = { 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6 };
	memcpy(v + 1, pat, sizeof(pat));
	run(sio_outsb_std, 6, SCRATCH, v + 6, 0);
	regs("paged.outsb6_cross_df1", v + 6, 0);
	printf("paged.outsb6_cross_df1 scratch=0x%02x\n", inb(SCRATCH));
	*pte2 = 0; /* V + 4K not present */
	invlpg(LIN_V + 4096);
	memset(page_pair, 0, sizeof(page_pair));
	rg.ecx = 10;
	rg.edx = SCRATCH;
	rg.edi = (uint32_t)v;
	rg.es = 0x10;
	idt_set_handler(VEC_PF, on_pf);
	int vec = fault_run((void (*)(void))sio_pf);
	fault_init();
	printf("paged.insb10_pf: vec=%d err=0x%x eip=+%d cr2=v+%d\n", vec, fault_last.error,
	       (int)(fault_last.eip - (uint32_t)sio_pf_at), (int)(fault_last.cr2 - (uint32_t)v));
	printf("paged.insb10_pf: ecx=0x%x edi=v+%d\n", rg.ecx, (int)(rg.edi - (uint32_t)v));
	hex("paged.insb10_pf frame1 end", page_pair[1] + 4092, 4);
	write_cr0(read_cr0() & ~CR0_PG);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	idt_init();
	fault_init();
	fault_gdt_set(SEL_WRAP / 8, fault_seg_desc((uint32_t)wrap_area + 0x1000, 0xffffffff, 0x92, true));
	fault_gdt_set(SEL_HIGH / 8, fault_seg_desc(HIGH_BASE, 0xffffffff, 0x92, true));
	uart_string_io();
	pic_string_io();
	cmos_string_io();
	fwcfg_string_io();
	pit_string_io();
	wrap_string_io();
	page_cross();
	paged_string_io();
	puts("RESULT done\n");
	return 0;
}
