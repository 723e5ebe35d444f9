/* halt.c - halts with interrupts off: nothing can wake it, so the hypervisor ends the run with
 * end=halted. If HLT ever returns the guest says so and exits with code 0x7d. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic;
	(void)mbi;
	serial_init();
	puts("halt: executing cli; hlt\n");
	__asm__ volatile("cli; hlt" ::: "memory");
	puts("halt: FAIL: HLT returned\n");
	return 0x7d;
}
