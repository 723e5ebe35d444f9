/* bench_micro.c - micro-benchmarks of the hypervisor's exit paths, run under the hypervisor
 * only (scripts/bench.py, docs/bench.md). One operation per boot, chosen on the guest command
 * line, so that the exit-costs line of the run belongs to that operation:
 *
 *   op=cpuid|vmcall|pio|mov_dr7|mmio_fast|mmio_slow|shadow_fault|cr3_switch|memslot|zap  n=N
 *   op=timer|hlt|eoi|tpr|guest_pf  n=N  (the exits a Linux guest makes most: timer interrupts,
 *   HLT and the interrupt window, the EOI, TPR and CR8 writes, a reflected #PF)
 *   op=memslot also takes sizes=10,1000,100000 (MMIO sptes live during the moves)
 *
 * Each operation is timed with RDTSC around an assembly loop of N operations, minus the same
 * loop without the operation (the empty loop); inside Bochs RDTSC counts instructions
 * (PLATFORM.md), so the figures are instruction counts: the guest's own instruction(s) of the
 * operation plus everything the hypervisor executes for it. Output, one line per figure:
 *
 *   BENCH name=<op> n=<N> total=<ticks> per_op=<ticks, 2 decimals> [key=value ...]
 *   BENCHINFO <key=value ...>     facts that go with the figures (counters, checks)
 *   RESULT ok | RESULT error <why>
 */
#include "bench.h"
#include "guest.h"
#include "hv.h"
#include "pt.h"

#define P 1u
#define RW 2u
#define PS 0x80u
#define PCD 0x10u

/* The ticks of n rounds of the bare loop (DEC ESI, JNZ): what a timed loop of that shape costs
 * without its operation, to be subtracted from it. Inline: the code around the loop must be
 * the same as around the timed loops. */
static inline uint64_t empty_loop(uint32_t n)
{
	uint64_t t0 = rdtsc();
	__asm__ volatile("1: dec %0; jnz 1b" : "+S"(n)::"memory");
	return rdtsc() - t0;
}

/* ---- exits of one instruction: CPUID, VMCALL, IN ---- */

static void bench_cpuid(uint32_t n)
{
	uint64_t empty = empty_loop(n);
	uint32_t c = n;
	uint64_t t0 = rdtsc();
	__asm__ volatile("1: xor %%eax, %%eax; xor %%ecx, %%ecx; cpuid; dec %0; jnz 1b"
			 : "+S"(c)::"eax", "ebx", "ecx", "edx", "memory");
	uint64_t t = rdtsc() - t0;
	bench_report("cpuid", n, (int64_t)(t - empty), NULL);
}

static void bench_vmcall(uint32_t n)
{
	uint64_t empty = empty_loop(n);
	uint32_t c = n;
	uint64_t t0 = rdtsc();
	/* HC 0 (get ABI version): the null hypercall. */
	__asm__ volatile("1: xor %%eax, %%eax; vmcall; dec %0; jnz 1b" : "+S"(c)::"eax", "memory");
	uint64_t t = rdtsc() - t0;
	bench_report("vmcall", n, (int64_t)(t - empty), NULL);
}

static void bench_pio(uint32_t n)
{
	uint64_t empty = empty_loop(n);
	uint32_t c = n;
	uint64_t t0 = rdtsc();
	/* IN from COM1's line status register, an emulated 16550 register. */
	__asm__ volatile("1: inb %%dx, %%al; dec %0; jnz 1b" : "+S"(c) : "d"(0x3fd) : "eax", "memory");
	uint64_t t = rdtsc() - t0;
	bench_report("pio", n, (int64_t)(t - empty), NULL);
}

/* MOV to DR7 with its reset value 0x400 (a public suite's exit-cost test). MOV-DR exiting is
 * off (the guest owns its debug registers; VM entry and exit switch DR7 and DEBUGCTL), so this
 * costs no exit: the figure and BENCHINFO's exit count show that it stays so. (In Bochs each
 * one flushes the emulator's TLBs: microseconds of host time for one TSC tick, docs/bench.md.) */
static void bench_mov_dr7(uint32_t n)
{
	uint64_t empty = empty_loop(n);
	uint32_t c = n;
	uint32_t exits0 = hv_stat(STAT_EXITS);
	uint64_t t0 = rdtsc();
	__asm__ volatile("1: mov %1, %%dr7; dec %0; jnz 1b" : "+S"(c) : "r"(0x400u) : "memory");
	uint64_t t = rdtsc() - t0;
	/* minus the second HC_GET_STAT's own exit (the first one counted itself already) */
	uint32_t exits = hv_stat(STAT_EXITS) - exits0 - 1;
	bench_report("mov_dr7", n, (int64_t)(t - empty), NULL);
	printf("BENCHINFO mov_dr7.exits=%u\n", exits);
}

/* ---- 32-bit paging helpers (MMIO, cr3_switch, zap) ---- */

static void paging_on(uint32_t *pd)
{
	__asm__ volatile("mov %%cr4, %%eax; or %0, %%eax; mov %%eax, %%cr4" ::"i"(CR4_PSE) : "eax");
	__asm__ volatile("mov %0, %%cr3" ::"r"(pd) : "memory");
	__asm__ volatile("mov %%cr0, %%eax; or %0, %%eax; mov %%eax, %%cr0" ::"i"(CR0_PG)
			 : "eax", "memory");
}

static void identity_4m(uint32_t *pd, uint32_t npdes)
{
	for (uint32_t i = 0; i < npdes; i++)
		pd[i] = (i << 22) | P | RW | PS;
}

/* ---- MMIO: fast path (current MMIO spte) and slow path (stale: a memslot moved) ----
 * Both run as an OS driver does: 32-bit paging on, the register page mapped by a 4 KiB PTE
 * (ioremap) at MMIO_VA. The fast path then needs no walk at all; the slow path walks the
 * guest's two levels, looks the frame up in the memslots and refills the spte. */

#define MMIO_VA 0xc0000000u
static uint32_t pd_mmio[1024] __attribute__((aligned(4096)));
static uint32_t pt_mmio[1024] __attribute__((aligned(4096)));

static void map_registers(void)
{
	identity_4m(pd_mmio, 16); /* 0-64 MiB: the image, stack, tables */
	pd_mmio[MMIO_VA >> 22] = (uint32_t)pt_mmio | P | RW;
	pt_mmio[(MMIO_VA >> 12) & 1023] = SLOTDEV_REGS_GPA | P | RW | PCD;
	paging_on(pd_mmio);
	if (mmio_read32(MMIO_VA) != SLOTDEV_ID) /* the first read makes the MMIO spte */
		bench_fail("slotdev ID register does not read as SLOT");
}

static void bench_mmio_fast(uint32_t n)
{
	map_registers();
	uint32_t fast0 = hv_stat(STAT_MMIO_FAST), slow0 = hv_stat(STAT_MMIO_SLOW);
	uint64_t empty = empty_loop(n);
	uint32_t c = n;
	uint64_t t0 = rdtsc();
	__asm__ volatile("1: movl (%1), %%eax; dec %0; jnz 1b"
			 : "+S"(c) : "b"(MMIO_VA) : "eax", "memory");
	uint64_t t = rdtsc() - t0;
	uint32_t fast = hv_stat(STAT_MMIO_FAST) - fast0, slow = hv_stat(STAT_MMIO_SLOW) - slow0;
	bench_report("mmio_fast", n, (int64_t)(t - empty), NULL);
	printf("BENCHINFO mmio_fast.fast_hits=%u mmio_fast.slow_hits=%u\n", fast, slow);
}

