/* SOURCES: emul/emulate.c */
/*
 * test_emulate.c - emul/emulate.c on a flat 64 KiB memory whose [MMIO_LO, MMIO_HI) range is a
 * "device" (every access logged: address, size, direction, value), the rest RAM, and a separate
 * code buffer for instruction fetch. Arithmetic flags and results are checked against the host
 * CPU executing the same instruction (inline asm with pushf/popf); undefined flags are compared
 * only with the emulator's documented choice, because hosts differ there (this one is AMD).
 */
#include "unit.h"

#include "emul/emulate.h"

/* ---- Harness ---- */

#define MEM_SIZE 0x10000ULL
#define MMIO_LO 0xc000ULL
#define MMIO_HI 0xd000ULL
#define CODE_LA 0x20000ULL
#define CODE_MAX 32
#define LOG_MAX 12000

#define CF 0x001ULL
#define PF 0x004ULL
#define AF 0x010ULL
#define ZF 0x040ULL
#define SF 0x080ULL
#define DF 0x400ULL
#define OF 0x800ULL
#define ARITH (CF | PF | AF | ZF | SF | OF)
#define RF 0x10000ULL

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
enum { VEC_UD = 6, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14 };

#define D16(x) (u8)(x), (u8)((x) >> 8)
#define D32(x) D16((u32)(x)), D16((u32)(x) >> 16)
#define D64(x) D32((u64)(x)), D32((u64)(x) >> 32)

struct access {
	u64 la;
	int size;
	char dir; /* 'r' or 'w' */
	u64 val;
};

struct pio_access {
	u16 port;
	int size;
	char dir;
	u32 val;
};

struct harness {
	struct emu_ops ops;
	u8 mem[MEM_SIZE];
	u8 code[CODE_MAX];
	u64 code_la;
	u8 code2[4];         /* a second code window (16-bit IP wrap), at code2_la when set */
	u64 code2_la;
	int fetch_hi;        /* end of the highest code byte fetched */
	u64 fetch_fault_la;  /* fetching this byte or above faults (0: never) */
	u64 fault_lo, fault_hi; /* data accesses overlapping this range fault */
	bool fault_writes_only;
	struct access log[LOG_MAX]; /* MMIO accesses, in order */
	int nlog;
	int ram_reads, ram_writes;
	struct pio_access plog[LOG_MAX];
	int nplog;
	u32 pio_in_val;
};

static struct harness h;

static void set_fault(u8 vector, u32 error, u64 cr2)
{
	h.ops.fault_vector = vector;
	h.ops.fault_has_error = true;
	h.ops.fault_error = error;
	h.ops.fault_cr2 = cr2;
}

static enum emu_access h_fetch(void *opaque, u64 la, void *buf, int len)
{
	struct harness *hh = opaque;
	assert_true(len >= 1 && len <= EMU_MAX_INSN);
	if (hh->code2_la && la >= hh->code2_la && la + (u64)len <= hh->code2_la + 4) {
		memcpy(buf, hh->code2 + (la - hh->code2_la), (size_t)len);
		return EMU_ACCESS_OK;
	}
	for (int i = 0; i < len; i++) {
		u64 b = la + (u64)i;
		if ((hh->fetch_fault_la && b >= hh->fetch_fault_la) || b < hh->code_la ||
		    b >= hh->code_la + CODE_MAX) {
			set_fault(VEC_PF, 0x10, b);
			return EMU_ACCESS_FAULT;
		}
	}
	memcpy(buf, hh->code + (la - hh->code_la), (size_t)len);
	hh->fetch_hi = MAX(hh->fetch_hi, (int)(la - hh->code_la) + len);
	return EMU_ACCESS_OK;
}

static enum emu_access h_data(struct harness *hh, u64 la, void *buf, int size, bool write)
{
	u64 v = 0;
	assert_true(size == 1 || size == 2 || size == 4 || size == 8);
	if (la >= MEM_SIZE || (u64)size > MEM_SIZE - la) {
		set_fault(VEC_PF, write ? 2 : 0, la);
		return EMU_ACCESS_FAULT;
	}
	if (la < hh->fault_hi && la + (u64)size > hh->fault_lo &&
	    (write || !hh->fault_writes_only)) {
		set_fault(VEC_PF, write ? 2 : 0, MAX(la, hh->fault_lo));
		return EMU_ACCESS_FAULT;
	}
	if (write)
		memcpy(hh->mem + la, buf, (size_t)size);
	else
		memcpy(buf, hh->mem + la, (size_t)size);
	if (la >= MMIO_LO && la < MMIO_HI) {
		assert_true(hh->nlog < LOG_MAX);
		memcpy(&v, hh->mem + la, (size_t)size);
		hh->log[hh->nlog++] = (struct access){ la, size, write ? 'w' : 'r', v };
	} else if (write) {
		hh->ram_writes++;
	} else {
		hh->ram_reads++;
	}
	return EMU_ACCESS_OK;
}

static enum emu_access h_read(void *opaque, u64 la, void *buf, int size)
{
	return h_data(opaque, la, buf, size, false);
}

static enum emu_access h_write(void *opaque, u64 la, const void *buf, int size)
{
	return h_data(opaque, la, (void *)buf, size, true);
}

static void h_pio_in(void *opaque, u16 port, int size, u32 *value)
{
	struct harness *hh = opaque;
	*value = hh->pio_in_val++; /* deliberately not masked: the emulator must mask */
	assert_true(hh->nplog < LOG_MAX);
	hh->plog[hh->nplog++] = (struct pio_access){ port, size, 'i', *value };
}

static void h_pio_out(void *opaque, u16 port, int size, u32 value)
{
	struct harness *hh = opaque;
	assert_true(hh->nplog < LOG_MAX);
	hh->plog[hh->nplog++] = (struct pio_access){ port, size, 'o', value };
}

/* Resets the harness; a CPU in the given mode with its code at CODE_LA. */
static struct emu_cpu new_cpu(int mode)
{
	struct emu_cpu c;
	memset(&h, 0, sizeof(h));
	h.ops = (struct emu_ops){ .fetch = h_fetch, .read = h_read, .write = h_write,
				  .pio_in = h_pio_in, .pio_out = h_pio_out, .opaque = &h };
	memset(&c, 0, sizeof(c));
	c.mode = mode;
	c.rflags = 0x2;
	if (mode == 16) {
		c.seg_base[EMU_CS] = CODE_LA - 0x100;
		c.rip = 0x100;
	} else {
		c.rip = CODE_LA;
	}
	return c;
}

/*
 * Runs one instruction (exactly the n bytes given) at c->rip. Checks that the emulator never
 * fetched past the instruction and, when it executed it, that it consumed exactly n bytes.
 */
static struct emu_result run_code(struct emu_cpu *c, const u8 *code, size_t n)
{
	struct emu_result res;
	assert_true(n <= CODE_MAX);
	memset(h.code, 0xcc, sizeof(h.code));
	memcpy(h.code, code, n);
	h.code_la = c->mode == 64 ? c->rip : (u32)(c->seg_base[EMU_CS] + c->rip);
	h.fetch_hi = 0;
	h.nlog = h.nplog = h.ram_reads = h.ram_writes = 0;
	emu_step(c, &h.ops, &res);
	assert_true(res.len >= 0 && res.len <= EMU_MAX_INSN);
	assert_true(h.fetch_hi <= res.len);
	if (res.status == EMU_OK && !h.code2_la)
		assert_int_equal(res.len, n);
	return res;
}

#define RUN(c, ...) run_code((c), (const u8[]){ __VA_ARGS__ }, sizeof((const u8[]){ __VA_ARGS__ }))

static u64 mem_get(u64 la, int size)
{
	u64 v = 0;
	memcpy(&v, h.mem + la, (size_t)size);
	return v;
}

static void mem_put(u64 la, int size, u64 v)
{
	memcpy(h.mem + la, &v, (size_t)size);
}

/* MMIO access i was (la, size, dir, val); failures name the caller's line. */
static void check_log_at(int line, int i, u64 la, int size, char dir, u64 val)
{
	_assert_true(i < h.nlog, "i < h.nlog", __FILE__, line);
	_assert_int_equal(h.log[i].la, la, __FILE__, line);
	_assert_int_equal((u64)h.log[i].size, (u64)size, __FILE__, line);
	_assert_int_equal((u64)h.log[i].dir, (u64)dir, __FILE__, line);
	_assert_int_equal(h.log[i].val, val, __FILE__, line);
}
#define check_log(...) check_log_at(__LINE__, __VA_ARGS__)

static void check_ok_at(int line, const struct emu_result *r, const struct emu_cpu *c, u64 rip)
{
	_assert_int_equal((u64)r->status, EMU_OK, __FILE__, line);
	_assert_int_equal(c->rip, rip, __FILE__, line);
}
#define check_ok(...) check_ok_at(__LINE__, __VA_ARGS__)

/* ---- Host oracle: the same instruction executed natively ---- */

/* Runs insn with RFLAGS = f (the arithmetic bits the test chose; DF stays 0). The red zone is
 * skipped because pushf writes below RSP. */
#define HOST_RUN(insn, outs, ins)                                                          \
	__asm__ volatile("sub $128, %%rsp\n\tpush %[fl]\n\tpopfq\n\t" insn "\n\t"          \
			 "pushfq\n\tpop %[fl]\n\tadd $128, %%rsp"                          \
			 : outs : ins : "cc", "memory")

typedef void (*host2_fn)(u64 *a, u64 b, u64 *f);

#define HOST2(name, insn)                                                    \
	static void name(u64 *pa, u64 b, u64 *pf)                            \
	{                                                                    \
		u64 a = *pa, f = *pf;                                        \
		HOST_RUN(insn, ADD_OUTS([a] "+r"(a), [fl] "+r"(f)), [b] "r"(b)); \
		*pa = a;                                                     \
		*pf = f;                                                     \
	}
#define ADD_OUTS(...) __VA_ARGS__

