/* hv.h - the guest side of the hypercall ABI and of the test device (docs/hypercalls.md,
 * docs/devices.md). */
#ifndef GUEST_HV_H
#define GUEST_HV_H

#include <stdint.h>

enum { HC_GET_VERSION, HC_MEMSLOT_ADD, HC_MEMSLOT_DELETE, HC_MEMSLOT_MOVE, HC_MEMSLOT_RESIZE,
       HC_GET_STAT, HC_AUDIT, HC_ZAP_ALL };

enum { STAT_SHADOW_FAULTS, STAT_GUEST_FAULTS, STAT_MMIO_FAST, STAT_MMIO_SLOW, STAT_MMIO_SPTES,
       STAT_MEMSLOT_CHANGES, STAT_GENERATION, STAT_GEN_WRAPS, STAT_ZAP_ALL, STAT_OBSOLETE_FREED,
       STAT_SP_IN_USE, STAT_SP_CREATED, STAT_SP_REUSED, STAT_EXITS, STAT_MMIO_GEN_BITS,
       STAT_SP_POOL, STAT_LINKS_IN_USE, STAT_FREE_PAGES, STAT_INTR_INJECTED, STAT_TRACKED_WRITES,
       STAT_RAM_EMULATIONS, STAT_EXIT_REASON = 0x100 };

#define HV_EPERM (-1)
#define HV_ENOENT (-2)
#define HV_ENOMEM (-12)
#define HV_EINVAL (-22)
#define HV_ENOSYS (-38)

static inline int32_t hypercall(uint32_t nr, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	uint32_t ret;
	__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d) : "memory");
	return (int32_t)ret;
}

static inline uint32_t hv_stat(uint32_t index)
{
	return (uint32_t)hypercall(HC_GET_STAT, index, 0, 0, 0);
}

/* The test device (devices/slotdev.c). */
#define SLOTDEV_PORT_WINDOW 0x5a0
#define SLOTDEV_PORT_SIZE 0x5a4
#define SLOTDEV_PORT_REGS 0x5a8
#define SLOTDEV_PORT_STATUS 0x5ac
#define SLOTDEV_WINDOW_GPA 0xe0000000u
#define SLOTDEV_REGS_GPA 0xfeb00000u
#define SLOTDEV_ID 0x544f4c53u

static inline uint32_t inl(uint16_t p)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}

static inline uint32_t mmio_read32(uintptr_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_write32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

#endif
