/* cpu.c - host TSS and IDT; every host exception is reported and ends the run. */
#include "kernel/cpu.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "arch/asm.h"
#include "arch/apic.h"

struct __packed tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 reserved1;
	u64 ist[7];
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
};
_Static_assert(sizeof(struct tss64) == 104, "TSS layout");

struct __packed idt_gate {
	u16 off_lo;
	u16 sel;
	u8 ist;
	u8 type;
	u16 off_mid;
	u32 off_hi;
	u32 reserved;
};
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate layout");

extern u64 gdt64[];
extern const u64 isr_table[32];

static struct tss64 tss __attribute__((aligned(16)));
static struct idt_gate idt[32] __attribute__((aligned(16)));
static u8 df_stack[8192] __attribute__((aligned(16)));
static u8 nmi_stack[4096] __attribute__((aligned(16)));
u64 host_nmis;

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available", "#DF double fault",
	"coprocessor overrun", "#TS invalid TSS", "#NP segment not present", "#SS stack fault",
	"#GP general protection", "#PF page fault", "reserved 15", "#MF x87 error",
	"#AC alignment check", "#MC machine check", "#XM SIMD error", "#VE virtualization",
	"#CP control protection", "reserved 22", "reserved 23", "reserved 24", "reserved 25",
	"reserved 26", "reserved 27", "#HV", "#VC", "#SX security", "reserved 31",
};

static void install_tss(void)
{
	u64 base = (u64)(uintptr_t)&tss;
	u64 limit = sizeof(tss) - 1;
	tss.ist[0] = (u64)(uintptr_t)(df_stack + sizeof(df_stack));
	tss.ist[1] = (u64)(uintptr_t)(nmi_stack + sizeof(nmi_stack)); /* an NMI may hit anywhere */
	tss.iomap_base = sizeof(tss);
	/* 64-bit available TSS descriptor (type 9), SDM Vol. 3A 8.2.3. */
	gdt64[3] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
		   (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt64[4] = base >> 32;
	ltr(HOST_TR_SEL);
}

static void install_idt(void)
{
	for (int v = 0; v < 32; v++) {
		u64 off = isr_table[v];
		idt[v] = (struct idt_gate){
			.off_lo = (u16)off, .sel = HOST_CS_SEL,
			.ist = v == VEC_DF ? 1 : v == VEC_NMI ? 2 : 0,
			.type = 0x8e, .off_mid = (u16)(off >> 16), .off_hi = (u32)(off >> 32),
		};
	}
	struct desc_ptr p = { sizeof(idt) - 1, (u64)(uintptr_t)idt };
	lidt(&p);
}

void cpu_init(void)
{
	install_tss();
	install_idt();
}

u64 cpu_tss_base(void)
{
	return (u64)(uintptr_t)&tss;
}

/* The one RDMSR instruction allowed to fault (rdmsr_safe): its address and whether it did. */
extern const u8 rdmsr_safe_insn[];
static volatile bool rdmsr_faulted;

__attribute__((noinline, noclone)) bool rdmsr_safe(u32 msr, u64 *val)
{
	u32 lo = 0, hi = 0;
	rdmsr_faulted = false;
	__asm__ volatile(".global rdmsr_safe_insn\nrdmsr_safe_insn:\n\trdmsr"
			 : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	if (rdmsr_faulted)
		return false;
	*val = ((u64)hi << 32) | lo;
	return true;
}

void trap_handler(struct trap_frame *f)
{
	if (f->vector == VEC_NMI) { /* a host NMI (a board's watchdog, a BMC): counted */
		host_nmis++;
		return; /* kernel/isr.S returns with IRETQ, which unblocks NMIs */
	}
	if (f->vector == VEC_GP && f->rip == (u64)rdmsr_safe_insn) {
		rdmsr_faulted = true;
		f->rip += 2; /* RDMSR is 0f 32: resume after it (kernel/isr.S returns) */
		return;
	}
	pr_err("host exception %llu (%s) error=%#llx rip=%#llx cr2=%#llx", f->vector,
	       exc_names[f->vector & 31], f->error, f->rip, read_cr2());
	panic_regs(f, "unexpected host exception %llu at rip=%#llx", f->vector, f->rip);
}

/* selftest=nmi: an NMI to this CPU through its own local APIC (xAPIC or x2APIC, as the firmware
 * left it), then a bounded wait for the handler's count. */
void cpu_selftest_nmi(void)
{
	u64 base = 0, before = host_nmis;
	if (!rdmsr_safe(LAPIC_MSR_APIC_BASE, &base) || !(base & APIC_BASE_EN)) {
		pr_warn("selftest: no enabled local APIC (IA32_APIC_BASE=%#llx): no NMI sent", base);
		return;
	}
	u32 lo = (APIC_DM_NMI << APIC_DM_SHIFT) | APIC_ICR_ASSERT; /* physical destination: us */
	if (base & APIC_BASE_EXTD) {
		u64 id = rdmsr(LAPIC_MSR_X2APIC_FIRST + (LAPIC_REG_ID >> 4));
		wrmsr(LAPIC_MSR_X2APIC_FIRST + (LAPIC_REG_ICR_LO >> 4), (id << 32) | lo);
	} else {
		volatile u32 *apic = (volatile u32 *)(uintptr_t)(base & ~0xfffULL);
		apic[LAPIC_REG_ICR_HI / 4] = apic[LAPIC_REG_ID / 4] & 0xff000000u;
		apic[LAPIC_REG_ICR_LO / 4] = lo;
	}
	for (u32 i = 0; i < 10000000 && *(volatile u64 *)&host_nmis == before; i++)
		pause();
	if (*(volatile u64 *)&host_nmis == before)
		pr_err("selftest: an NMI sent to this CPU (%s) never arrived",
		       (base & APIC_BASE_EXTD) ? "x2APIC" : "xAPIC");
	else
		pr_info("selftest: host NMI sent to this CPU (%s), handled on its own stack and "
			"returned from (host NMIs: %llu)", (base & APIC_BASE_EXTD) ? "x2APIC" : "xAPIC",
			host_nmis);
}

/* The other CPUs, as the firmware left them (under UEFI: running a loop in memory the map may
 * call available), are put in wait-for-SIPI with one INIT IPI to all but this CPU, before the
 * allocator or the guest's RAM can overwrite their loop. Returns false when there is no
 * enabled local APIC to send it with. */
bool cpu_park_aps(void)
{
	u64 base = 0;
	if (!rdmsr_safe(LAPIC_MSR_APIC_BASE, &base) || !(base & APIC_BASE_EN))
		return false;
	u32 lo = (APIC_DM_INIT << APIC_DM_SHIFT) | APIC_ICR_ASSERT |
		 (APIC_SHORTHAND_OTHERS << APIC_ICR_SHORTHAND_SHIFT);
	if (base & APIC_BASE_EXTD) {
		wrmsr(LAPIC_MSR_X2APIC_FIRST + (LAPIC_REG_ICR_LO >> 4), lo);
		return true;
	}
	volatile u32 *apic = (volatile u32 *)(uintptr_t)(base & ~0xfffULL);
	apic[LAPIC_REG_ICR_HI / 4] = 0;
	apic[LAPIC_REG_ICR_LO / 4] = lo;
	for (u32 i = 0; i < 1000000 && (apic[LAPIC_REG_ICR_LO / 4] & APIC_DELIVERY_PENDING); i++)
		pause();
	return true;
}
