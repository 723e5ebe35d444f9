/* power.c - power-off paths, most specific first. */
#include "drivers/power.h"
#include "drivers/acpi.h"
#include "drivers/uart.h"
#include "arch/asm.h"

#define QEMU_DEBUG_EXIT_PORT 0xf4
#define BOCHS_SHUTDOWN_PORT 0x8900
#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511

static u64 rsdp_phys;

void power_set_rsdp(u64 rsdp)
{
	rsdp_phys = rsdp;
}

bool power_is_qemu(void)
{
	static int cached = -1;
	if (cached < 0) {
		char sig[4];
		outw(FW_CFG_PORT_SEL, 0); /* FW_CFG_SIGNATURE */
		for (int i = 0; i < 4; i++)
			sig[i] = (char)inb(FW_CFG_PORT_DATA);
		cached = sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U';
	}
	return cached;
}

void power_off(u8 code)
{
	cli();
	uart_drain();
	if (power_is_qemu())
		outl(QEMU_DEBUG_EXIT_PORT, code);
	for (const char *s = "Shutdown"; *s; s++)
		outb(BOCHS_SHUTDOWN_PORT, (u8)*s);
	acpi_enter_s5(rsdp_phys);
	for (;;)
		hlt();
}