/* N moves of the slotdev RAM window between A and B (each a memslot change: generation + 1,
 * every MMIO spte stale), optionally each followed by one read of the slotdev ID register
 * (which then takes the slow path). Returns the ticks of the loop. */
#define WIN_A SLOTDEV_WINDOW_GPA
#define WIN_B (SLOTDEV_WINDOW_GPA + 0x100000u)

static uint64_t move_loop(uint32_t n, int kind)
{
	uint32_t c = n, a = WIN_A, b = WIN_B;
	uint64_t t0 = rdtsc();
	if (kind == 0) /* empty: the same bookkeeping, no OUT */
		__asm__ volatile("1: xchg %1, %2; mov %1, %%eax; dec %0; jnz 1b"
				 : "+S"(c), "+D"(a), "+b"(b) : "d"(SLOTDEV_PORT_WINDOW) : "eax", "memory");
	else if (kind == 1) /* move */
		__asm__ volatile("1: xchg %1, %2; mov %1, %%eax; outl %%eax, %%dx; dec %0; jnz 1b"
				 : "+S"(c), "+D"(a), "+b"(b) : "d"(SLOTDEV_PORT_WINDOW) : "eax", "memory");
	else /* move, then read the register block: slow path */
		__asm__ volatile("1: xchg %1, %2; mov %1, %%eax; outl %%eax, %%dx; "
				 "movl (%3), %%eax; dec %0; jnz 1b"
				 : "+S"(c), "+D"(a), "+b"(b) : "c"(MMIO_VA), "d"(SLOTDEV_PORT_WINDOW)
				 : "eax", "memory");
	uint64_t t = rdtsc() - t0;
	if (n & 1) /* leave the window where it started */
		outl(SLOTDEV_PORT_WINDOW, WIN_A);
	return t;
}

static void bench_mmio_slow(uint32_t n)
{
	map_registers();
	uint64_t empty = move_loop(n, 0);
	uint64_t move = move_loop(n, 1);
	if (inl(SLOTDEV_PORT_STATUS) != 0)
		bench_fail("slotdev window move refused");
	uint32_t slow0 = hv_stat(STAT_MMIO_SLOW), fast0 = hv_stat(STAT_MMIO_FAST);
	uint64_t both = move_loop(n, 2);
	uint32_t slow = hv_stat(STAT_MMIO_SLOW) - slow0, fast = hv_stat(STAT_MMIO_FAST) - fast0;
	bench_report("memslot_move", n, (int64_t)(move - empty), NULL);
	bench_report("mmio_slow", n, (int64_t)(both - move), NULL);
	printf("BENCHINFO mmio_slow.slow_hits=%u mmio_slow.fast_hits=%u\n", slow, fast);
}

/* ---- memslot change with many MMIO sptes live ---- */

#define UNASSIGNED_GPA 0x10000000u /* 256 MiB: above guest RAM, below every device */

static void bench_memslot(uint32_t n)
{
	const char *s = bench_arg("sizes");
	if (!s)
		s = "10,1000,100000";
	uint64_t empty = move_loop(n, 0);
	while (*s >= '0' && *s <= '9') {
		uint32_t k = bench_parse_uint(&s);
		if (*s == ',')
			s++;
		if ((uint64_t)k * 4096 > 0xd0000000u - UNASSIGNED_GPA)
			bench_fail("sizes: too many pages for the unassigned range");
		/* k distinct unassigned pages: one current MMIO spte each (stale ones from the
		 * previous size are made current again). */
		uint32_t sptes0 = hv_stat(STAT_MMIO_SPTES), bad = 0;
		uint64_t t0 = rdtsc();
		for (uint32_t i = 0; i < k; i++)
			bad += mmio_read32(UNASSIGNED_GPA + i * 4096) != 0xffffffffu;
		uint64_t fill = rdtsc() - t0;
		uint32_t made = hv_stat(STAT_MMIO_SPTES) - sptes0;
		if (bad)
			bench_fail("unassigned pages do not read as all ones");
		/* The first move after the reads, timed alone ("first": every MMIO spte current);
		 * then the window goes back and n more moves are averaged (per_op). The sptes stay
		 * in the shadow tables, stale, during those: a change that visited MMIO sptes
		 * would visit them every time. */
		uint32_t a = WIN_B;
		t0 = rdtsc();
		__asm__ volatile("outl %%eax, %%dx" ::"a"(a), "d"(SLOTDEV_PORT_WINDOW) : "memory");
		uint64_t first = rdtsc() - t0;
		outl(SLOTDEV_PORT_WINDOW, WIN_A);
		uint64_t t = move_loop(n, 1);
		char extra[80], name[40];
		snprintf(extra, sizeof(extra), " sptes=%u first=%llu", made, first);
		snprintf(name, sizeof(name), "memslot_change_%u", k);
		bench_report(name, n, (int64_t)(t - empty), extra);
		printf("BENCHINFO memslot.%u.mmio_sptes_made=%u memslot.%u.fill_per_page=%llu\n", k, made,
		       k, k ? udiv64(fill, k) : 0);
	}
}

/* ---- shadow page fault: first touches of guest RAM with paging off ---- */

#define SF_BASE (32u << 20) /* fresh RAM: above the image, untouched so far */
#define REGION (2u << 20)   /* one direct shadow PT maps 2 MiB */

/* Touches (kind 1) or only walks (kind 0) n pages from SF_BASE, skipping the first page of
 * each 2 MiB region (touched beforehand, so that the region's shadow PT exists and each timed
 * touch maps exactly one 4 KiB page). */
static uint64_t touch_loop(uint32_t n, int kind)
{
	uint32_t c = n, a = SF_BASE;
	uint64_t t0 = rdtsc();
	if (kind)
		__asm__ volatile("1: add $4096, %1; test $0x1ff000, %1; jz 1b; "
				 "movl (%1), %%eax; dec %0; jnz 1b"
				 : "+S"(c), "+b"(a)::"eax", "memory");
	else
		__asm__ volatile("1: add $4096, %1; test $0x1ff000, %1; jz 1b; "
				 "leal (%1), %%eax; dec %0; jnz 1b"
				 : "+S"(c), "+b"(a)::"eax", "memory");
	return rdtsc() - t0;
}

static void bench_shadow_fault(uint32_t n, const struct mb1_info *mbi)
{
	uint32_t ram_end = (mbi->flags & 1) ? 0x100000u + mbi->mem_upper * 1024u : 0;
	uint32_t regions = (n + 510) / 511;
	if (SF_BASE + regions * REGION > ram_end)
		bench_fail("shadow_fault: not enough guest RAM above 32 MiB (raise guest_mem=)");
	for (uint32_t r = 0; r < regions; r++)
		(void)*(volatile uint32_t *)(SF_BASE + r * REGION);
	uint64_t empty = touch_loop(n, 0);
	uint32_t f0 = hv_stat(STAT_SHADOW_FAULTS), sp0 = hv_stat(STAT_SP_CREATED);
	uint64_t t = touch_loop(n, 1);
	uint32_t faults = hv_stat(STAT_SHADOW_FAULTS) - f0, sps = hv_stat(STAT_SP_CREATED) - sp0;
	bench_report("shadow_fault", n, (int64_t)(t - empty), NULL);
	printf("BENCHINFO shadow_fault.faults=%u shadow_fault.sp_created=%u\n", faults, sps);
}

