/* insn.c - emulated guest instructions: the MOV fast path and the glue between the instruction
 * emulator (emul/), the MMU (guest memory, translations) and the devices (MMIO, ports). */
#include "vmx/insn.h"
#include "emul/emulate.h"
#include "vmx/vcpu.h"
#include "vmx/vmx.h"
#include "devices/mmio.h"
#include "devices/pio.h"
#include "mmu/gwalk.h"
#include "mmu/mmu.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "arch/x86.h"

/* The emulator's view of the guest for one MMIO access; ops is first so that the ops
 * callbacks (which get opaque = this context) can report faults in it. */
struct mmio_ctx {
	struct emu_ops ops;
	u64 gpa_page, la_page; /* the faulting page: la_page maps to gpa_page */
	bool user;             /* CPL 3: accesses are user accesses */
	bool ac;               /* CPL < 3 with RFLAGS.AC=1: SMAP allows user pages */
	/* The code page the instruction bytes come from: translated and looked up once, not
	 * per byte (an instruction spans at most two pages). */
	u64 code_la_page;
	const u8 *code_host;
	u64 db_hits; /* data/I/O breakpoints the instruction's accesses matched */
};

/* Linear -> guest-physical for the emulator's operands: the faulting page is known (no
 * walk); anything else goes through the guest's tables, and a guest fault is reported in
 * ops as the exception to inject. */
static bool la_to_gpa(struct mmio_ctx *c, u64 la, u32 acc, u64 *gpa)
{
	struct emu_ops *ops = &c->ops;
	u32 ec;
	if ((la & ~(PAGE_SIZE - 1)) == c->la_page) {
		*gpa = c->gpa_page | (la & (PAGE_SIZE - 1));
		return true;
	}
	if (mmu_translate(la, acc | (c->user ? GWALK_ACC_USER : 0) | (c->ac ? MMU_ACC_AC : 0), gpa,
			  &ec))
		return true;
	ops->fault_vector = VEC_PF;
	ops->fault_has_error = true;
	ops->fault_error = ec;
	ops->fault_cr2 = la;
	return false;
}

static enum emu_access op_fetch(void *opaque, u64 la, void *buf, int len)
{
	struct mmio_ctx *c = opaque;
	u8 *p = buf;
	for (int i = 0; i < len; i++) {
		u64 a = la + (u64)i, page = a & ~(PAGE_SIZE - 1);
		if (page != c->code_la_page) {
			/* Mapped in the shadow: the page the CPU fetched this instruction from. Else
			 * through the guest's tables and the memslots. */
			hpa_t hpa;
			if (!mmu_shadow_hpa(page, &hpa)) {
				u64 gpa;
				if (!la_to_gpa(c, a, GWALK_ACC_FETCH, &gpa))
					return EMU_ACCESS_FAULT;
				const struct memslot *m = memslot_lookup(&guest_memslots,
									 gpa >> PAGE_SHIFT);
				if (!m) {
					/* Code in device memory: not something this emulator runs. */
					pr_warn("mmio: instruction bytes at %#llx (gpa %#llx) are not in "
						"RAM: #UD", a, gpa);
					c->ops.fault_vector = VEC_UD;
					c->ops.fault_has_error = false;
					return EMU_ACCESS_FAULT;
				}
				hpa = memslot_gfn_to_hpa(m, gpa >> PAGE_SHIFT);
			}
			c->code_host = (const u8 *)(uintptr_t)hpa;
			c->code_la_page = page;
		}
		p[i] = c->code_host[a & (PAGE_SIZE - 1)];
	}
	return EMU_ACCESS_OK;
}

/* RAM through the memslots, anything else through the MMIO device table. */
static enum emu_access op_access(void *opaque, u64 la, void *buf, int size, bool write)
{
	u64 gpa;
	if (!la_to_gpa(opaque, la, write ? GWALK_ACC_WRITE : 0, &gpa))
		return EMU_ACCESS_FAULT;
	((struct mmio_ctx *)opaque)->db_hits |= vcpu_breakpoint_hits(la, size, write, false);
	const struct memslot *m = memslot_lookup(&guest_memslots, gpa >> PAGE_SHIFT);
	u64 v = 0;
	if (m) {
		if (write && (m->flags & MEMSLOT_F_READONLY))
			return EMU_ACCESS_OK; /* a write to ROM is dropped */
		bool ok = write ? guest_phys_write(gpa, buf, (u64)size)
				: guest_phys_read(gpa, buf, (u64)size);
		return ok ? EMU_ACCESS_OK : EMU_ACCESS_FAULT;
	}
	if (write) {
		memcpy(&v, buf, (size_t)size);
		if (!mmio_write(gpa, size, v))
			pr_debug("mmio: write to unassigned %#llx ignored", gpa);
	} else {
		if (!mmio_read(gpa, size, &v))
			pr_debug("mmio: read from unassigned %#llx: all ones", gpa);
		memcpy(buf, &v, (size_t)size);
	}
	return EMU_ACCESS_OK;
}

