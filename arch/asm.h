/* asm.h - every inline-assembly wrapper of the hypervisor but the VMX instructions (those are
 * in vmx/vmx_asm.h). A pure module (host-tested) never includes it: it uses arch/x86.h. */
#ifndef ARCH_ASM_H
#define ARCH_ASM_H

#include "arch/types.h"
#include "arch/x86.h"

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
	u8 v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u16 inw(u16 port)
{
	u16 v;
	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline u32 inl(u16 port)
{
	u32 v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}
static inline void wrmsr(u32 msr, u64 v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

static inline void cpuid(u32 leaf, u32 sub, u32 *a, u32 *b, u32 *c, u32 *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}

/* The host's physical-address width (CPUID 0x80000008 EAX[7:0]; 36 when the leaf is absent,
 * SDM Vol. 3A 4.1.4). */
static inline u32 cpu_maxphyaddr(void)
{
	u32 a, b, c, d;
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	if (a < 0x80000008)
		return 36;
	cpuid(0x80000008, 0, &a, &b, &c, &d);
	return a & 0xff;
}

/* The host CPU has execute-disable (EFER.NXE, PTE_XD): CPUID 0x80000001 EDX bit 20. */
static inline bool cpu_has_nx(void)
{
	u32 a, b, c, d;
	cpuid(0x80000001, 0, &a, &b, &c, &d);
	return d & CPUID_80000001_EDX_NX;
}

#define DEFINE_CR(n)                                                         \
	static inline u64 read_cr##n(void)                                   \
	{                                                                    \
		u64 v;                                                       \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));            \
		return v;                                                    \
	}                                                                    \
	static inline void write_cr##n(u64 v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

/* DR0-DR3: the guest's own while it runs (the host never uses them). */
static inline u64 read_dr(int i)
{
	u64 v = 0;
	switch (i) {
	case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(v)); break;
	case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(v)); break;
	case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(v)); break;
	case 3: __asm__ volatile("mov %%dr3, %0" : "=r"(v)); break;
	}
	return v;
}

static inline u64 read_dr7(void)
{
	u64 v;
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static inline u64 read_rflags(void)
{
	u64 v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

struct __packed desc_ptr {
	u16 limit;
	u64 base;
};

static inline void sgdt(struct desc_ptr *p) { __asm__ volatile("sgdt %0" : "=m"(*p)); }
static inline void sidt(struct desc_ptr *p) { __asm__ volatile("sidt %0" : "=m"(*p)); }
static inline void lidt(const struct desc_ptr *p) { __asm__ volatile("lidt %0" ::"m"(*p)); }
static inline void ltr(u16 sel) { __asm__ volatile("ltr %0" ::"r"(sel)); }
static inline u16 str(void)
{
	u16 v;
	__asm__ volatile("str %0" : "=r"(v));
	return v;
}

#define DEFINE_SEG(s)                                                       \
	static inline u16 read_##s(void)                                    \
	{                                                                   \
		u16 v;                                                      \
		__asm__ volatile("mov %%" #s ", %0" : "=r"(v));             \
		return v;                                                   \
	}
DEFINE_SEG(cs)
DEFINE_SEG(ds)
DEFINE_SEG(es)
DEFINE_SEG(ss)
DEFINE_SEG(fs)
DEFINE_SEG(gs)
#undef DEFINE_SEG

static inline void cli(void) { __asm__ volatile("cli"); }
static inline void hlt(void) { __asm__ volatile("hlt"); }
static inline void pause(void) { __asm__ volatile("pause"); }

static inline u64 read_rbp(void)
{
	u64 v;
	__asm__ volatile("mov %%rbp, %0" : "=r"(v));
	return v;
}

#endif
