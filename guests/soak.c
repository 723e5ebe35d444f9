/* soak.c - a long run (issue 7): many rounds of every kind of exit the hypervisor handles,
 * with the guest counting its own operations so that the hypervisor's numbers can be checked
 * exactly afterwards (tests/system/test_soak.py).
 *
 * 32-bit paging with 4 address spaces. Each round, in address space a = round % 4:
 *   - CR3 switch (and a CR3 read);
 *   - one PDE of the current (in-use) page directory flips between two page tables: a write to
 *     a table the walk uses, which the hypervisor emulates;
 *   - NMAP PTEs of a page table are rewritten to map other data pages (INVLPG or a CR3 reload
 *     after it), then every mapping is read (content checked) and written through (shadow
 *     faults, dirty bits, write-protected guest tables);
 *   - one guest #PF: a PTE left not present; the handler fills it in and the access retries;
 *   - `mmio=` accesses to the slotdev register block (ID and scratch reads and writes, through a
 *     4 MiB page and through a 4 KiB PTE of the rewritten table) and to unassigned MMIO;
 *   - `moves=` moves of the slotdev RAM window (memslot changes) around 17 positions, each
 *     followed by checks of the port registers, of the old base (now MMIO: all ones) and of
 *     all 16 pages at the new base (the data written before the move must be there). With 17
 *     positions the MMIO spte left at a base is exactly 16 changes old when the window comes
 *     back: on the narrow build (4 generation bits) it would look current but for the zap at
 *     the generation wrap;
 *   - CPUID and VMCALL exits;
 *   - periodically: HC_ZAP_ALL, HC_AUDIT, a refused window move, a register block move, and a
 *     block of 16 hypercall moves of a guest-created memslot (16, so that the window's ages
 *     above stay multiples of 16).
 * Every round prints a numbered line "soak seq=K ..." ending in a checksum of its text; every
 * 16th round also prints a long line (300-1000 characters of a payload the test recomputes).
 *
 * Every exit the guest causes is counted (port I/O, CPUID, VMCALL, CR accesses, INVLPG, MMIO
 * accesses, guest page faults): serial output goes through a counting putc here, never through
 * the library's printf. The final lines carry the counts; the test compares them with the
 * hypervisor's summary line.
 *
 * The numbers checked at the end (PASS/FAIL lines, and by the test against the summary line):
 * MMIO fast + slow = the guest's MMIO accesses, slow = exactly those the guest knows must miss
 * the fast path (first access after its shadow path was zapped, one read per window move of a
 * register whose MMIO spte is one generation old, old bases); the device's count of register
 * reads served = the guest's reads; memslot changes and generation = the moves; wraps =
 * generation >> MMIO generation bits; zap-alls = the guest's HC_ZAP_ALLs + wraps; injected
 * guest faults = the handler's count; sp_in_use after a zap-all and reclaim the same at the
 * end as at the start; the audit clean.
 *
 * Command line: rounds=N (default 2000), mmio=N accesses per round (default 600), moves=N
 * window moves per round (default 5), dirty=1 (the 4 MiB PDEs start with D set).
 */
#include "guest.h"
#include "hv.h"
#include "idt.h"
#include "pt.h" /* the CR helpers */

#define P 1u
#define RW 2u
#define PCD 0x10u
#define D 0x40u
#define PS 0x80u
#define COM1 0x3f8

#define NAS 4                       /* address spaces */
#define NMAP 16                     /* PTEs rewritten per round */
#define NDATA 48                    /* data pages they map */
#define NFLIP 4                     /* pages behind each of the two flipping page tables */
#define VA_MAP 0x40000000u          /* PDE 0x100: pt[a] */
#define VA_FLIP 0x40400000u         /* PDE 0x101: ptf[0] or ptf[1] */
#define PF_SLOT NMAP                /* pt[a][PF_SLOT]: not present until the #PF handler */
#define REGS_SLOT (NMAP + 1)        /* pt[a][REGS_SLOT]: the register block, 4 KiB mapping */
#define REGS SLOTDEV_REGS_GPA       /* identity-mapped through a 4 MiB page (PDE 0x3fa) */
#define REGS_ALT (REGS + 0x10000u)  /* where the register block moves now and then */
#define UNASSIGNED 0xfe900000u      /* same 4 MiB page, no device */
#define WIN_PAGES 16
#define NPOS 17                     /* window positions: 16 changes between two visits */
#define WADDR(p) (SLOTDEV_WINDOW_GPA + (uint32_t)(p) * 0x10000u)
#define HC_SLOT 7
#define HCADDR(p) (0xd0000000u + (uint32_t)(p) * 0x100000u)
#define HC_EVERY 40                 /* rounds between blocks of 16 hypercall moves */
#define ZAP_EVERY 25
#define AUDIT_EVERY 100
#define REFUSE_EVERY 100
#define REGMOVE_EVERY 10
#define LONG_EVERY 16

