/* SOURCES: devices/pci.c devices/pio.c kernel/fmt.c tests/unit/fake_host.c */
/*
 * test_pci.c - devices/pci.c: mechanism #1 with an empty bus (every scan read all ones, writes
 * dropped, 0xcf8 read back only as a dword) and with the i440FX host bridge at 00:00.0 (IDs,
 * class, header type, subsystem, other functions/devices/buses absent, the enable bit, byte and
 * word offsets within 0xcfc-0xcff, the write mask), reset, and the glue.
 */
#include "unit.h"

#include "devices/pci.h"
#include "devices/pio.h"

static struct pci_host h;

#define ADDR(bus, dev, fn, reg) \
	(PCI_ADDR_ENABLE | (bus) << 16 | (dev) << 11 | (fn) << 8 | (reg))

static u32 cfg_read(u32 addr, int size)
{
	pci_host_write(&h, 0xcf8, 4, addr & ~3u);
	return pci_host_read(&h, 0xcfc + (addr & 3), size);
}

static void cfg_write(u32 addr, int size, u32 v)
{
	pci_host_write(&h, 0xcf8, 4, addr & ~3u);
	pci_host_write(&h, 0xcfc + (addr & 3), size, v);
}

static int setup_empty(void **state)
{
	(void)state;
	memset(&h, 0x5a, sizeof(h));
	pci_host_reset(&h, false);
	return 0;
}

static int setup_bridge(void **state)
{
	(void)state;
	memset(&h, 0x5a, sizeof(h));
	pci_host_reset(&h, true);
	return 0;
}

/* ---- empty bus ---- */

static void test_empty_bus_scan_finds_nothing(void **state)
{
	(void)state;
	for (u32 bus = 0; bus < 256; bus += 17)
		for (u32 dev = 0; dev < 32; dev++)
			for (u32 fn = 0; fn < 8; fn++)
				assert_int_equal(cfg_read(ADDR(bus, dev, fn, 0), 4), 0xffffffff);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x0e), 1), 0xff);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x02), 2), 0xffff);
	cfg_write(ADDR(0, 0, 0, 0x04), 2, 0x0007);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x04), 2), 0xffff);
}

static void test_address_register_dword_only(void **state)
{
	(void)state;
	assert_int_equal(pci_host_read(&h, 0xcf8, 4), 0);
	pci_host_write(&h, 0xcf8, 4, 0x80000000);
	assert_int_equal(pci_host_read(&h, 0xcf8, 4), 0x80000000); /* type 1 detection */
	pci_host_write(&h, 0xcf8, 4, 0x7f0000ff);
	assert_int_equal(pci_host_read(&h, 0xcf8, 4), 0x7f0000ff); /* as written */
	assert_int_equal(pci_host_read(&h, 0xcf8, 1), 0xff);
	assert_int_equal(pci_host_read(&h, 0xcf8, 2), 0xffff);
	assert_int_equal(pci_host_read(&h, 0xcf9, 1), 0xff);
	assert_int_equal(pci_host_read(&h, 0xcfa, 2), 0xffff);
	pci_host_write(&h, 0xcf8, 1, 0x00); /* byte/word writes are not the address */
	pci_host_write(&h, 0xcf8, 2, 0x0000);
	pci_host_write(&h, 0xcf9, 1, 0x06); /* QEMU's reset control register: nothing here */
	assert_int_equal(pci_host_read(&h, 0xcf8, 4), 0x7f0000ff);
	assert_int_equal(pci_host_read(&h, 0xd00, 4), 0xffffffff); /* not ours */
}

/* ---- host bridge ---- */

static void test_host_bridge_identity(void **state)
{
	(void)state;
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x00), 4), 0x12378086);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x04), 4), 0x00000000); /* command, status */
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x08), 4), 0x06000002); /* class, revision */
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x0c), 4), 0x00000000); /* header type 0 */
	for (u32 bar = 0x10; bar < 0x28; bar += 4)
		assert_int_equal(cfg_read(ADDR(0, 0, 0, bar), 4), 0);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x2c), 4), 0x11001af4);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x34), 1), 0); /* no capabilities */
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x72), 1), 0x02); /* SMRAM */
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x0b), 1), 0x06);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x0a), 1), 0x00);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x02), 2), 0x1237);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x01), 1), 0x80);
}

