/* SOURCES: vmx/exit_vmcall.c vmx/trace.c vmx/names.c devices/mmio.c mmu/mmu.c mmu/memslot.c mmu/gwalk.c kernel/fmt.c tests/unit/fake_host.c tests/unit/fake_vmx.c */
/* CFLAGS: -DMMIO_GEN_BITS=4 */
/*
 * fuzz_hypercall_narrow.c - fuzz_hypercall.c on the narrow-generation build (MMIO sptes keep
 * 4 generation bits, as build/hv-narrow.elf): the generation wraps every 16 memslot changes,
 * which zaps every shadow page (mmu.c after_change), so a guest life crosses wraps.
 */
#include "fuzz_hypercall.c"
