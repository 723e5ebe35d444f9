/* xsave.h - XSAVE for the guest: XCR0 through XSETBV exits, CPUID leaf 0xD. */
#ifndef VMX_XSAVE_H
#define VMX_XSAVE_H

#include "vmx/vcpu.h"

/* The XCR0 bits a guest may enable: x87, SSE and AVX, as far as the host has them. */
#define XSAVE_GUEST_FEATURES 0x7ULL

/* True when the host CPU has XSAVE; then host CR4.OSXSAVE is on (xsave_init). */
bool xsave_supported(void);
/* Turns on the host's CR4.OSXSAVE when XSAVE exists, so that XSETBV can load the guest's
 * XCR0. The host itself never uses extended state: the guest's stays in the registers. */
void xsave_init(void);
void xsave_filter_cpuid(u32 sub, u32 *a, u32 *b, u32 *c, u32 *d);
void handle_xsetbv(struct vcpu *v);

#endif
