/* exits.c - checks the guest-visible contract of the hypervisor, one check() per point:
 * boot state (multiboot info), CPUID, MSRs, port I/O, hypercalls, VMX instructions and control
 * registers. Prints "RESULT failures=N" and exits with N.
 *
 * Every instruction that may fault runs under idt_expect(), so the guest also runs to the end on
 * bare QEMU/Bochs (where the hypervisor-specific checks fail). Guest command line (optional):
 * "mem_upper=N" sets the expected multiboot mem_upper in KiB (default 64512: guest_mem=64M). */
#include "guest.h"
#include "idt.h"
#include "pt.h" /* read_cr0/3/4, write_cr3/4 */

#define DEFAULT_MEM_UPPER_K ((64u << 10) - 1024u)

#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_PAT 0x277
#define MSR_UNKNOWN 0x12345678
#define PAT_DEFAULT 0x0007040600070406ull

#define COM1 0x3f8

/* RDMSR/WRMSR (2 bytes each) that survive a #GP: return the vector taken, or -1. */
static int rdmsr_safe(uint32_t msr, uint64_t *val)
{
	uint32_t lo = 0xdeadbeef, hi = 0xdeadbeef;
	idt_expect(VEC_GP, 2);
	__asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	bool gp = idt_caught(VEC_GP);
	*val = ((uint64_t)hi << 32) | lo;
	return gp ? VEC_GP : -1;
}

static int wrmsr_safe(uint32_t msr, uint64_t val)
{
	idt_expect(VEC_GP, 2);
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
			 : "memory");
	return idt_caught(VEC_GP) ? VEC_GP : -1;
}

/* VMCALL (0F 01 C1) with EAX = nr, EBX = ECX = EDX = 0; returns EAX. *ud tells whether it
 * raised #UD instead (bare hardware). */
static uint32_t vmcall(uint32_t nr, bool *ud)
{
	uint32_t a = nr, b = 0, c = 0, d = 0;
	idt_expect(VEC_UD, 3);
	__asm__ volatile(".byte 0x0f, 0x01, 0xc1" : "+a"(a), "+b"(b), "+c"(c), "+d"(d) : : "memory");
	*ud = idt_caught(VEC_UD);
	return a;
}

static const char *fault_name(int v)
{
	return v == VEC_GP ? "#GP" : v == VEC_UD ? "#UD" : v < 0 ? "none" : "other";
}

/* Multiboot command line option "key=N" (decimal), or dflt. */
static uint32_t cmdline_uint(const struct mb1_info *mbi, const char *key, uint32_t dflt)
{
	if (!(mbi->flags & (1u << 2)) || !mbi->cmdline)
		return dflt;
	const char *s = (const char *)mbi->cmdline;
	size_t kl = strlen(key);
	for (; *s; s++) {
		if ((s == (const char *)mbi->cmdline || s[-1] == ' ') && !memcmp(s, key, kl) &&
		    s[kl] == '=') {
			uint32_t v = 0;
			for (s += kl + 1; *s >= '0' && *s <= '9'; s++)
				v = v * 10 + (uint32_t)(*s - '0');
			return v;
		}
	}
	return dflt;
}

