/* pt.h - helpers for the paging guests (guests/paging32.c, pae.c, long64.c): page-table
 * building for 32-bit, PAE and 4-level paging, a GDT with ring-3 segments and a TSS, running a
 * function at CPL3, probing one access (read, write or instruction fetch) and recording the
 * fault it raises, and the hypervisor-only hooks (detection, audit, statistics).
 *
 *   pt_gdt_init(false);                     // after idt_init(): GDT + TSS + INT 0x80 gate (DPL3)
 *   struct pt_pool pool = PT_POOL(pages);   // static page-aligned pages, handed out zeroed
 *   void *root = pt_alloc(&pool);
 *   pt_map(&pool, PT_MODE_32, root, va, pa, PTE_P | PTE_W, 1);   // leaf at level 1 (4 KiB)
 *   ... turn paging on ...
 *   struct pt_probe p = pt_access(PT_READ, va, 0, true);         // a read at CPL3
 *   pt_print_case("u_read", &p);            // "case u_read: ok val=0x..." or "#PF ec=..."
 *
 * Faults are recorded by a handler that resumes at a fixed label after the probing instruction
 * (no instruction-length guessing, instruction fetches included). In 32-bit modes the handler
 * hangs off guests/lib/idt.c (vectors 13 and 14); in IA-32e mode the 64-bit IDT of
 * guests/lib/long.S records into the same state (pt_fault).
 *
 * Output lines that only a run under the hypervisor prints start with "HV "; lines that only a
 * bare run prints start with "BARE ". Everything else must be identical on bare Bochs and under
 * the hypervisor (tests/system/test_paging.py compares them).
 */
#ifndef GUEST_PT_H
#define GUEST_PT_H

#include "guest.h"

/* Page-table entry bits (all modes; NX and bit 51 exist only in 64-bit entries). */
#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)
#define PTE_BIT51 (1ull << 51)

/* Page-fault error code bits. */
#define PFEC_P 0x1u
#define PFEC_W 0x2u
#define PFEC_U 0x4u
#define PFEC_RSVD 0x8u
#define PFEC_I 0x10u

#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define MSR_EFER 0xc0000080u
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

/* Selectors of the GDT pt_gdt_init() loads. */
#define SEL_KCODE 0x08   /* 32-bit code, ring 0 (compatibility mode in IA-32e mode) */
#define SEL_KDATA 0x10
#define SEL_KCODE64 0x18 /* 64-bit code, ring 0 */
#define SEL_UCODE 0x23   /* 32-bit code, ring 3 */
#define SEL_UDATA 0x2b
#define SEL_TSS 0x30

static inline uint32_t read_cr0(void)
{
	uint32_t v;
	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}
static inline uint32_t read_cr3(void)
{
	uint32_t v;
	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}
static inline uint32_t read_cr4(void)
{
	uint32_t v;
	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}
