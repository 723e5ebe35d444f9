/* exit_io.c - I/O instructions: IN/OUT go to the port-device table; INS/OUTS (with REP) go
 * through the instruction emulator (emul/emulate.c), in every paging mode. */
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "devices/pio.h"
#include "devices/platform_stop.h"
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

static void io_out(struct vcpu *v, u16 port, int size)
{
	if (!pio_write(port, size, (u32)(v->regs.gpr[GPR_RAX] & size_mask(size))))
		pr_debug("out to unclaimed port %#x ignored", port);
}

/* A device asked to end the run (devices/platform_stop.h): isa-debug-exit (its V becomes the
 * run's code), ACPI soft-off, a reset, an unsupported sleep state. Tested once after every
 * access; true when the run ends here. The instruction still completes (handle_io). */
static bool take_platform_stop(struct vcpu *v)
{
	static const enum vcpu_end ends[] = {
		[PSTOP_DEBUG_EXIT] = END_DEBUG_EXIT, [PSTOP_POWEROFF] = END_POWEROFF,
		[PSTOP_RESET] = END_RESET, [PSTOP_UNSUPPORTED] = END_GUEST_ERROR,
	};
	if (!platform_stop_requested())
		return false;
	struct platform_stop r = platform_stop_take();
	v->exit_code = r.code;
	/* a kind without its end here still ends the run, as an error */
	bool known = (u32)r.kind < ARRAY_SIZE(ends) && ends[r.kind] != END_NONE;
	vcpu_stop(v, known ? ends[r.kind] : END_GUEST_ERROR, "%s", r.reason);
	return true;
}

void handle_io(struct vcpu *v)
{
	u64 q = v->exit_qual;
	if (IOQ_STRING(q)) {
		/* INS/OUTS go through the instruction emulator: the guest's tables, segment
		 * bases, address-size wrap, DF, REP (a batch per exit) and faults midway. */
		emulate_instruction();
		take_platform_stop(v); /* e.g. an OUTS to isa-debug-exit */
		return;
	}
	if (IOQ_IN(q))
		io_in(v, IOQ_PORT(q), (int)IOQ_SIZE(q));
	else
		io_out(v, IOQ_PORT(q), (int)IOQ_SIZE(q));
	if (take_platform_stop(v) || v->end == END_NONE) {
		vcpu_skip_instruction();
		vcpu_raise_breakpoints(vcpu_breakpoint_hits(IOQ_PORT(q), (int)IOQ_SIZE(q),
							    !IOQ_IN(q), true));
	}
}
