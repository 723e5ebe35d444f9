/* SOURCES: debug/vmcheck.c */
/*
 * test_vmcheck.c - debug/vmcheck.c over a table-backed VMCS. The valid snapshot is what
 * vmx/vcpu.c (setup_controls, setup_host_state, setup_guest_state) writes for the 32-bit
 * protected-mode multiboot guest, with Bochs-like capability MSRs; it must pass every rule.
 * Then each case breaks one rule (from the valid snapshot, or a valid variant: unrestricted
 * guest, virtual-8086, IA-32e, posted interrupts...) and exactly that rule must be reported.
 * The fake VMCS also counts reads of fields the snapshot does not have: the checker must read
 * only fields the capabilities and controls say exist.
 */
#include "unit.h"

#include "debug/vmcheck.h"
#include "vmx/vmcs.h"

/* ---- Capabilities (Bochs-like; allowed-0 bits are a subset of allowed-1 bits) ---- */

#define CAP_BASIC 0x00d810000000002bULL /* revision 0x2b, true controls, WB, 4 KiB */
#define CAP_PIN 0x000000ff00000016ULL   /* must 1: 1,2,4; may 1: 0-7 (posted interrupts) */
#define CAP_PROC 0xfff9fffe04006172ULL  /* may not be 1: 0, 17, 18 */
#define CAP_PROC2 0x0042f3ff00000000ULL /* may 1: 0-9, 12-15, 17, 22 */
#define CAP_EXIT 0x007fffff00036dfbULL  /* true exit controls: default1 minus bit 2 */
#define CAP_ENTRY 0x0000ffff000011fbULL /* true entry controls: default1 minus bit 2 */
#define CAP_MISC 0x00000000000401e0ULL  /* 4 CR3 targets, HLT/shutdown/SIPI, LMA store */
#define CAP_CR0_FIXED0 0x80000021ULL
#define CAP_CR0_FIXED1 0xffffffffULL
#define CAP_CR4_FIXED0 0x2000ULL
#define CAP_CR4_FIXED1 0x3727ffULL

/* ---- The valid snapshot: vmx/vcpu.c's values ---- */

#define V_PIN (0x16 | PIN_EXT_INTR_EXITING | PIN_NMI_EXITING)
#define V_PROC                                                                                 \
	(0x04006172 | CPU_USE_TSC_OFFSETTING | CPU_HLT_EXITING | CPU_INVLPG_EXITING |          \
	 CPU_MWAIT_EXITING | CPU_RDPMC_EXITING | CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING | \
	 CPU_UNCOND_IO_EXITING | CPU_MONITOR_EXITING)
#define V_EXIT                                                                                 \
	(0x36dfb | EXIT_HOST_ADDR_SPACE_SIZE | EXIT_ACK_INTR_ON_EXIT | EXIT_SAVE_IA32_EFER |   \
	 EXIT_LOAD_IA32_EFER)
#define V_ENTRY (0x11fb | ENTRY_LOAD_IA32_EFER)
#define G_CR0 0x80010031ULL /* PG WP NE ET PE: vcpu_real_cr0(PE|ET) */
#define G_CR4 0x2020ULL     /* PAE VMXE: vcpu_real_cr4(0) */
#define H_EFER 0xd00ULL     /* LME LMA NXE */

#define MEM_BASE 0x300000ULL /* guest CR3 (the shadow PDPT) and every page a case needs */
#define MEM_SIZE 0x10000ULL
#define VAPIC (MEM_BASE + 0x4000)
#define EPTP_OK (MEM_BASE + 0x7000 + 0x1e) /* WB, 4-level walk */
#define LINK (MEM_BASE + 0xc000)

/* Pseudo keys a case can write besides VMCS fields. */
enum {
	T_VPID = 0x10000, /* VPID (encoding 0 would end a case's write list) */
	T_CAP_PIN, T_CAP_PROC, T_CAP_PROC2, T_CAP_ENTRY, T_CAP_MISC, T_CAP_EPT, T_CPU_LMA,
	T_LA_BITS,
	T_MEM = 0x20000,  /* + offset into MEM: a u64 */
	T_MEM8 = 0x40000, /* + offset into MEM: one byte */
};

/* Encodings vmx/vmcs.h does not have. */
#define F_POSTED_INTR_NV 0x0002u
#define F_PML_ADDR 0x200eu
#define F_APIC_ACCESS_ADDR 0x2014u
#define F_POSTED_INTR_DESC 0x2016u
#define F_VMREAD_BITMAP 0x2026u
#define F_VMWRITE_BITMAP 0x2028u

/* ---- Fake VMCS, memory, and the reports ---- */

#define NFIELDS 0x8000u
static u64 vmcs[NFIELDS];
static bool present[NFIELDS];
static u32 absent_reads, last_absent;
static u8 mem[MEM_SIZE];
static struct vmcheck_input in;

struct seen {
	char rule[64], sdm[16];
	int nfields;
	struct vmcheck_field f[2];
};
static struct seen seen[64];
static int nseen;

static u64 fake_read(void *opaque, u32 field)
{
	assert_ptr_equal(opaque, &in);
	assert_true(field < NFIELDS);
	if (!present[field]) {
		absent_reads++;
		last_absent = field;
	}
	return vmcs[field];
}

static bool fake_phys(void *opaque, u64 pa, void *buf, int len)
{
	(void)opaque;
	if (pa < MEM_BASE || pa + (u64)len > MEM_BASE + MEM_SIZE)
		return false;
	memcpy(buf, mem + (pa - MEM_BASE), (size_t)len);
	return true;
}

static void record(void *opaque, const struct vmcheck_violation *v)
{
	assert_ptr_equal(opaque, seen);
	assert_non_null(v->rule);
	assert_non_null(v->sdm);
	assert_non_null(v->text);
	assert_true(v->nfields >= 0 && v->nfields <= 2);
	assert_true(nseen < (int)ARRAY_SIZE(seen));
	struct seen *s = &seen[nseen++];
	snprintf(s->rule, sizeof(s->rule), "%s", v->rule);
	snprintf(s->sdm, sizeof(s->sdm), "%s", v->sdm);
	s->nfields = v->nfields;
	memcpy(s->f, v->f, sizeof(s->f));
}

static void W(u32 f, u64 v)
{
	vmcs[f] = v;
	present[f] = true;
}

static void mem64(u64 off, u64 v)
{
	memcpy(mem + off, &v, 8);
}

static void apply(u32 key, u64 v)
{
	if (key < NFIELDS) {
		W(key, v);
		return;
	}
	switch (key) {
	case T_VPID: W(VPID, v); return;
	case T_CAP_PIN: in.pin = v; return;
	case T_CAP_PROC: in.proc = v; return;
	case T_CAP_PROC2: in.proc2 = v; return;
	case T_CAP_ENTRY: in.entry = v; return;
	case T_CAP_MISC: in.misc = v; return;
	case T_CAP_EPT: in.ept_vpid_cap = v; return;
	case T_CPU_LMA: in.cpu_lma = v; return;
	case T_LA_BITS: in.la_bits = (u8)v; return;
	}
	if (key >= T_MEM8)
		mem[key - T_MEM8] = (u8)v;
	else
		mem64(key - T_MEM, v);
}

static void set_segment(u32 i, u16 sel, u64 base, u32 limit, u32 ar)
{
	W(GUEST_ES_SELECTOR + 2 * i, sel);
	W(GUEST_ES_BASE + 2 * i, base);
	W(GUEST_ES_LIMIT + 2 * i, limit);
	W(GUEST_ES_AR + 2 * i, ar);
}

