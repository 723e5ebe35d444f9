/* SOURCES: debug/gdbstub.c */
/*
 * test_gdbstub.c - debug/gdbstub.c against a fake target: byte streams in, exact bytes out
 * (framing, checksums, acks, '-' retransmission, no-ack mode, escapes, Ctrl-C), the register
 * file layouts gdb's i386 and amd64 target descriptions imply (order, widths, little-endian,
 * unavailable x87), target.xml by offset and length, memory and breakpoint ops, and the
 * actions (continue, step, stop, detach, kill) with the stop replies that follow them.
 * Expected packets are framed by frame() below, an independent checksum; a few are literal.
 */
#include "unit.h"

#include "debug/gdbstub.h"

#define MEM_BASE 0x10000ULL
#define MEM_SIZE 4096

/* The fake target: registers, one window of memory, call logs. */
struct fake {
	int mode;
	int mode_calls;
	u64 regs[GDB_REG_COUNT];
	int set_calls;
	int refuse_reg;       /* set_reg of this id fails (-1: none) */
	u8 mem[MEM_SIZE];     /* guest-virtual [MEM_BASE, MEM_BASE + MEM_SIZE) */
	int mem_calls;
	int bp_ret;           /* what the breakpoint ops return */
	int bp_calls;
	bool bp_insert;
	enum gdb_bp_type bp_type;
	gva_t bp_addr;
	u64 bp_kind;
	char out[8192];       /* bytes the stub sent */
	size_t out_len;
};

static struct fake F;
static struct gdb_stub S;

static void f_putc(void *o, u8 b)
{
	struct fake *f = o;
	assert_true(f->out_len < sizeof(f->out));
	f->out[f->out_len++] = (char)b;
}

static int f_mode(void *o)
{
	struct fake *f = o;
	f->mode_calls++;
	return f->mode;
}

static u64 f_get_reg(void *o, enum gdb_reg r)
{
	struct fake *f = o;
	assert_true(r >= 0 && r < GDB_REG_COUNT);
	return f->regs[r];
}

static int f_set_reg(void *o, enum gdb_reg r, u64 v)
{
	struct fake *f = o;
	assert_true(r >= 0 && r < GDB_REG_COUNT);
	f->set_calls++;
	if ((int)r == f->refuse_reg)
		return -1;
	f->regs[r] = v;
	return 0;
}

static size_t f_read_mem(void *o, gva_t gva, void *buf, size_t len)
{
	struct fake *f = o;
	size_t n = 0;
	f->mem_calls++;
	for (; n < len && gva + n >= MEM_BASE && gva + n < MEM_BASE + MEM_SIZE; n++)
		((u8 *)buf)[n] = f->mem[gva + n - MEM_BASE];
	return n;
}

static size_t f_write_mem(void *o, gva_t gva, const void *buf, size_t len)
{
	struct fake *f = o;
	size_t n = 0;
	f->mem_calls++;
	for (; n < len && gva + n >= MEM_BASE && gva + n < MEM_BASE + MEM_SIZE; n++)
		f->mem[gva + n - MEM_BASE] = ((const u8 *)buf)[n];
	return n;
}

static int f_bp(struct fake *f, bool insert, enum gdb_bp_type t, gva_t addr, u64 kind)
{
	f->bp_calls++;
	f->bp_insert = insert;
	f->bp_type = t;
	f->bp_addr = addr;
	f->bp_kind = kind;
	return f->bp_ret;
}

static int f_set_bp(void *o, enum gdb_bp_type t, gva_t addr, u64 kind)
{
	return f_bp(o, true, t, addr, kind);
}

static int f_remove_bp(void *o, enum gdb_bp_type t, gva_t addr, u64 kind)
{
	return f_bp(o, false, t, addr, kind);
}

static const struct gdb_ops ops = {
	.putc = f_putc,
	.mode = f_mode,
	.get_reg = f_get_reg,
	.set_reg = f_set_reg,
	.read_mem = f_read_mem,
	.write_mem = f_write_mem,
	.set_breakpoint = f_set_bp,
	.remove_breakpoint = f_remove_bp,
};

static const struct gdb_ops ops_no_bp = {
	.putc = f_putc,
	.mode = f_mode,
	.get_reg = f_get_reg,
	.set_reg = f_set_reg,
	.read_mem = f_read_mem,
	.write_mem = f_write_mem,
};

/* Distinct bytes in every register: byte i of register r is (r << 4 | i) + 0x11. */
static void fill_regs(void)
{
	for (int r = 0; r < GDB_REG_COUNT; r++) {
		u64 v = 0;
		for (int i = 0; i < 8; i++)
			v |= (u64)((((r << 4) | i) + 0x11) & 0xff) << (8 * i);
		F.regs[r] = v;
	}
}

static int setup(void **state)
{
	(void)state;
	memset(&F, 0, sizeof(F));
	F.mode = 64;
	F.refuse_reg = -1;
	for (int i = 0; i < MEM_SIZE; i++)
		F.mem[i] = (u8)(i * 7 + 3);
	fill_regs();
	gdb_init(&S, &ops, &F);
	return 0;
}

/* ---- Helpers ---- */

/* Feeds n bytes; returns the last action other than GDB_NONE (GDB_NONE if none). */
static enum gdb_action feed_n(const char *bytes, size_t n)
{
	enum gdb_action last = GDB_NONE;
	for (size_t i = 0; i < n; i++) {
		enum gdb_action a = gdb_input(&S, (u8)bytes[i]);
		if (a != GDB_NONE)
			last = a;
	}
	return last;
}

static enum gdb_action feed(const char *bytes)
{
	return feed_n(bytes, strlen(bytes));
}

/* "$payload#cc" for n payload bytes (raw, as they go on the wire). */
static const char *frame_n(const char *payload, size_t n)
{
	static char buf[4][4096];
	static int which;
	char *b = buf[which++ & 3];
	unsigned sum = 0;
	assert_true(n + 5 <= sizeof(buf[0]));
	b[0] = '$';
	memcpy(b + 1, payload, n);
	for (size_t i = 0; i < n; i++)
		sum += (u8)payload[i];
	snprintf(b + 1 + n, 4, "#%02x", sum & 0xff);
	return b;
}

