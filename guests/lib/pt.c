/* pt.c - page tables, GDT/TSS, CPL3 calls, access probes and hypervisor hooks for the paging
 * guests (see pt.h). The assembly halves are guests/lib/ring3.S and guests/lib/long.S. */
#include "pt.h"
#include "hv.h"
#include "idt.h"

#define ADDR_MASK 0x000ffffffffff000ull

volatile struct pt_fault_state pt_fault = { .expect = -1, .vector = -1 };

_Static_assert(__builtin_offsetof(struct pt_fault_state, expect) == 0, "long.S offsets");
_Static_assert(__builtin_offsetof(struct pt_fault_state, fixup) == 4, "long.S offsets");
_Static_assert(__builtin_offsetof(struct pt_fault_state, vector) == 8, "long.S offsets");
_Static_assert(__builtin_offsetof(struct pt_fault_state, ec) == 12, "long.S offsets");
_Static_assert(__builtin_offsetof(struct pt_fault_state, cr2) == 16, "long.S offsets");
_Static_assert(__builtin_offsetof(struct pt_fault_state, ip) == 24, "long.S offsets");
_Static_assert(__builtin_offsetof(struct pt_fault_state, count) == 32, "long.S offsets");

/* ---- page tables ---- */

void *pt_alloc(struct pt_pool *pool)
{
	if (pool->used >= pool->n) {
		printf("ERROR page-table pool exhausted (%u pages)\n", pool->n);
		guest_exit(0x7d);
	}
	void *p = pool->pages[pool->used++];
	memset(p, 0, 4096);
	return p;
}

static int top_level(enum pt_mode m)
{
	return m == PT_MODE_32 ? 2 : m == PT_MODE_PAE ? 3 : 4;
}

static void *slot(enum pt_mode m, void *table, uint64_t va, int level)
{
	if (m == PT_MODE_32)
		return (uint32_t *)table + ((va >> (12 + 10 * (level - 1))) & 0x3ff);
	unsigned idx = (unsigned)(va >> (12 + 9 * (level - 1))) & 0x1ff;
	if (m == PT_MODE_PAE && level == 3)
		idx &= 3;
	return (uint64_t *)table + idx;
}

uint64_t pt_get(enum pt_mode m, const void *e)
{
	const volatile uint32_t *w = e;
	if (m == PT_MODE_32)
		return w[0];
	return ((uint64_t)w[1] << 32) | w[0];
}

void pt_set(enum pt_mode m, void *e, uint64_t v)
{
	volatile uint32_t *w = e;
	if (m != PT_MODE_32)
		w[1] = (uint32_t)(v >> 32);
	w[0] = (uint32_t)v;
}

void *pt_map(struct pt_pool *pool, enum pt_mode m, void *root, uint64_t va, uint64_t pa,
	     uint64_t flags, int level)
{
	void *table = root;
	for (int l = top_level(m); l > level; l--) {
		void *e = slot(m, table, va, l);
		uint64_t v = pt_get(m, e);
		if (!(v & PTE_P)) {
			void *t = pt_alloc(pool);
			v = (uint32_t)t | ((m == PT_MODE_PAE && l == 3) ? PTE_P : PTE_P | PTE_W | PTE_U);
			pt_set(m, e, v);
		} else if (v & PTE_PS) {
			printf("ERROR pt_map: a large page at level %d covers 0x%llx\n", l, va);
			guest_exit(0x7d);
		}
		table = (void *)(uint32_t)(v & ADDR_MASK);
	}
	void *e = slot(m, table, va, level);
	pt_set(m, e, (pa & ADDR_MASK) | flags | (level > 1 ? PTE_PS : 0));
	return e;
}

void *pt_entry(enum pt_mode m, void *root, uint64_t va, int level)
{
	void *table = root;
	for (int l = top_level(m); l > level; l--) {
		uint64_t v = pt_get(m, slot(m, table, va, l));
		if (!(v & PTE_P) || (v & PTE_PS))
			return NULL;
		table = (void *)(uint32_t)(v & ADDR_MASK);
	}
	return slot(m, table, va, level);
}

