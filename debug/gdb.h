/* gdb.h - the GDB stub on a second UART (gdb=com2 on the command line; docs/debugging.md). */
#ifndef DEBUG_GDB_H
#define DEBUG_GDB_H

#include "vmx/vcpu.h"

/* Opens the stub's UART; the guest then starts stopped, waiting for gdb. */
void gdb_attach_uart(u16 port);
/* Before each entry: reads what gdb sent; while the guest is stopped, waits here. */
void gdb_before_entry(struct vcpu *v);
/* #BP/#DB exceptions, monitor-trap-flag and preemption-timer exits: true when the stub took
 * the exit (the guest stops for gdb, or it was only a chance to poll). */
bool gdb_handle_debug_exit(struct vcpu *v, u32 reason, u32 vector);

#endif
