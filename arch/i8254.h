/* i8254.h - the PC's programmable interval timer: its input clock and ports (Intel 8254 data
 * sheet; the same on every PC and emulator). Used by the guest's model (devices/pit.c) and by
 * the host's TSC calibration (drivers/tsc.c). */
#ifndef ARCH_I8254_H
#define ARCH_I8254_H

#define PIT_HZ 1193182ULL
#define PIT_PORT 0x40 /* 0x40-0x42 counters, 0x43 control */
#define PIT_SPEAKER_PORT 0x61 /* bit 0: channel 2 gate, bit 1: speaker, bit 5: OUT2 */

#endif