static const char *frame(const char *payload)
{
	return frame_n(payload, strlen(payload));
}

/* Sends one packet; returns the action. */
static enum gdb_action send(const char *payload)
{
	return feed(frame(payload));
}

static enum gdb_action send_n(const char *payload, size_t n)
{
	return feed_n(frame_n(payload, n), n + 4);
}

static void clear_out(void)
{
	F.out_len = 0;
}

/* The stub's output since the last check is exactly `want` (n bytes); then forgets it. */
static void expect_out_n(const char *want, size_t n)
{
	if (F.out_len != n || memcmp(F.out, want, n) != 0) {
		print_error("output: '%.*s'\nwanted: '%.*s'\n", (int)F.out_len, F.out, (int)n, want);
		fail();
	}
	clear_out();
}

static void expect_out(const char *want)
{
	expect_out_n(want, strlen(want));
}

/* The output is "+" then the framed reply (ack mode). */
static void expect_reply(const char *payload)
{
	char want[4200];
	snprintf(want, sizeof(want), "+%s", frame(payload));
	expect_out(want);
}

/* Sends a packet and checks the acked reply. */
static void transact(const char *payload, const char *reply)
{
	assert_int_equal(send(payload), GDB_NONE);
	expect_reply(reply);
}

/* The payload of the single packet the stub sent (after an optional '+'), checksum verified. */
static const char *reply_payload(size_t *len)
{
	static char buf[8192];
	size_t start = F.out_len && F.out[0] == '+' ? 1 : 0;
	unsigned sum = 0;
	char cs[3];
	assert_true(F.out_len >= start + 4);
	assert_int_equal(F.out[start], '$');
	assert_int_equal(F.out[F.out_len - 3], '#');
	*len = F.out_len - start - 4;
	memcpy(buf, F.out + start + 1, *len);
	buf[*len] = 0;
	for (size_t i = 0; i < *len; i++)
		sum += (u8)buf[i];
	snprintf(cs, sizeof(cs), "%02x", sum & 0xff);
	assert_memory_equal(F.out + F.out_len - 2, cs, 2);
	clear_out();
	return buf;
}

/* Appends v as n little-endian bytes in hex. */
static void put_le(char *dst, u64 v, int n)
{
	for (int i = 0; i < n; i++)
		sprintf(dst + strlen(dst), "%02x", (unsigned)(v >> (8 * i)) & 0xff);
}

static void put_x(char *dst, int nbytes)
{
	for (int i = 0; i < nbytes; i++)
		strcat(dst, "xx");
}

/* gdb's register order for each layout: ids into F.regs, -1 for the 8 st + 8 control x87. */
static const int order64[] = {
	GDB_REG_RAX, GDB_REG_RBX, GDB_REG_RCX, GDB_REG_RDX, GDB_REG_RSI, GDB_REG_RDI,
	GDB_REG_RBP, GDB_REG_RSP, GDB_REG_R8, GDB_REG_R9, GDB_REG_R10, GDB_REG_R11,
	GDB_REG_R12, GDB_REG_R13, GDB_REG_R14, GDB_REG_R15, GDB_REG_RIP, GDB_REG_RFLAGS,
	GDB_REG_CS, GDB_REG_SS, GDB_REG_DS, GDB_REG_ES, GDB_REG_FS, GDB_REG_GS,
};
static const int order32[] = {
	GDB_REG_RAX, GDB_REG_RCX, GDB_REG_RDX, GDB_REG_RBX, GDB_REG_RSP, GDB_REG_RBP,
	GDB_REG_RSI, GDB_REG_RDI, GDB_REG_RIP, GDB_REG_RFLAGS,
	GDB_REG_CS, GDB_REG_SS, GDB_REG_DS, GDB_REG_ES, GDB_REG_FS, GDB_REG_GS,
};

/* The 'g' payload the regs in F must give, built independently of the stub. */
static void expected_g(char *dst, int mode)
{
	dst[0] = 0;
	if (mode == 64) {
		for (int i = 0; i < 24; i++)
			put_le(dst, F.regs[order64[i]], i < 17 ? 8 : 4);
	} else {
		for (int i = 0; i < 16; i++)
			put_le(dst, F.regs[order32[i]], 4);
	}
	put_x(dst, 8 * 10); /* st0-st7 */
	put_x(dst, 8 * 4);  /* fctrl fstat ftag fiseg fioff foseg fooff fop */
	if (mode == 64) {
		put_le(dst, F.regs[GDB_REG_FS_BASE], 8);
		put_le(dst, F.regs[GDB_REG_GS_BASE], 8);
	}
}

/* ---- Framing, acks, checksums ---- */

static void test_literal_stop_reply(void **state)
{
	(void)state;
	assert_int_equal(feed("$?#3f"), GDB_NONE);
	expect_out("+$T05thread:01;#07");
	assert_int_equal(feed("$qC#b4"), GDB_NONE);
	expect_out("+$QC01#f5");
}

static void test_checksum_digits_any_case(void **state)
{
	(void)state;
	feed("$vCont?#49");
	expect_out("+$vCont;c;C;s;S#62");
	feed("+$qfThreadInfo#BB");
	expect_out("+$m01#ce");
}

static void test_bad_checksum_nak_then_retry(void **state)
{
	(void)state;
	assert_int_equal(feed("$?#3e"), GDB_NONE);
	expect_out("-");
	assert_int_equal(feed("$c#00"), GDB_NONE); /* a bad resume must not resume */
	expect_out("-");
	feed("$?#zz");
	expect_out("-");
	feed("$?#3f");
	expect_out("+$T05thread:01;#07");
}

static void test_nak_from_gdb_resends_last_packet(void **state)
{
	(void)state;
	feed("-"); /* nothing sent yet: nothing to resend */
	expect_out("");
	transact("qAttached", "1");
	feed("-");
	expect_out("$1#31");
	feed("-");
	expect_out("$1#31");
	feed("+"); /* ack: nothing */
	expect_out("");
}