static void valid_controls(void)
{
	W(PIN_BASED_VM_EXEC_CONTROL, V_PIN);
	W(CPU_BASED_VM_EXEC_CONTROL, V_PROC);
	W(VM_EXIT_CONTROLS, V_EXIT);
	W(VM_ENTRY_CONTROLS, V_ENTRY);
	W(EXCEPTION_BITMAP, BIT(14));
	W(PAGE_FAULT_ERROR_CODE_MASK, 0);
	W(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	W(CR3_TARGET_COUNT, 0);
	W(TSC_OFFSET, 0);
	W(VM_EXIT_MSR_STORE_COUNT, 0);
	W(VM_EXIT_MSR_LOAD_COUNT, 0);
	W(VM_ENTRY_MSR_LOAD_COUNT, 0);
	W(VM_ENTRY_INTR_INFO, 0);
	/* Not written by vcpu.c, but every VMCS has them (the checker reads them with an event) */
	W(VM_ENTRY_EXCEPTION_ERROR_CODE, 0);
	W(VM_ENTRY_INSTRUCTION_LEN, 0);
	W(CR0_GUEST_HOST_MASK, ~0ULL);
	W(CR4_GUEST_HOST_MASK, ~0ULL);
	W(CR0_READ_SHADOW, 0x11);
	W(CR4_READ_SHADOW, 0);
}

static void valid_host(void)
{
	W(HOST_CR0, 0x80050033);
	W(HOST_CR3, 0x20d000);
	W(HOST_CR4, 0x2020);
	W(HOST_CS_SELECTOR, 0x08);
	W(HOST_SS_SELECTOR, 0x10);
	W(HOST_DS_SELECTOR, 0x10);
	W(HOST_ES_SELECTOR, 0x10);
	W(HOST_FS_SELECTOR, 0);
	W(HOST_GS_SELECTOR, 0);
	W(HOST_TR_SELECTOR, 0x18);
	W(HOST_FS_BASE, 0);
	W(HOST_GS_BASE, 0);
	W(HOST_TR_BASE, 0x20e000);
	W(HOST_GDTR_BASE, 0x20f000);
	W(HOST_IDTR_BASE, 0x210000);
	W(HOST_IA32_SYSENTER_CS, 0);
	W(HOST_IA32_SYSENTER_ESP, 0);
	W(HOST_IA32_SYSENTER_EIP, 0);
	W(HOST_IA32_EFER, H_EFER);
	W(HOST_RIP, 0x2031a0);
	W(HOST_RSP, 0x2ff000);
}

static void valid_guest(void)
{
	W(GUEST_CR0, G_CR0);
	W(GUEST_CR4, G_CR4);
	W(GUEST_CR3, MEM_BASE);
	W(GUEST_IA32_EFER, 0x800); /* vcpu_real_efer(0) with NX */
	W(GUEST_DR7, 0x400);
	W(GUEST_IA32_DEBUGCTL, 0);
	W(GUEST_RSP, 0);
	W(GUEST_RIP, 0x100934);
	W(GUEST_RFLAGS, 0x2);
	for (u32 i = 0; i < 6; i++)
		set_segment(i, i == 1 ? 0x08 : 0x10, 0, 0xffffffff, i == 1 ? 0xc09b : 0xc093);
	set_segment(6, 0, 0, 0, AR_UNUSABLE);
	set_segment(7, 0, 0, 0x67, 0x8b);
	W(GUEST_GDTR_BASE, 0x1000);
	W(GUEST_GDTR_LIMIT, 23);
	W(GUEST_IDTR_BASE, 0);
	W(GUEST_IDTR_LIMIT, 0);
	W(GUEST_SYSENTER_CS, 0);
	W(GUEST_SYSENTER_ESP, 0);
	W(GUEST_SYSENTER_EIP, 0);
	W(GUEST_INTERRUPTIBILITY, 0);
	W(GUEST_ACTIVITY_STATE, 0);
	W(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	W(VMCS_LINK_POINTER, ~0ULL);
	/* The shadow PDPT the CPU loads from CR3 (PAE paging, no EPT). */
	for (u32 i = 0; i < 4; i++)
		mem64(i * 8, MEM_BASE + 0x1000 * (i + 1) + 1);
}

static void reset(void)
{
	memset(vmcs, 0, sizeof(vmcs));
	memset(present, 0, sizeof(present));
	memset(mem, 0, sizeof(mem));
	absent_reads = 0;
	nseen = 0;
	in = (struct vmcheck_input){
		.read = fake_read, .read_phys = fake_phys, .opaque = &in,
		.basic = CAP_BASIC, .pin = CAP_PIN, .proc = CAP_PROC, .exit = CAP_EXIT,
		.entry = CAP_ENTRY, .proc2 = CAP_PROC2, .misc = CAP_MISC,
		.cr0_fixed0 = CAP_CR0_FIXED0, .cr0_fixed1 = CAP_CR0_FIXED1,
		.cr4_fixed0 = CAP_CR4_FIXED0, .cr4_fixed1 = CAP_CR4_FIXED1,
		.maxphyaddr = 40, .cpu_lma = true,
	};
	valid_controls();
	valid_host();
	valid_guest();
}

static int run(void)
{
	nseen = 0;
	int n = vmcheck_run(&in, record, seen);
	assert_int_equal(n, nseen);
	return n;
}

/* ---- Valid variants (each passes every rule; cases break one rule on top) ---- */

static void secondary(void)
{
	W(CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_ACTIVATE_SECONDARY);
	W(SECONDARY_VM_EXEC_CONTROL, 0);
}

static void ept(void)
{
	secondary();
	W(SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT);
	W(EPT_POINTER, EPTP_OK);
	for (u32 i = 0; i < 4; i++)
		W(GUEST_PDPTE0 + 2 * i, MEM_BASE + 0x1000 * (i + 1) + 1);
}

static void ug(void)
{
	ept();
	W(SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST);
}

/* Unrestricted guest in real mode: CR0.PE = CR0.PG = 0. */
static void ug_real(void)
{
	ug();
	W(GUEST_CR0, G_CR0 & ~0x80000001ULL);
}

static void v86(void)
{
	W(GUEST_RFLAGS, 0x20002);
	for (u32 i = 0; i < 6; i++)
		set_segment(i, (u16)(0x1000 + i), (0x1000 + i) << 4, 0xffff, 0xf3);
}

static void ia32e(void)
{
	W(VM_ENTRY_CONTROLS, V_ENTRY | ENTRY_IA32E_MODE_GUEST);
	W(GUEST_IA32_EFER, 0xd00);
	W(GUEST_CS_AR, 0xa09b); /* L=1, D=0: 64-bit code */
}

static void tpr(void)
{
	W(CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_TPR_SHADOW);
	W(VIRTUAL_APIC_PAGE_ADDR, VAPIC);
	W(TPR_THRESHOLD, 0);
}

static void posted(void)
{
	W(PIN_BASED_VM_EXEC_CONTROL, V_PIN | BIT(7));
	W(CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_TPR_SHADOW | CPU_ACTIVATE_SECONDARY);
	W(SECONDARY_VM_EXEC_CONTROL, BIT(9)); /* virtual-interrupt delivery */
	W(VIRTUAL_APIC_PAGE_ADDR, VAPIC);
	W(TPR_THRESHOLD, 0);
	W(F_POSTED_INTR_NV, 0xf2);
	W(F_POSTED_INTR_DESC, MEM_BASE + 0x6000);
}

/* A 32-bit host on a CPU outside IA-32e mode. */
static void host32(void)
{
	in.cpu_lma = false;
	W(VM_EXIT_CONTROLS, V_EXIT & ~EXIT_HOST_ADDR_SPACE_SIZE);
	W(HOST_IA32_EFER, 0x800);
}

static void ring3(void)
{
	W(GUEST_CS_SELECTOR, 0x1b);
	W(GUEST_CS_AR, 0xc0fb);
	W(GUEST_SS_SELECTOR, 0x23);
	W(GUEST_SS_AR, 0xc0f3);
}

/* The link pointer names a shadow VMCS of the right revision. */
static void shadow_link(void)
{
	secondary();
	W(SECONDARY_VM_EXEC_CONTROL, BIT(14));
	W(F_VMREAD_BITMAP, MEM_BASE + 0x9000);
	W(F_VMWRITE_BITMAP, MEM_BASE + 0xa000);
	W(VMCS_LINK_POINTER, LINK);
	mem64(LINK - MEM_BASE, 0x8000002bULL);
}

static void ug_ring3_ss(void)
{
	ug_real();
	W(GUEST_CS_AR, 0xc09f); /* conforming: CS.DPL 0 <= SS.DPL 3 */
}

/* ---- One broken rule per case ---- */

struct wr {
	u32 key;
	u64 v;
};

struct bcase {
	const char *rule;
	void (*setup)(void);
	struct wr w[6]; /* ends at the first { 0, 0 } */
};

#define NMI_INJ (INTR_INFO_VALID | (INTR_TYPE_NMI << 8) | 2)
#define EXT_INJ (INTR_INFO_VALID | (INTR_TYPE_EXT_INTR << 8) | 0x20)
#define HW_INJ(vec) (INTR_INFO_VALID | (INTR_TYPE_HW_EXCEPTION << 8) | (vec))
#define GP_INJ (HW_INJ(13) | INTR_INFO_DELIVER_CODE)
#define NONCANON 0x0000800000000000ULL

static const struct bcase cases[] = {
	/* 26.2.1.1 VM-execution controls */
	{ "ctrl.pin.allowed0", NULL, { { PIN_BASED_VM_EXEC_CONTROL, V_PIN & ~2ULL } } },
	{ "ctrl.pin.allowed1", NULL, { { PIN_BASED_VM_EXEC_CONTROL, V_PIN | BIT(8) } } },
	{ "ctrl.proc.allowed0", NULL, { { CPU_BASED_VM_EXEC_CONTROL, V_PROC & ~BIT(26) } } },
	{ "ctrl.proc.allowed1", NULL, { { CPU_BASED_VM_EXEC_CONTROL, V_PROC | BIT(17) } } },
	{ "ctrl.proc.allowed1", NULL,
	  { { CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_ACTIVATE_SECONDARY },
	    { T_CAP_PROC, CAP_PROC & ~BIT(63) } } },
	{ "ctrl.proc2.allowed0", secondary, { { T_CAP_PROC2, CAP_PROC2 | BIT(3) } } },
	{ "ctrl.proc2.allowed1", secondary, { { SECONDARY_VM_EXEC_CONTROL, BIT(10) } } },
	{ "ctrl.cr3_target_count", NULL, { { CR3_TARGET_COUNT, 5 } } },
	{ "ctrl.io_bitmap.align", NULL,
	  { { CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_USE_IO_BITMAPS }, { IO_BITMAP_A, 0x400000 },
	    { IO_BITMAP_B, 0x401800 } } },
	{ "ctrl.io_bitmap.width", NULL,
	  { { CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_USE_IO_BITMAPS }, { IO_BITMAP_A, BIT(40) },
	    { IO_BITMAP_B, 0x401000 } } },
	{ "ctrl.msr_bitmap.align", NULL,
	  { { CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_USE_MSR_BITMAPS },
	    { MSR_BITMAP, 0x402010 } } },
	{ "ctrl.msr_bitmap.width", NULL,
	  { { CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_USE_MSR_BITMAPS },
	    { MSR_BITMAP, 0xff00000000000ULL } } },
	{ "ctrl.vapic.align", tpr, { { VIRTUAL_APIC_PAGE_ADDR, VAPIC + 4 } } },
	{ "ctrl.vapic.width", tpr, { { VIRTUAL_APIC_PAGE_ADDR, BIT(41) } } },
	{ "ctrl.tpr_threshold.reserved", tpr, { { TPR_THRESHOLD, 0x10 } } },
	{ "ctrl.tpr_threshold.vtpr", tpr, { { TPR_THRESHOLD, 5 }, { T_MEM8 + 0x4080, 0x40 } } },
	{ "ctrl.tpr_shadow.required", secondary, { { SECONDARY_VM_EXEC_CONTROL, BIT(4) } } },
	{ "ctrl.virtual_nmis.nmi_exiting", NULL,
	  { { PIN_BASED_VM_EXEC_CONTROL, (V_PIN & ~PIN_NMI_EXITING) | PIN_VIRTUAL_NMIS } } },
	{ "ctrl.nmi_window.virtual_nmis", NULL,
	  { { CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_NMI_WINDOW_EXITING } } },
	{ "ctrl.apic_access.align", secondary,
	  { { SECONDARY_VM_EXEC_CONTROL, BIT(0) }, { F_APIC_ACCESS_ADDR, MEM_BASE + 0x5008 } } },
	{ "ctrl.apic_access.width", secondary,
	  { { SECONDARY_VM_EXEC_CONTROL, BIT(0) }, { F_APIC_ACCESS_ADDR, BIT(40) } } },
	{ "ctrl.x2apic.apic_access", tpr,
	  { { CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_TPR_SHADOW | CPU_ACTIVATE_SECONDARY },
	    { SECONDARY_VM_EXEC_CONTROL, BIT(0) | BIT(4) },
	    { F_APIC_ACCESS_ADDR, MEM_BASE + 0x5000 } } },
	{ "ctrl.vid.ext_intr_exiting", posted, { { PIN_BASED_VM_EXEC_CONTROL, V_PIN & ~1ULL } } },
	{ "ctrl.posted_intr.vid", posted, { { SECONDARY_VM_EXEC_CONTROL, 0 } } },
	{ "ctrl.posted_intr.ack_on_exit", posted,
	  { { VM_EXIT_CONTROLS, V_EXIT & ~EXIT_ACK_INTR_ON_EXIT } } },
	{ "ctrl.posted_intr.vector", posted, { { F_POSTED_INTR_NV, 0x1f2 } } },
	{ "ctrl.posted_intr.desc_align", posted, { { F_POSTED_INTR_DESC, MEM_BASE + 0x6020 } } },
	{ "ctrl.posted_intr.desc_width", posted, { { F_POSTED_INTR_DESC, BIT(45) } } },
	{ "ctrl.vpid.zero", secondary,
	  { { SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_VPID }, { T_VPID, 0 } } },
	{ "ctrl.unrestricted.ept", secondary,
	  { { SECONDARY_VM_EXEC_CONTROL, CPU2_UNRESTRICTED_GUEST } } },
	{ "ctrl.eptp.memtype", ept, { { EPT_POINTER, EPTP_OK - 1 } } },
	{ "ctrl.eptp.walk", ept, { { EPT_POINTER, EPTP_OK - 8 } } },
	{ "ctrl.eptp.reserved", ept, { { EPT_POINTER, EPTP_OK | BIT(9) } } },
	{ "ctrl.eptp.ad", ept,
	  { { EPT_POINTER, EPTP_OK | BIT(6) }, { T_CAP_EPT, BIT(6) | BIT(14) } } },
	{ "ctrl.eptp.memtype", ept, { { EPT_POINTER, EPTP_OK }, { T_CAP_EPT, BIT(6) | BIT(8) } } },
	{ "ctrl.pml.ept", secondary,
	  { { SECONDARY_VM_EXEC_CONTROL, BIT(17) }, { F_PML_ADDR, MEM_BASE + 0x8000 } } },
	{ "ctrl.pml.addr", ept,
	  { { SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT | BIT(17) },
	    { F_PML_ADDR, MEM_BASE + 0x8010 } } },
	{ "ctrl.mbec.ept", secondary, { { SECONDARY_VM_EXEC_CONTROL, BIT(22) } } },
	{ "ctrl.shadow_vmcs.bitmaps", shadow_link, { { F_VMWRITE_BITMAP, MEM_BASE + 0xa004 } } },
	/* 26.2.1.2 VM-exit controls */
	{ "ctrl.exit.allowed0", NULL, { { VM_EXIT_CONTROLS, V_EXIT & ~1ULL } } },
	{ "ctrl.exit.allowed1", NULL, { { VM_EXIT_CONTROLS, V_EXIT | BIT(24) } } },
	{ "ctrl.exit.save_preemption_timer", NULL, { { VM_EXIT_CONTROLS, V_EXIT | BIT(22) } } },
	{ "ctrl.exit_msr_store.align", NULL,
	  { { VM_EXIT_MSR_STORE_COUNT, 1 }, { VM_EXIT_MSR_STORE_ADDR, MEM_BASE + 0xb008 } } },
	{ "ctrl.exit_msr_store.width", NULL,
	  { { VM_EXIT_MSR_STORE_COUNT, 2 }, { VM_EXIT_MSR_STORE_ADDR, BIT(40) - 16 } } },
	{ "ctrl.exit_msr_load.align", NULL,
	  { { VM_EXIT_MSR_LOAD_COUNT, 3 }, { VM_EXIT_MSR_LOAD_ADDR, MEM_BASE + 0xb004 } } },
	{ "ctrl.exit_msr_load.width", NULL,
	  { { VM_EXIT_MSR_LOAD_COUNT, 1 }, { VM_EXIT_MSR_LOAD_ADDR, BIT(44) } } },
	/* 26.2.1.3 VM-entry controls */
	{ "ctrl.entry.allowed0", NULL, { { VM_ENTRY_CONTROLS, V_ENTRY & ~1ULL } } },
	{ "ctrl.entry.allowed1", NULL, { { VM_ENTRY_CONTROLS, V_ENTRY | BIT(16) } } },
	{ "ctrl.entry.smm", NULL, { { VM_ENTRY_CONTROLS, V_ENTRY | BIT(10) } } },
	{ "ctrl.entry_msr_load.align", NULL,
	  { { VM_ENTRY_MSR_LOAD_COUNT, 1 }, { VM_ENTRY_MSR_LOAD_ADDR, MEM_BASE + 0xb00c } } },
	{ "ctrl.entry_msr_load.width", NULL,
	  { { VM_ENTRY_MSR_LOAD_COUNT, 0x100 }, { VM_ENTRY_MSR_LOAD_ADDR, BIT(40) - 0x800 } } },
	{ "ctrl.entry_intr.type", NULL, { { VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (1 << 8) } } },
	{ "ctrl.entry_intr.type", NULL,
	  { { VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (7 << 8) },
	    { T_CAP_PROC, CAP_PROC & ~BIT(32 + 27) } } },
	{ "ctrl.entry_intr.vector", NULL, { { VM_ENTRY_INTR_INFO, NMI_INJ + 1 } } },
	{ "ctrl.entry_intr.vector", NULL,
	  { { VM_ENTRY_INTR_INFO, HW_INJ(32) } } },
	{ "ctrl.entry_intr.deliver_code", NULL,
	  { { VM_ENTRY_INTR_INFO, GP_INJ & ~INTR_INFO_DELIVER_CODE } } },
	{ "ctrl.entry_intr.deliver_code", NULL,
	  { { VM_ENTRY_INTR_INFO, HW_INJ(6) | INTR_INFO_DELIVER_CODE } } },
	{ "ctrl.entry_intr.deliver_code", ug_real, { { VM_ENTRY_INTR_INFO, GP_INJ } } },
	{ "ctrl.entry_intr.error_code", NULL,
	  { { VM_ENTRY_INTR_INFO, GP_INJ }, { VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000 } } },
	{ "ctrl.entry_intr.reserved", NULL,
	  { { VM_ENTRY_INTR_INFO, GP_INJ | BIT(20) }, { VM_ENTRY_EXCEPTION_ERROR_CODE, 0 } } },
	{ "ctrl.entry_intr.insn_len", NULL,
	  { { VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (INTR_TYPE_SW_INTR << 8) | 0x80 },
	    { VM_ENTRY_INSTRUCTION_LEN, 0 } } },
	{ "ctrl.entry_intr.insn_len", NULL,
	  { { VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (INTR_TYPE_SW_EXCEPTION << 8) | 3 },
	    { VM_ENTRY_INSTRUCTION_LEN, 16 } } },
	/* 26.2.2 host control registers and MSRs */
	{ "host.cr0.fixed", NULL, { { HOST_CR0, 0x80050013 } } },
	{ "host.cr4.vmxe", NULL, { { HOST_CR4, 0x20 } } },
	{ "host.cr4.fixed", NULL, { { HOST_CR4, 0x2020 | BIT(22) } } },
	{ "host.cr3.width", NULL, { { HOST_CR3, 0x20d000 | BIT(45) } } },
	{ "host.sysenter_esp.canonical", NULL, { { HOST_IA32_SYSENTER_ESP, NONCANON } } },
	{ "host.sysenter_eip.canonical", NULL, { { HOST_IA32_SYSENTER_EIP, NONCANON } } },
	{ "host.pat.type", NULL,
	  { { VM_EXIT_CONTROLS, V_EXIT | EXIT_LOAD_IA32_PAT },
	    { HOST_IA32_PAT, 0x0007040600070402ULL } } },
	{ "host.efer.reserved", NULL, { { HOST_IA32_EFER, H_EFER | BIT(12) } } },
	{ "host.efer.lma_lme", NULL, { { HOST_IA32_EFER, H_EFER & ~BIT(10) } } },
	/* 26.2.3 host segment and descriptor-table registers */
	{ "host.cs.rpl_ti", NULL, { { HOST_CS_SELECTOR, 0x0b } } },
	{ "host.ds.rpl_ti", NULL, { { HOST_DS_SELECTOR, 0x14 } } },
	{ "host.tr.rpl_ti", NULL, { { HOST_TR_SELECTOR, 0x1c } } },
	{ "host.cs.null", NULL, { { HOST_CS_SELECTOR, 0 } } },
	{ "host.tr.null", NULL, { { HOST_TR_SELECTOR, 0 } } },
	{ "host.ss.null", host32, { { HOST_SS_SELECTOR, 0 } } },
	{ "host.fs.base", NULL, { { HOST_FS_BASE, NONCANON } } },
	{ "host.gdtr.base", NULL, { { HOST_GDTR_BASE, NONCANON } } },
	{ "host.tr.base", NULL, { { HOST_TR_BASE, 0xffff0000000e0000ULL } } },
	/* 26.2.4 address-space size */
	{ "host.addr_size.cpu_ia32e", NULL,
	  { { VM_EXIT_CONTROLS, V_EXIT & ~EXIT_HOST_ADDR_SPACE_SIZE },
	    { HOST_IA32_EFER, 0x800 } } },
	{ "host.addr_size.cpu_legacy", NULL, { { T_CPU_LMA, 0 } } },
	{ "host.addr_size.ia32e_guest", host32,
	  { { VM_ENTRY_CONTROLS, V_ENTRY | ENTRY_IA32E_MODE_GUEST }, { GUEST_IA32_EFER, 0xd00 } } },
	{ "host.cr4.pcide", host32, { { HOST_CR4, 0x2020 | BIT(17) } } },
	{ "host.rip.upper", host32, { { HOST_RIP, 0x1002031a0ULL } } },
	{ "host.cr4.pae", NULL, { { HOST_CR4, 0x2000 } } },
	{ "host.rip.canonical", NULL, { { HOST_RIP, NONCANON } } },
	/* 26.3.1.1 guest control registers, debug registers, MSRs */
	{ "guest.cr0.pe_pg", NULL, { { GUEST_CR0, G_CR0 & ~BIT(31) } } },
	{ "guest.cr0.fixed", NULL, { { GUEST_CR0, G_CR0 & ~BIT(5) } } },
	{ "guest.cr0.pg_without_pe", ug, { { GUEST_CR0, G_CR0 & ~1ULL } } },
	{ "guest.cr4.vmxe", NULL, { { GUEST_CR4, 0x20 } } },
	{ "guest.cr4.fixed", NULL, { { GUEST_CR4, G_CR4 | BIT(22) } } },
	{ "guest.debugctl.reserved", NULL,
	  { { VM_ENTRY_CONTROLS, V_ENTRY | ENTRY_LOAD_DEBUG_CONTROLS },
	    { GUEST_IA32_DEBUGCTL, BIT(20) } } },
	{ "guest.dr7.upper", NULL,
	  { { VM_ENTRY_CONTROLS, V_ENTRY | ENTRY_LOAD_DEBUG_CONTROLS },
	    { GUEST_DR7, 0x100000400ULL } } },
	{ "guest.ia32e.cr0_pg", ug,
	  { { VM_ENTRY_CONTROLS, V_ENTRY | ENTRY_IA32E_MODE_GUEST }, { GUEST_IA32_EFER, 0xd00 },
	    { GUEST_CR0, G_CR0 & ~BIT(31) } } },
	{ "guest.ia32e.cr4_pae", ia32e, { { GUEST_CR4, 0x2000 } } },
	{ "guest.cr4.pcide", NULL, { { GUEST_CR4, G_CR4 | BIT(17) } } },
	{ "guest.cr3.width", NULL, { { GUEST_CR3, MEM_BASE | BIT(44) } } },
	{ "guest.sysenter_esp.canonical", NULL, { { GUEST_SYSENTER_ESP, NONCANON } } },
	{ "guest.sysenter_eip.canonical", NULL, { { GUEST_SYSENTER_EIP, NONCANON } } },
	{ "guest.pat.type", NULL,
	  { { VM_ENTRY_CONTROLS, V_ENTRY | ENTRY_LOAD_IA32_PAT },
	    { GUEST_IA32_PAT, 0x0007040600070403ULL } } },
	{ "guest.efer.reserved", NULL, { { GUEST_IA32_EFER, 0x800 | BIT(12) } } },
	{ "guest.efer.lma", NULL, { { GUEST_IA32_EFER, 0x800 | BIT(10) } } },
	{ "guest.efer.lme", NULL, { { GUEST_IA32_EFER, 0x800 | BIT(8) } } },
	/* 26.3.1.2 guest segment registers */
	{ "guest.tr.ti", NULL, { { GUEST_TR_SELECTOR, 0x4 } } },
	{ "guest.ldtr.ti", NULL,
	  { { GUEST_LDTR_SELECTOR, 0x1c }, { GUEST_LDTR_AR, 0x82 }, { GUEST_LDTR_LIMIT, 0xff } } },
	{ "guest.ss.rpl_vs_cs", NULL,
	  { { GUEST_SS_SELECTOR, 0x13 }, { GUEST_SS_AR, 0xc0f3 }, { GUEST_CS_AR, 0xc09f } } },
	{ "guest.cs.v86_base", v86, { { GUEST_CS_BASE, 0x10000 } } },
	{ "guest.ds.v86_limit", v86, { { GUEST_DS_LIMIT, 0xfffff } } },
	{ "guest.es.v86_ar", v86, { { GUEST_ES_AR, 0xf1 } } },
	{ "guest.gs.v86_ar", v86, { { GUEST_GS_AR, 0xc0f3 } } },
	{ "guest.cs.base", NULL, { { GUEST_CS_BASE, BIT(32) } } },
	{ "guest.ss.base", NULL, { { GUEST_SS_BASE, BIT(33) } } },
	{ "guest.fs.base", NULL, { { GUEST_FS_BASE, NONCANON } } },
	{ "guest.gs.base", NULL, { { GUEST_GS_BASE, NONCANON }, { GUEST_GS_AR, AR_UNUSABLE } } },
	{ "guest.cs.ar.type", NULL, { { GUEST_CS_AR, 0xc093 } } },
	{ "guest.cs.ar.s", NULL, { { GUEST_CS_AR, 0xc08b } } },
	{ "guest.cs.ar.p", NULL, { { GUEST_CS_AR, 0xc01b } } },
	{ "guest.cs.ar.p", NULL, /* CS: checked anyway */
	  { { GUEST_CS_AR, AR_UNUSABLE | 0xc01b } } },
	{ "guest.cs.ar.reserved", NULL, { { GUEST_CS_AR, 0xc09b | BIT(8) } } },
	{ "guest.cs.ar.g", NULL, { { GUEST_CS_AR, 0x409b } } },
	{ "guest.cs.ar.dpl_vs_ss", NULL, { { GUEST_CS_AR, 0xc0bb } } },
	{ "guest.cs.ar.dpl_vs_ss", ring3,
	  { { GUEST_CS_AR, 0xc0ff }, { GUEST_SS_AR, 0xc0d3 }, { GUEST_SS_SELECTOR, 0x22 },
	    { GUEST_CS_SELECTOR, 0x1a } } },
	{ "guest.cs.ar.dpl_data", ug, { { GUEST_CS_AR, 0xc0b3 } } },
	{ "guest.cs.ar.db_with_l", ia32e, { { GUEST_CS_AR, 0xe09b } } },
	{ "guest.ss.ar.type", NULL, { { GUEST_SS_AR, 0xc091 } } },
	{ "guest.ss.ar.dpl_vs_rpl", NULL, { { GUEST_SS_AR, 0xc0b3 }, { GUEST_CS_AR, 0xc09f } } },
	{ "guest.ss.ar.dpl_zero", ug_ring3_ss, { { GUEST_SS_AR, 0xc0f3 } } },
	{ "guest.ss.ar.dpl_zero", ug, { { GUEST_CS_AR, 0xc093 }, { GUEST_SS_AR, 0xc0f3 } } },
	{ "guest.ss.ar.p", NULL, { { GUEST_SS_AR, 0xc013 } } },
	{ "guest.ds.ar.accessed", NULL, { { GUEST_DS_AR, 0xc092 } } },
	{ "guest.ds.ar.readable", NULL, { { GUEST_DS_AR, 0xc099 } } },
	{ "guest.es.ar.dpl_vs_rpl", NULL, { { GUEST_ES_SELECTOR, 0x13 } } },
	{ "guest.ds.ar.dpl_vs_rpl", NULL,
	  { { GUEST_DS_SELECTOR, 0x13 }, { GUEST_DS_AR, 0xc09b } } },
	{ "guest.fs.ar.s", NULL, { { GUEST_FS_AR, 0xc083 } } },
	{ "guest.gs.ar.p", NULL, { { GUEST_GS_AR, 0xc013 } } },
	{ "guest.ds.ar.reserved", NULL, { { GUEST_DS_AR, 0xc093 | BIT(17) } } },
	{ "guest.es.ar.g", NULL, { { GUEST_ES_LIMIT, 0x1000 } } },
	{ "guest.tr.type", NULL, { { GUEST_TR_AR, 0x89 } } },
	{ "guest.tr.type", ia32e, { { GUEST_TR_AR, 0x83 } } },
	{ "guest.tr.ar.s", NULL, { { GUEST_TR_AR, 0x9b } } },
	{ "guest.tr.ar.p", NULL, { { GUEST_TR_AR, 0x0b } } },
	{ "guest.tr.ar.reserved", NULL, { { GUEST_TR_AR, 0x8b | BIT(9) } } },
	{ "guest.tr.ar.g", NULL, { { GUEST_TR_AR, 0x808b } } },
	{ "guest.tr.ar.unusable", NULL, { { GUEST_TR_AR, 0x8b | AR_UNUSABLE } } },
	{ "guest.tr.base", NULL, { { GUEST_TR_BASE, NONCANON } } },
	{ "guest.ldtr.type", NULL, { { GUEST_LDTR_SELECTOR, 0x18 }, { GUEST_LDTR_AR, 0x83 } } },
	{ "guest.ldtr.base", NULL,
	  { { GUEST_LDTR_SELECTOR, 0x18 }, { GUEST_LDTR_AR, 0x82 },
	    { GUEST_LDTR_BASE, NONCANON } } },
	{ "guest.ldtr.ar.p", NULL, { { GUEST_LDTR_SELECTOR, 0x18 }, { GUEST_LDTR_AR, 0x02 } } },
	{ "guest.ldtr.ar.s", NULL, { { GUEST_LDTR_SELECTOR, 0x18 }, { GUEST_LDTR_AR, 0x92 } } },
	{ "guest.ldtr.ar.reserved", NULL,
	  { { GUEST_LDTR_SELECTOR, 0x18 }, { GUEST_LDTR_AR, 0x82 | BIT(20) } } },
	{ "guest.ldtr.ar.g", NULL,
	  { { GUEST_LDTR_SELECTOR, 0x18 }, { GUEST_LDTR_AR, 0x8082 },
	    { GUEST_LDTR_LIMIT, 0xff } } },
	/* 26.3.1.3 descriptor-table registers */
	{ "guest.gdtr.base", NULL, { { GUEST_GDTR_BASE, NONCANON } } },
	{ "guest.idtr.base", NULL, { { GUEST_IDTR_BASE, NONCANON } } },
	{ "guest.gdtr.limit", NULL, { { GUEST_GDTR_LIMIT, 0x1ffff } } },
	{ "guest.idtr.limit", NULL, { { GUEST_IDTR_LIMIT, 0x10000 } } },
	/* 26.3.1.4 RIP and RFLAGS */
	{ "guest.rip.upper", NULL, { { GUEST_RIP, BIT(32) | 0x100934 } } },
	{ "guest.rip.upper", ia32e, { { GUEST_CS_AR, 0xc09b }, { GUEST_RIP, BIT(32) } } },
	{ "guest.rip.canonical", ia32e, { { GUEST_RIP, NONCANON } } },
	{ "guest.rflags.reserved", NULL, { { GUEST_RFLAGS, 0x2 | BIT(3) } } },
	{ "guest.rflags.bit1", NULL, { { GUEST_RFLAGS, 0 } } },
	{ "guest.rflags.vm", v86,
	  { { VM_ENTRY_CONTROLS, V_ENTRY | ENTRY_IA32E_MODE_GUEST }, { GUEST_IA32_EFER, 0xd00 } } },
	{ "guest.rflags.if", NULL, { { VM_ENTRY_INTR_INFO, EXT_INJ } } },
	/* 26.3.1.5 non-register state */
	{ "guest.activity.value", NULL, { { GUEST_ACTIVITY_STATE, 4 } } },
	{ "guest.activity.unsupported", NULL,
	  { { GUEST_ACTIVITY_STATE, 3 }, { T_CAP_MISC, CAP_MISC & ~BIT(8) } } },
	{ "guest.activity.hlt_dpl", ring3, { { GUEST_ACTIVITY_STATE, 1 } } },
	{ "guest.activity.blocking", NULL,
	  { { GUEST_ACTIVITY_STATE, 1 }, { GUEST_RFLAGS, 0x202 }, { GUEST_INTERRUPTIBILITY, 1 } } },
	{ "guest.activity.event", NULL,
	  { { GUEST_ACTIVITY_STATE, 1 }, { VM_ENTRY_INTR_INFO, GP_INJ } } },
	{ "guest.activity.event", NULL,
	  { { GUEST_ACTIVITY_STATE, 2 }, { GUEST_RFLAGS, 0x202 },
	    { VM_ENTRY_INTR_INFO, EXT_INJ } } },
	{ "guest.activity.event", NULL,
	  { { GUEST_ACTIVITY_STATE, 3 }, { VM_ENTRY_INTR_INFO, NMI_INJ } } },
	{ "guest.activity.event", NULL,
	  { { GUEST_ACTIVITY_STATE, 2 }, { VM_ENTRY_INTR_INFO, GP_INJ } } },
	{ "guest.intr.reserved", NULL, { { GUEST_INTERRUPTIBILITY, BIT(5) } } },
	{ "guest.intr.sti_movss", NULL,
	  { { GUEST_INTERRUPTIBILITY, 3 }, { GUEST_RFLAGS, 0x202 } } },
	{ "guest.intr.sti_if", NULL, { { GUEST_INTERRUPTIBILITY, 1 } } },
	{ "guest.intr.ext_blocked", NULL,
	  { { GUEST_INTERRUPTIBILITY, 2 }, { GUEST_RFLAGS, 0x202 },
	    { VM_ENTRY_INTR_INFO, EXT_INJ } } },
	{ "guest.intr.nmi_movss", NULL,
	  { { GUEST_INTERRUPTIBILITY, 2 }, { VM_ENTRY_INTR_INFO, NMI_INJ } } },
	{ "guest.intr.nmi_sti", NULL,
	  { { GUEST_INTERRUPTIBILITY, 1 }, { GUEST_RFLAGS, 0x202 },
	    { VM_ENTRY_INTR_INFO, NMI_INJ } } },
	{ "guest.intr.smi", NULL, { { GUEST_INTERRUPTIBILITY, BIT(2) } } },
	{ "guest.intr.nmi_virtual", NULL,
	  { { PIN_BASED_VM_EXEC_CONTROL, V_PIN | PIN_VIRTUAL_NMIS },
	    { GUEST_INTERRUPTIBILITY, BIT(3) }, { VM_ENTRY_INTR_INFO, NMI_INJ } } },
	{ "guest.intr.enclave_movss", NULL, { { GUEST_INTERRUPTIBILITY, BIT(4) | BIT(1) } } },
	{ "guest.pending_dbg.reserved", NULL, { { GUEST_PENDING_DBG_EXCEPTIONS, BIT(4) } } },
	{ "guest.pending_dbg.bs", NULL,
	  { { GUEST_INTERRUPTIBILITY, 1 }, { GUEST_RFLAGS, 0x302 } } },
	{ "guest.pending_dbg.bs", NULL,
	  { { GUEST_ACTIVITY_STATE, 1 }, { GUEST_PENDING_DBG_EXCEPTIONS, BIT(14) } } },
	{ "guest.pending_dbg.rtm", NULL, { { GUEST_PENDING_DBG_EXCEPTIONS, BIT(16) } } },
	{ "guest.link.align", NULL, { { VMCS_LINK_POINTER, LINK + 8 } } },
	{ "guest.link.width", NULL, { { VMCS_LINK_POINTER, BIT(41) } } },
	{ "guest.link.revision", shadow_link, { { T_MEM + (LINK - MEM_BASE), 0x2b } } },
	{ "guest.link.revision", NULL,
	  { { VMCS_LINK_POINTER, LINK }, { T_MEM + (LINK - MEM_BASE), 0x2a } } },
	/* 26.3.1.6 PDPTEs */
	{ "guest.pdpte.reserved", NULL, { { T_MEM + 8, MEM_BASE + 0x2000 + 1 + BIT(5) } } },
	{ "guest.pdpte.reserved", NULL, { { T_MEM + 24, BIT(63) | 1 } } },
	{ "guest.pdpte.reserved", ept, { { GUEST_PDPTE2, 1 | BIT(7) } } },
};

/* Rules some test has triggered alone (test_every_rule_covered checks them all, last). */
static bool covered[512];

static void mark_covered(const char *rule)
{
	u32 n;
	const struct vmcheck_rule *r = vmcheck_rules(&n);
	assert_true(n <= ARRAY_SIZE(covered));
	for (u32 i = 0; i < n; i++)
		if (!strcmp(r[i].name, rule)) {
			covered[i] = true;
			return;
		}
	print_error("%s is not in the rule table\n", rule);
	fail();
}

static void apply_case(const struct bcase *k)
{
	reset();
	if (k->setup)
		k->setup();
	for (size_t j = 0; j < ARRAY_SIZE(k->w) && (k->w[j].key || k->w[j].v); j++)
		apply(k->w[j].key, k->w[j].v);
}

static void print_seen(void)
{
	for (int i = 0; i < nseen; i++)
		print_message("    reported %s (%s) %s=%#llx\n", seen[i].rule, seen[i].sdm,
			      seen[i].nfields ? vmcheck_field_name(seen[i].f[0].field) : "-",
			      seen[i].nfields ? seen[i].f[0].value : 0ULL);
}

/* Runs one case; true when exactly its rule was reported and no absent field was read. */
static bool case_ok(const struct bcase *k)
{
	apply_case(k);
	run();
	bool ok = nseen == 1 && !strcmp(seen[0].rule, k->rule) && absent_reads == 0;
	for (int i = 0; i < nseen; i++)
		for (int j = 0; j < seen[i].nfields; j++)
			ok = ok && vmcheck_field_name(seen[i].f[j].field) != NULL;
	if (!ok) {
		print_error("case %s: %d reports, %u reads of absent fields (last %#x)\n", k->rule,
			    nseen, absent_reads, last_absent);
		print_seen();
	} else {
		mark_covered(k->rule);
	}
	return ok;
}

/* ---- Tests ---- */

static void test_valid_snapshot_passes(void **state)
{
	(void)state;
	reset();
	int n = run();
	print_seen();
	assert_int_equal(n, 0);
	assert_int_equal(absent_reads, 0);
}

/* The valid variants the cases build on pass too, so a case's report is its own breakage. */
static void test_valid_variants_pass(void **state)
{
	static void (*const variants[])(void) = { secondary, ept, ug, ug_real, v86, ia32e, tpr,
						  posted, host32, ring3, shadow_link, ug_ring3_ss };
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		reset();
		variants[i]();
		if (run() || absent_reads) {
			print_error("variant %zu: %d reports, %u absent reads\n", i, nseen,
				    absent_reads);
			print_seen();
			fail();
		}
	}
}

static void test_each_case_reports_exactly_its_rule(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		bad += !case_ok(&cases[i]);
	assert_int_equal(bad, 0);
}

/* Runs the snapshot as it stands; exactly `rule` must be reported. */
static void expect_only(const char *rule)
{
	run();
	if (nseen != 1 || strcmp(seen[0].rule, rule) || absent_reads) {
		print_error("expected only %s: %d reports, %u absent reads\n", rule, nseen,
			    absent_reads);
		print_seen();
		fail();
	}
	mark_covered(rule);
}

/* The rules every segment register has, broken register by register (ES CS SS DS FS GS). */
static void test_every_segment_rule(void **state)
{
	static const char *const seg[] = { "es", "cs", "ss", "ds", "fs", "gs" };
	char rule[64];
	(void)state;
	for (u32 i = 0; i < 6; i++) {
		u32 sel = GUEST_ES_SELECTOR + 2 * i, base = GUEST_ES_BASE + 2 * i;
		u32 lim = GUEST_ES_LIMIT + 2 * i, ar = GUEST_ES_AR + 2 * i;
		u64 ar0 = i == 1 ? 0xc09b : 0xc093; /* the valid snapshot's */
		bool data = i != 1 && i != 2;
		const struct { const char *kind; bool v86; u32 f; u64 v; bool data_only; } k[] = {
			{ "v86_base", true, base, ((0x1000 + i) << 4) + 0x10, false },
			{ "v86_limit", true, lim, 0xfffe, false },
			{ "v86_ar", true, ar, 0xf1, false },
			{ "base", false, base, i == 4 || i == 5 ? NONCANON : BIT(32), false },
			{ "ar.s", false, ar, ar0 & ~0x10ULL, false },
			{ "ar.p", false, ar, ar0 & ~0x80ULL, false },
			{ "ar.reserved", false, ar, ar0 | BIT(8), false },
			{ "ar.g", false, lim, 0x1000, false },
			{ "ar.accessed", false, ar, 0xc092, true },
			{ "ar.readable", false, ar, 0xc099, true },
			{ "ar.dpl_vs_rpl", false, sel, 0x13, true },
		};
		for (size_t j = 0; j < ARRAY_SIZE(k); j++) {
			if (k[j].data_only && !data)
				continue;
			reset();
			if (k[j].v86)
				v86();
			W(k[j].f, k[j].v);
			snprintf(rule, sizeof(rule), "guest.%s.%s", seg[i], k[j].kind);
			expect_only(rule);
		}
	}
}

static void test_every_host_selector_and_base_rule(void **state)
{
	static const struct { const char *name; u32 f; } sels[] = {
		{ "es", HOST_ES_SELECTOR }, { "cs", HOST_CS_SELECTOR }, { "ss", HOST_SS_SELECTOR },
		{ "ds", HOST_DS_SELECTOR }, { "fs", HOST_FS_SELECTOR }, { "gs", HOST_GS_SELECTOR },
		{ "tr", HOST_TR_SELECTOR },
	}, bases[] = {
		{ "fs", HOST_FS_BASE }, { "gs", HOST_GS_BASE }, { "gdtr", HOST_GDTR_BASE },
		{ "idtr", HOST_IDTR_BASE }, { "tr", HOST_TR_BASE },
	};
	char rule[64];
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(sels); i++) {
		reset();
		W(sels[i].f, vmcs[sels[i].f] | 1);
		snprintf(rule, sizeof(rule), "host.%s.rpl_ti", sels[i].name);
		expect_only(rule);
		reset();
		W(sels[i].f, vmcs[sels[i].f] | 4);
		expect_only(rule);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bases); i++) {
		reset();
		W(bases[i].f, NONCANON);
		snprintf(rule, sizeof(rule), "host.%s.base", bases[i].name);
		expect_only(rule);
	}
}

