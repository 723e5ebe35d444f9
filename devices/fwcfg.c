/* fwcfg.c - QEMU's fw_cfg legacy port interface with a fixed set of items. */
#include "devices/fwcfg.h"
#include "devices/pio.h"

#define ITEM_MAX 8

/* Fills buf with the item's bytes; returns its length (0: no such item). */
static unsigned item(const struct fwcfg *f, u16 key, u8 buf[ITEM_MAX])
{
	u64 v;
	unsigned len;
	switch (key) {
	case FW_CFG_SIGNATURE:
		buf[0] = 'Q', buf[1] = 'E', buf[2] = 'M', buf[3] = 'U';
		return 4;
	case FW_CFG_FILE_DIR: /* big-endian count of files */
		buf[0] = buf[1] = buf[2] = buf[3] = 0;
		return 4;
	case FW_CFG_ID: v = 1, len = 4; break; /* traditional interface, no DMA */
	case FW_CFG_RAM_SIZE: v = f->ram_size, len = 8; break;
	case FW_CFG_NOGRAPHIC: v = 1, len = 2; break;
	case FW_CFG_NB_CPUS: v = 1, len = 2; break;
	case FW_CFG_MAX_CPUS: v = 1, len = 2; break;
	case FW_CFG_IRQ0_OVERRIDE: v = 1, len = 4; break;
	default: return 0;
	}
	for (unsigned i = 0; i < len; i++)
		buf[i] = v >> (8 * i);
	return len;
}

void fwcfg_reset(struct fwcfg *f, u64 ram_size)
{
	*f = (struct fwcfg){ .ram_size = ram_size };
	fwcfg_select(f, FW_CFG_SIGNATURE);
}

void fwcfg_select(struct fwcfg *f, u16 selector)
{
	f->key = selector & ~FW_CFG_WRITE_CHANNEL;
	f->offset = 0;
}

u8 fwcfg_read_byte(struct fwcfg *f)
{
	u8 buf[ITEM_MAX];
	unsigned len = item(f, f->key, buf);
	if (f->offset >= len)
		return 0;
	return buf[f->offset++];
}

u32 fwcfg_io_read(struct fwcfg *f, u16 port, int size)
{
	if (size != 1 || (port & ~1) != FWCFG_PORT)
		return size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
	return fwcfg_read_byte(f);
}

void fwcfg_io_write(struct fwcfg *f, u16 port, int size, u32 value)
{
	if (size == 2 && (port & ~1) == FWCFG_PORT)
		fwcfg_select(f, value);
}

/* ---- glue ---- */

static struct fwcfg fwcfg;

static u32 fwcfg_pio_read(struct pio_device *d, u16 port, int size)
{
	(void)d;
	return fwcfg_io_read(&fwcfg, port, size);
}

static void fwcfg_pio_write(struct pio_device *d, u16 port, int size, u32 value)
{
	(void)d;
	fwcfg_io_write(&fwcfg, port, size, value);
}

static void fwcfg_pio_reset(struct pio_device *d)
{
	(void)d;
	fwcfg_reset(&fwcfg, fwcfg.ram_size);
}

static struct pio_device fwcfg_dev = {
	"fw_cfg", FWCFG_PORT, 2, fwcfg_pio_read, fwcfg_pio_write, fwcfg_pio_reset, .neutral = true,
};

void fwcfg_init(u64 ram_size)
{
	fwcfg_reset(&fwcfg, ram_size);
	pio_register(&fwcfg_dev);
}
