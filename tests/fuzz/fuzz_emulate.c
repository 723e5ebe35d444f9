/* SOURCES: emul/emulate.c */
/*
 * fuzz_emulate.c - emul/emulate.c: one emu_step on a CPU state and an instruction taken from the
 * input, over a model of linear memory: RAM at [0, RAM_SIZE) (pseudo-random contents, the
 * instruction bytes placed at CS:RIP), a device window at [MMIO_LO, MMIO_HI), faults (#PF)
 * everywhere else. The emulator can reach memory only through the ops, and the ops check every
 * request before touching a buffer.
 *
 * Input: a HDR_SIZE-byte header (below), then up to 15 instruction bytes.
 *   [0]      mode (b % 3: 16/32/64), bit 7: no port-I/O ops
 *   [1]      fault_after: the Nth data access faults (0: none)
 *   [2..3]   RFLAGS (the arithmetic flags and DF)
 *   [4..5]   RIP
 *   [6..21]  one selector byte per GPR (see reg_value)
 *   [22..27] segment bases ES CS SS DS FS GS (see seg_value)
 *
 * Invariants (abort on violation):
 *   - the instruction is fetched contiguously from CS:RIP, at most 15 bytes in all; res.len is
 *     the number fetched and res.bytes holds exactly them;
 *   - data accesses are 1/2/4/8 bytes at 32-bit addresses outside 64-bit mode and canonical
 *     ones in it; port I/O is 1/2/4 bytes at port DX; an instruction makes a bounded number;
 *   - status is an enum emu_status value; mode, CPL and segment bases never change;
 *   - EMU_OK: RIP = RIP + res.len (wrapped to the code size) with RF clear, or RIP unchanged
 *     for a REP string instruction stopped after EMU_REP_MAX_ITER iterations (RCX moved by
 *     exactly that many);
 *   - EMU_EXCEPTION: RIP unchanged; the vector is #UD (no error code), #SS/#GP (error code 0)
 *     or the #PF an op reported (its error code and CR2); nothing else changed, except
 *     RAX/RCX/RSI/RDI/RFLAGS of a string instruction;
 *   - EMU_UNHANDLED: the CPU state is unchanged;
 *   - the same step on the same state gives the same result, CPU state and memory.
 */
#include "fuzz.h"

#include "emul/emulate.h"

#define RAM_SIZE 0x10000ULL
#define MMIO_LO 0x20000ULL
#define MMIO_HI 0x21000ULL
#define HDR_SIZE 28
#define VEC_PF 14
#define FL_RF BIT(16)
#define FL_INPUT (BIT(0) | BIT(2) | BIT(4) | BIT(6) | BIT(7) | BIT(10) | BIT(11))
/* Most data accesses one emu_step may make: REP CMPS reads twice per iteration. */
#define MAX_ACCESSES (2 * EMU_REP_MAX_ITER + 8)

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };

struct model {
	struct emu_ops ops;
	struct emu_cpu start;   /* the state before the step */
	u8 ram[RAM_SIZE];
	u8 fetched[EMU_MAX_INSN];
	int nfetched;
	int accesses;           /* data accesses (read, write, port) so far */
	int fault_after;
	u64 last_fault_la;
	u32 last_fault_ec;
	u64 mmio_hash;          /* every device write, folded in */
};

static struct model m1, m2;
static u8 ram_pattern[RAM_SIZE];

/* ---- The CPU state from the header ---- */

/* Values that lead somewhere interesting: into RAM, into the device, small counts, or edges
 * (wrap at 16/32/64 bits, the canonical boundary). */
static u64 reg_value(u8 b)
{
	u64 lo = b & 0x3f;
	switch (b >> 6) {
	case 0: return lo * 0x400;
	case 1: return MMIO_LO + lo * 8;
	case 2: return lo;
	default:
		switch (lo & 3) {
		case 0: return 0 - (lo >> 2);
		case 1: return BIT(47) - (lo >> 2) * 8;
		case 2: return 0xffffffffULL - (lo >> 2);
		default: return 0x10000ULL - (lo >> 2);
		}
	}
}

static u64 seg_value(u8 b)
{
	if (b < 0x80)
		return 0;
	if (b == 0xff)
		return 0xfffff000ULL;
	return (u64)(b & 0x7f) * 0x200;
}

