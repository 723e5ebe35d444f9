/* fake.h - test doubles for host unit tests of code that calls into the rest of the
 * hypervisor (tests/unit/fake_host.c: pmm, log, panic; tests/unit/fake_vmx.c: the VMX side
 * of the MMU: mmio_emulate, mmu_inject_page_fault). A test names the
 * ones it links on its SOURCES line (tests/unit/fake_host.c ...). */
#ifndef TESTS_UNIT_FAKE_H
#define TESTS_UNIT_FAKE_H

#include <setjmp.h>
#include "arch/types.h"
#include "mmu/mmu.h"

/* ---- fake_host.c ---- */

/* pmm_alloc/pmm_alloc_contig hand out aligned_alloc'd, zeroed memory (host pointer = "hpa")
 * and remember it; fake_pmm_free_all() frees whatever is still out. */
void fake_pmm_free_all(void);
u64 fake_pmm_outstanding(void); /* allocations not freed yet */
/* Makes the next n allocations fail (return 0). */
void fake_pmm_fail_next(int n);

/* Log lines: counted per level; the last error (and warning) line kept. Lines are printed to
 * stdout only when the environment has FAKE_LOG=1. */
extern u64 fake_log_count[4];
extern char fake_last_err[512];
extern char fake_last_warn[512];
void fake_log_reset(void);

/* panic(): when fake_panic_jmp is set, records the message in fake_panic_msg and longjmps
 * there (a test that expects a panic); otherwise fails the running cmocka test with the
 * message. */
extern jmp_buf *fake_panic_jmp;
extern char fake_panic_msg[512];

/* ---- fake_vmx.c ---- */

#define FAKE_MAX_CALLS 64

struct fake_mmio_call {
	u64 gpa, la;
};
struct fake_pf_call {
	u64 la;
	u32 ec;
};

/* mmu_page_fault() through what vmx/exit.c does with its verdict: an emulation is recorded
 * in fake_mmio_calls (and run by fake_emulate_hook when set) and gives MMU_HANDLED; a guest
 * fault is recorded in fake_pf_calls and gives MMU_GUEST_FAULT; MMU_BAD_TABLE sets *bad_gpa. */
enum mmu_fault fake_fault(u64 la, u32 ec, u64 *bad_gpa);

/* Emulations asked for (the first FAKE_MAX_CALLS are kept; the count goes on). */
extern struct fake_mmio_call fake_mmio_calls[FAKE_MAX_CALLS];
extern int fake_mmio_count;
/* #PF injections asked for. */
extern struct fake_pf_call fake_pf_calls[FAKE_MAX_CALLS];
extern int fake_pf_count;
/* When set, fake_fault runs it for each emulation (after recording it): a test that wants the
 * instruction really executed runs the emulator here. Reset by fake_vmx_reset. */
extern bool (*fake_emulate_hook)(u64 gpa, u64 la);

void fake_vmx_reset(void);

#endif