static void test_noise_outside_packets_ignored(void **state)
{
	(void)state;
	assert_int_equal(feed("+++xyz\r\n#00"), GDB_NONE);
	expect_out("");
	transact("?", "T05thread:01;");
}

static void test_dollar_restarts_packet(void **state)
{
	(void)state;
	feed("$qAtt$qC#b4"); /* gdb gave up on the first one */
	expect_out("+$QC01#f5");
	feed("$qAttached#");
	feed("$qC#b4"); /* '$' where a checksum digit was expected */
	expect_out("+$QC01#f5");
}

static void test_unknown_and_empty_packets_get_empty_reply(void **state)
{
	(void)state;
	transact("vMustReplyEmpty", "");
	transact("qTStatus", "");
	transact("!", "");
	transact("R00", "");
	transact("qRcmd,7265736574", "");
	transact("QNonStop:1", "");
	transact("vKill;1", "");
	feed("$#00");
	expect_out("+$#00");
}

static void test_overlong_packet_answered_with_error(void **state)
{
	(void)state;
	static char big[GDB_PACKET_MAX + 100];
	memset(big, 'q', sizeof(big));
	assert_int_equal(send_n(big, sizeof(big)), GDB_NONE);
	expect_reply("E16");
	transact("qC", "QC01"); /* the receiver is back in sync */
}

static void test_noack_mode(void **state)
{
	(void)state;
	transact("QStartNoAckMode", "OK");
	feed("+"); /* gdb acks the OK */
	assert_int_equal(feed("$?#3f"), GDB_NONE);
	expect_out("$T05thread:01;#07");
	feed("$?#00"); /* bad checksum: dropped silently */
	expect_out("");
	feed("-"); /* no retransmission either */
	expect_out("");
	/* A new gdb session (qSupported) starts in ack mode again. */
	send("qSupported:xmlRegisters=i386");
	assert_int_equal(F.out[0], '+');
	clear_out();
	transact("qC", "QC01");
}

/* ---- Queries ---- */

static void test_qsupported(void **state)
{
	(void)state;
	feed("$qSupported:multiprocess+;xmlRegisters=i386#00"); /* bad checksum first */
	expect_out("-");
	transact("qSupported:multiprocess+;xmlRegisters=i386",
		 "PacketSize=400;qXfer:features:read+;QStartNoAckMode+");
	feed("$qSupported:swbreak+;hwbreak+#d5");
	expect_out("+$PacketSize=400;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+#54");
	transact("qSupported", "PacketSize=400;qXfer:features:read+;QStartNoAckMode+");
	transact("qSupported:swbreak-;xswbreak+;hwbreak+x",
		 "PacketSize=400;qXfer:features:read+;QStartNoAckMode+");
}

static void test_thread_queries(void **state)
{
	(void)state;
	transact("qAttached", "1");
	transact("qAttached:1", "1");
	transact("qC", "QC01");
	transact("qfThreadInfo", "m01");
	transact("qsThreadInfo", "l");
	transact("Hg0", "OK");
	transact("Hc-1", "OK");
	transact("Hg1", "OK");
	transact("T1", "OK");
	transact("T01", "OK");
	transact("T2", "E01");
	transact("T", "E01");
	transact("qCRC:1000,4", ""); /* not qC */
}

/* ---- Registers ---- */

static void test_g_amd64_layout(void **state)
{
	(void)state;
	static char want[2048];
	size_t len;
	const char *got;
	expected_g(want, 64);
	assert_int_equal(strlen(want), 2 * (17 * 8 + 7 * 4 + 8 * 10 + 8 * 4 + 2 * 8));
	send("g");
	got = reply_payload(&len);
	assert_int_equal(len, 584);
	assert_string_equal(got, want);
	/* rax first, little-endian: byte 0 of register 0 is 0x11. */
	assert_memory_equal(got, "1112131415161718", 16);
	/* then rbx (id 3), not rcx. */
	assert_memory_equal(got + 16, "4142434445464748", 16);
	/* eflags: 4 bytes at offset 17 * 8. */
	assert_memory_equal(got + 2 * 136, "2122232431323334", 16); /* eflags, then cs */
}

static void test_g_i386_layout_truncates(void **state)
{
	(void)state;
	static char want[2048];
	size_t len;
	const char *got;
	F.mode = 32;
	F.regs[GDB_REG_RAX] = 0x1122334455667788ULL;
	expected_g(want, 32);
	assert_int_equal(strlen(want), 2 * (16 * 4 + 8 * 10 + 8 * 4));
	send("g");
	got = reply_payload(&len);
	assert_int_equal(len, 352);
	assert_string_equal(got, want);
	assert_memory_equal(got, "88776655", 8);        /* eax: low half only */
	assert_memory_equal(got + 8, "21222324", 8);    /* then ecx (id 1) */
	assert_memory_equal(got + 64, "11121314", 8);   /* eip: id 16, (0x100 | i) + 0x11 */
	assert_memory_equal(got + 128, "xxxxxxxx", 8);  /* st0 */
}

static void test_g_with_arguments_is_malformed(void **state)
{
	(void)state;
	transact("g00", "E16");
}

static void test_p_single_registers_amd64(void **state)
{
	(void)state;
	char want[64] = "";
	put_le(want, F.regs[GDB_REG_RAX], 8);
	transact("p0", want);
	want[0] = 0;
	put_le(want, F.regs[GDB_REG_RBX], 8);
	transact("p1", want);
	want[0] = 0;
	put_le(want, F.regs[GDB_REG_RSP], 8);
	transact("p7", want);
	want[0] = 0;
	put_le(want, F.regs[GDB_REG_RIP], 8);
	transact("p10", want);
	want[0] = 0;
	put_le(want, F.regs[GDB_REG_RFLAGS], 4);
	transact("p11", want);
	want[0] = 0;
	put_le(want, F.regs[GDB_REG_GS], 4);
	transact("p17", want);
	transact("p18", "xxxxxxxxxxxxxxxxxxxx"); /* st0: 10 bytes, unavailable */
	transact("p27", "xxxxxxxx");             /* fop */
	want[0] = 0;
	put_le(want, F.regs[GDB_REG_FS_BASE], 8);
	transact("p28", want);
	want[0] = 0;
	put_le(want, F.regs[GDB_REG_GS_BASE], 8);
	transact("p29", want);
	transact("p2a", "E16");
	transact("p", "E16");
	transact("p1x", "E16");
	transact("pffffffffffffffffff", "E16");
}