static void check_boot(uint32_t magic, const struct mb1_info *mbi)
{
	check(magic == MB1_BOOT_MAGIC, "boot.magic", "EAX=0x%x, want 0x%x", magic, MB1_BOOT_MAGIC);
	uint32_t want_upper = cmdline_uint(mbi, "mem_upper", DEFAULT_MEM_UPPER_K);
	bool has_mem = mbi->flags & 1u;
	check(has_mem && mbi->mem_lower == 639, "boot.mem_lower", "flags=0x%x mem_lower=%u, want 639",
	      mbi->flags, mbi->mem_lower);
	check(has_mem && mbi->mem_upper == want_upper, "boot.mem_upper",
	      "flags=0x%x mem_upper=%u, want %u", mbi->flags, mbi->mem_upper, want_upper);

	/* The map must show [0, mem_lower K) and [1 MiB, 1 MiB + mem_upper K) available, and no
	 * available RAM above 1 MiB beyond that. */
	bool has_mmap = (mbi->flags & (1u << 6)) && mbi->mmap_length;
	bool low_ok = false, high_ok = false, beyond = false;
	int n = 0;
	uint64_t high_end = 0x100000ull + (uint64_t)mbi->mem_upper * 1024;
	if (has_mmap) {
		uint32_t end = mbi->mmap_addr + mbi->mmap_length;
		for (uint32_t p = mbi->mmap_addr; p < end && n < 64; n++) {
			const struct mb1_mmap_entry *e = (const struct mb1_mmap_entry *)p;
			uint64_t lo = e->addr, hi = e->addr + e->len;
			if (e->type == 1) {
				if (lo == 0 && hi >= (uint64_t)mbi->mem_lower * 1024)
					low_ok = true;
				if (lo <= 0x100000 && hi >= high_end)
					high_ok = true;
				if (hi > high_end && lo >= 0x100000)
					beyond = true;
				if (lo < 0x100000 && hi > 0x100000 && hi > high_end)
					beyond = true;
			}
			p += e->size + 4;
		}
	}
	check(has_mmap && low_ok && high_ok && !beyond, "boot.mmap",
	      "flags=0x%x entries=%d low_ok=%d high_ok=%d available_beyond_mem_upper=%d", mbi->flags,
	      n, low_ok, high_ok, beyond);
}

static void check_cpuid(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	check(!(r[2] & (1u << 5)), "cpuid.vmx_hidden", "CPUID.1:ECX=0x%x has VMX (bit 5)", r[2]);
	check(r[2] & (1u << 31), "cpuid.hypervisor_bit", "CPUID.1:ECX=0x%x lacks bit 31", r[2]);
	cpuid(0x40000000, 0, r);
	check(r[0] >= 0x40000000, "cpuid.hv_leaf_max", "CPUID.40000000h:EAX=0x%x", r[0]);
	char sig[13];
	memcpy(sig, &r[1], 4);
	memcpy(sig + 4, &r[2], 4);
	memcpy(sig + 8, &r[3], 4);
	sig[12] = 0;
	for (int i = 0; i < 12; i++)
		if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e))
			sig[i] = '?';
	/* One logical processor, and no feature whose MSRs the hypervisor lacks (TSC_ADJUST's it
	 * has). */
	cpuid(1, 0, r);
	check(((r[1] >> 16) & 0xff) == 1 && !(r[3] & (1u << 28)) && (r[1] >> 24) == 0,
	      "cpuid.one_cpu", "CPUID.1:EBX=0x%x EDX=0x%x (want 1 logical CPU, no HTT, APIC ID 0)",
	      r[1], r[3]);
	check(!(r[2] & ((1u << 7) | (1u << 2) | (1u << 4))) && !(r[3] & ((1u << 21) | (1u << 22))),
	      "cpuid.no_msr_features", "CPUID.1:ECX=0x%x EDX=0x%x has EST/DTES64/DS-CPL/DS/ACPI",
	      r[2], r[3]);
	uint32_t max;
	cpuid(0, 0, r);
	max = r[0];
	cpuid(7, 0, r);
	/* IA32_TSC_ADJUST is emulated, so offered (guests/cpu_model.c checks the MSR) */
	check(max >= 7 && (r[1] & 2), "cpuid.tsc_adjust", "CPUID.7:EBX=0x%x lacks TSC_ADJUST", r[1]);
	cpuid(6, 0, r);
	check(max < 6 || !(r[2] & 1), "cpuid.no_aperf", "CPUID.6:ECX=0x%x has APERF/MPERF", r[2]);
	cpuid(4, 0, r);
	check(max < 4 || (r[0] >> 14) == 0, "cpuid.leaf4_one_core",
	      "CPUID.4.0:EAX=0x%x (cores and sharing threads must be 1)", r[0]);
	uint32_t l0[4], l1[4];
	cpuid(0xb, 0, l0);
	cpuid(0xb, 1, l1);
	check(max < 0xb || (l0[1] == 1 && l0[2] == 0x100 && l0[3] == 0 && l1[1] == 1 &&
			    l1[2] == 0x201 && l1[3] == 0),
	      "cpuid.leafb_topology", "CPUID.B.0 EBX,ECX,EDX=0x%x,0x%x,0x%x B.1=0x%x,0x%x,0x%x",
	      l0[1], l0[2], l0[3], l1[1], l1[2], l1[3]);
	cpuid(0x40000000, 0, r);
	check(!memcmp(&r[1], "Slot", 4) && !memcmp(&r[2], "viso", 4) && r[3] == 'r',
	      "cpuid.hv_signature", "EBX,ECX,EDX=0x%x,0x%x,0x%x ('%s'), want 'Slotvisor'", r[1],
	      r[2], r[3], sig);
}

