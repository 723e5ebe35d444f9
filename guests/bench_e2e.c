/* bench_e2e.c - end-to-end workloads, booted both under the hypervisor and on bare Bochs (same
 * CPU model, no hypervisor); scripts/bench.py divides the two (docs/bench.md). One workload
 * per boot, chosen on the guest command line:
 *
 *   op=compute  n=N  N rounds of integer work on registers and a 1 KiB table: no exits
 *   op=fork     n=N  N fork-like rounds under 4-level paging (IA-32e, guests/lib/long.S):
 *                    a fresh address space (PML4, PDPT, PD, PT) mapping 256 new 4 KiB pages,
 *                    every page (and table) zeroed with 8-byte stores from 64-bit code, CR3
 *                    switched to it, one word of each page read, CR3 switched back, the
 *                    tables cleared and every page freed (a LIFO free list, as a kernel's)
 *   op=ctxsw    n=N  N context switches round-robin among 8 address spaces (32-bit paging)
 *                    of 64 private pages each; after each switch the "process" reads its
 *                    working set (one word per 64 bytes of each page) and writes one word per
 *                    page (every process has run twice before the timing starts)
 *   op=mmio     n=N  N reads of the local APIC version register (0xfee00030) with paging off
 *
 * The workload is timed with RDTSC (inside Bochs: instructions, the hypervisor's included when
 * it runs under one). Output:
 *
 *   BENCH name=<op> n=<N> total=<ticks> per_op=<ticks per round> [key=value ...]
 *   RESULT ok | RESULT error <why>
 */
#include "bench.h"
#include "guest.h"
#include "hv.h"
#include "pt.h"

/* ---- compute: no exits ---- */

static uint32_t table[256];

static void bench_compute(uint32_t n)
{
	uint32_t x = 2463534242u, acc = 0;
	for (int i = 0; i < 256; i++)
		table[i] = (uint32_t)i * 2654435761u;
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		acc += table[x & 255];
		table[(x >> 8) & 255] += x;
	}
	uint64_t t = rdtsc() - t0;
	char extra[40];
	snprintf(extra, sizeof(extra), " check=0x%08x", acc);
	bench_report("compute", n, (int64_t)t, extra);
}

/* ---- MMIO: local APIC version register ---- */

#define LAPIC_VERSION 0xfee00030u

static void bench_mmio(uint32_t n)
{
	/* Exactly n MMIO reads in the whole run (the runner divides the #PF exits by n). */
	uint32_t v, c = n;
	uint64_t t0 = rdtsc();
	__asm__ volatile("1: movl (%2), %0; dec %1; jnz 1b" : "=&a"(v), "+S"(c) : "b"(LAPIC_VERSION)
			 : "memory");
	uint64_t t = rdtsc() - t0;
	char extra[40];
	snprintf(extra, sizeof(extra), " version=0x%x", v);
	bench_report("mmio", n, (int64_t)t, extra);
}

/* ---- context switches: 8 address spaces x 64 pages, 32-bit paging ---- */

#define CS_SPACES 8
#define CS_PAGES 64
#define CS_VA 0x40000000u
#define P 1u
#define RW 2u
#define PS 0x80u

static uint32_t cs_pd[CS_SPACES][1024] __attribute__((aligned(4096)));
static uint32_t cs_pt[CS_SPACES][1024] __attribute__((aligned(4096)));
static uint8_t cs_frames[CS_SPACES][CS_PAGES][4096] __attribute__((aligned(4096)));

/* One time slice: the process reads its working set and writes one word per page. */
static uint32_t __attribute__((noinline)) cs_slice(void)
{
	uint32_t sum = 0;
	for (uint32_t p = 0; p < CS_PAGES; p++) {
		volatile uint32_t *pg = (volatile uint32_t *)(CS_VA + p * 4096);
		uint32_t s = 0;
		for (uint32_t w = 0; w < 1024; w += 16)
			s += pg[w];
		pg[1] = s;
		sum += s;
	}
	return sum;
}

