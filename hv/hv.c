/* hv.c - from a booted host to a running guest: load the guest, bring up VMX, run, report. */
#include "hv/hv.h"
#include "kernel/guest_load.h"
#include "kernel/linux_boot.h"
#include "kernel/lib.h"
#include "kernel/cpu.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/pmm.h"
#include "arch/asm.h"
#include "devices/pio.h"
#include "drivers/power.h"
#include "devices/mmio.h"
#include "mmu/mmu.h"
#include "vmx/vcpu.h"
#include "vmx/vmx.h"
#include "vmx/trace.h"
#include "debug/gdb.h"
#include "debug/entry_check.h"
#include "debug/hooks.h"
#include "debug/monitor.h"
#include "vmx/intr.h"
#include "vmx/xsave.h"
#include "devices/intc.h"
#include "devices/acpi.h"
#include "drivers/uart.h"

#define GUEST_RAM_ALIGN (2 * MiB)
/* The ACPI tables fill the BIOS area from its start, the RSDP first (devices/acpi.h), where
 * a guest scanning 0xe0000-0xfffff finds it; both loaders keep the area reserved. */
#define ACPI_TABLES_GPA GUEST_BIOS_AREA_START
#define ACPI_TABLES_SIZE (GUEST_BIOS_AREA_END - GUEST_BIOS_AREA_START)

/* Why: with external-interrupt exiting, a host PIC interrupt would end every guest slice; the
 * hypervisor polls its devices and needs no host interrupts, so both 8259s are masked. */
