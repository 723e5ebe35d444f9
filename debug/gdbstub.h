/* gdbstub.h - GDB remote serial protocol server core: packets in, replies out, target through
 * struct gdb_ops. Pure: bytes arrive one at a time (gdb_input), replies leave through
 * ops->putc, and the guest is reached only through the ops, so host tests drive it with byte
 * streams (tests/unit/test_gdbstub.c). The caller owns the transport (a UART) and the vCPU:
 * it acts on the gdb_action each byte returns and calls gdb_report_stop when the guest stops.
 *
 * Protocol reference: the GDB manual, appendix "Remote Serial Protocol". One thread (id 1),
 * all-stop mode, no multiprocess extensions. */
#ifndef DEBUG_GDBSTUB_H
#define DEBUG_GDBSTUB_H

#include "arch/types.h"

/* Largest packet payload accepted or sent (advertised as PacketSize in qSupported). */
#define GDB_PACKET_MAX 1024

/* Signals in stop replies (gdb's numbering, which matches Linux for these two). */
#define GDB_SIGINT 2
#define GDB_SIGTRAP 5

/* Registers by a neutral id: the GPRs in x86 register-number order (RAX=0 ... R15=15, the
 * order of enum gpr in vmx/vcpu.h), then RIP, RFLAGS, the selectors, the FS/GS bases.
 * get_reg returns the full 64-bit value in every mode; the stub truncates to what gdb sees. */
enum gdb_reg {
	GDB_REG_RAX, GDB_REG_RCX, GDB_REG_RDX, GDB_REG_RBX,
	GDB_REG_RSP, GDB_REG_RBP, GDB_REG_RSI, GDB_REG_RDI,
	GDB_REG_R8, GDB_REG_R9, GDB_REG_R10, GDB_REG_R11,
	GDB_REG_R12, GDB_REG_R13, GDB_REG_R14, GDB_REG_R15,
	GDB_REG_RIP, GDB_REG_RFLAGS,
	GDB_REG_CS, GDB_REG_SS, GDB_REG_DS, GDB_REG_ES, GDB_REG_FS, GDB_REG_GS,
	GDB_REG_FS_BASE, GDB_REG_GS_BASE,
	GDB_REG_COUNT
};

/* Breakpoint types, as numbered in the Z/z packets. */
enum gdb_bp_type {
	GDB_BP_SOFTWARE = 0, /* Z0: gdb's "break" (int3 or whatever the target prefers) */
	GDB_BP_HARDWARE = 1, /* Z1: execution breakpoint in a debug register ("hbreak") */
	GDB_BP_WRITE = 2,    /* Z2: write watchpoint */
	GDB_BP_READ = 3,     /* Z3: read watchpoint */
	GDB_BP_ACCESS = 4,   /* Z4: access watchpoint */
};

/* set_breakpoint/remove_breakpoint: this type is not implemented (gdb gets an empty reply and
 * falls back: to memory writes of int3 for Z0, to single-stepping for watchpoints). */
#define GDB_UNSUPPORTED 1

/* Target operations. Every op is called only from gdb_input or gdb_report_stop. */
struct gdb_ops {
	/* Sends one byte to gdb (the debug UART). */
	void (*putc)(void *opaque, u8 byte);
	/* The guest's current code width, 32 or 64: selects the register layout gdb is given
	 * (i386 or i386:x86-64). Asked once per gdb connection; see gdb_stub.mode. */
	int (*mode)(void *opaque);
	u64 (*get_reg)(void *opaque, enum gdb_reg r);
	/* 0 when written, negative when the target refuses the value. Called only when the
	 * value differs from what get_reg returns. */
	int (*set_reg)(void *opaque, enum gdb_reg r, u64 value);
	/* Guest-virtual memory through the guest's current page tables. Return the number of
	 * bytes done: fewer than len means the access stopped at an unmapped/unreachable byte. */
	size_t (*read_mem)(void *opaque, gva_t gva, void *buf, size_t len);
	size_t (*write_mem)(void *opaque, gva_t gva, const void *buf, size_t len);
	/* kind is gdb's breakpoint kind (bytes of the instruction for Z0/Z1: 1 on x86) or the
	 * watched length for Z2-Z4. 0 = done, GDB_UNSUPPORTED, or negative = failed (E reply).
	 * NULL = every type unsupported. */
	int (*set_breakpoint)(void *opaque, enum gdb_bp_type type, gva_t addr, u64 kind);
	int (*remove_breakpoint)(void *opaque, enum gdb_bp_type type, gva_t addr, u64 kind);
};