/* ---- CR3 switch between two cached address spaces ---- */

static uint32_t pd_a[1024] __attribute__((aligned(4096)));
static uint32_t pd_b[1024] __attribute__((aligned(4096)));
static uint32_t pt_a[1024] __attribute__((aligned(4096)));
static uint32_t pt_b[1024] __attribute__((aligned(4096)));
static uint32_t frame_a[1024] __attribute__((aligned(4096)));
static uint32_t frame_b[1024] __attribute__((aligned(4096)));
#define SW_VA 0x40000000u

static void bench_cr3_switch(uint32_t n)
{
	n &= ~1u;
	if (!n)
		n = 2;
	identity_4m(pd_a, 16); /* 0-64 MiB: the image, stack, tables */
	identity_4m(pd_b, 16);
	pd_a[SW_VA >> 22] = (uint32_t)pt_a | P | RW;
	pd_b[SW_VA >> 22] = (uint32_t)pt_b | P | RW;
	pt_a[0] = (uint32_t)frame_a | P | RW;
	pt_b[0] = (uint32_t)frame_b | P | RW;
	frame_a[0] = 0xaaaa;
	frame_b[0] = 0xbbbb;
	paging_on(pd_a);
	volatile uint32_t *va = (volatile uint32_t *)SW_VA;
	uint32_t bad = 0;
	for (int i = 0; i < 4; i++) { /* warm: both address spaces shadowed and cached */
		__asm__ volatile("mov %0, %%cr3" ::"r"(pd_b) : "memory");
		bad += *va != 0xbbbb;
		__asm__ volatile("mov %0, %%cr3" ::"r"(pd_a) : "memory");
		bad += *va != 0xaaaa;
	}
	if (bad)
		bench_fail("cr3_switch: wrong page seen after a switch");
	uint32_t c = n / 2;
	uint64_t t0 = rdtsc();
	__asm__ volatile("1: movl (%1), %%eax; movl (%1), %%eax; dec %0; jnz 1b"
			 : "+S"(c) : "b"(SW_VA) : "eax", "memory");
	uint64_t empty = rdtsc() - t0;
	uint32_t created0 = hv_stat(STAT_SP_CREATED), reused0 = hv_stat(STAT_SP_REUSED);
	uint32_t faults0 = hv_stat(STAT_SHADOW_FAULTS);
	c = n / 2;
	t0 = rdtsc();
	__asm__ volatile("1: mov %2, %%cr3; movl (%1), %%eax; mov %3, %%cr3; movl (%1), %%eax; "
			 "dec %0; jnz 1b"
			 : "+S"(c) : "b"(SW_VA), "D"(pd_b), "d"(pd_a) : "eax", "memory");
	uint64_t t = rdtsc() - t0;
	uint32_t created = hv_stat(STAT_SP_CREATED) - created0;
	uint32_t reused = hv_stat(STAT_SP_REUSED) - reused0;
	uint32_t faults = hv_stat(STAT_SHADOW_FAULTS) - faults0;
	bench_report("cr3_switch", n, (int64_t)(t - empty), NULL);
	printf("BENCHINFO cr3_switch.sp_created=%u cr3_switch.sp_reused=%u cr3_switch.shadow_faults=%u\n",
	       created, reused, faults);
}

/* ---- zap of all shadow pages with many live ---- */

/* Guest page tables at 16 MiB.. (inside the 0-64 MiB identity map, which is never used to
 * touch them): PT i maps, in entries 0 and 512 (its two 2 MiB halves, two shadow PTs), its
 * own frame. Up to 8 page directories (address spaces) of 1008 such PTs each (PDEs 16-1023). */
#define ZAP_PT_BASE (16u << 20)
#define ZAP_PTS_PER_PD 1008u
#define ZAP_MAX_PDS 8u
static uint32_t zap_pd[ZAP_MAX_PDS][1024] __attribute__((aligned(4096)));

static void bench_zap(uint32_t n)
{
	uint32_t npt = (n + 1) / 2, npd = (npt + ZAP_PTS_PER_PD - 1) / ZAP_PTS_PER_PD;
	if (npd > ZAP_MAX_PDS || ZAP_PT_BASE + npt * 4096 > (64u << 20))
		bench_fail("zap: n too large (at most 16128 shadow pages)");
	for (uint32_t i = 0; i < npt; i++) {
		uint32_t *pt = (uint32_t *)(ZAP_PT_BASE + i * 4096);
		for (int k = 0; k < 1024; k++)
			pt[k] = 0;
		pt[0] = (uint32_t)pt | P;
		pt[512] = (uint32_t)pt | P;
	}
	for (uint32_t p = 0; p < npd; p++) {
		identity_4m(zap_pd[p], 16);
		for (uint32_t j = 0; j < ZAP_PTS_PER_PD; j++) {
			uint32_t i = p * ZAP_PTS_PER_PD + j;
			if (i < npt)
				zap_pd[p][16 + j] = (ZAP_PT_BASE + i * 4096) | P | RW;
		}
	}
	paging_on(zap_pd[0]);
	uint32_t bad = 0;
	for (uint32_t p = 0; p < npd; p++) {
		__asm__ volatile("mov %0, %%cr3" ::"r"(zap_pd[p]) : "memory");
		for (uint32_t j = 0; j < ZAP_PTS_PER_PD && p * ZAP_PTS_PER_PD + j < npt; j++) {
			uint32_t va = (16 + j) << 22, want = ZAP_PT_BASE + (p * ZAP_PTS_PER_PD + j) * 4096;
			bad += (*(volatile uint32_t *)va & ~0xfffu) != want;
			bad += (*(volatile uint32_t *)(va + REGION) & ~0xfffu) != want;
		}
	}
	if (bad)
		bench_fail("zap: self-mapped page tables read back wrong");
	/* Settle: let earlier obsolete pages (from the paging-off shadows) be freed. */
	for (int i = 0; i < 64; i++)
		(void)hv_stat(STAT_OBSOLETE_FREED);
	uint32_t live = hv_stat(STAT_SP_IN_USE);
	uint64_t base_min = ~0ull, base_sum = 0;
	for (int i = 0; i < 64; i++) {
		uint64_t t = rdtsc();
		(void)hv_stat(STAT_OBSOLETE_FREED);
		t = rdtsc() - t;
		base_sum += t;
		if (t < base_min)
			base_min = t;
	}
	uint32_t f0 = hv_stat(STAT_OBSOLETE_FREED), prev = f0;
	uint64_t t_start = rdtsc();
	hypercall(HC_ZAP_ALL, 0, 0, 0, 0);
	uint64_t zap_call = rdtsc() - t_start;
	uint32_t calls = 0, max_freed = 0, max_freed_all = 0;
	uint64_t max_cost = 0, max_cost_all = 0;
	for (;;) {
		uint64_t t = rdtsc();
		uint32_t f = hv_stat(STAT_OBSOLETE_FREED);
		t = rdtsc() - t;
		calls++;
		uint32_t d = f - prev;
		prev = f;
		if (t > max_cost_all)
			max_cost_all = t;
		if (d > max_freed_all)
			max_freed_all = d;
		/* The first calls also pay for the guest's own pages faulting in again (more than
		 * one exit in the window); from the 4th on each window is one exit. */
		if (calls > 3) {
			if (t > max_cost)
				max_cost = t;
			if (d > max_freed)
				max_freed = d;
		}
		if (f - f0 >= live || calls > 200000)
			break;
	}
	uint64_t total = rdtsc() - t_start;
	if (prev - f0 < live)
		bench_fail("zap: the obsolete pages were not all freed");
	int64_t zap_cost = (int64_t)(total - (uint64_t)calls * base_min);
	char extra[96];
	snprintf(extra, sizeof(extra), " call=%llu exits=%u", zap_call, calls);
	bench_report("zap_all", live, zap_cost, extra);
	snprintf(extra, sizeof(extra), " base=%llu max_freed=%u", base_min, max_freed);
	bench_report("zap_exit_max", 1, (int64_t)max_cost, extra);
	/* (two lines: the hypervisor cuts guest lines at 200 characters) */
	printf("BENCHINFO zap.live=%u zap.freed=%u zap.calls=%u zap.call_ticks=%llu zap.base_min=%llu "
	       "zap.base_avg=%llu\n", live, prev - f0, calls, zap_call, base_min,
	       udiv64(base_sum, 64));
	printf("BENCHINFO zap.max_exit=%llu zap.max_exit_all=%llu zap.max_freed_per_call=%u "
	       "zap.max_freed_per_call_all=%u zap.sp_in_use_after=%u\n", max_cost, max_cost_all,
	       max_freed, max_freed_all, hv_stat(STAT_SP_IN_USE));
}