/* Linear address of instruction byte i, as the CPU forms it (IP/EIP wrap, CS base). */
static u64 insn_la(const struct emu_cpu *c, int i)
{
	u64 ip = c->rip + (u64)i;
	if (c->mode == 64)
		return ip;
	return (u32)(c->seg_base[EMU_CS] + (c->mode == 16 ? ip & 0xffff : ip & 0xffffffffULL));
}

/* ---- Ops: every request is checked, then served from RAM, the device, or faulted ---- */

static enum emu_access fault(struct model *m, u64 la, u32 ec)
{
	m->ops.fault_vector = VEC_PF;
	m->ops.fault_has_error = true;
	m->ops.fault_error = ec;
	m->ops.fault_cr2 = la;
	m->last_fault_la = la;
	m->last_fault_ec = ec;
	return EMU_ACCESS_FAULT;
}

static enum emu_access op_fetch(void *opaque, u64 la, void *buf, int len)
{
	struct model *m = opaque;
	CHECK(len >= 1 && len <= 8, "fetch of %d bytes", len);
	CHECK(m->nfetched + len <= EMU_MAX_INSN, "fetch of %d bytes after %d: past 15", len,
	      m->nfetched);
	for (int i = 0; i < len; i++)
		CHECK(insn_la(&m->start, m->nfetched + i) == la + (u64)i,
		      "fetch byte %d at %#llx, expected %#llx", m->nfetched + i, la + (u64)i,
		      insn_la(&m->start, m->nfetched + i));
	if (la >= RAM_SIZE || (u64)len > RAM_SIZE - la)
		return fault(m, la, 0x10);
	memcpy(buf, m->ram + la, (size_t)len);
	memcpy(m->fetched + m->nfetched, m->ram + la, (size_t)len);
	m->nfetched += len;
	return EMU_ACCESS_OK;
}

static void check_data(struct model *m, u64 la, int size)
{
	CHECK(size == 1 || size == 2 || size == 4 || size == 8, "data access of %d bytes", size);
	if (m->start.mode == 64)
		CHECK((la >> 47) == 0 || (la >> 47) == 0x1ffff, "non-canonical access %#llx", la);
	else
		CHECK(la <= 0xffffffffULL, "access at %#llx beyond 4 GiB in %d-bit mode", la,
		      m->start.mode);
	CHECK(++m->accesses <= MAX_ACCESSES, "more than %d accesses in one step", MAX_ACCESSES);
}

/* Device reads: a value made from the address and size. */
static u64 mmio_value(u64 la, int size)
{
	u64 v = (la * 0x9e3779b97f4a7c15ULL) ^ (u64)size;
	return v ^ (v >> 29);
}

static enum emu_access op_read(void *opaque, u64 la, void *buf, int size)
{
	struct model *m = opaque;
	check_data(m, la, size);
	if (m->fault_after && m->accesses == m->fault_after)
		return fault(m, la, 0);
	if (la < RAM_SIZE && (u64)size <= RAM_SIZE - la) {
		memcpy(buf, m->ram + la, (size_t)size);
		return EMU_ACCESS_OK;
	}
	if (la >= MMIO_LO && la < MMIO_HI && (u64)size <= MMIO_HI - la) {
		u64 v = mmio_value(la, size);
		memcpy(buf, &v, (size_t)size);
		return EMU_ACCESS_OK;
	}
	return fault(m, la, 0);
}

static enum emu_access op_write(void *opaque, u64 la, const void *buf, int size)
{
	struct model *m = opaque;
	check_data(m, la, size);
	if (m->fault_after && m->accesses == m->fault_after)
		return fault(m, la, 2);
	if (la < RAM_SIZE && (u64)size <= RAM_SIZE - la) {
		memcpy(m->ram + la, buf, (size_t)size);
		return EMU_ACCESS_OK;
	}
	if (la >= MMIO_LO && la < MMIO_HI && (u64)size <= MMIO_HI - la) {
		u64 v = 0;
		memcpy(&v, buf, (size_t)size);
		m->mmio_hash = (m->mmio_hash ^ v ^ la ^ (u64)size) * 0x100000001b3ULL;
		return EMU_ACCESS_OK;
	}
	return fault(m, la, 2);
}

static void check_pio(struct model *m, u16 port, int size)
{
	CHECK(size == 1 || size == 2 || size == 4, "port access of %d bytes", size);
	CHECK(port == (u16)m->start.gpr[RDX], "port %#x, DX is %#x", port,
	      (u16)m->start.gpr[RDX]);
	CHECK(++m->accesses <= MAX_ACCESSES, "more than %d accesses in one step", MAX_ACCESSES);
}