static uint32_t pd[NAS][1024] __attribute__((aligned(4096)));
static uint32_t pt[NAS][1024] __attribute__((aligned(4096)));
static uint32_t ptf[2][1024] __attribute__((aligned(4096)));
static uint32_t data[NDATA][1024] __attribute__((aligned(4096)));
static uint32_t fdata[2 * NFLIP][1024] __attribute__((aligned(4096)));

static uint32_t expect[NDATA];      /* word 0 of each data page */
static bool regs_pde_dirty[NAS];    /* the PDE over the register block has D set */
static uint32_t wval[WIN_PAGES];    /* word 0 of each window page (word 0x200: its complement) */
static const char *cmdline = "";

/* What the guest did: every exit it causes, by kind, and the operations checked against the
 * hypervisor's statistics. From the first instruction on. */
static struct {
	uint32_t io, cpuid, vmcall, cr, invlpg;
	uint32_t mmio, regs_reads, guest_pf, table_emul;
	uint32_t want_slow; /* MMIO accesses that must take the slow path (see mmio_batch) */
	uint32_t win_moves, hc_moves, changes, refused, zaps, audits, audit_bad, regs_moves;
	uint32_t lines;
	/* failures by kind (each also counts in guest_failures through fail()) */
	uint32_t bad_data, bad_window, bad_mmio, bad_port, bad_hc, bad_cpuid, bad_pf, bad_cr;
} n;

/* ---- counted exits ---- */

static inline void out8(uint16_t p, uint8_t v) { n.io++; outb(p, v); }
static inline uint8_t in8(uint16_t p) { n.io++; return inb(p); }
static inline void out32(uint16_t p, uint32_t v) { n.io++; outl(p, v); }
static inline uint32_t in32(uint16_t p) { n.io++; return inl(p); }

static inline int32_t hc(uint32_t nr, uint32_t a, uint32_t b)
{
	n.vmcall++;
	return hypercall(nr, a, b, 0, 0);
}
static inline uint32_t stat(uint32_t i) { return (uint32_t)hc(HC_GET_STAT, i, 0); }

static inline void cpuid_c(uint32_t leaf, uint32_t r[4])
{
	n.cpuid++;
	cpuid(leaf, 0, r);
}

/* CR accesses that exit are counted; reads of CR0/CR4 see the read shadow and do not exit. */
static inline void cr3_write(uint32_t v) { n.cr++; write_cr3(v); }
static inline uint32_t cr3_read(void) { n.cr++; return read_cr3(); }
static inline void cr0_write(uint32_t v) { n.cr++; write_cr0(v); }
static inline void cr4_write(uint32_t v) { n.cr++; write_cr4(v); }
static inline uint32_t cr0_read(void) { return read_cr0(); }
static inline uint32_t cr4_read(void) { return read_cr4(); }
static inline void invlpg_c(uint32_t va)
{
	n.invlpg++;
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* An access that is MMIO (no memslot behind it): exactly one #PF exit each. */
static inline uint32_t mmio_rd(uint32_t va)
{
	n.mmio++;
	return *(volatile uint32_t *)va;
}
static inline void mmio_wr(uint32_t va, uint32_t v)
{
	n.mmio++;
	*(volatile uint32_t *)va = v;
}
static inline uint32_t regs_rd(uint32_t va) /* a read the register block serves (+8 counts) */
{
	n.regs_reads++;
	return mmio_rd(va);
}

static inline uint32_t rd(uint32_t va) { return *(volatile uint32_t *)va; }
static inline void wr(uint32_t va, uint32_t v) { *(volatile uint32_t *)va = v; }

/* ---- console: counted, whole lines ---- */

static void cputc(char c)
{
	for (int i = 0; i < 100000 && !(in8(COM1 + 5) & 0x20); i++)
		;
	out8(COM1, (uint8_t)c);
}

static void cputs(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			cputc('\r');
		cputc(*s);
	}
}

static void cserial_init(void)
{
	out8(COM1 + 1, 0x00);
	out8(COM1 + 3, 0x80);
	out8(COM1 + 0, 0x01);
	out8(COM1 + 1, 0x00);
	out8(COM1 + 3, 0x03); /* 8N1 */
	out8(COM1 + 2, 0x07);
	out8(COM1 + 4, 0x03);
}

static char line[1400];

static int cprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int cprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cputs(line);
	return r;
}

/* FNV-1a of the line so far: the test recomputes it, so a byte lost or changed anywhere in the
 * line shows. */