static void test_p_single_registers_i386(void **state)
{
	(void)state;
	char want[64] = "";
	F.mode = 32;
	put_le(want, F.regs[GDB_REG_RCX], 4);
	transact("p1", want);
	want[0] = 0;
	put_le(want, F.regs[GDB_REG_RIP], 4);
	transact("p8", want);
	transact("p10", "xxxxxxxxxxxxxxxxxxxx"); /* st0 */
	transact("p1f", "xxxxxxxx");             /* fop, the last one */
	transact("p20", "E16");                  /* no fs_base in the i386 layout */
}

static void test_P_writes_register(void **state)
{
	(void)state;
	transact("P0=8877665544332211", "OK");
	assert_true(F.regs[GDB_REG_RAX] == 0x1122334455667788ULL);
	transact("P10=0010000000000000", "OK");
	assert_true(F.regs[GDB_REG_RIP] == 0x1000);
	F.regs[GDB_REG_RFLAGS] = 0x2; /* RFLAGS[63:32] are reserved zeros */
	transact("P11=46020000", "OK"); /* eflags: 4 bytes */
	assert_true(F.regs[GDB_REG_RFLAGS] == 0x246);
	transact("P28=00f0debc0a000000", "OK");
	assert_true(F.regs[GDB_REG_FS_BASE] == 0xabcdef000ULL);
}

static void test_P_i386_keeps_upper_half(void **state)
{
	(void)state;
	F.mode = 32;
	F.regs[GDB_REG_RAX] = 0xaaaaaaaa00000000ULL;
	transact("P0=efbeadde", "OK");
	assert_true(F.regs[GDB_REG_RAX] == 0xaaaaaaaadeadbeefULL);
	transact("P0=efbeadde00000000", "E16"); /* 64-bit value in the 32-bit layout */
}

static void test_P_unchanged_value_not_written(void **state)
{
	(void)state;
	char pkt[64] = "P12=";
	F.refuse_reg = GDB_REG_CS;
	put_le(pkt, F.regs[GDB_REG_CS], 4);
	transact(pkt, "OK");
	assert_int_equal(F.set_calls, 0);
	transact("P12=08000000", "E01"); /* a real change the target refuses */
	assert_int_equal(F.set_calls, 1);
}

static void test_P_errors(void **state)
{
	(void)state;
	transact("P18=00000000000000000000", "E01"); /* st0 cannot be written */
	transact("P0=88776655", "E16");              /* short */
	transact("P0=887766554433221100", "E16");    /* long */
	transact("P0=88776655443322zz", "E16");
	transact("P0", "E16");
	transact("P2a=0000000000000000", "E16");
	assert_int_equal(F.set_calls, 0);
}

static void test_G_round_trip(void **state)
{
	(void)state;
	static char blk[2048];
	static char pkt[2100];
	u64 before[GDB_REG_COUNT];
	memcpy(before, F.regs, sizeof(before));
	F.refuse_reg = GDB_REG_CS; /* echoing CS back must not be a write */
	expected_g(blk, 64);
	/* New rax and rip; everything else as read (x87 sent as zeros, as gdb does). */
	memcpy(blk, "0100000000000000", 16);
	memcpy(blk + 2 * 128, "0020000000000000", 16);
	for (char *p = blk; *p; p++)
		if (*p == 'x')
			*p = '0';
	snprintf(pkt, sizeof(pkt), "G%s", blk);
	transact(pkt, "OK");
	assert_true(F.regs[GDB_REG_RAX] == 1);
	assert_true(F.regs[GDB_REG_RIP] == 0x2000);
	assert_int_equal(F.set_calls, 2);
	for (int r = 0; r < GDB_REG_COUNT; r++)
		if (r != GDB_REG_RAX && r != GDB_REG_RIP)
			assert_true(F.regs[r] == before[r]);
}

static void test_G_malformed_writes_nothing(void **state)
{
	(void)state;
	static char blk[2048];
	static char pkt[2100];
	expected_g(blk, 64);
	memcpy(blk, "0100000000000000", 16);
	snprintf(pkt, sizeof(pkt), "G%.*s", (int)strlen(blk) - 2, blk); /* one byte short */
	transact(pkt, "E16");
	snprintf(pkt, sizeof(pkt), "G%s00", blk); /* one byte long */
	transact(pkt, "E16");
	blk[20] = 'q'; /* junk in rbx */
	snprintf(pkt, sizeof(pkt), "G%s", blk);
	transact(pkt, "E16");
	assert_int_equal(F.set_calls, 0);
}

static void test_G_refused_register_reported(void **state)
{
	(void)state;
	static char blk[2048];
	static char pkt[2100];
	F.mode = 32;
	F.refuse_reg = GDB_REG_CS;
	expected_g(blk, 32);
	memcpy(blk + 2 * 40, "08000000", 8); /* cs */
	memcpy(blk, "05000000", 8);          /* eax */
	snprintf(pkt, sizeof(pkt), "G%s", blk);
	transact(pkt, "E01");
	assert_true((F.regs[GDB_REG_RAX] & 0xffffffff) == 5); /* the others still written */
}

/* ---- Memory ---- */

static void test_m_reads_memory(void **state)
{
	(void)state;
	char want[64] = "";
	for (int i = 0; i < 4; i++)
		sprintf(want + 2 * i, "%02x", F.mem[0x10 + i]);
	transact("m10010,4", want);
	transact("m10000,0", "");
	sprintf(want, "%02x", F.mem[0xfff]);
	transact("m10fff,1", want); /* the last mapped byte */
}

