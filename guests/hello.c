/* hello.c - the demo guest: prints through the emulated 16550, checks its boot state, exits 0. */
#include "guest.h"

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	serial_init();
	puts("Hello from the guest!\n");
	printf("multiboot magic=%x flags=%x mem_lower=%uK mem_upper=%uK\n", magic, mbi->flags,
	       mbi->mem_lower, mbi->mem_upper);
	if (mbi->flags & (1u << 2))
		printf("command line: '%s'\n", (const char *)mbi->cmdline);
	if (mbi->flags & (1u << 6)) {
		uint32_t end = mbi->mmap_addr + mbi->mmap_length;
		for (uint32_t p = mbi->mmap_addr; p < end;) {
			struct mb1_mmap_entry *e = (struct mb1_mmap_entry *)p;
			printf("mmap %08llx-%08llx type %u\n", (unsigned long long)e->addr,
			       (unsigned long long)(e->addr + e->len), e->type);
			p += e->size + 4;
		}
	}
	/* "exit=N" on the guest's command line chooses the exit code. */
	int code = magic == MB1_BOOT_MAGIC ? 0 : 1;
	const char *cl = (mbi->flags & (1u << 2)) ? (const char *)mbi->cmdline : "";
	for (const char *p = cl; *p; p++)
		if (p[0] == 'e' && p[1] == 'x' && p[2] == 'i' && p[3] == 't' && p[4] == '=') {
			code = 0;
			for (p += 5; *p >= '0' && *p <= '9'; p++)
				code = code * 10 + (*p - '0');
			break;
		}
	printf("Goodbye (exit code %d).\n", code);
	return code;
}
