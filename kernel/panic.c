/* panic.c - print why, the registers and a frame-pointer backtrace; then power off. */
#include <stdarg.h>
#include "kernel/panic.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "arch/asm.h"

extern char boot_stack_bottom[], boot_stack_top[];
extern char __image_start[], __image_end[];

static bool in_panic;
static void (*panic_power_off)(u8 code);

void panic_set_power_off(void (*power_off)(u8 code))
{
	panic_power_off = power_off;
}

static __noreturn void stop(void)
{
	if (panic_power_off)
		panic_power_off(POWER_FAIL_CODE);
	for (;;) {
		cli();
		hlt();
	}
}

static void dump_frame(const struct trap_frame *f)
{
	pr_err("rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx", f->rax, f->rbx, f->rcx, f->rdx);
	pr_err("rsi=%016llx rdi=%016llx rbp=%016llx rsp=%016llx", f->rsi, f->rdi, f->rbp, f->rsp);
	pr_err("r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx", f->r8, f->r9, f->r10, f->r11);
	pr_err("r12=%016llx r13=%016llx r14=%016llx r15=%016llx", f->r12, f->r13, f->r14, f->r15);
	pr_err("rip=%016llx rflags=%016llx cs=%04llx ss=%04llx", f->rip, f->rflags, f->cs, f->ss);
}

static void dump_control(void)
{
	pr_err("cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx", read_cr0(), read_cr2(),
	       read_cr3(), read_cr4());
}

/* Walks the rbp chain while it stays inside the boot stack (the only host stack). */
static void backtrace(u64 rip, u64 rbp)
{
	pr_err("backtrace (addr2line -e build/hv.elf ADDR):");
	if (rip)
		pr_err("  rip %#llx", rip);
	for (int depth = 0; depth < 32; depth++) {
		if (rbp < (u64)(uintptr_t)boot_stack_bottom || rbp + 16 > (u64)(uintptr_t)boot_stack_top ||
		    (rbp & 7))
			break;
		u64 ret = ((u64 *)(uintptr_t)rbp)[1];
		if (ret < (u64)(uintptr_t)__image_start || ret >= (u64)(uintptr_t)__image_end)
			break;
		pr_err("  #%d %#llx", depth, ret);
		rbp = ((u64 *)(uintptr_t)rbp)[0];
	}
}

static __noreturn void vpanic(const struct trap_frame *f, const char *fmt, va_list ap)
{
	cli();
	if (in_panic)
		stop();
	in_panic = true;
	vklog(LOG_ERROR, fmt, ap);
	pr_err("PANIC: the hypervisor stops here");
	if (f)
		dump_frame(f);
	dump_control();
	backtrace(f ? f->rip : 0, f ? f->rbp : read_rbp());
	pr_err("summary end=hv_panic code=%d", POWER_FAIL_CODE);
	stop();
}

/* Registers at the call: the callee-saved ones still hold the caller's values. */
#define SNAPSHOT(f)                                                                        \
	__asm__ volatile("mov %%rbx, %0; mov %%r12, %1; mov %%r13, %2; mov %%r14, %3; "    \
			 "mov %%r15, %4; mov %%rbp, %5; mov %%rsp, %6"                     \
			 : "=m"((f).rbx), "=m"((f).r12), "=m"((f).r13), "=m"((f).r14),      \
			   "=m"((f).r15), "=m"((f).rbp), "=m"((f).rsp))

void panic(const char *fmt, ...)
{
	struct trap_frame f = { 0 };
	va_list ap;
	SNAPSHOT(f);
	f.rip = (u64)(uintptr_t)__builtin_return_address(0);
	f.cs = read_cs();
	f.ss = read_ss();
	f.rflags = read_rflags();
	va_start(ap, fmt);
	vpanic(&f, fmt, ap);
}

void panic_regs(const struct trap_frame *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpanic(f, fmt, ap);
}