static void check_msr_roundtrip(uint32_t msr, uint64_t val, const char *name)
{
	uint64_t got = 0;
	int f1 = wrmsr_safe(msr, val);
	int f2 = rdmsr_safe(msr, &got);
	check(f1 < 0 && f2 < 0 && got == val, name, "wrote 0x%llx read 0x%llx (faults: %s, %s)",
	      (unsigned long long)val, (unsigned long long)got, fault_name(f1), fault_name(f2));
}

static void check_msrs(uint64_t efer0, int efer_fault, uint64_t pat0, int pat_fault)
{
	check(efer_fault < 0 && efer0 == 0, "msr.efer_initial", "EFER=0x%llx (fault: %s), want 0",
	      (unsigned long long)efer0, fault_name(efer_fault));
	check(pat_fault < 0 && pat0 == PAT_DEFAULT, "msr.pat_initial",
	      "PAT=0x%llx (fault: %s), want 0x%llx", (unsigned long long)pat0,
	      fault_name(pat_fault), PAT_DEFAULT);
	check_msr_roundtrip(MSR_SYSENTER_CS, 0x08, "msr.sysenter_cs");
	check_msr_roundtrip(MSR_SYSENTER_ESP, 0x00123450, "msr.sysenter_esp");
	check_msr_roundtrip(MSR_SYSENTER_EIP, 0x00105670, "msr.sysenter_eip");
	/* IA32_DEBUGCTL: BTF round-trips; a reserved bit is refused with #GP. */
	check_msr_roundtrip(0x1d9, 2, "msr.debugctl_btf");
	int fd = wrmsr_safe(0x1d9, 0), fr = wrmsr_safe(0x1d9, 1u << 3);
	check(fd < 0 && fr == VEC_GP, "msr.debugctl_reserved_gp",
	      "DEBUGCTL clear: %s; reserved bit 3: %s (want #GP)", fault_name(fd), fault_name(fr));

	uint64_t v;
	int f = rdmsr_safe(MSR_UNKNOWN, &v);
	check(f == VEC_GP && idt_last.error == 0, "msr.unknown_rdmsr_gp",
	      "RDMSR 0x%x: fault %s error=0x%x value=0x%llx, want #GP(0)", MSR_UNKNOWN,
	      fault_name(f), f >= 0 ? idt_last.error : 0, (unsigned long long)v);
	f = wrmsr_safe(MSR_UNKNOWN, 0x1234);
	check(f == VEC_GP && idt_last.error == 0, "msr.unknown_wrmsr_gp",
	      "WRMSR 0x%x: fault %s error=0x%x, want #GP(0)", MSR_UNKNOWN, fault_name(f),
	      f >= 0 ? idt_last.error : 0);
}

static void check_io(void)
{
	uint8_t v = inb(0x1234);
	check(v == 0xff, "io.unclaimed_port", "inb(0x1234)=0x%x, want 0xff", v);

	outb(COM1 + 7, 0xa5);
	uint8_t s1 = inb(COM1 + 7);
	outb(COM1 + 7, 0x5a);
	uint8_t s2 = inb(COM1 + 7);
	check(s1 == 0xa5 && s2 == 0x5a, "io.uart_scratch", "wrote 0xa5,0x5a read 0x%x,0x%x", s1, s2);

	uint8_t lsr = 0;
	for (int i = 0; i < 100000; i++) /* idle at once under the hypervisor; drains on hardware */
		if (((lsr = inb(COM1 + 5)) & 0x60) == 0x60)
			break;
	check((lsr & 0x60) == 0x60, "io.uart_lsr_idle", "LSR=0x%x, want THRE|TEMT (0x60) set", lsr);
}