static void test_host_bridge_is_the_only_function(void **state)
{
	(void)state;
	int found = 0;
	for (u32 bus = 0; bus < 4; bus++)
		for (u32 dev = 0; dev < 32; dev++)
			for (u32 fn = 0; fn < 8; fn++)
				found += cfg_read(ADDR(bus, dev, fn, 0), 2) != 0xffff;
	assert_int_equal(found, 1);
	pci_host_write(&h, 0xcf8, 4, 0x00000000); /* enable bit clear */
	assert_int_equal(pci_host_read(&h, 0xcfc, 4), 0xffffffff);
}

static void test_data_port_offsets_and_sizes(void **state)
{
	(void)state;
	pci_host_write(&h, 0xcf8, 4, ADDR(0, 0, 0, 0x08));
	assert_int_equal(pci_host_read(&h, 0xcfc, 1), 0x02);
	assert_int_equal(pci_host_read(&h, 0xcfd, 1), 0x00);
	assert_int_equal(pci_host_read(&h, 0xcfe, 2), 0x0600);
	assert_int_equal(pci_host_read(&h, 0xcff, 1), 0x06);
	assert_int_equal(pci_host_read(&h, 0xcfd, 4), 0xffffffff); /* crosses 0xcff */
	assert_int_equal(pci_host_read(&h, 0xcff, 2), 0xffff);
	pci_host_write(&h, 0xcf8, 4, ADDR(0, 0, 0, 0x08) | 3); /* low bits ignored */
	assert_int_equal(pci_host_read(&h, 0xcfc, 4), 0x06000002);
}

static void test_write_mask(void **state)
{
	(void)state;
	cfg_write(ADDR(0, 0, 0, 0x00), 4, 0);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x00), 4), 0x12378086);
	cfg_write(ADDR(0, 0, 0, 0x04), 4, 0xffffffff);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x04), 4), 0x00000407);
	cfg_write(ADDR(0, 0, 0, 0x04), 2, 0x0002);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x04), 2), 0x0002);
	cfg_write(ADDR(0, 0, 0, 0x0c), 4, 0xffffffff);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x0c), 4), 0x0000ffff); /* cache line, latency */
	cfg_write(ADDR(0, 0, 0, 0x10), 4, 0xffffffff);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x10), 4), 0); /* no BAR */
	cfg_write(ADDR(0, 0, 0, 0x3c), 4, 0xffffffff);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x3c), 4), 0x000000ff); /* interrupt line */
	cfg_write(ADDR(0, 0, 0, 0x59), 1, 0x30); /* PAM0: stored only */
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x59), 1), 0x30);
	cfg_write(ADDR(0, 0, 0, 0xfc), 4, 0xdeadbeef);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0xfc), 4), 0xdeadbeef);
	cfg_write(ADDR(0, 1, 0, 0x40), 4, 0x12345678); /* absent device: dropped */
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x40), 4), 0);
	pci_host_reset(&h, true);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0x04), 4), 0);
	assert_int_equal(cfg_read(ADDR(0, 0, 0, 0xfc), 4), 0);
}

static void test_glue(void **state)
{
	(void)state;
	u32 v;
	pci_init(true);
	pio_write(0xcf8, 4, ADDR(0, 0, 0, 0));
	assert_true(pio_read(0xcfc, 4, &v));
	assert_int_equal(v, 0x12378086);
	assert_true(pio_read(0xcf8, 1, &v));
	assert_int_equal(v, 0xff);
	pio_write(0xcf8, 4, ADDR(0, 0, 0, 0x04));
	pio_write(0xcfc, 2, 0x0007);
	pio_reset_all(); /* keeps the bridge, clears its registers and the address */
	assert_true(pio_read(0xcf8, 4, &v));
	assert_int_equal(v, 0);
	pio_write(0xcf8, 4, ADDR(0, 0, 0, 0x04));
	assert_true(pio_read(0xcfc, 2, &v));
	assert_int_equal(v, 0);
	assert_false(pio_read(0xd00, 1, &v));
	/* 0xcf9 is left to the reset control register (devices/acpi_pm.c); 0xcfa is ours */
	assert_false(pio_read(0xcf9, 1, &v));
	assert_true(pio_read(0xcfa, 2, &v));
	assert_int_equal(v, 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_empty_bus_scan_finds_nothing, setup_empty),
		cmocka_unit_test_setup(test_address_register_dword_only, setup_empty),
		cmocka_unit_test_setup(test_host_bridge_identity, setup_bridge),
		cmocka_unit_test_setup(test_host_bridge_is_the_only_function, setup_bridge),
		cmocka_unit_test_setup(test_data_port_offsets_and_sizes, setup_bridge),
		cmocka_unit_test_setup(test_write_mask, setup_bridge),
		cmocka_unit_test_setup(test_glue, setup_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
