/* emulate.c - x86 instruction decoder and emulator for guest accesses to device memory and for
 * string I/O.
 *
 * One instruction per emu_step, in this order:
 *   prefixes -> opcode table (opcode -> {mnemonic, operand kinds, handler}) -> ModRM/SIB/
 *   displacement/immediate -> effective address (segment base, address-size wrap, RIP-relative)
 *   -> operand fetch through emu_ops -> execute -> write back -> flags.
 *
 * Atomicity: the handlers work on a copy of the guest CPU state (struct emu.cpu) that is copied
 * back only when the instruction completes. A fault therefore leaves every register as it was,
 * except for string instructions, whose completed iterations stay done (SDM Vol. 2, "REP":
 * the registers are updated per iteration and a fault leaves RIP on the instruction).
 *
 * Undefined flags (SDM Vol. 2, the instruction pages), and what this file does with them:
 *   AND OR XOR TEST      AF undefined: cleared, as Intel CPUs, Bochs's Intel model and the AMD
 *                        test host do (FL_LOGIC = FL_ARITH; flags_szp() leaves AF at 0).
 *                        CF=OF=0, SF ZF PF computed.
 *   BT BTS BTR BTC       only CF defined; ZF unaffected; OF SF AF PF undefined: left unchanged.
 *   INC DEC              CF unaffected (FL_INCDEC); the other five computed.
 *   NOT                  no flag affected.
 *   CMPXCHG8B            only ZF.
 *   ADD ADC SUB SBB CMP NEG CMPXCHG CMPS SCAS: all six defined and computed.
 *   MOV* XCHG PUSH POP MOVS STOS LODS INS OUTS: no flag affected.
 *
 * Prefixes: the last segment override and the last F2/F3 win; F2/F3 on a one-byte non-string
 * opcode are ignored (XACQUIRE/XRELEASE hints); F2/F3 on the 0F map, F2 on MOVS/STOS/LODS/INS/
 * OUTS and 66/F2/F3 on MOVNTI are refused (EMU_UNHANDLED) rather than guessed.
 *
 * Not modelled (the CPU checked them before the exit, or they are not reachable here):
 * segment limits and types, #AC alignment checks, I/O permission (IOPL/TSS bitmap; checked by
 * the CPU before an I/O exit), bus-lock atomicity of LOCK (the ops see a read and a write),
 * 57-bit linear addresses (canonical means 48 bits), SS.B (the stack size is the code size).
 */
#include "emul/emulate.h"
#include "kernel/lib.h"
#include "arch/x86.h"

/* ---- Architectural constants ---- */

/* Vectors (VEC_*) and RFLAGS bits (RFLAGS_*): arch/x86.h. The flag groups instructions set: */
#define FL_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)
#define FL_INCDEC (FL_ARITH & ~RFLAGS_CF)
#define FL_LOGIC FL_ARITH /* AF is undefined; Intel CPUs and Bochs clear it, so do we */

enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };

/* Legacy prefixes (SDM Vol. 2, 2.1.1); F2/F3 are kept apart as insn.rep. */
#define P_LOCK BIT(0)
#define P_OPSIZE BIT(1)
#define P_ADSIZE BIT(2)

/* ---- Opcode tables: types ---- */

/* Operand kinds (SDM Vol. 2, A.2 names). */
enum opkind {
	K_NONE,
	K_E,     /* Eb/Ev: ModRM r/m at the operand size */
	K_EB,    /* Eb whatever the operand size (MOVZX/MOVSX source) */
	K_EW,    /* Ew (MOVZX/MOVSX source) */
	K_ED,    /* Ed, Ew with 66 (MOVSXD source) */
	K_G,     /* Gb/Gv: ModRM reg */
	K_ACC,   /* AL/AX/EAX/RAX */
	K_OREG,  /* register in the opcode's low 3 bits, plus REX.B */
	K_I,     /* Ib/Iz: operand-size immediate, at most 32 bits, sign-extended */
	K_IB,    /* Ib sign-extended to the operand size */
	K_IV,    /* Iv: immediate of the full operand size (MOV r64, imm64) */
	K_MOFFS, /* Ob/Ov: address-size offset, no ModRM */
};

/* Descriptor flags. */
#define F_MODRM BIT(0)
#define F_BYTE BIT(1)   /* operand size 8 bits */
#define F_GROUP BIT(2)  /* ModRM.reg selects the entry in groups[arg] */
#define F_LOCK BIT(3)   /* LOCK allowed when the r/m destination is memory */
#define F_NO64 BIT(4)   /* not an instruction in 64-bit mode */
#define F_ONLY64 BIT(5) /* only in 64-bit mode */
#define F_STACK BIT(6)  /* 64-bit mode: operand size 64, 16 with 66; 32 not encodable */
#define F_MEM BIT(7)    /* r/m must be memory */
#define F_NP BIT(8)     /* no 66/F2/F3 prefix (SDM "NP") */
#define F_INHERIT (F_MODRM | F_BYTE | F_NO64) /* what a group parent passes to its members */

struct emu;
typedef int (*emu_exec_fn)(struct emu *e);

/* One opcode: mnemonic, destination and source kinds, flags, an argument for the handler
 * (ALU operation, group number, bit-test variant or string kind) and the handler. A NULL
 * handler (and no F_GROUP) means not emulated: EMU_UNHANDLED. */
struct opdesc {
	const char *name;
	u8 dst, src;
	u16 flags;
	u8 arg;
	emu_exec_fn exec;
};

/* A decoded operand. Register operands name the register; memory operands keep the effective
 * address and segment so the linear address is formed (and checked) at each access. */
enum { O_NONE, O_REG, O_MEM, O_IMM };
struct opnd {
	u8 type;
	u8 size; /* bytes: 1 2 4 8 */
	u8 reg;
	bool high8; /* AH CH DH BH */
	enum emu_seg seg;
	u64 ea;
	u64 val; /* zero-extended from size */
};

/* A decoded instruction. Invariant: bytes[0..len) are exactly the bytes fetched. */
struct insn {
	u8 bytes[EMU_MAX_INSN];
	int len;
	u32 pfx;
	int rep;          /* 0, 0xf2 or 0xf3: the last repeat prefix */
	int seg_override; /* enum emu_seg, or -1 */
	u8 rex;
	u16 opcode;       /* 0x0XX one-byte map, 0x1XX 0F map */
	int opsize, adsize; /* bytes */
	u8 mod, reg, rm;  /* reg and rm with their REX extension */
	struct {
		int base, index, scale; /* -1: none */
		u64 disp;
		bool riprel;
		enum emu_seg seg; /* default or override */
	} m;
	u64 imm, moffs;
	struct opdesc d; /* after group selection */
};