/* Last: every rule in the table was triggered, alone, by some test above. */
static void test_every_rule_covered(void **state)
{
	u32 n, missing = 0;
	const struct vmcheck_rule *r = vmcheck_rules(&n);
	(void)state;
	for (u32 i = 0; i < n; i++)
		if (!covered[i]) {
			print_error("no test triggers %s\n", r[i].name);
			missing++;
		}
	print_message("    %zu table cases + per-register loops cover %u of %u rules\n",
		      ARRAY_SIZE(cases), n - missing, n);
	assert_int_equal(missing, 0);
}

/* selftest=entry_guest_state: TR access rights 0x89 (available, not busy, 32-bit TSS). */
static void test_selftest_tr_available_tss(void **state)
{
	(void)state;
	reset();
	W(GUEST_TR_AR, 0x89);
	assert_int_equal(run(), 1);
	assert_string_equal(seen[0].rule, "guest.tr.type");
	assert_string_equal(seen[0].sdm, "26.3.1.2");
	assert_int_equal(seen[0].nfields, 1);
	assert_int_equal(seen[0].f[0].field, GUEST_TR_AR);
	assert_int_equal(seen[0].f[0].value, 0x89);
}

/* selftest=entry_control: CR3-target count 5 against the 4 of IA32_VMX_MISC. */
static void test_selftest_cr3_target_count(void **state)
{
	(void)state;
	reset();
	W(CR3_TARGET_COUNT, 5);
	assert_int_equal(run(), 1);
	assert_string_equal(seen[0].rule, "ctrl.cr3_target_count");
	assert_string_equal(seen[0].sdm, "26.2.1.1");
	assert_int_equal(seen[0].nfields, 2);
	assert_int_equal(seen[0].f[0].field, CR3_TARGET_COUNT);
	assert_int_equal(seen[0].f[0].value, 5);
	assert_int_equal(seen[0].f[1].field, VMCHECK_F_CAP);
	assert_int_equal(seen[0].f[1].value, 4);
}

