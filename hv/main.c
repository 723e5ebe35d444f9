/* main.c - boot sequence: console, boot information, memory, command line, guest, VMX, run. */
#include "boot/link.h"
#include "kernel/cmdline.h"
#include "kernel/cpu.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/mb2.h"
#include "kernel/panic.h"
#include "kernel/pmm.h"
#include "arch/asm.h"
#include "arch/x86.h"
#include "drivers/power.h"
#include "drivers/screen.h"
#include "drivers/uart.h"
#include "hv/hv.h"

#define HV_VERSION "0.1"

extern char __image_start[], __image_end[];
extern s32 boot_delta; /* boot/entry.S: where the image runs minus HV_LINK_BASE */

static struct mb2_info boot_info;

/* Stops before anything ran: one clear line, then power-off with the failure code. */
__noreturn void hv_fail_boot(const char *what, const char *why)
{
	pr_err("FATAL: %s: %s", what, why);
	pr_err("summary end=boot_failure code=%d exits=0", POWER_FAIL_CODE);
	power_off(POWER_FAIL_CODE);
}

static void log_memory_map(const struct mb2_info *mb)
{
	pr_info("memory map (%s, %d entries):", mb->mmap_from_efi ? "EFI" : "BIOS", mb->n_mmap);
	for (int i = 0; i < mb->n_mmap; i++)
		pr_info("  0x%012llx-0x%012llx %s", mb->mmap[i].base, mb->mmap[i].base + mb->mmap[i].len,
			mb2_mem_type_name(mb->mmap[i].type));
}

/* Frees the available RAM, then takes back the low 1 MiB, the image, modules and boot info. */
static void memory_init(const struct mb2_info *mb)
{
	pmm_init();
	for (int i = 0; i < mb->n_mmap; i++)
		if (mb->mmap[i].type == MB2_MEM_AVAILABLE)
			pmm_add_free(mb->mmap[i].base, mb->mmap[i].len);
	for (int i = 0; i < mb->n_mmap; i++)
		if (mb->mmap[i].type != MB2_MEM_AVAILABLE)
			pmm_reserve(mb->mmap[i].base, mb->mmap[i].len);
	pmm_reserve(0, 1 * MiB);
	pmm_reserve((u64)(uintptr_t)__image_start,
		    (u64)(uintptr_t)__image_end - (u64)(uintptr_t)__image_start);
	pmm_reserve(mb->info_phys, mb->info_size);
	for (int i = 0; i < mb->n_mods; i++)
		pmm_reserve(mb->mods[i].start, mb->mods[i].end - mb->mods[i].start);
	pr_info("page allocator: %llu pages (%llu MiB) free below 4 GiB", pmm_free_pages(),
		pmm_free_pages() * PAGE_SIZE / MiB);
	if (pmm_free_pages() == 0)
		hv_fail_boot("memory", "no usable RAM in the boot memory map");
}

/* The screen console (drivers/screen.c) as the console's second sink, unless screen=off;
 * it shows the boot log from the first line (kernel/log.c keeps it). */
static void screen_start(const struct hv_config *cfg, const struct mb2_info *mb)
{
	char msg[160];
	if (!cfg->screen) {
		pr_info("screen: off (screen=off)");
		return;
	}
	if (screen_init(&mb->fb, msg, sizeof(msg))) {
		klog(mb->fb.present ? LOG_WARN : LOG_INFO, "screen: %s", msg);
		return;
	}
	log_set_extra_output(screen_putc);
	pr_info("screen: %s", msg);
}

/* Where GRUB put the image (the multiboot2 relocatable tag, boot/header.S). Anywhere but the
 * link address, gdb needs the offset to match build/hv.elf's symbols (docs/debugging.md). */
static void log_image_place(void)
{
	u64 start = (u64)(uintptr_t)__image_start, end = (u64)(uintptr_t)__image_end;
	if (!boot_delta) {
		pr_info("image: %#llx-%#llx, at its link address", start, end);
		return;
	}
	pr_info("image: %#llx-%#llx, moved by the loader from its link address %#x; in gdb: "
		"add-symbol-file build/hv.elf -o %#llx", start, end, HV_LINK_BASE,
		(u64)(s64)boot_delta);
}

void kmain(u32 magic, u32 info_phys)
{
	static struct hv_config cfg;
	char err[160];

	uart_init(COM1_PORT, 115200);
	log_set_output(uart_putc);
	panic_set_power_off(power_off);
	cpu_init();
	pr_info("hypervisor " HV_VERSION " starting");
	if (mb2_parse(magic, (const void *)(uintptr_t)info_phys, info_phys, &boot_info, err,
		      sizeof(err)))
		hv_fail_boot("boot information", err);
	power_set_rsdp(boot_info.rsdp);
	cmdline_defaults(&cfg);
	bool cmdline_ok = cmdline_parse(boot_info.cmdline, &cfg, err, sizeof(err)) == 0;
	screen_start(&cfg, &boot_info); /* a refused line leaves screen=on: its FATAL shows there */
	if (!cmdline_ok)
		hv_fail_boot("command line", err);
	if (cfg.serial_port != COM1_PORT || cfg.serial_baud != 115200) {
		pr_info("console moves to port %#x at %u baud", cfg.serial_port, cfg.serial_baud);
		if (!uart_init(cfg.serial_port, cfg.serial_baud)) {
			uart_init(COM1_PORT, 115200); /* keep a console: say so on COM1 */
			pr_warn("no UART answers at port %#x: the console stays on COM1",
				cfg.serial_port);
		}
	}
	log_level = cfg.loglevel;
	pr_info("boot loader: %s; command line: '%s'", boot_info.loader_name, boot_info.cmdline);
	pr_info("cpu: CR4=%#llx (set at entry, nothing kept from the loader)", read_cr4());
	log_image_place();
	pr_info("power-off: %s", power_machine_name(power_machine()));
	log_memory_map(&boot_info);
	/* Before anything is allocated: under UEFI the other CPUs run a firmware loop in memory
	 * the map may report as available. */
	if (cpu_park_aps())
		pr_info("cpu: the other CPUs (if any) sent INIT: they wait for a SIPI, not in firmware");
	else
		pr_warn("cpu: no enabled local APIC: other CPUs, if any, are left as the firmware left them");
	memory_init(&boot_info);
	if (cfg.selftest == SELFTEST_PANIC)
		panic("selftest: panic requested on the command line");
	if (cfg.selftest == SELFTEST_EXCEPTION)
		__asm__ volatile("ud2");
	if (cfg.selftest == SELFTEST_NMI)
		cpu_selftest_nmi();
	hv_start(&cfg, &boot_info);
}
