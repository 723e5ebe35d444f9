/* gdbstub.c - GDB remote serial protocol: framing, acks, and the packets of a gdb
 * "target remote" session (the contract is in gdbstub.h). */
#include "debug/gdbstub.h"
#include "kernel/lib.h"

/* Error numbers in E replies (gdb only displays them): errno values, as gdbserver sends. */
#define E_MALFORMED 0x00 /* qXfer: bad annex or arguments (the value the manual names) */
#define E_REFUSED 0x01   /* the target refused: register write, breakpoint, unknown thread */
#define E_FAULT 0x0e     /* memory not reachable through the guest's page tables (EFAULT) */
#define E_INVAL 0x16     /* malformed packet or argument out of range (EINVAL) */

static const char hexdigits[] = "0123456789abcdef";

static int hexval(u8 c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ---- Register layouts: gdb's features/i386/{32,64}bit-core.xml, 64bit-segments.xml ---- */

#define REG_NONE (-1) /* x87 state: not tracked by the hypervisor; reported unavailable */
#define RD_FLOAT BIT(0)    /* in gdb's "float" register group */
#define RD_SEGMENTS BIT(1) /* first register of feature org.gnu.gdb.i386.segments */

/* One register of the 'g' packet. Its index in the table is gdb's remote register number
 * (document order of target.xml), which 'p'/'P' use. */
struct reg_desc {
	const char *name;
	const char *type; /* target-description type */
	int8_t id;        /* enum gdb_reg, or REG_NONE */
	u8 bits;          /* 32, 64 or 80 */
	u8 flags;         /* RD_* */
};

/*
 * Why the x87 registers are listed although nothing supplies them: gdb validates a target
 * description by walking all of its core registers (i386_validate_tdesc_p: 16 + 16 for i386,
 * 24 + 16 for amd64, st0..fop included) and rejects a core feature that stops at gs. They are
 * sent as "xx" bytes, which gdb shows as <unavailable>.
 */
#define X87_REGS                                                                          \
	{ "st0", "i387_ext", REG_NONE, 80, 0 }, { "st1", "i387_ext", REG_NONE, 80, 0 },   \
	{ "st2", "i387_ext", REG_NONE, 80, 0 }, { "st3", "i387_ext", REG_NONE, 80, 0 },   \
	{ "st4", "i387_ext", REG_NONE, 80, 0 }, { "st5", "i387_ext", REG_NONE, 80, 0 },   \
	{ "st6", "i387_ext", REG_NONE, 80, 0 }, { "st7", "i387_ext", REG_NONE, 80, 0 },   \
	{ "fctrl", "int", REG_NONE, 32, RD_FLOAT }, { "fstat", "int", REG_NONE, 32, RD_FLOAT }, \
	{ "ftag", "int", REG_NONE, 32, RD_FLOAT }, { "fiseg", "int", REG_NONE, 32, RD_FLOAT }, \
	{ "fioff", "int", REG_NONE, 32, RD_FLOAT }, { "foseg", "int", REG_NONE, 32, RD_FLOAT }, \
	{ "fooff", "int", REG_NONE, 32, RD_FLOAT }, { "fop", "int", REG_NONE, 32, RD_FLOAT }

#define SEG_REGS                                                                          \
	{ "cs", "int32", GDB_REG_CS, 32, 0 }, { "ss", "int32", GDB_REG_SS, 32, 0 },       \
	{ "ds", "int32", GDB_REG_DS, 32, 0 }, { "es", "int32", GDB_REG_ES, 32, 0 },       \
	{ "fs", "int32", GDB_REG_FS, 32, 0 }, { "gs", "int32", GDB_REG_GS, 32, 0 }

/* amd64 order: rax rbx rcx rdx rsi rdi rbp rsp (not the x86 encoding order). */
static const struct reg_desc regs64[] = {
	{ "rax", "int64", GDB_REG_RAX, 64, 0 }, { "rbx", "int64", GDB_REG_RBX, 64, 0 },
	{ "rcx", "int64", GDB_REG_RCX, 64, 0 }, { "rdx", "int64", GDB_REG_RDX, 64, 0 },
	{ "rsi", "int64", GDB_REG_RSI, 64, 0 }, { "rdi", "int64", GDB_REG_RDI, 64, 0 },
	{ "rbp", "data_ptr", GDB_REG_RBP, 64, 0 }, { "rsp", "data_ptr", GDB_REG_RSP, 64, 0 },
	{ "r8", "int64", GDB_REG_R8, 64, 0 }, { "r9", "int64", GDB_REG_R9, 64, 0 },
	{ "r10", "int64", GDB_REG_R10, 64, 0 }, { "r11", "int64", GDB_REG_R11, 64, 0 },
	{ "r12", "int64", GDB_REG_R12, 64, 0 }, { "r13", "int64", GDB_REG_R13, 64, 0 },
	{ "r14", "int64", GDB_REG_R14, 64, 0 }, { "r15", "int64", GDB_REG_R15, 64, 0 },
	{ "rip", "code_ptr", GDB_REG_RIP, 64, 0 },
	{ "eflags", "i386_eflags", GDB_REG_RFLAGS, 32, 0 },
	SEG_REGS,
	X87_REGS,
	{ "fs_base", "int", GDB_REG_FS_BASE, 64, RD_SEGMENTS },
	{ "gs_base", "int", GDB_REG_GS_BASE, 64, 0 },
};

/* i386 order: the x86 encoding order eax ecx edx ebx esp ebp esi edi. No segments feature:
 * gdb's GNU/Linux i386 osabi (its default without an ELF saying otherwise) numbers orig_eax
 * where fs_base would go and gdb 13 dies on an internal assertion (tdesc_use_registers). */
static const struct reg_desc regs32[] = {
	{ "eax", "int32", GDB_REG_RAX, 32, 0 }, { "ecx", "int32", GDB_REG_RCX, 32, 0 },
	{ "edx", "int32", GDB_REG_RDX, 32, 0 }, { "ebx", "int32", GDB_REG_RBX, 32, 0 },
	{ "esp", "data_ptr", GDB_REG_RSP, 32, 0 }, { "ebp", "data_ptr", GDB_REG_RBP, 32, 0 },
	{ "esi", "int32", GDB_REG_RSI, 32, 0 }, { "edi", "int32", GDB_REG_RDI, 32, 0 },
	{ "eip", "code_ptr", GDB_REG_RIP, 32, 0 },
	{ "eflags", "i386_eflags", GDB_REG_RFLAGS, 32, 0 },
	SEG_REGS,
	X87_REGS,
};

_Static_assert(ARRAY_SIZE(regs64) == 24 + 16 + 2, "amd64 core + x87 + segments");
_Static_assert(ARRAY_SIZE(regs32) == 16 + 16, "i386 core + x87");

struct layout {
	const char *arch; /* <architecture> of target.xml */
	const struct reg_desc *regs;
	size_t nregs;
};

static const struct layout layout64 = { "i386:x86-64", regs64, ARRAY_SIZE(regs64) };
static const struct layout layout32 = { "i386", regs32, ARRAY_SIZE(regs32) };

/* The layout of this connection, chosen at its first use: gdb reads target.xml once, so a
 * guest switching modes later keeps the layout (values truncated or zero-extended). */
static const struct layout *layout(struct gdb_stub *s)
{
	if (s->mode == 0)
		s->mode = s->ops->mode(s->opaque) == 64 ? 64 : 32;
	return s->mode == 64 ? &layout64 : &layout32;
}

/* ---- Transmitter: payload built in s->out, framed as $payload#cc on send ---- */

static void out_start(struct gdb_stub *s)
{
	s->out_len = 0;
}

static void out_byte(struct gdb_stub *s, u8 b)
{
	if (s->out_len < sizeof(s->out))
		s->out[s->out_len++] = b;
}

static void out_str(struct gdb_stub *s, const char *str)
{
	while (*str)
		out_byte(s, (u8)*str++);
}

static void out_hex8(struct gdb_stub *s, u8 b)
{
	out_byte(s, (u8)hexdigits[b >> 4]);
	out_byte(s, (u8)hexdigits[b & 15]);
}

/* v in hex without leading zeros ("0" for 0). */
static void out_hexnum(struct gdb_stub *s, u64 v)
{
	int shift = 60;
	while (shift > 0 && (v >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		out_byte(s, (u8)hexdigits[(v >> shift) & 15]);
}

/* Appends one byte of binary data, escaped when gdb would read it as framing ('$' '#'),
 * as an escape ('}') or as run-length encoding ('*'). False when it does not fit. */
static bool out_bin(struct gdb_stub *s, u8 b)
{
	bool esc = b == '$' || b == '#' || b == '}' || b == '*';
	if (s->out_len + (esc ? 2 : 1) > sizeof(s->out))
		return false;
	if (esc) {
		s->out[s->out_len++] = '}';
		b ^= 0x20;
	}
	s->out[s->out_len++] = b;
	return true;
}

/* Frames and transmits s->out; kept for retransmission on '-'. */
static void out_send(struct gdb_stub *s)
{
	u8 sum = 0;
	s->ops->putc(s->opaque, '$');
	for (size_t i = 0; i < s->out_len; i++) {
		sum = (u8)(sum + s->out[i]);
		s->ops->putc(s->opaque, s->out[i]);
	}
	s->ops->putc(s->opaque, '#');
	s->ops->putc(s->opaque, (u8)hexdigits[sum >> 4]);
	s->ops->putc(s->opaque, (u8)hexdigits[sum & 15]);
	s->out_sent = true;
}

static void reply(struct gdb_stub *s, const char *str)
{
	out_start(s);
	out_str(s, str);
	out_send(s);
}

static void reply_error(struct gdb_stub *s, u8 err)
{
	out_start(s);
	out_byte(s, 'E');
	out_hex8(s, err);
	out_send(s);
}

/* ---- Parsing: a cursor over the received payload ---- */

struct cur {
	const u8 *p, *end;
};

static bool cur_done(const struct cur *c)
{
	return c->p == c->end;
}

static bool cur_char(struct cur *c, char ch)
{
	if (c->p == c->end || *c->p != (u8)ch)
		return false;
	c->p++;
	return true;
}

/* Consumes lit when the payload continues with it. */
static bool cur_prefix(struct cur *c, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* True (and consumed) when the rest of the payload is exactly lit. */
static bool cur_is(struct cur *c, const char *lit)
{
	struct cur t = *c;
	if (!cur_prefix(&t, lit) || !cur_done(&t))
		return false;
	*c = t;
	return true;
}

/* A hex number of at least one digit that fits in 64 bits. */
static bool cur_hex(struct cur *c, u64 *v)
{
	const u8 *start = c->p;
	u64 x = 0;
	for (; c->p < c->end && hexval(*c->p) >= 0; c->p++) {
		if (x >> 60)
			return false;
		x = (x << 4) | (u64)hexval(*c->p);
	}
	*v = x;
	return c->p != start;
}

/* nbytes little-endian bytes as 2 * nbytes hex digits (a register value in g/G/p/P). */
static bool cur_le(struct cur *c, unsigned nbytes, u64 *v)
{
	u64 x = 0;
	if ((size_t)(c->end - c->p) < 2 * (size_t)nbytes)
		return false;
	for (unsigned i = 0; i < nbytes; i++, c->p += 2) {
		int hi = hexval(c->p[0]), lo = hexval(c->p[1]);
		if (hi < 0 || lo < 0)
			return false;
		if (i < 8)
			x |= (u64)(hi << 4 | lo) << (8 * i);
	}
	*v = x;
	return true;
}

/* A thread id: -1 (all threads), 0 (any thread) or hex; *ours when it covers thread 1. */
static bool cur_thread(struct cur *c, bool *ours)
{
	u64 tid;
	if (cur_char(c, '-')) {
		*ours = true;
		return cur_char(c, '1');
	}
	if (!cur_hex(c, &tid))
		return false;
	*ours = tid == 0 || tid == 1;
	return true;
}

/* ---- Registers: g G p P ---- */

static void out_reg(struct gdb_stub *s, const struct reg_desc *r)
{
	u64 v = r->id == REG_NONE ? 0 : s->ops->get_reg(s->opaque, (enum gdb_reg)r->id);
	for (unsigned i = 0; i < r->bits / 8u; i++) {
		if (r->id == REG_NONE)
			out_str(s, "xx");
		else
			out_hex8(s, (u8)(v >> (8 * i)));
	}
}

/* Writes what gdb sent for r: bits above gdb's width keep their value, and an unchanged
 * value is not written (so a G echoing CS back is never refused). 0 or negative. */
static int write_reg(struct gdb_stub *s, const struct reg_desc *r, u64 v)
{
	u64 old;
	if (r->id == REG_NONE)
		return -1;
	old = s->ops->get_reg(s->opaque, (enum gdb_reg)r->id);
	if (r->bits < 64)
		v = (old & ~GENMASK(r->bits - 1, 0)) | (v & GENMASK(r->bits - 1, 0));
	if (v == old)
		return 0;
	return s->ops->set_reg(s->opaque, (enum gdb_reg)r->id, v) < 0 ? -1 : 0;
}

static void cmd_read_regs(struct gdb_stub *s, struct cur *c)
{
	const struct layout *l = layout(s);
	if (!cur_done(c)) {
		reply_error(s, E_INVAL);
		return;
	}
	out_start(s);
	for (size_t i = 0; i < l->nregs; i++)
		out_reg(s, &l->regs[i]);
	out_send(s);
}

/* G: the whole block must be there and well-formed before anything is written. */
static void cmd_write_regs(struct gdb_stub *s, struct cur *c)
{
	const struct layout *l = layout(s);
	u64 val[ARRAY_SIZE(regs64)];
	bool refused = false;
	for (size_t i = 0; i < l->nregs; i++) {
		const struct reg_desc *r = &l->regs[i];
		bool ok = r->id == REG_NONE ? (size_t)(c->end - c->p) >= r->bits / 4u
					     : cur_le(c, r->bits / 8u, &val[i]);
		if (!ok) {
			reply_error(s, E_INVAL);
			return;
		}
		if (r->id == REG_NONE)
			c->p += r->bits / 4u; /* x87: not writable, ignored */
	}
	if (!cur_done(c)) {
		reply_error(s, E_INVAL);
		return;
	}
	for (size_t i = 0; i < l->nregs; i++)
		if (l->regs[i].id != REG_NONE && write_reg(s, &l->regs[i], val[i]) < 0)
			refused = true;
	if (refused)
		reply_error(s, E_REFUSED);
	else
		reply(s, "OK");
}

static void cmd_read_reg(struct gdb_stub *s, struct cur *c)
{
	const struct layout *l = layout(s);
	u64 n;
	if (!cur_hex(c, &n) || !cur_done(c) || n >= l->nregs) {
		reply_error(s, E_INVAL);
		return;
	}
	out_start(s);
	out_reg(s, &l->regs[n]);
	out_send(s);
}

static void cmd_write_reg(struct gdb_stub *s, struct cur *c)
{
	const struct layout *l = layout(s);
	u64 n, v;
	if (!cur_hex(c, &n) || n >= l->nregs || !cur_char(c, '=') ||
	    !cur_le(c, l->regs[n].bits / 8u, &v) || !cur_done(c)) {
		reply_error(s, E_INVAL);
		return;
	}
	if (write_reg(s, &l->regs[n], v) < 0)
		reply_error(s, E_REFUSED);
	else
		reply(s, "OK");
}

/* ---- Memory: m M X ---- */

/* "addr,len" */
static bool cur_addr_len(struct cur *c, u64 *addr, u64 *len)
{
	return cur_hex(c, addr) && cur_char(c, ',') && cur_hex(c, len);
}

/* m: at most sizeof(scratch) bytes per reply (gdb asks again for the rest); all of them or
 * an error, never a partial reply. */
static void cmd_read_mem(struct gdb_stub *s, struct cur *c)
{
	u64 addr, len;
	size_t n;
	if (!cur_addr_len(c, &addr, &len) || !cur_done(c)) {
		reply_error(s, E_INVAL);
		return;
	}
	n = (size_t)MIN(len, (u64)sizeof(s->scratch));
	if (n && s->ops->read_mem(s->opaque, addr, s->scratch, n) < n) {
		reply_error(s, E_FAULT);
		return;
	}
	out_start(s);
	for (size_t i = 0; i < n; i++)
		out_hex8(s, s->scratch[i]);
	out_send(s);
}

/* M (hex data) and X (binary data, already unescaped by the receiver). "X addr,0:" is gdb's
 * probe for X support: OK without touching memory. */
static void cmd_write_mem(struct gdb_stub *s, struct cur *c, bool binary)
{
	u64 addr, len;
	const u8 *data = s->scratch;
	if (!cur_addr_len(c, &addr, &len) || !cur_char(c, ':') || len > sizeof(s->scratch) ||
	    (u64)(c->end - c->p) != (binary ? len : 2 * len)) {
		reply_error(s, E_INVAL);
		return;
	}
	if (binary) {
		data = c->p;
	} else {
		for (size_t i = 0; i < len; i++) {
			u64 b;
			if (!cur_le(c, 1, &b)) {
				reply_error(s, E_INVAL);
				return;
			}
			s->scratch[i] = (u8)b;
		}
	}
	if (len && s->ops->write_mem(s->opaque, addr, data, (size_t)len) < len)
		reply_error(s, E_FAULT);
	else
		reply(s, "OK");
}

/* ---- Breakpoints: Z z ---- */

static void cmd_breakpoint(struct gdb_stub *s, struct cur *c, bool insert)
{
	int (*op)(void *, enum gdb_bp_type, gva_t, u64) =
		insert ? s->ops->set_breakpoint : s->ops->remove_breakpoint;
	u64 type, addr, kind;
	int ret;
	/* A ";cond..." tail only follows ConditionalBreakpoints+, never offered: ignored. */
	if (!cur_hex(c, &type) || !cur_char(c, ',') || !cur_addr_len(c, &addr, &kind) ||
	    (!cur_done(c) && !cur_char(c, ';'))) {
		reply_error(s, E_INVAL);
		return;
	}
	if (type > GDB_BP_ACCESS || !op) {
		reply(s, "");
		return;
	}
	ret = op(s->opaque, (enum gdb_bp_type)type, addr, kind);
	if (ret == GDB_UNSUPPORTED)
		reply(s, "");
	else if (ret < 0)
		reply_error(s, E_REFUSED);
	else
		reply(s, "OK");
}

/* ---- Execution: ? c C s S vCont D k ---- */

static void send_stop_reply(struct gdb_stub *s)
{
	out_start(s);
	out_byte(s, 'T');
	out_hex8(s, (u8)s->last_signal);
	switch (s->last_reason) {
	case GDB_STOP_SWBREAK:
		if (s->swbreak)
			out_str(s, "swbreak:;");
		break;
	case GDB_STOP_HWBREAK:
		if (s->hwbreak)
			out_str(s, "hwbreak:;");
		break;
	case GDB_STOP_WATCH:
	case GDB_STOP_RWATCH:
	case GDB_STOP_AWATCH:
		out_str(s, s->last_reason == GDB_STOP_WATCH ? "watch:"
			   : s->last_reason == GDB_STOP_RWATCH ? "rwatch:" : "awatch:");
		out_hexnum(s, s->last_addr);
		out_byte(s, ';');
		break;
	case GDB_STOP_PLAIN:
		break;
	}
	out_str(s, "thread:01;");
	out_send(s);
}

/* '?': the last stop, or, when the guest runs (gdb connecting to a running guest), stop it
 * first: the reply then comes from gdb_report_stop. */
static enum gdb_action cmd_why(struct gdb_stub *s)
{
	if (s->running)
		return GDB_STOP;
	send_stop_reply(s);
	return GDB_NONE;
}

static enum gdb_action resume(struct gdb_stub *s, bool step)
{
	s->running = true;
	return step ? GDB_STEP : GDB_CONTINUE;
}

/* c [addr], s [addr], C sig[;addr], S sig[;addr]. The signal is ignored: there is no
 * signal to deliver to a bare guest. */
static enum gdb_action cmd_resume(struct gdb_stub *s, struct cur *c, u8 cmd)
{
	bool with_sig = cmd == 'C' || cmd == 'S';
	u64 sig, addr;
	if (with_sig && (!cur_hex(c, &sig) || (!cur_done(c) && !cur_char(c, ';'))))
		goto malformed;
	if (!cur_done(c)) {
		if (!cur_hex(c, &addr) || !cur_done(c))
			goto malformed;
		if (s->ops->set_reg(s->opaque, GDB_REG_RIP, addr) < 0) {
			reply_error(s, E_REFUSED);
			return GDB_NONE;
		}
	}
	return resume(s, cmd == 's' || cmd == 'S');
malformed:
	reply_error(s, E_INVAL);
	return GDB_NONE;
}

/* vCont;action[:tid][;action[:tid]]...: the first action that applies to thread 1 wins
 * (gdb steps with "vCont;s:1;c"). */
static enum gdb_action cmd_vcont(struct gdb_stub *s, struct cur *c)
{
	u8 chosen = 0;
	do {
		u8 a = c->p < c->end ? *c->p++ : 0;
		u64 sig;
		bool ours = true;
		if (a != 'c' && a != 's' && a != 'C' && a != 'S')
			goto malformed;
		if ((a == 'C' || a == 'S') && !cur_hex(c, &sig))
			goto malformed;
		if (cur_char(c, ':') && !cur_thread(c, &ours))
			goto malformed;
		if (ours && !chosen)
			chosen = a;
	} while (cur_char(c, ';'));
	if (!cur_done(c) || !chosen)
		goto malformed;
	return resume(s, chosen == 's' || chosen == 'S');
malformed:
	reply_error(s, E_INVAL);
	return GDB_NONE;
}

static enum gdb_action cmd_v(struct gdb_stub *s, struct cur *c)
{
	if (cur_is(c, "Cont?")) {
		reply(s, "vCont;c;C;s;S");
		return GDB_NONE;
	}
	if (cur_prefix(c, "Cont;"))
		return cmd_vcont(s, c);
	reply(s, ""); /* vMustReplyEmpty, vKill (gdb falls back to k), vFile... */
	return GDB_NONE;
}

/* Ends the session: the next gdb starts in ack mode and chooses the layout again. */
static void end_session(struct gdb_stub *s)
{
	s->attached = false;
	s->noack = false;
	s->swbreak = false;
	s->hwbreak = false;
	s->mode = 0;
}

static enum gdb_action cmd_detach(struct gdb_stub *s)
{
	reply(s, "OK");
	end_session(s);
	s->running = true;
	return GDB_DETACH;
}

/* k has no reply. */
static enum gdb_action cmd_kill(struct gdb_stub *s)
{
	end_session(s);
	s->running = false;
	return GDB_KILL;
}

static void cmd_thread_alive(struct gdb_stub *s, struct cur *c)
{
	bool ours;
	if (cur_thread(c, &ours) && cur_done(c) && ours)
		reply(s, "OK");
	else
		reply_error(s, E_REFUSED);
}

/* ---- Queries: q Q ---- */

/* Does the ';'-separated feature list at c contain exactly feat? */
static bool has_feature(struct cur c, const char *feat)
{
	size_t n = strlen(feat);
	while (!cur_done(&c)) {
		const u8 *tok = c.p;
		while (c.p < c.end && *c.p != ';')
			c.p++;
		if ((size_t)(c.p - tok) == n && memcmp(tok, feat, n) == 0)
			return true;
		cur_char(&c, ';');
	}
	return false;
}

/* qSupported[:gdbfeatures]: the start of every gdb session (sent in ack mode). */
static void cmd_supported(struct gdb_stub *s, struct cur *c)
{
	cur_char(c, ':');
	s->swbreak = has_feature(*c, "swbreak+");
	s->hwbreak = has_feature(*c, "hwbreak+");
	s->mode = 0;
	out_start(s);
	out_str(s, "PacketSize=");
	out_hexnum(s, GDB_PACKET_MAX);
	out_str(s, ";qXfer:features:read+;QStartNoAckMode+");
	if (s->swbreak)
		out_str(s, ";swbreak+");
	if (s->hwbreak)
		out_str(s, ";hwbreak+");
	out_send(s);
}

/* target.xml is generated, never stored: the document is produced from the register table
 * and only the characters in [from, to) go into the reply. */
struct xml_out {
	struct gdb_stub *s;
	u64 pos;  /* document offset of the next character produced */
	u64 from; /* first offset gdb asked for */
	u64 to;   /* one past the last offset sent (lowered when the reply fills up) */
};

static void xml_put(struct xml_out *x, const char *str)
{
	for (; *str; str++, x->pos++) {
		if (x->pos < x->from || x->pos >= x->to)
			continue;
		if (!out_bin(x->s, (u8)*str))
			x->to = x->pos;
	}
}

static void xml_put_dec(struct xml_out *x, unsigned v)
{
	char buf[4] = { 0 };
	int i = 3;
	do
		buf[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	xml_put(x, buf + i);
}

/* EFLAGS bits gdb names (features/i386/32bit-core.xml, 64bit-core.xml). */
static const struct {
	const char *name;
	u8 bit;
} eflags_fields[] = {
	{ "CF", 0 }, { "PF", 2 }, { "AF", 4 }, { "ZF", 6 }, { "SF", 7 }, { "TF", 8 },
	{ "IF", 9 }, { "DF", 10 }, { "OF", 11 }, { "NT", 14 }, { "RF", 16 }, { "VM", 17 },
	{ "AC", 18 }, { "VIF", 19 }, { "VIP", 20 }, { "ID", 21 },
};

static void xml_eflags(struct xml_out *x)
{
	xml_put(x, "<flags id=\"i386_eflags\" size=\"4\">\n");
	for (size_t i = 0; i < ARRAY_SIZE(eflags_fields); i++) {
		xml_put(x, "<field name=\"");
		xml_put(x, eflags_fields[i].name);
		xml_put(x, "\" start=\"");
		xml_put_dec(x, eflags_fields[i].bit);
		xml_put(x, "\" end=\"");
		xml_put_dec(x, eflags_fields[i].bit);
		xml_put(x, "\"/>\n");
	}
	xml_put(x, "</flags>\n");
}

static void xml_reg(struct xml_out *x, const struct reg_desc *r)
{
	if (r->flags & RD_SEGMENTS)
		xml_put(x, "</feature>\n<feature name=\"org.gnu.gdb.i386.segments\">\n");
	xml_put(x, "<reg name=\"");
	xml_put(x, r->name);
	xml_put(x, "\" bitsize=\"");
	xml_put_dec(x, r->bits);
	xml_put(x, "\" type=\"");
	xml_put(x, r->type);
	xml_put(x, (r->flags & RD_FLOAT) ? "\" group=\"float\"/>\n" : "\"/>\n");
}

static void xml_target(struct xml_out *x, const struct layout *l)
{
	xml_put(x, "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
		   "<target version=\"1.0\">\n<architecture>");
	xml_put(x, l->arch);
	xml_put(x, "</architecture>\n<feature name=\"org.gnu.gdb.i386.core\">\n");
	xml_eflags(x);
	for (size_t i = 0; i < l->nregs; i++)
		xml_reg(x, &l->regs[i]);
	xml_put(x, "</feature>\n</target>\n");
}

/* qXfer:features:read:target.xml:offset,length -> 'm' + data (more follows) or 'l' + data
 * (the document ends here). */
static void cmd_xfer_features(struct gdb_stub *s, struct cur *c)
{
	struct xml_out x = { .s = s };
	u64 len;
	if (!cur_prefix(c, "target.xml:") || !cur_addr_len(c, &x.from, &len) || !cur_done(c)) {
		reply_error(s, E_MALFORMED);
		return;
	}
	x.to = x.from + len < x.from ? ~0ULL : x.from + len;
	out_start(s);
	out_byte(s, 'l'); /* patched below */
	xml_target(&x, layout(s));
	if (x.to < x.pos)
		s->out[0] = 'm';
	out_send(s);
}

static void cmd_query(struct gdb_stub *s, struct cur *c)
{
	if (cur_prefix(c, "Supported"))
		cmd_supported(s, c);
	else if (cur_prefix(c, "Xfer:features:read:"))
		cmd_xfer_features(s, c);
	else if (cur_is(c, "C"))
		reply(s, "QC01");
	else if (cur_is(c, "fThreadInfo"))
		reply(s, "m01");
	else if (cur_is(c, "sThreadInfo"))
		reply(s, "l");
	else if (cur_prefix(c, "Attached"))
		reply(s, "1"); /* attached to an existing target: "quit" detaches, not kills */
	else
		reply(s, "");
}

static void cmd_set(struct gdb_stub *s, struct cur *c)
{
	if (cur_is(c, "StartNoAckMode")) {
		reply(s, "OK");
		s->noack = true;
		return;
	}
	reply(s, "");
}

/* ---- Dispatch ---- */

static enum gdb_action dispatch(struct gdb_stub *s)
{
	struct cur c = { s->in + 1, s->in + s->in_len };
	s->attached = true;
	if (s->in_len == 0) {
		reply(s, "");
		return GDB_NONE;
	}
	switch (s->in[0]) {
	case '?': return cmd_why(s);
	case 'c': case 'C': case 's': case 'S': return cmd_resume(s, &c, s->in[0]);
	case 'v': return cmd_v(s, &c);
	case 'D': return cmd_detach(s);
	case 'k': return cmd_kill(s);
	case 'g': cmd_read_regs(s, &c); break;
	case 'G': cmd_write_regs(s, &c); break;
	case 'p': cmd_read_reg(s, &c); break;
	case 'P': cmd_write_reg(s, &c); break;
	case 'm': cmd_read_mem(s, &c); break;
	case 'M': cmd_write_mem(s, &c, false); break;
	case 'X': cmd_write_mem(s, &c, true); break;
	case 'Z': case 'z': cmd_breakpoint(s, &c, s->in[0] == 'Z'); break;
	case 'q': cmd_query(s, &c); break;
	case 'Q': cmd_set(s, &c); break;
	case 'H': reply(s, "OK"); break; /* one thread: every selection is thread 1 */
	case 'T': cmd_thread_alive(s, &c); break;
	default: reply(s, ""); break;    /* unknown: the empty reply the protocol requires */
	}
	return GDB_NONE;
}

/* ---- Receiver: $payload#cc, '}' escapes, acks, Ctrl-C ---- */

static void rx_begin(struct gdb_stub *s)
{
	s->rx = GDB_RX_DATA;
	s->rx_sum = 0;
	s->rx_overflow = false;
	s->in_len = 0;
}

static void rx_store(struct gdb_stub *s, u8 b)
{
	if (s->in_len < sizeof(s->in))
		s->in[s->in_len++] = b;
	else
		s->rx_overflow = true;
}

/* A packet with a good checksum. qSupported opens a new session, which gdb starts in ack
 * mode even when the previous one (gone without D) had turned acks off. */
static enum gdb_action rx_packet(struct gdb_stub *s)
{
	static const char supported[] = "qSupported";
	if (s->in_len >= sizeof(supported) - 1 &&
	    memcmp(s->in, supported, sizeof(supported) - 1) == 0)
		s->noack = false;
	if (!s->noack)
		s->ops->putc(s->opaque, '+');
	if (s->rx_overflow) {
		s->attached = true;
		reply_error(s, E_INVAL);
		return GDB_NONE;
	}
	return dispatch(s);
}

/* Outside a packet: '$' starts one, 0x03 is Ctrl-C, '-' asks for the last packet again. */
static enum gdb_action rx_idle(struct gdb_stub *s, u8 b)
{
	if (b == '$') {
		rx_begin(s);
	} else if (b == 0x03 && s->running) {
		s->attached = true;
		return GDB_STOP;
	} else if (b == '-' && !s->noack && s->out_sent) {
		out_send(s);
	}
	return GDB_NONE; /* '+', Ctrl-C while stopped, line noise */
}

enum gdb_action gdb_input(struct gdb_stub *s, u8 b)
{
	int v;
	switch (s->rx) {
	case GDB_RX_IDLE:
		return rx_idle(s, b);
	case GDB_RX_DATA:
		if (b == '#') {
			s->rx = GDB_RX_CSUM_HI;
		} else if (b == '$') {
			rx_begin(s); /* gdb gave up on this packet and started again */
		} else {
			s->rx_sum = (u8)(s->rx_sum + b);
			if (b == '}')
				s->rx = GDB_RX_ESCAPE;
			else
				rx_store(s, b);
		}
		return GDB_NONE;
	case GDB_RX_ESCAPE:
		s->rx_sum = (u8)(s->rx_sum + b);
		rx_store(s, b ^ 0x20);
		s->rx = GDB_RX_DATA;
		return GDB_NONE;
	case GDB_RX_CSUM_HI:
	case GDB_RX_CSUM_LO:
		if (b == '$') {
			rx_begin(s);
			return GDB_NONE;
		}
		v = hexval(b);
		if (v >= 0 && s->rx == GDB_RX_CSUM_HI) {
			s->rx_csum = (u8)(v << 4);
			s->rx = GDB_RX_CSUM_LO;
			return GDB_NONE;
		}
		s->rx = GDB_RX_IDLE;
		if (v >= 0 && (u8)(s->rx_csum | v) == s->rx_sum)
			return rx_packet(s);
		if (!s->noack)
			s->ops->putc(s->opaque, '-');
		return GDB_NONE;
	}
	return GDB_NONE;
}

/* ---- Caller's side ---- */

void gdb_init(struct gdb_stub *s, const struct gdb_ops *ops, void *opaque)
{
	memset(s, 0, sizeof(*s));
	s->ops = ops;
	s->opaque = opaque;
	s->rx = GDB_RX_IDLE;
	s->last_signal = GDB_SIGTRAP;
	s->last_reason = GDB_STOP_PLAIN;
}

void gdb_report_stop_reason(struct gdb_stub *s, int signal, enum gdb_stop_reason why,
			    gva_t addr)
{
	bool owed = s->running && s->attached;
	s->running = false;
	s->last_signal = signal;
	s->last_reason = why;
	s->last_addr = addr;
	if (owed)
		send_stop_reply(s);
}

void gdb_report_stop(struct gdb_stub *s, int signal)
{
	gdb_report_stop_reason(s, signal, GDB_STOP_PLAIN, 0);
}

void gdb_target_resumed(struct gdb_stub *s)
{
	s->running = true;
}

bool gdb_attached(const struct gdb_stub *s)
{
	return s->attached;
}