/* What the caller must do with the vCPU after a byte. */
enum gdb_action {
	GDB_NONE = 0,  /* nothing: keep doing what it does */
	GDB_CONTINUE,  /* resume the guest (RIP may have been changed by the packet) */
	GDB_STEP,      /* execute one guest instruction, then gdb_report_stop(SIGTRAP) */
	GDB_STOP,      /* stop the guest, then gdb_report_stop (GDB_SIGINT after Ctrl-C; after a
			* '?' from a gdb connecting to a running guest, any signal) */
	GDB_DETACH,    /* gdb left (it removed its breakpoints first): resume the guest freely */
	GDB_KILL,      /* gdb asked to kill the target: end the run */
};

/* Why the target stopped, for the stop reply (swbreak/hwbreak only when gdb offered them in
 * qSupported; watch* always). */
enum gdb_stop_reason {
	GDB_STOP_PLAIN = 0, /* signal only: single step done, Ctrl-C, attach */
	GDB_STOP_SWBREAK,   /* int3 executed; report RIP = the int3's address (not +1) */
	GDB_STOP_HWBREAK,   /* hardware execution breakpoint */
	GDB_STOP_WATCH,     /* write watchpoint hit at addr */
	GDB_STOP_RWATCH,    /* read watchpoint */
	GDB_STOP_AWATCH,    /* access watchpoint */
};

enum gdb_rx_state { GDB_RX_IDLE, GDB_RX_DATA, GDB_RX_ESCAPE, GDB_RX_CSUM_HI, GDB_RX_CSUM_LO };

/*
 * One gdb connection's state. Owned by the caller (static storage), set up by gdb_init.
 * Invariants: in_len <= GDB_PACKET_MAX; out_len <= GDB_PACKET_MAX; out[0..out_len) is the
 * payload of the last packet sent (escaped as transmitted), resent on '-' in ack mode;
 * mode is 0 (not chosen yet), 32 or 64; running means gdb believes the guest runs, so the
 * next gdb_report_stop owes gdb a stop reply when attached.
 */
struct gdb_stub {
	const struct gdb_ops *ops;
	void *opaque;
	/* Receiver. */
	enum gdb_rx_state rx;
	u8 rx_sum;        /* sum of the raw bytes between '$' and '#' */
	u8 rx_csum;       /* checksum digits received so far */
	bool rx_overflow; /* packet longer than GDB_PACKET_MAX: answered with an error */
	size_t in_len;
	u8 in[GDB_PACKET_MAX]; /* payload, unescaped */
	/* Transmitter. */
	bool out_sent;    /* out holds a packet already sent once */
	size_t out_len;
	u8 out[GDB_PACKET_MAX];
	u8 scratch[GDB_PACKET_MAX / 2]; /* memory bytes for m/M */
	/* Session. */
	bool noack;     /* QStartNoAckMode accepted: no '+'/'-' either way */
	bool attached;  /* a gdb has sent a packet since init/detach/kill */
	bool running;
	bool swbreak, hwbreak; /* gdb understands these stop reasons */
	int mode;       /* register layout latched at connection: gdb reads target.xml once */
	int last_signal;
	enum gdb_stop_reason last_reason;
	u64 last_addr;
};

/* Starts a stub with the guest stopped (as if at a SIGTRAP) and no gdb attached. */
void gdb_init(struct gdb_stub *s, const struct gdb_ops *ops, void *opaque);

/* Feeds one byte from gdb. Replies go out through ops->putc before it returns. */
enum gdb_action gdb_input(struct gdb_stub *s, u8 byte);

/* The guest stopped (after GDB_CONTINUE/GDB_STEP/GDB_STOP): sends the stop reply gdb waits
 * for ("T05thread:01;", "T02thread:01;" after Ctrl-C) and keeps it for '?'. Sends nothing
 * when gdb is not waiting for one (guest not resumed by gdb, or no gdb attached). */
void gdb_report_stop(struct gdb_stub *s, int signal);
void gdb_report_stop_reason(struct gdb_stub *s, int signal, enum gdb_stop_reason why,
			    gva_t addr);

/* Tells the stub the guest runs although gdb did not resume it (the caller started the guest
 * before gdb connected): a '?' or Ctrl-C then returns GDB_STOP and the reply waits for
 * gdb_report_stop. */
void gdb_target_resumed(struct gdb_stub *s);

/* True while a gdb is connected (from its first packet to D or k). */
bool gdb_attached(const struct gdb_stub *s);

#endif
