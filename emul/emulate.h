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

#endif
