/* mmu_sound.c - soundness of the shadow MMU under a guest that pushes it where it broke
 * (issue 11). 32-bit paging, 4 KiB pages only. Five cases, each in address spaces of its own:
 *
 *   pae_root  A freed PAE root must not come back as one of its own page directories. With
 *             shadow_pages=64 the pool is filled so that root A is the 16th oldest live shadow
 *             page, A's directory is written (its shadows are zapped), another address space
 *             fills the pool to exactly d free pages, and CR3 goes back to A: the root fill runs
 *             the pool dry at quadrant d (zap all, the 16 oldest reclaimed). Then A's mapped
 *             pages must read A's own data and 80 addresses A does not map must #PF. Under the
 *             hypervisor the fill is steered with HC_GET_STAT (live and pool pages; when
 *             the hypervisor zaps everything before the pool is that full, the scenario is
 *             redone to the fullest it allows); on bare Bochs the same sequence runs with
 *             fixed counts.
 *   memslot   (hypervisor only) a page table inside a guest-created memslot: after the slot is
 *             deleted and added again, moved away (a new slot at the old address), or shrunk
 *             and grown back, the guest's entry is 0 and the access must #PF.
 *   emul      writes the hypervisor emulates must keep the shadows coherent: MOVSD from the
 *             local APIC's timer initial-count register into a PTE through a writable alias;
 *             REP MOVSD and REP STOSD through a self-mapped table, across the end of one page
 *             table into the next; REP STOSD from an unassigned MMIO page into two tables.
 *   mmio_pte  the PTE of a device page rewritten by that MOVSD to point at RAM: the next read
 *             (or write, when the PTE was dirty) must reach RAM, not the device.
 *   smap      (when CPUID.7.0:EBX.SMAP) CR4.SMAP: STAC then a first access to a user page
 *             (no shadow yet) must not fault; CLAC and a supervisor read of a user page #PF;
 *             a user page mapped onto the APIC, used from CPL3, then read at CPL0 with AC=0
 *             must #PF, with AC=1 it works.
 *
 * Every check prints "PASS name: what was seen" or "FAIL name: what was seen". Lines starting
 * with "HV " come only under the hypervisor (its statistics, HC_AUDIT after every case, the
 * memslot checks); all other lines must be the same on bare Bochs, the reference for the CPU
 * (tests/system/test_mmu_soundness.py compares them case by case between "BEGIN <case>" and
 * "END <case>"). Without "case=NAME" on the command line every case runs; "case=memslot_move",
 * "case=memslot_shrink" and "case=memslot_delete" end the run on purpose: a page table left
 * outside RAM, which the hypervisor must refuse to walk (docs/mmu.md). Ends with
 * "RESULT failures=N" and exit code N.
 */
#include "guest.h"
#include "hv.h"
#include "idt.h"
#include "pt.h"
#include "fault.h"

#define P 0x1u
#define W 0x2u
#define U 0x4u
#define PCD 0x10u
#define ACC 0x20u
#define DIRTY 0x40u
#define PTE(frame, flags) ((uint32_t)(frame) | (flags))
#define PDX(la) ((la) >> 22)
#define PTX(la) (((la) >> 12) & 0x3ff)
#define CR4_SMAP (1u << 21)

#define IMAGE_LO 0x00100000u /* pt0 maps 1-2 MiB (the image), nothing else below 4 MiB */
#define IMAGE_HI 0x00200000u
#define APIC 0xfee00000u      /* mapped at its own address (supervisor) in every space */
#define APIC_SVR 0xf0
#define APIC_LVT_TIMER 0x320
#define APIC_TMICT 0x380      /* timer initial count: reads back what was written */
#define APIC_TDCR 0x3e0
#define UNASSIGNED 0xd0000000u /* no RAM, no device: reads all ones, drops writes */

typedef uint32_t table_t[1024] __attribute__((aligned(4096)));

static bool hv;

/* ---- probes: one access at CPL0 or CPL3, faults recorded (guests/lib/fault.h) ---- */

/* probe(stub, va, val, user): runs stub with EDI = va and ESI = val at CPL0 (fault_run) or
 * CPL3 (fault_run_user); returns -1 or the vector, and leaves what a read got (EDX) in
 * probe_val (0xdeadbeef when it faulted). The CPL3 stubs sit alone on a page that is the
 * image's only user page, and touch no stack (INT 0x81 switches to the TSS stack). */
__asm__(".text\n"
	".global probe\n"
	"probe:\n"
	"	pushl %edi\n"
	"	pushl %esi\n"
	"	movl 12(%esp), %eax\n"
	"	movl 16(%esp), %edi\n"
	"	movl 20(%esp), %esi\n"
	"	movl 24(%esp), %ecx\n"
	"	movl $0xdeadbeef, %edx\n"
	"	pushl %eax\n"
	"	testl %ecx, %ecx\n"
	"	jnz 1f\n"
	"	call fault_run\n"
	"	jmp 2f\n"
	"1:	call fault_run_user\n"
	"2:	addl $4, %esp\n"
	"	movl %edx, probe_val\n"
	"	popl %esi\n"
	"	popl %edi\n"
	"	ret\n"
	".global k_rd, k_wr, k_rd_ac, k_wr_ac\n"
	"k_rd:	movl (%edi), %edx\n	ret\n"
	"k_wr:	movl %esi, (%edi)\n	ret\n"
	"k_rd_ac: stac\n	movl (%edi), %edx\n	clac\n	ret\n"
	"k_wr_ac: stac\n	movl %esi, (%edi)\n	clac\n	ret\n"
	".balign 4096\n"
	".global user_page, u_rd, u_wr\n"
	"user_page:\n"
	"u_rd:	movl (%edi), %edx\n	" FAULT_USER_DONE "\n"
	"u_wr:	movl %esi, (%edi)\n	" FAULT_USER_DONE "\n"
	".balign 4096\n");

