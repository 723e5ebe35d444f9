/* emulate.h - x86 instruction decoder and emulator for the instructions guests use on device
 * memory (MMIO) and for string I/O. Pure: memory, fetch and ports are reached through struct
 * emu_ops, so host tests run it on plain buffers (tests/unit/test_emulate.c). */
#ifndef EMUL_EMULATE_H
#define EMUL_EMULATE_H

#include "arch/types.h"

#define EMU_MAX_INSN 15

/* A REP string instruction runs at most this many iterations per emu_step. When the count is
 * not exhausted by then, emu_step returns EMU_OK with RCX/RSI/RDI updated for the iterations
 * done and RIP NOT advanced, so the guest re-executes the instruction (as after an interrupt
 * between iterations) and the caller bounds the time spent per exit. */
#define EMU_REP_MAX_ITER 4096

/* Segment registers, in the x86 encoding order. */
enum emu_seg { EMU_ES, EMU_CS, EMU_SS, EMU_DS, EMU_FS, EMU_GS, EMU_NSEG };

/* The guest CPU state the emulator reads and updates. gpr[] uses x86 register numbers
 * (RAX=0 ... R15=15). mode is the code size: 16, 32 or 64. */
struct emu_cpu {
	u64 gpr[16];
	u64 rip;
	u64 rflags;
	u64 seg_base[EMU_NSEG]; /* linear base of each segment (0 for CS/DS/ES/SS in 64-bit) */
	int mode;               /* 16, 32 or 64 (CS.L / CS.D) */
	int cpl;
};

/* Result of an access through ops. */
enum emu_access { EMU_ACCESS_OK = 0, EMU_ACCESS_FAULT = 1 };

struct emu_ops {
	/* Reads len instruction bytes at linear address la (through the guest's tables; across
	 * page boundaries). On a fault fills the fault_* fields below (see emu_result). */
	enum emu_access (*fetch)(void *opaque, u64 la, void *buf, int len);
	/* Data reads/writes of size 1, 2, 4 or 8 bytes at linear address la: the ops decide
	 * whether la is RAM or a device (MMIO). */
	enum emu_access (*read)(void *opaque, u64 la, void *buf, int size);
	enum emu_access (*write)(void *opaque, u64 la, const void *buf, int size);
	/* Port I/O for INS/OUTS (size 1, 2, 4). */
	void (*pio_in)(void *opaque, u16 port, int size, u32 *value);
	void (*pio_out)(void *opaque, u16 port, int size, u32 value);
	/* Filled by an op that returns EMU_ACCESS_FAULT: the exception to inject. */
	u8 fault_vector;
	bool fault_has_error;
	u32 fault_error;
	u64 fault_cr2;
	void *opaque;
};

enum emu_status {
	EMU_OK = 0,        /* executed; cpu->rip advanced, registers and flags updated (except a
			    * REP string instruction stopped at EMU_REP_MAX_ITER: rip unchanged) */
	EMU_EXCEPTION,     /* inject res->vector (with error code / cr2 when set); rip unchanged;
			    * registers unchanged, except that a string instruction keeps the
			    * RCX/RSI/RDI/flags of the iterations completed before the fault */
	EMU_UNHANDLED,     /* not an instruction this emulator knows: res->bytes/len hold the
			    * instruction bytes for the report; inject #UD */
};

struct emu_result {
	enum emu_status status;
	u8 vector;
	bool has_error;
	u32 error;
	u64 cr2;            /* for #PF */
	u8 bytes[EMU_MAX_INSN];
	int len;            /* instruction length (bytes fetched when unhandled) */
	const char *mnemonic; /* what was executed, for traces ("mov", "rep movs"...) */
};