static uint32_t fnv(const char *s, size_t len)
{
	uint32_t h = 0x811c9dc5u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x01000193u;
	return h;
}

/* Appends " ck=XXXXXXXX\n" to the line in buf and prints it. */
static void emit_checked(char *buf, size_t len, size_t cap)
{
	if (len + 14 > cap)
		len = cap - 14;
	uint32_t h = fnv(buf, len);
	static const char hex[] = "0123456789abcdef";
	memcpy(buf + len, " ck=", 4);
	len += 4;
	for (int i = 7; i >= 0; i--)
		buf[len++] = hex[(h >> (4 * i)) & 15];
	buf[len++] = '\n';
	buf[len] = 0;
	cputs(buf);
	n.lines++;
}

static int guest_failures_shown;
static void fail(uint32_t *kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(uint32_t *kind, const char *fmt, ...)
{
	(*kind)++;
	guest_failures++;
	if (guest_failures_shown >= 40)
		return;
	guest_failures_shown++;
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	cprintf("FAIL soak: %s\n", buf);
}

static void checkc(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void checkc(bool ok, const char *name, const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ok) {
		cprintf("PASS %s: %s\n", name, buf);
	} else {
		guest_failures++;
		cprintf("FAIL %s: %s\n", name, buf);
	}
}

/* ---- command line ---- */

static uint32_t arg_uint(const char *key, uint32_t dflt)
{
	size_t kl = strlen(key);
	for (const char *s = cmdline; *s; s++) {
		if ((s == cmdline || s[-1] == ' ') && !memcmp(s, key, kl) && s[kl] == '=') {
			s += kl + 1;
			if (*s < '0' || *s > '9')
				return dflt;
			uint32_t v = 0;
			while (*s >= '0' && *s <= '9')
				v = v * 10 + (uint32_t)(*s++ - '0');
			return v;
		}
	}
	return dflt;
}

/* ---- values ---- */

static uint32_t mix(uint32_t a, uint32_t b)
{
	uint32_t h = a * 0x9e3779b1u ^ (b + 0x7f4a7c15u) * 0x85ebca6bu;
	h ^= h >> 15;
	h *= 0xc2b2ae35u;
	h ^= h >> 13;
	return (h & 0x7ffffffeu) | 0x10u; /* never all ones, never 0 */
}

static uint32_t fdata_tag(uint32_t i) { return 0xf1f00000u + i; }

/* ---- the guest's #PF handler: fills in the PTE left out on purpose ---- */

static volatile uint32_t pf_va;   /* the address expected to fault; 0: none */
static volatile uint32_t *pf_pte; /* the PTE to fill in, and with what */
static volatile uint32_t pf_value;

static void pf_handler(struct idt_frame *f)
{
	uint32_t cr2;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2)); /* CR2 is not intercepted */
	if (!pf_va || cr2 != pf_va || (f->error & 1)) {
		printf("UNEXPECTED #PF cr2=0x%x err=0x%x eip=0x%x (expected 0x%x)\n", cr2, f->error,
		       f->eip, pf_va);
		guest_exit(IDT_UNEXPECTED_EXIT);
	}
	n.guest_pf++;
	pf_va = 0;
	*pf_pte = pf_value; /* the access is retried after IRET */
}

/* ---- setup ---- */

/* dirty: the 4 MiB PDEs start with D set (dirty=1 on the command line) instead of clean. */
static void build_tables(uint32_t dirty)
{
	uint32_t big = P | RW | PS | (dirty ? D : 0);
	for (uint32_t a = 0; a < NAS; a++)
		regs_pde_dirty[a] = dirty;
	for (uint32_t a = 0; a < NAS; a++) {
		for (uint32_t i = 0; i < 16; i++) /* guest RAM, 64 MiB, identity */
			pd[a][i] = (i << 22) | big;
		pd[a][HCADDR(0) >> 22] = (HCADDR(0) & ~0x3fffffu) | big;
		pd[a][SLOTDEV_WINDOW_GPA >> 22] = SLOTDEV_WINDOW_GPA | big;
		pd[a][REGS >> 22] = (REGS & ~0x3fffffu) | big | PCD;
		pd[a][VA_MAP >> 22] = (uint32_t)pt[a] | P | RW;
		pd[a][VA_FLIP >> 22] = (uint32_t)ptf[a & 1] | P | RW;
	}
	for (uint32_t b = 0; b < 2; b++)
		for (uint32_t k = 0; k < NFLIP; k++) {
			ptf[b][k] = (uint32_t)fdata[b * NFLIP + k] | P; /* read-only */
			fdata[b * NFLIP + k][0] = fdata_tag(b * NFLIP + k);
		}
	for (uint32_t i = 0; i < NDATA; i++) {
		expect[i] = mix(i, 0xda7a);
		data[i][0] = expect[i];
	}
}

