/* fault.h - runs a piece of code at CPL0 or CPL3 and records the first exception it raises,
 * resuming at a fixed point (no instruction length to know, faults at CPL3 included); and
 * extra GDT descriptors for guests that need their own segments.
 *
 *   idt_init(); pt_gdt_init(false);      // GDT with ring-3 segments, TSS (ESP0), TR
 *   fault_init();                        // handler for vectors 0-31, INT 0x81 gate (DPL3)
 *   int v = fault_run(fn);               // fn() at CPL0: -1 when it returned, else the vector
 *   v = fault_run_user(ufn);             // ufn at CPL3 (CS 0x23, DS/ES/FS/GS/SS 0x2b, own
 *                                        // stack); it ends with FAULT_USER_DONE (INT 0x81)
 *   fault_last.error, .eip, .cr2 ...     // what the CPU pushed
 *
 * fn must be assembly or a function that leaves callee-saved registers alone up to the fault:
 * the resume point restores ESP, EBX, ESI, EDI, EBP as they were at fault_run(), reloads
 * DS/ES/FS/GS/SS with the flat ring-0 data selector and sets EFLAGS to 0x2 (IF, TF, AC, DF
 * clear). An exception while nothing is armed prints "UNEXPECTED EXCEPTION ..." and ends the
 * run with IDT_UNEXPECTED_EXIT. A guest may replace the handler of one vector with
 * idt_set_handler() after fault_init() (e.g. to count single-step traps) and call
 * fault_record() from its own handler.
 *
 * fault_gdt_set() works without pt_gdt_init() too: it copies whatever GDT is loaded into a
 * 64-entry table the first time, loads it, and keeps every existing selector.
 */
#ifndef GUEST_FAULT_H
#define GUEST_FAULT_H

#include "guest.h"
#include "idt.h"

#define FAULT_USER_VECTOR 0x81
#define FAULT_USER_DONE "int $0x81"
#define FAULT_GDT_ENTRIES 64

struct fault_rec {
	int vector; /* -1: none */
	uint32_t error, eip, cs, eflags, cr2;
	uint32_t count; /* exceptions recorded since fault_init() */
};
extern volatile struct fault_rec fault_last;

void fault_init(void);
int fault_run(void (*fn)(void));
int fault_run_user(void (*fn)(void));
/* The EFLAGS fault_run_user() starts fn with (0x2; e.g. 0x3002 for IOPL 3: CLI/STI at CPL3). */
extern uint32_t fault_user_eflags;
/* Records f in fault_last and makes the IRET land on the resume point. */
void fault_record(struct idt_frame *f);

/* A segment descriptor: base, limit (in bytes when < 1 MiB, else in 4 KiB units with G set),
 * access byte (P DPL S type) and the D/B bit. */
uint64_t fault_seg_desc(uint32_t base, uint32_t limit, uint8_t access, bool big);
/* A 32-bit call gate (type 0xc) to sel:off with the given DPL. */
uint64_t fault_call_gate(uint16_t sel, uint32_t off, int dpl);
/* Writes GDT entry index (>= 1) and returns its selector (RPL 0). */
uint16_t fault_gdt_set(int index, uint64_t desc);

#endif