/* Several breakages: all reported, in SDM order (controls, host, guest). */
static void test_several_breakages_all_reported_in_order(void **state)
{
	(void)state;
	reset();
	W(GUEST_TR_AR, 0x89);
	W(HOST_CS_SELECTOR, 0);
	W(CR3_TARGET_COUNT, 7);
	W(GUEST_RFLAGS, 0);
	assert_int_equal(run(), 4);
	assert_string_equal(seen[0].rule, "ctrl.cr3_target_count");
	assert_string_equal(seen[1].rule, "host.cs.null");
	assert_string_equal(seen[2].rule, "guest.tr.type");
	assert_string_equal(seen[3].rule, "guest.rflags.bit1");
	assert_int_equal(vmcheck_run(&in, NULL, NULL), 4); /* no report function: only counted */
}

/* allowed-0/1 reports name the offending bits. */
static void test_allowed_reports_the_bits(void **state)
{
	(void)state;
	reset();
	W(CPU_BASED_VM_EXEC_CONTROL, (V_PROC | BIT(0) | BIT(18)) & ~BIT(1));
	assert_int_equal(run(), 2);
	assert_string_equal(seen[0].rule, "ctrl.proc.allowed0");
	assert_int_equal(seen[0].f[1].field, VMCHECK_F_BITS);
	assert_int_equal(seen[0].f[1].value, BIT(1));
	assert_string_equal(seen[1].rule, "ctrl.proc.allowed1");
	assert_int_equal(seen[1].f[1].value, BIT(0) | BIT(18));
}