static void test_m_partial_is_an_error(void **state)
{
	(void)state;
	transact("m10ffe,4", "E0e"); /* crosses the end of the mapped window */
	transact("m0,1", "E0e");
	transact("m10000", "E16");
	transact("m10000,", "E16");
	transact("m,4", "E16");
	transact("m10000,4x", "E16");
}

static void test_m_long_read_clamped(void **state)
{
	(void)state;
	size_t len;
	const char *got;
	send("m10000,800");
	got = reply_payload(&len);
	assert_int_equal(len, GDB_PACKET_MAX); /* 512 bytes as hex; gdb asks for the rest */
	for (int i = 0; i < GDB_PACKET_MAX / 2; i++) {
		char b[3];
		sprintf(b, "%02x", F.mem[i]);
		assert_memory_equal(got + 2 * i, b, 2);
	}
}

static void test_M_writes_memory(void **state)
{
	(void)state;
	transact("M10100,4:deadBEEF", "OK");
	assert_int_equal(F.mem[0x100], 0xde);
	assert_int_equal(F.mem[0x103], 0xef);
	transact("M10100,4:dead", "E16");
	transact("M10100,2:deadbe", "E16");
	transact("M10100,2:zzzz", "E16");
	transact("M10ffe,4:01020304", "E0e");
	transact("M10100,0:", "OK");
}

static void test_X_binary_with_escapes(void **state)
{
	(void)state;
	/* Data 7d 23 24 2a 03 00 41: gdb escapes } # $ * as '}' + (b ^ 0x20); 0x03 and 0x00
	 * are sent raw (a 0x03 inside a packet is data, not Ctrl-C). */
	static const char raw[] = "X10200,7:}]}\x03}\x04}\x0a\x03\x00" "A";
	size_t n = sizeof(raw) - 1;
	assert_int_equal(send_n(raw, n), GDB_NONE);
	expect_reply("OK");
	assert_int_equal(F.mem[0x200], 0x7d);
	assert_int_equal(F.mem[0x201], 0x23);
	assert_int_equal(F.mem[0x202], 0x24);
	assert_int_equal(F.mem[0x203], 0x2a);
	assert_int_equal(F.mem[0x204], 0x03);
	assert_int_equal(F.mem[0x205], 0x00);
	assert_int_equal(F.mem[0x206], 0x41);
}

static void test_X_literal_checksum_over_escaped_bytes(void **state)
{
	(void)state;
	/* "X10000,1:}]" sums to 0x2ba: the checksum covers the bytes as sent (escape included). */
	feed("$X10000,1:}]#ba");
	expect_out("+$OK#9a");
	assert_int_equal(F.mem[0], 0x7d);
}

static void test_X_probe_and_errors(void **state)
{
	(void)state;
	transact("X10000,0:", "OK"); /* gdb's probe for X support */
	assert_int_equal(F.mem_calls, 0);
	transact("X10000,2:A", "E16");
	transact("X10000,1:AB", "E16");
	transact("X10fff,2:AB", "E0e");
	transact("X0,1:A", "E0e");
	transact("X10000,1A", "E16");
}

/* ---- Breakpoints ---- */

static void test_Z_z_software_and_hardware(void **state)
{
	(void)state;
	transact("Z0,101234,1", "OK");
	assert_int_equal(F.bp_calls, 1);
	assert_true(F.bp_insert);
	assert_int_equal(F.bp_type, GDB_BP_SOFTWARE);
	assert_true(F.bp_addr == 0x101234);
	assert_true(F.bp_kind == 1);
	transact("z0,101234,1", "OK");
	assert_false(F.bp_insert);
	transact("Z1,ffffffff80001000,1", "OK");
	assert_int_equal(F.bp_type, GDB_BP_HARDWARE);
	assert_true(F.bp_addr == 0xffffffff80001000ULL);
	transact("z1,ffffffff80001000,1", "OK");
	assert_int_equal(F.bp_calls, 4);
}

static void test_Z_watchpoints_passed_or_unsupported(void **state)
{
	(void)state;
	transact("Z2,2000,4", "OK");
	assert_int_equal(F.bp_type, GDB_BP_WRITE);
	assert_true(F.bp_kind == 4);
	transact("Z3,2000,8", "OK");
	assert_int_equal(F.bp_type, GDB_BP_READ);
	transact("Z4,2000,2", "OK");
	assert_int_equal(F.bp_type, GDB_BP_ACCESS);
	F.bp_ret = GDB_UNSUPPORTED;
	transact("Z2,2000,4", "");
	F.bp_ret = -1;
	transact("Z0,2000,1", "E01");
	transact("z0,2000,1", "E01");
	F.bp_calls = 0;
	transact("Z5,2000,1", ""); /* no such type */
	assert_int_equal(F.bp_calls, 0);
}

static void test_Z_malformed_and_no_ops(void **state)
{
	(void)state;
	transact("Z0,2000", "E16");
	transact("Z0", "E16");
	transact("Z0,2000,1x", "E16");
	transact("Z0,2000,1;X1,ff", "OK"); /* condition list tolerated (never offered) */
	gdb_init(&S, &ops_no_bp, &F);
	F.bp_calls = 0;
	transact("Z0,2000,1", "");
	transact("z1,2000,1", "");
	assert_int_equal(F.bp_calls, 0);
}

/* ---- Execution ---- */

static void test_continue_then_stop_reply(void **state)
{
	(void)state;
	assert_int_equal(send("c"), GDB_CONTINUE);
	expect_out("+"); /* no reply until the guest stops */
	gdb_report_stop(&S, GDB_SIGTRAP);
	expect_out("$T05thread:01;#07");
	gdb_report_stop(&S, GDB_SIGTRAP); /* not resumed since: nothing owed */
	expect_out("");
}

