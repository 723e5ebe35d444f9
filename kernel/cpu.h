/* cpu.h - host CPU tables (GDT TSS, IDT) and the host exception path. */
#ifndef KERNEL_CPU_H
#define KERNEL_CPU_H

#include "arch/types.h"

#define HOST_CS_SEL 0x08
#define HOST_DS_SEL 0x10
#define HOST_TR_SEL 0x18

/* Saved by kernel/isr.S, in push order reversed. */
struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss;
};

/* Installs the TSS (with a double-fault stack) and the exception IDT. */
void cpu_init(void);
u64 cpu_tss_base(void);
void trap_handler(struct trap_frame *f);
/* RDMSR of an MSR the host CPU may not have: false (and *val untouched) when it raises #GP,
 * which trap_handler then resumes from instead of panicking. */
bool rdmsr_safe(u32 msr, u64 *val);
/* NMIs the host took (its own IST stack; counted and returned from) and NMIs that arrived
 * while the guest ran (an NMI exit, vmx/exit.c). */
extern u64 host_nmis;
/* INIT to every other CPU (all-excluding-self, xAPIC or x2APIC): they wait for a SIPI that
 * never comes instead of running firmware code; false without an enabled local APIC. */
bool cpu_park_aps(void);
/* selftest=nmi: sends this CPU an NMI through its local APIC and reports the handler's count. */
void cpu_selftest_nmi(void);

#endif