/* A control the CPU does not allow is reported once; its fields are not read (they may not
 * exist: VMREAD would fail) and the rules that depend on it are skipped. */
static void test_disallowed_control_fields_not_read(void **state)
{
	(void)state;
	reset();
	in.proc = CAP_PROC & ~BIT(32 + 31); /* no secondary controls */
	in.proc2 = 0;
	W(CPU_BASED_VM_EXEC_CONTROL, V_PROC | CPU_ACTIVATE_SECONDARY);
	in.entry = CAP_ENTRY & ~(ENTRY_LOAD_IA32_EFER << 32); /* no "load IA32_EFER" */
	present[GUEST_IA32_EFER] = false;
	assert_int_equal(run(), 2);
	assert_string_equal(seen[0].rule, "ctrl.proc.allowed1");
	assert_string_equal(seen[1].rule, "ctrl.entry.allowed1");
	assert_int_equal(absent_reads, 0);
}

/* Without read_phys (or for memory it cannot reach) the memory checks are skipped. */
static void test_memory_checks_need_read_phys(void **state)
{
	(void)state;
	reset();
	mem64(8, 1 | BIT(5)); /* a bad PDPTE */
	assert_int_equal(run(), 1);
	in.read_phys = NULL;
	assert_int_equal(run(), 0);
	reset();
	W(GUEST_CR3, 0x800000); /* outside the fake memory */
	assert_int_equal(run(), 0);
}

