/* pci.c - PCI configuration mechanism #1 and the optional i440FX host bridge at 00:00.0. */
#include "devices/pci.h"
#include "devices/pio.h"

/* configuration header offsets */
#define CFG_VENDOR 0x00
#define CFG_DEVICE 0x02
#define CFG_COMMAND 0x04
#define CFG_REVISION 0x08
#define CFG_CLASS 0x09 /* prog-if, subclass, class */
#define CFG_CACHE_LINE 0x0c
#define CFG_LATENCY 0x0d
#define CFG_SUBSYS_VENDOR 0x2c
#define CFG_SUBSYS 0x2e
#define CFG_INT_LINE 0x3c
#define CFG_DEVICE_SPECIFIC 0x40
#define I440FX_SMRAM 0x72

#define CMD_WRITABLE 0x0407 /* I/O, memory, bus master, INTx disable */

#define ADDR_BUS(a) (((a) >> 16) & 0xff)
#define ADDR_DEVFN(a) (((a) >> 8) & 0xff)
#define ADDR_REG(a) ((a) & 0xfc)

static void put16(u8 *p, u16 v)
{
	p[0] = v;
	p[1] = v >> 8;
}

void pci_host_reset(struct pci_host *s, bool host_bridge)
{
	*s = (struct pci_host){ .host_bridge = host_bridge };
	put16(&s->config[CFG_VENDOR], 0x8086);
	put16(&s->config[CFG_DEVICE], 0x1237);
	s->config[CFG_REVISION] = 0x02;
	s->config[CFG_CLASS + 2] = 0x06; /* bridge */
	s->config[CFG_CLASS + 1] = 0x00; /* host bridge */
	put16(&s->config[CFG_SUBSYS_VENDOR], 0x1af4);
	put16(&s->config[CFG_SUBSYS], 0x1100);
	s->config[I440FX_SMRAM] = 0x02;
}

/* Bits of config byte `at` the guest may change. */
static u8 writable(unsigned at)
{
	if (at >= CFG_DEVICE_SPECIFIC)
		return 0xff;
	switch (at) {
	case CFG_COMMAND: return CMD_WRITABLE & 0xff;
	case CFG_COMMAND + 1: return CMD_WRITABLE >> 8;
	case CFG_CACHE_LINE:
	case CFG_LATENCY:
	case CFG_INT_LINE: return 0xff;
	default: return 0;
	}
}

/* The config offset a data-port access reaches, or -1 when it reaches nothing. */
static int target(const struct pci_host *s, u16 port, int size)
{
	unsigned off = port - PCI_CONFIG_DATA;
	if (port < PCI_CONFIG_DATA || off + size > 4 || !(s->address & PCI_ADDR_ENABLE))
		return -1;
	if (!s->host_bridge || ADDR_BUS(s->address) != 0 || ADDR_DEVFN(s->address) != 0)
		return -1;
	return ADDR_REG(s->address) + off;
}

static u32 ones(int size)
{
	return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

u32 pci_host_read(struct pci_host *s, u16 port, int size)
{
	if (port == PCI_CONFIG_ADDRESS && size == 4)
		return s->address;
	int at = target(s, port, size);
	if (at < 0)
		return ones(size);
	u32 v = 0;
	for (int i = 0; i < size; i++)
		v |= (u32)s->config[at + i] << (8 * i);
	return v;
}

void pci_host_write(struct pci_host *s, u16 port, int size, u32 value)
{
	if (port == PCI_CONFIG_ADDRESS && size == 4) {
		s->address = value;
		return;
	}
	int at = target(s, port, size);
	if (at < 0)
		return;
	for (int i = 0; i < size; i++) {
		u8 w = writable(at + i), b = value >> (8 * i);
		s->config[at + i] = (s->config[at + i] & ~w) | (b & w);
	}
}

/* ---- glue ---- */

static struct pci_host pci;

static u32 pci_pio_read(struct pio_device *d, u16 port, int size)
{
	(void)d;
	return pci_host_read(&pci, port, size);
}

static void pci_pio_write(struct pio_device *d, u16 port, int size, u32 value)
{
	(void)d;
	pci_host_write(&pci, port, size, value);
}

static void pci_pio_reset(struct pio_device *d)
{
	(void)d;
	pci_host_reset(&pci, pci.host_bridge);
}

/* Two ranges around 0xcf9, the reset control register (devices/acpi_pm.c): an access is
 * dispatched by its first port, so a dword at 0xcf8 still reaches the address register. */
static struct pio_device pci_dev = {
	"pci-cfg1", PCI_CONFIG_ADDRESS, 1, pci_pio_read, pci_pio_write, pci_pio_reset, .neutral = true,
};
static struct pio_device pci_dev_hi = {
	"pci-cfg1", PCI_CONFIG_ADDRESS + 2, 6, pci_pio_read, pci_pio_write, NULL, .neutral = true,
};

void pci_init(bool host_bridge)
{
	pci_host_reset(&pci, host_bridge);
	pio_register(&pci_dev);
	pio_register(&pci_dev_hi);
}