void pt_print_ad(enum pt_mode m, const char *name, const void *e, bool leaf)
{
	uint64_t v = pt_get(m, e);
	if (leaf)
		printf("ad %s: A=%u D=%u\n", name, (unsigned)((v >> 5) & 1), (unsigned)((v >> 6) & 1));
	else
		printf("ad %s: A=%u\n", name, (unsigned)((v >> 5) & 1));
}

/* ---- GDT, TSS, CPL3 ---- */

static uint64_t gdt[10] __attribute__((aligned(16)));
static uint8_t tss[104] __attribute__((aligned(16)));

extern char pt_kstack_top[], lm_ist_top[]; /* ring3.S, long.S */
extern char pt_user_int80_32[];            /* ring3.S */

static void pt_handler32(struct idt_frame *f)
{
	uint32_t cr2 = 0;
	if (f->vector == VEC_PF)
		__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	if (pt_fault.expect == (int)f->vector) {
		pt_fault.expect = -1;
		pt_fault.vector = (int)f->vector;
		pt_fault.ec = f->error;
		pt_fault.cr2 = cr2;
		pt_fault.ip = f->eip;
		pt_fault.count++;
		f->eip = pt_fault.fixup;
		return;
	}
	printf("UNEXPECTED EXCEPTION %u err=0x%x eip=0x%x cr2=0x%x\n", f->vector, f->error, f->eip,
	       cr2);
	guest_exit(IDT_UNEXPECTED_EXIT);
}

void pt_gdt_init(bool long_mode)
{
	uint32_t base = (uint32_t)tss;
	memset(tss, 0, sizeof(tss));
	if (long_mode) {
		*(volatile uint64_t *)(tss + 4) = (uint32_t)pt_kstack_top;  /* RSP0 */
		*(volatile uint64_t *)(tss + 36) = (uint32_t)lm_ist_top;    /* IST1 */
	} else {
		*(volatile uint32_t *)(tss + 4) = (uint32_t)pt_kstack_top;  /* ESP0 */
		*(volatile uint32_t *)(tss + 8) = SEL_KDATA;                /* SS0 */
	}
	*(volatile uint16_t *)(tss + 102) = sizeof(tss); /* no I/O bitmap */

	gdt[0] = 0;
	gdt[1] = 0x00cf9a000000ffffull; /* 0x08 code32 ring 0 */
	gdt[2] = 0x00cf92000000ffffull; /* 0x10 data ring 0 */
	gdt[3] = 0x00af9a000000ffffull; /* 0x18 code64 ring 0 */
	gdt[4] = 0x00cffa000000ffffull; /* 0x20 code32 ring 3 */
	gdt[5] = 0x00cff2000000ffffull; /* 0x28 data ring 3 */
	gdt[6] = (sizeof(tss) - 1) | ((uint64_t)(base & 0xffffff) << 16) | (0x89ull << 40) |
		 ((uint64_t)(base >> 24) << 56); /* 0x30 TSS (available; 64-bit in IA-32e mode) */
	gdt[7] = 0;                              /* upper half of a 64-bit TSS descriptor */
	gdt[8] = 0;
	gdt[9] = 0;

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
	if (long_mode)
		return;
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	struct dtr32 i;
	__asm__ volatile("sidt %0" : "=m"(i));
	struct gate32 *g80 = (struct gate32 *)i.base + 0x80;
	uint32_t h = (uint32_t)pt_user_int80_32;
	g80->off_lo = (uint16_t)h;
	g80->off_hi = (uint16_t)(h >> 16);
	g80->sel = SEL_KCODE;
	g80->zero = 0;
	g80->type = 0xee; /* present, DPL 3, 32-bit interrupt gate */
	idt_set_handler(VEC_PF, pt_handler32);
	idt_set_handler(VEC_GP, pt_handler32);
}

