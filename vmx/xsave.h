/* xsave.h - XSAVE for the guest: XCR0 through XSETBV exits (CPUID leaf 0xD: vmx/cpuid.c). */
#ifndef VMX_XSAVE_H
#define VMX_XSAVE_H

#include "vmx/vcpu.h"

/* The XCR0 bits a guest may enable: x87, SSE and AVX, as far as the host has them. */
#define XSAVE_GUEST_FEATURES (XCR0_X87 | XCR0_SSE | XCR0_AVX)

/* True when the host CPU has XSAVE; then host CR4.OSXSAVE is on (xsave_init). */
bool xsave_supported(void);
/* Turns on the host's CR4.OSXSAVE when XSAVE exists, so that XSETBV can load the guest's
 * XCR0. The host itself never uses extended state: the guest's stays in the registers. */
void xsave_init(void);
/* The XCR0 bits XSETBV accepts from the guest: the host's, limited to XSAVE_GUEST_FEATURES
 * (0 without XSAVE). CPUID leaf 0xD describes exactly these (vmx/cpuid.c). */
u64 xsave_guest_mask(void);
void handle_xsetbv(struct vcpu *v);

#endif