extern char user_page[];
extern void k_rd(void), k_wr(void), k_rd_ac(void), k_wr_ac(void), u_rd(void), u_wr(void);
int probe(void (*stub)(void), uint32_t va, uint32_t val, int user);
volatile uint32_t probe_val;

static int rd(uint32_t va, uint32_t *v)
{
	int r = probe(k_rd, va, 0, 0);
	*v = probe_val;
	return r;
}

static int wr(uint32_t va, uint32_t v)
{
	return probe(k_wr, va, v, 0);
}

/* ---- reporting ---- */

static void report(bool hv_only, bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void report(bool hv_only, bool ok, const char *name, const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	printf("%s%s %s: %s\n", hv_only ? "HV " : "", ok ? "PASS" : "FAIL", name, buf);
	guest_failures += !ok;
}

/* Describes a probe's outcome: "ok val=0x..", "#PF ec=0x.. cr2=0x..", "vector N". */
static const char *outcome(int vec, uint32_t val)
{
	static char buf[64];
	if (vec < 0)
		snprintf(buf, sizeof(buf), "ok val=0x%08x", val);
	else if (vec == VEC_PF)
		snprintf(buf, sizeof(buf), "#PF ec=0x%x cr2=0x%08x", fault_last.error, fault_last.cr2);
	else
		snprintf(buf, sizeof(buf), "vector %d ec=0x%x", vec, fault_last.error);
	return buf;
}

static bool is_pf(int vec, uint32_t ec, uint32_t cr2)
{
	return vec == VEC_PF && fault_last.error == ec && fault_last.cr2 == cr2;
}

/* HC_AUDIT after each case: "HV audit <name> bad=N" (a bad spte is a failure). */
static void audit(const char *name)
{
	if (!hv)
		return;
	int32_t bad = hypercall(HC_AUDIT, 0, 0, 0, 0);
	printf("HV audit %s bad=%d\n", name, bad);
	guest_failures += bad != 0;
}

/* ---- frames and tables ---- */

static table_t pt0;      /* la 1-2 MiB -> the image (supervisor; user_page user) */
static table_t pt_dev;   /* la APIC -> the APIC (supervisor) */
static table_t pd_main;

static void fill(uint32_t *frame, uint32_t marker)
{
	for (int i = 0; i < 1024; i++)
		frame[i] = marker + (uint32_t)i;
}

static void pd_init(uint32_t *pd)
{
	memset(pd, 0, 4096);
	pd[0] = PTE(pt0, P | W | U);
	pd[PDX(APIC)] = PTE(pt_dev, P | W);
}

static void apic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC + reg) = v;
}

static uint32_t apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(APIC + reg);
}

/* The timer's initial-count register as a 32-bit scratch register any CPU model reads back:
 * the APIC enabled, the timer's LVT masked (no interrupt whatever count it holds). */
static void apic_scratch_init(void)
{
	apic_write(APIC_SVR, 0x1ff);
	apic_write(APIC_LVT_TIMER, 0x10000);
	apic_write(APIC_TDCR, 0xb);
}

static void movsd(uint32_t src, uint32_t dst)
{
	__asm__ volatile("cld; movsl" : "+S"(src), "+D"(dst) : : "memory");
}

static void rep_movsd(uint32_t src, uint32_t dst, uint32_t n)
{
	__asm__ volatile("cld; rep movsl" : "+S"(src), "+D"(dst), "+c"(n) : : "memory");
}

static void rep_stosd(uint32_t dst, uint32_t v, uint32_t n)
{
	__asm__ volatile("cld; rep stosl" : "+D"(dst), "+c"(n) : "a"(v) : "memory");
}

/* Reads 4 dwords at va: how many faulted (0 when all four were read). */
static int read4(uint32_t va, uint32_t v[4])
{
	int faults = 0;
	for (int i = 0; i < 4; i++)
		faults += rd(va + 4u * (uint32_t)i, &v[i]) >= 0;
	return faults;
}

/* Checks that va reads the first 4 dwords of frame (through the identity map). */
static bool reads_frame(uint32_t va, const uint32_t *frame, char *why, size_t n)
{
	uint32_t v[4];
	if (read4(va, v)) {
		int vec = rd(va, &v[0]);
		snprintf(why, n, "0x%08x: %s", va, outcome(vec, v[0]));
		return false;
	}
	if (memcmp(v, frame, sizeof(v))) {
		snprintf(why, n, "0x%08x reads 0x%08x 0x%08x 0x%08x 0x%08x, its page holds 0x%08x ...",
			 va, v[0], v[1], v[2], v[3], frame[0]);
		return false;
	}
	snprintf(why, n, "0x%08x reads 0x%08x 0x%08x 0x%08x 0x%08x", va, v[0], v[1], v[2], v[3]);
	return true;
}

static void check_reads_frame(const char *name, uint32_t va, const uint32_t *frame)
{
	char why[160];
	bool ok = reads_frame(va, frame, why, sizeof(why));
	report(false, ok, name, "%s", why);
}

/* ---- case pae_root ---- */

#define Q_DATA 0x01000000u /* A's data page in quadrant q: q GiB + 16 MiB */
#define B_FILL 0xc0000000u /* B's fill pages: 3 GiB + k * 2 MiB, k < 16 */
#define C_FILL 0x80000000u /* C's and D's: 2 GiB + k * 2 MiB, k < 64 */
#define B_FILL_MAX 16
#define C_FILL_MAX 64

static table_t pd_a, pd_b, pd_c, pd_d;
static table_t pt_a[4];    /* A's data tables, one per quadrant */
static table_t fill_b[8];  /* B's fill tables (each covers 2 fill pages) */
static table_t fill_c[32]; /* C's and D's fill tables (shared) */
static table_t data_a[4], fill_frame;