static void bench_ctxsw(uint32_t n)
{
	for (int a = 0; a < CS_SPACES; a++) {
		for (uint32_t i = 0; i < 4; i++) /* 0-16 MiB: image, stack, tables */
			cs_pd[a][i] = (i << 22) | P | RW | PS;
		cs_pd[a][CS_VA >> 22] = (uint32_t)cs_pt[a] | P | RW;
		for (int p = 0; p < CS_PAGES; p++) {
			cs_pt[a][p] = (uint32_t)cs_frames[a][p] | P | RW;
			*(uint32_t *)cs_frames[a][p] = (uint32_t)(a * 1000 + p);
		}
	}
	if ((uint32_t)cs_frames + sizeof(cs_frames) > (16u << 20))
		bench_fail("ctxsw: the image ends above 16 MiB");
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)cs_pd[0]);
	write_cr0(read_cr0() | CR0_PG);
	uint32_t sum = 0;
	for (uint32_t i = 0; i < 2 * CS_SPACES; i++) { /* warm: every process has run twice */
		write_cr3((uint32_t)cs_pd[i % CS_SPACES]);
		sum += cs_slice();
	}
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		write_cr3((uint32_t)cs_pd[i % CS_SPACES]);
		sum += cs_slice();
	}
	uint64_t t = rdtsc() - t0;
	write_cr3((uint32_t)cs_pd[0]);
	char extra[40];
	snprintf(extra, sizeof(extra), " check=0x%08x", sum);
	bench_report("ctxsw", n, (int64_t)t, extra);
}

/* ---- fork-like: fresh 4-level address spaces ---- */

/* void fork_zero64(uint32_t addr, uint32_t qwords): zeroes with 8-byte stores, from 64-bit
 * code (the C code runs in compatibility mode after lm_enter()). Same far-jump pattern as
 * lm64_op in guests/lib/long.S. */
void fork_zero64(uint32_t addr, uint32_t qwords);
__asm__(".text\n"
	".code32\n"
	".global fork_zero64\n"
	"fork_zero64:\n"
	"	pushl %ebp\n"
	"	movl %esp, %ebp\n"
	"	pushl %edi\n"
	"	movl 8(%ebp), %edi\n"
	"	movl 12(%ebp), %ecx\n"
	"	ljmp $0x18, $1f\n"
	".code64\n"
	"1:	movl %esp, %esp\n"
	"	movl %edi, %edi\n"
	"	xorl %eax, %eax\n"
	"2:	movq %rax, (%rdi)\n"
	"	addq $8, %rdi\n"
	"	decl %ecx\n"
	"	jnz 2b\n"
	"	pushq $0x08\n"
	"	movl $3f, %edx\n"
	"	pushq %rdx\n"
	"	lretq\n"
	".code32\n"
	"3:	popl %edi\n"
	"	popl %ebp\n"
	"	ret\n");

#define FK_PAGES 256
#define FK_TABLES 4
#define FK_FRAMES (FK_PAGES + FK_TABLES + 16)
#define FK_CHILD_VA 0x40000000u /* PDPT index 1: 1 GiB */
#define PTE_RW (PTE_P | PTE_W)

static uint64_t fk_pml4[512] __attribute__((aligned(4096)));
static uint64_t fk_pdpt[512] __attribute__((aligned(4096)));
static uint64_t fk_pd[512] __attribute__((aligned(4096)));  /* the kernel's: shared */
static uint8_t fk_frames[FK_FRAMES][4096] __attribute__((aligned(4096)));
static uint32_t fk_free[FK_FRAMES];
static uint32_t fk_nfree;

static uint32_t fk_alloc(void)
{
	if (!fk_nfree)
		bench_fail("fork: out of frames");
	return fk_free[--fk_nfree];
}

static void fk_release(uint32_t f)
{
	fk_free[fk_nfree++] = f;
}

static void set64(uint32_t table, unsigned i, uint64_t v)
{
	((volatile uint64_t *)table)[i] = v;
}