#define HOST_W(op)                                         \
	HOST2(host_##op##16, #op "w %w[b], %w[a]")           \
	HOST2(host_##op##32, #op "l %k[b], %k[a]")           \
	HOST2(host_##op##64, #op "q %q[b], %q[a]")
#define HOST_ALL(op) HOST2(host_##op##8, #op "b %b[b], %b[a]") HOST_W(op)
#define HOST1(op)                                          \
	HOST2(host_##op##8, #op "b %b[a]")                   \
	HOST2(host_##op##16, #op "w %w[a]")                  \
	HOST2(host_##op##32, #op "l %k[a]")                  \
	HOST2(host_##op##64, #op "q %q[a]")

HOST_ALL(add) HOST_ALL(or) HOST_ALL(adc) HOST_ALL(sbb) HOST_ALL(and) HOST_ALL(sub)
HOST_ALL(xor) HOST_ALL(cmp) HOST_ALL(test)
HOST1(inc) HOST1(dec) HOST1(neg) HOST1(not)
HOST_W(bt) HOST_W(bts) HOST_W(btr) HOST_W(btc)

#define FNS(op) { host_##op##8, host_##op##16, host_##op##32, host_##op##64 }
#define FNS_W(op) { NULL, host_##op##16, host_##op##32, host_##op##64 }

/*
 * One ALU instruction in register form, RAX (r/m) op= RCX (reg). defined: flags compared with
 * the host; kept: flags the emulator must leave unchanged (its documented choice for the
 * undefined ones, and the unaffected ones).
 */
struct alu_case {
	const char *name;
	u8 op8, op;
	bool twobyte;
	u8 modrm;
	u64 defined, kept;
	host2_fn host[4];
};

/* The first eight are in ModRM.reg order of group 1 (used by the immediate-form test). */
static const struct alu_case alu_cases[] = {
	{ "add", 0x00, 0x01, false, 0xc8, ARITH, 0, FNS(add) },
	{ "or", 0x08, 0x09, false, 0xc8, ARITH, 0, FNS(or) },
	{ "adc", 0x10, 0x11, false, 0xc8, ARITH, 0, FNS(adc) },
	{ "sbb", 0x18, 0x19, false, 0xc8, ARITH, 0, FNS(sbb) },
	{ "and", 0x20, 0x21, false, 0xc8, ARITH, 0, FNS(and) },
	{ "sub", 0x28, 0x29, false, 0xc8, ARITH, 0, FNS(sub) },
	{ "xor", 0x30, 0x31, false, 0xc8, ARITH, 0, FNS(xor) },
	{ "cmp", 0x38, 0x39, false, 0xc8, ARITH, 0, FNS(cmp) },
	{ "test", 0x84, 0x85, false, 0xc8, ARITH, 0, FNS(test) },
	{ "inc", 0xfe, 0xff, false, 0xc0, ARITH, CF, FNS(inc) },
	{ "dec", 0xfe, 0xff, false, 0xc8, ARITH, CF, FNS(dec) },
	{ "neg", 0xf6, 0xf7, false, 0xd8, ARITH, 0, FNS(neg) },
	{ "not", 0xf6, 0xf7, false, 0xd0, ARITH, ARITH, FNS(not) },
	{ "bt", 0, 0xa3, true, 0xc8, CF, ARITH & ~CF, FNS_W(bt) },
	{ "bts", 0, 0xab, true, 0xc8, CF, ARITH & ~CF, FNS_W(bts) },
	{ "btr", 0, 0xb3, true, 0xc8, CF, ARITH & ~CF, FNS_W(btr) },
	{ "btc", 0, 0xbb, true, 0xc8, CF, ARITH & ~CF, FNS_W(btc) },
};

static const int sizes[4] = { 1, 2, 4, 8 };

static const u64 edges[] = {
	0, 1, 2, 0xf, 0x10, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
	0x7fffffffULL, 0x80000000ULL, 0xffffffffULL, 0x100000000ULL, 0x7fffffffffffffffULL,
	0x8000000000000000ULL, 0xfffffffffffffffeULL, ~0ULL,
};

static u64 rng = 0x9e3779b97f4a7c15ULL;

static u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Operands biased to the interesting values: edges (with random upper garbage), small, any. */
static u64 rnd_operand(void)
{
	switch (rnd() % 4) {
	case 0: return edges[rnd() % ARRAY_SIZE(edges)];
	case 1: return edges[rnd() % ARRAY_SIZE(edges)] ^ (rnd() << 32);
	case 2: return rnd() % 300 - 150;
	default: return rnd();
	}
}

static u64 rnd_flags(void)
{
	return 0x2 | (rnd() & ARITH);
}

/* Prefix/opcode/ModRM of alu_cases[k] at size index si (66 for 16, REX.W for 64). */
static size_t encode_case(const struct alu_case *k, int si, u8 *code)
{
	size_t n = 0;
	if (si == 1)
		code[n++] = 0x66;
	if (si == 3)
		code[n++] = 0x48;
	if (k->twobyte)
		code[n++] = 0x0f;
	code[n++] = si == 0 ? k->op8 : k->op;
	code[n++] = k->modrm;
	return n;
}

/* One comparison; returns 1 (and prints) on a mismatch. */
static int alu_compare(const struct alu_case *k, int si, u64 a, u64 b, u64 fin)
{
	u8 code[8];
	size_t n = encode_case(k, si, code);
	struct emu_cpu c = new_cpu(64);
	u64 ha = a, hf = fin;
	struct emu_result r;
	c.gpr[RAX] = a;
	c.gpr[RCX] = b;
	c.rflags = fin;
	r = run_code(&c, code, n);
	k->host[si](&ha, b, &hf);
	if (r.status == EMU_OK && c.gpr[RAX] == ha && c.gpr[RCX] == b && c.rip == CODE_LA + n &&
	    !((c.rflags ^ hf) & k->defined) && !((c.rflags ^ fin) & (k->kept | ~ARITH)))
		return 0;
	print_error("%s%d a=%#llx b=%#llx flags in=%#llx: emu st=%d rax=%#llx fl=%#llx, host "
		    "rax=%#llx fl=%#llx\n", k->name, sizes[si] * 8, a, b, fin, r.status,
		    c.gpr[RAX], c.rflags, ha, hf & 0xfff);
	return 1;
}

static void test_alu_oracle(void **state)
{
	int bad = 0, runs = 0;
	(void)state;
	for (size_t k = 0; k < ARRAY_SIZE(alu_cases); k++) {
		for (int si = 0; si < 4; si++) {
			if (!alu_cases[k].host[si])
				continue;
			for (size_t i = 0; i < ARRAY_SIZE(edges); i++)
				for (size_t j = 0; j < ARRAY_SIZE(edges); j++)
					for (u64 cin = 0; cin < 2; cin++, runs++)
						bad += alu_compare(&alu_cases[k], si, edges[i],
								   edges[j], (rnd_flags() & ~CF) | cin);
			for (int i = 0; i < 3000 && bad < 20; i++, runs++)
				bad += alu_compare(&alu_cases[k], si, rnd_operand(), rnd_operand(),
						   rnd_flags());
		}
	}
	print_message("alu oracle: %d comparisons\n", runs);
	assert_int_equal(bad, 0);
}

/* CMPXCHG EDX, ECX (0F B0/B1 CA) with the accumulator, against the host. */
#define HOST_CX(name, insn)                                                            \
	static void name(u64 *acc, u64 *dst, u64 src, u64 *pf)                         \
	{                                                                              \
		u64 a = *acc, d = *dst, f = *pf;                                       \
		HOST_RUN(insn, ADD_OUTS("+a"(a), [d] "+r"(d), [fl] "+r"(f)), [s] "r"(src)); \
		*acc = a;                                                              \
		*dst = d;                                                              \
		*pf = f;                                                               \
	}
HOST_CX(host_cx8, "cmpxchgb %b[s], %b[d]")
HOST_CX(host_cx16, "cmpxchgw %w[s], %w[d]")
HOST_CX(host_cx32, "cmpxchgl %k[s], %k[d]")
HOST_CX(host_cx64, "cmpxchgq %q[s], %q[d]")

static int cmpxchg_compare(int si, u64 acc, u64 dst, u64 src, u64 fin)
{
	static void (*const host[4])(u64 *, u64 *, u64, u64 *) = {
		host_cx8, host_cx16, host_cx32, host_cx64 };
	static const struct alu_case k = { "cmpxchg", 0xb0, 0xb1, true, 0xca, ARITH, 0, { 0 } };
	u8 code[8];
	size_t n = encode_case(&k, si, code);
	struct emu_cpu c = new_cpu(64);
	u64 ha = acc, hd = dst, hf = fin;
	struct emu_result r;
	c.gpr[RAX] = acc;
	c.gpr[RDX] = dst;
	c.gpr[RCX] = src;
	c.rflags = fin;
	r = run_code(&c, code, n);
	host[si](&ha, &hd, src, &hf);
	if (r.status == EMU_OK && c.gpr[RAX] == ha && c.gpr[RDX] == hd && c.gpr[RCX] == src &&
	    !((c.rflags ^ hf) & ARITH))
		return 0;
	print_error("cmpxchg%d acc=%#llx dst=%#llx src=%#llx: emu rax=%#llx rdx=%#llx fl=%#llx, "
		    "host rax=%#llx rdx=%#llx fl=%#llx\n", sizes[si] * 8, acc, dst, src,
		    c.gpr[RAX], c.gpr[RDX], c.rflags, ha, hd, hf & 0xfff);
	return 1;
}

static void test_cmpxchg_oracle(void **state)
{
	int bad = 0;
	(void)state;
	for (int si = 0; si < 4; si++) {
		for (int i = 0; i < 3000 && bad < 20; i++) {
			u64 acc = rnd_operand(), dst = rnd_operand();
			if (i & 1) /* equal in the operand size, upper bits differing */
				dst = (acc & (sizes[si] == 8 ? ~0ULL : (1ULL << (sizes[si] * 8)) - 1)) |
				      (rnd() << 32 << (si == 3 ? 32 : 0));
			bad += cmpxchg_compare(si, acc, dst, rnd_operand(), rnd_flags());
		}
	}
	assert_int_equal(bad, 0);
}

/* Group 1 immediate forms (80/81/83) on an MMIO operand, against the host register form. */
static int imm_compare(int op, int form, int si, u64 a, u64 imm8_32, u64 fin)
{
	const struct alu_case *k = &alu_cases[op];
	int size = sizes[si], isz = form == 0x83 ? 1 : MIN(size, 4);
	u64 mask = size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
	u64 b = imm8_32 & ((1ULL << (isz * 8)) - 1), la = MMIO_LO + 0x100, ha = a & mask, hf = fin;
	u8 code[16];
	size_t n = 0;
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	if (b >> (isz * 8 - 1)) /* sign-extend the immediate as the CPU does */
		b |= ~((1ULL << (isz * 8)) - 1);
	if (si == 1)
		code[n++] = 0x66;
	if (si == 3)
		code[n++] = 0x48;
	code[n++] = (u8)(si == 0 ? 0x80 : form);
	code[n++] = (u8)(op << 3 | 1); /* [rcx] */
	for (int i = 0; i < isz; i++)
		code[n++] = (u8)(imm8_32 >> (8 * i));
	c.gpr[RCX] = la;
	c.rflags = fin;
	mem_put(la, size, a);
	r = run_code(&c, code, n);
	k->host[si](&ha, b & mask, &hf);
	if (r.status == EMU_OK && mem_get(la, size) == (ha & mask) &&
	    !((c.rflags ^ hf) & k->defined) && !((c.rflags ^ fin) & k->kept) &&
	    h.nlog == (op == 7 ? 1 : 2) && h.log[0].dir == 'r' && h.log[0].size == size)
		return 0;
	print_error("%s %#x size %d a=%#llx imm=%#llx: mem %#llx host %#llx, fl %#llx host %#llx, "
		    "log %d\n", k->name, form, size, a, imm8_32, mem_get(la, size), ha & mask,
		    c.rflags, hf & 0xfff, h.nlog);
	return 1;
}

static void test_group1_imm_oracle(void **state)
{
	static const int forms[] = { 0x81, 0x83 };
	int bad = 0;
	(void)state;
	for (int op = 0; op < 8; op++)
		for (int si = 0; si < 4; si++)
			for (int f = 0; f < 2; f++)
				for (int i = 0; i < 300 && bad < 20; i++)
					bad += imm_compare(op, forms[f], si, rnd_operand(),
							   rnd_operand(), rnd_flags());
	assert_int_equal(bad, 0);
}

/* BT* with a register bit offset on memory: the offset selects an operand outside the one
 * addressed (bit string addressing), checked against the host on a host buffer. */
typedef void (*host_btm_fn)(u8 *p, u64 off, u64 *f);
#define HOST_BTM(name, insn)                                                               \
	static void name(u8 *p, u64 off, u64 *pf)                                          \
	{                                                                                  \
		u64 f = *pf;                                                               \
		HOST_RUN(insn, ADD_OUTS([fl] "+r"(f)), ADD_OUTS([p] "r"(p), [o] "r"(off))); \
		*pf = f;                                                                   \
	}
#define HOST_BTM_W(op)                                        \
	HOST_BTM(host_m##op##16, #op "w %w[o], (%[p])")     \
	HOST_BTM(host_m##op##32, #op "l %k[o], (%[p])")     \
	HOST_BTM(host_m##op##64, #op "q %q[o], (%[p])")
HOST_BTM_W(bt) HOST_BTM_W(bts) HOST_BTM_W(btr) HOST_BTM_W(btc)

static void test_bt_memory_oracle(void **state)
{
	static const host_btm_fn host[4][3] = {
		{ host_mbt16, host_mbt32, host_mbt64 }, { host_mbts16, host_mbts32, host_mbts64 },
		{ host_mbtr16, host_mbtr32, host_mbtr64 }, { host_mbtc16, host_mbtc32, host_mbtc64 },
	};
	static const u8 opc[4] = { 0xa3, 0xab, 0xb3, 0xbb };
	u8 hb[512];
	int bad = 0;
	(void)state;
	for (int v = 0; v < 4; v++) {
		for (int si = 1; si < 4; si++) {
			for (int i = 0; i < 500 && bad < 10; i++) {
				int size = sizes[si];
				s64 off = (s64)(rnd() % 3969) - 1984; /* keeps the access in hb */
				u64 base = MMIO_LO + 0x400, fin = rnd_flags(), hf = fin, reg;
				s64 word = off >= 0 ? off / (size * 8) : -((-off + size * 8 - 1) / (size * 8));
				struct emu_cpu c = new_cpu(64);
				struct emu_result r;
				size_t n = 0;
				u8 code[8];
				for (size_t j = 0; j < sizeof(hb); j++)
					hb[j] = (u8)rnd();
				memcpy(h.mem + base - 256, hb, sizeof(hb));
				/* upper garbage beyond the operand size must be ignored */
				reg = (u64)off & (size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1);
				reg |= size == 8 ? 0 : rnd() << (size * 8);
				if (si == 1)
					code[n++] = 0x66;
				if (si == 3)
					code[n++] = 0x48;
				code[n++] = 0x0f;
				code[n++] = opc[v];
				code[n++] = 0x01; /* [rcx], eax */
				c.gpr[RAX] = reg;
				c.gpr[RCX] = base;
				c.rflags = fin;
				r = run_code(&c, code, n);
				host[v][si - 1](hb + 256, (u64)off, &hf);
				if (r.status == EMU_OK && !memcmp(h.mem + base - 256, hb, sizeof(hb)) &&
				    !((c.rflags ^ hf) & CF) && !((c.rflags ^ fin) & (ARITH & ~CF)) &&
				    h.nlog == (v ? 2 : 1) &&
				    h.log[0].la == base + (u64)(word * size) && h.log[0].size == size)
					continue;
				print_error("bt variant %d size %d off %lld: st %d fl %#llx host %#llx "
					    "log[0] %#llx\n", v, size, (long long)off, r.status,
					    c.rflags, hf & 0xfff, h.nlog ? h.log[0].la : 0);
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
}

/* ---- MOV and addressing ---- */

static void test_mov_store_sizes(void **state)
{
	struct emu_cpu c;
	struct emu_result r;
	(void)state;
	c = new_cpu(64);
	c.gpr[RAX] = 0x1122334455667788ULL;
	c.gpr[RSP] = 0x99;
	c.gpr[RCX] = MMIO_LO + 0x10;
	r = RUN(&c, 0x89, 0x01); /* mov [rcx], eax */
	check_ok(&r, &c, CODE_LA + 2);
	assert_string_equal(r.mnemonic, "mov");
	assert_int_equal(h.nlog, 1);
	check_log(0, MMIO_LO + 0x10, 4, 'w', 0x55667788);
	c.rip = CODE_LA;
	RUN(&c, 0x48, 0x89, 0x01); /* mov [rcx], rax */
	check_log(0, MMIO_LO + 0x10, 8, 'w', 0x1122334455667788ULL);
	c.rip = CODE_LA;
	RUN(&c, 0x66, 0x89, 0x01); /* mov [rcx], ax */
	check_log(0, MMIO_LO + 0x10, 2, 'w', 0x7788);
	c.rip = CODE_LA;
	RUN(&c, 0x88, 0x01); /* mov [rcx], al */
	check_log(0, MMIO_LO + 0x10, 1, 'w', 0x88);
	c.rip = CODE_LA;
	RUN(&c, 0x88, 0x21); /* mov [rcx], ah */
	check_log(0, MMIO_LO + 0x10, 1, 'w', 0x77);
	c.rip = CODE_LA;
	RUN(&c, 0x40, 0x88, 0x21); /* mov [rcx], spl */
	check_log(0, MMIO_LO + 0x10, 1, 'w', 0x99);
	c.rip = CODE_LA;
	c.gpr[R12] = 0xabcdef;
	RUN(&c, 0x44, 0x88, 0x21); /* mov [rcx], r12b */
	check_log(0, MMIO_LO + 0x10, 1, 'w', 0xef);

	c = new_cpu(32);
	c.gpr[RAX] = 0xdeadbeef;
	c.gpr[RCX] = MMIO_LO + 0x20;
	r = RUN(&c, 0x89, 0x01); /* mov [ecx], eax */
	check_ok(&r, &c, CODE_LA + 2);
	check_log(0, MMIO_LO + 0x20, 4, 'w', 0xdeadbeef);
	c.rip = CODE_LA;
	RUN(&c, 0x66, 0x89, 0x01); /* mov [ecx], ax */
	check_log(0, MMIO_LO + 0x20, 2, 'w', 0xbeef);
	c.rip = CODE_LA;
	r = RUN(&c, 0x48); /* dec eax, not REX, in 32-bit mode */
	check_ok(&r, &c, CODE_LA + 1);
	assert_int_equal(c.gpr[RAX], 0xdeadbeee);

	c = new_cpu(16);
	c.seg_base[EMU_DS] = MMIO_LO;
	c.gpr[RAX] = 0x12345678;
	c.gpr[RBX] = 0x30;
	r = RUN(&c, 0x89, 0x07); /* mov [bx], ax */
	check_ok(&r, &c, 0x102);
	check_log(0, MMIO_LO + 0x30, 2, 'w', 0x5678);
	c.rip = 0x100;
	r = RUN(&c, 0x66, 0x89, 0x07); /* mov [bx], eax */
	check_ok(&r, &c, 0x103);
	check_log(0, MMIO_LO + 0x30, 4, 'w', 0x12345678);
}

static void test_mov_load_merge_zero_extend(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	mem_put(MMIO_LO + 0x20, 8, 0x8899aabbccddeeffULL);
	c.gpr[RCX] = MMIO_LO + 0x20;
	c.gpr[RAX] = 0x1111111111111111ULL;
	r = RUN(&c, 0x8b, 0x01); /* mov eax, [rcx]: zero-extends */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RAX], 0xccddeeff);
	check_log(0, MMIO_LO + 0x20, 4, 'r', 0xccddeeff);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0x1111111111111111ULL;
	RUN(&c, 0x66, 0x8b, 0x01); /* mov ax, [rcx]: merges */
	assert_int_equal(c.gpr[RAX], 0x111111111111eeffULL);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0x1111111111111111ULL;
	RUN(&c, 0x8a, 0x01); /* mov al, [rcx] */
	assert_int_equal(c.gpr[RAX], 0x11111111111111ffULL);
	c.rip = CODE_LA;
	RUN(&c, 0x8a, 0x21); /* mov ah, [rcx] */
	assert_int_equal(c.gpr[RAX], 0x111111111111ffffULL);
	c.rip = CODE_LA;
	c.gpr[RSP] = 0x2222222222222222ULL;
	RUN(&c, 0x40, 0x8a, 0x21); /* mov spl, [rcx] */
	assert_int_equal(c.gpr[RSP], 0x22222222222222ffULL);
	c.rip = CODE_LA;
	RUN(&c, 0x48, 0x8b, 0x01); /* mov rax, [rcx] */
	assert_int_equal(c.gpr[RAX], 0x8899aabbccddeeffULL);
	c.rip = CODE_LA;
	c.gpr[R8] = ~0ULL;
	RUN(&c, 0x44, 0x8b, 0x01); /* mov r8d, [rcx] */
	assert_int_equal(c.gpr[R8], 0xccddeeff);
	c.rip = CODE_LA;
	c.gpr[R9] = MMIO_LO + 0x21;
	RUN(&c, 0x41, 0x8b, 0x01); /* mov eax, [r9] */
	check_log(0, MMIO_LO + 0x21, 4, 'r', 0xbbccddee);
	c.rip = CODE_LA;
	c.gpr[RDX] = 0x5555555555555555ULL;
	c.gpr[RBX] = 0x12345678;
	r = RUN(&c, 0x88, 0xfe); /* mov dh, bh (register form) */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RDX], 0x5555555555555655ULL);
}

static void test_mov_immediate_forms(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RCX] = MMIO_LO;
	r = RUN(&c, 0xc6, 0x01, 0xab); /* mov byte [rcx], 0xab */
	check_ok(&r, &c, CODE_LA + 3);
	check_log(0, MMIO_LO, 1, 'w', 0xab);
	c.rip = CODE_LA;
	r = RUN(&c, 0x48, 0xc7, 0x41, 0x08, D32(0x80000000)); /* mov qword [rcx+8], imm32 */
	check_ok(&r, &c, CODE_LA + 8);
	check_log(0, MMIO_LO + 8, 8, 'w', 0xffffffff80000000ULL);
	c.rip = CODE_LA;
	r = RUN(&c, 0x66, 0xc7, 0x01, D16(0xbeef)); /* mov word [rcx], imm16 */
	check_ok(&r, &c, CODE_LA + 5);
	check_log(0, MMIO_LO, 2, 'w', 0xbeef);
	c.rip = CODE_LA;
	r = RUN(&c, 0x48, 0xb8, D64(0x0123456789abcdefULL)); /* mov rax, imm64 */
	check_ok(&r, &c, CODE_LA + 10);
	assert_int_equal(c.gpr[RAX], 0x0123456789abcdefULL);
	c.rip = CODE_LA;
	RUN(&c, 0xb4, 0x5a); /* mov ah, 0x5a */
	assert_int_equal(c.gpr[RAX], 0x0123456789ab5aefULL);
	c.rip = CODE_LA;
	RUN(&c, 0x41, 0xb0, 0x77); /* mov r8b, 0x77 */
	assert_int_equal(c.gpr[R8] & 0xff, 0x77);
	c.rip = CODE_LA;
	RUN(&c, 0xb8, D32(0xfedcba98)); /* mov eax, imm32: zero-extends */
	assert_int_equal(c.gpr[RAX], 0xfedcba98);
}

static void test_rip_relative(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	u64 target = MMIO_LO + 0x40;
	(void)state;
	mem_put(target, 4, 0xcafef00d);
	r = RUN(&c, 0x8b, 0x05, D32(target - (CODE_LA + 6))); /* mov eax, [rip+disp32] */
	check_ok(&r, &c, CODE_LA + 6);
	assert_int_equal(c.gpr[RAX], 0xcafef00d);
	check_log(0, target, 4, 'r', 0xcafef00d);

	/* RIP-relative counts from the end of the instruction, after the immediate. */
	c.rip = CODE_LA;
	r = RUN(&c, 0xc7, 0x05, D32(target - (CODE_LA + 10)), D32(0x600dcafe));
	check_ok(&r, &c, CODE_LA + 10);
	check_log(0, target, 4, 'w', 0x600dcafe);
	c.rip = CODE_LA;
	r = RUN(&c, 0x80, 0x3d, D32(target - (CODE_LA + 7)), 0xfe); /* cmp byte [rip+d], 0xfe */
	check_ok(&r, &c, CODE_LA + 7);
	check_log(0, target, 1, 'r', 0xfe);
	assert_true(c.rflags & ZF);

	/* With 67 the address is EIP-relative, truncated to 32 bits. */
	c = new_cpu(64);
	c.rip = 0x100000000ULL + CODE_LA;
	mem_put(target, 4, 0x1234abcd);
	r = RUN(&c, 0x67, 0x8b, 0x05, D32(target - (CODE_LA + 7)));
	check_ok(&r, &c, 0x100000000ULL + CODE_LA + 7);
	assert_int_equal(c.gpr[RAX], 0x1234abcd);

	/* In 32-bit mode, mod 00 rm 101 is an absolute disp32. */
	c = new_cpu(32);
	mem_put(target, 4, 0x1234abcd);
	r = RUN(&c, 0x8b, 0x05, D32(target));
	check_ok(&r, &c, CODE_LA + 6);
	assert_int_equal(c.gpr[RAX], 0x1234abcd);
}

static void test_sib_forms(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RCX] = 0x10;
	r = RUN(&c, 0x8b, 0x04, 0x8d, D32(MMIO_LO)); /* mov eax, [rcx*4 + disp32] (no base) */
	check_ok(&r, &c, CODE_LA + 7);
	check_log(0, MMIO_LO + 0x40, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[RBX] = MMIO_LO;
	r = RUN(&c, 0x8b, 0x44, 0xcb, 0x08); /* mov eax, [rbx + rcx*8 + 8] */
	check_ok(&r, &c, CODE_LA + 4);
	check_log(0, MMIO_LO + 0x88, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[R9] = 0x30;
	c.gpr[RAX] = MMIO_LO;
	RUN(&c, 0x42, 0x8b, 0x04, 0x08); /* mov eax, [rax + r9] (REX.X) */
	check_log(0, MMIO_LO + 0x30, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[R12] = 0x8;
	c.gpr[RAX] = MMIO_LO;
	RUN(&c, 0x42, 0x8b, 0x04, 0xa0); /* mov eax, [rax + r12*4]: index 100b with REX.X */
	check_log(0, MMIO_LO + 0x20, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[R12] = MMIO_LO + 0x50;
	RUN(&c, 0x41, 0x8b, 0x04, 0x24); /* mov eax, [r12] */
	check_log(0, MMIO_LO + 0x50, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[R13] = MMIO_LO + 0x60;
	RUN(&c, 0x41, 0x8b, 0x45, 0x00); /* mov eax, [r13+0] */
	check_log(0, MMIO_LO + 0x60, 4, 'r', 0);
	c.rip = CODE_LA;
	r = RUN(&c, 0x41, 0x8b, 0x04, 0x25, D32(MMIO_LO + 0x70)); /* SIB base 101b, mod 0: no base */
	check_ok(&r, &c, CODE_LA + 8);
	check_log(0, MMIO_LO + 0x70, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[RSP] = MMIO_LO + 0x80;
	RUN(&c, 0x8b, 0x44, 0x24, 0xf8); /* mov eax, [rsp-8] */
	check_log(0, MMIO_LO + 0x78, 4, 'r', 0);

	/* 32-bit mode: rSP/rBP bases use SS, others DS; an override wins. */
	c = new_cpu(32);
	c.seg_base[EMU_SS] = 0x1000;
	c.seg_base[EMU_DS] = 0x2000;
	c.gpr[RSP] = MMIO_LO - 0x1000;
	c.gpr[RBP] = MMIO_LO - 0x1000;
	c.gpr[RBX] = MMIO_LO - 0x2000;
	RUN(&c, 0x8b, 0x04, 0x24); /* mov eax, [esp] */
	check_log(0, MMIO_LO, 4, 'r', 0);
	c.rip = CODE_LA;
	RUN(&c, 0x8b, 0x45, 0x08); /* mov eax, [ebp+8] */
	check_log(0, MMIO_LO + 8, 4, 'r', 0);
	c.rip = CODE_LA;
	RUN(&c, 0x8b, 0x43, 0x08); /* mov eax, [ebx+8] */
	check_log(0, MMIO_LO + 8, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[RBP] = MMIO_LO - 0x2000;
	RUN(&c, 0x3e, 0x8b, 0x45, 0x10); /* mov eax, ds:[ebp+0x10] */
	check_log(0, MMIO_LO + 0x10, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[RSI] = 0x10;
	c.gpr[RBP] = MMIO_LO - 0x1000;
	RUN(&c, 0x8b, 0x44, 0x75, 0x00); /* mov eax, [ebp + esi*2 + 0]: SS */
	check_log(0, MMIO_LO + 0x20, 4, 'r', 0);
}

static void test_segment_override(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.seg_base[EMU_FS] = MMIO_LO;
	c.seg_base[EMU_GS] = MMIO_LO + 0x100;
	c.seg_base[EMU_DS] = 0x1000; /* ignored in 64-bit mode */
	c.seg_base[EMU_CS] = 0x2000;
	r = RUN(&c, 0x64, 0x8b, 0x04, 0x25, D32(0x40)); /* mov eax, fs:[0x40] */
	check_ok(&r, &c, CODE_LA + 8);
	check_log(0, MMIO_LO + 0x40, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[RCX] = 0x80;
	c.gpr[RAX] = 0x0102030405060708ULL;
	RUN(&c, 0x65, 0x48, 0x89, 0x01); /* mov gs:[rcx], rax */
	check_log(0, MMIO_LO + 0x180, 8, 'w', 0x0102030405060708ULL);
	c.rip = CODE_LA;
	c.gpr[RCX] = MMIO_LO + 0x10;
	RUN(&c, 0x8b, 0x01); /* DS base not added */
	check_log(0, MMIO_LO + 0x10, 4, 'r', 0);
	c.rip = CODE_LA;
	RUN(&c, 0x2e, 0x8b, 0x01); /* CS override: base not added */
	check_log(0, MMIO_LO + 0x10, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[RCX] = 0x10;
	RUN(&c, 0x64, 0x65, 0x8b, 0x01); /* the last override wins */
	check_log(0, MMIO_LO + 0x110, 4, 'r', 0);

	c = new_cpu(32);
	c.seg_base[EMU_ES] = 0x800;
	c.seg_base[EMU_DS] = 0x400;
	c.gpr[RCX] = MMIO_LO;
	RUN(&c, 0x26, 0x8b, 0x01); /* mov eax, es:[ecx] */
	check_log(0, MMIO_LO + 0x800, 4, 'r', 0);
	c.rip = CODE_LA;
	RUN(&c, 0x8b, 0x01);
	check_log(0, MMIO_LO + 0x400, 4, 'r', 0);
}

static void test_address_size_wrap(void **state)
{
	struct emu_cpu c = new_cpu(16);
	struct emu_result r;
	(void)state;
	c.seg_base[EMU_DS] = MMIO_LO;
	c.gpr[RBX] = 0xfff0;
	c.gpr[RSI] = 0x20;
	r = RUN(&c, 0x8b, 0x00); /* mov ax, [bx+si]: wraps to 0x10 */
	check_ok(&r, &c, 0x102);
	check_log(0, MMIO_LO + 0x10, 2, 'r', 0);
	c.rip = 0x100;
	c.gpr[RBP] = 0x0;
	c.seg_base[EMU_SS] = MMIO_LO - 0xfff0;
	RUN(&c, 0x8b, 0x46, 0xfe); /* mov ax, [bp-2]: SS, ea 0xfffe */
	check_log(0, MMIO_LO + 0xe, 2, 'r', 0);
	c.rip = 0x100;
	c.gpr[RBP] = 0xfff0;
	c.gpr[RDI] = 0x4;
	RUN(&c, 0x8b, 0x43, 0x06); /* mov ax, [bp+di+6]: SS */
	check_log(0, MMIO_LO + 0xa, 2, 'r', 0);
	c.rip = 0x100;
	r = RUN(&c, 0x8b, 0x06, D16(0x0040)); /* mov ax, [0x40] */
	check_ok(&r, &c, 0x104);
	check_log(0, MMIO_LO + 0x40, 2, 'r', 0);
	c.rip = 0x100;
	c.seg_base[EMU_DS] = 0xffff0000ULL;
	c.gpr[RCX] = 0x1c010;
	r = RUN(&c, 0x67, 0x8b, 0x01); /* mov ax, [ecx]: 32-bit ea, linear wraps at 4 GiB */
	check_ok(&r, &c, 0x103);
	check_log(0, MMIO_LO + 0x10, 2, 'r', 0);

	c = new_cpu(32);
	c.gpr[RBX] = 0x1234c010;
	r = RUN(&c, 0x67, 0x8b, 0x07); /* mov eax, [bx] */
	check_ok(&r, &c, CODE_LA + 3);
	check_log(0, MMIO_LO + 0x10, 4, 'r', 0);
	c.rip = CODE_LA;
	c.seg_base[EMU_DS] = 0xfffff000ULL;
	c.gpr[RBX] = MMIO_LO + 0x1020;
	RUN(&c, 0x8b, 0x03); /* linear address wraps at 4 GiB */
	check_log(0, MMIO_LO + 0x20, 4, 'r', 0);

	c = new_cpu(64);
	c.gpr[RCX] = 0xffffffff0000c010ULL;
	r = RUN(&c, 0x67, 0x8b, 0x01); /* mov eax, [ecx] */
	check_ok(&r, &c, CODE_LA + 3);
	check_log(0, MMIO_LO + 0x10, 4, 'r', 0);
	c.rip = CODE_LA;
	c.gpr[RCX] = ~0ULL;
	c.gpr[RDX] = MMIO_LO + 0x20;
	RUN(&c, 0x8b, 0x04, 0x0a); /* mov eax, [rdx + rcx]: wraps at 2^64 */
	check_log(0, MMIO_LO + 0x1f, 4, 'r', 0);
}

static void test_moffs(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	mem_put(MMIO_LO + 0x10, 8, 0x1122334455667788ULL);
	r = RUN(&c, 0xa1, D64(MMIO_LO + 0x10)); /* mov eax, [moffs64] */
	check_ok(&r, &c, CODE_LA + 9);
	assert_int_equal(c.gpr[RAX], 0x55667788);
	check_log(0, MMIO_LO + 0x10, 4, 'r', 0x55667788);
	c.rip = CODE_LA;
	r = RUN(&c, 0x48, 0xa1, D64(MMIO_LO + 0x10)); /* mov rax, [moffs64] */
	check_ok(&r, &c, CODE_LA + 10);
	assert_int_equal(c.gpr[RAX], 0x1122334455667788ULL);
	c.rip = CODE_LA;
	r = RUN(&c, 0x48, 0xa3, D64(MMIO_LO + 0x18)); /* mov [moffs64], rax */
	check_ok(&r, &c, CODE_LA + 10);
	check_log(0, MMIO_LO + 0x18, 8, 'w', 0x1122334455667788ULL);
	c.rip = CODE_LA;
	r = RUN(&c, 0xa0, D64(MMIO_LO + 0x11)); /* mov al, [moffs64] */
	check_ok(&r, &c, CODE_LA + 9);
	assert_int_equal(c.gpr[RAX], 0x1122334455667777ULL);
	c.rip = CODE_LA;
	r = RUN(&c, 0xa2, D64(MMIO_LO + 0x20)); /* mov [moffs64], al */
	check_log(0, MMIO_LO + 0x20, 1, 'w', 0x77);
	c.rip = CODE_LA;
	r = RUN(&c, 0x67, 0xa1, D32(MMIO_LO + 0x10)); /* mov eax, [moffs32] */
	check_ok(&r, &c, CODE_LA + 6);
	check_log(0, MMIO_LO + 0x10, 4, 'r', 0x55667788);
	c.rip = CODE_LA;
	c.seg_base[EMU_FS] = MMIO_LO;
	r = RUN(&c, 0x64, 0xa1, D64(0x14)); /* mov eax, fs:[moffs64] */
	check_ok(&r, &c, CODE_LA + 10);
	check_log(0, MMIO_LO + 0x14, 4, 'r', 0x11223344);

	c = new_cpu(32);
	mem_put(MMIO_LO + 0x10, 8, 0x1122334455667788ULL);
	r = RUN(&c, 0xa1, D32(MMIO_LO + 0x10));
	check_ok(&r, &c, CODE_LA + 5);
	assert_int_equal(c.gpr[RAX], 0x55667788);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0xabcd;
	r = RUN(&c, 0x66, 0xa3, D32(MMIO_LO + 0x30)); /* mov [moffs32], ax */
	check_ok(&r, &c, CODE_LA + 6);
	check_log(0, MMIO_LO + 0x30, 2, 'w', 0xabcd);

	c = new_cpu(16);
	mem_put(MMIO_LO + 0x10, 8, 0x1122334455667788ULL);
	c.seg_base[EMU_DS] = MMIO_LO;
	r = RUN(&c, 0xa1, D16(0x10)); /* mov ax, [moffs16] */
	check_ok(&r, &c, 0x103);
	assert_int_equal(c.gpr[RAX], 0x7788);
}

static void test_movzx_movsx(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	mem_put(MMIO_LO, 4, 0x8000ff80);
	c.gpr[RCX] = MMIO_LO;
	c.gpr[RAX] = ~0ULL;
	r = RUN(&c, 0x0f, 0xb6, 0x01); /* movzx eax, byte [rcx] */
	check_ok(&r, &c, CODE_LA + 3);
	assert_int_equal(c.gpr[RAX], 0x80);
	check_log(0, MMIO_LO, 1, 'r', 0x80);
	c.rip = CODE_LA;
	RUN(&c, 0x48, 0x0f, 0xbe, 0x01); /* movsx rax, byte [rcx] */
	assert_int_equal(c.gpr[RAX], 0xffffffffffffff80ULL);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0x1234567812345678ULL;
	RUN(&c, 0x66, 0x0f, 0xbe, 0x01); /* movsx ax, byte [rcx] */
	assert_int_equal(c.gpr[RAX], 0x123456781234ff80ULL);
	c.rip = CODE_LA;
	RUN(&c, 0x0f, 0xb7, 0x01); /* movzx eax, word [rcx] */
	assert_int_equal(c.gpr[RAX], 0xff80);
	check_log(0, MMIO_LO, 2, 'r', 0xff80);
	c.rip = CODE_LA;
	RUN(&c, 0x0f, 0xbf, 0x01); /* movsx eax, word [rcx] */
	assert_int_equal(c.gpr[RAX], 0xffffff80);
	c.rip = CODE_LA;
	RUN(&c, 0x48, 0x0f, 0xbf, 0x01); /* movsx rax, word [rcx] */
	assert_int_equal(c.gpr[RAX], 0xffffffffffffff80ULL);
	c.rip = CODE_LA;
	r = RUN(&c, 0x48, 0x63, 0x01); /* movsxd rax, dword [rcx] */
	check_ok(&r, &c, CODE_LA + 3);
	assert_string_equal(r.mnemonic, "movsxd");
	assert_int_equal(c.gpr[RAX], 0xffffffff8000ff80ULL);
	check_log(0, MMIO_LO, 4, 'r', 0x8000ff80);
	c.rip = CODE_LA;
	c.gpr[RDX] = 0x9900;
	RUN(&c, 0x0f, 0xb6, 0xc6); /* movzx eax, dh */
	assert_int_equal(c.gpr[RAX], 0x99);
	c.rip = CODE_LA;
	c.gpr[RSI] = 0x81;
	RUN(&c, 0x40, 0x0f, 0xbe, 0xc6); /* movsx eax, sil */
	assert_int_equal(c.gpr[RAX], 0xffffff81);

	c = new_cpu(32);
	c.gpr[RCX] = MMIO_LO;
	r = RUN(&c, 0x63, 0x01); /* ARPL in 32-bit mode: not emulated */
	assert_int_equal(r.status, EMU_UNHANDLED);
}

static void test_xchg_memory(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	mem_put(MMIO_LO, 4, 0x11223344);
	c.gpr[RCX] = MMIO_LO;
	c.gpr[RAX] = 0xaaaaaaaa55667788ULL;
	r = RUN(&c, 0x87, 0x01); /* xchg [rcx], eax */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RAX], 0x11223344);
	assert_int_equal(h.nlog, 2);
	check_log(0, MMIO_LO, 4, 'r', 0x11223344);
	check_log(1, MMIO_LO, 4, 'w', 0x55667788);
	c.rip = CODE_LA;
	r = RUN(&c, 0xf0, 0x48, 0x87, 0x01); /* lock xchg [rcx], rax */
	check_ok(&r, &c, CODE_LA + 4);
	assert_int_equal(c.gpr[RAX], 0x55667788);
	check_log(1, MMIO_LO, 8, 'w', 0x11223344);
	c.rip = CODE_LA;
	c.gpr[RBX] = 0xab00;
	RUN(&c, 0x86, 0x39); /* xchg [rcx], bh */
	assert_int_equal(c.gpr[RBX], 0x4400);
	check_log(1, MMIO_LO, 1, 'w', 0xab);
	c.rip = CODE_LA;
	c.gpr[RAX] = 1;
	c.gpr[RCX] = 2;
	r = RUN(&c, 0x87, 0xc8); /* xchg eax, ecx */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RAX], 2);
	assert_int_equal(c.gpr[RCX], 1);
}

static void test_push_pop_memory(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	mem_put(MMIO_LO + 0x10, 8, 0x0102030405060708ULL);
	c.gpr[RSP] = 0x8000;
	c.gpr[RCX] = MMIO_LO + 0x10;
	r = RUN(&c, 0xff, 0x31); /* push qword [rcx] */
	check_ok(&r, &c, CODE_LA + 2);
	assert_string_equal(r.mnemonic, "push");
	assert_int_equal(c.gpr[RSP], 0x7ff8);
	assert_int_equal(mem_get(0x7ff8, 8), 0x0102030405060708ULL);
	check_log(0, MMIO_LO + 0x10, 8, 'r', 0x0102030405060708ULL);
	assert_int_equal(h.ram_writes, 1);
	c.rip = CODE_LA;
	RUN(&c, 0x66, 0xff, 0x31); /* push word [rcx] */
	assert_int_equal(c.gpr[RSP], 0x7ff6);
	assert_int_equal(mem_get(0x7ff6, 2), 0x0708);
	c.rip = CODE_LA;
	c.gpr[RSP] = 0x8000;
	mem_put(0x8000, 8, 0xa1a2a3a4a5a6a7a8ULL);
	r = RUN(&c, 0x8f, 0x01); /* pop qword [rcx] */
	check_ok(&r, &c, CODE_LA + 2);
	assert_string_equal(r.mnemonic, "pop");
	assert_int_equal(c.gpr[RSP], 0x8008);
	check_log(0, MMIO_LO + 0x10, 8, 'w', 0xa1a2a3a4a5a6a7a8ULL);
	c.rip = CODE_LA;
	c.gpr[RSP] = 0x8000;
	RUN(&c, 0x8f, 0x44, 0x24, 0x08); /* pop [rsp+8]: address after the increment */
	assert_int_equal(c.gpr[RSP], 0x8008);
	assert_int_equal(mem_get(0x8010, 8), 0xa1a2a3a4a5a6a7a8ULL);
	c.rip = CODE_LA;
	c.gpr[RSP] = 0x8000;
	mem_put(0x8008, 8, 0x77);
	RUN(&c, 0xff, 0x74, 0x24, 0x08); /* push [rsp+8]: address before the decrement */
	assert_int_equal(mem_get(0x7ff8, 8), 0x77);
	c.rip = CODE_LA;
	c.gpr[RSP] = 0x8000;
	mem_put(0x8000, 8, 0x1234);
	RUN(&c, 0x8f, 0xc4); /* pop rsp: the popped value wins */
	assert_int_equal(c.gpr[RSP], 0x1234);

	c = new_cpu(32);
	mem_put(MMIO_LO + 0x10, 8, 0x0102030405060708ULL);
	c.seg_base[EMU_SS] = 0x1000;
	c.gpr[RSP] = 0x2000;
	c.gpr[RCX] = MMIO_LO + 0x10;
	r = RUN(&c, 0xff, 0x31); /* push dword [ecx] */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RSP], 0x1ffc);
	assert_int_equal(mem_get(0x2ffc, 4), 0x05060708);

	c = new_cpu(16);
	mem_put(MMIO_LO + 0x10, 8, 0x0102030405060708ULL);
	c.seg_base[EMU_DS] = MMIO_LO;
	c.gpr[RSP] = 0x10000; /* SP = 0 with garbage above: wraps to 0xfffe */
	c.gpr[RBX] = 0x10;
	r = RUN(&c, 0xff, 0x37); /* push word [bx] */
	check_ok(&r, &c, 0x102);
	assert_int_equal(c.gpr[RSP], 0x1fffe);
	assert_int_equal(mem_get(0xfffe, 2), 0x0708);
}

static void test_movnti(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RCX] = MMIO_LO;
	c.gpr[RAX] = 0x1122334455667788ULL;
	r = RUN(&c, 0x0f, 0xc3, 0x01); /* movnti [rcx], eax */
	check_ok(&r, &c, CODE_LA + 3);
	assert_string_equal(r.mnemonic, "movnti");
	check_log(0, MMIO_LO, 4, 'w', 0x55667788);
	c.rip = CODE_LA;
	RUN(&c, 0x48, 0x0f, 0xc3, 0x01); /* movnti [rcx], rax */
	check_log(0, MMIO_LO, 8, 'w', 0x1122334455667788ULL);
	c.rip = CODE_LA;
	r = RUN(&c, 0x66, 0x0f, 0xc3, 0x01); /* 66: not an encoding of MOVNTI */
	assert_int_equal(r.status, EMU_UNHANDLED);
	assert_int_equal(c.rip, CODE_LA);
	r = RUN(&c, 0x0f, 0xc3, 0xc1); /* register destination */
	assert_int_equal(r.status, EMU_UNHANDLED);
	assert_int_equal(h.nlog, 0);
}

/* ---- ALU on memory ---- */

static void test_alu_memory_forms(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RCX] = MMIO_LO;
	mem_put(MMIO_LO, 4, 5);
	r = RUN(&c, 0x83, 0x01, 0xff); /* add dword [rcx], -1 */
	check_ok(&r, &c, CODE_LA + 3);
	assert_string_equal(r.mnemonic, "add");
	assert_int_equal(h.nlog, 2);
	check_log(0, MMIO_LO, 4, 'r', 5);
	check_log(1, MMIO_LO, 4, 'w', 4);
	assert_int_equal(c.rflags & ARITH, CF | AF);
	c.rip = CODE_LA;
	mem_put(MMIO_LO, 8, 0x100000000ULL);
	r = RUN(&c, 0x48, 0x81, 0x01, D32(0x80000000)); /* add qword [rcx], imm32 sign-extended */
	check_ok(&r, &c, CODE_LA + 7);
	check_log(1, MMIO_LO, 8, 'w', 0x80000000ULL);
	c.rip = CODE_LA;
	mem_put(MMIO_LO, 1, 5);
	r = RUN(&c, 0x80, 0x39, 0x05); /* cmp byte [rcx], 5: read only */
	check_ok(&r, &c, CODE_LA + 3);
	assert_int_equal(h.nlog, 1);
	assert_int_equal(c.rflags & ARITH, ZF | PF);
	c.rip = CODE_LA;
	mem_put(MMIO_LO, 1, 0x80);
	r = RUN(&c, 0xf6, 0x01, 0x80); /* test byte [rcx], 0x80 */
	check_ok(&r, &c, CODE_LA + 3);
	assert_int_equal(h.nlog, 1);
	assert_int_equal(c.rflags & (ZF | SF | CF | OF), SF);
	c.rip = CODE_LA;
	mem_put(MMIO_LO, 4, 0xffff1234);
	r = RUN(&c, 0xf7, 0x01, D32(0x10000)); /* test dword [rcx], imm32 */
	check_ok(&r, &c, CODE_LA + 6);
	c.rip = CODE_LA;
	r = RUN(&c, 0x66, 0x81, 0x21, D16(0x00ff)); /* and word [rcx], 0x00ff */
	check_ok(&r, &c, CODE_LA + 5);
	check_log(1, MMIO_LO, 2, 'w', 0x34);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0x10;
	mem_put(MMIO_LO, 4, 0x20);
	RUN(&c, 0x01, 0x01); /* add [rcx], eax */
	check_log(1, MMIO_LO, 4, 'w', 0x30);
	c.rip = CODE_LA;
	RUN(&c, 0x03, 0x01); /* add eax, [rcx]: register destination, no write */
	assert_int_equal(h.nlog, 1);
	assert_int_equal(c.gpr[RAX], 0x40);
	c.rip = CODE_LA;
	c.rflags |= CF;
	mem_put(MMIO_LO, 4, 0x20);
	RUN(&c, 0x11, 0x01); /* adc [rcx], eax */
	check_log(1, MMIO_LO, 4, 'w', 0x61);
	c.rip = CODE_LA;
	c.rflags |= CF;
	RUN(&c, 0x19, 0x01); /* sbb [rcx], eax */
	check_log(1, MMIO_LO, 4, 'w', 0x20);
	c.rip = CODE_LA;
	r = RUN(&c, 0xf0, 0x01, 0x01); /* lock add [rcx], eax */
	check_ok(&r, &c, CODE_LA + 3);
	check_log(1, MMIO_LO, 4, 'w', 0x60);
	c.rip = CODE_LA;
	c.rflags = 0x2 | CF;
	RUN(&c, 0xff, 0x01); /* inc dword [rcx]: CF kept */
	check_log(1, MMIO_LO, 4, 'w', 0x61);
	assert_true(c.rflags & CF);
	c.rip = CODE_LA;
	mem_put(MMIO_LO, 1, 0x80);
	RUN(&c, 0xfe, 0x09); /* dec byte [rcx] */
	check_log(1, MMIO_LO, 1, 'w', 0x7f);
	assert_true(c.rflags & OF);
	c.rip = CODE_LA;
	mem_put(MMIO_LO, 4, 1);
	RUN(&c, 0xf7, 0x19); /* neg dword [rcx] */
	check_log(1, MMIO_LO, 4, 'w', 0xffffffff);
	assert_true(c.rflags & CF);
	c.rip = CODE_LA;
	c.rflags = 0x2 | ARITH;
	RUN(&c, 0xf7, 0x11); /* not dword [rcx]: no flags */
	check_log(1, MMIO_LO, 4, 'w', 0);
	assert_int_equal(c.rflags, 0x2 | ARITH);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0x1ff;
	r = RUN(&c, 0x04, 0x7f); /* add al, 0x7f */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RAX], 0x17e);
	c.rip = CODE_LA;
	r = RUN(&c, 0x48, 0x05, D32(0xffffffff)); /* add rax, -1 */
	check_ok(&r, &c, CODE_LA + 6);
	assert_int_equal(c.gpr[RAX], 0x17d);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0xff00000000ULL | 0x1234;
	r = RUN(&c, 0x66, 0x35, D16(0xffff)); /* xor ax, 0xffff */
	check_ok(&r, &c, CODE_LA + 4);
	assert_int_equal(c.gpr[RAX], 0xff0000edcbULL);
	c.rip = CODE_LA;
	r = RUN(&c, 0xa8, 0x30); /* test al, 0x30 */
	check_ok(&r, &c, CODE_LA + 2);
	assert_true(c.rflags & ZF);

	/* 82 is an alias of 80 outside 64-bit mode only. */
	c = new_cpu(32);
	c.gpr[RCX] = MMIO_LO;
	mem_put(MMIO_LO, 1, 0xfe);
	r = RUN(&c, 0x82, 0x01, 0x03);
	check_ok(&r, &c, CODE_LA + 3);
	check_log(1, MMIO_LO, 1, 'w', 0x01);
	c = new_cpu(64);
	r = RUN(&c, 0x82, 0x01, 0x03);
	assert_int_equal(r.status, EMU_UNHANDLED);
}

static void test_bt_forms(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RCX] = MMIO_LO + 0x10;
	mem_put(MMIO_LO + 0x14, 4, 0x8);
	c.gpr[RAX] = 35;
	r = RUN(&c, 0x0f, 0xa3, 0x01); /* bt [rcx], eax: bit 3 of the next dword */
	check_ok(&r, &c, CODE_LA + 3);
	assert_int_equal(h.nlog, 1);
	check_log(0, MMIO_LO + 0x14, 4, 'r', 0x8);
	assert_true(c.rflags & CF);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0xffffffff; /* -1: bit 31 of the dword before */
	mem_put(MMIO_LO + 0xc, 4, 0x80000000);
	RUN(&c, 0x0f, 0xa3, 0x01);
	check_log(0, MMIO_LO + 0xc, 4, 'r', 0x80000000);
	assert_true(c.rflags & CF);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0x123400000000fff0ULL; /* -16 as a 16-bit offset */
	RUN(&c, 0x66, 0x0f, 0xa3, 0x01);
	check_log(0, MMIO_LO + 0xe, 2, 'r', 0x8000);
	assert_false(c.rflags & CF);
	c.rip = CODE_LA;
	mem_put(MMIO_LO + 0x10, 4, 0);
	r = RUN(&c, 0x0f, 0xba, 0x29, 0x23); /* bts dword [rcx], 35: imm is taken mod 32 */
	check_ok(&r, &c, CODE_LA + 4);
	assert_string_equal(r.mnemonic, "bts");
	check_log(0, MMIO_LO + 0x10, 4, 'r', 0);
	check_log(1, MMIO_LO + 0x10, 4, 'w', 0x8);
	c.rip = CODE_LA;
	r = RUN(&c, 0xf0, 0x0f, 0xba, 0x31, 0x03); /* lock btr dword [rcx], 3 */
	check_ok(&r, &c, CODE_LA + 5);
	check_log(1, MMIO_LO + 0x10, 4, 'w', 0);
	assert_true(c.rflags & CF);
	c.rip = CODE_LA;
	r = RUN(&c, 0x48, 0x0f, 0xba, 0x39, 0x3f); /* btc qword [rcx], 63 */
	check_ok(&r, &c, CODE_LA + 5);
	check_log(1, MMIO_LO + 0x10, 8, 'w', 0x8000000800000000ULL);
	c.rip = CODE_LA;
	r = RUN(&c, 0x0f, 0xba, 0x21, 0x23); /* bt dword [rcx], 35 */
	check_ok(&r, &c, CODE_LA + 4);
	assert_int_equal(h.nlog, 1);
	c.rip = CODE_LA;
	r = RUN(&c, 0xf0, 0x0f, 0xba, 0x21, 0x23); /* lock bt: #UD */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.vector, VEC_UD);
	assert_int_equal(h.nlog, 0);
	r = RUN(&c, 0x0f, 0xba, 0x01, 0x00); /* 0F BA /0: not an instruction */
	assert_int_equal(r.status, EMU_UNHANDLED);
}

static void test_cmpxchg_memory(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	mem_put(MMIO_LO, 4, 5);
	c.gpr[RBX] = MMIO_LO;
	c.gpr[RAX] = 0xdead00000005ULL;
	c.gpr[RCX] = 9;
	r = RUN(&c, 0x0f, 0xb1, 0x0b); /* cmpxchg [rbx], ecx: equal */
	check_ok(&r, &c, CODE_LA + 3);
	assert_string_equal(r.mnemonic, "cmpxchg");
	assert_true(c.rflags & ZF);
	assert_int_equal(c.gpr[RAX], 0xdead00000005ULL); /* accumulator not written */
	assert_int_equal(h.nlog, 2);
	check_log(1, MMIO_LO, 4, 'w', 9);
	c.rip = CODE_LA;
	r = RUN(&c, 0xf0, 0x0f, 0xb1, 0x0b); /* lock cmpxchg: not equal (9 != 5) */
	check_ok(&r, &c, CODE_LA + 4);
	assert_false(c.rflags & ZF);
	assert_int_equal(c.gpr[RAX], 9);
	check_log(0, MMIO_LO, 4, 'r', 9);
	check_log(1, MMIO_LO, 4, 'w', 9); /* write cycle with the old value */
	c.rip = CODE_LA;
	c.gpr[RCX] = 0x77;
	r = RUN(&c, 0x0f, 0xb0, 0x0b); /* cmpxchg byte [rbx], cl: equal */
	check_ok(&r, &c, CODE_LA + 3);
	check_log(1, MMIO_LO, 1, 'w', 0x77);
	c.rip = CODE_LA;
	r = RUN(&c, 0xf0, 0x0f, 0xb1, 0xcb); /* lock cmpxchg ebx, ecx: #UD */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.vector, VEC_UD);
}

/* CMPXCHG8B m64 on a device (a PAE page-table update through a self-map is the same path with
 * RAM): equal and not-equal, only ZF changes, the write cycle on failure; REX.W (CMPXCHG16B)
 * and a register operand are refused. */
static void test_cmpxchg8b(void **state)
{
	struct emu_cpu c = new_cpu(32);
	struct emu_result r;
	(void)state;
	mem_put(MMIO_LO, 8, 0x1111222233334444ULL);
	c.gpr[RBX] = 0x55556666;
	c.gpr[RCX] = 0x77778888;
	c.gpr[RDX] = 0x11112222;
	c.gpr[RAX] = 0x33334444;
	c.gpr[RSI] = MMIO_LO;
	c.rflags = CF | 2;
	r = RUN(&c, 0xf0, 0x0f, 0xc7, 0x0e); /* lock cmpxchg8b [esi]: equal */
	check_ok(&r, &c, CODE_LA + 4);
	assert_string_equal(r.mnemonic, "cmpxchg8b");
	assert_true(c.rflags & ZF);
	assert_true(c.rflags & CF); /* other flags unchanged */
	assert_int_equal(h.nlog, 2);
	check_log(0, MMIO_LO, 8, 'r', 0x1111222233334444ULL);
	check_log(1, MMIO_LO, 8, 'w', 0x7777888855556666ULL);
	c.rip = CODE_LA;
	r = RUN(&c, 0x0f, 0xc7, 0x0e); /* not equal now: EDX:EAX gets the memory value */
	check_ok(&r, &c, CODE_LA + 3);
	assert_false(c.rflags & ZF);
	assert_int_equal(c.gpr[RDX], 0x77778888);
	assert_int_equal(c.gpr[RAX], 0x55556666);
	check_log(1, MMIO_LO, 8, 'w', 0x7777888855556666ULL); /* written back unchanged */
	c.rip = CODE_LA;
	r = RUN(&c, 0x0f, 0xc7, 0xce); /* register operand: refused (the hypervisor injects #UD) */
	assert_int_equal(r.status, EMU_UNHANDLED);
	struct emu_cpu c64 = new_cpu(64);
	c64.gpr[RSI] = MMIO_LO;
	r = RUN(&c64, 0x48, 0x0f, 0xc7, 0x0e); /* cmpxchg16b: not emulated */
	assert_int_equal(r.status, EMU_UNHANDLED);
}

static void test_inc_dec_short_forms(void **state)
{
	struct emu_cpu c = new_cpu(32);
	struct emu_result r;
	(void)state;
	c.gpr[RDX] = 0xffffffff;
	c.rflags = 0x2 | CF;
	r = RUN(&c, 0x42); /* inc edx */
	check_ok(&r, &c, CODE_LA + 1);
	assert_string_equal(r.mnemonic, "inc");
	assert_int_equal(c.gpr[RDX], 0);
	assert_int_equal(c.rflags & ARITH, CF | ZF | PF | AF);
	c = new_cpu(16);
	c.gpr[RDI] = 0x12340000;
	r = RUN(&c, 0x4f); /* dec di */
	check_ok(&r, &c, 0x101);
	assert_int_equal(c.gpr[RDI], 0x1234ffff);
}

/* ---- One instruction per family in each mode, with and without 66 ---- */

/* Family member of test_mode_matrix: opcode bytes, ModRM.reg, whether an operand-size
 * immediate follows, and the expected MMIO accesses ("r", "rw", "w"; byte-sized for MOVZX). */
struct family {
	const char *name;
	u8 op[2];
	int oplen;
	u8 reg;
	bool imm;
	const char *acc;
};

static const struct family families[] = {
	{ "mov", { 0x89 }, 1, RAX, false, "w" },
	{ "add", { 0x01 }, 1, RAX, false, "rw" },
	{ "cmp", { 0x39 }, 1, RAX, false, "r" },
	{ "xchg", { 0x87 }, 1, RAX, false, "rw" },
	{ "movzx", { 0x0f, 0xb6 }, 2, RAX, false, "r" },
	{ "bts", { 0x0f, 0xab }, 2, RCX, false, "rw" },
	{ "inc", { 0xff }, 1, 0, false, "rw" },
	{ "neg", { 0xf7 }, 1, 3, false, "rw" },
	{ "test", { 0xf7 }, 1, 0, true, "r" },
	{ "mov", { 0xc7 }, 1, 0, true, "w" },
	{ "cmpxchg", { 0x0f, 0xb1 }, 2, RCX, false, "rw" },
};

/* The memory value family f leaves, from the old value m, RAX, RCX (= 3) and imm. */
static u64 family_result(size_t f, u64 m, u64 rax, u64 imm, u64 mask)
{
	switch (f) {
	case 0: case 3: return rax & mask;
	case 1: return (m + rax) & mask;
	case 5: return (m | 8) & mask;
	case 6: return (m + 1) & mask;
	case 7: return (0 - m) & mask;
	case 9: return imm & mask;
	default: return m & mask; /* CMPXCHG: RAX differs, write cycle with the old value */
	}
}

static void run_family(int mode, bool p66, size_t f)
{
	const struct family *fm = &families[f];
	int os = (mode == 16) != p66 ? 2 : 4;
	u64 mask = os == 2 ? 0xffff : 0xffffffffULL, la = MMIO_LO + 0x10;
	u64 m = 0x0102030405060708ULL, rax = 0x112233448899aab0ULL, imm = 0x8badf00dULL;
	u64 want = family_result(f, m, rax, imm, mask);
	struct emu_cpu c = new_cpu(mode);
	struct emu_result r;
	u8 code[16];
	size_t n = 0;
	bool rd = strchr(fm->acc, 'r') != NULL, wr = strchr(fm->acc, 'w') != NULL;
	if (p66)
		code[n++] = 0x66;
	memcpy(code + n, fm->op, (size_t)fm->oplen);
	n += (size_t)fm->oplen;
	code[n++] = (u8)(fm->reg << 3 | (mode == 16 ? 7 : 3)); /* [bx] or [ebx]/[rbx] */
	for (int i = 0; fm->imm && i < os; i++)
		code[n++] = (u8)(imm >> (8 * i));
	if (mode == 16)
		c.seg_base[EMU_DS] = MMIO_LO;
	c.gpr[RBX] = mode == 16 ? 0x10 : la;
	c.gpr[RAX] = rax;
	c.gpr[RCX] = 3;
	mem_put(la, 8, m);
	r = run_code(&c, code, n);
	if (r.status != EMU_OK || c.rip != (mode == 16 ? 0x100 : CODE_LA) + n ||
	    h.nlog != (int)strlen(fm->acc) || strcmp(r.mnemonic, fm->name) ||
	    (h.nlog && (h.log[0].la != la || h.log[0].size != (f == 4 ? 1 : os) ||
			h.log[0].dir != fm->acc[0])) ||
	    (wr && (h.log[rd].size != os || (mem_get(la, os) != want))) ||
	    mem_get(la + (u64)os, 8 - os) != m >> (8 * os))
		fail_msg("%s mode %d 66=%d: st %d rip %#llx nlog %d mem %#llx want %#llx",
			 fm->name, mode, p66, r.status, c.rip, h.nlog, mem_get(la, os), want);
	if (f == 4) /* movzx: 16-bit destination merges, 32-bit zero-extends */
		assert_int_equal(c.gpr[RAX], os == 2 ? (rax & ~0xffffULL) | 0x08 : 0x08);
	if (f == 3)
		assert_int_equal(c.gpr[RAX], os == 2 ? (rax & ~0xffffULL) | 0x0708 : 0x05060708);
}

static void test_mode_matrix(void **state)
{
	static const int modes[] = { 16, 32, 64 };
	(void)state;
	for (size_t mi = 0; mi < ARRAY_SIZE(modes); mi++)
		for (int p = 0; p < 2; p++)
			for (size_t f = 0; f < ARRAY_SIZE(families); f++)
				run_family(modes[mi], p, f);
}

/* ---- String instructions ---- */

static void test_rep_movs_mmio_to_ram(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	for (int i = 0; i < 16; i++)
		h.mem[MMIO_LO + i] = (u8)(0xa0 + i);
	c.gpr[RSI] = MMIO_LO;
	c.gpr[RDI] = 0x1000;
	c.gpr[RCX] = 4;
	r = RUN(&c, 0xf3, 0xa5); /* rep movsd */
	check_ok(&r, &c, CODE_LA + 2);
	assert_string_equal(r.mnemonic, "rep movs");
	assert_int_equal(h.nlog, 4);
	for (int i = 0; i < 4; i++)
		check_log(i, MMIO_LO + 4 * (u64)i, 4, 'r', mem_get(MMIO_LO + 4 * (u64)i, 4));
	assert_memory_equal(h.mem + 0x1000, h.mem + MMIO_LO, 16);
	assert_int_equal(c.gpr[RSI], MMIO_LO + 16);
	assert_int_equal(c.gpr[RDI], 0x1010);
	assert_int_equal(c.gpr[RCX], 0);

	/* DF=1, bytes, backwards */
	c = new_cpu(64);
	for (int i = 0; i < 16; i++)
		h.mem[MMIO_LO + i] = (u8)(0xa0 + i);
	c.rflags |= DF;
	c.gpr[RSI] = MMIO_LO + 15;
	c.gpr[RDI] = 0x100f;
	c.gpr[RCX] = 3;
	r = RUN(&c, 0xf3, 0xa4); /* rep movsb */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(h.nlog, 3);
	check_log(0, MMIO_LO + 15, 1, 'r', 0xaf);
	check_log(1, MMIO_LO + 14, 1, 'r', 0xae);
	check_log(2, MMIO_LO + 13, 1, 'r', 0xad);
	assert_int_equal(mem_get(0x100d, 3), 0xafaead);
	assert_int_equal(c.gpr[RSI], MMIO_LO + 12);
	assert_int_equal(c.gpr[RDI], 0x100c);
	assert_int_equal(c.gpr[RCX], 0);
}

static void test_rep_movs_ram_to_mmio(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	for (int i = 0; i < 32; i++)
		h.mem[0x2000 + i] = (u8)i;
	c.rflags |= DF;
	c.gpr[RSI] = 0x2018;
	c.gpr[RDI] = MMIO_LO + 0x18;
	c.gpr[RCX] = 3;
	r = RUN(&c, 0xf3, 0x48, 0xa5); /* rep movsq, DF=1 */
	check_ok(&r, &c, CODE_LA + 3);
	assert_int_equal(h.nlog, 3);
	check_log(0, MMIO_LO + 0x18, 8, 'w', mem_get(0x2018, 8));
	check_log(1, MMIO_LO + 0x10, 8, 'w', mem_get(0x2010, 8));
	check_log(2, MMIO_LO + 0x08, 8, 'w', mem_get(0x2008, 8));
	assert_int_equal(c.gpr[RSI], 0x2000);
	assert_int_equal(c.gpr[RDI], MMIO_LO);
	assert_int_equal(c.gpr[RCX], 0);

	/* DF=0, words */
	c = new_cpu(64);
	mem_put(0x2000, 8, 0x4444333322221111ULL);
	c.gpr[RSI] = 0x2000;
	c.gpr[RDI] = MMIO_LO + 0x100;
	c.gpr[RCX] = 4;
	r = RUN(&c, 0xf3, 0x66, 0xa5); /* rep movsw */
	check_ok(&r, &c, CODE_LA + 3);
	assert_int_equal(h.nlog, 4);
	for (int i = 0; i < 4; i++)
		check_log(i, MMIO_LO + 0x100 + 2 * (u64)i, 2, 'w', 0x1111 * (u64)(i + 1));
	assert_int_equal(h.ram_reads, 4);
	assert_int_equal(c.gpr[RSI], 0x2008);
	assert_int_equal(c.gpr[RDI], MMIO_LO + 0x108);

	/* a 16-bit MOVSW in 32-bit code, no REP, source segment override, ES destination */
	c = new_cpu(32);
	for (int i = 0; i < 32; i++)
		h.mem[0x2000 + i] = (u8)i;
	c.seg_base[EMU_DS] = 0x100;
	c.seg_base[EMU_FS] = 0x200;
	c.seg_base[EMU_ES] = MMIO_LO;
	c.gpr[RSI] = 0x2000 - 0x200;
	c.gpr[RDI] = 0x40;
	c.gpr[RCX] = 7;
	r = RUN(&c, 0x64, 0x66, 0xa5); /* movs word es:[edi], fs:[esi] */
	check_ok(&r, &c, CODE_LA + 3);
	assert_string_equal(r.mnemonic, "movs");
	check_log(0, MMIO_LO + 0x40, 2, 'w', 0x0100);
	assert_int_equal(c.gpr[RSI], 0x2000 - 0x200 + 2);
	assert_int_equal(c.gpr[RDI], 0x42);
	assert_int_equal(c.gpr[RCX], 7);
	c.rip = CODE_LA;
	c.gpr[RSI] = 0x80;
	mem_put(MMIO_LO + 0x80, 1, 0x5e);
	r = RUN(&c, 0x26, 0xa4); /* es: override on the source only */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(h.nlog, 2);
	check_log(0, MMIO_LO + 0x80, 1, 'r', 0x5e);
	check_log(1, MMIO_LO + 0x42, 1, 'w', 0x5e);
}

static void test_rep_stos_and_address_size(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RAX] = 0x1122334455667788ULL;
	c.gpr[RDI] = MMIO_LO;
	c.gpr[RCX] = 3;
	r = RUN(&c, 0xf3, 0xab); /* rep stosd */
	check_ok(&r, &c, CODE_LA + 2);
	assert_string_equal(r.mnemonic, "rep stos");
	assert_int_equal(h.nlog, 3);
	for (int i = 0; i < 3; i++)
		check_log(i, MMIO_LO + 4 * (u64)i, 4, 'w', 0x55667788);
	assert_int_equal(c.gpr[RDI], MMIO_LO + 12);

	/* 67: ECX/EDI, whose 32-bit updates zero-extend */
	c = new_cpu(64);
	c.gpr[RAX] = 0x5a;
	c.gpr[RDI] = 0xabcd00000000ULL | MMIO_LO;
	c.gpr[RCX] = 0x7777000000000002ULL;
	r = RUN(&c, 0x67, 0xf3, 0xaa); /* rep stosb with address size 32 */
	check_ok(&r, &c, CODE_LA + 3);
	assert_int_equal(h.nlog, 2);
	check_log(1, MMIO_LO + 1, 1, 'w', 0x5a);
	assert_int_equal(c.gpr[RDI], MMIO_LO + 2);
	assert_int_equal(c.gpr[RCX], 0);

	/* 16-bit: DI wraps at 64 KiB, CX merges */
	c = new_cpu(16);
	c.gpr[RAX] = 0x66;
	c.gpr[RDI] = 0x5550fffe;
	c.gpr[RCX] = 0x44440003;
	r = RUN(&c, 0xf3, 0xaa); /* rep stosb */
	check_ok(&r, &c, 0x102);
	assert_int_equal(h.ram_writes, 3);
	assert_int_equal(h.mem[0xfffe] + h.mem[0xffff] + h.mem[0], 3 * 0x66);
	assert_int_equal(c.gpr[RDI], 0x55500001);
	assert_int_equal(c.gpr[RCX], 0x44440000);

	/* a zero count does nothing but advance RIP */
	c = new_cpu(64);
	c.gpr[RDI] = MMIO_LO;
	r = RUN(&c, 0xf3, 0xab);
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(h.nlog, 0);
	assert_int_equal(c.gpr[RDI], MMIO_LO);
}

static void test_lods(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	mem_put(MMIO_LO, 8, 0x8877665544332211ULL);
	c.gpr[RSI] = MMIO_LO;
	c.gpr[RAX] = ~0ULL;
	r = RUN(&c, 0xad); /* lodsd */
	check_ok(&r, &c, CODE_LA + 1);
	assert_string_equal(r.mnemonic, "lods");
	assert_int_equal(c.gpr[RAX], 0x44332211);
	assert_int_equal(c.gpr[RSI], MMIO_LO + 4);
	c.rip = CODE_LA;
	c.gpr[RCX] = 3;
	r = RUN(&c, 0xf3, 0xac); /* rep lodsb: reads each element */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(h.nlog, 3);
	assert_int_equal(c.gpr[RAX], 0x44332277);
	assert_int_equal(c.gpr[RSI], MMIO_LO + 7);
	c.rip = CODE_LA;
	c.gpr[RSI] = MMIO_LO;
	c.seg_base[EMU_GS] = 0;
	r = RUN(&c, 0x65, 0x48, 0xad); /* lodsq gs: */
	check_ok(&r, &c, CODE_LA + 3);
	assert_int_equal(c.gpr[RAX], 0x8877665544332211ULL);
}

static void test_repe_cmps(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	memcpy(h.mem + MMIO_LO, "abcdXfgh", 8);
	memcpy(h.mem + 0x3000, "abcdefgh", 8);
	c.gpr[RSI] = 0x3000;
	c.gpr[RDI] = MMIO_LO;
	c.gpr[RCX] = 8;
	r = RUN(&c, 0xf3, 0xa6); /* repe cmpsb: stops after the mismatch */
	check_ok(&r, &c, CODE_LA + 2);
	assert_string_equal(r.mnemonic, "repe cmps");
	assert_int_equal(c.gpr[RCX], 3);
	assert_int_equal(c.gpr[RSI], 0x3005);
	assert_int_equal(c.gpr[RDI], MMIO_LO + 5);
	assert_int_equal(h.nlog, 5);
	/* 'e' - 'X' = 0x0d: no borrow out, a borrow from bit 4 (5 - 8) */
	assert_int_equal(c.rflags & ARITH, AF);
	c.rip = CODE_LA;
	c.gpr[RSI] = 0x3000;
	c.gpr[RDI] = MMIO_LO;
	c.gpr[RCX] = 4;
	r = RUN(&c, 0xf3, 0xa6); /* all equal: runs out of count */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RCX], 0);
	assert_true(c.rflags & ZF);
	c.rip = CODE_LA;
	c.gpr[RSI] = 0x3000;
	c.gpr[RDI] = MMIO_LO;
	c.gpr[RCX] = 8;
	r = RUN(&c, 0xf2, 0xa6); /* repne cmpsb: stops at the first equal */
	check_ok(&r, &c, CODE_LA + 2);
	assert_string_equal(r.mnemonic, "repne cmps");
	assert_int_equal(c.gpr[RCX], 7);
	c.rip = CODE_LA;
	c.gpr[RSI] = 0x3000;
	c.gpr[RDI] = MMIO_LO;
	r = RUN(&c, 0xa7); /* cmpsd, one iteration */
	check_ok(&r, &c, CODE_LA + 1);
	assert_int_equal(c.gpr[RSI], 0x3004);
	assert_true(c.rflags & ZF);
}

static void test_repne_scas(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	memcpy(h.mem + MMIO_LO, "hello\0world", 12);
	c.gpr[RAX] = 0x1200; /* AL = 0 */
	c.gpr[RDI] = MMIO_LO;
	c.gpr[RCX] = ~0ULL;
	r = RUN(&c, 0xf2, 0xae); /* repne scasb: strlen */
	check_ok(&r, &c, CODE_LA + 2);
	assert_string_equal(r.mnemonic, "repne scas");
	assert_int_equal(c.gpr[RDI], MMIO_LO + 6);
	assert_int_equal(c.gpr[RCX], ~0ULL - 6);
	assert_true(c.rflags & ZF);
	assert_int_equal(h.nlog, 6);
	c.rip = CODE_LA;
	c.gpr[RAX] = 'h';
	c.gpr[RDI] = MMIO_LO;
	c.gpr[RCX] = 5;
	r = RUN(&c, 0xf3, 0xae); /* repe scasb: stops at the first non-'h' */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RCX], 3);
	assert_false(c.rflags & ZF);
	c.rip = CODE_LA;
	c.gpr[RAX] = 0x6c6c6568ULL; /* "hell" */
	c.gpr[RDI] = MMIO_LO;
	r = RUN(&c, 0xaf); /* scasd */
	check_ok(&r, &c, CODE_LA + 1);
	assert_true(c.rflags & ZF);
	assert_int_equal(c.gpr[RDI], MMIO_LO + 4);
}

