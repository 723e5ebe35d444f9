/* insn.h - instructions the hypervisor completes for the guest: the access that faulted on
 * device memory (MMIO), string I/O; decode, execute against the device or RAM, write back. */
#ifndef VMX_INSN_H
#define VMX_INSN_H

#include "arch/types.h"

/*
 * Emulates the instruction at guest RIP, whose data access at linear address la hit
 * guest-physical gpa (MMIO). The mapping la -> gpa is taken as given for la's page: no guest
 * page-table walk for the data access. Other memory operands (e.g. the RAM side of a MOVS)
 * are translated through the guest's paging. Returns true (the MMU handled the fault): on an
 * instruction it cannot emulate it reports the bytes and injects #UD.
 */
bool mmio_emulate(u64 gpa, u64 la);
/* The same when the caller knows gpa is not RAM (an MMIO spte, or a memslot lookup that just
 * missed): the common MOV forms then skip the memslot lookup. */
bool mmio_emulate_device(u64 gpa, u64 la);
struct vcpu;
/* A #PF exit with RSVD set (hardware error code ec, plus PFEC_SW_AC) at la on a device page
 * whose current MMIO spte the MMU has cached (mmu_mmio_cached): the access emulated, in one
 * call from the exit handler (docs/bench.md "Where an MMIO fast-path access goes"). False,
 * having done nothing, otherwise: then mmu_page_fault and its verdict. */
bool mmio_fast_exit(struct vcpu *v, u64 la, u32 ec);
/* MMU_EMULATE_PT_WRITE: the write to a guest page table at gpa, emulated (counted in
 * ram_emulations); a REP string instruction is not emulated but retried natively after
 * mmu_unprotect. */
bool mmio_emulate_pt_write(u64 gpa, u64 la);

/* Emulates the instruction at guest RIP with every operand translated through the guest's
 * tables (string I/O). Same reporting as mmio_emulate. */
bool emulate_instruction(void);

#endif