static uint32_t hv_in_use(void) { return hv_stat(STAT_SP_IN_USE); }

/* HC_ZAP_ALL, then exits until the obsolete pages are freed (16 per exit): afterwards
 * sp_in_use counts live pages only. */
static void hv_reset_pool(void)
{
	hypercall(HC_ZAP_ALL, 0, 0, 0, 0);
	uint32_t prev = ~0u;
	for (int i = 0; i < 32; i++) {
		uint32_t n = hv_in_use();
		if (n == prev)
			break;
		prev = n;
	}
}

static void touch(uint32_t va)
{
	(void)*(volatile uint32_t *)va;
}

/* Touches fill pages from base on (one new shadow page table each under the hypervisor)
 * until `live` shadow pages are live, at most max pages; on bare Bochs `bare_n` pages.
 * Returns the number touched; *zapped when the hypervisor zapped everything meanwhile (a
 * hypervisor may keep free pages in reserve and start over rather than run the pool dry). */
static uint32_t fill_to(uint32_t base, uint32_t max, uint32_t live, uint32_t bare_n,
			bool *zapped)
{
	uint32_t k = 0;
	*zapped = false;
	if (!hv) {
		for (; k < bare_n && k < max; k++)
			touch(base + k * 0x200000u);
		return k;
	}
	uint32_t zaps = hv_stat(STAT_ZAP_ALL);
	while (k < max && hv_in_use() < live) {
		touch(base + k++ * 0x200000u);
		if (hv_stat(STAT_ZAP_ALL) != zaps) {
			*zapped = true;
			break;
		}
	}
	return k;
}

static void pae_root_build(void)
{
	uint32_t *pds[4] = { pd_a, pd_b, pd_c, pd_d };
	for (int i = 0; i < 4; i++)
		pd_init(pds[i]);
	for (uint32_t q = 0; q < 4; q++) {
		uint32_t va = (q << 30) + Q_DATA;
		fill(data_a[q], 0xa1000000u + (q << 16));
		memset(pt_a[q], 0, 4096);
		pt_a[q][PTX(va)] = PTE(data_a[q], P | W);
		pd_a[PDX(va)] = PTE(pt_a[q], P | W);
	}
	fill(fill_frame, 0xf1110000u);
	for (uint32_t k = 0; k < B_FILL_MAX; k++) {
		uint32_t va = B_FILL + k * 0x200000u;
		fill_b[k / 2][PTX(va)] = PTE(fill_frame, P | W);
		pd_b[PDX(va)] = PTE(fill_b[k / 2], P | W);
	}
	for (uint32_t k = 0; k < C_FILL_MAX; k++) {
		uint32_t va = C_FILL + k * 0x200000u;
		fill_c[k / 2][PTX(va)] = PTE(fill_frame, P | W);
		pd_c[PDX(va)] = pd_d[PDX(va)] = PTE(fill_c[k / 2], P | W);
	}
}

/* In A: its 4 data pages read their own data, and 80 addresses it does not map (q GiB +
 * j * 2 MiB + m * 4 KiB, j < 4, m in 0-3 and 8: where the shadow PDs A's root could have been
 * confused with would show through) each raise #PF with error code 0 (supervisor read, not
 * present) and CR2 the address. */
static void pae_root_check(const char *tag)
{
	char name[64], why[160] = "";
	uint32_t own = 0, first_bad_q = 4;
	for (uint32_t q = 0; q < 4; q++) {
		char w[160];
		if (reads_frame((q << 30) + Q_DATA, data_a[q], w, sizeof(w)))
			own++;
		else if (first_bad_q == 4) {
			first_bad_q = q;
			memcpy(why, w, sizeof(why));
		}
	}
	snprintf(name, sizeof(name), "pae_root.%s.own_data", tag);
	if (own == 4)
		report(false, true, name, "4 of 4 mapped pages read their own data");
	else
		report(false, false, name, "%u of 4 mapped pages read their own data; %s", own, why);

	static const uint32_t ms[] = { 0, 1, 2, 3, 8 };
	uint32_t pf = 0, bad = 0, first = 0, v[4] = { 0 };
	int first_vec = -1;
	uint32_t first_ec = 0, first_cr2 = 0;
	for (uint32_t q = 0; q < 4; q++)
		for (uint32_t j = 0; j < 4; j++)
			for (uint32_t m = 0; m < 5; m++) {
				uint32_t va = (q << 30) | (j << 21) | (ms[m] << 12), x;
				int vec = rd(va, &x);
				if (is_pf(vec, 0, va)) {
					pf++;
					continue;
				}
				if (!bad++) {
					first = va;
					first_vec = vec;
					first_ec = fault_last.error;
					first_cr2 = fault_last.cr2;
					if (vec < 0)
						read4(va, v);
				}
			}
	snprintf(name, sizeof(name), "pae_root.%s.unmapped", tag);
	if (!bad)
		report(false, true, name, "80 of 80 reads of unmapped addresses raised #PF ec=0x0 "
		       "with cr2 the address");
	else if (first_vec < 0)
		report(false, false, name, "%u of 80 did not #PF; 0x%08x read without a fault: "
		       "0x%08x 0x%08x 0x%08x 0x%08x", bad, first, v[0], v[1], v[2], v[3]);
	else
		report(false, false, name, "%u of 80 did not #PF ec=0x0; 0x%08x: vector %d ec=0x%x "
		       "cr2=0x%08x", bad, first, first_vec, first_ec, first_cr2);
}

struct pae_scenario {
	uint32_t rank; /* root A's place among live shadow pages, oldest first */
	uint32_t free; /* free pool pages left when CR3 goes back to A */
	uint32_t *fill_pd;
	const char *fill_name;
};

/* Where a scenario stands when CR3 goes back to A (hypervisor figures). */
struct pae_fill {
	uint32_t live0, nb, before_a, in_a, after_write, nc, at_switch;
	bool zapped;
};

