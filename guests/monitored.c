/* monitored.c - a long-running guest for the monitor test: prints "ready", then counts in a
 * loop that makes no exits for long stretches, printing a tick now and then, until it reads
 * 'q' on its serial port; then exits 0. work() is a good breakpoint. */
#include "guest.h"

volatile uint32_t sink;

__attribute__((noinline)) void work(uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		sink += i * 7;
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	puts("ready\n");
	for (uint32_t tick = 0;; tick++) {
		work(200000);
		if (tick % 16 == 0)
			printf("tick %u\n", tick);
		int c = serial_getc();
		if (c == 'q')
			break;
	}
	puts("quit\n");
	return 0;
}