static void test_continue_and_step_with_address(void **state)
{
	(void)state;
	assert_int_equal(send("c1000"), GDB_CONTINUE);
	assert_true(F.regs[GDB_REG_RIP] == 0x1000);
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
	assert_int_equal(send("s2000"), GDB_STEP);
	assert_true(F.regs[GDB_REG_RIP] == 0x2000);
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
	assert_int_equal(send("C05;3000"), GDB_CONTINUE);
	assert_true(F.regs[GDB_REG_RIP] == 0x3000);
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
	assert_int_equal(send("S0b"), GDB_STEP);
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
	assert_int_equal(send("c10x"), GDB_NONE);
	expect_reply("E16");
	assert_int_equal(send("C"), GDB_NONE);
	expect_reply("E16");
	F.refuse_reg = GDB_REG_RIP;
	assert_int_equal(send("c4000"), GDB_NONE);
	expect_reply("E01");
}

static void test_step_then_stop_reply(void **state)
{
	(void)state;
	feed("$s#73");
	expect_out("+");
	gdb_report_stop(&S, GDB_SIGTRAP);
	expect_out("$T05thread:01;#07");
}

static void test_vcont(void **state)
{
	(void)state;
	transact("vCont?", "vCont;c;C;s;S");
	assert_int_equal(send("vCont;c"), GDB_CONTINUE);
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
	assert_int_equal(send("vCont;s:1;c"), GDB_STEP); /* gdb's single step */
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
	assert_int_equal(send("vCont;s:2;c"), GDB_CONTINUE); /* thread 2 is not ours */
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
	assert_int_equal(send("vCont;c:-1"), GDB_CONTINUE);
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
	assert_int_equal(send("vCont;S05:01"), GDB_STEP);
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
	assert_int_equal(send("vCont;C0b"), GDB_CONTINUE);
	gdb_report_stop(&S, GDB_SIGTRAP);
	clear_out();
}

static void test_vcont_errors(void **state)
{
	(void)state;
	assert_int_equal(send("vCont;c:2"), GDB_NONE); /* nothing for our thread */
	expect_reply("E16");
	assert_int_equal(send("vCont;t"), GDB_NONE);
	expect_reply("E16");
	assert_int_equal(send("vCont;r1000,2000"), GDB_NONE);
	expect_reply("E16");
	assert_int_equal(send("vCont;"), GDB_NONE);
	expect_reply("E16");
	assert_int_equal(send("vCont;c:"), GDB_NONE);
	expect_reply("E16");
	assert_int_equal(send("vCont;c;"), GDB_NONE);
	expect_reply("E16");
	assert_int_equal(send("vCont;C"), GDB_NONE);
	expect_reply("E16");
	transact("vCont", "");
}

static void test_ctrl_c_stops_running_guest(void **state)
{
	(void)state;
	assert_int_equal(send("vCont;c"), GDB_CONTINUE);
	expect_out("+");
	assert_int_equal(gdb_input(&S, 0x03), GDB_STOP);
	expect_out(""); /* the reply waits for the guest to stop */
	gdb_report_stop(&S, GDB_SIGINT);
	expect_out("$T02thread:01;#04");
	transact("?", "T02thread:01;"); /* '?' repeats the last stop */
}

static void test_ctrl_c_while_stopped_ignored(void **state)
{
	(void)state;
	assert_int_equal(gdb_input(&S, 0x03), GDB_NONE);
	expect_out("");
	transact("?", "T05thread:01;");
}

static void test_ctrl_c_inside_packet_is_data(void **state)
{
	(void)state;
	assert_int_equal(send("c"), GDB_CONTINUE);
	clear_out();
	/* A packet while running (gdb does not, but a 0x03 in it must not stop anything). */
	assert_int_equal(feed("$qRcmd,\x03#00"), GDB_NONE);
	expect_out("-");
}

static void test_stop_reasons(void **state)
{
	(void)state;
	transact("qSupported:swbreak+;hwbreak+",
		 "PacketSize=400;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+");
	send("c");
	clear_out();
	gdb_report_stop_reason(&S, GDB_SIGTRAP, GDB_STOP_SWBREAK, 0);
	expect_out("$T05swbreak:;thread:01;#6b");
	send("c");
	clear_out();
	gdb_report_stop_reason(&S, GDB_SIGTRAP, GDB_STOP_HWBREAK, 0);
	expect_out("$T05hwbreak:;thread:01;#60");
	send("c");
	clear_out();
	gdb_report_stop_reason(&S, GDB_SIGTRAP, GDB_STOP_WATCH, 0x2000);
	expect_out("$T05watch:2000;thread:01;#55");
	send("c");
	clear_out();
	gdb_report_stop_reason(&S, GDB_SIGTRAP, GDB_STOP_RWATCH, 0xffffffff80000000ULL);
	expect_out(frame("T05rwatch:ffffffff80000000;thread:01;"));
	send("c");
	clear_out();
	gdb_report_stop_reason(&S, GDB_SIGTRAP, GDB_STOP_AWATCH, 0);
	expect_out(frame("T05awatch:0;thread:01;"));
	transact("?", "T05awatch:0;thread:01;");
}

static void test_swbreak_not_offered_not_reported(void **state)
{
	(void)state;
	transact("qSupported:multiprocess+", "PacketSize=400;qXfer:features:read+;QStartNoAckMode+");
	send("c");
	clear_out();
	gdb_report_stop_reason(&S, GDB_SIGTRAP, GDB_STOP_SWBREAK, 0);
	expect_out("$T05thread:01;#07");
	send("c");
	clear_out();
	gdb_report_stop_reason(&S, GDB_SIGTRAP, GDB_STOP_HWBREAK, 0);
	expect_out("$T05thread:01;#07");
}

static void test_report_stop_without_resume_only_recorded(void **state)
{
	(void)state;
	transact("qC", "QC01");
	gdb_report_stop(&S, GDB_SIGINT);
	expect_out("");
	transact("?", "T02thread:01;");
}

static void test_question_while_running_stops_first(void **state)
{
	(void)state;
	gdb_target_resumed(&S); /* the guest runs before gdb connects */
	assert_false(gdb_attached(&S));
	assert_int_equal(gdb_input(&S, 0x03), GDB_STOP); /* Ctrl-C before any packet */
	assert_true(gdb_attached(&S));
	gdb_report_stop(&S, GDB_SIGINT);
	expect_out("$T02thread:01;#04");
	/* And the same through '?' after a detach. */
	assert_int_equal(send("D"), GDB_DETACH);
	clear_out();
	assert_int_equal(send("?"), GDB_STOP);
	expect_out("+");
	gdb_report_stop(&S, GDB_SIGTRAP);
	expect_out("$T05thread:01;#07");
}