/* From a fresh pool to the moment before CR3 goes back to A: B's pages (older than root A),
 * A (root A and its PDs), a write to A's PD from B, then the fill address space's pages, at
 * most c_max, until s->free pages are free. */
static void pae_root_prepare(const struct pae_scenario *s, uint32_t pool, uint32_t c_max,
			     struct pae_fill *f)
{
	bool zapped;
	write_cr3((uint32_t)pd_b);
	if (hv)
		hv_reset_pool();
	f->live0 = hv ? hv_in_use() : 0;
	f->nb = fill_to(B_FILL, B_FILL_MAX, s->rank - 1, s->rank - 7, &zapped);
	f->before_a = hv ? hv_in_use() : 0;
	/* A: root A (the s->rank-th page), its 4 quadrant PDs; its data pages read once. */
	write_cr3((uint32_t)pd_a);
	for (uint32_t q = 0; q < 4; q++)
		touch((q << 30) + Q_DATA);
	f->in_a = hv ? hv_in_use() : 0;
	/* Back in B: a write to A's page directory (a PDE that stays 0) zaps A's quadrant PDs. */
	write_cr3((uint32_t)pd_b);
	*(volatile uint32_t *)&pd_a[0x3f0] = 0;
	f->after_write = hv ? hv_in_use() : 0;
	/* Another address space fills the pool to exactly s->free free pages. */
	write_cr3((uint32_t)s->fill_pd);
	f->nc = fill_to(C_FILL, c_max, pool - s->free, 39 - s->free, &f->zapped);
	f->at_switch = hv ? hv_in_use() : 0;
}

static void pae_root_scenario(const struct pae_scenario *s)
{
	char tag[32];
	snprintf(tag, sizeof(tag), "rank%u.free%u.%s", s->rank, s->free, s->fill_name);
	uint32_t pool = hv ? hv_stat(STAT_SP_POOL) : 64;
	bool small = pool <= 128; /* shadow_pages=64: the pool can be filled */
	struct pae_fill f;

	pae_root_prepare(s, pool, small ? C_FILL_MAX : 0, &f);
	if (f.zapped) {
		/* The hypervisor would not let the pool run that dry: the fullest it allows. */
		printf("HV pae_root.%s: the hypervisor zapped all at fill page %u; again with %u\n",
		       tag, f.nc, f.nc - 1);
		pae_root_prepare(s, pool, f.nc - 1, &f);
	}
	uint32_t zaps = hv ? hv_stat(STAT_ZAP_ALL) : 0;
	if (hv)
		printf("HV pae_root.%s: pool=%u live after reset=%u, B fill=%u -> %u live before A, "
		       "%u in A, %u after the write to A's PD, %s fill=%u -> %u live (%u free)%s: "
		       "switching back to A\n", tag, pool, f.live0, f.nb, f.before_a, f.in_a,
		       f.after_write, s->fill_name, f.nc, f.at_switch, pool - f.at_switch,
		       f.zapped ? " (zapped again)" : "");
	if (hv && !small)
		printf("HV pae_root.%s: pool of %u pages, not filled: run with shadow_pages=64\n", tag,
		       pool);
	write_cr3((uint32_t)pd_a);
	if (hv)
		printf("HV pae_root.%s: in A again, zap_all +%u\n", tag, hv_stat(STAT_ZAP_ALL) - zaps);
	pae_root_check(tag);
	audit(tag);
	write_cr3((uint32_t)pd_b);
}

static void case_pae_root(void)
{
	static const struct pae_scenario sc[] = {
		{ 16, 0, pd_c, "C" }, { 16, 1, pd_d, "D" }, { 16, 2, pd_c, "C" },
		{ 16, 3, pd_d, "D" }, { 16, 0, pd_d, "D" }, { 16, 1, pd_c, "C" },
		{ 15, 0, pd_c, "C" }, { 17, 0, pd_d, "D" },
	};
	pae_root_build();
	for (unsigned i = 0; i < sizeof(sc) / sizeof(sc[0]); i++)
		pae_root_scenario(&sc[i]);
	write_cr3((uint32_t)pd_main);
}

/* ---- case memslot (hypervisor only) ---- */

#define SLOT_ID 40
#define SLOT_ID2 41
#define SLOT_GPA 0x20000000u  /* mapped at la = gpa (pt_2id) */
#define SLOT_MOVED 0x21000000u /* mapped at la = gpa (pt_2mv) */
#define T2 0x30000000u        /* mapped through the page table in the slot */

static table_t pd_2, pt_2id, pt_2mv, frame_2;

static void memslot_build(void)
{
	pd_init(pd_2);
	for (uint32_t i = 0; i < 2; i++) {
		pt_2id[i] = PTE(SLOT_GPA + i * 4096, P | W);
		pt_2mv[i] = PTE(SLOT_MOVED + i * 4096, P | W);
	}
	pd_2[PDX(SLOT_GPA)] = PTE(pt_2id, P | W);
	pd_2[PDX(SLOT_MOVED)] = PTE(pt_2mv, P | W);
	fill(frame_2, 0x2a2a0000u);
}

static int32_t hc(const char *what, uint32_t nr, uint32_t a, uint32_t b, uint32_t c)
{
	int32_t r = hypercall(nr, a, b, c, 0);
	if (r)
		printf("HV memslot: %s returned %d\n", what, r);
	return r;
}

/* Adds the slot (2 pages at SLOT_GPA), puts the page table at SLOT_GPA + pt_off, maps T2
 * through it onto frame_2 and reads T2 once (the shadow is built). */