/* ---- the exits a Linux guest makes most: timer interrupts, HLT, the interrupt window, EOI,
 * TPR and CR8, reflected page faults (issue 16) ----
 *
 * A figure here is the hypervisor's instructions per event, with the guest's own instructions
 * taken out by a calibration that runs the same guest code with the event raised by INT n
 * instead (no exit), or by counting the guest's instructions outright (the spin loops below).
 * docs/bench.md, "The exits a Linux guest makes most", has the method per figure.
 *
 * Handlers are small assembly stubs, each at a gate of its own (written through SIDT), so that
 * their instruction counts are fixed: BM_VEC takes the timer and self-IPI interrupts. */

#define APIC_BASE 0xfee00000u
#define APIC_VER 0x30u
#define APIC_TPR 0x80u
#define APIC_SVR 0xf0u
#define APIC_EOI 0xb0u
#define APIC_ICR_LO 0x300u
#define APIC_LVT_TIMER 0x320u
#define APIC_TMICT 0x380u
#define APIC_TDCR 0x3e0u
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define MSR_APIC_BASE 0x1bu
#define MSR_TSC_DEADLINE 0x6e0u
#define MSR_X2APIC_SELF_IPI 0x83fu
#define APIC_BASE_EXTD (1u << 10)
#define BM_VEC 0xec    /* Linux's local-timer vector */
#define BM_CAL_VEC 0xed /* the calibration twin of a stub */
#define TIMER_AHEAD 20000u /* ticks from arming to the deadline: the arming exit is over by then */

volatile uint32_t bm_hits;     /* interrupts the stubs took */
volatile uint32_t bm_eoi_ptr;  /* where a stub writes its EOI: the APIC's, or bm_ram */
volatile uint32_t bm_ram;      /* a RAM word: the EOI write of a calibration */
volatile uint32_t bm_stamp;    /* TSC (low half) at a stamping stub's third instruction */
volatile uint32_t bm_op_ticks; /* sum of the ticks around the timed instruction in a stub */

/* Stubs (32-bit interrupt gates, IF clear inside):
 * bm_count_stub: count and EOI, 6 instructions (push, incl, mov, movl, pop, iret).
 * bm_stamp_stub: TSC at its third instruction into bm_stamp, then EOI and count.
 * bm_eoi_stub: the EOI store alone between two RDTSCs, the difference added to bm_op_ticks.
 * bm_x2eoi_stub / bm_x2nop_stub: the same with the x2APIC EOI WRMSR (MSR 0x80b), and with
 * NOP in its place (the calibration: the same instructions around it).
 * bm_pf_stub / bm_pfcal_stub: the #PF handler of guest_pf, and its twin for INT n (below). */
void bm_count_stub(void), bm_stamp_stub(void), bm_eoi_stub(void), bm_x2eoi_stub(void),
	bm_x2nop_stub(void), bm_pf_stub(void), bm_pfcal_stub(void);
__asm__(".text\n.code32\n"
	"bm_count_stub:\n"
	"	pushl %eax\n"
	"	incl bm_hits\n"
	"	movl bm_eoi_ptr, %eax\n"
	"	movl $0, (%eax)\n"
	"	popl %eax\n"
	"	iret\n"
	"bm_stamp_stub:\n"
	"	pushl %eax\n"
	"	pushl %edx\n"
	"	rdtsc\n"
	"	movl %eax, bm_stamp\n"
	"	movl bm_eoi_ptr, %eax\n"
	"	movl $0, (%eax)\n"
	"	incl bm_hits\n"
	"	popl %edx\n"
	"	popl %eax\n"
	"	iret\n"
	"bm_eoi_stub:\n"
	"	pushal\n"
	"	movl bm_eoi_ptr, %ebx\n"
	"	rdtsc\n"
	"	movl %eax, %esi\n"
	"	movl $0, (%ebx)\n"
	"	rdtsc\n"
	"	subl %esi, %eax\n"
	"	addl %eax, bm_op_ticks\n"
	"	incl bm_hits\n"
	"	popal\n"
	"	iret\n"
	".macro bm_x2stub name, insn\n"
	"\\name:\n"
	"	pushal\n"
	"	movl $0x80b, %ecx\n"
	"	rdtsc\n"
	"	movl %eax, %esi\n"
	"	xorl %eax, %eax\n"
	"	xorl %edx, %edx\n"
	"	\\insn\n"
	"	rdtsc\n"
	"	subl %esi, %eax\n"
	"	addl %eax, bm_op_ticks\n"
	"	incl bm_hits\n"
	"	popal\n"
	"	iret\n"
	".endm\n"
	"bm_x2stub bm_x2eoi_stub, wrmsr\n"
	"bm_x2stub bm_x2nop_stub, nop\n"
	/* #PF: drop the error code, step over the 2-byte faulting MOV, return. The twin for
	 * INT n has nothing to drop: LEA, the same count, in place of the ADD. */
	"bm_pf_stub:\n"
	"	addl $4, %esp\n"
	"	addl $2, (%esp)\n"
	"	incl bm_hits\n"
	"	iret\n"
	"bm_pfcal_stub:\n"
	"	leal 0(%esp), %esp\n"
	"	addl $0, (%esp)\n"
	"	incl bm_hits\n"
	"	iret\n");

/* Points the gate of vector v at the stub (present, DPL 0, 32-bit interrupt gate). */
static void bm_gate(int v, void (*stub)(void))
{
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idtr;
	__asm__ volatile("sidt %0" : "=m"(idtr));
	uint32_t *g = (uint32_t *)(idtr.base + (uint32_t)v * 8), a = (uint32_t)stub;
	uint16_t cs;
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	g[0] = ((uint32_t)cs << 16) | (a & 0xffff);
	g[1] = (a & 0xffff0000u) | 0x8e00u;
}