/*
 * Decodes and executes one instruction at cpu->rip: MOV in all forms (incl. MOVZX/MOVSX,
 * moffs, immediate), MOVS/STOS/LODS/CMPS/SCAS with REP/REPE/REPNE, ADD OR ADC SBB AND SUB XOR
 * CMP, TEST, XCHG, CMPXCHG, BT/BTS/BTR/BTC, INC/DEC/NOT/NEG, PUSH/POP with memory operands,
 * MOVNTI, INS/OUTS with REP; 16-, 32- and 64-bit code with prefixes 66 67 REX, segment
 * overrides, LOCK, REP. Arithmetic flags are set exactly as the CPU sets them (undefined
 * flags: as Intel hardware leaves them, documented per instruction in emulate.c).
 */
void emu_step(struct emu_cpu *cpu, const struct emu_ops *ops, struct emu_result *res);

/*
 * ---- x86 encoding facts (SDM Vol. 2, chapter 2) ----
 * Written once, here, for the two decoders of this folder: emu_step's (emulate.c), which
 * fetches through ops, and emu_decode_mov's below, which reads a buffer. Inline because
 * emu_decode_mov is on the hottest exit path (docs/bench.md, mmio_fast).
 */

/* REX (2.2.1). */
#define EMU_REX_B BIT(0)
#define EMU_REX_X BIT(1)
#define EMU_REX_R BIT(2)
#define EMU_REX_W BIT(3)

/* The low size bytes (1, 2, 4, 8) of a value. */
static inline u64 emu_size_mask(int size)
{
	return size >= 8 ? ~0ULL : BIT(size * 8) - 1;
}

/* Sign-extends the low size bytes of v to 64 bits. */
static inline u64 emu_sext(u64 v, int size)
{
	u64 sign = BIT(size * 8 - 1);
	return ((v & emu_size_mask(size)) ^ sign) - sign;
}

/* The segment of a segment-override prefix (2.1.1), or -1. */
static inline int emu_seg_prefix(u8 b)
{
	switch (b) {
	case 0x26: return EMU_ES;
	case 0x2e: return EMU_CS;
	case 0x36: return EMU_SS;
	case 0x3e: return EMU_DS;
	case 0x64: return EMU_FS;
	case 0x65: return EMU_GS;
	default: return -1;
	}
}

/* 40-4F is REX in 64-bit mode, INC/DEC elsewhere (2.2.1). */
static inline bool emu_rex_prefix(u8 b, bool m64)
{
	return m64 && (b & 0xf0) == 0x40;
}

/* True when the instruction at b (at least EMU_MAX_INSN bytes) is a string instruction
 * (INS, OUTS, MOVS, CMPS, STOS, LODS, SCAS) with a REP/REPNE prefix: a bulk write, which the
 * MMU lets run natively on an unprotected page rather than emulate iteration by iteration. */
static inline bool emu_rep_string(const u8 *b, bool code64)
{
	bool rep = false;
	int i = 0;
	for (; i < EMU_MAX_INSN - 1; i++) {
		if (b[i] == 0xf2 || b[i] == 0xf3)
			rep = true;
		else if (b[i] != 0x66 && b[i] != 0x67 && b[i] != 0xf0 && emu_seg_prefix(b[i]) < 0)
			break;
	}
	if (emu_rex_prefix(b[i], code64))
		i++;
	u8 op = b[i];
	return rep && ((op >= 0x6c && op <= 0x6f) || (op >= 0xa4 && op <= 0xa7) ||
		       (op >= 0xaa && op <= 0xaf));
}

/* The operand size of a non-byte instruction from the code size (16, 32, 64), 66 and REX.W
 * (2.2.1.2, Table 3-4 of Vol. 1). */
static inline int emu_opsize(int mode, bool p66, u8 rex)
{
	if (mode == 16)
		return p66 ? 4 : 2;
	return (rex & EMU_REX_W) ? 8 : p66 ? 2 : 4; /* no REX outside 64-bit mode */
}

/* 32/64-bit addressing with a memory operand (mod != 3): a SIB byte follows ModRM when r/m
 * (without REX.B) is 100b (Table 2-2). */
