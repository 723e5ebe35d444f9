/* hv.h - from a booted host to a running guest (hv/hv.c). */
#ifndef HV_HV_H
#define HV_HV_H

#include "kernel/cmdline.h"
#include "kernel/mb2.h"

/* Loads the guest module, brings up VMX, runs the guest, prints the summary, powers off. */
void hv_start(const struct hv_config *cfg, const struct mb2_info *mb) __noreturn;
void hv_fail_boot(const char *what, const char *why) __noreturn;

#endif