struct emu {
	struct emu_cpu cpu; /* working copy, committed by finish() */
	const struct emu_ops *ops;
	struct emu_result *res;
	struct insn in;
	struct opnd dst, src;
	bool string; /* a fault keeps the completed iterations */
	bool again;  /* REP stopped at EMU_REP_MAX_ITER: RIP stays */
};

#define TRY(x)                              \
	do {                                \
		int try_st_ = (x);          \
		if (try_st_ != EMU_OK)      \
			return try_st_;     \
	} while (0)

/* ---- Bits and sizes ---- */

static bool canonical48(u64 la)
{
	u64 top = la >> 47;
	return top == 0 || top == 0x1ffff;
}

/* ---- Flags: written once, generic over the operand size (8/16/32/64) ---- */

static bool parity_even(u8 b)
{
	b ^= b >> 4;
	b ^= b >> 2;
	b ^= b >> 1;
	return !(b & 1);
}

/* ZF, SF and PF (parity of the low byte only) of a size-byte result. */
static u64 flags_szp(u64 r, int size)
{
	u64 f = 0;
	if (!(r & emu_size_mask(size)))
		f |= RFLAGS_ZF;
	if ((r >> (size * 8 - 1)) & 1)
		f |= RFLAGS_SF;
	if (parity_even((u8)r))
		f |= RFLAGS_PF;
	return f;
}

/* Carry out of every bit position of a + b (+ carry-in) = r; a borrow vector for a - b = r. */
static u64 add_carries(u64 a, u64 b, u64 r)
{
	return (a & b) | ((a | b) & ~r);
}

static u64 sub_borrows(u64 a, u64 b, u64 r)
{
	return (~a & b) | (~(a ^ b) & r);
}

/*
 * All six arithmetic flags from the carry (or borrow) vector cv: CF is the carry out of the
 * top bit, OF the carry into it XOR the carry out of it, AF the carry out of bit 3.
 */
static u64 flags_arith(u64 cv, u64 r, int size)
{
	int top = size * 8 - 1;
	u64 f = flags_szp(r, size);
	if ((cv >> top) & 1)
		f |= RFLAGS_CF;
	if (((cv >> top) ^ (cv >> (top - 1))) & 1)
		f |= RFLAGS_OF;
	if (cv & BIT(3))
		f |= RFLAGS_AF;
	return f;
}

/* ---- ALU ---- */

/* The order of ADD..CMP is the ModRM.reg / opcode bits 5:3 encoding of group 1. */
enum alu_op {
	ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
	ALU_TEST, ALU_INC, ALU_DEC, ALU_NEG, ALU_NOT,
};

/* Result of op; only the low operand-size bits are meaningful. */
static u64 alu_result(int op, u64 a, u64 b, u64 cf)
{
	switch (op) {
	case ALU_ADD: return a + b;
	case ALU_ADC: return a + b + cf;
	case ALU_SUB: case ALU_CMP: return a - b;
	case ALU_SBB: return a - b - cf;
	case ALU_AND: case ALU_TEST: return a & b;
	case ALU_OR: return a | b;
	case ALU_XOR: return a ^ b;
	case ALU_INC: return a + 1;
	case ALU_DEC: return a - 1;
	case ALU_NEG: return 0 - a;
	default: return ~a; /* NOT */
	}
}

/* Flags set by op, and in *mask which of them it writes (see the table at the top). */
static u64 alu_flags(int op, u64 a, u64 b, u64 r, int size, u64 *mask)
{
	*mask = FL_ARITH;
	switch (op) {
	case ALU_ADD: case ALU_ADC: return flags_arith(add_carries(a, b, r), r, size);
	case ALU_SUB: case ALU_SBB: case ALU_CMP: return flags_arith(sub_borrows(a, b, r), r, size);
	case ALU_NEG: return flags_arith(sub_borrows(0, a, r), r, size);
	case ALU_INC: *mask = FL_INCDEC; return flags_arith(add_carries(a, 1, r), r, size);
	case ALU_DEC: *mask = FL_INCDEC; return flags_arith(sub_borrows(a, 1, r), r, size);
	case ALU_NOT: *mask = 0; return 0;
	default: *mask = FL_LOGIC; return flags_szp(r, size); /* AND OR XOR TEST */
	}
}

/* Executes op on size-byte operands, updates *rflags, returns the zero-extended result. */
static u64 alu(u64 *rflags, int op, u64 a, u64 b, int size)
{
	u64 mask, r = alu_result(op, a, b, *rflags & RFLAGS_CF);
	u64 f = alu_flags(op, a, b, r, size, &mask);
	*rflags = (*rflags & ~mask) | (f & mask);
	return r & emu_size_mask(size);
}

/* ---- Results and faults ---- */

static int fault(struct emu *e, u8 vector, bool has_error, u32 error, u64 cr2)
{
	e->res->vector = vector;
	e->res->has_error = has_error;
	e->res->error = error;
	e->res->cr2 = cr2;
	return EMU_EXCEPTION;
}

/* The exception an op reported with EMU_ACCESS_FAULT. */
static int op_fault(struct emu *e)
{
	const struct emu_ops *o = e->ops;
	return fault(e, o->fault_vector, o->fault_has_error, o->fault_error, o->fault_cr2);
}

/* ---- Registers ---- */

/* reg: the x86 register number, AH..BH as 4-7 with high8 (see reg_opnd). */
static u64 reg_get(const struct emu *e, int reg, int size, bool high8)
{
	return emu_reg_value(e->cpu.gpr[high8 ? reg - 4 : reg], size, high8);
}

static void reg_set(struct emu *e, int reg, int size, bool high8, u64 val)
{
	u64 *r = &e->cpu.gpr[high8 ? reg - 4 : reg];
	*r = emu_reg_merge(*r, val, size, high8);
}

/* ---- Memory through ops ---- */

/*
 * Linear address of seg:ea (ea already wrapped to the address size). 64-bit mode: only FS and
 * GS have a base, and the address must be canonical (#SS(0) for the stack, else #GP(0); SDM
 * Vol. 3, 6.15). Otherwise the base is added and the sum wraps at 4 GiB.
 */