static void apic_wr(uint32_t r, uint32_t v) { mmio_write32(APIC_BASE + r, v); }

/* The exits of the reasons these figures make, as counters around a loop. The HC_GET_STAT
 * calls that read them are VMCALL exits, counted in none of these reasons. */
enum { R_EXC = 0, R_WINDOW = 7, R_HLT = 12, R_CR = 28, R_WRMSR = 32, R_PREEMPT = 52 };
static const struct { uint32_t reason; const char *name; } bm_reasons[] = {
	{ R_EXC, "exception_nmi" }, { R_WINDOW, "interrupt_window" }, { R_HLT, "hlt" },
	{ R_CR, "cr_access" }, { R_WRMSR, "wrmsr" }, { R_PREEMPT, "preemption_timer" },
};
#define BM_NREASONS (sizeof(bm_reasons) / sizeof(bm_reasons[0]))
struct bm_exits { uint32_t c[BM_NREASONS]; };

static void bm_exits_read(struct bm_exits *e)
{
	for (uint32_t i = 0; i < BM_NREASONS; i++)
		e->c[i] = hv_stat(STAT_EXIT_REASON + bm_reasons[i].reason);
}

/* "BENCHEXITS name=<figure> <reason>=<count> ...": the exits of each reason since *e0 (only
 * the reasons that occurred), for the runner to divide by n. */
static void bm_exits_print(const char *name, const struct bm_exits *e0)
{
	struct bm_exits e1;
	bm_exits_read(&e1);
	char line[200];
	int len = snprintf(line, sizeof(line), "BENCHEXITS name=%s", name);
	for (uint32_t i = 0; i < BM_NREASONS; i++)
		if (e1.c[i] != e0->c[i])
			len += snprintf(line + len, sizeof(line) - (size_t)len, " %s=%u",
					bm_reasons[i].name, e1.c[i] - e0->c[i]);
	printf("%s\n", line);
}

static void bm_apic_setup(void)
{
	apic_wr(APIC_TPR, 0);
	apic_wr(APIC_SVR, 0x1ff); /* software-enabled, spurious vector 0xff */
	apic_wr(APIC_TDCR, 0xb); /* divide by 1 */
	bm_eoi_ptr = APIC_BASE + APIC_EOI;
}

/* Ticks of n INT BM_CAL_VEC into a stub, minus the empty loop: 1 + the stub's instructions. */
static uint64_t bm_int_loop(uint32_t n, void (*stub)(void))
{
	bm_gate(BM_CAL_VEC, stub);
	uint32_t w = 2;
	__asm__ volatile("1: int %1; dec %0; jnz 1b" : "+S"(w) : "i"(BM_CAL_VEC) : "memory");
	uint64_t empty = empty_loop(n);
	uint32_t c = n;
	uint64_t t0 = rdtsc();
	__asm__ volatile("1: int %1; dec %0; jnz 1b" : "+S"(c) : "i"(BM_CAL_VEC) : "memory");
	return rdtsc() - t0 - empty;
}

/* ---- timer interrupts: fire + deliver + EOI ----
 * Stolen time: over n interrupts, the guest's TSC advances by T while it executes G
 * instructions of its own (the spin loop's 3 per iteration, counted in EDI, the arming code,
 * the stub's 6); the rest, T - G, is what the hypervisor executed. G comes from a calibration
 * run of the same code with INT BM_VEC in place of the arming instruction: the interrupt then
 * comes at once, the spin loop goes round once, and every instruction is the guest's. So
 * T - G = T - T_cal - 3 * (spins - spins_cal). The arming instruction's own exit (WRMSR,
 * the TMICT write) is taken out with its cost measured alone, arming a far deadline. */

/* n rounds: arm the TSC deadline TIMER_AHEAD ticks ahead (or INT BM_VEC), spin until the
 * stub counted. Returns the ticks; *spins the spin iterations. */
#define DEADLINE_ROUNDS(ARM)                                                               \
	__asm__ volatile("1: rdtsc; addl %[d], %%eax; adcl $0, %%edx; movl %[msr], %%ecx; "  \
			 "movl bm_hits, %%ebx; " ARM "; "                                    \
			 "2: incl %%edi; cmpl %%ebx, bm_hits; je 2b; decl %%esi; jnz 1b"     \
			 : "+S"(c), "+D"(spins)                                              \
			 : [d] "i"(TIMER_AHEAD), [msr] "i"(MSR_TSC_DEADLINE), [vec] "i"(BM_VEC) \
			 : "eax", "ebx", "ecx", "edx", "memory")
/* The same with the one-shot APIC timer: initial count TIMER_AHEAD (divide by 1). */
#define ONESHOT_ROUNDS(ARM)                                                                \
	__asm__ volatile("1: movl bm_hits, %%ebx; " ARM "; "                                 \
			 "2: incl %%edi; cmpl %%ebx, bm_hits; je 2b; decl %%esi; jnz 1b"     \
			 : "+S"(c), "+D"(spins)                                              \
			 : [d] "i"(TIMER_AHEAD), [tmict] "c"(APIC_BASE + APIC_TMICT),        \
			   [vec] "i"(BM_VEC)                                                 \
			 : "eax", "ebx", "edx", "memory")

static uint64_t timer_rounds(uint32_t n, int kind, uint32_t *spins_out)
{
	uint32_t c = n, spins = 0;
	uint64_t t0 = rdtsc();
	if (kind == 0)
		DEADLINE_ROUNDS("wrmsr");
	else if (kind == 1)
		DEADLINE_ROUNDS("int %[vec]");
	else if (kind == 2)
		ONESHOT_ROUNDS("movl %[d], (%%ecx)");
	else
		ONESHOT_ROUNDS("int %[vec]");
	uint64_t t = rdtsc() - t0;
	*spins_out = spins;
	return t;
}

/* Arming alone, n times, deadlines that never come (the timer is disarmed after): the
 * arming instruction's round trip, minus the empty loop. */
static int64_t arm_alone(uint32_t n, bool deadline)
{
	uint64_t empty = empty_loop(n);
	uint32_t c = n;
	uint64_t t0 = rdtsc();
	if (deadline)
		__asm__ volatile("1: wrmsr; dec %0; jnz 1b"
				 : "+S"(c) : "c"(MSR_TSC_DEADLINE), "a"(0xffffffffu), "d"(0x7fffffffu)
				 : "memory");
	else
		__asm__ volatile("1: movl $0x7fffffff, (%1); dec %0; jnz 1b"
				 : "+S"(c) : "b"(APIC_BASE + APIC_TMICT) : "memory");
	uint64_t t = rdtsc() - t0;
	if (deadline)
		wrmsr(MSR_TSC_DEADLINE, 0);
	else
		apic_wr(APIC_TMICT, 0);
	return (int64_t)(t - empty);
}

/* One timer kind: name_arm (the arming round trip), name_cycle (arm + fire + deliver + EOI,
 * per interrupt) and name (fire + deliver + EOI: the cycle minus the arming exit). */