static void test_ins_outs(void **state)
{
	struct emu_cpu c = new_cpu(32);
	struct emu_result r;
	(void)state;
	h.pio_in_val = 0xabcd1230;
	c.gpr[RDX] = 0xffff03f8; /* port: DX only */
	c.gpr[RDI] = MMIO_LO;
	c.gpr[RCX] = 3;
	r = RUN(&c, 0xf3, 0x6c); /* rep insb */
	check_ok(&r, &c, CODE_LA + 2);
	assert_string_equal(r.mnemonic, "rep ins");
	assert_int_equal(h.nplog, 3);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(h.plog[i].port, 0x3f8);
		assert_int_equal(h.plog[i].size, 1);
		assert_int_equal(h.plog[i].dir, 'i');
		check_log(i, MMIO_LO + (u64)i, 1, 'w', 0x30 + (u64)i);
	}
	assert_int_equal(c.gpr[RDI], MMIO_LO + 3);
	c.rip = CODE_LA;
	h.pio_in_val = 0xabcd1230;
	c.gpr[RDI] = 0x1000;
	c.gpr[RCX] = 2;
	r = RUN(&c, 0xf3, 0x66, 0x6d); /* rep insw into RAM */
	check_ok(&r, &c, CODE_LA + 3);
	assert_int_equal(mem_get(0x1000, 4), 0x12311230);

	c = new_cpu(64);
	mem_put(0x1000, 8, 0x1111222233334444ULL);
	c.rflags |= DF;
	c.gpr[RDX] = 0x80;
	c.gpr[RSI] = 0x1002;
	c.gpr[RCX] = 2;
	r = RUN(&c, 0xf3, 0x66, 0x6f); /* rep outsw, DF=1 */
	check_ok(&r, &c, CODE_LA + 3);
	assert_string_equal(r.mnemonic, "rep outs");
	assert_int_equal(h.nplog, 2);
	assert_int_equal(h.plog[0].val, 0x3333);
	assert_int_equal(h.plog[1].val, 0x4444);
	assert_int_equal(h.plog[1].size, 2);
	assert_int_equal(c.gpr[RSI], 0x0ffe);
	c.rip = CODE_LA;
	c.rflags &= ~DF;
	c.gpr[RSI] = 0x1000;
	r = RUN(&c, 0x48, 0x6f); /* outsd: REX.W leaves 32 bits */
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(h.plog[0].size, 4);
	assert_int_equal(h.plog[0].val, 0x33334444);
	assert_int_equal(c.gpr[RSI], 0x1004);
	c.rip = CODE_LA;
	c.seg_base[EMU_FS] = MMIO_LO - 0x1000;
	c.gpr[RSI] = 0x1000;
	RUN(&c, 0x64, 0x6e); /* outsb fs: */
	check_log(0, MMIO_LO, 1, 'r', 0);
}