static int linear(struct emu *e, enum emu_seg seg, u64 ea, u64 *la)
{
	if (e->cpu.mode != 64) {
		*la = (u32)(e->cpu.seg_base[seg] + ea);
		return EMU_OK;
	}
	*la = ea + (seg == EMU_FS || seg == EMU_GS ? e->cpu.seg_base[seg] : 0);
	if (!canonical48(*la))
		return fault(e, seg == EMU_SS ? VEC_SS : VEC_GP, true, 0, 0);
	return EMU_OK;
}

/* Reads size bytes (little-endian) at seg:ea into *val, zero-extended. */
static int mem_read(struct emu *e, enum emu_seg seg, u64 ea, int size, u64 *val)
{
	u64 la, v = 0;
	TRY(linear(e, seg, ea, &la));
	if (e->ops->read(e->ops->opaque, la, &v, size) != EMU_ACCESS_OK)
		return op_fault(e);
	*val = v & emu_size_mask(size);
	return EMU_OK;
}

static int mem_write(struct emu *e, enum emu_seg seg, u64 ea, int size, u64 val)
{
	u64 la;
	TRY(linear(e, seg, ea, &la));
	if (e->ops->write(e->ops->opaque, la, &val, size) != EMU_ACCESS_OK)
		return op_fault(e);
	return EMU_OK;
}

/* ---- Operands ---- */

static void reg_opnd(const struct emu *e, struct opnd *o, int reg, int size)
{
	o->type = O_REG;
	o->size = (u8)size;
	o->reg = (u8)reg;
	o->high8 = emu_high8_reg(size, e->in.rex, reg);
}

static void mem_opnd(struct opnd *o, enum emu_seg seg, u64 ea, int size)
{
	o->type = O_MEM;
	o->size = (u8)size;
	o->seg = seg;
	o->ea = ea;
}

/* Effective address of the ModRM memory operand, wrapped to the address size. RIP-relative
 * addresses count from the next instruction (SDM Vol. 2, 2.2.1.6). */
static u64 modrm_ea(const struct emu *e)
{
	const struct insn *in = &e->in;
	u64 ea = in->m.disp;
	if (in->m.base >= 0)
		ea += e->cpu.gpr[in->m.base];
	if (in->m.index >= 0)
		ea += e->cpu.gpr[in->m.index] << in->m.scale;
	if (in->m.riprel)
		ea += e->cpu.rip + (u64)in->len;
	return ea & emu_size_mask(in->adsize);
}

static void rm_opnd(const struct emu *e, struct opnd *o, int size)
{
	if (e->in.mod == 3)
		reg_opnd(e, o, e->in.rm, size);
	else
		mem_opnd(o, e->in.m.seg, modrm_ea(e), size);
}

/* Resolves an operand of the given kind; no access is made. */
static void opnd_decode(const struct emu *e, int kind, struct opnd *o)
{
	const struct insn *in = &e->in;
	int size = in->opsize;
	memset(o, 0, sizeof(*o));
	switch (kind) {
	case K_E: rm_opnd(e, o, size); break;
	case K_EB: rm_opnd(e, o, 1); break;
	case K_EW: rm_opnd(e, o, 2); break;
	case K_ED: rm_opnd(e, o, MIN(size, 4)); break;
	case K_G: reg_opnd(e, o, in->reg, size); break;
	case K_ACC: reg_opnd(e, o, R_AX, size); break;
	case K_OREG: reg_opnd(e, o, (in->opcode & 7) | (in->rex & EMU_REX_B ? 8 : 0), size); break;
	case K_MOFFS: mem_opnd(o, in->m.seg, in->moffs, size); break;
	case K_I: case K_IB: case K_IV:
		o->type = O_IMM;
		o->size = (u8)size;
		o->val = in->imm & emu_size_mask(size);
		break;
	default: break;
	}
}

static int opnd_read(struct emu *e, struct opnd *o)
{
	if (o->type == O_REG)
		o->val = reg_get(e, o->reg, o->size, o->high8);
	else if (o->type == O_MEM)
		return mem_read(e, o->seg, o->ea, o->size, &o->val);
	return EMU_OK; /* immediates carry their value */
}

static int opnd_write(struct emu *e, const struct opnd *o)
{
	if (o->type == O_MEM)
		return mem_write(e, o->seg, o->ea, o->size, o->val);
	reg_set(e, o->reg, o->size, o->high8, o->val);
	return EMU_OK;
}

/* ---- Handlers: ALU, moves, exchange ---- */

/* ADD..CMP, TEST, INC, DEC, NEG, NOT: dst = dst op src (CMP and TEST only set flags). */
static int ex_alu(struct emu *e)
{
	int op = e->in.d.arg;
	TRY(opnd_read(e, &e->dst));
	TRY(opnd_read(e, &e->src));
	e->dst.val = alu(&e->cpu.rflags, op, e->dst.val, e->src.val, e->dst.size);
	if (op == ALU_CMP || op == ALU_TEST)
		return EMU_OK;
	return opnd_write(e, &e->dst);
}

/* MOV, MOVZX (the source is narrower and zero-extended), MOVNTI. */
static int ex_mov(struct emu *e)
{
	TRY(opnd_read(e, &e->src));
	e->dst.val = e->src.val;
	return opnd_write(e, &e->dst);
}

/* MOVSX, MOVSXD. */
static int ex_movsx(struct emu *e)
{
	TRY(opnd_read(e, &e->src));
	e->dst.val = emu_sext(e->src.val, e->src.size) & emu_size_mask(e->dst.size);
	return opnd_write(e, &e->dst);
}

/* XCHG r/m, r: memory is written before the register (which is only the working copy). */
static int ex_xchg(struct emu *e)
{
	u64 old;
	TRY(opnd_read(e, &e->dst));
	TRY(opnd_read(e, &e->src));
	old = e->dst.val;
	e->dst.val = e->src.val;
	TRY(opnd_write(e, &e->dst));
	e->src.val = old;
	return opnd_write(e, &e->src);
}

/*
 * CMPXCHG r/m, r: flags of CMP accumulator, dest. Equal: dest = src (the accumulator is not
 * written, so RAX keeps its upper half). Not equal: the accumulator gets dest; a memory dest
 * receives a write cycle with its own value (SDM Vol. 2, CMPXCHG), so a device sees read +
 * write; a register dest is not written (its upper half stays, as on the host CPU and Bochs).
 */