static void check_vmcall(void)
{
	bool ud;
	uint32_t r = vmcall(0, &ud);
	check(!ud && r == 1, "vmcall.version", "VMCALL EAX=0 returned 0x%x%s, want 1", r,
	      ud ? " after #UD" : "");
	r = vmcall(0xdead, &ud);
	check(!ud && r == 0xffffffda, "vmcall.enosys", "VMCALL EAX=0xdead returned 0x%x%s, want 0xffffffda",
	      r, ud ? " after #UD" : "");
}

static void check_vmx_instructions(void)
{
	idt_expect(VEC_UD, 3);
	__asm__ volatile(".byte 0x0f, 0x01, 0xc4" ::: "memory"); /* VMXOFF */
	bool ud = idt_caught(VEC_UD);
	check(ud, "vmx.vmxoff_ud", "VMXOFF raised no #UD");

	static uint64_t region __attribute__((aligned(4096)));
	idt_expect(VEC_UD, 4);
	__asm__ volatile(".byte 0xf3, 0x0f, 0xc7, 0x30" /* VMXON (%eax) */
			 : : "a"(&region) : "memory");
	ud = idt_caught(VEC_UD);
	check(ud, "vmx.vmxon_ud", "VMXON raised no #UD");
}

static void check_crs(uint32_t cr0, uint32_t cr4)
{
	check(cr0 == 0x11, "cr.cr0_initial", "CR0=0x%x, want 0x11 (PE|ET)", cr0);
	check(cr4 == 0, "cr.cr4_initial", "CR4=0x%x, want 0", cr4);

	write_cr4(cr4 | (1u << 9));
	uint32_t got = read_cr4();
	check(got == (cr4 | (1u << 9)), "cr.cr4_osfxsr", "wrote CR4=0x%x read 0x%x", cr4 | (1u << 9),
	      got);
	write_cr4(cr4);
	got = read_cr4();
	check(got == cr4, "cr.cr4_restore", "wrote CR4=0x%x read 0x%x", cr4, got);

	uint32_t cr3 = read_cr3();
	write_cr3(0x00345000);
	got = read_cr3();
	write_cr3(cr3);
	uint32_t back = read_cr3();
	check(got == 0x00345000 && back == cr3, "cr.cr3_readback",
	      "wrote CR3=0x345000 read 0x%x; restored 0x%x read 0x%x", got, cr3, back);
}

/* The exception machinery itself, with no hypervisor involvement: a fault and a trap. */
static void check_idt(void)
{
	idt_expect(VEC_UD, 2);
	__asm__ volatile("ud2" ::: "memory");
	uint32_t eip = idt_last.eip;
	check(idt_caught(VEC_UD), "idt.ud2", "UD2 raised no #UD (last vector %d)", idt_last.vector);
	idt_expect(VEC_BP, 0);
	__asm__ volatile("int3" ::: "memory");
	check(idt_caught(VEC_BP) && idt_last.eip != eip, "idt.int3", "INT3 raised no #BP (last vector %d)",
	      idt_last.vector);
}

int guest_main(uint32_t magic, struct mb1_info *mbi)
{
	/* State "at start": read before anything could change it. */
	uint32_t cr0 = read_cr0(), cr4 = read_cr4();

	serial_init();
	idt_init();
	uint64_t efer0, pat0;
	int efer_fault = rdmsr_safe(MSR_EFER, &efer0);
	int pat_fault = rdmsr_safe(MSR_PAT, &pat0);
	puts("exits: checking the hypervisor's guest-visible contract\n");

	check_idt();
	check_boot(magic, mbi);
	check_cpuid();
	check_msrs(efer0, efer_fault, pat0, pat_fault);
	check_io();
	check_vmcall();
	check_vmx_instructions();
	check_crs(cr0, cr4);

	printf("RESULT failures=%d\n", guest_failures);
	return guest_failures;
}
