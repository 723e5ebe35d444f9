/* memslots.c - memslots, MMIO sptes and their generation, seen from a paging-off guest:
 * the MMIO fast path, moving a RAM-backed device window (a memslot change) and a register
 * block (no memslot change), memslot hypercalls, the audit after each step. */
#include "guest.h"
#include "hv.h"

#define OLD SLOTDEV_WINDOW_GPA
#define NEW (SLOTDEV_WINDOW_GPA + 0x100000u)
#define HC_SLOT 7
#define HC_GPA 0xd0000000u

static void audit(const char *when)
{
	int32_t bad = hypercall(HC_AUDIT, 0, 0, 0, 0);
	check(bad == 0, when, "audit found %d bad sptes", bad);
}

static void mmio_fast_path(void)
{
	uint32_t fast0 = hv_stat(STAT_MMIO_FAST), slow0 = hv_stat(STAT_MMIO_SLOW);
	uint32_t ok = 0;
	for (int i = 0; i < 100; i++)
		ok += mmio_read32(SLOTDEV_REGS_GPA) == SLOTDEV_ID;
	check(ok == 100, "mmio.id_reads", "%u of 100 reads returned the ID", ok);
	uint32_t fast = hv_stat(STAT_MMIO_FAST) - fast0, slow = hv_stat(STAT_MMIO_SLOW) - slow0;
	check(slow <= 1 && fast >= 99, "mmio.fast_path", "fast=%u slow=%u for 100 reads", fast, slow);
	mmio_write32(SLOTDEV_REGS_GPA + 4, 0x12345678);
	check(mmio_read32(SLOTDEV_REGS_GPA + 4) == 0x12345678, "mmio.scratch", "scratch mismatch");
	check(mmio_read32(0xfed00000) == 0xffffffffu, "mmio.unassigned_reads_ones",
	      "unassigned MMIO did not read as all ones");
	audit("audit.after_mmio");
}

static void window_move(void)
{
	volatile uint32_t *old = (uint32_t *)OLD, *new = (uint32_t *)NEW;
	for (int i = 0; i < 16; i++)
		old[i * 1024] = 0xa5a50000u + i; /* one word per page */
	(void)new[0]; /* NEW is MMIO now: caches an MMIO spte there */
	uint32_t created = hv_stat(STAT_SP_CREATED), zaps = hv_stat(STAT_ZAP_ALL);
	uint32_t gen = hv_stat(STAT_GENERATION);
	outl(SLOTDEV_PORT_WINDOW, NEW);
	check(inl(SLOTDEV_PORT_STATUS) == 0 && inl(SLOTDEV_PORT_WINDOW) == NEW, "window.moved",
	      "status %u base %x", inl(SLOTDEV_PORT_STATUS), inl(SLOTDEV_PORT_WINDOW));
	check(hv_stat(STAT_GENERATION) == gen + 1, "window.generation_bumped", "gen %u -> %u", gen,
	      hv_stat(STAT_GENERATION));
	uint32_t bad = 0;
	for (int i = 0; i < 16; i++)
		bad += new[i * 1024] != 0xa5a50000u + i;
	check(bad == 0, "window.new_address_served", "%u pages wrong at the new address", bad);
	check(old[0] == 0xffffffffu && old[15 * 1024] == 0xffffffffu, "window.old_address_unserved",
	      "old address reads %x", old[0]);
	check(hv_stat(STAT_ZAP_ALL) == zaps, "window.no_zap_all", "a zap-all happened");
	check(hv_stat(STAT_SP_CREATED) == created, "window.no_shadow_page_rebuilt",
	      "%u shadow pages created", hv_stat(STAT_SP_CREATED) - created);
	outl(SLOTDEV_PORT_WINDOW, 0x1000); /* onto guest RAM: refused */
	check(inl(SLOTDEV_PORT_STATUS) == 1 && inl(SLOTDEV_PORT_WINDOW) == NEW, "window.overlap_refused",
	      "status %u", inl(SLOTDEV_PORT_STATUS));
	outl(SLOTDEV_PORT_WINDOW, 0xfee00000u - 0x8000u); /* would cover the local APIC: refused */
	check(inl(SLOTDEV_PORT_STATUS) == 1 && inl(SLOTDEV_PORT_WINDOW) == NEW &&
	      (mmio_read32(0xfee00030) & 0xff) != 0xff, "window.over_device_refused",
	      "status %u base %x", inl(SLOTDEV_PORT_STATUS), inl(SLOTDEV_PORT_WINDOW));
	audit("audit.after_window_move");
}