static int ex_cmpxchg(struct emu *e)
{
	struct opnd acc;
	opnd_decode(e, K_ACC, &acc);
	TRY(opnd_read(e, &e->dst));
	TRY(opnd_read(e, &e->src));
	TRY(opnd_read(e, &acc));
	alu(&e->cpu.rflags, ALU_CMP, acc.val, e->dst.val, acc.size);
	if (e->cpu.rflags & RFLAGS_ZF) {
		e->dst.val = e->src.val;
		return opnd_write(e, &e->dst);
	}
	if (e->dst.type == O_MEM)
		TRY(opnd_write(e, &e->dst));
	acc.val = e->dst.val;
	return opnd_write(e, &acc);
}

/*
 * CMPXCHG8B m64 (0F C7 /1): EDX:EAX against m64; equal: ZF = 1, m64 = ECX:EBX; not equal:
 * ZF = 0, EDX:EAX = m64, and m64 gets a write cycle with its own value (SDM Vol. 2). Only ZF
 * changes. What a PAE kernel uses to update a 64-bit page-table entry atomically. The 16-byte
 * form (REX.W: CMPXCHG16B) is not emulated.
 */
static int ex_cmpxchg8b(struct emu *e)
{
	u64 m, *g = e->cpu.gpr;
	if (e->in.rex & EMU_REX_W)
		return EMU_UNHANDLED;
	TRY(mem_read(e, e->dst.seg, e->dst.ea, 8, &m));
	u64 cur = (g[R_DX] & 0xffffffffULL) << 32 | (g[R_AX] & 0xffffffffULL);
	if (m == cur) {
		TRY(mem_write(e, e->dst.seg, e->dst.ea, 8,
			      (g[R_CX] & 0xffffffffULL) << 32 | (g[R_BX] & 0xffffffffULL)));
		e->cpu.rflags |= RFLAGS_ZF;
		return EMU_OK;
	}
	TRY(mem_write(e, e->dst.seg, e->dst.ea, 8, m));
	e->cpu.rflags &= ~RFLAGS_ZF;
	reg_set(e, R_AX, 4, false, m & 0xffffffffULL); /* 32-bit writes: upper halves zeroed */
	reg_set(e, R_DX, 4, false, m >> 32);
	return EMU_OK;
}

/* ---- Handlers: bit tests ---- */