static bool memslot_setup(const char *name, uint32_t pt_off)
{
	char n[64], why[160];
	if (hc("add", HC_MEMSLOT_ADD, SLOT_ID, SLOT_GPA, 0x2000))
		return false;
	pd_2[PDX(T2)] = PTE(SLOT_GPA + pt_off, P | W);
	invlpg(T2);
	invlpg(SLOT_GPA + pt_off);
	*(volatile uint32_t *)(SLOT_GPA + pt_off) = PTE(frame_2, P | W);
	snprintf(n, sizeof(n), "%s.before", name);
	bool ok = reads_frame(T2, frame_2, why, sizeof(why));
	report(true, ok, n, "through the table in the slot: %s", why);
	return ok;
}

/* The access after the change must agree with the guest's own entry (read through the slot's
 * mapping): 0 -> #PF, not present. */
static void memslot_after(const char *name, uint32_t pt_la)
{
	char n[64];
	uint32_t pte = 0, v = 0;
	int pv = rd(pt_la, &pte);
	invlpg(T2);
	int vec = rd(T2, &v);
	snprintf(n, sizeof(n), "%s.after", name);
	if (pv >= 0)
		report(true, false, n, "the slot's page table at 0x%08x is unreadable: %s", pt_la,
		       outcome(pv, pte));
	else if (!(pte & P))
		report(true, is_pf(vec, 0, T2), n, "the guest's PTE reads 0x%08x, the access %s", pte,
		       outcome(vec, v));
	else
		report(true, vec < 0 && v == frame_2[0], n, "the guest's PTE reads 0x%08x, the "
		       "access %s", pte, outcome(vec, v));
}

static void case_memslot(void)
{
	if (!hv) {
		printf("BARE memslot: no hypervisor, no memslots\n");
		return;
	}
	memslot_build();
	write_cr3((uint32_t)pd_2);

	/* (a) deleted and added again at the same address: fresh zeroed backing. */
	if (memslot_setup("memslot.delete_readd", 0)) {
		hc("delete", HC_MEMSLOT_DELETE, SLOT_ID, 0, 0);
		hc("add again", HC_MEMSLOT_ADD, SLOT_ID, SLOT_GPA, 0x2000);
		memslot_after("memslot.delete_readd", SLOT_GPA);
		audit("memslot.delete_readd");
	}
	hypercall(HC_MEMSLOT_DELETE, SLOT_ID, 0, 0, 0);

	/* (b) moved away, a new slot at the old address. */
	if (memslot_setup("memslot.move_away", 0)) {
		hc("move", HC_MEMSLOT_MOVE, SLOT_ID, SLOT_MOVED, 0);
		hc("add at the old address", HC_MEMSLOT_ADD, SLOT_ID2, SLOT_GPA, 0x2000);
		memslot_after("memslot.move_away", SLOT_GPA);
		uint32_t moved = 0;
		int vec = rd(SLOT_MOVED, &moved);
		report(true, vec < 0 && (moved & ~(ACC | DIRTY)) == PTE(frame_2, P | W),
		       "memslot.move_away.contents_moved", "the moved slot's first word: %s",
		       outcome(vec, moved));
		audit("memslot.move_away");
	}
	hypercall(HC_MEMSLOT_DELETE, SLOT_ID, 0, 0, 0);
	hypercall(HC_MEMSLOT_DELETE, SLOT_ID2, 0, 0, 0);

	/* (c) shrunk (the page table's page cut off) and grown back. */
	if (memslot_setup("memslot.shrink_grow", 0x1000)) {
		hc("shrink", HC_MEMSLOT_RESIZE, SLOT_ID, 0x1000, 0);
		hc("grow", HC_MEMSLOT_RESIZE, SLOT_ID, 0x2000, 0);
		memslot_after("memslot.shrink_grow", SLOT_GPA + 0x1000);
		audit("memslot.shrink_grow");
	}
	hypercall(HC_MEMSLOT_DELETE, SLOT_ID, 0, 0, 0);
	write_cr3((uint32_t)pd_main);
}

/* The variants that end the run: the page table leaves RAM while T2's shadow exists. */
static void variant_memslot(const char *v)
{
	if (!hv) {
		printf("BARE memslot: no hypervisor, no memslots\n");
		return;
	}
	memslot_build();
	write_cr3((uint32_t)pd_2);
	bool shrink = !memcmp(v, "shrink", 6);
	char name[48];
	snprintf(name, sizeof(name), "memslot.%s", v);
	if (!memslot_setup(name, shrink ? 0x1000 : 0))
		return;
	uint32_t pt_gpa = SLOT_GPA + (shrink ? 0x1000 : 0);
	if (!memcmp(v, "move", 4))
		hc("move", HC_MEMSLOT_MOVE, SLOT_ID, SLOT_MOVED, 0);
	else if (shrink)
		hc("shrink", HC_MEMSLOT_RESIZE, SLOT_ID, 0x1000, 0);
	else
		hc("delete", HC_MEMSLOT_DELETE, SLOT_ID, 0, 0);
	printf("HV memslot.%s: reading 0x%08x, whose page table at 0x%08x is no longer RAM: the run "
	       "must end here\n", v, T2, pt_gpa);
	invlpg(T2);
	uint32_t x = 0;
	int vec = rd(T2, &x);
	snprintf(name, sizeof(name), "memslot.%s.run_ends", v);
	report(true, false, name, "the read went on: %s", outcome(vec, x));
	audit(name);
}

/* ---- case emul ---- */

#define X3 0x40000000u      /* its PTE: pt_x[0] */
#define X3_ALIAS 0x40400000u /* pt_x itself, writable */
#define Y1 0x50000000u      /* pt12[0]: [1] -> itself, [2] -> pt12[1], [1022], [1023] */
#define Y2 0x50400000u      /* pt12[1]: [0], [1] */
#define PT1_ALIAS (Y1 + 0x1000)
#define PT2_ALIAS (Y1 + 0x2000)
#define Z3 0x54000000u      /* [0] unassigned MMIO, [1] pt12[0], [2] pt12[1] (no self-map) */