/* Zaps everything and lets the hypervisor free the obsolete pages (at most 16 per exit):
 * obsolete_freed stops growing when none is left. Returns sp_in_use then: only the pages this
 * loop itself needs (the root, its page directories, the direct page of this code and stack).
 * Called at the start and at the end in the same address space: the two must be equal. */
/* After a zap-all and the reclaim of every obsolete page, the pools' use. Read here, before
 * returning: from the zap on, only this function's code, its stack and the counters are
 * touched, the same pages at the start and at the end, so the same leaves (and rmap links)
 * come back. */
static uint32_t settle_links;

static uint32_t settle(void)
{
	hc(HC_ZAP_ALL, 0, 0);
	n.zaps++;
	uint32_t prev, f = stat(STAT_OBSOLETE_FREED);
	do {
		prev = f;
		f = stat(STAT_OBSOLETE_FREED);
	} while (f != prev);
	uint32_t sp = stat(STAT_SP_IN_USE);
	settle_links = stat(STAT_LINKS_IN_USE);
	return sp;
}

/* ---- one round ---- */

static uint32_t wpos;  /* window position 0..NPOS-1 */
static uint32_t hcpos; /* hypercall slot position 0/1 */
static uint32_t scratch;

static void window_move(uint32_t r)
{
	uint32_t old = wpos;
	wpos = (wpos + 1) % NPOS;
	out32(SLOTDEV_PORT_WINDOW, WADDR(wpos));
	n.win_moves++;
	n.changes++;
	uint32_t st = in32(SLOTDEV_PORT_STATUS), base = in32(SLOTDEV_PORT_WINDOW);
	if (st != 0 || base != WADDR(wpos))
		fail(&n.bad_port, "round %u: window move to 0x%x: status %u base 0x%x", r, WADDR(wpos),
		     st, base);
	/* The register block's MMIO spte is there and one generation old: the slow path. */
	uint32_t id = regs_rd(REGS);
	n.want_slow++;
	if (id != SLOTDEV_ID)
		fail(&n.bad_mmio, "round %u: register block reads 0x%x after a window move", r, id);
	/* The old base is MMIO now (unassigned: all ones). These reads leave MMIO sptes there,
	 * 16 changes old when the window comes back. */
	uint32_t o0 = mmio_rd(WADDR(old)), o15 = mmio_rd(WADDR(old) + 15 * 4096 + 0x800);
	n.want_slow += 2; /* their RAM sptes were just cleared */
	if (o0 != 0xffffffffu || o15 != 0xffffffffu)
		fail(&n.bad_window, "round %u: old window base 0x%x reads 0x%x 0x%x", r, WADDR(old),
		     o0, o15);
	for (uint32_t i = 0; i < WIN_PAGES; i++) {
		uint32_t va = WADDR(wpos) + i * 4096;
		uint32_t v = rd(va), c = rd(va + 0x800);
		if (v != wval[i] || c != ~wval[i])
			fail(&n.bad_window, "round %u: window at 0x%x page %u reads 0x%x/0x%x, want "
			     "0x%x/0x%x", r, WADDR(wpos), i, v, c, wval[i], ~wval[i]);
		wval[i] = mix(r * 64 + n.win_moves, i);
		wr(va, wval[i]);
		wr(va + 0x800, ~wval[i]);
	}
}

/* 16 moves of the guest's own memslot (hypercalls) between two places, data checked. */
static void hc_block(uint32_t r)
{
	for (uint32_t k = 0; k < 16; k++) {
		uint32_t src = HCADDR(hcpos), dst = HCADDR(hcpos ^ 1), v = mix(r, 0x4c00 + k);
		wr(src, v);
		wr(src + 4096 + 4, ~v);
		int32_t ret = hc(HC_MEMSLOT_MOVE, HC_SLOT, dst);
		if (ret != 0) {
			fail(&n.bad_hc, "round %u: memslot move to 0x%x returned %d", r, dst, ret);
			continue;
		}
		hcpos ^= 1;
		n.hc_moves++;
		n.changes++;
		uint32_t a = rd(dst), b = rd(dst + 4096 + 4), o = mmio_rd(src);
		n.want_slow++;
		if (a != v || b != ~v || o != 0xffffffffu)
			fail(&n.bad_hc, "round %u: after moving the slot to 0x%x: 0x%x 0x%x (want 0x%x "
			     "0x%x), old place 0x%x", r, dst, a, b, v, ~v, o);
	}
}

