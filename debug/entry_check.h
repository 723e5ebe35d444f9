/* entry_check.h - the entry checker (debug/vmcheck.c) run over the current VMCS after a
 * failed VM entry (docs/debugging.md, "VM-entry failures"). */
#ifndef DEBUG_ENTRY_CHECK_H
#define DEBUG_ENTRY_CHECK_H

/* Prints every VM-entry rule (SDM "VM Entries") the current VMCS and the CPU's capability
 * MSRs break, one line each, then the count. */
void entry_check(void);

#endif