static void test_rep_iteration_cap(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RAX] = 0x5a;
	c.gpr[RDI] = 0x1000;
	c.gpr[RCX] = EMU_REP_MAX_ITER + 100;
	r = RUN(&c, 0xf3, 0xaa); /* rep stosb */
	assert_int_equal(r.status, EMU_OK);
	assert_int_equal(c.rip, CODE_LA); /* re-executes */
	assert_int_equal(c.gpr[RCX], 100);
	assert_int_equal(c.gpr[RDI], 0x1000 + EMU_REP_MAX_ITER);
	assert_int_equal(h.ram_writes, EMU_REP_MAX_ITER);
	r = RUN(&c, 0xf3, 0xaa);
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RCX], 0);
	assert_int_equal(c.gpr[RDI], 0x1000 + EMU_REP_MAX_ITER + 100);

	/* exactly the cap: finishes */
	c = new_cpu(64);
	c.gpr[RDI] = 0x1000;
	c.gpr[RCX] = EMU_REP_MAX_ITER;
	r = RUN(&c, 0xf3, 0xaa);
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RCX], 0);

	/* REPNE SCAS that finds its byte at the cap boundary ends (RIP advances) */
	c = new_cpu(64);
	memset(h.mem + 0x1000, 1, EMU_REP_MAX_ITER);
	h.mem[0x1000 + EMU_REP_MAX_ITER - 1] = 0;
	c.gpr[RDI] = 0x1000;
	c.gpr[RCX] = 3 * EMU_REP_MAX_ITER;
	r = RUN(&c, 0xf2, 0xae);
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.gpr[RCX], 2 * EMU_REP_MAX_ITER);

	/* the MMIO-read to RAM copy over the cap, resumed */
	c = new_cpu(64);
	c.gpr[RSI] = MMIO_LO;
	c.gpr[RDI] = 0;
	c.gpr[RCX] = EMU_REP_MAX_ITER + 1;
	c.rflags |= DF;
	c.gpr[RSI] = MMIO_LO + 0xfff;
	c.gpr[RDI] = 0x1fff;
	r = RUN(&c, 0xf3, 0xa4);
	assert_int_equal(r.status, EMU_OK);
	assert_int_equal(c.rip, CODE_LA);
	assert_int_equal(h.nlog, EMU_REP_MAX_ITER);
	check_log(EMU_REP_MAX_ITER - 1, MMIO_LO, 1, 'r', 0);
	assert_int_equal(c.gpr[RCX], 1);
	assert_int_equal(c.gpr[RSI], MMIO_LO - 1);
}