/* ---- probes ---- */

extern uint32_t pt_read32(uint32_t va, uint32_t unused);
extern uint32_t pt_write32(uint32_t va, uint32_t val);
extern uint32_t pt_exec32(uint32_t va, uint32_t unused);
extern char pt_read32_resume[], pt_write32_resume[], pt_exec32_resume[], lm64_resume[];

void pt_arm(int vector, uint32_t fixup)
{
	pt_fault.vector = -1;
	pt_fault.ec = 0;
	pt_fault.cr2 = 0;
	pt_fault.fixup = fixup;
	__asm__ volatile("" ::: "memory");
	pt_fault.expect = vector;
	__asm__ volatile("" ::: "memory");
}

int pt_caught(void)
{
	__asm__ volatile("" ::: "memory");
	pt_fault.expect = -1;
	return pt_fault.vector;
}

static struct pt_probe collect(int kind, uint32_t val)
{
	struct pt_probe p;
	p.kind = kind;
	p.vector = pt_caught();
	p.ec = p.vector >= 0 ? pt_fault.ec : 0;
	p.cr2 = p.vector == VEC_PF ? pt_fault.cr2 : 0;
	p.val = val;
	return p;
}

struct pt_probe pt_access(enum pt_access_kind k, uint32_t va, uint32_t wval, bool user)
{
	uint32_t (*fn)(uint32_t, uint32_t) = k == PT_READ ? pt_read32 : k == PT_WRITE ? pt_write32
										     : pt_exec32;
	char *resume = k == PT_READ ? pt_read32_resume : k == PT_WRITE ? pt_write32_resume
								       : pt_exec32_resume;
	pt_arm(VEC_PF, (uint32_t)resume);
	uint32_t v = user ? user_call(fn, va, wval) : fn(va, wval);
	return collect(k, v);
}

struct pt_probe pt_access64(enum pt_access_kind k, uint64_t va, uint32_t wval)
{
	pt_arm(VEC_PF, (uint32_t)lm64_resume);
	uint32_t v = lm64_op(k == PT_READ ? 0 : k == PT_WRITE ? 1 : 2, (uint32_t)va,
			     (uint32_t)(va >> 32), wval);
	return collect(k, v);
}

void pt_put_exec_stub(void *p)
{
	uint8_t *b = p;
	b[0] = PT_EXEC_BYTE0;
	b[1] = PT_EXEC_BYTE1;
}

static void print_case2(const char *name, const char *sfx, const struct pt_probe *p)
{
	const char *dot = sfx ? "." : "";
	if (!sfx)
		sfx = "";
	if (p->vector < 0) {
		if (p->kind == PT_READ)
			printf("case %s%s%s: ok val=0x%08x\n", name, dot, sfx, p->val);
		else
			printf("case %s%s%s: ok\n", name, dot, sfx);
	} else if (p->vector == VEC_PF) {
		printf("case %s%s%s: #PF ec=0x%x cr2=0x%llx\n", name, dot, sfx, p->ec, p->cr2);
	} else if (p->vector == VEC_GP) {
		printf("case %s%s%s: #GP ec=0x%x\n", name, dot, sfx, p->ec);
	} else {
		printf("case %s%s%s: vector %d ec=0x%x\n", name, dot, sfx, p->vector, p->ec);
	}
}

void pt_print_case(const char *name, const struct pt_probe *p)
{
	print_case2(name, NULL, p);
}