static void bench_timer_armed(uint32_t n, bool deadline)
{
	const char *name = deadline ? "timer_deadline" : "timer_oneshot";
	char nm[40];
	apic_wr(APIC_LVT_TIMER, BM_VEC | (deadline ? LVT_TSC_DEADLINE : 0));
	int64_t arm = arm_alone(n, deadline);
	snprintf(nm, sizeof(nm), "%s_arm", name);
	bench_report(nm, n, arm, NULL);
	uint32_t spins_cal, spins;
	bm_eoi_ptr = (uint32_t)&bm_ram;
	__asm__ volatile("sti" ::: "memory");
	(void)timer_rounds(2, deadline ? 1 : 3, &spins_cal); /* warm: every page touched once */
	uint64_t cal = timer_rounds(n, deadline ? 1 : 3, &spins_cal);
	bm_eoi_ptr = APIC_BASE + APIC_EOI;
	(void)timer_rounds(2, deadline ? 0 : 2, &spins);
	struct bm_exits e0;
	bm_exits_read(&e0);
	uint32_t hits0 = bm_hits;
	uint64_t t = timer_rounds(n, deadline ? 0 : 2, &spins);
	uint32_t hits = bm_hits - hits0;
	__asm__ volatile("cli" ::: "memory");
	if (hits != n)
		bench_fail("timer: not one interrupt per arming");
	/* the hypervisor's ticks: T minus the guest's (the calibration, plus the extra spins).
	 * The arming instruction counts one tick in T_cal (the INT in its place); in T it is an
	 * exit, whose round trip per op is arm / n, one tick of which is the instruction. */
	int64_t cycle = (int64_t)(t - cal) - 3 * ((int64_t)spins - (int64_t)spins_cal);
	char extra[64];
	snprintf(extra, sizeof(extra), " spins=%u", spins);
	snprintf(nm, sizeof(nm), "%s_cycle", name);
	bench_report(nm, n, cycle, extra);
	bm_exits_print(nm, &e0);
	int64_t arm_hv = arm - (int64_t)n; /* n arming instructions' exits, without themselves */
	bench_report(name, n, cycle - arm_hv, NULL);
}

/* The periodic APIC timer: nothing to arm. Spin until n more interrupts have come (the first
 * one is let by untimed, so the window starts after an interrupt has been handled); the
 * guest executed 3 instructions per spin plus the stub's 6 per interrupt, and the framing,
 * measured by the same spin with its target already reached. */
static uint64_t periodic_spin(uint32_t target, uint32_t *spins_out)
{
	uint32_t spins = 0;
	uint64_t t0 = rdtsc();
	__asm__ volatile("2: incl %0; cmpl %1, bm_hits; jb 2b" : "+D"(spins) : "S"(target) : "memory");
	uint64_t t = rdtsc() - t0;
	*spins_out = spins;
	return t;
}

#define PERIODIC_TICKS 20000u

static void bench_timer_periodic(uint32_t n)
{
	uint32_t spins_cal, spins;
	bm_eoi_ptr = (uint32_t)&bm_ram;
	int64_t stub = (int64_t)bm_int_loop(n, bm_count_stub) - (int64_t)n; /* without the INT */
	bm_eoi_ptr = APIC_BASE + APIC_EOI;
	uint64_t frame = periodic_spin(0, &spins_cal); /* one spin */
	uint32_t hits0 = bm_hits;
	apic_wr(APIC_LVT_TIMER, BM_VEC | LVT_PERIODIC);
	apic_wr(APIC_TMICT, PERIODIC_TICKS);
	__asm__ volatile("sti" ::: "memory");
	while (bm_hits == hits0)
		;
	struct bm_exits e0;
	bm_exits_read(&e0);
	uint32_t start = bm_hits;
	uint64_t t = periodic_spin(start + n, &spins);
	__asm__ volatile("cli" ::: "memory");
	uint32_t hits = bm_hits - start;
	bm_exits_print("timer_periodic", &e0);
	apic_wr(APIC_LVT_TIMER, BM_VEC | LVT_MASKED);
	apic_wr(APIC_TMICT, 0);
	/* the interrupts counted may be n or, when one came between the last spin's check and
	 * the CLI, n + 1: the window holds n stubs' work either way */
	int64_t guest = (int64_t)frame + 3 * ((int64_t)spins - (int64_t)spins_cal) + stub;
	char extra[64];
	snprintf(extra, sizeof(extra), " spins=%u period=%u stub=%llu", spins, PERIODIC_TICKS,
		 udiv64((uint64_t)stub, n));
	if (hits < n)
		bench_fail("timer_periodic: fewer interrupts than asked for");
	bench_report("timer_periodic", n, (int64_t)t - guest, extra);
}

static void bench_timer(uint32_t n)
{
	bm_apic_setup();
	bm_gate(BM_VEC, bm_count_stub);
	bench_timer_armed(n, true);
	bench_timer_armed(n, false);
	apic_wr(APIC_LVT_TIMER, BM_VEC | LVT_MASKED);
	bench_timer_periodic(n);
}

/* ---- HLT woken by a timer, HLT with the interrupt already pending, the interrupt window ----
 * Each is timed from a RDTSC in the guest to the stamp taken by bm_stamp_stub, minus the
 * same path with INT BM_VEC raising the interrupt (the instructions are then all the guest's;
 * the INT itself is 1 more than the real path has). */

/* Ticks from the RDTSC to the stub's stamp. kind: 0 "sti; nop" (the window opens after the
 * NOP), 1 the same with INT after the NOP, 2 "sti; hlt", 3 "sti; int", 4 "int" alone, 5
 * "sti; hlt" returning the stamp itself (the wake-up, compared with the deadline). */
static uint32_t stamp_path(int kind)
{
	uint32_t t0;
	if (kind == 0)
		__asm__ volatile("rdtsc; movl %%eax, %0; sti; nop; cli" : "=b"(t0) : : "eax", "edx", "memory");
	else if (kind == 1)
		__asm__ volatile("rdtsc; movl %%eax, %0; sti; nop; int %1; cli"
				 : "=b"(t0) : "i"(BM_VEC) : "eax", "edx", "memory");
	else if (kind == 2)
		__asm__ volatile("rdtsc; movl %%eax, %0; sti; hlt; cli" : "=b"(t0) : : "eax", "edx", "memory");
	else if (kind == 3)
		__asm__ volatile("rdtsc; movl %%eax, %0; sti; int %1; cli"
				 : "=b"(t0) : "i"(BM_VEC) : "eax", "edx", "memory");
	else if (kind == 4)
		__asm__ volatile("rdtsc; movl %%eax, %0; int %1" : "=b"(t0) : "i"(BM_VEC) : "eax", "edx", "memory");
	else {
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		return bm_stamp;
	}
	return bm_stamp - t0;
}

/* n rounds of one kind, the interrupt made pending first (IF clear: TSC deadline 1, due at
 * once) when pend. Returns the sum of the paths. */
static uint64_t stamp_rounds(uint32_t n, int kind, bool pend)
{
	uint64_t sum = 0;
	uint32_t hits0 = bm_hits;
	for (uint32_t i = 0; i < n; i++) {
		if (pend)
			wrmsr(MSR_TSC_DEADLINE, 1);
		sum += stamp_path(kind);
	}
	if (bm_hits - hits0 != n)
		bench_fail("hlt: not one interrupt per round");
	return sum;
}