static void test_string_fault_midway(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	h.fault_lo = 0x1003;
	h.fault_hi = 0x1004;
	c.gpr[RSI] = MMIO_LO;
	c.gpr[RDI] = 0x1000;
	c.gpr[RCX] = 10;
	r = RUN(&c, 0xf3, 0xa4); /* rep movsb: the 4th write faults */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.vector, VEC_PF);
	assert_true(r.has_error);
	assert_int_equal(r.error, 2);
	assert_int_equal(r.cr2, 0x1003);
	assert_int_equal(c.rip, CODE_LA);
	assert_int_equal(c.gpr[RCX], 7);
	assert_int_equal(c.gpr[RSI], MMIO_LO + 3);
	assert_int_equal(c.gpr[RDI], 0x1003);
	assert_int_equal(h.nlog, 4); /* the 4th MMIO read happened: as on hardware */
}

static void test_string_unhandled_prefixes(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RCX] = 2;
	r = RUN(&c, 0xf2, 0xa4); /* repne movsb: not architectural */
	assert_int_equal(r.status, EMU_UNHANDLED);
	assert_int_equal(c.gpr[RCX], 2);
	r = RUN(&c, 0xf0, 0xa4); /* lock movsb */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.vector, VEC_UD);
}

/* ---- Faults and refusals ---- */

