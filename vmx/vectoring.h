/* vectoring.h - pure decisions about an exit's IDT-vectoring information (host-tested). */
#ifndef VMX_VECTORING_H
#define VMX_VECTORING_H

#include "arch/types.h"

/*
 * The event to deliver again after an exit during event delivery, with virtual-interrupt
 * delivery on: idt (the IDT-vectoring information, valid) as the CPU reported it, unless it
 * is Bochs 2.7's stale report for an interrupted virtual-interrupt delivery (vmx/apicv.c):
 * then the virtual interrupt SVI as an external interrupt. status_entry and status_exit are
 * the guest interrupt status (SVI in 15:8) at the entry and at the exit; if_set is
 * RFLAGS.IF at the exit. Recognized when SVI moved during the run to a non-zero vector, the
 * guest was left with IF set (the handler never ran), and idt does not already name that
 * vector as an external interrupt.
 */
u32 vectoring_redeliver(u32 idt, u16 status_entry, u16 status_exit, bool if_set);

#endif