static void bench_hlt(uint32_t n)
{
	bm_apic_setup();
	bm_gate(BM_VEC, bm_stamp_stub);
	apic_wr(APIC_LVT_TIMER, BM_VEC | LVT_TSC_DEADLINE);
	__asm__ volatile("cli" ::: "memory");
	bm_eoi_ptr = (uint32_t)&bm_ram;
	uint64_t cal_window = stamp_rounds(n, 1, false);
	uint64_t cal_hlt = stamp_rounds(n, 3, false);
	uint64_t cal_int = stamp_rounds(n, 4, false);
	bm_eoi_ptr = APIC_BASE + APIC_EOI;
	printf("BENCHINFO hlt.cal_window=%llu hlt.cal_hlt=%llu hlt.cal_int=%llu\n",
	       udiv64(cal_window, n), udiv64(cal_hlt, n), udiv64(cal_int, n));
	struct bm_exits e0;

	/* interrupt window: pending while IF=0, then STI; NOP and the window exit */
	bm_exits_read(&e0);
	uint64_t t = stamp_rounds(n, 0, true);
	bm_exits_print("intr_window", &e0);
	bench_report("intr_window", n, (int64_t)(t - (cal_window - n)), NULL);

	/* HLT with the interrupt pending: the HLT exit goes straight to the injection */
	bm_exits_read(&e0);
	t = stamp_rounds(n, 2, true);
	bm_exits_print("hlt_pending", &e0);
	bench_report("hlt_pending", n, (int64_t)(t - (cal_hlt - n)), NULL);

	/* HLT woken by the TSC deadline TIMER_AHEAD ticks after arming: from the deadline to the
	 * stub's stamp, minus the stub's instructions before its stamp (cal_int minus the
	 * RDTSC, MOV and INT before the delivery) */
	bm_exits_read(&e0);
	uint64_t late = 0;
	uint32_t hits0 = bm_hits;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t deadline = rdtsc() + TIMER_AHEAD;
		wrmsr(MSR_TSC_DEADLINE, deadline);
		late += stamp_path(5) - (uint32_t)deadline;
	}
	if (bm_hits - hits0 != n)
		bench_fail("hlt: not one interrupt per wake-up");
	bm_exits_print("hlt_wake", &e0);
	bench_report("hlt_wake", n, (int64_t)late - (int64_t)(cal_int - 3ull * n), NULL);
}

/* One figure: n 32-bit accesses to addr (stores of 0, or loads), a loop minus the empty loop,
 * with the exits of each reason around it. */
static void bm_mmio_loop(const char *name, uint32_t n, uint32_t addr, bool load)
{
	struct bm_exits e0;
	uint64_t empty = empty_loop(n);
	uint32_t c = n;
	bm_exits_read(&e0);
	uint64_t t0 = rdtsc();
	if (load)
		__asm__ volatile("1: movl (%1), %%eax; dec %0; jnz 1b"
				 : "+S"(c) : "b"(addr) : "eax", "memory");
	else
		__asm__ volatile("1: movl $0, (%1); dec %0; jnz 1b" : "+S"(c) : "b"(addr) : "memory");
	uint64_t t = rdtsc() - t0;
	bm_exits_print(name, &e0);
	bench_report(name, n, (int64_t)(t - empty), NULL);
}

/* ---- the LAPIC EOI write with an interrupt in service: xAPIC (MMIO) and x2APIC (WRMSR) ----
 * Self-IPIs (an ICR write, or the x2APIC SELF IPI MSR, with IF set: injected at that exit's
 * entry) whose stub times its EOI between two RDTSCs; minus the same stub entered by INT with
 * the EOI to RAM (xAPIC) or a NOP in place of the WRMSR (x2APIC); plus the EOI instruction
 * itself, as the other figures count the operation's instruction. */
static void bench_eoi(uint32_t n)
{
	bm_apic_setup();
	/* The parts, for where the EOI's cost goes: an EOI write with nothing in service, and
	 * a read of the APIC version register (the same MMIO exit, no write), each a loop minus
	 * the empty loop. */
	bm_mmio_loop("eoi_xapic_idle", n, APIC_BASE + APIC_EOI, false);
	bm_mmio_loop("apic_read", n, APIC_BASE + APIC_VER, true);
	struct bm_exits e0;
	uint32_t c;

	bm_eoi_ptr = (uint32_t)&bm_ram;
	bm_op_ticks = 0;
	(void)bm_int_loop(n, bm_eoi_stub);
	uint32_t cal = bm_op_ticks, hits0 = bm_hits;
	bm_eoi_ptr = APIC_BASE + APIC_EOI;
	bm_gate(BM_VEC, bm_eoi_stub);
	bm_op_ticks = 0;
	bm_exits_read(&e0);
	c = n;
	__asm__ volatile("sti; 1: movl %2, (%1); dec %0; jnz 1b; cli"
			 : "+S"(c) : "b"(APIC_BASE + APIC_ICR_LO), "i"(BM_VEC | (1u << 18)) : "memory");
	uint32_t real = bm_op_ticks;
	bm_exits_print("eoi_xapic", &e0);
	if (bm_hits - hits0 != n)
		bench_fail("eoi: not one self-IPI per ICR write");
	bench_report("eoi_xapic", n, (int64_t)real - (int64_t)cal + (int64_t)n, NULL);

	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 21))) {
		printf("BENCHINFO eoi_x2apic=no_x2apic\n");
		return;
	}
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | APIC_BASE_EXTD);
	bm_op_ticks = 0;
	(void)bm_int_loop(n, bm_x2nop_stub);
	cal = bm_op_ticks;
	hits0 = bm_hits;
	bm_gate(BM_VEC, bm_x2eoi_stub);
	bm_op_ticks = 0;
	bm_exits_read(&e0);
	c = n;
	__asm__ volatile("sti; 1: wrmsr; dec %0; jnz 1b; cli"
			 : "+S"(c) : "c"(MSR_X2APIC_SELF_IPI), "a"(BM_VEC), "d"(0) : "memory");
	real = bm_op_ticks;
	bm_exits_print("eoi_x2apic", &e0);
	if (bm_hits - hits0 != n)
		bench_fail("eoi: not one x2APIC self-IPI per write");
	bench_report("eoi_x2apic", n, (int64_t)real - (int64_t)cal + (int64_t)n, NULL);
}

/* ---- TPR: the xAPIC register (MMIO write, paging off) and CR8 (64-bit mode) ---- */

/* uint64_t bm_cr8_loop(uint32_t n, uint32_t kind): ticks of n MOV to CR8 (0) from 64-bit
 * code (kind 1), or of the same loop without it (kind 0). */