static uint32_t fork_round(void)
{
	static uint32_t data[FK_PAGES];
	uint32_t pml4 = fk_alloc(), pdpt = fk_alloc(), pd = fk_alloc(), pt = fk_alloc();
	for (int i = 0; i < FK_PAGES; i++)
		data[i] = fk_alloc();
	fork_zero64(pml4, 512);
	fork_zero64(pdpt, 512);
	fork_zero64(pd, 512);
	fork_zero64(pt, 512);
	for (int i = 0; i < FK_PAGES; i++)
		fork_zero64(data[i], 512);
	set64(pml4, 0, pdpt | PTE_RW);
	set64(pdpt, 0, (uint32_t)fk_pd | PTE_RW); /* the kernel's identity map, shared */
	set64(pdpt, 1, pd | PTE_RW);
	set64(pd, 0, pt | PTE_RW);
	for (int i = 0; i < FK_PAGES; i++)
		set64(pt, (unsigned)i, data[i] | PTE_RW);
	write_cr3(pml4);
	uint32_t sum = 0;
	for (int i = 0; i < FK_PAGES; i++)
		sum += *(volatile uint32_t *)(FK_CHILD_VA + (uint32_t)i * 4096);
	write_cr3((uint32_t)fk_pml4);
	for (int i = 0; i < FK_PAGES; i++)
		set64(pt, (unsigned)i, 0);
	set64(pd, 0, 0);
	set64(pdpt, 0, 0);
	set64(pdpt, 1, 0);
	set64(pml4, 0, 0);
	for (int i = 0; i < FK_PAGES; i++) /* pages first, then the tables (as exit_mmap does) */
		fk_release(data[i]);
	fk_release(pt);
	fk_release(pd);
	fk_release(pdpt);
	fk_release(pml4);
	return sum;
}

static void bench_fork(uint32_t n)
{
	uint32_t r[4];
	cpuid(0x80000000, 0, r);
	if (r[0] < 0x80000001)
		bench_fail("fork: no extended CPUID leaves");
	cpuid(0x80000001, 0, r);
	if (!((r[3] >> 29) & 1))
		bench_fail("fork: no long mode");
	if ((uint32_t)fk_frames + sizeof(fk_frames) > (1u << 30))
		bench_fail("fork: the image ends above 1 GiB");
	/* Kernel address space: 0-1 GiB identity with 2 MiB pages. */
	fk_pml4[0] = (uint32_t)fk_pdpt | PTE_RW;
	fk_pdpt[0] = (uint32_t)fk_pd | PTE_RW;
	for (uint32_t i = 0; i < 512; i++)
		fk_pd[i] = ((uint64_t)i << 21) | PTE_RW | PTE_PS;
	for (uint32_t i = 0; i < FK_FRAMES; i++)
		fk_release((uint32_t)fk_frames[FK_FRAMES - 1 - i]);
	lm_idt_build();
	pt_gdt_init(true);
	lm_enter((uint32_t)fk_pml4, 0);
	(void)fork_round(); /* warm: the kernel's own pages mapped, as in a running system */
	uint32_t sum = 0;
	uint64_t t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++)
		sum += fork_round();
	uint64_t t = rdtsc() - t0;
	char extra[40];
	snprintf(extra, sizeof(extra), " check=0x%08x", sum);
	bench_report("fork", n, (int64_t)t, extra);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	uint32_t n = bench_start(mbi);
	bool hv = hv_present();
	printf("BENCHSTART guest=bench_e2e platform=%s\n", hv ? "hypervisor" : "bare");
	if (bench_arg_is("op", "compute"))
		bench_compute(n);
	else if (bench_arg_is("op", "mmio"))
		bench_mmio(n);
	else if (bench_arg_is("op", "ctxsw"))
		bench_ctxsw(n);
	else if (bench_arg_is("op", "fork"))
		bench_fork(n);
	else
		bench_fail("unknown or missing op= (compute fork ctxsw mmio)");
	printf("RESULT ok\n");
	return 0;
}
