/* paging.h - the steps the paging guests (guests/paging32.c, pae.c, long64.c) share, on top of
 * pt.h: their start, the CPUID facts they print, frames, the 4 KiB test pages with their
 * matrix and A/D lines, A/D of a large page, and two address spaces switched by CR3.
 *
 * All static inline, no .c file: every object in guests/lib is linked into every guest, and
 * code there would grow every guest's image. That moves what some guests print: the addresses
 * of their page tables and frames (hostile_wide.c; long64.c's cr2 values, whose frames sit
 * right after the image) and how many shadow faults touching their code takes (soak.c).
 */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include "guest.h"
#include "hv.h"
#include "idt.h"
#include "pt.h"

/* serial_init(), idt_init(), "TEST <name>" and, under the hypervisor, "HV hypervisor
 * detected". Returns hv_present(). */
static inline bool pt_guest_start(const char *name)
{
	serial_init();
	idt_init();
	printf("TEST %s\n", name);
	bool hv = hv_present();
	if (hv)
		printf("HV hypervisor detected\n");
	return hv;
}

/* CPUID 0x80000001 EDX (LM, NX, 1 GiB pages) and 0x80000008 EAX (MAXPHYADDR): 0, and 36, where
 * the leaf is missing. */
struct pt_cpu {
	uint32_t lm, nx, gbpages, maxphys;
};

static inline struct pt_cpu pt_cpu_ext(void)
{
	struct pt_cpu c = { .maxphys = 36 };
	uint32_t r[4];
	cpuid(0x80000000, 0, r);
	uint32_t maxext = r[0];
	if (maxext >= 0x80000001) {
		cpuid(0x80000001, 0, r);
		c.lm = (r[3] >> 29) & 1;
		c.nx = (r[3] >> 20) & 1;
		c.gbpages = (r[3] >> 26) & 1;
	}
	if (maxext >= 0x80000008) {
		cpuid(0x80000008, 0, r);
		c.maxphys = r[0] & 0xff;
	}
	return c;
}

/* Ends the run unless the whole pool lies below end: the guests' large pages map physical 0
 * onward and reach their frames (pool pages) through them. */
static inline void pt_pool_below(const struct pt_pool *pool, uint32_t end)
{
	if ((uint32_t)(pool->pages + pool->n) > end) {
		printf("ERROR the image ends above %u MiB\n", end >> 20);
		guest_exit(0x7d);
	}
}

/* A page from the pool with marker in its first word (what reads of it show) and the exec stub
 * at +0x100 (what fetches run). */
static inline uint32_t *pt_frame(struct pt_pool *pool, uint32_t marker)
{
	uint32_t *f = pt_alloc(pool);
	f[0] = marker;
	pt_put_exec_stub((uint8_t *)f + 0x100);
	return f;
}

/* pt_access() and pt_print_case() in one: "case <name>: ...". */
static inline void pt_case(const char *name, enum pt_access_kind k, uint32_t va, uint32_t wval,
			   bool user)
{
	struct pt_probe p = pt_access(k, va, wval, user);
	pt_print_case(name, &p);
}

/* ---- the 4 KiB test pages ---- */

/* Supervisor/user x read-only/read-write (and with NX), a not-present PTE, a reserved bit
 * (bit 51; PAE and 4-level only), and pages whose PDE takes W or U away (or adds NX):
 * permissions combined across levels. Each has a frame of its own, marker 0xa0000000 + its
 * index. */
struct pt_page {
	const char *name;
	uint32_t va;
	uint32_t *frame;
	void *leaf; /* its PTE */
};
#define PT_MAX_PAGES 12

/* One test page: offset from the base, PTE flags, and what changes in the PDE above it. */
struct pt_page_spec {
	const char *name;
	uint32_t off;
	uint64_t pte, pde_clear, pde_set;
};

/* Maps the mode's test pages from base on (the PDE cases each under a PDE of their own) into
 * pages[]; returns how many there are. */