/* The batch runs after paging_round(), whose PDE write zapped this address space's page
 * directory shadows and whose PTE rewrite zapped the page table's: the first access to each
 * of the three pages (REGS, UNASSIGNED, the PTE mapping) takes the slow path, the others the
 * fast path. So does the first write in an address space whose PDE over the device is still
 * clean (the MMIO spte grants write only once the guest's entry is dirty). */
static void mmio_batch(uint32_t r, uint32_t a, uint32_t count)
{
	uint32_t bad = 0, first = 0, firstv = 0;
	uint32_t via_pte = VA_MAP + REGS_SLOT * 4096;
	n.want_slow += (count > 0) + (count > 4) + (count > 5);
	if (count > 6 && !regs_pde_dirty[a]) {
		n.want_slow++;
		regs_pde_dirty[a] = true;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint32_t v, want;
		switch (i & 7) {
		case 5:
			v = regs_rd(via_pte), want = SLOTDEV_ID;
			break;
		case 6:
			scratch = mix(r, i);
			mmio_wr(REGS + 4, scratch);
			v = want = 0;
			break;
		case 7:
			v = regs_rd(REGS + 4), want = scratch;
			break;
		case 4:
			v = mmio_rd(UNASSIGNED), want = 0xffffffffu;
			break;
		default:
			v = regs_rd(REGS), want = SLOTDEV_ID;
			break;
		}
		if (v != want && !bad++)
			first = i, firstv = v;
	}
	if (bad)
		fail(&n.bad_mmio, "round %u: %u of %u MMIO reads wrong (first: access %u read 0x%x)", r,
		     bad, count, first, firstv);
}

static void regs_move(uint32_t r)
{
	out32(SLOTDEV_PORT_REGS, REGS_ALT);
	uint32_t id = regs_rd(REGS_ALT), gone = mmio_rd(REGS);
	/* REGS_ALT: its MMIO spte (if any) is from an older generation: slow. REGS: the last
	 * window move's read left a current MMIO spte there, and a device move changes no
	 * memslot ("no memslot here" stays true): fast, and it reads all ones now. (No
	 * hc_block() runs in a round with a regs_move(): 39 % 10 != 3.) */
	n.want_slow++;
	out32(SLOTDEV_PORT_REGS, REGS);
	n.regs_moves++;
	if (id != SLOTDEV_ID || gone != 0xffffffffu)
		fail(&n.bad_mmio, "round %u: register block moved: new 0x%x, old 0x%x", r, id, gone);
}

static void refused_move(uint32_t r)
{
	uint32_t before = stat(STAT_GENERATION);
	out32(SLOTDEV_PORT_WINDOW, 0x1000); /* onto guest RAM */
	n.refused++;
	uint32_t st = in32(SLOTDEV_PORT_STATUS), base = in32(SLOTDEV_PORT_WINDOW);
	uint32_t after = stat(STAT_GENERATION);
	if (st != 1 || base != WADDR(wpos) || after != before)
		fail(&n.bad_port, "round %u: refused move: status %u base 0x%x generation %u -> %u", r,
		     st, base, before, after);
}

static void paging_round(uint32_t r)
{
	uint32_t a = r % NAS, visit = r / NAS;
	cr3_write((uint32_t)pd[a]);
	uint32_t cr3 = cr3_read();
	if (cr3 != (uint32_t)pd[a])
		fail(&n.bad_cr, "round %u: CR3 reads 0x%x, want 0x%x", r, cr3, (uint32_t)pd[a]);

	/* A PDE of the directory in use: the write goes through a table the walk uses. */
	uint32_t flip = (visit + a) & 1;
	pd[a][VA_FLIP >> 22] = (uint32_t)ptf[flip] | P | RW;
	n.table_emul++;

	/* Rewrite the page table behind VA_MAP. */
	uint32_t map[NMAP];
	for (uint32_t j = 0; j < NMAP; j++) {
		map[j] = (r * 7 + j * 5) % NDATA;
		pt[a][j] = (uint32_t)data[map[j]] | P | RW;
	}
	uint32_t pf_page = (r * 11 + 3) % NDATA;
	pt[a][PF_SLOT] = 0;
	pt[a][REGS_SLOT] = REGS | P | RW | PCD;
	if (r & 1) {
		cr3_write((uint32_t)pd[a]);
	} else {
		for (uint32_t j = 0; j <= REGS_SLOT; j++)
			invlpg_c(VA_MAP + j * 4096);
		for (uint32_t k = 0; k < NFLIP; k++)
			invlpg_c(VA_FLIP + k * 4096);
	}

	/* Read and write through every rewritten mapping. */
	for (uint32_t j = 0; j < NMAP; j++) {
		uint32_t va = VA_MAP + j * 4096, p = map[j];
		uint32_t v = rd(va);
		if (v != expect[p])
			fail(&n.bad_data, "round %u: VA 0x%x (data page %u) reads 0x%x, want 0x%x", r,
			     va, p, v, expect[p]);
		expect[p] = mix(r, j);
		wr(va, expect[p]);
		if (data[p][0] != expect[p])
			fail(&n.bad_data, "round %u: data page %u reads 0x%x after a write through 0x%x",
			     r, p, data[p][0], va);
	}

	/* A guest page fault: the handler maps the page, the read is retried. */
	uint32_t pf_before = n.guest_pf;
	pf_pte = &pt[a][PF_SLOT];
	pf_value = (uint32_t)data[pf_page] | P | RW;
	pf_va = VA_MAP + PF_SLOT * 4096;
	uint32_t v = rd(VA_MAP + PF_SLOT * 4096);
	__asm__ volatile("" ::: "memory"); /* n.guest_pf changed in the handler */
	if (n.guest_pf != pf_before + 1 || v != expect[pf_page])
		fail(&n.bad_pf, "round %u: page fault taken %u times, then read 0x%x (want 0x%x)", r,
		     n.guest_pf - pf_before, v, expect[pf_page]);
	pf_va = 0;

	/* Through the flipped directory entry. */
	for (uint32_t k = 0; k < NFLIP; k++) {
		uint32_t f = rd(VA_FLIP + k * 4096);
		if (f != fdata_tag(flip * NFLIP + k))
			fail(&n.bad_data, "round %u: flipped table %u page %u reads 0x%x", r, flip, k, f);
	}
}