enum { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

/*
 * A register bit offset with a memory operand is signed and may leave the operand: the access
 * moves by (offset DIV width) operands of operand size (SDM Vol. 2, BT, "bit base"). An
 * immediate offset, or a register operand, takes the offset modulo the width.
 */
static u32 bt_select(struct emu *e)
{
	int size = e->dst.size, shift = size == 2 ? 4 : size == 4 ? 5 : 6;
	u64 off = e->src.val;
	if (e->src.type == O_REG && e->dst.type == O_MEM) {
		s64 words = (s64)emu_sext(off, size) >> shift; /* floor division */
		e->dst.ea = (e->dst.ea + (u64)words * (u64)size) & emu_size_mask(e->in.adsize);
	}
	return (u32)(off & (u64)(size * 8 - 1));
}

/* BT BTS BTR BTC: CF = the selected bit; the other flags are left unchanged. */
static int ex_bt(struct emu *e)
{
	int op = e->in.d.arg;
	u32 bit;
	TRY(opnd_read(e, &e->src));
	bit = bt_select(e);
	TRY(opnd_read(e, &e->dst));
	e->cpu.rflags = (e->cpu.rflags & ~RFLAGS_CF) | ((e->dst.val >> bit) & 1);
	if (op == BT_TEST)
		return EMU_OK;
	if (op == BT_SET)
		e->dst.val |= BIT(bit);
	else if (op == BT_RESET)
		e->dst.val &= ~BIT(bit);
	else
		e->dst.val ^= BIT(bit);
	return opnd_write(e, &e->dst);
}

/* ---- Handlers: stack ---- */

/* Stack address size: SS.B is not in emu_cpu, so the code size stands for it. */
static int stack_size(const struct emu *e)
{
	return e->cpu.mode / 8;
}

/* PUSH r/m: the operand address uses RSP before the push (SDM Vol. 2, PUSH). */
static int ex_push(struct emu *e)
{
	int ss = stack_size(e), size = e->dst.size;
	u64 sp = (e->cpu.gpr[R_SP] - (u64)size) & emu_size_mask(ss);
	TRY(opnd_read(e, &e->dst));
	TRY(mem_write(e, EMU_SS, sp, size, e->dst.val));
	reg_set(e, R_SP, ss, false, sp);
	return EMU_OK;
}

/* POP r/m: the destination address is computed with RSP already incremented (SDM Vol. 2, POP);
 * POP RSP leaves the popped value. */
static int ex_pop(struct emu *e)
{
	int ss = stack_size(e), size = e->in.opsize;
	u64 sp = e->cpu.gpr[R_SP] & emu_size_mask(ss), val;
	TRY(mem_read(e, EMU_SS, sp, size, &val));
	reg_set(e, R_SP, ss, false, sp + (u64)size);
	opnd_decode(e, K_E, &e->dst);
	e->dst.val = val;
	return opnd_write(e, &e->dst);
}

/* ---- Handlers: string instructions ---- */

enum { S_MOVS, S_CMPS, S_STOS, S_LODS, S_SCAS, S_INS, S_OUTS };
#define S_SI BIT(0) /* the iteration advances RSI */
#define S_DI BIT(1) /* ... and/or RDI */

/* Source: seg:rSI with DS by default (overridable); destination: ES:rDI, never overridden. */
static enum emu_seg src_seg(const struct emu *e)
{
	return e->in.seg_override >= 0 ? (enum emu_seg)e->in.seg_override : EMU_DS;
}

static u64 rsi(const struct emu *e)
{
	return e->cpu.gpr[R_SI] & emu_size_mask(e->in.adsize);
}

static u64 rdi(const struct emu *e)
{
	return e->cpu.gpr[R_DI] & emu_size_mask(e->in.adsize);
}

static int st_movs(struct emu *e, int size)
{
	u64 v;
	TRY(mem_read(e, src_seg(e), rsi(e), size, &v));
	return mem_write(e, EMU_ES, rdi(e), size, v);
}

/* CMPS: flags of [rSI] - [rDI]. */
static int st_cmps(struct emu *e, int size)
{
	u64 a, b;
	TRY(mem_read(e, src_seg(e), rsi(e), size, &a));
	TRY(mem_read(e, EMU_ES, rdi(e), size, &b));
	alu(&e->cpu.rflags, ALU_CMP, a, b, size);
	return EMU_OK;
}

static int st_stos(struct emu *e, int size)
{
	return mem_write(e, EMU_ES, rdi(e), size, e->cpu.gpr[R_AX]);
}

static int st_lods(struct emu *e, int size)
{
	u64 v;
	TRY(mem_read(e, src_seg(e), rsi(e), size, &v));
	reg_set(e, R_AX, size, false, v);
	return EMU_OK;
}

/* SCAS: flags of accumulator - [rDI]. */
static int st_scas(struct emu *e, int size)
{
	u64 v;
	TRY(mem_read(e, EMU_ES, rdi(e), size, &v));
	alu(&e->cpu.rflags, ALU_CMP, e->cpu.gpr[R_AX], v, size);
	return EMU_OK;
}

/* INS: the port is read before the memory write, as on hardware: a faulting write loses the
 * value read. */
static int st_ins(struct emu *e, int size)
{
	u32 v = 0;
	e->ops->pio_in(e->ops->opaque, (u16)e->cpu.gpr[R_DX], size, &v);
	return mem_write(e, EMU_ES, rdi(e), size, v & emu_size_mask(size));
}

static int st_outs(struct emu *e, int size)
{
	u64 v;
	TRY(mem_read(e, src_seg(e), rsi(e), size, &v));
	e->ops->pio_out(e->ops->opaque, (u16)e->cpu.gpr[R_DX], size, (u32)v);
	return EMU_OK;
}

/* Invariant: repne != NULL exactly for the kinds REPE/REPNE end on ZF (CMPS, SCAS). */
static const struct string_kind {
	const char *name, *rep, *repne;
	u8 regs;
	int (*step)(struct emu *e, int size);
} string_kinds[] = {
	[S_MOVS] = { "movs", "rep movs", NULL, S_SI | S_DI, st_movs },
	[S_CMPS] = { "cmps", "repe cmps", "repne cmps", S_SI | S_DI, st_cmps },
	[S_STOS] = { "stos", "rep stos", NULL, S_DI, st_stos },
	[S_LODS] = { "lods", "rep lods", NULL, S_SI, st_lods },
	[S_SCAS] = { "scas", "repe scas", "repne scas", S_DI, st_scas },
	[S_INS] = { "ins", "rep ins", NULL, S_DI, st_ins },
	[S_OUTS] = { "outs", "rep outs", NULL, S_SI, st_outs },
};

/* Moves rSI/rDI by one element, backwards when DF=1, at the address size. */
static void string_advance(struct emu *e, u8 regs, int size)
{
	u64 step = (e->cpu.rflags & RFLAGS_DF) ? (u64)-size : (u64)size;
	int as = e->in.adsize;
	if (regs & S_SI)
		reg_set(e, R_SI, as, false, e->cpu.gpr[R_SI] + step);
	if (regs & S_DI)
		reg_set(e, R_DI, as, false, e->cpu.gpr[R_DI] + step);
}

/* REPE ends when ZF=0, REPNE when ZF=1 (CMPS/SCAS only). */
static bool rep_ends(const struct emu *e, const struct string_kind *k)
{
	bool zf = e->cpu.rflags & RFLAGS_ZF;
	return k->repne && (e->in.rep == 0xf3 ? !zf : zf);
}

/* Runs rCX (address-size) iterations, at most EMU_REP_MAX_ITER per call. */
static int string_repeat(struct emu *e, const struct string_kind *k, int size)
{
	int as = e->in.adsize;
	u64 count = e->cpu.gpr[R_CX] & emu_size_mask(as);
	for (u32 n = 0; count; n++) {
		if (n == EMU_REP_MAX_ITER) {
			e->again = true;
			return EMU_OK;
		}
		TRY(k->step(e, size));
		string_advance(e, k->regs, size);
		reg_set(e, R_CX, as, false, --count);
		if (rep_ends(e, k))
			break;
	}
	return EMU_OK;
}

static int ex_string(struct emu *e)
{
	const struct string_kind *k = &string_kinds[e->in.d.arg];
	int size = e->in.opsize, rep = e->in.rep;
	bool pio = e->in.d.arg == S_INS || e->in.d.arg == S_OUTS;
	if ((rep == 0xf2 && !k->repne) || (pio && (!e->ops->pio_in || !e->ops->pio_out)))
		return EMU_UNHANDLED; /* F2 on MOVS/STOS/...: not architectural */
	if (pio)
		size = MIN(size, 4);
	e->res->mnemonic = !rep ? k->name : rep == 0xf3 ? k->rep : k->repne;
	e->string = true;
	if (rep)
		return string_repeat(e, k, size);
	TRY(k->step(e, size));
	string_advance(e, k->regs, size);
	return EMU_OK;
}

/* ---- Opcode tables (SDM Vol. 2, Appendix A) ---- */

#define OP(n, d, s, f, a, x) { .name = n, .dst = d, .src = s, .flags = f, .arg = a, .exec = x }
#define GRP(g, f) { .flags = F_MODRM | F_GROUP | (f), .arg = g }

/* The six forms of ADD..CMP at opcode op*8 (lk: LOCK allowed, not for CMP). */
#define ALU_ROW(op, n, lk)                                                       \
	[(op) * 8 + 0] = OP(n, K_E, K_G, F_MODRM | F_BYTE | (lk), op, ex_alu),   \
	[(op) * 8 + 1] = OP(n, K_E, K_G, F_MODRM | (lk), op, ex_alu),            \
	[(op) * 8 + 2] = OP(n, K_G, K_E, F_MODRM | F_BYTE, op, ex_alu),          \
	[(op) * 8 + 3] = OP(n, K_G, K_E, F_MODRM, op, ex_alu),                   \
	[(op) * 8 + 4] = OP(n, K_ACC, K_I, F_BYTE, op, ex_alu),                  \
	[(op) * 8 + 5] = OP(n, K_ACC, K_I, 0, op, ex_alu)

#define STR(n, kind) OP(n, K_NONE, K_NONE, F_BYTE, kind, ex_string), OP(n, K_NONE, K_NONE, 0, kind, ex_string)

enum { G_1, G_1IB, G_1A, G_3, G_4, G_5, G_8, G_9, G_11 };

static const struct opdesc onebyte[256] = {
	ALU_ROW(ALU_ADD, "add", F_LOCK),
	ALU_ROW(ALU_OR, "or", F_LOCK),
	ALU_ROW(ALU_ADC, "adc", F_LOCK),
	ALU_ROW(ALU_SBB, "sbb", F_LOCK),
	ALU_ROW(ALU_AND, "and", F_LOCK),
	ALU_ROW(ALU_SUB, "sub", F_LOCK),
	ALU_ROW(ALU_XOR, "xor", F_LOCK),
	ALU_ROW(ALU_CMP, "cmp", 0),
	[0x40 ... 0x47] = OP("inc", K_OREG, K_NONE, F_NO64, ALU_INC, ex_alu),
	[0x48 ... 0x4f] = OP("dec", K_OREG, K_NONE, F_NO64, ALU_DEC, ex_alu),
	[0x63] = OP("movsxd", K_G, K_ED, F_MODRM | F_ONLY64, 0, ex_movsx),
	[0x6c] = STR("ins", S_INS),
	[0x6e] = STR("outs", S_OUTS),
	[0x80] = GRP(G_1, F_BYTE),
	[0x81] = GRP(G_1, 0),
	[0x82] = GRP(G_1, F_BYTE | F_NO64),
	[0x83] = GRP(G_1IB, 0),
	[0x84] = OP("test", K_E, K_G, F_MODRM | F_BYTE, ALU_TEST, ex_alu),
	[0x85] = OP("test", K_E, K_G, F_MODRM, ALU_TEST, ex_alu),
	[0x86] = OP("xchg", K_E, K_G, F_MODRM | F_BYTE | F_LOCK, 0, ex_xchg),
	[0x87] = OP("xchg", K_E, K_G, F_MODRM | F_LOCK, 0, ex_xchg),
	[0x88] = OP("mov", K_E, K_G, F_MODRM | F_BYTE, 0, ex_mov),
	[0x89] = OP("mov", K_E, K_G, F_MODRM, 0, ex_mov),
	[0x8a] = OP("mov", K_G, K_E, F_MODRM | F_BYTE, 0, ex_mov),
	[0x8b] = OP("mov", K_G, K_E, F_MODRM, 0, ex_mov),
	[0x8f] = GRP(G_1A, 0),
	[0xa0] = OP("mov", K_ACC, K_MOFFS, F_BYTE, 0, ex_mov),
	[0xa1] = OP("mov", K_ACC, K_MOFFS, 0, 0, ex_mov),
	[0xa2] = OP("mov", K_MOFFS, K_ACC, F_BYTE, 0, ex_mov),
	[0xa3] = OP("mov", K_MOFFS, K_ACC, 0, 0, ex_mov),
	[0xa4] = STR("movs", S_MOVS),
	[0xa6] = STR("cmps", S_CMPS),
	[0xa8] = OP("test", K_ACC, K_I, F_BYTE, ALU_TEST, ex_alu),
	[0xa9] = OP("test", K_ACC, K_I, 0, ALU_TEST, ex_alu),
	[0xaa] = STR("stos", S_STOS),
	[0xac] = STR("lods", S_LODS),
	[0xae] = STR("scas", S_SCAS),
	[0xb0 ... 0xb7] = OP("mov", K_OREG, K_IV, F_BYTE, 0, ex_mov),
	[0xb8 ... 0xbf] = OP("mov", K_OREG, K_IV, 0, 0, ex_mov),
	[0xc6] = GRP(G_11, F_BYTE),
	[0xc7] = GRP(G_11, 0),
	[0xf6] = GRP(G_3, F_BYTE),
	[0xf7] = GRP(G_3, 0),
	[0xfe] = GRP(G_4, F_BYTE),
	[0xff] = GRP(G_5, 0),
};

static const struct opdesc twobyte[256] = {
	[0xa3] = OP("bt", K_E, K_G, F_MODRM, BT_TEST, ex_bt),
	[0xab] = OP("bts", K_E, K_G, F_MODRM | F_LOCK, BT_SET, ex_bt),
	[0xb0] = OP("cmpxchg", K_E, K_G, F_MODRM | F_BYTE | F_LOCK, 0, ex_cmpxchg),
	[0xb1] = OP("cmpxchg", K_E, K_G, F_MODRM | F_LOCK, 0, ex_cmpxchg),
	[0xb3] = OP("btr", K_E, K_G, F_MODRM | F_LOCK, BT_RESET, ex_bt),
	[0xb6] = OP("movzx", K_G, K_EB, F_MODRM, 0, ex_mov),
	[0xb7] = OP("movzx", K_G, K_EW, F_MODRM, 0, ex_mov),
	[0xba] = GRP(G_8, 0),
	[0xbb] = OP("btc", K_E, K_G, F_MODRM | F_LOCK, BT_COMPLEMENT, ex_bt),
	[0xbe] = OP("movsx", K_G, K_EB, F_MODRM, 0, ex_movsx),
	[0xbf] = OP("movsx", K_G, K_EW, F_MODRM, 0, ex_movsx),
	[0xc3] = OP("movnti", K_E, K_G, F_MODRM | F_MEM | F_NP, 0, ex_mov),
	[0xc7] = GRP(G_9, 0),
};

/* Groups, indexed by ModRM.reg; the parent entry contributes F_INHERIT. */
#define GROUP1(src)                                                   \
	{                                                             \
		OP("add", K_E, src, F_LOCK, ALU_ADD, ex_alu),         \
		OP("or", K_E, src, F_LOCK, ALU_OR, ex_alu),           \
		OP("adc", K_E, src, F_LOCK, ALU_ADC, ex_alu),         \
		OP("sbb", K_E, src, F_LOCK, ALU_SBB, ex_alu),         \
		OP("and", K_E, src, F_LOCK, ALU_AND, ex_alu),         \
		OP("sub", K_E, src, F_LOCK, ALU_SUB, ex_alu),         \
		OP("xor", K_E, src, F_LOCK, ALU_XOR, ex_alu),         \
		OP("cmp", K_E, src, 0, ALU_CMP, ex_alu),              \
	}

static const struct opdesc groups[][8] = {
	[G_1] = GROUP1(K_I),
	[G_1IB] = GROUP1(K_IB),
	[G_1A] = { [0] = OP("pop", K_NONE, K_NONE, F_STACK, 0, ex_pop) },
	[G_3] = {
		[0] = OP("test", K_E, K_I, 0, ALU_TEST, ex_alu),
		[2] = OP("not", K_E, K_NONE, F_LOCK, ALU_NOT, ex_alu),
		[3] = OP("neg", K_E, K_NONE, F_LOCK, ALU_NEG, ex_alu),
	},
	[G_4] = {
		[0] = OP("inc", K_E, K_NONE, F_LOCK, ALU_INC, ex_alu),
		[1] = OP("dec", K_E, K_NONE, F_LOCK, ALU_DEC, ex_alu),
	},
	[G_5] = {
		[0] = OP("inc", K_E, K_NONE, F_LOCK, ALU_INC, ex_alu),
		[1] = OP("dec", K_E, K_NONE, F_LOCK, ALU_DEC, ex_alu),
		[6] = OP("push", K_E, K_NONE, F_STACK, 0, ex_push),
	},
	[G_8] = {
		[4] = OP("bt", K_E, K_IB, 0, BT_TEST, ex_bt),
		[5] = OP("bts", K_E, K_IB, F_LOCK, BT_SET, ex_bt),
		[6] = OP("btr", K_E, K_IB, F_LOCK, BT_RESET, ex_bt),
		[7] = OP("btc", K_E, K_IB, F_LOCK, BT_COMPLEMENT, ex_bt),
	},
	[G_9] = { [1] = OP("cmpxchg8b", K_E, K_NONE, F_MEM | F_LOCK, 0, ex_cmpxchg8b) },
	[G_11] = { [0] = OP("mov", K_E, K_I, 0, 0, ex_mov) },
};

/* ---- Decoding ---- */

/* Linear address of the instruction byte at offset off: IP/EIP wrap at the code size; 64-bit
 * mode has no CS base. */
static u64 fetch_la(const struct emu *e, int off)
{
	u64 ip = e->cpu.rip + (u64)off;
	if (e->cpu.mode == 64)
		return ip;
	return (u32)(e->cpu.seg_base[EMU_CS] + (ip & emu_size_mask(e->cpu.mode / 8)));
}

/*
 * Fetches the next n (<= 8) instruction bytes into in.bytes and returns them little-endian in
 * *val. Fetches exactly what the instruction needs; past 15 bytes it is #GP(0) (SDM Vol. 2,
 * 2.3.11). A chunk that would wrap IP/EIP is fetched byte by byte.
 */
static int fetch(struct emu *e, int n, u64 *val)
{
	struct insn *in = &e->in;
	int start = in->len;
	if (in->len + n > EMU_MAX_INSN)
		return fault(e, VEC_GP, true, 0, 0);
	while (in->len < start + n) {
		int chunk = start + n - in->len;
		u64 la = fetch_la(e, in->len);
		if (e->cpu.mode != 64 && fetch_la(e, in->len + chunk - 1) != la + (u64)chunk - 1)
			chunk = 1;
		if (e->ops->fetch(e->ops->opaque, la, in->bytes + in->len, chunk) != EMU_ACCESS_OK)
			return op_fault(e);
		in->len += chunk;
	}
	*val = 0;
	memcpy(val, in->bytes + start, (size_t)n);
	return EMU_OK;
}

/* Records a legacy prefix; false when b is not one. The last segment override and the last
 * of F2/F3 win. */
static bool legacy_prefix(struct insn *in, u8 b)
{
	if (emu_seg_prefix(b) >= 0)
		in->seg_override = emu_seg_prefix(b);
	else if (b == 0xf0)
		in->pfx |= P_LOCK;
	else if (b == 0xf2 || b == 0xf3)
		in->rep = b;
	else if (b == 0x66)
		in->pfx |= P_OPSIZE;
	else if (b == 0x67)
		in->pfx |= P_ADSIZE;
	else
		return false;
	return true;
}

/* Prefixes, then the first opcode byte in *op. A REX prefix counts only right before the
 * opcode: a legacy prefix after it cancels it (SDM Vol. 2, 2.2.1). */
static int decode_prefixes(struct emu *e, u8 *op)
{
	for (;;) {
		u64 b;
		TRY(fetch(e, 1, &b));
		if (legacy_prefix(&e->in, (u8)b)) {
			e->in.rex = 0;
		} else if (emu_rex_prefix((u8)b, e->cpu.mode == 64)) {
			e->in.rex = (u8)b;
		} else {
			*op = (u8)b;
			return EMU_OK;
		}
	}
}

/* Operand and address size from the mode, 66, 67 and REX.W (SDM Vol. 2, 2.2.1.2, Table 3-4). */
static void decode_sizes(struct insn *in, int mode)
{
	bool p66 = in->pfx & P_OPSIZE, p67 = in->pfx & P_ADSIZE;
	in->opsize = emu_opsize(mode, p66, in->rex);
	if (mode == 64)
		in->adsize = p67 ? 4 : 8;
	else if (mode == 32)
		in->adsize = p67 ? 2 : 4;
	else
		in->adsize = p67 ? 4 : 2;
	if (in->d.flags & F_BYTE)
		in->opsize = 1;
	else if ((in->d.flags & F_STACK) && mode == 64)
		in->opsize = p66 ? 2 : 8;
}

/* Fetches a displacement of n bytes (0, 1, 2 or 4), sign-extended. */
static int decode_disp(struct emu *e, int n)
{
	u64 v;
	if (!n)
		return EMU_OK;
	TRY(fetch(e, n, &v));
	e->in.m.disp = emu_sext(v, n);
	return EMU_OK;
}

/* 16-bit addressing (SDM Vol. 2, Table 2-1); BP-based forms default to SS. */
static int decode_mem16(struct emu *e)
{
	static const int8_t base[8] = { R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX };
	static const int8_t index[8] = { R_SI, R_DI, R_SI, R_DI, -1, -1, -1, -1 };
	struct insn *in = &e->in;
	int rm = in->rm & 7;
	in->m.base = base[rm];
	in->m.index = index[rm];
	if (in->mod == 0 && rm == 6)
		in->m.base = -1;
	if (in->m.base == R_BP)
		in->m.seg = EMU_SS;
	return decode_disp(e, in->mod == 1 ? 1 : in->mod == 2 || in->m.base < 0 ? 2 : 0);
}

/* SIB byte: base (none with mod 0 and base 101b), index (none when 100b without REX.X). */
static int decode_sib(struct emu *e, u64 *sib)
{
	struct insn *in = &e->in;
	int idx;
	TRY(fetch(e, 1, sib));
	in->m.scale = (int)(*sib >> 6);
	idx = (int)((*sib >> 3) & 7) | (in->rex & EMU_REX_X ? 8 : 0);
	in->m.index = idx == 4 ? -1 : idx;
	in->m.base = (int)(*sib & 7) | (in->rex & EMU_REX_B ? 8 : 0);
	if ((*sib & 7) == 5 && in->mod == 0)
		in->m.base = -1;
	return EMU_OK;
}

/* 32/64-bit addressing (SDM Vol. 2, Tables 2-2, 2-3); rSP/rBP bases default to SS;
 * mod 0 rm 101b is disp32, RIP-relative in 64-bit mode. */
static int decode_mem32(struct emu *e)
{
	struct insn *in = &e->in;
	u64 sib = 0;
	in->m.index = -1;
	in->m.base = in->rm;
	if (emu_has_sib32(in->rm)) {
		TRY(decode_sib(e, &sib));
	} else if ((in->rm & 7) == 5 && in->mod == 0) {
		in->m.base = -1;
		in->m.riprel = e->cpu.mode == 64;
	}
	if (in->m.base == R_SP || in->m.base == R_BP)
		in->m.seg = EMU_SS;
	return decode_disp(e, emu_disp_len32(in->mod, in->rm, (u8)sib));
}

/* The ModRM byte; for a group, the entry it selects. */
static int decode_modrm(struct emu *e)
{
	struct insn *in = &e->in;
	u64 b;
	TRY(fetch(e, 1, &b));
	in->mod = (u8)(b >> 6);
	in->reg = (u8)(((b >> 3) & 7) | (in->rex & EMU_REX_R ? 8 : 0));
	in->rm = (u8)((b & 7) | (in->rex & EMU_REX_B ? 8 : 0));
	if (in->d.flags & F_GROUP) {
		u16 inherited = in->d.flags & F_INHERIT;
		in->d = groups[in->d.arg][(b >> 3) & 7];
		in->d.flags |= inherited;
	}
	return in->d.exec ? EMU_OK : EMU_UNHANDLED;
}

/* Immediate or moffs, after ModRM/SIB/displacement. */
static int decode_imm(struct emu *e)
{
	struct insn *in = &e->in;
	int n = 0;
	u64 v;
	if (in->d.dst == K_MOFFS || in->d.src == K_MOFFS) {
		TRY(fetch(e, in->adsize, &in->moffs));
		return EMU_OK;
	}
	switch (in->d.src) {
	case K_I: n = emu_imm_len_z(in->opsize); break;
	case K_IB: n = 1; break;
	case K_IV: n = in->opsize; break;
	default: return EMU_OK;
	}
	TRY(fetch(e, n, &v));
	in->imm = emu_sext(v, n);
	return EMU_OK;
}

/* Encodings this emulator refuses rather than guesses: wrong mode, register operand where
 * only memory exists, F2/F3 on the 0F map (other instructions there), 66/F2/F3 on NP forms. */
static bool encoding_valid(const struct emu *e)
{
	const struct insn *in = &e->in;
	u16 f = in->d.flags;
	bool m64 = e->cpu.mode == 64;
	if ((f & F_NO64 && m64) || (f & F_ONLY64 && !m64))
		return false;
	if ((f & F_MEM) && in->mod == 3)
		return false;
	if ((in->opcode & 0x100) && in->rep)
		return false;
	return !((f & F_NP) && (in->rep || (in->pfx & P_OPSIZE)));
}

/* LOCK only on the read-modify-write forms with a memory destination, else #UD (SDM Vol. 2,
 * LOCK). */
static int check_lock(struct emu *e)
{
	const struct insn *in = &e->in;
	if (!(in->pfx & P_LOCK) || ((in->d.flags & F_LOCK) && in->mod != 3))
		return EMU_OK;
	return fault(e, VEC_UD, false, 0, 0);
}

static int decode(struct emu *e)
{
	struct insn *in = &e->in;
	u8 b;
	u64 b2;
	TRY(decode_prefixes(e, &b));
	in->opcode = b;
	in->d = onebyte[b];
	if (b == 0x0f) {
		TRY(fetch(e, 1, &b2));
		in->opcode = (u16)(0x100 | b2);
		in->d = twobyte[b2];
	}
	if (!in->d.exec && !(in->d.flags & F_GROUP))
		return EMU_UNHANDLED;
	in->m.seg = in->seg_override >= 0 ? (enum emu_seg)in->seg_override : EMU_DS;
	if (in->d.flags & F_MODRM)
		TRY(decode_modrm(e));
	if (!encoding_valid(e))
		return EMU_UNHANDLED;
	e->res->mnemonic = in->d.name;
	decode_sizes(in, e->cpu.mode);
	if ((in->d.flags & F_MODRM) && in->mod != 3)
		TRY(in->adsize == 2 ? decode_mem16(e) : decode_mem32(e));
	if (in->seg_override >= 0)
		in->m.seg = (enum emu_seg)in->seg_override;
	TRY(decode_imm(e));
	return check_lock(e);
}

/* ---- Execution and commit ---- */

static int execute(struct emu *e)
{
	const struct opdesc *d = &e->in.d;
	opnd_decode(e, d->dst, &e->dst);
	opnd_decode(e, d->src, &e->src);
	return d->exec(e);
}

static u64 next_rip(const struct emu *e)
{
	u64 rip = e->cpu.rip + (u64)e->in.len;
	return e->cpu.mode == 64 ? rip : rip & emu_size_mask(e->cpu.mode / 8);
}

/* Reports st and commits the working copy: on success (RIP advanced, RF cleared as after any
 * completed instruction, unless a REP stopped early), or after a fault in a string
 * instruction (its completed iterations stay; RIP stays). */
static void finish(struct emu_cpu *cpu, struct emu *e, int st)
{
	struct emu_result *res = e->res;
	res->status = (enum emu_status)st;
	res->len = e->in.len;
	memcpy(res->bytes, e->in.bytes, sizeof(res->bytes));
	if (st == EMU_OK && !e->again) {
		e->cpu.rip = next_rip(e);
		e->cpu.rflags &= ~RFLAGS_RF;
	}
	if (st == EMU_OK || (st == EMU_EXCEPTION && e->string))
		*cpu = e->cpu;
}

void emu_step(struct emu_cpu *cpu, const struct emu_ops *ops, struct emu_result *res)
{
	struct emu e;
	int st;
	memset(&e, 0, sizeof(e));
	memset(res, 0, sizeof(*res));
	e.cpu = *cpu;
	e.ops = ops;
	e.res = res;
	e.in.seg_override = -1;
	res->mnemonic = "(bad)";
	if (cpu->mode != 16 && cpu->mode != 32 && cpu->mode != 64)
		st = EMU_UNHANDLED;
	else
		st = decode(&e);
	if (st == EMU_OK)
		st = execute(&e);
	finish(cpu, &e, st);
}