/* PDPTEs are checked only for PAE paging (not with paging off, not in IA-32e mode), and only
 * present ones. */
static void test_pdptes_only_with_pae_paging(void **state)
{
	(void)state;
	reset();
	mem64(0, 1 | BIT(6));
	assert_int_equal(run(), 1);
	ia32e();
	assert_int_equal(run(), 0);
	reset();
	ug();
	W(GUEST_PDPTE0, 1 | BIT(6));
	assert_int_equal(run(), 1);
	W(GUEST_CR0, G_CR0 & ~BIT(31));
	assert_int_equal(run(), 0);
	reset();
	mem64(0, BIT(6) | BIT(62));
	assert_int_equal(run(), 0);
}

/* The link pointer may name an ordinary VMCS (shadow bit 0) when shadowing is off. */
static void test_link_pointer_to_ordinary_vmcs(void **state)
{
	(void)state;
	reset();
	W(VMCS_LINK_POINTER, LINK);
	mem64(LINK - MEM_BASE, 0x2b);
	assert_int_equal(run(), 0);
	mem64(LINK - MEM_BASE, 0x8000002bULL);
	assert_int_equal(run(), 1);
	assert_string_equal(seen[0].rule, "guest.link.revision");
	assert_int_equal(seen[0].f[1].field, VMCHECK_F_MEM);
	assert_int_equal(seen[0].f[1].value, 0x8000002bULL);
}

