/* pgsmoke.c - the smallest paging-on guest: identity-maps its first 16 MiB with 32-bit paging
 * (4 KiB pages for the first 4 MiB, 4 MiB pages above), turns paging on, prints, touches the
 * test device's registers through a mapping, switches between two page directories, exits. */
#include "guest.h"
#include "hv.h"

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pd2[1024] __attribute__((aligned(4096)));
static uint32_t pt[1024] __attribute__((aligned(4096)));
static uint32_t marker_a[1024] __attribute__((aligned(4096)));
static uint32_t marker_b[1024] __attribute__((aligned(4096)));

#define P 1u
#define RW 2u
#define US 4u
#define PS 0x80u
#define VA_MARK 0x40000000u
#define VA_DEV 0x40400000u

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	for (uint32_t i = 0; i < 1024; i++)
		pt[i] = (i << 12) | P | RW;
	pd[0] = (uint32_t)pt | P | RW;
	for (uint32_t i = 1; i < 4; i++)
		pd[i] = (i << 22) | P | RW | PS;
	memcpy(pd2, pd, sizeof(pd));
	pd[VA_MARK >> 22] = ((uint32_t)marker_a & ~0x3fffffu) | P | RW | PS; /* 4 MiB around a */
	pd2[VA_MARK >> 22] = ((uint32_t)marker_b & ~0x3fffffu) | P | RW | PS;
	pd[VA_DEV >> 22] = 0xfe800000u | P | RW | PS; /* 4 MiB page over the device */
	marker_a[0] = 0xaaaa;
	marker_b[0] = 0xbbbb;
	uint32_t cr4;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	__asm__ volatile("mov %0, %%cr4" ::"r"(cr4 | 0x10)); /* PSE */
	__asm__ volatile("mov %0, %%cr3" ::"r"(pd));
	uint32_t cr0;
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	__asm__ volatile("mov %0, %%cr0" ::"r"(cr0 | 0x80010000u)); /* PG | WP */
	puts("paging on\n");
	uint32_t off_a = (uint32_t)marker_a & 0x3fffffu, off_b = (uint32_t)marker_b & 0x3fffffu;
	check(*(volatile uint32_t *)(VA_MARK + off_a) == 0xaaaa, "pd1.marker", "wrong");
	uint32_t reused0 = hv_stat(STAT_SP_REUSED);
	int bad = 0;
	for (int i = 0; i < 20; i++) {
		__asm__ volatile("mov %0, %%cr3" ::"r"(pd2) : "memory");
		bad += *(volatile uint32_t *)(VA_MARK + off_b) != 0xbbbb;
		__asm__ volatile("mov %0, %%cr3" ::"r"(pd) : "memory");
		bad += *(volatile uint32_t *)(VA_MARK + off_a) != 0xaaaa;
	}
	check(bad == 0, "cr3.switch", "%d wrong reads", bad);
	printf("sp_reused grew by %u\n", hv_stat(STAT_SP_REUSED) - reused0);
	uint32_t id = *(volatile uint32_t *)(VA_DEV + (SLOTDEV_REGS_GPA - 0xfe800000u));
	check(id == SLOTDEV_ID, "mmio.through_paging", "id %x", id);
	check(hypercall(HC_AUDIT, 0, 0, 0, 0) == 0, "audit", "bad sptes");
	printf("RESULT failures=%d\n", guest_failures);
	return guest_failures;
}