static void cpuid_round(uint32_t r)
{
	uint32_t c[4];
	cpuid_c(1, c);
	bool hv = c[2] & (1u << 31);
	cpuid_c(0x40000000, c);
	if (!hv || c[1] != 0x746f6c53u || c[2] != 0x6f736976u || c[3] != 0x00000072u)
		fail(&n.bad_cpuid, "round %u: hypervisor CPUID leaves wrong", r);
	if (hc(HC_GET_VERSION, 0, 0) != 1)
		fail(&n.bad_hc, "round %u: HC_GET_VERSION != 1", r);
}

/* ---- output ---- */

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
static char lbuf[1400];

static int csnprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int csnprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return r;
}

static void round_line(uint32_t r, uint32_t gen)
{
	int len = csnprintf(lbuf, sizeof(lbuf) - 16, "soak seq=%u round=%u as=%u gen=%u mmio=%u "
			    "moves=%u changes=%u pf=%u", n.lines, r, r % NAS, gen, n.mmio, n.win_moves,
			    n.changes, n.guest_pf);
	emit_checked(lbuf, (size_t)len, sizeof(lbuf));
}

/* 300..999 characters of payload the test can regenerate from the sequence number. */
static void long_line(void)
{
	uint32_t seq = n.lines, plen = 300 + (seq * 337u) % 700u, x = seq * 2654435761u + 1;
	int len = csnprintf(lbuf, sizeof(lbuf), "soak seq=%u long len=%u data=", seq, plen);
	for (uint32_t i = 0; i < plen; i++) {
		x = x * 1103515245u + 12345u;
		lbuf[len++] = alnum[(x >> 16) % 62];
	}
	lbuf[len] = 0;
	emit_checked(lbuf, (size_t)len, sizeof(lbuf));
}