static table_t pd_3, pt_x, pt_al, pt12[2], pt_z;
static table_t fa, fb, f_old[4], f_new[4], f_sto, f_mmio;

static void emul_build(void)
{
	pd_init(pd_3);
	fill(fa, 0x3a000000u);
	fill(fb, 0x3b000000u);
	for (uint32_t i = 0; i < 4; i++) {
		fill(f_old[i], 0x30000000u + (i << 16));
		fill(f_new[i], 0x31000000u + (i << 16));
	}
	fill(f_sto, 0x32000000u);
	fill(f_mmio, 0x33000000u);
	pt_x[0] = PTE(fa, P | W);
	pt_al[0] = PTE(pt_x, P | W);
	pd_3[PDX(X3)] = PTE(pt_x, P | W);
	pd_3[PDX(X3_ALIAS)] = PTE(pt_al, P | W);
	pt12[0][1] = PTE(pt12[0], P | W);
	pt12[0][2] = PTE(pt12[1], P | W);
	pt12[0][1022] = PTE(f_old[0], P | W);
	pt12[0][1023] = PTE(f_old[1], P | W);
	pt12[1][0] = PTE(f_old[2], P | W);
	pt12[1][1] = PTE(f_old[3], P | W);
	pd_3[PDX(Y1)] = PTE(pt12[0], P | W);
	pd_3[PDX(Y2)] = PTE(pt12[1], P | W);
	pt_z[0] = PTE(UNASSIGNED, P | W | PCD);
	pt_z[1] = PTE(pt12[0], P | W);
	pt_z[2] = PTE(pt12[1], P | W);
	pd_3[PDX(Z3)] = PTE(pt_z, P | W);
}

/* The four pages whose PTEs sit at the end of pt12[0] and the start of pt12[1]. */
static const uint32_t cross_va[4] = { Y1 + 1022 * 4096, Y1 + 1023 * 4096, Y2, Y2 + 4096 };

static void case_emul(void)
{
	char name[64];
	emul_build();
	write_cr3((uint32_t)pd_3);
	apic_scratch_init();

	/* (a) MOVSD from the APIC (faults on the device: emulated) into X3's PTE. */
	apic_write(APIC_TMICT, PTE(fb, P | W));
	check_reads_frame("emul.movsd_mmio_to_pte.before", X3, fa);
	touch(X3_ALIAS);
	movsd(APIC + APIC_TMICT, X3_ALIAS);
	invlpg(X3);
	printf("emul.movsd_mmio_to_pte: the PTE now holds 0x%08x\n", pt_x[0] & ~(ACC | DIRTY));
	check_reads_frame("emul.movsd_mmio_to_pte.after", X3, fb);
	audit("emul.movsd_mmio_to_pte");

	/* (b) REP MOVSD of 4 PTEs through the table's own mapping (the walk of the first write
	 * uses the table it writes), across the end of pt12[0] into pt12[1]. */
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "emul.rep_movsd_cross.before%d", i);
		check_reads_frame(name, cross_va[i], f_old[i]);
	}
	touch(PT1_ALIAS + 0xff8);
	touch(PT2_ALIAS);
	static uint32_t src[4];
	for (int i = 0; i < 4; i++)
		src[i] = PTE(f_new[i], P | W);
	rep_movsd((uint32_t)src, PT1_ALIAS + 0xff8, 4);
	for (int i = 0; i < 4; i++)
		invlpg(cross_va[i]);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "emul.rep_movsd_cross.after%d", i);
		check_reads_frame(name, cross_va[i], f_new[i]);
	}
	audit("emul.rep_movsd_cross");

	/* (c) REP STOSD, the same 4 PTEs. */
	for (int i = 0; i < 4; i++)
		touch(cross_va[i]);
	touch(PT1_ALIAS + 0xff8);
	touch(PT2_ALIAS);
	rep_stosd(PT1_ALIAS + 0xff8, PTE(f_sto, P | W), 4);
	for (int i = 0; i < 4; i++)
		invlpg(cross_va[i]);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "emul.rep_stosd_cross.after%d", i);
		check_reads_frame(name, cross_va[i], f_sto);
	}
	audit("emul.rep_stosd_cross");

	/* (d) REP STOSD starting on an unassigned MMIO page (emulated from its first store),
	 * then all of pt12[0] and the first 2 entries of pt12[1] (through pt_z, not the
	 * self-map). */
	for (int i = 0; i < 4; i++)
		touch(cross_va[i]);
	touch(Z3 + 0x1000);
	touch(Z3 + 0x2000);
	rep_stosd(Z3 + 0xff8, PTE(f_mmio, P | W), 2 + 1024 + 2);
	write_cr3(read_cr3());
	check_reads_frame("emul.rep_stosd_from_mmio.pt1_first", Y1, f_mmio);
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "emul.rep_stosd_from_mmio.after%d", i);
		check_reads_frame(name, cross_va[i], f_mmio);
	}
	audit("emul.rep_stosd_from_mmio");
	write_cr3((uint32_t)pd_main);
}

/* ---- case mmio_pte ---- */

#define Y4 0x60000000u       /* pt_y[0] -> APIC, clean; pt_y[1] -> APIC, dirty */
#define Y4_ALIAS 0x60400000u /* pt_y itself */

static table_t pd_4, pt_y, pt_al4, r4a, r4b;