static inline void write_cr0(uint32_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint32_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint32_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(uint32_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

/* ---- page tables ---- */
enum pt_mode { PT_MODE_32, PT_MODE_PAE, PT_MODE_4L };

struct pt_pool {
	uint8_t (*pages)[4096];
	unsigned n, used;
};
#define PT_POOL(arr) { (arr), sizeof(arr) / 4096, 0 }

/* A zeroed page from the pool; ends the run with a message when the pool is empty. */
void *pt_alloc(struct pt_pool *pool);
/* Maps va -> pa with a leaf at `level` (1: 4 KiB; 2: 4 MiB (32-bit) or 2 MiB; 3: 1 GiB),
 * making missing tables from the pool with P|W|U (PAE PDPTEs: P only). flags are the leaf's
 * bits (PS is added for levels > 1). Returns the leaf entry. */
void *pt_map(struct pt_pool *pool, enum pt_mode m, void *root, uint64_t va, uint64_t pa,
	     uint64_t flags, int level);
/* The entry for va at `level` (4: PML4E, 3: PDPTE, 2: PDE, 1: PTE), or NULL when a table on
 * the way is missing or a large page ends the walk above it. */
void *pt_entry(enum pt_mode m, void *root, uint64_t va, int level);
uint64_t pt_get(enum pt_mode m, const void *e);
void pt_set(enum pt_mode m, void *e, uint64_t v); /* high half first, then low */
/* 32-bit paging on: the low 4 MiB identity-mapped with 4 KiB pages (so that a test can rewrite
 * one page's PTE), the I/O APIC and local APIC windows with one uncached 4 MiB page. Returns
 * the page directory. */
void *pt_paging32_low4m(struct pt_pool *pool);

/* ---- segments, CPL3 ---- */
/* Loads a GDT (selectors above) and TR. 32-bit modes: call after idt_init(); also installs the
 * INT 0x80 gate (DPL3) that returns from user_call() and the #PF/#GP probe handler. For long
 * mode (long_mode=true) TR is loaded by lm_enter() instead. */
void pt_gdt_init(bool long_mode);
/* Runs fn(a, b) at CPL3 (32-bit code segment, flat) and returns its result. fn must not do I/O
 * or anything privileged; it returns through INT 0x80. */
uint32_t user_call(uint32_t (*fn)(uint32_t, uint32_t), uint32_t a, uint32_t b);

/* ---- probes ---- */
enum pt_access_kind { PT_READ, PT_WRITE, PT_EXEC };
struct pt_probe {
	int kind;       /* enum pt_access_kind */
	int vector;     /* -1: no fault */
	uint32_t ec;    /* error code */
	uint64_t cr2;
	uint32_t val;   /* value read (PT_READ without a fault) */
};
/* One 32-bit read, one 32-bit write of wval, or a jump to va (the code there must be
 * pt_put_exec_stub(): `jmp *%edx`, back to the probe), at CPL0 or CPL3. A #PF or #GP is recorded;
 * any other exception ends the run. */
struct pt_probe pt_access(enum pt_access_kind k, uint32_t va, uint32_t wval, bool user);
#define PT_EXEC_BYTE0 0xff
#define PT_EXEC_BYTE1 0xe2 /* ff e2: jmp *%edx (32-bit) / jmp *%rdx (64-bit) */
void pt_put_exec_stub(void *p);
/* "case <name>: ok[ val=0x...]", "case <name>: #PF ec=0x.. cr2=0x.." or "... #GP ec=0x.." */
void pt_print_case(const char *name, const struct pt_probe *p);
/* The standard accesses to one address, one case line each ("case <name>.<access>: ..."):
 * k_read, u_read, [k_exec, u_exec: a fetch at va + 0x100, where the frame holds the exec
 * stub,] k_write_wp0 (CR0.WP=0), k_write_wp1, u_write (CR0.WP=1); writes store wbase+1..3.
 * CR0.WP is left as found. With backing (the frame seen through the identity map) non-NULL,
 * prints "mem <name>: 0x<first word>" afterwards: where the writes landed. */
void pt_matrix(const char *name, uint32_t va, uint32_t wbase, bool exec,
	       const volatile uint32_t *backing);
/* "ad <name>: A=. D=." for the entry e (D printed only for leaves). */
void pt_print_ad(enum pt_mode m, const char *name, const void *e, bool leaf);

/* The state the fault handlers (32-bit: pt.c, 64-bit: long.S) share. Offsets are used by
 * long.S: keep them (checked with _Static_assert in pt.c). */
struct pt_fault_state {
	int32_t expect;    /* 0: vector to expect, -1: none */
	uint32_t fixup;    /* 4: where to resume */
	int32_t vector;    /* 8: last recorded vector, -1: none */
	uint32_t ec;       /* 12 */
	uint64_t cr2;      /* 16 */
	uint64_t ip;       /* 24 */
	uint32_t count;    /* 32 */
	uint32_t pad;
};
extern volatile struct pt_fault_state pt_fault;
void pt_arm(int vector, uint32_t fixup);
/* The vector recorded since pt_arm() (-1: none); disarms. */
int pt_caught(void);

/* ---- the hypervisor ---- */
/* CPUID.1:ECX[31] and leaf 0x40000000 signature "Slotvisor". */
bool hv_present(void);
/* Under the hypervisor: "HV audit <phase> bad=<n>"; nothing on bare hardware. */
void hv_audit(const char *phase);
/* A statistic (guests/lib/hv.h STAT_*), 0 on bare hardware. */
uint32_t hv_stat_or0(uint32_t index);

/* ---- long mode (guests/lib/long.S) ---- */
/* Builds the 64-bit IDT (vectors 0-31 and the INT 0x80 gate on IST1). */
void lm_idt_build(void);
/* Enters IA-32e mode: CR4.PAE, CR3 = pml4, EFER.LME (| extra_efer), CR0.PG | CR0.WP, a far
 * jump to 64-bit code that loads the 64-bit IDT and TR, then back to compatibility mode, where
 * it returns. */
void lm_enter(uint32_t pml4, uint32_t extra_efer);
/* One access from 64-bit code: op 0 read (64-bit), 1 write (64-bit, zero-extended wval),
 * 2 fetch (jump to the address), 3 read (32-bit), 4 INVLPG. Returns the low half of the value read, the high half in
 * lm64_hi. Faults are recorded as with pt_access (arm with the resume label below). */
uint32_t lm64_op(uint32_t op, uint32_t va_lo, uint32_t va_hi, uint32_t wval);
extern volatile uint32_t lm64_hi;
extern char lm64_resume[]; /* the fixup label of lm64_op (all ops) */
enum { LM64_READ, LM64_WRITE, LM64_EXEC, LM64_READ32, LM64_INVLPG };
struct pt_probe pt_access64(enum pt_access_kind k, uint64_t va, uint32_t wval);
/* Called (in compatibility mode) by the 64-bit handler for an exception nobody expected. */
void lm_unexpected(void) __attribute__((noreturn));

#endif