static enum emu_access op_read(void *o, u64 la, void *buf, int size)
{
	return op_access(o, la, buf, size, false);
}

static enum emu_access op_write(void *o, u64 la, const void *buf, int size)
{
	return op_access(o, la, (void *)buf, size, true);
}

static void op_pio_in(void *o, u16 port, int size, u32 *value)
{
	((struct mmio_ctx *)o)->db_hits |= vcpu_breakpoint_hits(port, size, false, true);
	pio_read(port, size, value);
}

static void op_pio_out(void *o, u16 port, int size, u32 value)
{
	((struct mmio_ctx *)o)->db_hits |= vcpu_breakpoint_hits(port, size, true, true);
	pio_write(port, size, value);
}

static void load_cpu(struct vcpu *v, struct emu_cpu *cpu)
{
	u64 cs_ar = vmcs_read(GUEST_CS_AR);
	memcpy(cpu->gpr, v->regs.gpr, sizeof(cpu->gpr));
	cpu->gpr[GPR_RSP] = vmcs_read(GUEST_RSP);
	cpu->rip = vmcs_read(GUEST_RIP);
	cpu->rflags = vmcs_read(GUEST_RFLAGS);
	for (int s = 0; s < EMU_NSEG; s++)
		cpu->seg_base[s] = vmcs_read(GUEST_ES_BASE + (u32)s * 2);
	/* CS.L counts only in IA-32e mode; else (and in compatibility mode) CS.D picks 32/16. */
	cpu->mode = x86_code64(v->efer, cs_ar) ? 64 : (cs_ar & AR_DB) ? 32 : 16;
	cpu->cpl = (int)AR_DPL(vmcs_read(GUEST_SS_AR));
}

/* The emulator's registers and flags back into the guest; RIP is the caller's business
 * (vcpu_complete_instruction when the instruction completed, else unchanged). */
static void store_cpu(struct vcpu *v, const struct emu_cpu *cpu)
{
	memcpy(v->regs.gpr, cpu->gpr, sizeof(cpu->gpr));
	vmcs_write(GUEST_RSP, cpu->gpr[GPR_RSP]);
	vmcs_write(GUEST_RFLAGS, cpu->rflags);
}

/*
 * The MOV forms compilers use for device registers, done without the general emulator:
 * emul/ decodes them (emu_decode_mov: MOV to and from memory, MOV of an immediate, MOVZX, in
 * 32- or 64-bit code), for a device, and for a store to RAM (a kernel writing a guest page
 * table, or ROM). The memory operand is the faulting access itself (gpa: the CPU already
 * applied segmentation and paging), so only the register, the size and the length are
 * decoded. Returns false, having changed nothing, for anything else: the caller then runs
 * the emulator.
 */
static const u8 *code_bytes(struct vcpu *v, bool *m64);

/* The masks of an instruction's len bytes in its two words, bytes 0-7 and 7-14 (code_bytes
 * leaves EMU_MAX_INSN = 15 readable; the 16th may be past the host page). */
static void insn_masks(u32 len, u64 mask[2])
{
	mask[0] = len < 8 ? (1ULL << (8 * len)) - 1 : ~0ULL;
	mask[1] = len < 8 ? 0 : len == 15 ? ~0ULL : (1ULL << (8 * (len - 7))) - 1;
}

typedef u64 __attribute__((may_alias, aligned(1))) u64_unaligned;
static inline u64 insn_word(const u8 *code, int i)
{
	return *(const u64_unaligned *)(code + 7 * i);
}

/*
 * The last MOV fast_mov decoded (a driver's loop faults on the same instruction each time):
 * reused when the bytes at the code pointer are the same bytes, in the same mode. The decode
 * is a function of those bytes alone (emu_decode_mov reads nothing past the instruction it
 * accepts), so a changed instruction (self-modifying code, another page mapped there) is
 * decoded afresh. Saves the decode's ~90 instructions per MMIO access (docs/bench.md).
 */
static struct {
	const u8 *code;
	bool m64;
	u64 words[2], masks[2]; /* the instruction's bytes, and which bytes of the words they are */
	struct emu_mov m;
} mov_cache;

/* decode_mov_cached's miss: decodes, and caches what it accepts. */
static __attribute__((noinline)) const struct emu_mov *decode_mov_fill(const u8 *code, bool m64)
{
	struct emu_mov m;
	if (!emu_decode_mov(code, m64, &m))
		return NULL;
	insn_masks(m.len, mov_cache.masks);
	mov_cache.words[0] = insn_word(code, 0) & mov_cache.masks[0];
	mov_cache.words[1] = insn_word(code, 1) & mov_cache.masks[1];
	mov_cache.code = code;
	mov_cache.m64 = m64;
	mov_cache.m = m;
	return &mov_cache.m;
}

