/* gdb.c - the GDB stub's transport and target: a second UART (gdb=com2), the vCPU's
 * registers and memory, int3 and debug-register breakpoints, single-step with the monitor
 * trap flag (or TF), and the periodic preemption-timer exits (vmx/vcpu.c) so that Ctrl-C is
 * seen while the guest runs. The protocol itself is debug/gdbstub.c. docs/debugging.md shows a session. */
#include "debug/gdb.h"
#include "vmx/vmx.h"
#include "vmx/insn.h"
#include "drivers/uart.h"
#include "debug/gdbstub.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "arch/asm.h"
#include "mmu/gwalk.h"
#include "mmu/mmu.h"

#define DR7_L(i) BIT((i) * 2)
#define DR7_RW_LEN_MASK(i) (0xfULL << (16 + (i) * 4))

static struct {
	bool enabled;
	bool stopped;     /* the guest does not run until gdb resumes it */
	bool stepping;    /* MTF armed for one instruction */
	bool resume_rf;   /* resume with RFLAGS.RF (after a debug-register breakpoint) */
	struct uart uart;
	struct gdb_stub stub;
	gva_t hw[4];
	bool hw_used[4];
} g;

/* ---- target ops ---- */

static void op_putc(void *o, u8 b)
{
	(void)o;
	uart_out(&g.uart, (char)b);
}

/* The register layout follows the register width, not the code width: in IA-32e mode the
 * registers are 64-bit even in compatibility-mode code (x86_code64 is false there), and a
 * session latches its layout, so a 64-bit guest stopped in 32-bit code keeps its 64-bit
 * registers. CS.L outside IA-32e mode means nothing (the CPU ignores it). */
static int op_mode(void *o)
{
	(void)o;
	return (vcpu0.efer & EFER_LMA) ? 64 : 32;
}

static const enum vmcs_field seg_sel[] = {
	[GDB_REG_CS] = GUEST_CS_SELECTOR, [GDB_REG_SS] = GUEST_SS_SELECTOR,
	[GDB_REG_DS] = GUEST_DS_SELECTOR, [GDB_REG_ES] = GUEST_ES_SELECTOR,
	[GDB_REG_FS] = GUEST_FS_SELECTOR, [GDB_REG_GS] = GUEST_GS_SELECTOR,
};

static u64 op_get_reg(void *o, enum gdb_reg r)
{
	(void)o;
	if (r <= GDB_REG_R15)
		return vcpu_get_gpr(&vcpu0, (int)r);
	switch (r) {
	case GDB_REG_RIP: return vmcs_read(GUEST_RIP);
	case GDB_REG_RFLAGS: return vmcs_read(GUEST_RFLAGS);
	case GDB_REG_FS_BASE: return vmcs_read(GUEST_FS_BASE);
	case GDB_REG_GS_BASE: return vmcs_read(GUEST_GS_BASE);
	default: return vmcs_read(seg_sel[r]);
	}
}

/* Selectors are not writable from gdb (a selector without its descriptor would be a lie). */
static int op_set_reg(void *o, enum gdb_reg r, u64 v)
{
	(void)o;
	if (r <= GDB_REG_R15) {
		if (r == GDB_REG_RSP)
			vmcs_write(GUEST_RSP, v);
		else
			vcpu0.regs.gpr[r] = v;
		return 0;
	}
	switch (r) {
	case GDB_REG_RIP: vmcs_write(GUEST_RIP, v); return 0;
	case GDB_REG_RFLAGS: vmcs_write(GUEST_RFLAGS, (v & 0x3f7fd7ULL) | RFLAGS_FIXED); return 0;
	case GDB_REG_FS_BASE: vmcs_write(GUEST_FS_BASE, v); return 0;
	case GDB_REG_GS_BASE: vmcs_write(GUEST_GS_BASE, v); return 0;
	default: return -1;
	}
}

static size_t op_read_mem(void *o, gva_t gva, void *buf, size_t len)
{
	(void)o;
	return guest_virt_access(gva, buf, len, false);
}

static size_t op_write_mem(void *o, gva_t gva, const void *buf, size_t len)
{
	(void)o;
	return guest_virt_access(gva, (void *)buf, len, true);
}

static void load_hw_breakpoints(void)
{
	u64 dr7 = 0x400;
	for (int i = 0; i < 4; i++)
		if (g.hw_used[i])
			dr7 |= DR7_L(i); /* R/W=00 (execute), LEN=00 */
	__asm__ volatile("mov %0, %%dr0; mov %1, %%dr1; mov %2, %%dr2; mov %3, %%dr3"
			 ::"r"(g.hw[0]), "r"(g.hw[1]), "r"(g.hw[2]), "r"(g.hw[3]));
	vmcs_write(GUEST_DR7, dr7);
}

/* Z0 is left to gdb (it writes int3 itself, which this stub reports as swbreak); Z1 uses the
 * debug registers DR0-DR3, which the host never uses. */
static int op_set_bp(void *o, enum gdb_bp_type t, gva_t addr, u64 kind)
{
	(void)o, (void)kind;
	if (t != GDB_BP_HARDWARE)
		return GDB_UNSUPPORTED;
	for (int i = 0; i < 4; i++)
		if (!g.hw_used[i]) {
			g.hw[i] = addr;
			g.hw_used[i] = true;
			load_hw_breakpoints();
			return 0;
		}
	return -1; /* all four in use */
}

