/* diff_sse.c - x87 and SSE state kept across exits: with CR4.OSFXSR set, XMM0-7 hold patterns,
 * MXCSR and the x87 control word non-default values (rounding down, flush-to-zero, single
 * precision) and the x87 stack eight values; then many exits (CPUID, IN from the COM1 LSR, OUT
 * to its scratch register, RDMSR, MOV to CR0, MMIO reads of the APIC version register, HLT
 * woken by the APIC timer); then FXSAVE, and arithmetic whose results depend on that state.
 * Printed for a line-by-line comparison with QEMU (tests/system/test_differential.py).
 *
 * FXSAVE fields left out of the comparison: FOP, FIP/FCS/FDP/FDS (QEMU 7.2 TCG does not keep
 * the FPU opcode), MXCSR_MASK (a property of the CPU model) and the bytes the format reserves. */
#include "guest.h"
#include "idt.h"

#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_NE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define APIC 0xfee00000u
#define VEC_TIMER 0x30

static uint8_t fx[512] __attribute__((aligned(16)));
static uint32_t xmm_init[8][4] __attribute__((aligned(16)));
static volatile uint32_t ticks;

static uint32_t apic_rd(uint32_t r) { return *(volatile uint32_t *)(APIC + r); }
static void apic_wr(uint32_t r, uint32_t v) { *(volatile uint32_t *)(APIC + r) = v; }
static void on_timer(struct idt_frame *f) { (void)f; ticks++; apic_wr(0xb0, 0); }

static uint32_t rd_cr0(void)
{
	uint32_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static uint32_t rd_cr4(void)
{
	uint32_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static void wr_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v)); }
static void wr_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v)); }