uint64_t bm_cr8_loop(uint32_t n, uint32_t kind);
__asm__(".text\n.code32\n"
	".global bm_cr8_loop\n"
	"bm_cr8_loop:\n"
	"	pushl %ebp\n"
	"	movl %esp, %ebp\n"
	"	pushl %ebx\n"
	"	pushl %esi\n"
	"	pushl %edi\n"
	"	movl 8(%ebp), %esi\n"
	"	movl 12(%ebp), %edi\n"
	"	ljmp $0x18, $1f\n"
	".code64\n"
	"1:	movl %esp, %esp\n"
	"	xorl %ebx, %ebx\n"
	"	rdtsc\n"
	"	shlq $32, %rdx\n"
	"	orq %rdx, %rax\n"
	"	movq %rax, %r8\n"
	"	testl %edi, %edi\n"
	"	jnz 3f\n"
	"2:	decl %esi\n"
	"	jnz 2b\n"
	"	jmp 4f\n"
	"3:	movq %rbx, %cr8\n"
	"	decl %esi\n"
	"	jnz 3b\n"
	"	jmp 4f\n"
	"4:	rdtsc\n"
	"	shlq $32, %rdx\n"
	"	orq %rdx, %rax\n"
	"	subq %r8, %rax\n"
	"	movq %rax, %rdx\n"
	"	shrq $32, %rdx\n"
	"	pushq $0x08\n"
	"	movl $5f, %ecx\n"
	"	pushq %rcx\n"
	"	lretq\n"
	".code32\n"
	"5:	popl %edi\n"
	"	popl %esi\n"
	"	popl %ebx\n"
	"	popl %ebp\n"
	"	ret\n");

static uint64_t lm_pml4[512] __attribute__((aligned(4096)));
static uint64_t lm_pdpt[512] __attribute__((aligned(4096)));
static uint64_t lm_pd[512] __attribute__((aligned(4096)));

static void bench_tpr(uint32_t n)
{
	apic_wr(APIC_TPR, 0); /* warm: the APIC page's MMIO spte made */
	bm_mmio_loop("tpr_xapic", n, APIC_BASE + APIC_TPR, false);

	/* CR8 exists in 64-bit mode only: IA-32e with 0-1 GiB identity-mapped by 2 MiB pages, as
	 * bench_e2e's fork does; the loop runs in a 64-bit code segment. */
	uint32_t r[4];
	cpuid(0x80000001, 0, r);
	if (!((r[3] >> 29) & 1))
		bench_fail("cr8: no long mode");
	lm_pml4[0] = (uint32_t)lm_pdpt | PTE_P | PTE_W;
	lm_pdpt[0] = (uint32_t)lm_pd | PTE_P | PTE_W;
	for (uint32_t i = 0; i < 512; i++)
		lm_pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_W | PTE_PS;
	lm_idt_build();
	pt_gdt_init(true);
	lm_enter((uint32_t)lm_pml4, 0);
	(void)bm_cr8_loop(2, 1); /* warm: the code and stack pages under the new paging */
	struct bm_exits e0;
	uint64_t empty = bm_cr8_loop(n, 0);
	bm_exits_read(&e0);
	uint64_t t = bm_cr8_loop(n, 1);
	bm_exits_print("cr8_write", &e0);
	bench_report("cr8_write", n, (int64_t)(t - empty), NULL);
}

/* ---- a guest #PF the guest must handle: a not-present guest PTE ----
 * 32-bit paging; VA 0x40000000's PTE is 0. Each MOV from it faults: with pf_bypass (the
 * default) the CPU delivers the fault to the guest without an exit after the first one
 * (docs/mmu.md); with pf_bypass=off every one is a #PF exit, the walk and the injection. Then
 * the guest's stub (4 instructions: drop the error code, step over the MOV, count, IRET).
 * Minus the twin stub entered by INT n (1 + 4 instructions), plus 1: the faulting MOV itself
 * retires nowhere, the INT retires once. The figure is the hypervisor's instructions per
 * fault (with the VM exit and entry where there is one); guest_pf.handled counts the faults
 * the guest's handler took. */
#define PF_VA 0x40000000u
static uint32_t pd_pf[1024] __attribute__((aligned(4096)));
static uint32_t pt_pf[1024] __attribute__((aligned(4096)));

static void bench_guest_pf(uint32_t n)
{
	identity_4m(pd_pf, 16);
	pd_pf[PF_VA >> 22] = (uint32_t)pt_pf | P | RW;
	paging_on(pd_pf);
	int64_t cal = (int64_t)bm_int_loop(n, bm_pfcal_stub);
	bm_gate(VEC_PF, bm_pf_stub);
	uint32_t c = 2;
	__asm__ volatile("1: movl (%1), %%eax; dec %0; jnz 1b" : "+S"(c) : "b"(PF_VA) : "eax", "memory");
	struct bm_exits e0;
	uint64_t empty = empty_loop(n);
	uint32_t g0 = hv_stat(STAT_GUEST_FAULTS), h0 = bm_hits;
	c = n;
	bm_exits_read(&e0);
	uint64_t t0 = rdtsc();
	__asm__ volatile("1: movl (%1), %%eax; dec %0; jnz 1b" : "+S"(c) : "b"(PF_VA) : "eax", "memory");
	uint64_t t = rdtsc() - t0;
	bm_exits_print("guest_pf", &e0);
	uint32_t h = bm_hits - h0;
	uint32_t g = hv_stat(STAT_GUEST_FAULTS) - g0;
	char extra[64];
	snprintf(extra, sizeof(extra), " handler=%llu", udiv64((uint64_t)cal, n) - 1);
	bench_report("guest_pf", n, (int64_t)(t - empty) - cal + (int64_t)n, extra);
	printf("BENCHINFO guest_pf.guest_faults=%u\n", g);
	printf("BENCHINFO guest_pf.handled=%u\n", h);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	uint32_t n = bench_start(mbi);
	uint32_t r[4];
	cpuid(1, 0, r);
	bool hv = r[2] & (1u << 31);
	if (hv) {
		cpuid(0x40000000, 0, r);
		hv = r[1] == 0x746f6c53u && r[2] == 0x6f736976u && r[3] == 0x00000072u;
	}
	if (!hv)
		bench_fail("not running under the hypervisor (these benchmarks need it)");
	printf("BENCHSTART guest=bench_micro cmdline='%s'\n", bench_cmdline);
	if (bench_arg_is("op", "cpuid"))
		bench_cpuid(n);
	else if (bench_arg_is("op", "vmcall"))
		bench_vmcall(n);
	else if (bench_arg_is("op", "pio"))
		bench_pio(n);
	else if (bench_arg_is("op", "mov_dr7"))
		bench_mov_dr7(n);
	else if (bench_arg_is("op", "mmio_fast"))
		bench_mmio_fast(n);
	else if (bench_arg_is("op", "mmio_slow"))
		bench_mmio_slow(n);
	else if (bench_arg_is("op", "memslot"))
		bench_memslot(n);
	else if (bench_arg_is("op", "shadow_fault"))
		bench_shadow_fault(n, mbi);
	else if (bench_arg_is("op", "cr3_switch"))
		bench_cr3_switch(n);
	else if (bench_arg_is("op", "zap"))
		bench_zap(n);
	else if (bench_arg_is("op", "timer"))
		bench_timer(n);
	else if (bench_arg_is("op", "hlt"))
		bench_hlt(n);
	else if (bench_arg_is("op", "eoi"))
		bench_eoi(n);
	else if (bench_arg_is("op", "tpr"))
		bench_tpr(n);
	else if (bench_arg_is("op", "guest_pf"))
		bench_guest_pf(n);
	else
		bench_fail("unknown or missing op= (cpuid vmcall pio mov_dr7 mmio_fast mmio_slow memslot "
			   "shadow_fault cr3_switch zap timer hlt eoi tpr guest_pf)");
	printf("RESULT ok\n");
	return 0;
}