static void mask_legacy_pic(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

static __noreturn void no_room(const struct hv_config *cfg)
{
	pr_err("guest_mem=%lluM does not fit: %llu MiB free", cfg->guest_mem / MiB,
	       pmm_free_pages() * PAGE_SIZE / MiB);
	hv_fail_boot("guest", "not enough contiguous memory for guest RAM (lower guest_mem=)");
}

/* Guest RAM for guest_mem=: contiguous, aligned, zeroed; guest physical 0 is ram_hpa. */
static u8 *alloc_guest_ram(struct vcpu *v, const struct hv_config *cfg)
{
	v->ram_size = cfg->guest_mem;
	v->ram_hpa = pmm_alloc_contig(cfg->guest_mem / PAGE_SIZE, GUEST_RAM_ALIGN);
	if (!v->ram_hpa)
		no_room(cfg);
	u8 *ram = (u8 *)(uintptr_t)v->ram_hpa;
	memset(ram, 0, v->ram_size);
	return ram;
}

static void load_multiboot(struct vcpu *v, const struct hv_config *cfg, const struct mb2_info *mb,
			   struct guest_start *start)
{
	char err[160];
	struct guest_image img;
	const struct mb2_module *m = &mb->mods[0];
	if (mb->n_mods > 1)
		hv_fail_boot("guest", "a second module was given, but the guest is a multiboot kernel: "
			     "only a Linux bzImage takes one (its initrd)");
	u8 *ram = alloc_guest_ram(v, cfg);
	if (guest_load_mb1((const u8 *)(uintptr_t)m->start, m->end - m->start, ram, v->ram_size, &img,
			   err, sizeof(err)))
		hv_fail_boot("guest", err);
	pr_info("guest: '%s' (%llu bytes, %s) loaded at %#llx-%#llx, entry %#x; RAM %llu MiB at "
		"host %#llx", m->cmdline, m->end - m->start, img.format, img.load_lo, img.load_hi,
		img.entry, v->ram_size / MiB, v->ram_hpa);
	u32 mbi = guest_build_mbi(ram, v->ram_size, m->cmdline, "slotvisor");
	guest_start_mb1(img.entry, mbi, start);
}

/*
 * The memory map a Linux guest gets as its e820 table (docs/linux.md): RAM below the EBDA, the
 * EBDA slot and the legacy BIOS/VGA area 0xa0000-0x100000 reserved (there is no firmware, but a
 * PC has them and Linux keeps them; the ACPI tables live at its top), RAM from 1 MiB to
 * guest_mem. There are no MP or SMBIOS tables (docs/platform.md), so nothing else is reserved.
 */
static u32 linux_memory_map(u64 ram_size, struct linux_e820_entry *map)
{
	map[0] = (struct linux_e820_entry){ 0, 0x9fc00, MB2_MEM_AVAILABLE };
	map[1] = (struct linux_e820_entry){ 0x9fc00, 0x400, MB2_MEM_RESERVED };
	map[2] = (struct linux_e820_entry){ 0xa0000, 0x60000, MB2_MEM_RESERVED };
	map[3] = (struct linux_e820_entry){ 0x100000, ram_size - 0x100000, MB2_MEM_AVAILABLE };
	return 4;
}

/* The first module is a bzImage: its string is the kernel command line, a second module the
 * initrd; kernel/linux_boot.c plans and writes everything (refusals are its one-line message). */
static void load_linux(struct vcpu *v, const struct hv_config *cfg, const struct mb2_info *mb,
		       struct guest_start *start)
{
	char err[160];
	struct linux_e820_entry map[4];
	struct linux_boot_plan plan;
	const struct mb2_module *k = &mb->mods[0];
	const struct mb2_module *rd = mb->n_mods > 1 ? &mb->mods[1] : NULL;
	if (mb->n_mods > 2)
		hv_fail_boot("linux", "more than two modules given: a Linux guest takes the kernel and "
			     "one initrd");
	u8 *ram = alloc_guest_ram(v, cfg);
	struct linux_boot_args a = {
		.kernel = (const u8 *)(uintptr_t)k->start, .kernel_len = k->end - k->start,
		.initrd = rd ? (const u8 *)(uintptr_t)rd->start : NULL,
		.initrd_len = rd ? rd->end - rd->start : 0,
		.cmdline = k->cmdline, .map = map, .map_entries = linux_memory_map(v->ram_size, map),
		.acpi_rsdp = ACPI_TABLES_GPA, /* built later (build_acpi_tables), the RSDP first */
	};
	if (linux_boot_load(&a, ram, v->ram_size, &plan, err, sizeof(err)))
		hv_fail_boot("linux", err);
	if (linux_boot_start(&plan, start))
		hv_fail_boot("linux", "the plan asks for the 64-bit entry, which is not supported");
	pr_info("guest: Linux (boot protocol %u.%02u, %llu bytes) at %#llx-%#llx, entry %#llx; "
		"initrd %llu bytes at %#llx; RAM %llu MiB at host %#llx", plan.hdr.version >> 8,
		plan.hdr.version & 0xff, a.kernel_len, plan.kernel_gpa, plan.kernel_gpa + plan.kernel_span,
		plan.entry, plan.initrd_size, plan.initrd_gpa, v->ram_size / MiB, v->ram_hpa);
	pr_info("guest: command line '%s'", k->cmdline);
}

/* Loads the guest module by what it is (a bzImage or a multiboot kernel) and says how the
 * vCPU starts. */
static void load_guest(struct vcpu *v, const struct hv_config *cfg, const struct mb2_info *mb,
		       struct guest_start *start)
{
	if (mb->n_mods == 0)
		hv_fail_boot("guest", "no guest module: the guest kernel must follow the hypervisor "
			     "as a GRUB 'module2' line (docs/boot.md)");
	const struct mb2_module *m = &mb->mods[0];
	if (linux_is_bzimage((const u8 *)(uintptr_t)m->start, m->end - m->start))
		load_linux(v, cfg, mb, start);
	else
		load_multiboot(v, cfg, mb, start);
}

/* The guest platform's ACPI tables (devices/acpi.h), for every guest as on a PC: written into
 * guest RAM once the devices they describe exist, before the guest runs. */
static void build_acpi_tables(struct vcpu *v)
{
	struct acpi_platform p;
	struct acpi_tables t;
	u8 *ram = (u8 *)(uintptr_t)v->ram_hpa;
	intc_acpi_platform(&p);
	if (acpi_build_tables(&p, ram + ACPI_TABLES_GPA, ACPI_TABLES_GPA, ACPI_TABLES_SIZE, &t) ||
	    t.rsdp != ACPI_TABLES_GPA)
		panic("acpi: the tables do not fit at %#x", ACPI_TABLES_GPA);
	pr_info("acpi: RSDP at %#llx, tables to %#llx (XSDT %#llx FADT %#llx MADT %#llx DSDT "
		"%#llx); PM at %#x, reset at %#x", t.rsdp, t.rsdp + t.size, t.xsdt, t.fadt, t.madt,
		t.dsdt, p.pm1a_evt, p.reset_port);
}

/*
 * Deliberate breakage of one VM-entry rule (selftest=entry_rule:N; entry_guest_state is 1 and
 * entry_control is 2), to test the failure reports and the entry checker against Bochs's own
 * verdict (tests/system/test_fatal_paths.py). Each breaks exactly one rule of SDM "VM Entries".
 */
static int cfg_entry_rule;

static void break_entry_rule(int n)
{
	switch (n) {
	case 1: vmcs_write(GUEST_TR_AR, 0x89); break;          /* guest.tr.type (26.3.1.2) */
	case 2: vmcs_write(CR3_TARGET_COUNT, 5); break;        /* ctrl.cr3_target_count */
	case 3: vmcs_write(GUEST_RFLAGS, 0); break;            /* guest.rflags.bit1 (26.3.1.4) */
	case 4: vmcs_write(GUEST_ACTIVITY_STATE, 5); break;    /* guest.activity.value */
	case 5: vmcs_write(VMCS_LINK_POINTER, 0x1234); break;  /* guest.link.align */
	case 6: vmcs_write(GUEST_CR0, vmcs_read(GUEST_CR0) & ~CR0_PE); break; /* guest.cr0.fixed */
	case 7: vmcs_write(HOST_CR4, vmcs_read(HOST_CR4) & ~CR4_VMXE); break; /* host.cr4.vmxe */
	case 8: vmcs_write(GUEST_SS_AR, (vmcs_read(GUEST_SS_AR) & ~0x60ULL) | 0x60); break;
		/* guest.ss.ar.dpl_vs_rpl: SS.DPL 3 with RPL 0 */
	case 9: vmcs_write(VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (1u << 8) | 14); break;
		/* ctrl.entry_intr.type: type 1 is reserved */
	case 10: vmcs_write(GUEST_GDTR_LIMIT, 0x10000); break; /* guest.gdtr.limit */
	default: pr_warn("selftest=entry_rule:%d: no such breakage", n); break;
	}
}

void hv_start(const struct hv_config *cfg, const struct mb2_info *mb)
{
	struct vcpu *v = &vcpu0;
	struct guest_start start;
	char err[200];

	/* First: it needs no VMX, so every machine (QEMU TCG too) shows where its rate came from. */
	if (!tsc_calibrate(cfg->tsc_source, mb->rsdp))
		hv_fail_boot("tsc", "the source tsc= names gives no rate on this machine (tsc=auto "
			     "tries each)");
	load_guest(v, cfg, mb, &start);
	if (cfg->selftest == SELFTEST_VMX_LOCKED_OFF)
		vmx_simulate_fc = FEATURE_CONTROL_LOCKED; /* as firmware with VT-x disabled leaves it */
	if (vmx_probe(err, sizeof(err)))
		hv_fail_boot("VMX", err);
	if (vmx_enable(err, sizeof(err)))
		hv_fail_boot("VMX", err);
	struct mmu_cpu mmu_cpu = { .maxphyaddr = cpu_maxphyaddr(), .nx = cpu_has_nx(),
				   .pf_bypass = cfg->pf_bypass };
	if (!mmu_init(cfg->shadow_pages, 36, &mmu_cpu))
		hv_fail_boot("mmu", "not enough memory for the shadow page pool (lower shadow_pages=)");
	if (cfg->mmu_audit >= 0) {
		mmu_audit_enabled = cfg->mmu_audit > 0;
		mmu_audit_every = cfg->mmu_audit > 1 ? (u64)cfg->mmu_audit : 1;
	}
	if (mmu_audit_enabled)
		pr_info("mmu: audit at every named point (mmu_audit=%llu): the sptes changed since "
			"the previous one; the whole tables at every %lluth and after memslot changes",
			mmu_audit_every, mmu_audit_every > 1 ? mmu_audit_every : 1000ULL);
	const char *why;
	struct memslot ram = { .id = 0, .base_gfn = 0, .npages = v->ram_size / PAGE_SIZE,
			       .hpa = v->ram_hpa };
	if (mmu_memslot_add(&ram, &why))
		hv_fail_boot("mmu", why);
	mask_legacy_pic();
	xsave_init();
	vuart_init(0x3f8);
	/* The debugging tools above VMX and the devices (docs/architecture.md): typed input
	 * reaches the guest through the monitor's escape filter. */
	vuart_set_input(console_input_poll);
	vmx_set_debug_hooks(&debug_hooks);
	debug_exit_init(0xf4);
	slotdev_init();
	intc_init(v->ram_size);
	build_acpi_tables(v);
	v->apicv = cfg->apicv;
	vcpu_setup(v, &start);
	v->strict_entry = cfg->entry_check;
	if (cfg->entry_check)
		pr_info("entry_check=1: the entry checker runs before every VM entry");
	cfg_entry_rule = cfg->entry_rule;
	if (cfg->gdb_port) {
		if (cfg->gdb_port == uart_port())
			hv_fail_boot("gdb", "gdb= names the console's own UART: use another port");
		gdb_attach_uart(cfg->gdb_port);
	}
	if (cfg->selftest == SELFTEST_ENTRY_GUEST_STATE)
		cfg_entry_rule = 1;
	if (cfg->selftest == SELFTEST_ENTRY_CONTROL)
		cfg_entry_rule = 2;
	if (cfg_entry_rule)
		break_entry_rule(cfg_entry_rule);
	pr_info("memory: %llu pages free after setup", pmm_free_pages());
	pr_info("guest: starting at %#x", start.eip);
	vcpu_run(v);
	/* The ends the guest asked for keep its code (debug-exit V; 0 for poweroff and reset);
	 * every other end is a failure. */
	bool guest_ended = v->end == END_DEBUG_EXIT || v->end == END_POWEROFF || v->end == END_RESET;
	u32 code = guest_ended ? v->exit_code : POWER_FAIL_CODE;
	if (guest_ended)
		pr_info("guest ended: %s", v->end_detail);
	else
		pr_err("guest ended: %s", v->end_detail);
	trace_print_costs();
	if (v->strict_entry)
		pr_info("entry check: %llu VM entries checked before they were made", entry_checks_done);
	if (host_nmis)
		pr_warn("host NMIs: %llu, counted and ignored (docs/debugging.md)", host_nmis);
	if (mmu_audit_enabled) /* a failed audit point panics: reaching here means all passed */
		pr_info("mmu: %llu audits at named points (%llu of the whole tables), all clean; at "
			"the end of the run: %s", mmu_audits_done, mmu_audits_whole,
			mmu_audit("end of run") ? "BAD SPTES" : "clean");
	vcpu_print_summary(v, code);
	power_off((u8)code);
}
