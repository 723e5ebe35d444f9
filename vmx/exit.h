/* exit.h - VM-exit dispatch and the handlers, one family per file. */
#ifndef VMX_EXIT_H
#define VMX_EXIT_H

#include "vmx/vcpu.h"

/* Called by vmx/entry.S at every VM exit, with the guest's registers stored: handles the exit
 * (dispatch by reason, counters, the trace ring, the handler, re-injection of an interrupted
 * event), then asks vcpu_resume_now whether the guest can be resumed at once. 1: resume;
 * 0: return to vcpu_run's loop, which does the work before the next entry. */
int vmx_exit_landing(void);
/* Explains a failed VMLAUNCH/VMRESUME (st from vmx_enter) and stops the guest. */
void vmx_report_entry_error(struct vcpu *v, int st);
/* Prints the guest-state fields a failed entry depends on. */
void vmx_dump_guest_state(void);

/* Handlers (vmx/exit_*.c); each returns after updating the VMCS and v. */
void handle_cpuid(struct vcpu *v);
/* Fixes the guest's CPU model (vmx/cpuid.h) from the host, vtime_hz() and v's controls; after
 * tsc_calibrate and xsave_init, before the first entry (vcpu_setup). */
void cpuid_setup(const struct vcpu *v);
void handle_rdmsr(struct vcpu *v);
void handle_wrmsr(struct vcpu *v);
void handle_cr_access(struct vcpu *v);
void handle_io(struct vcpu *v);
void handle_vmcall(struct vcpu *v);

#endif