static void case_mmio_pte(void)
{
	pd_init(pd_4);
	pt_y[0] = PTE(APIC, P | W | PCD);
	pt_y[1] = PTE(APIC, P | W | PCD | ACC | DIRTY);
	pt_al4[0] = PTE(pt_y, P | W);
	pd_4[PDX(Y4)] = PTE(pt_y, P | W);
	pd_4[PDX(Y4_ALIAS)] = PTE(pt_al4, P | W);
	fill(r4a, 0x4a000000u);
	fill(r4b, 0x4b000000u);
	write_cr3((uint32_t)pd_4);
	apic_scratch_init();
	uint32_t v = 0, same = 0;

	/* (a) a device page read a few times (its MMIO spte cached), then its PTE rewritten by
	 * MOVSD from the device to point at RAM: the next read must see RAM. */
	apic_write(APIC_TMICT, 0x00a5a5a5u);
	for (int i = 0; i < 4; i++) {
		rd(Y4 + APIC_TMICT, &v);
		same += v == 0x00a5a5a5u;
	}
	report(false, same == 4, "mmio_pte.read.before", "4 reads of the device through 0x%08x: %u "
	       "gave its register 0x00a5a5a5", Y4 + APIC_TMICT, same);
	apic_write(APIC_TMICT, PTE(r4a, P | W));
	rd(Y4 + APIC_TMICT, &v);
	movsd(Y4 + APIC_TMICT, Y4_ALIAS);
	invlpg(Y4);
	printf("mmio_pte.read: the PTE now holds 0x%08x\n", pt_y[0] & ~(ACC | DIRTY));
	check_reads_frame("mmio_pte.read.after", Y4 + APIC_TMICT, r4a + APIC_TMICT / 4);

	/* (b) the same with a dirty PTE (writes cached as allowed), then a write: it must land in
	 * RAM and leave the device alone. */
	uint32_t y = Y4 + 0x1000;
	apic_write(APIC_TMICT, 0x005a5a5au);
	same = 0;
	for (int i = 0; i < 3; i++) {
		rd(y + APIC_TMICT, &v);
		same += v == 0x005a5a5au;
	}
	wr(y + APIC_TMICT, 0x005a5a5au);
	report(false, same == 3, "mmio_pte.write.before", "3 reads of the device through 0x%08x: "
	       "%u gave its register 0x005a5a5a", y + APIC_TMICT, same);
	apic_write(APIC_TMICT, PTE(r4b, P | W | ACC | DIRTY));
	movsd(y + APIC_TMICT, Y4_ALIAS + 4);
	invlpg(y);
	printf("mmio_pte.write: the PTE now holds 0x%08x\n", pt_y[1] & ~(ACC | DIRTY));
	int vec = wr(y + APIC_TMICT, 0x4b4b4b4bu);
	uint32_t ram = r4b[APIC_TMICT / 4], dev = apic_read(APIC_TMICT);
	report(false, vec < 0 && ram == 0x4b4b4b4bu && dev == PTE(r4b, P | W | ACC | DIRTY),
	       "mmio_pte.write.after", "write of 0x4b4b4b4b to 0x%08x: %s; RAM there holds 0x%08x, "
	       "the device register 0x%08x", y + APIC_TMICT, vec < 0 ? "no fault" : outcome(vec, 0),
	       ram, dev);
	audit("mmio_pte");
	write_cr3((uint32_t)pd_main);
}

/* ---- case smap ---- */

#define U5 0x70000000u /* [0] u0, [1] u1, [2] u2 (user RAM); [3], [4] the APIC (user) */
#define SMAP_TRIES 100

static table_t pd_5, pt_u, u0, u1, u2;

/* A kernel's STAC access that retries on #PF, as an OS would: how many times it faulted
 * (SMAP_TRIES: it would never get through). */
static uint32_t stac_retry(void (*stub)(void), uint32_t va, uint32_t val, int *vec)
{
	uint32_t faults = 0;
	while (faults < SMAP_TRIES && (*vec = probe(stub, va, val, 0)) >= 0)
		faults++;
	return faults;
}

static void smap_case_line(const char *name, int vec, uint32_t val, uint32_t ec, uint32_t cr2)
{
	report(false, is_pf(vec, ec, cr2), name, "%s (want #PF ec=0x%x cr2=0x%08x)",
	       outcome(vec, val), ec, cr2);
}

