/* triple.c - loads an IDT with limit 0 and executes int3: vector 3 lies outside the IDT (#GP),
 * so does #GP's (#DF), and so does #DF's: a triple fault (end=triple_fault). If execution ever
 * goes on the guest says so and exits with code 0x7c. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	struct dtr32 empty = { 0, 0 };

	(void)magic;
	(void)mbi;
	serial_init();
	puts("triple: loading an empty IDT and executing int3\n");
	__asm__ volatile("lidt %0\n\tint3" : : "m"(empty) : "memory");
	puts("triple: FAIL: still running after int3\n");
	return 0x7c;
}
