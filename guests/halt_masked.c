#include "guest.h"
int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	puts("sti; hlt with every timer masked\n");
	__asm__ volatile("sti; hlt");
	puts("woke up?!\n");
	return 3;
}