static inline bool emu_has_sib32(int rm)
{
	return (rm & 7) == 4;
}

/* 32/64-bit addressing with a memory operand: the displacement's size, given ModRM's mod and
 * r/m and the SIB byte (ignored without one). disp8 with mod 1, disp32 with mod 2, and with
 * mod 0 when r/m is 101b (disp32, RIP-relative in 64-bit mode) or the SIB base is 101b (no
 * base) (Tables 2-2 and 2-3). */
static inline int emu_disp_len32(int mod, int rm, u8 sib)
{
	if (mod != 0)
		return mod == 1 ? 1 : 4;
	return (rm & 7) == 5 || (emu_has_sib32(rm) && (sib & 7) == 5) ? 4 : 0;
}

/* Iz: an immediate of the operand size, 32 bits at most (sign-extended to 64 bits). */
static inline int emu_imm_len_z(int opsize)
{
	return opsize < 4 ? opsize : 4;
}

/* A byte register 4-7 is AH CH DH BH without REX, SPL BPL SIL DIL with any REX (2.2.1.2);
 * registers 8-15 exist only with REX. */
static inline bool emu_high8_reg(int size, u8 rex, int reg)
{
	return size == 1 && !rex && reg >= 4;
}

/* ---- Register access rules, shared by emu_step and the users of emu_decode_mov ---- */

/* The size-byte value of a register holding gpr; high8: bits 15:8 (AH CH DH BH). */
static inline u64 emu_reg_value(u64 gpr, int size, bool high8)
{
	return high8 ? (gpr >> 8) & 0xff : gpr & emu_size_mask(size);
}

/* A register holding old after a size-byte write of val: 8- and 16-bit writes merge (high8:
 * into bits 15:8), 32-bit writes zero-extend (SDM Vol. 1, 3.4.1.1; done in every mode: the
 * upper half is undefined outside 64-bit mode). */
static inline u64 emu_reg_merge(u64 old, u64 val, int size, bool high8)
{
	if (high8)
		return (old & ~0xff00ULL) | ((val & 0xff) << 8);
	if (size >= 4)
		return val & emu_size_mask(size);
	return (old & ~emu_size_mask(size)) | (val & emu_size_mask(size));
}

/* ---- The MOV fast path's decoder ---- */

/* One decoded MOV between a register (or an immediate) and memory, or an XCHG of a register
 * with memory (the form a kernel clears a PTE with). The memory operand's address is not
 * decoded: the caller knows it (the faulting access). */
struct emu_mov {
	u8 len;       /* instruction length, prefixes included */
	u8 size;      /* bytes accessed in memory: 1, 2, 4 or 8 */
	u8 reg;       /* gpr[] index of the register operand (0 for C6/C7); for high8 the
		       * register whose bits 15:8 it is (AH = 0 ... BH = 3) */
	u8 reg_size;  /* bytes of the register operand: size, or the operand size for MOVZX */
	bool high8;   /* AH CH DH BH (byte register 4-7 without REX) */
	bool load;    /* memory -> register (8A 8B 0F B6 0F B7), else a store */
	bool zext;    /* MOVZX: the loaded size bytes are zero-extended to reg_size */
	bool has_imm; /* C6/C7: the store writes imm, not a register */
	bool xchg;    /* 86/87: the register is stored and the old memory value loaded (load is
		       * false: the access the CPU faulted on is the store's) */
	u64 imm;      /* Ib/Iw/Id, and Id sign-extended to 64 bits with REX.W, as the CPU does */
};