static inline int pt_test_pages(struct pt_pool *pool, enum pt_mode m, void *root, uint32_t base,
				struct pt_page *pages)
{
	static const struct pt_page_spec pages32[] = {
		{ "s_ro", 0x0000, PTE_P, 0, 0 },
		{ "s_rw", 0x1000, PTE_P | PTE_W, 0, 0 },
		{ "u_ro", 0x2000, PTE_P | PTE_U, 0, 0 },
		{ "u_rw", 0x3000, PTE_P | PTE_W | PTE_U, 0, 0 },
		{ "np", 0x4000, PTE_W | PTE_U, 0, 0 }, /* not present, other bits set */
		{ "pde_ro", 0x400000, PTE_P | PTE_W | PTE_U, PTE_W, 0 },
		{ "pde_s", 0x800000, PTE_P | PTE_W | PTE_U, PTE_U, 0 },
	};
	static const struct pt_page_spec pages64[] = {
		{ "s_ro", 0x0000, PTE_P, 0, 0 },
		{ "s_rw", 0x1000, PTE_P | PTE_W, 0, 0 },
		{ "u_ro", 0x2000, PTE_P | PTE_U, 0, 0 },
		{ "u_rw", 0x3000, PTE_P | PTE_W | PTE_U, 0, 0 },
		{ "np", 0x4000, PTE_W | PTE_U | PTE_NX, 0, 0 },
		{ "s_rw_nx", 0x5000, PTE_P | PTE_W | PTE_NX, 0, 0 },
		{ "u_ro_nx", 0x6000, PTE_P | PTE_U | PTE_NX, 0, 0 },
		{ "u_rw_nx", 0x7000, PTE_P | PTE_W | PTE_U | PTE_NX, 0, 0 },
		{ "rsvd51", 0x8000, PTE_P | PTE_W | PTE_U | PTE_BIT51, 0, 0 },
		{ "pde_ro", 0x200000, PTE_P | PTE_W | PTE_U, PTE_W, 0 },
		{ "pde_s", 0x400000, PTE_P | PTE_W | PTE_U, PTE_U, 0 },
		{ "pde_nx", 0x600000, PTE_P | PTE_W | PTE_U, 0, PTE_NX },
	};
	_Static_assert(sizeof(pages64) / sizeof(pages64[0]) <= PT_MAX_PAGES, "PT_MAX_PAGES");
	const struct pt_page_spec *spec = m == PT_MODE_32 ? pages32 : pages64;
	int n = m == PT_MODE_32 ? (int)(sizeof(pages32) / sizeof(pages32[0]))
				: (int)(sizeof(pages64) / sizeof(pages64[0]));
	for (int i = 0; i < n; i++) {
		pages[i].name = spec[i].name;
		pages[i].va = base + spec[i].off;
		pages[i].frame = pt_frame(pool, 0xa0000000u + (uint32_t)i);
		pages[i].leaf = pt_map(pool, m, root, pages[i].va, (uint32_t)pages[i].frame,
				       spec[i].pte, 1);
		if (spec[i].pde_clear || spec[i].pde_set) {
			void *e = pt_entry(m, root, pages[i].va, 2);
			pt_set(m, e, (pt_get(m, e) & ~spec[i].pde_clear) | spec[i].pde_set);
		}
	}
	return n;
}

/* pt_matrix() on each page (page i writes 0xc0000000 + (i << 4) + 1..3). */
static inline void pt_matrix_pages(const struct pt_page *pages, int n, bool exec)
{
	for (int i = 0; i < n; i++)
		pt_matrix(pages[i].name, pages[i].va, 0xc0000000u + ((uint32_t)i << 4), exec,
			  pages[i].frame);
}

/* pt_print_ad() of each page's PTE. */
static inline void pt_print_ad_pages(enum pt_mode m, const struct pt_page *pages, int n)
{
	for (int i = 0; i < n; i++)
		pt_print_ad(m, pages[i].name, pages[i].leaf, true);
}

/* ---- accessed and dirty bits ---- */

/* "<tag> <when>: pde A=. pte A=. D=." for a PDE and the PTE under it. */
static inline void pt_print_ad_pair(enum pt_mode m, const char *tag, const char *when,
				    const void *pde, const void *pte)
{
	printf("%s %s: pde A=%u pte A=%u D=%u\n", tag, when, (unsigned)(pt_get(m, pde) >> 5) & 1,
	       (unsigned)(pt_get(m, pte) >> 5) & 1, (unsigned)(pt_get(m, pte) >> 6) & 1);
}