/* The decode of the MOV at code (in the cache until the next call), or NULL. */
static inline __attribute__((always_inline)) const struct emu_mov *
decode_mov_cached(const u8 *code, bool m64)
{
	_Static_assert(EMU_MAX_INSN == 15, "insn_masks: bytes 0-7 and 7-14");
	if (code == mov_cache.code && m64 == mov_cache.m64 &&
	    (insn_word(code, 0) & mov_cache.masks[0]) == mov_cache.words[0] &&
	    (insn_word(code, 1) & mov_cache.masks[1]) == mov_cache.words[1])
		return &mov_cache.m;
	return decode_mov_fill(code, m64);
}

/* fast_mov with the code bytes known: code, in 64-bit code when m64. */
static inline __attribute__((always_inline)) bool fast_mov_at(struct vcpu *v, const u8 *code,
								bool m64, u64 gpa, u64 la,
								bool device)
{
	const struct emu_mov *m = decode_mov_cached(code, m64);
	if (!m)
		return false;
	u64 rip = v->last_rip;
	if ((gpa & (PAGE_SIZE - 1)) + m->size > PAGE_SIZE)
		return false; /* the access crosses into the next page */
	/* RAM: a write to a guest page table (the kernel editing a PTE) or to ROM. */
	const struct memslot *ram = device ? NULL : memslot_lookup(&guest_memslots,
								   gpa >> PAGE_SHIFT);
	if ((ram && m->load) || (!ram && m->xchg))
		return false; /* a read of RAM that faulted, XCHG with a device: the emulator */
	u64 old = 0, val = 0;
	if (m->xchg && !guest_phys_read(gpa, &old, (u64)m->size))
		return false;
	if (!m->load)
		val = emu_mov_store_value(m, m->has_imm ? 0 : vcpu_get_gpr(v, m->reg));
	if (ram) {
		/* Tracked: the shadows of a guest table follow the write (mmu.c track_write). A
		 * write to ROM is dropped. */
		if (!(ram->flags & MEMSLOT_F_READONLY))
			guest_phys_write(gpa, &val, (u64)m->size);
		if (m->xchg) /* the old value into the register (one vCPU: nothing in between) */
			vcpu_set_gpr(v, m->reg, emu_mov_load_result(m, vcpu_get_gpr(v, m->reg), old));
	} else if (m->load) {
		if (!mmio_read(gpa, m->size, &val))
			pr_debug("mmio: read from unassigned %#llx: all ones", gpa);
		vcpu_set_gpr(v, m->reg, emu_mov_load_result(m, vcpu_get_gpr(v, m->reg), val));
	} else if (!mmio_write(gpa, m->size, val)) {
		pr_debug("mmio: write to unassigned %#llx ignored", gpa);
	}
	rip += m->len;
	vcpu_complete_instruction(m64 ? rip : rip & 0xffffffffULL, vmcs_read(GUEST_RFLAGS));
	if (la != ~0ULL) /* an APIC-access exit reports no linear address */
		vcpu_raise_breakpoints(vcpu_breakpoint_hits(la, m->size, !m->load, false));
	return true;
}

static bool fast_mov(struct vcpu *v, u64 gpa, u64 la, bool device)
{
	/* The bytes, from the page the CPU fetched them from; an instruction that may cross
	 * into the next page (or wrap EIP), and 16-bit code, go the slow way. */
	bool m64;
	const u8 *code = code_bytes(v, &m64);
	return code && fast_mov_at(v, code, m64, gpa, la, device);
}

bool emulate_instruction(void)
{
	/* No page is known in advance: every operand goes through the guest's tables. */
	return mmio_emulate(~0ULL, ~0ULL);
}

static bool emulate(u64 gpa, u64 la, bool device);

static bool run_emulator(struct vcpu *v, u64 gpa, u64 la);
static inline __attribute__((always_inline)) bool code_la_of(struct vcpu *v, u64 *code_la,
								bool *m64);

bool mmio_fast_exit(struct vcpu *v, u64 la, u32 ec)
{
	u64 code_la, gpa;
	hpa_t code;
	bool m64;
	if (!code_la_of(v, &code_la, &m64) || !mmu_mmio_cached(la, ec, code_la, &gpa, &code))
		return false;
	if (!fast_mov_at(v, (const u8 *)(uintptr_t)code, m64, gpa, la, true))
		run_emulator(v, gpa, la);
	return true;
}

bool mmio_emulate(u64 gpa, u64 la)
{
	return emulate(gpa, la, false);
}