static void test_unknown_opcode(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_cpu before;
	struct emu_result r;
	(void)state;
	before = c;
	r = RUN(&c, 0x66, 0x0f, 0xa2); /* cpuid */
	assert_int_equal(r.status, EMU_UNHANDLED);
	assert_int_equal(r.len, 3);
	assert_memory_equal(r.bytes, ((const u8[]){ 0x66, 0x0f, 0xa2 }), 3);
	assert_memory_equal(&c, &before, sizeof(c));
	r = RUN(&c, 0xf7, 0x31); /* div dword [rcx]: group member not emulated */
	assert_int_equal(r.status, EMU_UNHANDLED);
	assert_int_equal(r.len, 2);
	assert_int_equal(r.bytes[1], 0x31);
	r = RUN(&c, 0x41, 0xf4); /* rex + hlt */
	assert_int_equal(r.status, EMU_UNHANDLED);
	assert_int_equal(r.len, 2);
	r = RUN(&c, 0xf3, 0x0f, 0xb8, 0xc1); /* popcnt: F3 on the 0F map */
	assert_int_equal(r.status, EMU_UNHANDLED);
	r = RUN(&c, 0xf3, 0x0f, 0xb6, 0x01); /* F3 movzx: refused rather than guessed */
	assert_int_equal(r.status, EMU_UNHANDLED);
	r = RUN(&c, 0x0f, 0x38, 0x00, 0xc1); /* three-byte map */
	assert_int_equal(r.status, EMU_UNHANDLED);
	assert_int_equal(h.nlog, 0);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_fault_on_read(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_cpu before;
	struct emu_result r;
	(void)state;
	h.fault_lo = 0x5000;
	h.fault_hi = 0x6000;
	c.gpr[RCX] = 0x4ffe;
	c.rflags = 0x2 | CF;
	before = c;
	r = RUN(&c, 0x03, 0x01); /* add eax, [rcx]: the read crosses into the faulting page */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.vector, VEC_PF);
	assert_true(r.has_error);
	assert_int_equal(r.error, 0);
	assert_int_equal(r.cr2, 0x5000);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_fault_on_write_no_partial_update(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_cpu before;
	struct emu_result r;
	(void)state;
	h.fault_lo = 0x5000;
	h.fault_hi = 0x6000;
	h.fault_writes_only = true;
	c.gpr[RCX] = 0x5000;
	c.gpr[RAX] = 0x1234;
	c.gpr[RSP] = 0x8000;
	before = c;
	r = RUN(&c, 0x87, 0x01); /* xchg [rcx], eax: write faults */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.error, 2);
	assert_memory_equal(&c, &before, sizeof(c));
	r = RUN(&c, 0x8f, 0x01); /* pop [rcx]: RSP must not move */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_memory_equal(&c, &before, sizeof(c));
	c.gpr[RSP] = 0x5008;
	before = c;
	c.gpr[RCX] = MMIO_LO;
	before.gpr[RCX] = MMIO_LO;
	r = RUN(&c, 0xff, 0x31); /* push [rcx]: the stack write faults after the MMIO read */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.cr2, 0x5000);
	assert_memory_equal(&c, &before, sizeof(c));
	r = RUN(&c, 0x0f, 0xb1, 0x0b); /* cmpxchg [rbx=0]: fine, then a faulting one */
	assert_int_equal(r.status, EMU_OK);
	c = before;
	c.gpr[RBX] = 0x5000;
	c.gpr[RAX] = 7;
	before = c;
	r = RUN(&c, 0x0f, 0xb1, 0x0b); /* compare fails, accumulator unchanged on the fault */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_memory_equal(&c, &before, sizeof(c));
}