/* Clears the PTE's A and D and the PDE's A, drops va's TLB entry, prints "<tag> cleared: ...". */
static inline void pt_ad_clear(enum pt_mode m, const char *tag, void *pde, void *pte,
			       uint32_t va)
{
	pt_set(m, pte, pt_get(m, pte) & ~(PTE_A | PTE_D));
	pt_set(m, pde, pt_get(m, pde) & ~PTE_A);
	invlpg(va);
	pt_print_ad_pair(m, tag, "cleared", pde, pte);
}

/* A and D of a large page (leaf: its PDE or PDPTE) mapping va, which backing shows through the
 * identity map: cleared (and the TLB entry dropped), then a read (at CPL3 if user_read) and a
 * write of 0xd1000000 at the other privilege level, the entry's bits after each:
 * "ad <tag>.cleared", "case <tag>_ad.u_read", "ad <tag>.after_read", "case <tag>_ad.k_write",
 * "ad <tag>.after_write", "mem <tag>_ad: 0x<backing[0]>". */
static inline void pt_ad_large(enum pt_mode m, const char *tag, void *leaf, uint32_t va,
			       const volatile uint32_t *backing, bool user_read)
{
	char name[40];
	pt_set(m, leaf, pt_get(m, leaf) & ~(PTE_A | PTE_D));
	invlpg(va);
	snprintf(name, sizeof(name), "%s.cleared", tag);
	pt_print_ad(m, name, leaf, true);
	snprintf(name, sizeof(name), "%s_ad.%s", tag, user_read ? "u_read" : "k_read");
	pt_case(name, PT_READ, va, 0, user_read);
	snprintf(name, sizeof(name), "%s.after_read", tag);
	pt_print_ad(m, name, leaf, true);
	snprintf(name, sizeof(name), "%s_ad.%s", tag, user_read ? "k_write" : "u_write");
	pt_case(name, PT_WRITE, va, 0xd1000000u, !user_read);
	snprintf(name, sizeof(name), "%s.after_write", tag);
	pt_print_ad(m, name, leaf, true);
	printf("mem %s_ad: 0x%08x\n", tag, *backing);
}

/* ---- two address spaces ---- */

#define PT_SWITCH_ROUNDS 50

/* Two address spaces that map va onto different frames, a in as1 and b in as2 (both frames
 * also seen through an identity map the two share): CR3 switched to as2 and back
 * PT_SWITCH_ROUNDS times, va read after each switch. Prints "case cr3_switch: ..." (how often
 * va showed the right frame) and, under the hypervisor, how the shadow-page statistics grew
 * (sp_reused must grow by at least the number of switches: both address spaces stay cached);
 * then audits. Ends in as1. */
static inline void pt_cr3_switch(uint32_t as1, uint32_t as2, uint32_t va, const uint32_t *a,
				 const uint32_t *b)
{
	uint32_t reused0 = hv_stat_or0(STAT_SP_REUSED), created0 = hv_stat_or0(STAT_SP_CREATED);
	uint32_t faults0 = hv_stat_or0(STAT_SHADOW_FAULTS);
	unsigned a_in1 = 0, other1 = 0, b_in2 = 0, other2 = 0, switches = 0;
	for (int i = 0; i < PT_SWITCH_ROUNDS; i++) {
		write_cr3(as2);
		switches++;
		uint32_t x = *(volatile uint32_t *)va;
		b_in2 += x == b[0];
		other2 += x != b[0];
		write_cr3(as1);
		switches++;
		x = *(volatile uint32_t *)va;
		a_in1 += x == a[0];
		other1 += x != a[0];
	}
	printf("case cr3_switch: switches=%u as1_marker_a=%u as1_other=%u as2_marker_b=%u "
	       "as2_other=%u\n", switches, a_in1, other1, b_in2, other2);
	if (hv_present()) {
		printf("HV sp_reused grew by %u switches=%u\n", hv_stat(STAT_SP_REUSED) - reused0,
		       switches);
		printf("HV sp_created grew by %u\n", hv_stat(STAT_SP_CREATED) - created0);
		printf("HV shadow_faults grew by %u\n", hv_stat(STAT_SHADOW_FAULTS) - faults0);
	}
	hv_audit("cr3_switch");
}

#endif