void pt_matrix(const char *name, uint32_t va, uint32_t wbase, bool exec,
	       const volatile uint32_t *backing)
{
	uint32_t cr0 = read_cr0();
	struct pt_probe p;
	p = pt_access(PT_READ, va, 0, false);
	print_case2(name, "k_read", &p);
	p = pt_access(PT_READ, va, 0, true);
	print_case2(name, "u_read", &p);
	if (exec) {
		p = pt_access(PT_EXEC, va + 0x100, 0, false);
		print_case2(name, "k_exec", &p);
		p = pt_access(PT_EXEC, va + 0x100, 0, true);
		print_case2(name, "u_exec", &p);
	}
	write_cr0(cr0 & ~CR0_WP);
	p = pt_access(PT_WRITE, va, wbase + 1, false);
	print_case2(name, "k_write_wp0", &p);
	write_cr0(cr0 | CR0_WP);
	p = pt_access(PT_WRITE, va, wbase + 2, false);
	print_case2(name, "k_write_wp1", &p);
	p = pt_access(PT_WRITE, va, wbase + 3, true);
	print_case2(name, "u_write", &p);
	write_cr0(cr0);
	if (backing)
		printf("mem %s: 0x%08x\n", name, *backing);
}

/* ---- the hypervisor ---- */

bool hv_present(void)
{
	static int cached = -1;
	if (cached < 0) {
		uint32_t r[4];
		cpuid(1, 0, r);
		cached = 0;
		if (r[2] & (1u << 31)) {
			cpuid(0x40000000, 0, r);
			cached = r[1] == 0x746f6c53u && r[2] == 0x6f736976u && r[3] == 0x00000072u;
		}
	}
	return cached;
}

void hv_audit(const char *phase)
{
	if (hv_present())
		printf("HV audit %s bad=%d\n", phase, hypercall(HC_AUDIT, 0, 0, 0, 0));
}

uint32_t hv_stat_or0(uint32_t index)
{
	return hv_present() ? hv_stat(index) : 0;
}

/* ---- long mode ---- */

struct gate64 {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, rsvd;
} __attribute__((packed));

static struct gate64 lm_idt[256] __attribute__((aligned(16)));
struct {
	uint16_t limit;
	uint32_t base_lo, base_hi;
} __attribute__((packed)) lm_idtr; /* long.S loads it with LIDT in 64-bit mode */

extern const uint32_t lm_isr_stubs[32]; /* long.S */
extern char lm_int80[];

static void lm_gate(int v, uint32_t h, uint8_t type)
{
	lm_idt[v].off_lo = (uint16_t)h;
	lm_idt[v].off_mid = (uint16_t)(h >> 16);
	lm_idt[v].off_hi = 0;
	lm_idt[v].sel = SEL_KCODE64;
	lm_idt[v].ist = 1;
	lm_idt[v].type = type;
	lm_idt[v].rsvd = 0;
}

void lm_idt_build(void)
{
	memset(lm_idt, 0, sizeof(lm_idt));
	for (int v = 0; v < 32; v++)
		lm_gate(v, lm_isr_stubs[v], 0x8e); /* present, DPL 0, 64-bit interrupt gate */
	lm_gate(0x80, (uint32_t)lm_int80, 0xee); /* DPL 3 */
	lm_idtr.limit = sizeof(lm_idt) - 1;
	lm_idtr.base_lo = (uint32_t)lm_idt;
	lm_idtr.base_hi = 0;
}

void lm_unexpected(void)
{
	printf("UNEXPECTED EXCEPTION %d err=0x%x rip=0x%llx cr2=0x%llx\n", pt_fault.vector,
	       pt_fault.ec, pt_fault.ip, pt_fault.cr2);
	guest_exit(IDT_UNEXPECTED_EXIT);
}

void *pt_paging32_low4m(struct pt_pool *pool)
{
	void *root = pt_alloc(pool);
	for (uint32_t va = 0; va < 0x400000; va += 0x1000)
		pt_map(pool, PT_MODE_32, root, va, va, PTE_P | PTE_W, 1);
	pt_map(pool, PT_MODE_32, root, 0xfec00000u, 0xfec00000u, PTE_P | PTE_W | PTE_PCD, 2);
	write_cr4(read_cr4() | CR4_PSE);
	write_cr3((uint32_t)root);
	write_cr0(read_cr0() | CR0_PG);
	return root;
}