static void regs_move(void)
{
	uint32_t gen = hv_stat(STAT_GENERATION);
	outl(SLOTDEV_PORT_REGS, SLOTDEV_REGS_GPA + 0x10000);
	check(mmio_read32(SLOTDEV_REGS_GPA + 0x10000) == SLOTDEV_ID, "regs.new_address_served",
	      "no ID at the new register address");
	check(mmio_read32(SLOTDEV_REGS_GPA) == 0xffffffffu, "regs.old_address_unserved",
	      "old register address still answers");
	check(hv_stat(STAT_GENERATION) == gen, "regs.no_memslot_change", "generation moved");
	outl(SLOTDEV_PORT_REGS, SLOTDEV_REGS_GPA);
	outl(SLOTDEV_PORT_REGS, 0x2000); /* onto guest RAM, where it would be hidden: refused */
	check(inl(SLOTDEV_PORT_STATUS) == 1 && inl(SLOTDEV_PORT_REGS) == SLOTDEV_REGS_GPA &&
	      mmio_read32(SLOTDEV_REGS_GPA) == SLOTDEV_ID, "regs.over_ram_refused",
	      "status %u base %x", inl(SLOTDEV_PORT_STATUS), inl(SLOTDEV_PORT_REGS));
}

static void hypercall_slots(void)
{
	volatile uint32_t *p = (uint32_t *)HC_GPA;
	check(hypercall(HC_MEMSLOT_ADD, HC_SLOT, HC_GPA, 0x10000, 0) == 0, "hc.add", "add failed");
	p[0] = 0xfeedf00d;
	check(p[0] == 0xfeedf00d, "hc.added_is_ram", "read back %x", p[0]);
	check(hypercall(HC_MEMSLOT_ADD, HC_SLOT, HC_GPA + 0x100000, 0x1000, 0) == HV_EINVAL,
	      "hc.duplicate_id_refused", "duplicate id accepted");
	check(hypercall(HC_MEMSLOT_ADD, 8, HC_GPA + 0x8000, 0x10000, 0) == HV_EINVAL,
	      "hc.overlap_refused", "overlap accepted");
	check(hypercall(HC_MEMSLOT_ADD, 8, 0xfee00000u, 0x1000, 0) == HV_EINVAL,
	      "hc.over_device_refused", "RAM over the local APIC accepted");
	check(hypercall(HC_MEMSLOT_ADD, 8, HC_GPA + 1, 0x1000, 0) == HV_EINVAL,
	      "hc.misaligned_refused", "misaligned accepted");
	check(hypercall(HC_MEMSLOT_MOVE, HC_SLOT, HC_GPA + 0x200000, 0, 0) == 0, "hc.move", "move");
	check(p[0] == 0xffffffffu && ((volatile uint32_t *)(HC_GPA + 0x200000))[0] == 0xfeedf00d,
	      "hc.move_effective", "after move: old %x", p[0]);
	check(hypercall(HC_MEMSLOT_MOVE, HC_SLOT, 0xfec00000u - 0x8000u, 0, 0) == HV_EINVAL &&
	      ((volatile uint32_t *)(HC_GPA + 0x200000))[0] == 0xfeedf00d,
	      "hc.move_over_device_refused", "a move over the I/O APIC accepted");
	check(hypercall(HC_MEMSLOT_RESIZE, HC_SLOT, 0x20000, 0, 0) == 0 &&
	      ((volatile uint32_t *)(HC_GPA + 0x200000))[0] == 0xfeedf00d, "hc.resize_keeps_data",
	      "resize lost data");
	check(hypercall(HC_MEMSLOT_DELETE, HC_SLOT, 0, 0, 0) == 0, "hc.delete", "delete failed");
	check(((volatile uint32_t *)(HC_GPA + 0x200000))[0] == 0xffffffffu, "hc.deleted_unserved",
	      "deleted slot still answers");
	check(hypercall(HC_MEMSLOT_DELETE, HC_SLOT, 0, 0, 0) == HV_ENOENT, "hc.delete_unknown",
	      "second delete not -ENOENT");
	check(hypercall(HC_MEMSLOT_DELETE, 0, 0, 0, 0) == HV_EPERM, "hc.guest_ram_protected",
	      "guest RAM slot deletable");
	audit("audit.after_hypercalls");
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	mmio_fast_path();
	window_move();
	regs_move();
	hypercall_slots();
	printf("stats fast=%u slow=%u mmio_sptes=%u changes=%u gen=%u sp_in_use=%u\n",
	       hv_stat(STAT_MMIO_FAST), hv_stat(STAT_MMIO_SLOW), hv_stat(STAT_MMIO_SPTES),
	       hv_stat(STAT_MEMSLOT_CHANGES), hv_stat(STAT_GENERATION), hv_stat(STAT_SP_IN_USE));
	printf("RESULT failures=%d\n", guest_failures);
	return guest_failures;
}