static void test_detach(void **state)
{
	(void)state;
	transact("QStartNoAckMode", "OK");
	assert_true(gdb_attached(&S));
	assert_int_equal(feed("$D#44"), GDB_DETACH);
	expect_out("$OK#9a"); /* still no-ack for this reply */
	assert_false(gdb_attached(&S));
	gdb_report_stop(&S, GDB_SIGTRAP); /* nobody listens */
	expect_out("");
	/* The next gdb starts in ack mode. */
	feed("$qC#b4");
	expect_out("+$QC01#f5");
	assert_int_equal(send("D;1"), GDB_DETACH);
	expect_reply("OK");
}

static void test_kill(void **state)
{
	(void)state;
	assert_int_equal(feed("$k#6b"), GDB_KILL);
	expect_out("+"); /* k has no reply */
	assert_false(gdb_attached(&S));
}

/* ---- Target description ---- */

/* Reads target.xml with chunks of `chunk` bytes; checks 'm'/'l' and returns the document. */
static const char *read_target_xml(size_t chunk, size_t *total)
{
	static char doc[16384];
	size_t off = 0;
	for (;;) {
		char q[80];
		size_t len;
		const char *got;
		snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,%zx", off, chunk);
		send(q);
		got = reply_payload(&len);
		assert_true(len >= 1 && len - 1 <= chunk);
		assert_true(got[0] == 'm' || got[0] == 'l');
		assert_true(off + len - 1 < sizeof(doc));
		memcpy(doc + off, got + 1, len - 1);
		off += len - 1;
		if (got[0] == 'l')
			break;
		assert_true(len - 1 > 0);
	}
	doc[off] = 0;
	*total = off;
	return doc;
}

/* Register names and bitsizes, in document order, from a target.xml. */
static int xml_regs(const char *doc, char names[][16], int *bits, int max)
{
	int n = 0;
	for (const char *p = doc; (p = strstr(p, "<reg name=\"")) != NULL; n++) {
		const char *b;
		assert_true(n < max);
		p += strlen("<reg name=\"");
		assert_int_equal(sscanf(p, "%15[^\"]", names[n]), 1);
		b = strstr(p, "bitsize=\"");
		assert_non_null(b);
		bits[n] = atoi(b + strlen("bitsize=\""));
	}
	return n;
}

static const char *const gdb_names64[] = {
	"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
	"r12", "r13", "r14", "r15", "rip", "eflags", "cs", "ss", "ds", "es", "fs", "gs",
	"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7",
	"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
	"fs_base", "gs_base",
};
static const char *const gdb_names32[] = {
	"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags",
	"cs", "ss", "ds", "es", "fs", "gs",
	"st0", "st1", "st2", "st3", "st4", "st5", "st6", "st7",
	"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop",
};

/* The description names gdb's registers in gdb's order and its widths add up to 'g'. */
static void check_description(int mode, const char *arch, const char *const *names, int n)
{
	char got_names[64][16];
	int bits[64], total_bits = 0, count;
	size_t total, glen;
	const char *doc;
	char archtag[64];
	F.mode = mode;
	gdb_init(&S, &ops, &F);
	doc = read_target_xml(0x3fb, &total);
	assert_int_equal(strlen(doc), total);
	assert_non_null(strstr(doc, "<?xml version=\"1.0\"?>"));
	snprintf(archtag, sizeof(archtag), "<architecture>%s</architecture>", arch);
	assert_non_null(strstr(doc, archtag));
	assert_non_null(strstr(doc, "<feature name=\"org.gnu.gdb.i386.core\">"));
	assert_non_null(strstr(doc, "<flags id=\"i386_eflags\" size=\"4\">"));
	assert_non_null(strstr(doc, "</target>"));
	assert_null(strpbrk(doc, "$#}*"));
	assert_true((strstr(doc, "org.gnu.gdb.i386.segments") != NULL) == (mode == 64));
	count = xml_regs(doc, got_names, bits, 64);
	assert_int_equal(count, n);
	for (int i = 0; i < n; i++) {
		assert_string_equal(got_names[i], names[i]);
		total_bits += bits[i];
	}
	send("g");
	reply_payload(&glen);
	assert_int_equal(glen, (size_t)total_bits / 4);
}

static void test_target_xml_amd64(void **state)
{
	(void)state;
	check_description(64, "i386:x86-64", gdb_names64, (int)ARRAY_SIZE(gdb_names64));
}

static void test_target_xml_i386(void **state)
{
	(void)state;
	check_description(32, "i386", gdb_names32, (int)ARRAY_SIZE(gdb_names32));
}

static void test_target_xml_same_for_any_chunking(void **state)
{
	(void)state;
	static char whole[16384];
	size_t total, t;
	strcpy(whole, read_target_xml(0x3fb, &total));
	assert_true(total > GDB_PACKET_MAX); /* needs several requests */
	static const size_t chunks[] = { 1, 2, 7, 64, 100, 1000, 0x3fb, 0x3ff, 0x400, 0x10000 };
	for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
		const char *doc = read_target_xml(chunks[i], &t);
		assert_int_equal(t, total);
		assert_string_equal(doc, whole);
	}
}