/* Edges of rules that are easy to get wrong: what must NOT be reported. */
static void test_rule_edges(void **state)
{
	(void)state;
	/* an unusable data segment is not checked beyond its base */
	reset();
	W(GUEST_DS_AR, AR_UNUSABLE | 0x1234);
	W(GUEST_DS_BASE, BIT(40));
	assert_int_equal(run(), 0);
	/* CD and NW are never checked in guest CR0 */
	reset();
	in.cr0_fixed1 = 0x9fffffff;
	W(GUEST_CR0, G_CR0 | BIT(30) | BIT(29));
	assert_int_equal(run(), 0);
	/* VTPR at or above the threshold is fine */
	reset();
	tpr();
	W(TPR_THRESHOLD, 5);
	mem[0x4080] = 0x50;
	assert_int_equal(run(), 0);
	/* a canonical address in 57 bits is fine with la_bits = 57 */
	reset();
	W(HOST_FS_BASE, NONCANON);
	assert_int_equal(run(), 1);
	in.la_bits = 57;
	assert_int_equal(run(), 0);
	/* zero-length software interrupt injection is allowed when IA32_VMX_MISC[30] says so */
	reset();
	in.misc |= BIT(30);
	W(VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (INTR_TYPE_SW_INTR << 8) | 0x80);
	W(VM_ENTRY_INSTRUCTION_LEN, 0);
	assert_int_equal(run(), 0);
	/* a conforming code segment in DS is exempt from DPL >= RPL */
	reset();
	W(GUEST_DS_SELECTOR, 0x13);
	W(GUEST_DS_AR, 0xc09f);
	assert_int_equal(run(), 0);
	/* TR, FS, GS, LDTR bases: canonical, not limited to 32 bits */
	reset();
	W(GUEST_TR_BASE, 0xffff800000001000ULL);
	W(GUEST_FS_BASE, 0x00007fff00000000ULL);
	assert_int_equal(run(), 0);
	/* EFER.LME is compared with "IA-32e mode guest" only when CR0.PG is 1 */
	reset();
	ug();
	W(GUEST_CR0, G_CR0 & ~BIT(31));
	W(GUEST_IA32_EFER, 0x900);
	assert_int_equal(run(), 0);
	/* unrestricted guest: SS.RPL may differ from CS.RPL, and SS.DPL from SS.RPL */
	reset();
	ug();
	W(GUEST_SS_SELECTOR, 0x13);
	W(GUEST_SS_AR, 0xc0d3);
	W(GUEST_CS_AR, 0xc09f);
	assert_int_equal(run(), 0);
	/* with virtual-interrupt delivery, the TPR threshold is neither limited to 4 bits nor
	 * compared with VTPR */
	reset();
	posted();
	W(TPR_THRESHOLD, 0x35);
	assert_int_equal(run(), 0);
	/* allowed: HLT with #MC, #DB, MTF, NMI or an external interrupt; shutdown with NMI */
	reset();
	W(GUEST_ACTIVITY_STATE, 1);
	W(VM_ENTRY_INTR_INFO, HW_INJ(18));
	assert_int_equal(run(), 0);
	W(VM_ENTRY_INTR_INFO, HW_INJ(1));
	assert_int_equal(run(), 0);
	W(VM_ENTRY_INTR_INFO, INTR_INFO_VALID | (7 << 8)); /* pending MTF VM exit */
	assert_int_equal(run(), 0);
	W(VM_ENTRY_INTR_INFO, NMI_INJ);
	assert_int_equal(run(), 0);
	W(GUEST_RFLAGS, 0x202);
	W(VM_ENTRY_INTR_INFO, EXT_INJ);
	assert_int_equal(run(), 0);
	W(GUEST_ACTIVITY_STATE, 2);
	W(VM_ENTRY_INTR_INFO, NMI_INJ);
	assert_int_equal(run(), 0);
	/* unrestricted guest: a #GP injected in real mode has no error code */
	reset();
	ug_real();
	W(VM_ENTRY_INTR_INFO, GP_INJ & ~INTR_INFO_DELIVER_CODE);
	assert_int_equal(run(), 0);
	/* MAXPHYADDR unknown (0): no width checks */
	reset();
	in.maxphyaddr = 0;
	W(HOST_CR3, BIT(50));
	assert_int_equal(run(), 0);
}

