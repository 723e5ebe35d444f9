/* entry_check.h - the entry checker (debug/vmcheck.c) run over the current VMCS after a
 * failed VM entry (docs/debugging.md, "VM-entry failures"). */
#ifndef DEBUG_ENTRY_CHECK_H
#define DEBUG_ENTRY_CHECK_H

#include "arch/types.h"

/* Prints every VM-entry rule (SDM "VM Entries") the current VMCS and the CPU's capability
 * MSRs break, one line each, then the count. */
void entry_check(void);
/* entry_check=1: the same before every VM entry, quiet when nothing is broken; false (each
 * broken rule printed) when the entry must not be made. entry_checks_done counts the runs. */
bool entry_check_strict(void);
extern u64 entry_checks_done;

#endif
