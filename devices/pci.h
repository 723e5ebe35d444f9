/* pci.h - PCI configuration mechanism #1 (address 0xcf8, data 0xcfc-0xcff) on bus 0, with at
 * most one device: an i440FX host bridge at 00:00.0 like QEMU's pc machine.
 *
 * Mechanism #1: a 32-bit write to 0xcf8 sets the address (bit 31 enable, 23:16 bus, 15:11
 * device, 10:8 function, 7:2 register) and a 32-bit read returns it exactly as written (QEMU).
 * Byte and word accesses to 0xcf8-0xcfb are not the address register: they read all ones and
 * are ignored, like an unclaimed port; 0xcf9 itself is the reset control register
 * (devices/acpi_pm.c), as on QEMU's PIIX. 0xcfc-0xcff access the selected register at offset
 * (address & 0xfc) + (port & 3) with the access size; an access past 0xcff, the enable bit
 * clear, or an absent device/function reads all ones and drops the write.
 *
 * The host bridge (optional; recommended on, as pci_init(true)): QEMU's i440FX PCI function,
 * vendor 8086 device 1237 revision 02, class 06 00 00 (host bridge), header type 00 (single
 * function), subsystem 1af4:1100, no BARs, no capabilities, SMRAM (0x72) 0x02, command and
 * status 0. Writable: command bits I/O, memory, bus master, INTx disable; cache line size,
 * latency timer, interrupt line, and 0x40-0xff (stored only: PAM and SMRAM writes change no
 * memory mapping, and QEMU's 0x57 RAM-size byte is 0). Everything else is read-only.
 * Why present it: guests scanning bus 0 on QEMU always find 00:00.0 (and some probe for a host
 * bridge to decide that mechanism #1 works). QEMU's pc also has the PIIX3 ISA bridge (00:01.0),
 * IDE (00:01.1), ACPI PM (00:01.3) and, without -nodefaults, VGA and a NIC: a differential test
 * against QEMU must compare only 00:00.0 (or run QEMU with `-machine pc` and filter the rest).
 */
#ifndef DEVICES_PCI_H
#define DEVICES_PCI_H

#include "arch/types.h"

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_ADDR_ENABLE 0x80000000u

struct pci_host {
	u32 address;      /* last 32-bit write to 0xcf8 */
	bool host_bridge; /* 00:00.0 present */
	u8 config[256];   /* the host bridge's configuration space */
};

/* Power-on state: address 0, the bridge's reset configuration when host_bridge. */
void pci_host_reset(struct pci_host *s, bool host_bridge);
/* An access of size 1, 2 or 4 at a port in 0xcf8-0xcff (others: all ones / ignored). */
u32 pci_host_read(struct pci_host *s, u16 port, int size);
void pci_host_write(struct pci_host *s, u16 port, int size, u32 value);

/* ---- glue ---- */

/* Registers 0xcf8-0xcff; host_bridge selects whether 00:00.0 exists. */
void pci_init(bool host_bridge);

#endif