/* ---- main ---- */

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	cserial_init();
	if ((mbi->flags & (1u << 2)) && mbi->cmdline)
		cmdline = (const char *)mbi->cmdline;
	uint32_t rounds = arg_uint("rounds", 2000), mmio_per = arg_uint("mmio", 600);
	uint32_t moves_per = arg_uint("moves", 5), dirty = arg_uint("dirty", 0);
	idt_init();
	n.io += 2; /* idt_init() masks both 8259s: two OUTs */
	idt_set_handler(VEC_PF, pf_handler);
	uint32_t c[4];
	cpuid_c(1, c);
	if (!(c[2] & (1u << 31))) {
		cprintf("soak needs the hypervisor (CPUID.1:ECX[31] clear)\n");
		return 1;
	}
	uint32_t bits = stat(STAT_MMIO_GEN_BITS), period = 1u << bits;
	cprintf("soak start rounds=%u mmio=%u moves=%u dirty=%u gen_bits=%u\n", rounds, mmio_per,
		moves_per, dirty, bits);

	/* The guest's own memslot for the hypercall moves, and the window's data. */
	n.vmcall++;
	int32_t added = hypercall(HC_MEMSLOT_ADD, HC_SLOT, HCADDR(0), 2 * 4096, 0);
	if (added == 0)
		n.changes++;
	else
		fail(&n.bad_hc, "memslot_add of slot %u at 0x%x returned %d", HC_SLOT, HCADDR(0),
		     added);
	build_tables(dirty);
	cr4_write(cr4_read() | CR4_PSE);
	cr3_write((uint32_t)pd[0]);
	cr0_write(cr0_read() | CR0_PG | CR0_WP);
	for (uint32_t i = 0; i < WIN_PAGES; i++) {
		wval[i] = mix(0x77, i);
		wr(WADDR(0) + i * 4096, wval[i]);
		wr(WADDR(0) + i * 4096 + 0x800, ~wval[i]);
	}

	/* The starting point: everything zapped and freed, in address space 0. */
	uint32_t sp_start = settle();
	uint32_t links_start = settle_links, free_start = stat(STAT_FREE_PAGES);
	uint32_t s_fast = stat(STAT_MMIO_FAST), s_slow = stat(STAT_MMIO_SLOW);
	uint32_t s_changes = stat(STAT_MEMSLOT_CHANGES), s_gen = stat(STAT_GENERATION);
	uint32_t s_wraps = stat(STAT_GEN_WRAPS), s_zaps = stat(STAT_ZAP_ALL);
	uint32_t s_gpf = stat(STAT_GUEST_FAULTS), s_sf = stat(STAT_SHADOW_FAULTS);
	uint32_t s_exits = stat(STAT_EXITS);
	uint32_t g_mmio = n.mmio, g_changes = n.changes, g_zaps = n.zaps, g_pf = n.guest_pf;
	uint32_t g_emul = n.table_emul, g_slow = n.want_slow;
	uint32_t g_known = n.io + n.cpuid + n.vmcall + n.cr + n.invlpg + n.mmio + n.guest_pf;
	cprintf("soak baseline sp_in_use=%u generation=%u gen_wraps=%u zap_all=%u zaps=%u\n",
		sp_start, s_gen, s_wraps, s_zaps, n.zaps);

	for (uint32_t r = 0; r < rounds; r++) {
		paging_round(r);
		mmio_batch(r, r % NAS, mmio_per);
		for (uint32_t m = 0; m < moves_per; m++)
			window_move(r);
		if (r % HC_EVERY == HC_EVERY - 1)
			hc_block(r);
		if (r % REGMOVE_EVERY == 3)
			regs_move(r);
		if (r % REFUSE_EVERY == 50)
			refused_move(r);
		cpuid_round(r);
		if (r % ZAP_EVERY == ZAP_EVERY - 1) {
			hc(HC_ZAP_ALL, 0, 0);
			n.zaps++;
		}
		if (r % AUDIT_EVERY == AUDIT_EVERY - 1) {
			int32_t bad = hc(HC_AUDIT, 0, 0);
			n.audits++;
			if (bad)
				fail(&n.audit_bad, "round %u: audit found %d bad sptes", r, bad);
		}
		round_line(r, stat(STAT_GENERATION));
		if (r % LONG_EVERY == LONG_EVERY / 2)
			long_line();
	}

	/* Back to address space 0 and the starting point. */
	cr3_write((uint32_t)pd[0]);
	int32_t bad = hc(HC_AUDIT, 0, 0);
	n.audits++;
	if (bad)
		fail(&n.audit_bad, "final audit found %d bad sptes", bad);
	uint32_t sp_end = settle();
	uint32_t links_end = settle_links, free_end = stat(STAT_FREE_PAGES);
	uint32_t e_fast = stat(STAT_MMIO_FAST), e_slow = stat(STAT_MMIO_SLOW);
	uint32_t e_changes = stat(STAT_MEMSLOT_CHANGES), e_gen = stat(STAT_GENERATION);
	uint32_t e_wraps = stat(STAT_GEN_WRAPS), e_zaps = stat(STAT_ZAP_ALL);
	uint32_t e_gpf = stat(STAT_GUEST_FAULTS), e_sf = stat(STAT_SHADOW_FAULTS);
	uint32_t e_exits = stat(STAT_EXITS);
	/* Exits the guest caused and counted, from just after the STAT_EXITS read at the start
	 * to this one included; the #PF exits it cannot count are the hypervisor's shadow faults
	 * (which include its emulated writes to in-use tables, one per PDE flip). */
	uint32_t known = n.io + n.cpuid + n.vmcall + n.cr + n.invlpg + n.mmio + n.guest_pf - g_known;
	uint32_t d_mmio = n.mmio - g_mmio, d_changes = n.changes - g_changes;
	uint32_t d_emul = n.table_emul - g_emul, d_sf = e_sf - s_sf, d_slow = e_slow - s_slow;
	uint32_t served = regs_rd(REGS + 8); /* +8: register reads served, this one included */
	uint32_t want_wraps = (e_gen >> bits) - (s_gen >> bits);

	checkc(n.audit_bad == 0, "soak.audit", "%u audits, %u found bad sptes", n.audits,
	       n.audit_bad);
	checkc(sp_end == sp_start && sp_start <= 16, "soak.sp_in_use_back",
	       "sp_in_use after zap and reclaim: start %u end %u", sp_start, sp_end);
	/* The other fixed pools: rmap/parent links, and the host pages (backing of memslots). */
	checkc(links_end == links_start, "soak.links_back", "links in use after zap and reclaim: "
	       "start %u end %u", links_start, links_end);
	checkc(free_end == free_start, "soak.free_pages_back", "host free pages: start %u end %u",
	       free_start, free_end);
	checkc((e_fast - s_fast) + d_slow == d_mmio, "soak.mmio_count",
	       "fast %u + slow %u, guest made %u MMIO accesses", e_fast - s_fast, d_slow, d_mmio);
	if (moves_per)
		checkc(d_slow == n.want_slow - g_slow, "soak.mmio_slow", "slow %u, want %u",
		       d_slow, n.want_slow - g_slow);
	checkc(served == n.regs_reads, "soak.regs_reads_served", "device served %u, guest read %u",
	       served, n.regs_reads);
	checkc(e_changes - s_changes == d_changes && e_gen - s_gen == d_changes,
	       "soak.memslot_changes", "changes %u generation +%u, guest made %u",
	       e_changes - s_changes, e_gen - s_gen, d_changes);
	checkc(e_wraps - s_wraps == want_wraps, "soak.gen_wraps", "wraps %u, want %u (generation "
	       "%u -> %u, period %u)", e_wraps - s_wraps, want_wraps, s_gen, e_gen, period);
	checkc(e_zaps - s_zaps == (n.zaps - g_zaps) + want_wraps, "soak.zap_all",
	       "zap_all %u, want %u guest zaps + %u wraps", e_zaps - s_zaps, n.zaps - g_zaps,
	       want_wraps);
	checkc(e_gpf - s_gpf == n.guest_pf - g_pf, "soak.guest_faults", "injected %u, handled %u",
	       e_gpf - s_gpf, n.guest_pf - g_pf);
	/* >=: a preemption-timer exit may come in between (none does today); the test checks
	 * the summary line's exits reason by reason. */
	checkc(e_exits - s_exits >= known + d_sf && d_sf >= d_emul, "soak.exits", "exits %u, "
	       "want %u counted + %u shadow faults (of which >= %u table writes)",
	       e_exits - s_exits, known, d_sf, d_emul);
	checkc(n.bad_data + n.bad_window + n.bad_mmio + n.bad_port + n.bad_hc + n.bad_cpuid +
	       n.bad_pf + n.bad_cr == 0, "soak.integrity", "data %u window %u mmio %u port %u hc %u "
	       "cpuid %u pf %u cr %u", n.bad_data, n.bad_window, n.bad_mmio, n.bad_port, n.bad_hc,
	       n.bad_cpuid, n.bad_pf, n.bad_cr);
	cprintf("soak totals rounds=%u lines=%u mmio=%u regs_reads=%u want_slow=%u win_moves=%u "
		"hc_moves=%u changes=%u refused=%u regs_moves=%u guest_pf=%u table_emul=%u zaps=%u "
		"audits=%u\n", rounds, n.lines, n.mmio, n.regs_reads, n.want_slow, n.win_moves,
		n.hc_moves, n.changes, n.refused, n.regs_moves, n.guest_pf, n.table_emul, n.zaps,
		n.audits);
	cprintf("soak deltas exits=%u shadow_faults=%u mmio_fast=%u mmio_slow=%u changes=%u "
		"wraps=%u zap_all=%u sp_start=%u sp_end=%u\n", e_exits - s_exits, d_sf,
		e_fast - s_fast, d_slow, e_changes - s_changes, e_wraps - s_wraps, e_zaps - s_zaps,
		sp_start, sp_end);
	cprintf("RESULT failures=%d\n", guest_failures);
	/* The last line: the exits caused so far. Only this line's own output (an LSR read and a
	 * data write per character, CR LF included) and guest_exit()'s LSR read and debug-exit
	 * write follow. */
	cprintf("soak exits io=%u cpuid=%u vmcall=%u cr=%u invlpg=%u mmio=%u guest_pf=%u "
		"table_emul=%u\n", n.io, n.cpuid, n.vmcall, n.cr, n.invlpg, n.mmio, n.guest_pf,
		n.table_emul);
	return guest_failures;
}
