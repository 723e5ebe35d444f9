/* diff_cpuid_msr.c - the CPUID bits and MSRs on which QEMU's default CPU and the hypervisor
 * (which passes the host's CPUID, filtered) must agree, printed for a line-by-line comparison
 * with QEMU (tests/system/test_differential.py): the baseline feature bits of leaves 1 and
 * 0x80000001, IA32_APIC_BASE, PAT and EFER at reset, IA32_MISC_ENABLE's reserved bits, round
 * trips through SYSENTER_CS/ESP/EIP, STAR, LSTAR, CSTAR, FMASK, KERNEL_GS_BASE, PAT,
 * MISC_ENABLE and EFER, and RDTSC.
 *
 * Not printed, because they differ for reasons outside the hypervisor's contract: vendor,
 * family/model and every feature beyond the baseline (QEMU's qemu64 model vs the host); unknown
 * MSRs (QEMU TCG reads 0, the hypervisor injects #GP by design); IA32_TSC (0x10): QEMU 7.2 TCG
 * reads it as 0 and ignores writes; MTRRCAP, MCG_CAP, BIOS_SIGN_ID, FEATURE_CONTROL (QEMU
 * reports its own values); reserved-bit and invalid-value writes (QEMU does not check them). */
#include "guest.h"
#include "idt.h"

#define MSR_APIC_BASE 0x1b
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MISC_ENABLE 0x1a0
#define MSR_PAT 0x277
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_FMASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void bits(const char *name, uint32_t reg, const char *const *names, const int *pos,
		 int n)
{
	printf("%s:", name);
	for (int i = 0; i < n; i++)
		printf(" %s=%u", names[i], (reg >> pos[i]) & 1);
	printf("\n");
}

static void cpuid_bits(void)
{
	uint32_t r[4];
	static const char *const d1n[] = { "fpu", "tsc", "msr", "cx8", "apic", "sep", "cmov",
					    "pat", "fxsr", "sse", "sse2" };
	static const int d1p[] = { 0, 4, 5, 8, 9, 11, 15, 16, 24, 25, 26 };
	/* XSAVE is a CPU-model choice (QEMU's default lacks it; the hypervisor passes the
	 * host's), so it is not compared; OSXSAVE must be 0 in both until CR4 sets it. */
	static const char *const c1n[] = { "sse3", "osxsave", "hypervisor" };
	static const int c1p[] = { 0, 27, 31 };
	static const char *const d8n[] = { "syscall", "nx", "lm" };
	static const int d8p[] = { 11, 20, 29 };
	cpuid(1, 0, r);
	bits("cpuid.1.edx", r[3], d1n, d1p, 11);
	bits("cpuid.1.ecx", r[2], c1n, c1p, 3);
	cpuid(0x80000000, 0, r);
	printf("cpuid.80000000.eax>=80000001: %u\n", r[0] >= 0x80000001u);
	cpuid(0x80000001, 0, r);
	bits("cpuid.80000001.edx", r[3], d8n, d8p, 3);
}

/* Writes v, reads it back, restores the old value. */
static void round_trip(const char *name, uint32_t msr, uint64_t v)
{
	uint64_t old = rdmsr(msr);
	wrmsr(msr, v);
	uint64_t got = rdmsr(msr);
	wrmsr(msr, old);
	printf("msr.%s: wrote=0x%llx read=0x%llx restored=%u\n", name, v, got, rdmsr(msr) == old);
}

static void msrs(void)
{
	printf("msr.apic_base=0x%llx\n", rdmsr(MSR_APIC_BASE));
	printf("msr.pat=0x%llx\n", rdmsr(MSR_PAT));
	printf("msr.efer=0x%llx\n", rdmsr(MSR_EFER));
	/* the reset value's fast-strings bit is the host CPU's (QEMU: 1; under Bochs: 0) */
	printf("msr.misc_enable.reserved=0x%llx\n", rdmsr(MSR_MISC_ENABLE) & ~0x400c51889ull);
	printf("msr.sysenter cs=0x%llx esp=0x%llx eip=0x%llx\n", rdmsr(MSR_SYSENTER_CS),
	       rdmsr(MSR_SYSENTER_ESP), rdmsr(MSR_SYSENTER_EIP));
	round_trip("sysenter_cs", MSR_SYSENTER_CS, 0x0008);
	round_trip("sysenter_esp", MSR_SYSENTER_ESP, 0x0009f000);
	round_trip("sysenter_eip", MSR_SYSENTER_EIP, 0xc0101234);
	round_trip("sysenter_eip_64", MSR_SYSENTER_EIP, 0xffffffff80001000ull);
	round_trip("star", MSR_STAR, 0x0023001000000000ull);
	round_trip("lstar", MSR_LSTAR, 0xffffffff81000000ull);
	round_trip("cstar", MSR_CSTAR, 0x00007fffffff0000ull);
	round_trip("fmask", MSR_FMASK, 0x47700);
	round_trip("kernel_gs_base", MSR_KERNEL_GS_BASE, 0xffff888000000000ull);
	round_trip("pat", MSR_PAT, 0x0007010600070106ull);
	round_trip("misc_enable", MSR_MISC_ENABLE, 0x400c51889ull);
	round_trip("efer_sce", MSR_EFER, 0x1);
	round_trip("efer_nxe", MSR_EFER, 0x800);
	round_trip("efer_lme", MSR_EFER, 0x100);
	round_trip("efer_sce_nxe_lme", MSR_EFER, 0x901);
}

static void tsc(void)
{
	uint64_t a = rdtsc(), b = rdtsc();
	for (volatile int i = 0; i < 10000; i++)
		;
	uint64_t c = rdtsc();
	printf("tsc.rdtsc_increasing=%u\n", a < b && b < c);
	printf("tsc.rdtsc_nonzero=%u\n", a != 0);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	(void)magic, (void)mbi;
	serial_init();
	idt_init();
	cpuid_bits();
	msrs();
	tsc();
	puts("RESULT done\n");
	return 0;
}
