/* platform.c - the PC platform a guest sees, printed so that a run under QEMU (-kernel, the
 * reference) and a run under the hypervisor can be compared line by line (tests/system/
 * test_differential.py): local APIC (version, one-shot and periodic timer, self-IPI, ISR after
 * EOI), the 8259 + 8254 (timer interrupts through the remapped PIC), the I/O APIC version,
 * RTC/CMOS registers, fw_cfg, PCI host bridge. Lines starting with "TIMING " carry values
 * that depend on speed and are compared by shape only. */
#include "guest.h"
#include "idt.h"

#define APIC 0xfee00000u
#define APIC_ID 0x20
#define APIC_VER 0x30
#define APIC_TPR 0x80
#define APIC_EOI 0xb0
#define APIC_SVR 0xf0
#define APIC_ISR 0x100
#define APIC_ICR_LO 0x300
#define APIC_ICR_HI 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3e0
#define VEC_TIMER 0x30
#define VEC_IPI 0x31
#define VEC_PIT 0x20

static volatile uint32_t timer_hits, ipi_hits, pit_hits;

static uint32_t apic_rd(uint32_t r) { return *(volatile uint32_t *)(APIC + r); }
static void apic_wr(uint32_t r, uint32_t v) { *(volatile uint32_t *)(APIC + r) = v; }

static void on_timer(struct idt_frame *f) { (void)f; timer_hits++; apic_wr(APIC_EOI, 0); }
static void on_ipi(struct idt_frame *f) { (void)f; ipi_hits++; apic_wr(APIC_EOI, 0); }
static void on_pit(struct idt_frame *f) { (void)f; pit_hits++; outb(0x20, 0x20); }

/* Waits (HLT with interrupts on) until *counter reaches n, or gives up after many wakeups. */
static uint32_t wait_for(volatile uint32_t *counter, uint32_t n)
{
	for (uint32_t spins = 0; *counter < n && spins < 100000; spins++)
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	return *counter;
}

static void apic_checks(void)
{
	printf("apic.version=0x%x\n", apic_rd(APIC_VER));
	printf("apic.id=%u\n", apic_rd(APIC_ID) >> 24);
	apic_wr(APIC_SVR, 0x100 | 0xff);
	apic_wr(APIC_TPR, 0);
	apic_wr(APIC_TIMER_DIV, 0x3); /* divide by 16 */
	apic_wr(APIC_LVT_TIMER, VEC_TIMER); /* one-shot */
	apic_wr(APIC_TIMER_INIT, 0x20000);
	printf("apic.oneshot fired=%u\n", wait_for(&timer_hits, 1));
	printf("apic.oneshot current_after=%u\n", apic_rd(APIC_TIMER_CUR));
	apic_wr(APIC_LVT_TIMER, VEC_TIMER | (1u << 17)); /* periodic */
	apic_wr(APIC_TIMER_INIT, 0x8000);
	printf("apic.periodic ticks=%u\n", wait_for(&timer_hits, 6) - 1);
	apic_wr(APIC_LVT_TIMER, VEC_TIMER | (1u << 16)); /* masked */
	apic_wr(APIC_TIMER_INIT, 0);
	apic_wr(APIC_ICR_HI, 0);
	apic_wr(APIC_ICR_LO, VEC_IPI | (1u << 18)); /* fixed, to self */
	printf("apic.self_ipi delivered=%u\n", wait_for(&ipi_hits, 1));
	uint32_t isr = 0;
	for (uint32_t i = 0; i < 8; i++)
		isr |= apic_rd(APIC_ISR + i * 0x10);
	printf("apic.isr_after_eoi=0x%x\n", isr);
}

static void pic_pit_checks(void)
{
	outb(0x20, 0x11); outb(0x21, VEC_PIT); outb(0x21, 0x04); outb(0x21, 0x01);
	outb(0xa0, 0x11); outb(0xa1, VEC_PIT + 8); outb(0xa1, 0x02); outb(0xa1, 0x01);
	outb(0x21, 0xfe); /* IRQ 0 only */
	outb(0xa1, 0xff);
	outb(0x43, 0x34); /* channel 0, lo/hi, mode 2 */
	outb(0x40, 1193 & 0xff);
	outb(0x40, 1193 >> 8);
	printf("pit.ticks=%u\n", wait_for(&pit_hits, 10) >= 10 ? 10 : pit_hits);
	outb(0x21, 0xff);
	outb(0x43, 0x00); /* latch channel 0 */
	uint32_t c = inb(0x40);
	c |= (uint32_t)inb(0x40) << 8;
	printf("pit.latched_count_in_range=%u\n", c > 0 && c <= 1193);
}

static uint8_t cmos(uint8_t r)
{
	outb(0x70, r);
	return inb(0x71);
}

static void ioapic_rtc_checks(void)
{
	volatile uint32_t *sel = (uint32_t *)0xfec00000u, *win = (uint32_t *)0xfec00010u;
	*sel = 1;
	printf("ioapic.version=0x%x\n", *win);
	*sel = 0x10; /* redirection entry 0, low half */
	printf("ioapic.redir0_masked=%u\n", (*win >> 16) & 1);
	printf("rtc.regb=0x%x regd=0x%x\n", cmos(0x0b), cmos(0x0d));
	printf("TIMING rtc.time=%02x:%02x:%02x\n", cmos(4), cmos(2), cmos(0));
	printf("cmos.base_kb=%u\n", cmos(0x15) | (cmos(0x16) << 8));
	printf("cmos.ext_kb=%u\n", cmos(0x17) | (cmos(0x18) << 8));
}

static uint32_t fwcfg_u32(uint16_t sel)
{
	uint32_t v = 0;
	__asm__ volatile("outw %0, %1" ::"a"(sel), "Nd"((uint16_t)0x510));
	for (int i = 0; i < 4; i++)
		v |= (uint32_t)inb(0x511) << (i * 8);
	return v;
}

static uint32_t pci_read(uint32_t bus, uint32_t dev, uint32_t fn, uint32_t off)
{
	outl(0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | off);
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0xcfc));
	return v;
}

static void fwcfg_pci_checks(void)
{
	uint32_t sig = fwcfg_u32(0);
	printf("fwcfg.signature=%c%c%c%c\n", sig & 0xff, (sig >> 8) & 0xff, (sig >> 16) & 0xff,
	       sig >> 24);
	printf("fwcfg.ram_mib=%u\n", fwcfg_u32(3) >> 20);
	printf("fwcfg.nb_cpus=%u\n", fwcfg_u32(5) & 0xffff);
	uint32_t id = pci_read(0, 0, 0, 0);
	printf("pci.00:00.0=%04x:%04x\n", id & 0xffff, id >> 16);
	printf("pci.00:00.0.class=0x%06x\n", pci_read(0, 0, 0, 8) >> 8);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	idt_init();
	idt_set_handler(VEC_TIMER, on_timer);
	idt_set_handler(VEC_IPI, on_ipi);
	idt_set_handler(VEC_PIT, on_pit);
	uint32_t r[4];
	cpuid(1, 0, r);
	printf("cpuid.apic=%u\n", (r[3] >> 9) & 1);
	apic_checks();
	pic_pit_checks();
	ioapic_rtc_checks();
	fwcfg_pci_checks();
	puts("RESULT done\n");
	return 0;
}