static void test_target_xml_offsets(void **state)
{
	(void)state;
	static char whole[16384];
	char q[80];
	size_t total, len;
	const char *got;
	strcpy(whole, read_target_xml(0x3fb, &total));
	/* The last 10 bytes: 'l'. */
	snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,a", total - 10);
	send(q);
	got = reply_payload(&len);
	assert_int_equal(len, 11);
	assert_int_equal(got[0], 'l');
	assert_memory_equal(got + 1, whole + total - 10, 10);
	/* 10 bytes ending one before the end: 'm'. */
	snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,a", total - 11);
	send(q);
	got = reply_payload(&len);
	assert_int_equal(got[0], 'm');
	assert_memory_equal(got + 1, whole + total - 11, 10);
	/* At and past the end: an empty 'l'. */
	snprintf(q, sizeof(q), "qXfer:features:read:target.xml:%zx,10", total);
	transact(q, "l");
	transact("qXfer:features:read:target.xml:ffffffff,10", "l");
	transact("qXfer:features:read:target.xml:0,0", "m"); /* nothing asked, more to come */
	/* An offset + length that wraps around. */
	send("qXfer:features:read:target.xml:10,ffffffffffffffff");
	got = reply_payload(&len);
	assert_int_equal(got[0], 'm');
	assert_memory_equal(got + 1, whole + 0x10, len - 1);
}

static void test_target_xml_errors(void **state)
{
	(void)state;
	transact("qXfer:features:read:other.xml:0,100", "E00");
	transact("qXfer:features:read:target.xml:0", "E00");
	transact("qXfer:features:read:target.xml:,10", "E00");
	transact("qXfer:features:read:target.xml0,10", "E00");
	transact("qXfer:memory-map:read::0,100", ""); /* not offered */
}

static void test_layout_latched_per_session(void **state)
{
	(void)state;
	size_t len;
	F.mode = 32;
	transact("qSupported", "PacketSize=400;qXfer:features:read+;QStartNoAckMode+");
	send("g");
	reply_payload(&len);
	assert_int_equal(len, 352);
	F.mode = 64; /* the guest enters long mode: this gdb still has the i386 description */
	send("g");
	reply_payload(&len);
	assert_int_equal(len, 352);
	send("qXfer:features:read:target.xml:0,3fb");
	assert_null(strstr(reply_payload(&len), "x86-64"));
	assert_int_equal(F.mode_calls, 1);
	/* A new session describes the new mode. */
	transact("qSupported", "PacketSize=400;qXfer:features:read+;QStartNoAckMode+");
	send("g");
	reply_payload(&len);
	assert_int_equal(len, 584);
	assert_int_equal(F.mode_calls, 2);
}

static void test_odd_mode_value_means_i386(void **state)
{
	(void)state;
	size_t len;
	F.mode = 16; /* real mode: gdb gets the i386 layout */
	send("g");
	reply_payload(&len);
	assert_int_equal(len, 352);
}

/* A gdb 13 connection as captured from a real session (acks, then no-ack mode). */
static void test_gdb13_connect_sequence(void **state)
{
	(void)state;
	size_t len;
	feed("+");
	expect_out("");
	transact("qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;"
		 "vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;"
		 "memory-tagging+;xmlRegisters=i386",
		 "PacketSize=400;qXfer:features:read+;QStartNoAckMode+;swbreak+;hwbreak+");
	feed("+");
	transact("vMustReplyEmpty", "");
	feed("+");
	transact("QStartNoAckMode", "OK");
	feed("+");
	assert_int_equal(feed("$Hg0#df"), GDB_NONE);
	expect_out("$OK#9a");
	send("qXfer:features:read:target.xml:0,3fb");
	assert_int_equal(reply_payload(&len)[0], 'm');
	send("qTStatus");
	expect_out("$#00");
	send("?");
	expect_out("$T05thread:01;#07");
	send("qfThreadInfo");
	expect_out("$m01#ce");
	send("qsThreadInfo");
	expect_out("$l#6c");
	send("qAttached");
	expect_out("$1#31");
	send("Hc-1");
	expect_out("$OK#9a");
	send("qOffsets");
	expect_out("$#00");
	send("g");
	reply_payload(&len);
	assert_int_equal(len, 584);
}

#define T(f) cmocka_unit_test_setup(f, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_literal_stop_reply),
		T(test_checksum_digits_any_case),
		T(test_bad_checksum_nak_then_retry),
		T(test_nak_from_gdb_resends_last_packet),
		T(test_noise_outside_packets_ignored),
		T(test_dollar_restarts_packet),
		T(test_unknown_and_empty_packets_get_empty_reply),
		T(test_overlong_packet_answered_with_error),
		T(test_noack_mode),
		T(test_qsupported),
		T(test_thread_queries),
		T(test_g_amd64_layout),
		T(test_g_i386_layout_truncates),
		T(test_g_with_arguments_is_malformed),
		T(test_p_single_registers_amd64),
		T(test_p_single_registers_i386),
		T(test_P_writes_register),
		T(test_P_i386_keeps_upper_half),
		T(test_P_unchanged_value_not_written),
		T(test_P_errors),
		T(test_G_round_trip),
		T(test_G_malformed_writes_nothing),
		T(test_G_refused_register_reported),
		T(test_m_reads_memory),
		T(test_m_partial_is_an_error),
		T(test_m_long_read_clamped),
		T(test_M_writes_memory),
		T(test_X_binary_with_escapes),
		T(test_X_literal_checksum_over_escaped_bytes),
		T(test_X_probe_and_errors),
		T(test_Z_z_software_and_hardware),
		T(test_Z_watchpoints_passed_or_unsupported),
		T(test_Z_malformed_and_no_ops),
		T(test_continue_then_stop_reply),
		T(test_continue_and_step_with_address),
		T(test_step_then_stop_reply),
		T(test_vcont),
		T(test_vcont_errors),
		T(test_ctrl_c_stops_running_guest),
		T(test_ctrl_c_while_stopped_ignored),
		T(test_ctrl_c_inside_packet_is_data),
		T(test_stop_reasons),
		T(test_swbreak_not_offered_not_reported),
		T(test_report_stop_without_resume_only_recorded),
		T(test_question_while_running_stops_first),
		T(test_detach),
		T(test_kill),
		T(test_target_xml_amd64),
		T(test_target_xml_i386),
		T(test_target_xml_same_for_any_chunking),
		T(test_target_xml_offsets),
		T(test_target_xml_errors),
		T(test_layout_latched_per_session),
		T(test_odd_mode_value_means_i386),
		T(test_gdb13_connect_sequence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
