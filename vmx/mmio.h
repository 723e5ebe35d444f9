/* mmio.h - completing a guest access that faulted on an MMIO spte: decode the instruction,
 * execute it against the device, write the result back to the guest. */
#ifndef VMX_MMIO_H
#define VMX_MMIO_H

#include "kernel/types.h"

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

/* Emulates the instruction at guest RIP with every operand translated through the guest's
 * tables (string I/O). Same reporting as mmio_emulate. */
bool emulate_instruction(void);

/* Reads/writes guest memory at a guest-physical address through the memslots (RAM only). */
bool guest_phys_read(u64 gpa, void *buf, u64 len);
bool guest_phys_write(u64 gpa, const void *buf, u64 len);
/* For debuggers: guest-virtual memory through the guest's tables, page by page, with no
 * permission check (a debugger may patch code). Returns the bytes done (fewer at the first
 * unmapped or non-RAM page). A write drops every shadow page, since the bytes may sit in a
 * guest page table, which shadows follow only through write faults. */
u64 guest_virt_access(gva_t gva, void *buf, u64 len, bool write);

#endif