static void op_pio_in(void *opaque, u16 port, int size, u32 *value)
{
	struct model *m = opaque;
	check_pio(m, port, size);
	*value = (u32)mmio_value(port, size);
}

static void op_pio_out(void *opaque, u16 port, int size, u32 value)
{
	struct model *m = opaque;
	check_pio(m, port, size);
	m->mmio_hash = (m->mmio_hash ^ value ^ port) * 0x100000001b3ULL;
}

/* ---- Setup and checks ---- */

static void model_init(struct model *m, const struct emu_cpu *cpu, const u8 *insn, size_t n,
		       int fault_after, bool pio)
{
	memcpy(m->ram, ram_pattern, sizeof(m->ram));
	memset(&m->ops, 0, sizeof(m->ops));
	m->ops.fetch = op_fetch;
	m->ops.read = op_read;
	m->ops.write = op_write;
	m->ops.pio_in = pio ? op_pio_in : NULL;
	m->ops.pio_out = pio ? op_pio_out : NULL;
	m->ops.opaque = m;
	m->start = *cpu;
	m->nfetched = m->accesses = 0;
	m->fault_after = fault_after;
	m->last_fault_la = 0;
	m->last_fault_ec = 0;
	m->mmio_hash = 0;
	for (size_t i = 0; i < n && i < EMU_MAX_INSN; i++) {
		u64 la = insn_la(cpu, (int)i);
		if (la < RAM_SIZE)
			m->ram[la] = insn[i];
	}
}

static bool is_string(const char *mn)
{
	static const char *const names[] = {
		"movs", "cmps", "stos", "lods", "scas", "ins", "outs", "rep movs", "repe cmps",
		"repne cmps", "rep stos", "rep lods", "repe scas", "repne scas", "rep ins", "rep outs",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcmp(mn, names[i]))
			return true;
	return false;
}

static u64 code_mask(int mode)
{
	return mode == 16 ? 0xffffULL : mode == 32 ? 0xffffffffULL : ~0ULL;
}

/* The CPU state outside what a faulting string instruction may keep. */
static void check_unchanged_except(const struct emu_cpu *a, const struct emu_cpu *b, bool string,
				   const char *what)
{
	for (int r = 0; r < 16; r++) {
		bool may = string && (r == RAX || r == RCX || r == RSI || r == RDI);
		CHECK(may || a->gpr[r] == b->gpr[r], "%s: GPR %d changed %#llx -> %#llx", what, r,
		      a->gpr[r], b->gpr[r]);
	}
	CHECK(a->rip == b->rip, "%s: RIP changed %#llx -> %#llx", what, a->rip, b->rip);
	CHECK(string || a->rflags == b->rflags, "%s: RFLAGS changed %#llx -> %#llx", what,
	      a->rflags, b->rflags);
}