static void test_fault_on_fetch(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_cpu before;
	struct emu_result r;
	(void)state;
	h.fetch_fault_la = CODE_LA + 4;
	before = c;
	r = RUN(&c, 0x8b, 0x04, 0x8d, D32(MMIO_LO)); /* the disp32 crosses into the bad page */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.vector, VEC_PF);
	assert_int_equal(r.error, 0x10);
	assert_true(r.cr2 >= CODE_LA + 4);
	assert_memory_equal(&c, &before, sizeof(c));
	assert_int_equal(h.nlog, 0);
	h.fetch_fault_la = CODE_LA + 2;
	c.gpr[RCX] = MMIO_LO;
	r = RUN(&c, 0x89, 0x01); /* a 2-byte instruction right before the bad byte is fine */
	assert_int_equal(r.status, EMU_OK);
	assert_int_equal(r.len, 2);
}

static void test_lock_rules(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_cpu before;
	struct emu_result r;
	(void)state;
	c.gpr[RCX] = MMIO_LO;
	before = c;
	r = RUN(&c, 0xf0, 0x01, 0xc8); /* lock add eax, ecx */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.vector, VEC_UD);
	assert_string_equal(r.mnemonic, "add");
	assert_false(r.has_error);
	assert_memory_equal(&c, &before, sizeof(c));
	r = RUN(&c, 0xf0, 0x39, 0x01); /* lock cmp [rcx], eax */
	assert_int_equal(r.vector, VEC_UD);
	r = RUN(&c, 0xf0, 0x03, 0x01); /* lock add eax, [rcx]: destination is a register */
	assert_int_equal(r.vector, VEC_UD);
	r = RUN(&c, 0xf0, 0x89, 0x01); /* lock mov */
	assert_int_equal(r.vector, VEC_UD);
	r = RUN(&c, 0xf0, 0xf7, 0x01, D32(1)); /* lock test */
	assert_int_equal(r.vector, VEC_UD);
	assert_int_equal(h.nlog, 0);
	r = RUN(&c, 0xf0, 0x80, 0x09, 0x01); /* lock or byte [rcx], 1 */
	check_ok(&r, &c, CODE_LA + 4);
	c.rip = CODE_LA;
	r = RUN(&c, 0xf0, 0xf6, 0x19); /* lock neg byte [rcx] */
	check_ok(&r, &c, CODE_LA + 3);
}

static void test_too_long(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RCX] = MMIO_LO;
	r = RUN(&c, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x2e, 0x3e,
		0x89, 0x01); /* exactly 15 bytes */
	check_ok(&r, &c, CODE_LA + 15);
	c.rip = CODE_LA;
	r = RUN(&c, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x2e, 0x3e,
		0x67, 0x89, 0x01); /* 16 bytes */
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.vector, VEC_GP);
	assert_true(r.has_error);
	assert_int_equal(r.error, 0);
	assert_int_equal(c.rip, CODE_LA);
	assert_true(h.fetch_hi <= 15);
	c.rip = CODE_LA;
	r = RUN(&c, 0x48, 0x66, 0x89, 0x01); /* REX before a legacy prefix is ignored: 16-bit */
	check_ok(&r, &c, CODE_LA + 4);
	check_log(0, MMIO_LO, 2, 'w', 0);
}

static void test_non_canonical(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.gpr[RCX] = 0x0000800000000000ULL;
	r = RUN(&c, 0x8b, 0x01);
	assert_int_equal(r.status, EMU_EXCEPTION);
	assert_int_equal(r.vector, VEC_GP);
	assert_int_equal(r.error, 0);
	c.gpr[RBP] = 0x0000800000000000ULL;
	r = RUN(&c, 0x8b, 0x45, 0x00); /* rbp-based: #SS */
	assert_int_equal(r.vector, VEC_SS);
	c.gpr[RCX] = 0xffff800000000000ULL;
	r = RUN(&c, 0x8b, 0x01); /* canonical, but outside the test memory: #PF from the ops */
	assert_int_equal(r.vector, VEC_PF);
}

/* ---- The MOV fast path's decoder (emu_decode_mov) against emu_step ---- */

/* Addressing forms (32/64-bit): mod, r/m and, for r/m 100b, the SIB byte. With REX.B/X the
 * base/index registers become r8-r15; the test points them into the MMIO range. */
struct dm_form {
	u8 mod, rm, sib;
};

static const struct dm_form dm_forms[] = {
	{ 0, 0, 0 }, { 0, 3, 0 }, { 0, 6, 0 }, { 0, 7, 0 }, /* [base] */
	{ 1, 1, 0 }, { 1, 5, 0 },                           /* [base + disp8], [rbp + disp8] */
	{ 2, 2, 0 }, { 2, 5, 0 },                           /* [base + disp32] */
	{ 0, 5, 0 },                                        /* disp32; RIP-relative in 64-bit */
	{ 0, 4, 0x8b }, /* [rbx + rcx*4] */
	{ 1, 4, 0x70 }, /* [rax + rsi*2 + disp8] */
	{ 2, 4, 0xd7 }, /* [rdi + rdx*8 + disp32] */
	{ 0, 4, 0x24 }, /* [rsp] (index 100b: none, r12 with REX.X) */
	{ 1, 4, 0x65 }, /* [rbp + disp8], index none */
	{ 0, 4, 0x4d }, /* SIB without base: [rcx*2 + disp32] */
	{ 0, 4, 0x25 }, /* SIB without base or index: [disp32] */
};

#define DM_TARGET (MMIO_LO + 0x300)

/* The opcodes emu_decode_mov accepts. */
static const struct {
	u8 op[2];
	int n;
	bool imm;
} dm_ops[] = {
	{ { 0x88 }, 1, false }, { { 0x89 }, 1, false }, { { 0x8a }, 1, false },
	{ { 0x8b }, 1, false }, { { 0xc6 }, 1, true },  { { 0xc7 }, 1, true },
	{ { 0x0f, 0xb6 }, 2, false }, { { 0x0f, 0xb7 }, 2, false }, { { 0x86 }, 1, false },
	{ { 0x87 }, 1, false },
};

/* Legacy prefix sets: none, 66, each segment override, and up to three mixed. */
static const struct {
	u8 b[3];
	int n;
} dm_pfx[] = {
	{ { 0 }, 0 },          { { 0x66 }, 1 },       { { 0x26 }, 1 },
	{ { 0x2e }, 1 },       { { 0x36 }, 1 },       { { 0x3e }, 1 },
	{ { 0x64 }, 1 },       { { 0x65 }, 1 },       { { 0x66, 0x3e }, 2 },
	{ { 0x65, 0x66 }, 2 }, { { 0x2e, 0x66, 0x36 }, 3 },
};

static void dm_fail(const u8 *code, int n, int mode, const char *what)
{
	char hex[3 * CODE_MAX + 1] = "";
	for (int i = 0; i < n; i++)
		snprintf(hex + 3 * i, 4, "%02x ", code[i]);
	fail_msg("emu_decode_mov vs emu_step, %d-bit code, bytes %s: %s", mode, hex, what);
}

/* Registers for one case: a pattern in every GPR, then the base (and index) of the form
 * pointing near DM_TARGET. Returns the displacement to encode (RIP-relative: the caller
 * adjusts it once the length is known). */
static u32 dm_regs(struct emu_cpu *c, const struct dm_form *f, u8 rex)
{
	int base = -1, index = -1, scale = 0;
	u32 disp = f->mod == 1 ? 0xf8 /* -8 */ : 0x40;
	for (int r = 0; r < 16; r++)
		c->gpr[r] = 0x8877665544332211ULL ^ ((u64)r * 0x0102030405060708ULL);
	if (f->rm != 4) {
		if (f->mod != 0 || f->rm != 5)
			base = f->rm | (rex & 1 ? 8 : 0);
	} else {
		scale = f->sib >> 6;
		index = ((f->sib >> 3) & 7) | (rex & 2 ? 8 : 0);
		if (index == 4)
			index = -1;
		if (f->mod != 0 || (f->sib & 7) != 5)
			base = (f->sib & 7) | (rex & 1 ? 8 : 0);
	}
	if (index >= 0)
		c->gpr[index] = 0x10;
	if (base >= 0)
		c->gpr[base] = base == index ? DM_TARGET / (1 + (1u << scale)) : DM_TARGET - 0x100;
	if (base < 0 && f->mod == 0)
		disp = (u32)DM_TARGET - (index >= 0 ? (0x10u << scale) : 0);
	return disp;
}

/*
 * One encoding: emu_decode_mov must accept it, and emu_step, run on it with the memory operand
 * in the MMIO range, must advance RIP by the decoded length, make one access of the decoded
 * size and direction, and write the value (stores) or leave the registers (loads) that the
 * decoded form gives through emu_mov_store_value / emu_mov_load_result, as fast_mov uses them.
 */
