/* cmdline.h - the hypervisor's command line (pure, host-tested). */
#ifndef KERNEL_CMDLINE_H
#define KERNEL_CMDLINE_H

#include "arch/types.h"

#define GUEST_MEM_DEFAULT (64 * MiB)
#define GUEST_MEM_MIN (2 * MiB)
#define GUEST_MEM_MAX (3 * GiB)
#define CMDLINE_MAX 1024

/* selftest=: deliberately break something to exercise a fatal path (docs/debugging.md). */
enum { SELFTEST_NONE, SELFTEST_PANIC, SELFTEST_EXCEPTION, SELFTEST_ENTRY_GUEST_STATE,
       SELFTEST_ENTRY_CONTROL, SELFTEST_VMX_LOCKED_OFF, SELFTEST_NMI };

/* tsc=: where the host TSC's rate comes from (drivers/tsc.c; docs/boot.md). */
enum tsc_source { TSC_AUTO, TSC_CPUID15, TSC_CPUID16, TSC_PLATFORM_INFO, TSC_PMTIMER, TSC_PIT,
		  TSC_SOURCES };
/* The name tsc= takes for s ("auto", "cpuid15", ...). */
const char *tsc_source_name(enum tsc_source s);

struct hv_config {
	u64 guest_mem;    /* guest_mem=64M: bytes of guest RAM (K, M, G suffixes) */
	int loglevel;     /* loglevel=error|warn|info|debug or 0..3 */
	u16 serial_port;  /* serial=com1|com2|com3|com4|0xPORT[,BAUD] */
	u32 serial_baud;  /* serial=...,BAUD or baud=BAUD */
	u64 shadow_pages; /* shadow_pages=N: the shadow page pool (64..16384, default 4096) */
	u16 gdb_port;     /* gdb=com1..com4|0xPORT: GDB stub on that UART (0: off) */
	int mmu_audit;    /* mmu_audit=0|1|N: audit the shadow tables at every (Nth) named point */
	int selftest;     /* selftest=panic|exception|entry_guest_state|entry_control|entry_rule:N */
	int entry_rule;   /* selftest=entry_rule:N: break VM-entry rule N (hv/hv.c) */
	enum tsc_source tsc_source; /* tsc=auto|cpuid15|cpuid16|platform_info|pmtimer|pit */
	bool entry_check; /* entry_check=0|1: the entry checker before every VM entry */
	bool screen;      /* screen=on|off: the console on the loader's framebuffer too */
	bool apicv;       /* apicv=on|off: VMX APIC virtualization when the CPU has it (on) */
	bool pf_bypass;   /* pf_bypass=on|off: the guest's not-present faults without an exit (on) */
};

/* Fills cfg with the defaults. */
void cmdline_defaults(struct hv_config *cfg);

/*
 * Parses "key=value" words separated by spaces. A leading word that is a path (starts with '/')
 * is skipped (some loaders pass the kernel's name). Unknown keys, bad values and over-long lines
 * are refused: returns -1 with a one-line reason in err and cfg unchanged.
 */
int cmdline_parse(const char *line, struct hv_config *cfg, char *err, size_t errlen);

#endif