static void check_result(const struct model *m, const struct emu_cpu *cpu,
			 const struct emu_result *res)
{
	const struct emu_cpu *s = &m->start;
	CHECK(res->status == EMU_OK || res->status == EMU_EXCEPTION || res->status == EMU_UNHANDLED,
	      "status %d", (int)res->status);
	CHECK(res->mnemonic != NULL, "no mnemonic");
	CHECK(res->len >= 0 && res->len <= EMU_MAX_INSN, "len %d", res->len);
	CHECK(res->len == m->nfetched, "len %d but %d bytes fetched", res->len, m->nfetched);
	CHECK(!memcmp(res->bytes, m->fetched, (size_t)res->len), "bytes differ from those fetched");
	for (int i = res->len; i < EMU_MAX_INSN; i++)
		CHECK(res->bytes[i] == 0, "bytes[%d] = %#x beyond len %d", i, res->bytes[i], res->len);
	CHECK(cpu->mode == s->mode && cpu->cpl == s->cpl &&
	      !memcmp(cpu->seg_base, s->seg_base, sizeof(s->seg_base)),
	      "mode, CPL or a segment base changed");

	switch (res->status) {
	case EMU_OK:
		CHECK(res->len > 0, "EMU_OK with no instruction byte");
		if (cpu->rip != s->rip) {
			u64 want = (s->rip + (u64)res->len) & code_mask(s->mode);
			CHECK(cpu->rip == want, "RIP %#llx -> %#llx, len %d: expected %#llx", s->rip,
			      cpu->rip, res->len, want);
			CHECK(!(cpu->rflags & FL_RF), "RF still set after a completed instruction");
		} else {
			/* a capped REP: exactly EMU_REP_MAX_ITER iterations were done */
			CHECK(!strncmp(res->mnemonic, "rep", 3), "EMU_OK, RIP unchanged, not REP: %s",
			      res->mnemonic);
			CHECK(((s->gpr[RCX] - cpu->gpr[RCX]) & 0xffff) == (EMU_REP_MAX_ITER & 0xffff),
			      "capped %s moved RCX %#llx -> %#llx", res->mnemonic, s->gpr[RCX],
			      cpu->gpr[RCX]);
			CHECK(m->accesses >= EMU_REP_MAX_ITER, "capped %s after %d accesses",
			      res->mnemonic, m->accesses);
		}
		if (!is_string(res->mnemonic))
			CHECK(m->accesses <= 4, "%s made %d accesses", res->mnemonic, m->accesses);
		break;
	case EMU_EXCEPTION:
		switch (res->vector) {
		case 6:
			CHECK(!res->has_error, "#UD with an error code");
			break;
		case 12:
		case 13:
			CHECK(res->has_error && res->error == 0, "#SS/#GP error %d/%#x", res->has_error,
			      res->error);
			break;
		case VEC_PF:
			CHECK(res->has_error && res->error == m->last_fault_ec &&
			      res->cr2 == m->last_fault_la,
			      "#PF ec %#x cr2 %#llx, the op reported ec %#x cr2 %#llx", res->error,
			      res->cr2, m->last_fault_ec, m->last_fault_la);
			break;
		default:
			CHECK(0, "exception vector %u", res->vector);
		}
		check_unchanged_except(s, cpu, is_string(res->mnemonic), "exception");
		break;
	default:
		CHECK(!memcmp(s, cpu, sizeof(*s)), "EMU_UNHANDLED changed the CPU state");
		CHECK(m->accesses == 0, "EMU_UNHANDLED after %d data accesses", m->accesses);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	u64 x = 0x243f6a8885a308d3ULL;
	for (size_t i = 0; i < sizeof(ram_pattern); i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		ram_pattern[i] = (u8)x;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct emu_cpu cpu, c2;
	struct emu_result r1, r2;

	memset(&cpu, 0, sizeof(cpu));
	u8 b0 = fz_u8(&f);
	cpu.mode = (int[]){ 16, 32, 64 }[b0 % 3];
	bool pio = !(b0 & 0x80);
	int fault_after = fz_u8(&f);
	cpu.rflags = (fz_u16(&f) & FL_INPUT) | BIT(1);
	cpu.rip = fz_u16(&f);
	for (int r = 0; r < 16; r++)
		cpu.gpr[r] = reg_value(fz_u8(&f));
	for (int s = 0; s < EMU_NSEG; s++)
		cpu.seg_base[s] = seg_value(fz_u8(&f));
	if (cpu.mode == 64)
		cpu.seg_base[EMU_ES] = cpu.seg_base[EMU_CS] = cpu.seg_base[EMU_SS] =
			cpu.seg_base[EMU_DS] = 0;

	model_init(&m1, &cpu, f.p, f.n, fault_after, pio);
	c2 = cpu;
	emu_step(&cpu, &m1.ops, &r1);
	check_result(&m1, &cpu, &r1);

	/* Again from the same state: the same outcome, byte for byte. */
	model_init(&m2, &c2, f.p, f.n, fault_after, pio);
	emu_step(&c2, &m2.ops, &r2);
	CHECK(r1.status == r2.status && r1.len == r2.len && r1.vector == r2.vector &&
	      r1.error == r2.error && r1.cr2 == r2.cr2 && !strcmp(r1.mnemonic, r2.mnemonic),
	      "second run differs: status %d/%d len %d/%d", r1.status, r2.status, r1.len, r2.len);
	CHECK(!memcmp(&cpu, &c2, sizeof(cpu)), "second run: different CPU state");
	CHECK(!memcmp(m1.ram, m2.ram, sizeof(m1.ram)) && m1.mmio_hash == m2.mmio_hash,
	      "second run: different memory or device writes");
	return 0;
}