/*
 * Decodes the MOV forms drivers use on device registers: MOV r/m,r and r,r/m (88 89 8A 8B),
 * MOV r/m,imm (C6/C7 /0) and MOVZX r,r/m (0F B6/B7), with a memory operand, in 32-bit
 * (code64 false) or 64-bit code, with at most three prefixes, each 66 or a segment override,
 * then a REX prefix in 64-bit code. bytes: at least EMU_MAX_INSN readable bytes. Returns false
 * for anything else (register operands, other opcodes, 67/F0/F2/F3, REX before a legacy
 * prefix): emu_step does those. Reads nothing but bytes. What it accepts, emu_step executes
 * with the same length, access and result (tests/unit/test_emulate.c, test_decode_mov_*).
 *
 * A second decoder beside emu_step's, because emu_step fetches through ops byte by byte and
 * only what the instruction needs; this one reads the code page the CPU fetched from. It has
 * no encoding fact of its own: prefixes, operand size, SIB and displacement sizes, immediate
 * and byte registers are the helpers above, which emu_step's decoder uses too. Which forms it
 * accepts is the fast path's choice. Inline: fast_mov (vmx/insn.c) is the whole MMIO fast path.
 */
static inline bool emu_decode_mov(const u8 *b, bool code64, struct emu_mov *out)
{
	int i = 0, op, osize, ilen = 0;
	bool p66 = false;
	u8 rex = 0, modrm, sib = 0;
	for (;; i++) {
		if (i == 4)
			return false;
		if (b[i] == 0x66)
			p66 = true;
		else if (emu_seg_prefix(b[i]) < 0)
			break;
	}
	if (emu_rex_prefix(b[i], code64))
		rex = b[i++];
	osize = emu_opsize(code64 ? 64 : 32, p66, rex);
	op = b[i] == 0x0f ? 0x100 | b[++i] : b[i];
	out->load = out->zext = out->has_imm = out->xchg = false;
	switch (op) {
	case 0x86: out->size = 1; out->xchg = true; break;
	case 0x87: out->size = (u8)osize; out->xchg = true; break;
	case 0x88: out->size = 1; break;
	case 0x89: out->size = (u8)osize; break;
	case 0x8a: out->size = 1; out->load = true; break;
	case 0x8b: out->size = (u8)osize; out->load = true; break;
	case 0xc6: out->size = 1; out->has_imm = true; break;
	case 0xc7: out->size = (u8)osize; out->has_imm = true; break;
	case 0x1b6: out->size = 1; out->load = out->zext = true; break;
	case 0x1b7: out->size = 2; out->load = out->zext = true; break;
	default: return false;
	}
	modrm = b[++i];
	if ((modrm >> 6) == 3 || (out->has_imm && (modrm & 0x38)))
		return false; /* a register operand, or C6/C7 /1-7 */
	if (emu_has_sib32(modrm))
		sib = b[++i];
	i += 1 + emu_disp_len32(modrm >> 6, modrm, sib);
	out->imm = 0;
	if (out->has_imm) {
		ilen = emu_imm_len_z(out->size);
		for (int k = ilen - 1; k >= 0; k--)
			out->imm = (out->imm << 8) | b[i + k];
		out->imm = emu_sext(out->imm, ilen) & emu_size_mask(out->size);
	}
	out->len = (u8)(i + ilen);
	if (out->len > EMU_MAX_INSN)
		return false;
	out->reg_size = out->zext ? (u8)osize : out->size;
	out->reg = (u8)(((modrm >> 3) & 7) | (rex & EMU_REX_R ? 8 : 0));
	out->high8 = emu_high8_reg(out->reg_size, rex, out->reg);
	if (out->high8)
		out->reg -= 4;
	return true;
}

/* The value a decoded MOV store writes, the source register holding gpr. */
static inline u64 emu_mov_store_value(const struct emu_mov *m, u64 gpr)
{
	return m->has_imm ? m->imm : emu_reg_value(gpr, m->size, m->high8);
}

/* The register's new value after a decoded MOV load of val (the device's answer: only its
 * low m->size bytes count) into a register holding old. */
static inline u64 emu_mov_load_result(const struct emu_mov *m, u64 old, u64 val)
{
	return emu_reg_merge(old, val & emu_size_mask(m->size), m->reg_size, m->high8);
}

#endif
