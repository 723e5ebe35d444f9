/* genwrap.c - generation wrap-around: an MMIO spte cached at generation g must not be taken
 * as current 2^N changes later (N = the generation width, STAT_MMIO_GEN_BITS), when the frame
 * has become RAM. Run it on the narrow build (build/hv-narrow.elf, N = 4) to reach wraps in a
 * few changes. */
#include "guest.h"
#include "hv.h"

#define W SLOTDEV_WINDOW_GPA
#define X (SLOTDEV_WINDOW_GPA + 0x400000u) /* the frame that goes MMIO -> RAM */
#define A (SLOTDEV_WINDOW_GPA + 0x100000u)
#define B (SLOTDEV_WINDOW_GPA + 0x200000u)

static void move_window(uint32_t gpa)
{
	outl(SLOTDEV_PORT_WINDOW, gpa);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	uint32_t bits = hv_stat(STAT_MMIO_GEN_BITS), period = 1u << bits;
	printf("MMIO generation bits: %u\n", bits);
	*(volatile uint32_t *)W = 0x5107c0de; /* the window's first word */
	uint32_t wrong = 0, rounds = 0;
	for (uint32_t round = 0; round < 5 && period <= 64; round++, rounds++) {
		move_window(A);
		check(*(volatile uint32_t *)X == 0xffffffffu, "wrap.x_is_mmio", "X not MMIO");
		/* period - 1 changes that never touch X, then the one that maps the window at X:
		 * X's MMIO spte is exactly one period old when X is read again. */
		for (uint32_t i = 0; i < period - 1; i++)
			move_window(i & 1 ? A : B);
		move_window(X);
		wrong += *(volatile uint32_t *)X != 0x5107c0de;
		move_window(W);
	}
	if (period <= 64) {
		check(wrong == 0, "wrap.no_stale_mmio_spte", "%u of %u rounds read a stale MMIO spte",
		      wrong, rounds);
		check(hv_stat(STAT_GEN_WRAPS) >= rounds, "wrap.counted", "gen_wraps=%u",
		      hv_stat(STAT_GEN_WRAPS));
		check(hv_stat(STAT_ZAP_ALL) >= rounds, "wrap.zapped_all", "zap_all=%u",
		      hv_stat(STAT_ZAP_ALL));
		uint32_t freed = hv_stat(STAT_OBSOLETE_FREED);
		check(freed > 0, "wrap.obsolete_freed", "obsolete_freed=%u", freed);
	} else {
		printf("generation period %u: too long to wrap here; nothing to check\n", period);
	}
	check(hypercall(HC_AUDIT, 0, 0, 0, 0) == 0, "wrap.audit", "audit failed");
	printf("RESULT failures=%d\n", guest_failures);
	return guest_failures;
}
