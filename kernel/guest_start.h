/* guest_start.h - how the vCPU starts, as a boot loader leaves it: the one hand-off between the
 * guest loaders (kernel/guest_load.c for multiboot v1, kernel/linux_boot.c for Linux) and
 * vmx/vcpu.c vcpu_setup, which applies it. Pure data. */
#ifndef KERNEL_GUEST_START_H
#define KERNEL_GUEST_START_H

#include "arch/types.h"

/*
 * Both boot protocols hand over in 32-bit protected mode with paging off, IF = 0, and flat
 * 4 GiB segments (base 0, limit 0xffffffff: code32 CS, data DS ES FS GS SS) described by a GDT
 * the loader wrote into guest RAM; they differ in the selectors, the GDT and the registers.
 * Invariants: gdt_base + gdt_limit lies in guest RAM and the descriptors at code_sel and
 * data_sel there are flat code32 and data (the loader wrote them); the other GPRs and ESP are 0.
 */
struct guest_start {
	u32 eip;
	u32 gdt_base;
	u16 gdt_limit;
	u16 code_sel, data_sel;
	u32 eax, ebx, esi;  /* multiboot: EAX = magic, EBX = info; Linux: ESI = boot_params */
};

#endif