static void dm_case(const struct emu_cpu *c0, const u8 *pfx, int npfx, u8 rex, int opi, u8 regf,
		    const struct dm_form *f)
{
	struct emu_cpu c = *c0, before;
	int mode = c.mode;
	struct emu_result r;
	struct emu_mov m;
	u8 code[CODE_MAX];
	int n = 0, disp_at, dlen;
	u32 disp = dm_regs(&c, f, rex);
	memset(code, 0xcc, sizeof(code));
	memcpy(code, pfx, (size_t)npfx);
	n = npfx;
	if (rex)
		code[n++] = rex;
	memcpy(code + n, dm_ops[opi].op, (size_t)dm_ops[opi].n);
	n += dm_ops[opi].n;
	code[n++] = (u8)(f->mod << 6 | regf << 3 | f->rm);
	if (f->rm == 4)
		code[n++] = f->sib;
	disp_at = n;
	dlen = f->mod == 1 ? 1 : (f->mod == 2 || f->rm == 5 || (f->sib & 7) == 5) ? 4 : 0;
	n += dlen;
	if (dm_ops[opi].imm) {
		int size = dm_ops[opi].op[0] == 0xc6 ? 1 : (npfx && memchr(pfx, 0x66, (size_t)npfx)
							       && !(rex & 8)) ? 2 : 4;
		memcpy(code + n, (const u8[]){ 0x85, 0xa6, 0xc7, 0x9e }, (size_t)size);
		n += size;
	}
	if (mode == 64 && f->mod == 0 && f->rm == 5)
		disp = (u32)(DM_TARGET - (CODE_LA + (u64)n));
	memcpy(code + disp_at, &disp, (size_t)dlen);

	if (!emu_decode_mov(code, mode == 64, &m))
		dm_fail(code, n, mode, "not decoded");
	if (m.len != n)
		dm_fail(code, n, mode, "decoded length");
	before = c;
	r = run_code(&c, code, (size_t)n);
	if (r.status != EMU_OK || c.rip != before.rip + m.len)
		dm_fail(code, n, mode, "emu_step did not execute it with the same length");
	if (m.xchg) { /* a read, then the write of the register; the old value lands in it */
		if (h.nlog != 2 || h.ram_reads || h.ram_writes || h.log[0].dir != 'r' ||
		    h.log[1].dir != 'w' || h.log[0].size != m.size || h.log[1].size != m.size)
			dm_fail(code, n, mode, "XCHG: not one read and one write of the size");
		if (h.log[1].val != emu_mov_store_value(&m, before.gpr[m.reg]))
			dm_fail(code, n, mode, "XCHG: stored value");
		before.gpr[m.reg] = emu_mov_load_result(&m, before.gpr[m.reg], h.log[0].val);
		if (memcmp(before.gpr, c.gpr, sizeof(c.gpr)))
			dm_fail(code, n, mode, "XCHG: registers after the instruction");
		return;
	}
	if (h.nlog != 1 || h.ram_reads || h.ram_writes)
		dm_fail(code, n, mode, "not exactly one MMIO access");
	if (h.log[0].size != m.size || h.log[0].dir != (m.load ? 'r' : 'w'))
		dm_fail(code, n, mode, "access size or direction");
	if (m.load)
		before.gpr[m.reg] = emu_mov_load_result(&m, before.gpr[m.reg], h.log[0].val);
	else if (h.log[0].val != emu_mov_store_value(&m, before.gpr[m.reg]))
		dm_fail(code, n, mode, "stored value");
	if (memcmp(before.gpr, c.gpr, sizeof(c.gpr)))
		dm_fail(code, n, mode, "registers after the instruction");
}

/* Every accepted form: each opcode, with and without 66, segment overrides, every REX in
 * 64-bit code (W R X B), every ModRM.reg (AH..BH without REX, SPL..DIL and r8-r15 with it),
 * mod 0/1/2 with and without SIB, SIB without base, disp32 and RIP-relative. */
static void test_decode_mov_matches_emulator(void **state)
{
	(void)state;
	for (int mode = 32; mode <= 64; mode += 32) {
		struct emu_cpu c0 = new_cpu(mode);
		for (u64 a = MMIO_LO; a < MMIO_HI; a++) /* what the "device" answers */
			h.mem[a] = (u8)(a * 0x3b + 0x91);
		for (size_t p = 0; p < ARRAY_SIZE(dm_pfx); p++)
			for (int k = 0; k < (mode == 64 ? 17 : 1); k++) /* no REX, 40-4F */
				for (size_t o = 0; o < ARRAY_SIZE(dm_ops); o++)
					for (u8 regf = 0; regf < (dm_ops[o].imm ? 1 : 8); regf++)
						for (size_t f = 0; f < ARRAY_SIZE(dm_forms); f++)
							dm_case(&c0, dm_pfx[p].b, dm_pfx[p].n,
								k ? (u8)(0x3f + k) : 0, (int)o,
								regf, &dm_forms[f]);
	}
}

/* Spot checks of the decoded fields themselves. */
static void test_decode_mov_fields(void **state)
{
	struct emu_mov m;
	(void)state;
	assert_true(emu_decode_mov((const u8[EMU_MAX_INSN]){ 0x8b, 0x03 }, false, &m));
	assert_true(m.len == 2 && m.size == 4 && m.reg == 0 && m.load && !m.zext && !m.high8);
	assert_true(emu_decode_mov((const u8[EMU_MAX_INSN]){ 0x88, 0x38 }, false, &m)); /* bh */
	assert_true(m.size == 1 && m.high8 && m.reg == 3 && !m.load);
	assert_true(emu_decode_mov((const u8[EMU_MAX_INSN]){ 0x40, 0x88, 0x38 }, true, &m)); /* dil */
	assert_true(!m.high8 && m.reg == 7 && m.len == 3);
	assert_true(emu_decode_mov((const u8[EMU_MAX_INSN]){ 0x4c, 0x0f, 0xb6, 0x44, 0x24, 0x08 },
				   true, &m)); /* movzx r8, byte [rsp+8] */
	assert_true(m.len == 6 && m.size == 1 && m.reg_size == 8 && m.reg == 8 && m.zext &&
		    m.load && !m.high8);
	assert_true(emu_decode_mov((const u8[EMU_MAX_INSN]){ 0x66, 0x0f, 0xb7, 0x01 }, false, &m));
	assert_true(m.size == 2 && m.reg_size == 2 && m.zext);
	assert_true(emu_decode_mov((const u8[EMU_MAX_INSN]){ 0x48, 0xc7, 0x05, D32(0x100),
							     D32(0x80000000) }, true, &m));
	assert_true(m.len == 11 && m.size == 8 && m.has_imm && !m.load);
	assert_int_equal(m.imm, 0xffffffff80000000ULL); /* imm32 sign-extended */
	assert_true(emu_decode_mov((const u8[EMU_MAX_INSN]){ 0x66, 0xc7, 0x00, D16(0x8001) }, false,
				   &m));
	assert_true(m.len == 5 && m.size == 2 && m.imm == 0x8001);
	assert_true(emu_decode_mov((const u8[EMU_MAX_INSN]){ 0x66, 0x48, 0x89, 0x01 }, true, &m));
	assert_int_equal(m.size, 8); /* REX.W wins over 66 */
	/* 15 bytes: three prefixes, REX, C7, ModRM, SIB, disp32, imm32 */
	assert_true(emu_decode_mov((const u8[EMU_MAX_INSN]){ 0x66, 0x3e, 0x66, 0x48, 0xc7, 0x84,
							     0x24, D32(8), D32(1) }, true, &m));
	assert_int_equal(m.len, 15);
}

/* What emu_decode_mov leaves to emu_step: it must return false. */
static void test_decode_mov_rejects(void **state)
{
	static const struct {
		bool code64;
		u8 b[EMU_MAX_INSN];
	} bad[] = {
		{ true, { 0x89, 0xc0 } },             /* register operands */
		{ true, { 0x8b, 0xc1 } },
		{ false, { 0x88, 0xe0 } },
		{ true, { 0x48, 0x8a, 0xc4 } },
		{ true, { 0xc6, 0xc0, 0x01 } },
		{ true, { 0xc7, 0xc0, D32(1) } },
		{ true, { 0x0f, 0xb6, 0xc0 } },
		{ false, { 0x0f, 0xb7, 0xc8 } },
		{ true, { 0xc6, 0x08, 0x01 } },       /* C6/C7 /1-7 */
		{ true, { 0xc6, 0x38, 0x01 } },
		{ false, { 0xc7, 0x10, D32(1) } },
		{ true, { 0xc7, 0x28, D32(1) } },
		{ true, { 0x0f, 0xbe, 0x01 } },       /* 0F, other than B6/B7 */
		{ true, { 0x0f, 0xbf, 0x01 } },
		{ true, { 0x0f, 0xc3, 0x01 } },
		{ true, { 0x0f, 0xb0, 0x01 } },
		{ true, { 0x0f, 0x0f, 0xb6, 0x01 } },
		{ true, { 0xf0, 0x89, 0x01 } },       /* other prefixes */
		{ true, { 0xf2, 0x89, 0x01 } },
		{ true, { 0xf3, 0x8b, 0x01 } },
		{ true, { 0x67, 0x8b, 0x01 } },
		{ false, { 0x67, 0x8b, 0x07 } },      /* 16-bit addressing */
		{ false, { 0x66, 0x67, 0x89, 0x07 } },
		{ true, { 0x66, 0x66, 0x66, 0x66, 0x89, 0x01 } }, /* four prefixes */
		{ false, { 0x3e, 0x26, 0x64, 0x65, 0x8b, 0x01 } },
		{ true, { 0x48, 0x66, 0x89, 0x01 } }, /* REX before a legacy prefix */
		{ true, { 0x48, 0x48, 0x89, 0x01 } }, /* two REX */
		{ false, { 0x48, 0x89, 0x01 } },      /* DEC EAX in 32-bit code */
		{ true, { 0xa1, D64(0xc000) } },      /* other MOVs and opcodes */
		{ true, { 0xa3, D64(0xc000) } },
		{ true, { 0xb8, D32(1) } },
		{ true, { 0x8c, 0x01 } },
		{ true, { 0x8e, 0x01 } },
		{ true, { 0x63, 0x01 } },
		{ true, { 0x87, 0xc1 } }, /* XCHG of two registers */
		{ true, { 0x85, 0x01 } },
		{ true, { 0x01, 0x01 } },
		{ true, { 0xff, 0x01 } },
	};
	struct emu_mov m;
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (emu_decode_mov(bad[i].b, bad[i].code64, &m))
			fail_msg("rejected encoding %zu (%02x %02x %02x) was decoded", i, bad[i].b[0],
				 bad[i].b[1], bad[i].b[2]);
}

static void test_flags_and_rf(void **state)
{
	struct emu_cpu c = new_cpu(64);
	struct emu_result r;
	(void)state;
	c.rflags = 0x2 | RF | 0x200 | DF;
	c.gpr[RCX] = MMIO_LO;
	r = RUN(&c, 0x89, 0x01);
	check_ok(&r, &c, CODE_LA + 2);
	assert_int_equal(c.rflags, 0x2 | 0x200 | DF); /* RF cleared, the rest kept */
	c = new_cpu(16);
	c.rip = 0xfffe;
	c.seg_base[EMU_CS] = CODE_LA - 0xfffe;
	c.seg_base[EMU_DS] = MMIO_LO;
	r = RUN(&c, 0x89, 0x07); /* IP wraps past 0xffff */
	assert_int_equal(r.status, EMU_OK);
	assert_int_equal(c.rip, 0);
	/* IP 0xffff: the second byte (and the disp16) come from CS:0000 */
	c = new_cpu(16);
	c.seg_base[EMU_CS] = CODE_LA - 0xffff;
	c.seg_base[EMU_DS] = MMIO_LO;
	c.rip = 0xffff;
	h.code2_la = CODE_LA - 0xffff;
	memcpy(h.code2, (const u8[]){ 0x06, D16(0x20) }, 3);
	r = RUN(&c, 0x8b); /* mov ax, [0x20] split as 8b | 06 20 00 */
	assert_int_equal(r.status, EMU_OK);
	assert_int_equal(r.len, 4);
	assert_int_equal(c.rip, 3);
	check_log(0, MMIO_LO + 0x20, 2, 'r', 0);
	c.mode = 0; /* not a mode: refused */
	r = RUN(&c, 0x89, 0x07);
	assert_int_equal(r.status, EMU_UNHANDLED);
}

/* ---- emu_rep_string: the MMU's bulk-write test (vmx/insn.c mmio_emulate_pt_write) ---- */

static bool rep_string(const char *hex, bool m64)
{
	u8 b[EMU_MAX_INSN] = { 0 };
	for (int i = 0; hex[2 * i] && i < EMU_MAX_INSN; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		b[i] = (u8)v;
	}
	return emu_rep_string(b, m64);
}

static void test_rep_string(void **state)
{
	(void)state;
	/* REP / REPNE string instructions, with other prefixes and REX in 64-bit code */
	assert_true(rep_string("f3aa", true));       /* rep stosb (clear_page_erms) */
	assert_true(rep_string("f348ab", true));     /* rep stosq (clear_page_rep) */
	assert_true(rep_string("f3a4", true));       /* rep movsb (memcpy) */
	assert_true(rep_string("66f3ab", false));    /* rep stosw */
	assert_true(rep_string("f2ae", true));       /* repne scasb */
	assert_true(rep_string("3ef3a5", false));    /* ds rep movsd */
	assert_true(rep_string("f36c", false));      /* rep insb */
	/* not: no REP, not a string instruction, REX outside 64-bit code */
	assert_false(rep_string("aa", true));        /* stosb */
	assert_false(rep_string("48ab", true));      /* stosq */
	assert_false(rep_string("f390", true));      /* pause */
	assert_false(rep_string("f30fb8c0", true));  /* popcnt */
	assert_false(rep_string("488907", true));    /* mov %rax,(%rdi) */
	assert_false(rep_string("f0480fb33f", true)); /* lock btr */
	assert_false(rep_string("f348ab", false));   /* 32-bit: 48 is DEC, not REX */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rep_string),
		cmocka_unit_test(test_alu_oracle),
		cmocka_unit_test(test_cmpxchg_oracle),
		cmocka_unit_test(test_group1_imm_oracle),
		cmocka_unit_test(test_bt_memory_oracle),
		cmocka_unit_test(test_mov_store_sizes),
		cmocka_unit_test(test_mov_load_merge_zero_extend),
		cmocka_unit_test(test_mov_immediate_forms),
		cmocka_unit_test(test_rip_relative),
		cmocka_unit_test(test_sib_forms),
		cmocka_unit_test(test_segment_override),
		cmocka_unit_test(test_address_size_wrap),
		cmocka_unit_test(test_moffs),
		cmocka_unit_test(test_movzx_movsx),
		cmocka_unit_test(test_xchg_memory),
		cmocka_unit_test(test_push_pop_memory),
		cmocka_unit_test(test_movnti),
		cmocka_unit_test(test_alu_memory_forms),
		cmocka_unit_test(test_bt_forms),
		cmocka_unit_test(test_cmpxchg_memory),
		cmocka_unit_test(test_cmpxchg8b),
		cmocka_unit_test(test_inc_dec_short_forms),
		cmocka_unit_test(test_mode_matrix),
		cmocka_unit_test(test_rep_movs_mmio_to_ram),
		cmocka_unit_test(test_rep_movs_ram_to_mmio),
		cmocka_unit_test(test_rep_stos_and_address_size),
		cmocka_unit_test(test_lods),
		cmocka_unit_test(test_repe_cmps),
		cmocka_unit_test(test_repne_scas),
		cmocka_unit_test(test_ins_outs),
		cmocka_unit_test(test_rep_iteration_cap),
		cmocka_unit_test(test_string_fault_midway),
		cmocka_unit_test(test_string_unhandled_prefixes),
		cmocka_unit_test(test_unknown_opcode),
		cmocka_unit_test(test_fault_on_read),
		cmocka_unit_test(test_fault_on_write_no_partial_update),
		cmocka_unit_test(test_fault_on_fetch),
		cmocka_unit_test(test_lock_rules),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_non_canonical),
		cmocka_unit_test(test_flags_and_rf),
		cmocka_unit_test(test_decode_mov_matches_emulator),
		cmocka_unit_test(test_decode_mov_fields),
		cmocka_unit_test(test_decode_mov_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