static void case_smap(void)
{
	uint32_t r[4];
	cpuid(0, 0, r);
	uint32_t smap = 0;
	if (r[0] >= 7) {
		cpuid(7, 0, r);
		smap = (r[1] >> 20) & 1;
	}
	printf("smap: CPUID.7.0:EBX.SMAP=%u\n", smap);
	if (!smap)
		return;
	pd_init(pd_5);
	fill(u0, 0x50000000u);
	fill(u1, 0x51000000u);
	fill(u2, 0x52000000u);
	pt_u[0] = PTE(u0, P | W | U);
	pt_u[1] = PTE(u1, P | W | U);
	pt_u[2] = PTE(u2, P | W | U);
	pt_u[3] = PTE(APIC, P | W | U | PCD);
	pt_u[4] = PTE(APIC, P | W | U | PCD);
	pd_5[PDX(U5)] = PTE(pt_u, P | W | U);
	write_cr3((uint32_t)pd_5);
	apic_scratch_init();
	apic_write(APIC_TMICT, 0x13572468u);
	uint32_t cr4 = read_cr4();
	write_cr4(cr4 | CR4_SMAP);
	int vec;
	uint32_t v;

	/* (a) STAC, first accesses to user pages (no shadow yet): no fault. */
	uint32_t n = stac_retry(k_rd_ac, U5, 0, &vec);
	v = probe_val;
	report(false, n == 0 && v == u0[0], "smap.stac_read_fresh", "%u #PF before the read "
	       "went through%s; read 0x%08x", n, n == SMAP_TRIES ? " (never: a kernel that "
	       "retries hangs)" : "", v);
	if (n)
		printf("smap.stac_read_fresh: last fault %s\n", outcome(VEC_PF, 0));
	n = stac_retry(k_wr_ac, U5 + 0x1000, 0x51515151u, &vec);
	report(false, n == 0 && u1[0] == 0x51515151u, "smap.stac_write_fresh", "%u #PF before the "
	       "write went through%s; the page holds 0x%08x", n, n == SMAP_TRIES ? " (never)" : "",
	       u1[0]);
	if (n)
		printf("smap.stac_write_fresh: last fault %s\n", outcome(VEC_PF, 0));

	/* (b) CLAC: supervisor reads of user pages fault, with and without a shadow. */
	vec = probe(k_rd, U5 + 0x2000, 0, 0);
	smap_case_line("smap.clac_read_fresh", vec, probe_val, 0x1, U5 + 0x2000);
	vec = probe(k_rd, U5, 0, 0);
	smap_case_line("smap.clac_read_shadowed", vec, probe_val, 0x1, U5);

	/* (c) a user page onto the APIC: CPL0 with AC=0 faults, before and after CPL3 used it;
	 * with AC=1 it reads the device. */
	uint32_t ua = U5 + 0x3000 + APIC_TMICT, ub = U5 + 0x4000 + APIC_TMICT;
	vec = probe(k_rd, ub, 0, 0);
	smap_case_line("smap.mmio.k_read_before_user", vec, probe_val, 0x1, ub);
	for (int i = 0; i < 3; i++) {
		vec = probe(u_rd, ua, 0, 1);
		v = probe_val;
	}
	report(false, vec < 0 && v == 0x13572468u, "smap.mmio.u_read", "%s", outcome(vec, v));
	vec = probe(k_rd, ua, 0, 0);
	smap_case_line("smap.mmio.k_read_after_user", vec, probe_val, 0x1, ua);
	vec = probe(k_rd_ac, ua, 0, 0);
	report(false, vec < 0 && probe_val == 0x13572468u, "smap.mmio.k_read_stac", "%s",
	       outcome(vec, probe_val));
	/* Writes: CPL3 writes the register (the PTE becomes dirty), then CPL0 with AC=0. */
	vec = probe(u_wr, ua, 0x24681357u, 1);
	report(false, vec < 0 && apic_read(APIC_TMICT) == 0x24681357u, "smap.mmio.u_write",
	       "%s, the register holds 0x%08x", vec < 0 ? "no fault" : outcome(vec, 0),
	       apic_read(APIC_TMICT));
	vec = probe(u_wr, ua, 0x24681357u, 1);
	vec = probe(k_wr, ua, 0x11111111u, 0);
	uint32_t reg = apic_read(APIC_TMICT);
	report(false, is_pf(vec, 0x3, ua) && reg == 0x24681357u, "smap.mmio.k_write_after_user",
	       "%s, the register holds 0x%08x (want #PF ec=0x3 cr2=0x%08x, 0x24681357)",
	       vec < 0 ? "no fault" : outcome(vec, 0), reg, ua);

	write_cr4(cr4);
	audit("smap");
	write_cr3((uint32_t)pd_main);
}

/* ---- the run ---- */

static const char *arg_of(struct mb1_info *mbi, const char *key)
{
	const char *cl = (mbi->flags & 4) ? (const char *)mbi->cmdline : "";
	size_t kl = strlen(key);
	for (const char *p = cl; *p; p++)
		if (!memcmp(p, key, kl))
			return p + kl;
	return NULL;
}

static bool wanted(const char *sel, const char *name)
{
	size_t n = strlen(name);
	return !sel || (!memcmp(sel, name, n) && (sel[n] == 0 || sel[n] == ' '));
}

static void run(const char *sel, const char *name, void (*fn)(void))
{
	if (!wanted(sel, name))
		return;
	printf("BEGIN %s\n", name);
	fn();
	printf("END %s\n", name);
}

/* Ends the run unless everything the tables map lies where pt0 maps it. */
static void image_below(uint32_t end)
{
	extern char pt_kstack_top[], fault_user_stack_top[];
	const uint32_t top[] = { (uint32_t)pt_kstack_top, (uint32_t)fault_user_stack_top,
				 (uint32_t)u2 + sizeof(u2), (uint32_t)fill_c + sizeof(fill_c),
				 (uint32_t)pd_main + sizeof(pd_main) };
	for (unsigned i = 0; i < sizeof(top) / 4; i++)
		if (top[i] > end || top[i] < IMAGE_LO) {
			printf("ERROR the image reaches 0x%x, beyond 0x%x\n", top[i], end);
			guest_exit(0x7d);
		}
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	const char *sel = arg_of(mbi, "case=");
	static char selbuf[32];
	if (sel) {
		size_t i = 0;
		for (; i < sizeof(selbuf) - 1 && sel[i] && sel[i] != ' '; i++)
			selbuf[i] = sel[i];
		selbuf[i] = 0;
		sel = selbuf;
	}
	serial_init();
	idt_init();
	pt_gdt_init(false);
	fault_init();
	puts("TEST mmu_sound\n");
	hv = hv_present();
	if (hv)
		printf("HV hypervisor detected; shadow pool %u pages\n", hv_stat(STAT_SP_POOL));
	image_below(IMAGE_HI);

	for (uint32_t a = IMAGE_LO; a < IMAGE_HI; a += 4096)
		pt0[PTX(a)] = PTE(a, P | W);
	pt0[PTX((uint32_t)user_page)] |= U;
	pt_dev[PTX(APIC)] = PTE(APIC, P | W | PCD);
	pd_init(pd_main);
	write_cr3((uint32_t)pd_main);
	write_cr0(read_cr0() | CR0_PG | CR0_WP);
	puts("paging on\n");

	if (sel && !memcmp(sel, "memslot_", 8)) {
		variant_memslot(sel + 8);
		printf("RESULT failures=%d\n", guest_failures);
		return guest_failures;
	}
	run(sel, "pae_root", case_pae_root);
	run(sel, "memslot", case_memslot);
	run(sel, "emul", case_emul);
	run(sel, "mmio_pte", case_mmio_pte);
	run(sel, "smap", case_smap);
	printf("RESULT failures=%d\n", guest_failures);
	return guest_failures;
}
