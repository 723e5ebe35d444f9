/* idt.h - a 32-bit GDT + IDT for test guests: exception stubs for vectors 0-31 that record the
 * last exception and let a test step over a faulting instruction of known length.
 *
 *   idt_init();                      // once: own flat GDT (0x08 code, 0x10 data) and the IDT
 *   idt_expect(13, 2);               // the next #GP skips 2 bytes (e.g. RDMSR) and is recorded
 *   rdmsr(0x12345678);
 *   if (idt_caught(13)) ...          // true if a #GP came since idt_expect; disarms
 *   ... idt_last.error, idt_last.eip
 *
 * An exception that is neither expected nor handled by idt_set_handler() prints
 * "UNEXPECTED EXCEPTION <vector> err=0x<error> eip=0x<eip>" and ends the run with code 0x7e.
 * Vectors 64-255 hold empty (invalid) gates: a stray interrupt or INT n there shows up as #GP
 * (vector 13) whose error code is (n << 3) | 2. idt_install_all() gives them gates and stubs
 * too (present, DPL0 interrupt gates), so that every vector 0-255 reaches idt_dispatch().
 *
 * INT n on a vector whose exception pushes an error code (8, 10-14, 17, 21, 29, 30) pushes
 * none, so the stub's frame is one word short: frame->error then holds the return EIP,
 * frame->eip the CS and so on. A handler for that case must not return through the stub's
 * IRET as is (guests/lib/fault.h's fault_record() resumes at a fixed point and works).
 */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

#include "guest.h"

#define IDT_UNEXPECTED_EXIT 0x7e
#define IDT_STUBS 64    /* vectors idt_init() installs: exceptions 0-31, interrupts 32-63 */
#define IDT_VECTORS 256 /* vectors with a stub (idt_install_all() installs 64-255) */

#define VEC_DE 0
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3
#define VEC_UD 6
#define VEC_NM 7
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16
#define VEC_AC 17

/* What the stub saved, in stack order (isr.S builds it; handlers may change any field, eip
 * included, and the changes take effect on IRET). */
struct idt_frame {
	uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax; /* pushal */
	uint32_t vector, error; /* error is 0 for vectors without an error code */
	uint32_t eip, cs, eflags;
};

/* The last exception taken (any vector); count counts all of them. */
struct idt_exception {
	int vector; /* -1 when none since the last idt_expect() */
	uint32_t error, eip, cr2;
	uint32_t count;
};
extern volatile struct idt_exception idt_last;

typedef void (*idt_handler_t)(struct idt_frame *f);

void idt_init(void);
/* Arms a one-shot expectation: the next exception with this vector is recorded and returns to
 * its saved EIP + skip_bytes (0 for traps such as int3, whose saved EIP is already past it).
 * Clears idt_last.vector. */
void idt_expect(int vector, unsigned skip_bytes);
/* True if an exception with this vector was taken since the last idt_expect(); disarms. */
bool idt_caught(int vector);
/* A handler for every exception with this vector (NULL removes it); called after recording. */
void idt_set_handler(int vector, idt_handler_t h);
/* Present DPL0 interrupt gates to the stubs for vectors IDT_STUBS..255 (idt_init() leaves
 * them empty). */
void idt_install_all(void);

#endif
