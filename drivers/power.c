/* power.c - power-off paths, most specific first. */
#include "drivers/power.h"
#include "drivers/acpi.h"
#include "drivers/uart.h"
#include "arch/asm.h"
#include "arch/x86.h"
#include "kernel/lib.h"

#define QEMU_DEBUG_EXIT_PORT 0xf4
#define BOCHS_SHUTDOWN_PORT 0x8900
#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511

static u64 rsdp_phys;

void power_set_rsdp(u64 rsdp)
{
	rsdp_phys = rsdp;
}

/* QEMU's fw_cfg signature (ports 0x510/0x511): only asked on a machine that says it is QEMU,
 * since on many boards 0x500-0x53f are GPIO registers. */
static bool fw_cfg_says_qemu(void)
{
	char sig[4];
	outw(FW_CFG_PORT_SEL, 0); /* FW_CFG_SIGNATURE */
	for (int i = 0; i < 4; i++)
		sig[i] = (char)inb(FW_CFG_PORT_DATA);
	return sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U';
}

static enum power_machine detect(void)
{
	u32 a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (c & CPUID_1_ECX_HYPERVISOR) {
		char v[13];
		cpuid(CPUID_HV_BASE, 0, &a, &b, &c, &d);
		memcpy(v, &b, 4), memcpy(v + 4, &c, 4), memcpy(v + 8, &d, 4);
		v[12] = 0;
		bool qemu = !memcmp(v, "TCGTCGTCGTCG", 12) || !memcmp(v, "KVMKVMKVM\0\0\0", 12);
		return qemu && fw_cfg_says_qemu() ? POWER_MACHINE_QEMU : POWER_MACHINE_OTHER;
	}
	/* Bochs's CPUs do not set the hypervisor bit; its BIOS's ACPI tables say "BOCHS ". */
	char oem[7];
	if (acpi_oem_id(rsdp_phys, oem) && !memcmp(oem, "BOCHS ", 6))
		return POWER_MACHINE_BOCHS;
	return POWER_MACHINE_OTHER;
}

enum power_machine power_machine(void)
{
	static int cached = -1;
	if (cached < 0)
		cached = (int)detect();
	return (enum power_machine)cached;
}

bool power_is_qemu(void)
{
	return power_machine() == POWER_MACHINE_QEMU;
}

const char *power_machine_name(enum power_machine m)
{
	return m == POWER_MACHINE_QEMU ? "QEMU (CPUID and fw_cfg): isa-debug-exit, then ACPI S5"
	       : m == POWER_MACHINE_BOCHS ? "Bochs (ACPI OEM ID): port 0x8900, then ACPI S5"
					   : "not an emulator: ACPI S5 only";
}

void power_off(u8 code)
{
	cli();
	uart_drain();
	enum power_machine m = power_machine();
	if (m == POWER_MACHINE_QEMU)
		outl(QEMU_DEBUG_EXIT_PORT, code);
	if (m == POWER_MACHINE_BOCHS)
		for (const char *s = "Shutdown"; *s; s++)
			outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	acpi_enter_s5(rsdp_phys);
	for (;;)
		hlt();
}