/* FNV-1a over n bytes. */
static uint32_t fnv(const uint8_t *p, unsigned n, uint32_t h)
{
	for (unsigned i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static void load_state(void)
{
	static const uint16_t fcw = 0x047f; /* all masked, single precision, round down */
	static const uint32_t mxcsr = 0xbf80; /* all masked, round down, flush to zero */
	static const int32_t ints[3] = { 12345, -7, 1000000007 };
	for (int i = 0; i < 8; i++)
		for (int j = 0; j < 4; j++)
			xmm_init[i][j] = 0x01010101u * (uint32_t)(i * 4 + j + 1) ^ (0x80000000u >> i);
	__asm__ volatile("movaps 0x00(%0), %%xmm0\n movaps 0x10(%0), %%xmm1\n"
			 "movaps 0x20(%0), %%xmm2\n movaps 0x30(%0), %%xmm3\n"
			 "movaps 0x40(%0), %%xmm4\n movaps 0x50(%0), %%xmm5\n"
			 "movaps 0x60(%0), %%xmm6\n movaps 0x70(%0), %%xmm7\n"
			 : : "r"(xmm_init) : "memory");
	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
	__asm__ volatile("fninit\n fldcw %0\n fld1\n fldpi\n fldl2e\n fldln2\n fildl %1\n"
			 "fildl %2\n fildl %3\n fldz\n"
			 : : "m"(fcw), "m"(ints[0]), "m"(ints[1]), "m"(ints[2]));
}

static void many_exits(void)
{
	uint32_t r[4], sum = 0;
	for (int i = 0; i < 40; i++) {
		cpuid((uint32_t)i & 1, 0, r);
		sum += inb(0x3fd) & 0x60;
		outb(0x3ff, (uint8_t)i);
		sum += (uint32_t)rdmsr(0x277) & 1;
		wr_cr0(rd_cr0());
		sum += apic_rd(0x30) & 0xff;
	}
	printf("exits.sum=0x%x\n", sum);
	apic_wr(0xf0, 0x1ff);
	apic_wr(0x3e0, 0x3);
	for (int i = 0; i < 5; i++) {
		apic_wr(0x320, VEC_TIMER); /* one-shot */
		apic_wr(0x380, 0x4000);
		for (int spins = 0; ticks < (uint32_t)i + 1 && spins < 1000; spins++)
			__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	apic_wr(0x320, 0x10000);
	printf("hlt.timer_ticks=%u\n", ticks);
}

static void print_fxsave(void)
{
	__asm__ volatile("fxsave %0" : "=m"(fx));
	uint16_t fcw = *(uint16_t *)fx, fsw = *(uint16_t *)(fx + 2);
	uint32_t mxcsr = *(uint32_t *)(fx + 24);
	printf("fxsave fcw=0x%04x fsw=0x%04x ftw=0x%02x mxcsr=0x%08x\n", fcw, fsw, fx[4], mxcsr);
	uint32_t h = 2166136261u;
	for (int i = 0; i < 8; i++) {
		const uint8_t *st = fx + 32 + 16 * i;
		h = fnv(st, 10, h);
		printf("fxsave st%d=%04x%08x%08x\n", i, *(uint16_t *)(st + 8), *(uint32_t *)(st + 4),
		       *(uint32_t *)st);
	}
	printf("fxsave st_hash=0x%08x\n", h);
	h = fnv(fx + 160, 128, 2166136261u);
	printf("fxsave xmm_hash=0x%08x xmm_equal_to_loaded=%u\n", h,
	       memcmp(fx + 160, xmm_init, 128) == 0);
	for (int i = 0; i < 8; i += 7) {
		const uint32_t *x = (const uint32_t *)(fx + 160 + 16 * i);
		printf("fxsave xmm%d=%08x%08x%08x%08x\n", i, x[3], x[2], x[1], x[0]);
	}
}

/* Results that depend on MXCSR.RC and the x87 precision/rounding control kept above. */
static void arithmetic(void)
{
	static const float a4[4] __attribute__((aligned(16))) = { 1.0f, 1e-20f, 3.0f, -2.5f };
	static const float b4[4] __attribute__((aligned(16))) = { 3.0f, 1e-20f, 0.1f, 1e10f };
	static const double ad = 1.0 / 3.0, bd = 3.0;
	static const float one = 1.0f, three = 3.0f;
	static uint32_t out[4] __attribute__((aligned(16))), sum[4] __attribute__((aligned(16)));
	static uint32_t dq[2] __attribute__((aligned(16))), q;
	__asm__ volatile("movaps %1, %%xmm0\n addps %2, %%xmm0\n movaps %%xmm0, %0"
			 : "=m"(sum) : "m"(a4), "m"(b4));
	printf("addps=%08x %08x %08x %08x\n", sum[0], sum[1], sum[2], sum[3]);
	__asm__ volatile("movsd %1, %%xmm1\n mulsd %2, %%xmm1\n movsd %%xmm1, %0"
			 : "=m"(dq) : "m"(ad), "m"(bd));
	printf("mulsd=%08x%08x\n", dq[1], dq[0]);
	__asm__ volatile("movss %1, %%xmm2\n divss %2, %%xmm2\n movss %%xmm2, %0"
			 : "=m"(q) : "m"(one), "m"(three));
	printf("divss_1_3=%08x\n", q);
	__asm__ volatile("movaps %1, %%xmm3\n mulps %1, %%xmm3\n movaps %%xmm3, %0"
			 : "=m"(out) : "m"(b4));
	printf("mulps_ftz=%08x %08x %08x %08x\n", out[0], out[1], out[2], out[3]);
	uint32_t mx;
	__asm__ volatile("stmxcsr %0" : "=m"(mx));
	printf("mxcsr_after=0x%x\n", mx);
	/* x87 at single precision, rounding down: 1/3 (one register freed first: the stack is
	 * full). */
	uint32_t f;
	__asm__ volatile("fstp %%st(0)\n flds %1\n fdivs %2\n fstps %0"
			 : "=m"(f) : "m"(one), "m"(three));
	printf("x87_1_3=%08x\n", f);
	uint16_t sw;
	__asm__ volatile("fnstsw %0" : "=a"(sw));
	printf("x87_fsw_after=0x%04x\n", sw);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	idt_init();
	idt_set_handler(VEC_TIMER, on_timer);
	uint32_t r[4];
	cpuid(1, 0, r);
	/* XSAVE is not compared: QEMU's default CPU model lacks it, the hypervisor passes the
	 * host's (a CPU-model difference, not a platform one). */
	printf("cpuid.fxsr=%u sse=%u sse2=%u\n", (r[3] >> 24) & 1, (r[3] >> 25) & 1,
	       (r[3] >> 26) & 1);
	wr_cr0((rd_cr0() | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS));
	wr_cr4(rd_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	load_state();
	many_exits();
	print_fxsave();
	arithmetic();
	puts("RESULT done\n");
	return 0;
}
