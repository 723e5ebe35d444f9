/* SOURCES: devices/fwcfg.c devices/pio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_fwcfg.c - devices/fwcfg.c: every item's bytes (signature, ID without DMA, RAM size
 * little-endian, NOGRAPHIC, CPU counts, an empty big-endian file directory, IRQ0 override),
 * zeros for unknown items and past an item's end, rewinding on select, the write-channel bit,
 * QEMU's combined-port access rules, reset, and the glue (0x514 DMA left unclaimed).
 */
#include "unit.h"

#include "devices/fwcfg.h"
#include "devices/pio.h"

#define RAM (3 * GiB + 5 * MiB + 0x123)

static struct fwcfg f;

static int setup(void **state)
{
	(void)state;
	memset(&f, 0x5a, sizeof(f));
	fwcfg_reset(&f, RAM);
	return 0;
}

/* Selects key through the port interface and reads n bytes into buf. */
static void read_item(u16 key, u8 *buf, int n)
{
	fwcfg_io_write(&f, 0x510, 2, key);
	for (int i = 0; i < n; i++)
		buf[i] = fwcfg_io_read(&f, 0x511, 1);
}

static void expect_item(u16 key, const u8 *want, int n)
{
	u8 got[16];
	read_item(key, got, n + 4);
	assert_memory_equal(got, want, n);
	for (int i = n; i < n + 4; i++)
		assert_int_equal(got[i], 0); /* past the end */
}

static void test_signature(void **state)
{
	(void)state;
	expect_item(FW_CFG_SIGNATURE, (const u8 *)"QEMU", 4);
	u8 b[4]; /* selected at reset */
	fwcfg_reset(&f, RAM);
	for (int i = 0; i < 4; i++)
		b[i] = fwcfg_read_byte(&f);
	assert_memory_equal(b, "QEMU", 4);
}

static void test_id_has_no_dma(void **state)
{
	(void)state;
	static const u8 want[] = { 1, 0, 0, 0 };
	expect_item(FW_CFG_ID, want, 4);
}

static void test_ram_size_little_endian(void **state)
{
	(void)state;
	u8 b[8];
	read_item(FW_CFG_RAM_SIZE, b, 8);
	u64 v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	assert_int_equal(v, RAM);
	assert_int_equal(b[0], 0x23);
	assert_int_equal(b[3], 0xc0);
}

static void test_small_items(void **state)
{
	(void)state;
	static const u8 one16[] = { 1, 0 }, one32[] = { 1, 0, 0, 0 };
	expect_item(FW_CFG_NOGRAPHIC, one16, 2);
	expect_item(FW_CFG_NB_CPUS, one16, 2);
	expect_item(FW_CFG_MAX_CPUS, one16, 2);
	expect_item(FW_CFG_IRQ0_OVERRIDE, one32, 4);
}

static void test_file_dir_is_empty(void **state)
{
	(void)state;
	u8 b[8];
	read_item(FW_CFG_FILE_DIR, b, 8);
	u32 count = (u32)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]; /* big-endian */
	assert_int_equal(count, 0);
	static const u8 zero[8];
	assert_memory_equal(b, zero, 8);
}

static void test_unknown_items_read_zero(void **state)
{
	(void)state;
	static const u16 keys[] = { 0x0002, 0x0006, 0x000e, 0x0020, 0x3fff, 0x8000, 0x8003, 0xbfff };
	for (unsigned k = 0; k < ARRAY_SIZE(keys); k++) {
		u8 b[16];
		read_item(keys[k], b, 16);
		for (int i = 0; i < 16; i++)
			assert_int_equal(b[i], 0);
	}
}

static void test_select_rewinds_and_write_channel_ignored(void **state)
{
	(void)state;
	u8 b[2];
	read_item(FW_CFG_SIGNATURE, b, 2);
	read_item(FW_CFG_SIGNATURE | FW_CFG_WRITE_CHANNEL, b, 2);
	assert_memory_equal(b, "QE", 2);
	assert_int_equal(fwcfg_io_read(&f, 0x510, 1), 'M'); /* data readable at 0x510 too */
	fwcfg_io_write(&f, 0x511, 2, FW_CFG_SIGNATURE); /* select through 0x511 */
	assert_int_equal(fwcfg_io_read(&f, 0x511, 1), 'Q');
	read_item(0x0002 | FW_CFG_ARCH_LOCAL, b, 1); /* arch bit: a different item */
	assert_int_equal(b[0], 0x01);                  /* 0x8002 = IRQ0 override */
}

static void test_port_access_rules(void **state)
{
	(void)state;
	fwcfg_io_write(&f, 0x510, 2, FW_CFG_ID);
	fwcfg_io_write(&f, 0x511, 1, 0x55);     /* data write: ignored */
	fwcfg_io_write(&f, 0x510, 4, 0x0000);   /* 32-bit: ignored */
	assert_int_equal(fwcfg_io_read(&f, 0x510, 2), 0xffff);
	assert_int_equal(fwcfg_io_read(&f, 0x510, 4), 0xffffffff);
	assert_int_equal(fwcfg_io_read(&f, 0x511, 1), 1); /* still FW_CFG_ID, offset 0 */
	assert_int_equal(fwcfg_io_read(&f, 0x512, 1), 0xff);
	fwcfg_io_write(&f, 0x512, 2, FW_CFG_SIGNATURE);  /* not ours */
	assert_int_equal(fwcfg_io_read(&f, 0x511, 1), 0);
}

static void test_glue(void **state)
{
	(void)state;
	u32 v;
	fwcfg_init(64 * MiB);
	pio_write(0x510, 2, FW_CFG_RAM_SIZE);
	u64 ram = 0;
	for (int i = 0; i < 8; i++) {
		assert_true(pio_read(0x511, 1, &v));
		ram |= (u64)v << (8 * i);
	}
	assert_int_equal(ram, 64 * MiB);
	assert_false(pio_read(0x514, 4, &v)); /* no DMA interface */
	assert_int_equal(v, 0xffffffff);
	pio_reset_all();
	assert_true(pio_read(0x511, 1, &v));
	assert_int_equal(v, 'Q');
}

#define T(fn) cmocka_unit_test_setup(fn, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_signature),
		T(test_id_has_no_dma),
		T(test_ram_size_little_endian),
		T(test_small_items),
		T(test_file_dir_is_empty),
		T(test_unknown_items_read_zero),
		T(test_select_rewinds_and_write_channel_ignored),
		T(test_port_access_rules),
		T(test_glue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