static int op_remove_bp(void *o, enum gdb_bp_type t, gva_t addr, u64 kind)
{
	(void)o, (void)kind;
	if (t != GDB_BP_HARDWARE)
		return GDB_UNSUPPORTED;
	for (int i = 0; i < 4; i++)
		if (g.hw_used[i] && g.hw[i] == addr) {
			g.hw_used[i] = false;
			load_hw_breakpoints();
			return 0;
		}
	return -1;
}

static const struct gdb_ops ops = {
	.putc = op_putc, .mode = op_mode, .get_reg = op_get_reg, .set_reg = op_set_reg,
	.read_mem = op_read_mem, .write_mem = op_write_mem,
	.set_breakpoint = op_set_bp, .remove_breakpoint = op_remove_bp,
};

/* ---- vCPU side ---- */

static void set_proc_bit(u64 bit, bool on)
{
	u64 c = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, on ? c | bit : c & ~bit);
}

static void set_intercepts(bool on)
{
	u64 bm = vmcs_read(EXCEPTION_BITMAP);
	bm = on ? bm | BIT(VEC_BP) | BIT(VEC_DB) : bm & ~(BIT(VEC_BP) | BIT(VEC_DB));
	vmcs_write(EXCEPTION_BITMAP, bm);
}

static void act(struct vcpu *v, enum gdb_action a)
{
	switch (a) {
	case GDB_CONTINUE:
		g.stopped = false;
		break;
	case GDB_STEP:
		g.stopped = false;
		g.stepping = true;
		/* The monitor trap flag when the CPU has it; else the guest's own TF with #DB
		 * intercepted (Bochs's Skylake model has no MTF). */
		if ((vmx_caps.proc >> 32) & CPU_MONITOR_TRAP_FLAG)
			set_proc_bit(CPU_MONITOR_TRAP_FLAG, true);
		else
			vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) | RFLAGS_TF);
		break;
	case GDB_STOP:
		g.stopped = true;
		gdb_report_stop(&g.stub, GDB_SIGINT);
		break;
	case GDB_DETACH:
		g.stopped = false;
		set_intercepts(false);
		break;
	case GDB_KILL:
		g.stopped = false;
		vcpu_stop(v, END_GDB_KILL, "gdb killed the guest");
		break;
	default:
		break;
	}
	if (a == GDB_CONTINUE || a == GDB_STEP)
		set_intercepts(true);
	if ((a == GDB_CONTINUE || a == GDB_STEP) && g.resume_rf) {
		vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) | RFLAGS_RF);
		g.resume_rf = false;
	}
}

void gdb_attach_uart(u16 port)
{
	if (!uart_open(&g.uart, port, 115200)) {
		pr_warn("gdb: no UART at port %#x: the GDB stub is off", port);
		return;
	}
	g.enabled = true;
	g.stopped = true; /* the guest waits for gdb to attach and continue */
	gdb_init(&g.stub, &ops, NULL);
	pr_info("gdb: stub on port %#x; the guest waits for gdb (target remote ...; continue)",
		port);
}

void gdb_before_entry(struct vcpu *v)
{
	if (!g.enabled)
		return;
	int c;
	while ((c = uart_in(&g.uart)) >= 0 && v->end == END_NONE)
		act(v, gdb_input(&g.stub, (u8)c));
	while (g.stopped && v->end == END_NONE) {
		c = uart_in(&g.uart);
		if (c < 0) {
			pause();
			continue;
		}
		act(v, gdb_input(&g.stub, (u8)c));
	}
}

bool gdb_handle_debug_exit(struct vcpu *v, u32 reason, u32 vector)
{
	(void)v;
	if (!g.enabled || !gdb_attached(&g.stub))
		return false;
	if (reason == EXIT_MONITOR_TRAP_FLAG) {
		set_proc_bit(CPU_MONITOR_TRAP_FLAG, false);
		g.stepping = false;
		g.stopped = true;
		gdb_report_stop(&g.stub, GDB_SIGTRAP);
		return true;
	}
	if (reason == EXIT_PREEMPTION_TIMER)
		return true; /* just a chance to poll the UART */
	if (vector == VEC_BP) {
		g.stopped = true;
		gdb_report_stop_reason(&g.stub, GDB_SIGTRAP, GDB_STOP_SWBREAK, vmcs_read(GUEST_RIP));
		return true;
	}
	if (vector == VEC_DB) {
		u64 q = vmcs_read(EXIT_QUALIFICATION); /* B0-B3 in bits 3:0, BS in bit 14 */
		if (g.stepping && (q & DR6_BS)) {
			vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) & ~RFLAGS_TF);
			g.stepping = false;
			g.stopped = true;
			gdb_report_stop(&g.stub, GDB_SIGTRAP);
			return true;
		}
		g.stopped = true;
		g.resume_rf = true;
		gdb_report_stop_reason(&g.stub, GDB_SIGTRAP, (q & DR6_B_MASK) ? GDB_STOP_HWBREAK
								      : GDB_STOP_PLAIN, vmcs_read(GUEST_RIP));
		return true;
	}
	return false;
}
