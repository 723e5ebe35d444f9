/* cmos.h - the host's real-time clock (MC146818 at ports 0x70/0x71), read once at boot. */
#ifndef DRIVERS_CMOS_H
#define DRIVERS_CMOS_H

#include "arch/types.h"

/* Seconds since 1970-01-01 00:00 UTC from the host RTC (assumed to run in UTC), or 0 when it
 * cannot be read consistently. */
u64 cmos_read_epoch(void);

#endif
