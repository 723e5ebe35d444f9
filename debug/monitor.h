/* monitor.h - the serial-console monitor (Ctrl-A c; docs/debugging.md) and the console input
 * filter that feeds the guest's UART. */
#ifndef DEBUG_MONITOR_H
#define DEBUG_MONITOR_H

#include "vmx/vcpu.h"

/* Reads what was typed on the console: escape sequences go to the monitor, everything else
 * to the guest's UART receive FIFO (vuart_push_input). The start-up code registers it as the
 * guest UART's input (vuart_set_input); monitor_before_entry runs it too. */
void console_input_poll(void);
/* Before each entry: polls the console; runs the monitor (blocking) when it was asked for. */
void monitor_before_entry(struct vcpu *v);
/* #DB after "step" and #BP at a "break" address: true when the monitor took the exit. */
bool monitor_handle_debug_exit(struct vcpu *v, u32 vector);
/* Opens the monitor before the next entry (e.g. monitor=1 on the command line). */
void monitor_request(void);
/* True when Ctrl-A c (or a debug event) asked for the monitor and it has not opened yet. */
bool monitor_requested(void);

#endif