bool mmio_emulate_device(u64 gpa, u64 la)
{
	return emulate(gpa, la, true);
}

/* The linear address of the guest's instruction at RIP, and whether it is 64-bit code; false
 * in 16-bit code and when its bytes may cross into the next page (or wrap EIP). */
static inline __attribute__((always_inline)) bool code_la_of(struct vcpu *v, u64 *code_la,
								bool *m64)
{
	u64 cs_ar = vmcs_read(GUEST_CS_AR);
	*m64 = x86_code64(v->efer, cs_ar);
	if (!*m64 && !(cs_ar & AR_DB))
		return false;
	u64 rip = v->last_rip, la = rip;
	if (!*m64) {
		if ((u32)rip > 0xffffffffu - EMU_MAX_INSN)
			return false;
		la = (u32)(vmcs_read(GUEST_CS_BASE) + (u32)rip);
	}
	*code_la = la;
	return (la & (PAGE_SIZE - 1)) <= PAGE_SIZE - EMU_MAX_INSN;
}

/* The code bytes at the guest's RIP, from the host page the shadow maps them to (the page the
 * CPU fetched them from); NULL when they may cross into the next page, or in 16-bit code. */
static const u8 *code_bytes(struct vcpu *v, bool *m64)
{
	u64 code_la;
	hpa_t code_hpa;
	if (!code_la_of(v, &code_la, m64) || !mmu_shadow_hpa(code_la & ~(PAGE_SIZE - 1), &code_hpa))
		return NULL;
	return (const u8 *)(uintptr_t)(code_hpa + (code_la & (PAGE_SIZE - 1)));
}

bool mmio_emulate_pt_write(u64 gpa, u64 la)
{
	bool m64;
	const u8 *b = code_bytes(&vcpu0, &m64);
	if (b && emu_rep_string(b, m64)) {
		/* A bulk write (clear_page, a copy into a recycled table page): emulating it
		 * iteration by iteration would cost thousands of exits' worth; the page is no
		 * table the guest is editing entry by entry. */
		mmu_unprotect(gpa, la);
		return false;
	}
	vcpu0.ram_emulations++;
	return emulate(gpa, la, false);
}

static bool emulate(u64 gpa, u64 la, bool device)
{
	struct vcpu *v = &vcpu0;
	if (gpa != ~0ULL && fast_mov(v, gpa, la, device))
		return true;
	return run_emulator(v, gpa, la);
}

/* The general emulator for the instruction at RIP (emul/emulate.c emu_step). */
static bool run_emulator(struct vcpu *v, u64 gpa, u64 la)
{
	struct mmio_ctx ctx = {
		.ops = { .fetch = op_fetch, .read = op_read, .write = op_write,
			 .pio_in = op_pio_in, .pio_out = op_pio_out },
		/* la ~0: not known (no page is given; ~0 never equals a page address) */
		.gpa_page = gpa & ~(PAGE_SIZE - 1),
		.la_page = la == ~0ULL ? ~0ULL : la & ~(PAGE_SIZE - 1),
		.code_la_page = ~0ULL,
	};
	struct emu_cpu cpu;
	struct emu_result res;
	ctx.ops.opaque = &ctx;
	load_cpu(v, &cpu);
	u64 res_rip_before = cpu.rip;
	ctx.user = cpu.cpl == 3;
	ctx.ac = !ctx.user && (cpu.rflags & RFLAGS_AC);
	emu_step(&cpu, &ctx.ops, &res);
	switch (res.status) {
	case EMU_OK:
		store_cpu(v, &cpu);
		if (cpu.rip != res_rip_before) /* completed (a REP batch that stopped early not) */
			vcpu_complete_instruction(cpu.rip, cpu.rflags);
		/* A REP string instruction reports at the end of the batch of iterations done in
		 * this exit, not after the iteration that hit as the CPU does (SDM 18.3.1.2): a
		 * known difference (the guest sees one #DB for the batch). */
		vcpu_raise_breakpoints(ctx.db_hits);
		break;
	case EMU_EXCEPTION:
		store_cpu(v, &cpu); /* a string instruction keeps the iterations it finished */
		if (res.vector == VEC_PF)
			vcpu_inject_page_fault(res.cr2, res.error);
		else
			vcpu_inject_exception(res.vector, res.has_error, res.error);
		break;
	case EMU_UNHANDLED:
		pr_warn("mmio: cannot emulate the instruction at rip=%#llx accessing %#llx: bytes "
			"%02x %02x %02x %02x %02x %02x (%d fetched); #UD injected", cpu.rip, gpa,
			res.bytes[0], res.bytes[1], res.bytes[2], res.bytes[3], res.bytes[4],
			res.bytes[5], res.len);
		vcpu_inject_exception(VEC_UD, false, 0);
		break;
	}
	return true;
}