/* Deliver-error-code against every hardware-exception vector: set exactly for #DF #TS #NP
 * #SS #GP #PF #AC #CP (8, 10-14, 17, 21). */
static void test_error_code_vectors(void **state)
{
	(void)state;
	for (u32 vec = 0; vec < 32; vec++) {
		bool code = vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21;
		u64 info = HW_INJ(vec);
		reset();
		W(VM_ENTRY_INTR_INFO, code ? info | INTR_INFO_DELIVER_CODE : info);
		if (run()) {
			print_error("vector %u with%s error code\n", vec, code ? "" : "out");
			print_seen();
			fail();
		}
		W(VM_ENTRY_INTR_INFO, code ? info : info | INTR_INFO_DELIVER_CODE);
		expect_only("ctrl.entry_intr.deliver_code");
	}
}

static void test_rule_table(void **state)
{
	(void)state;
	u32 n;
	const struct vmcheck_rule *r = vmcheck_rules(&n);
	assert_true(n >= 150);
	for (u32 i = 0; i < n; i++) {
		assert_non_null(r[i].name);
		assert_true(strncmp(r[i].sdm, "26.", 3) == 0);
		assert_true(strlen(r[i].text) > 10);
		size_t len = strlen(r[i].name);
		assert_true(strspn(r[i].name, "abcdefghijklmnopqrstuvwxyz0123456789_.") == len);
		for (u32 j = 0; j < i; j++)
			assert_true(strcmp(r[i].name, r[j].name) != 0);
	}
}

static void test_field_names(void **state)
{
	(void)state;
	assert_string_equal(vmcheck_field_name(GUEST_TR_AR), "GUEST_TR_AR");
	assert_string_equal(vmcheck_field_name(CR3_TARGET_COUNT), "CR3_TARGET_COUNT");
	assert_string_equal(vmcheck_field_name(HOST_RIP), "HOST_RIP");
	assert_string_equal(vmcheck_field_name(VPID), "VPID");
	assert_string_equal(vmcheck_field_name(F_APIC_ACCESS_ADDR), "APIC_ACCESS_ADDR");
	assert_string_equal(vmcheck_field_name(VMCHECK_F_CAP), "capability");
	assert_null(vmcheck_field_name(0x7777));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_snapshot_passes),
		cmocka_unit_test(test_valid_variants_pass),
		cmocka_unit_test(test_each_case_reports_exactly_its_rule),
		cmocka_unit_test(test_every_segment_rule),
		cmocka_unit_test(test_every_host_selector_and_base_rule),
		cmocka_unit_test(test_selftest_tr_available_tss),
		cmocka_unit_test(test_selftest_cr3_target_count),
		cmocka_unit_test(test_several_breakages_all_reported_in_order),
		cmocka_unit_test(test_allowed_reports_the_bits),
		cmocka_unit_test(test_disallowed_control_fields_not_read),
		cmocka_unit_test(test_memory_checks_need_read_phys),
		cmocka_unit_test(test_pdptes_only_with_pae_paging),
		cmocka_unit_test(test_link_pointer_to_ordinary_vmcs),
		cmocka_unit_test(test_rule_edges),
		cmocka_unit_test(test_error_code_vectors),
		cmocka_unit_test(test_rule_table),
		cmocka_unit_test(test_field_names),
		cmocka_unit_test(test_every_rule_covered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
