/* exit_io.c - I/O instructions: IN/OUT go to the port-device table; INS/OUTS (with REP) go
 * through the instruction emulator (emul/emulate.c), in every paging mode. */
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "devices/pio.h"
#include "devices/debug_exit.h"
#include "vmx/insn.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "arch/x86.h"

#define IOQ_SIZE(q) (((q) & 7) + 1)
#define IOQ_IN(q) (((q) >> 3) & 1)
#define IOQ_STRING(q) (((q) >> 4) & 1)
#define IOQ_REP(q) (((q) >> 5) & 1)
#define IOQ_PORT(q) ((u16)((q) >> 16))

static u64 size_mask(int size)
{
	return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static void io_in(struct vcpu *v, u16 port, int size)
{
	u32 val;
	if (!pio_read(port, size, &val))
		pr_debug("in from unclaimed port %#x: all ones", port);
	u64 rax = v->regs.gpr[GPR_RAX];
	if (size == 4)
		rax = val; /* a 32-bit destination zero-extends */
	else
		rax = (rax & ~size_mask(size)) | val;
	v->regs.gpr[GPR_RAX] = rax;
}

/* A write to isa-debug-exit asked to end the run (devices/debug_exit.h): V becomes the run's
 * code. The instruction still completes (handle_io skips it for END_DEBUG_EXIT). */
static void take_debug_exit(struct vcpu *v)
{
	struct debug_exit_request r = debug_exit_take();
	v->exit_code = r.code;
	vcpu_stop(v, END_DEBUG_EXIT, "%s", r.reason);
}

static void io_out(struct vcpu *v, u16 port, int size)
{
	if (!pio_write(port, size, (u32)(v->regs.gpr[GPR_RAX] & size_mask(size))))
		pr_debug("out to unclaimed port %#x ignored", port);
	if (debug_exit_requested())
		take_debug_exit(v);
}

void handle_io(struct vcpu *v)
{
	u64 q = v->exit_qual;
	if (IOQ_STRING(q)) {
		/* INS/OUTS go through the instruction emulator: the guest's tables, segment
		 * bases, address-size wrap, DF, REP (a batch per exit) and faults midway. */
		emulate_instruction();
		if (debug_exit_requested()) /* an OUTS to isa-debug-exit */
			take_debug_exit(v);
		return;
	}
	if (IOQ_IN(q))
		io_in(v, IOQ_PORT(q), (int)IOQ_SIZE(q));
	else
		io_out(v, IOQ_PORT(q), (int)IOQ_SIZE(q));
	if (v->end == END_NONE || v->end == END_DEBUG_EXIT) {
		vcpu_skip_instruction();
		vcpu_raise_breakpoints(vcpu_breakpoint_hits(IOQ_PORT(q), (int)IOQ_SIZE(q),
							    !IOQ_IN(q), true));
	}
}
