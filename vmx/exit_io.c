/* exit_io.c - I/O instructions: IN/OUT go to the port-device table; INS/OUTS (with REP) are
 * emulated for a paging-off guest, whose linear addresses are guest-physical. */
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "devices/pio.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/x86.h"

#define IOQ_SIZE(q) (((q) & 7) + 1)
#define IOQ_IN(q) (((q) >> 3) & 1)
#define IOQ_STRING(q) (((q) >> 4) & 1)
#define IOQ_REP(q) (((q) >> 5) & 1)
#define IOQ_PORT(q) ((u16)((q) >> 16))
#define STRING_IO_BATCH 4096 /* iterations per exit; RIP stays put until RCX reaches 0 */

static u64 size_mask(int size)
{
	return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* Guest-physical range -> host pointer, or NULL when it is not all guest RAM. */
static u8 *guest_ram(struct vcpu *v, u64 gpa, u64 len)
{
	if (gpa >= v->ram_size || len > v->ram_size - gpa)
		return NULL;
	return (u8 *)(uintptr_t)(v->ram_hpa + gpa);
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

/* Address size from the VM-exit instruction-information field (27.2.5): 16, 32 or 64 bits. */
static u64 addr_mask(void)
{
	u32 info = (u32)vmcs_read(VMX_INSTRUCTION_INFO);
	u32 as = (info >> 7) & 7;
	return as == 0 ? 0xffff : as == 1 ? 0xffffffffULL : ~0ULL;
}

static void string_io(struct vcpu *v, u64 q)
{
	int size = (int)IOQ_SIZE(q), in = (int)IOQ_IN(q);
	u16 port = IOQ_PORT(q);
	u64 am = addr_mask();
	int idx = in ? GPR_RDI : GPR_RSI;
	u64 count = IOQ_REP(q) ? (v->regs.gpr[GPR_RCX] & am) : 1;
	s64 step = (vmcs_read(GUEST_RFLAGS) & BIT(10)) ? -size : size; /* DF */
	u64 lin = vmcs_read(GUEST_LINEAR_ADDRESS);
	u64 n = 0;
	if (v->cr0 & CR0_PG) {
		vcpu_stop(v, END_GUEST_ERROR, "string I/O with paging on is not supported yet");
		return;
	}
	for (; n < count && n < STRING_IO_BATCH; n++, lin += (u64)step) {
		u8 *p = guest_ram(v, lin & 0xffffffff, (u64)size);
		u32 val = 0;
		if (!p) {
			vcpu_stop(v, END_GUEST_ERROR, "string I/O at %#llx outside guest RAM", lin);
			return;
		}
		if (in) {
			pio_read(port, size, &val);
			memcpy(p, &val, (size_t)size);
		} else {
			memcpy(&val, p, (size_t)size);
			pio_write(port, size, val);
		}
	}
	u64 reg = v->regs.gpr[idx];
	v->regs.gpr[idx] = (reg & ~am) | ((reg + (u64)step * n) & am);
	if (IOQ_REP(q)) {
		u64 rcx = v->regs.gpr[GPR_RCX];
		v->regs.gpr[GPR_RCX] = (rcx & ~am) | ((count - n) & am);
		if (count - n)
			return; /* re-executes the instruction for the rest */
	}
	vcpu_skip_instruction();
}

void handle_io(struct vcpu *v)
{
	u64 q = vmcs_read(EXIT_QUALIFICATION);
	if (IOQ_STRING(q)) {
		string_io(v, q);
		return;
	}
	if (IOQ_IN(q))
		io_in(v, IOQ_PORT(q), (int)IOQ_SIZE(q));
	else
		io_out(v, IOQ_PORT(q), (int)IOQ_SIZE(q));
	if (v->end == END_NONE || v->end == END_DEBUG_EXIT)
		vcpu_skip_instruction();
}
