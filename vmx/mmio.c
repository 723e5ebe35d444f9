/* mmio.c - MMIO emulation glue between the MMU, the instruction emulator and the devices. */
#include "vmx/mmio.h"
#include "vmx/emulate.h"
#include "vmx/vcpu.h"
#include "vmx/vmx.h"
#include "devices/mmio.h"
#include "devices/pio.h"
#include "mmu/gwalk.h"
#include "mmu/mmu.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "kernel/x86.h"

#define VEC_UD 6

/* The emulator's view of the guest for one MMIO access; ops is first so that the ops
 * callbacks (which get opaque = this context) can report faults in it. */
struct mmio_ctx {
	struct emu_ops ops;
	u64 gpa_page, la_page; /* the faulting page: la_page maps to gpa_page */
	bool user;             /* CPL 3: accesses are user accesses */
};

/* Splits at page boundaries: one memslot lookup per page. */
static bool phys_access(u64 gpa, void *buf, u64 len, bool write)
{
	u8 *p = buf;
	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
		const struct memslot *m = memslot_lookup(&guest_memslots, gpa >> PAGE_SHIFT);
		if (!m || (write && (m->flags & MEMSLOT_F_READONLY)))
			return false;
		u8 *host = (u8 *)(uintptr_t)(memslot_gfn_to_hpa(m, gpa >> PAGE_SHIFT) +
					     (gpa & (PAGE_SIZE - 1)));
		if (write)
			memcpy(host, p, chunk);
		else
			memcpy(p, host, chunk);
		gpa += chunk;
		p += chunk;
		len -= chunk;
	}
	return true;
}

bool guest_phys_read(u64 gpa, void *buf, u64 len) { return phys_access(gpa, buf, len, false); }
bool guest_phys_write(u64 gpa, const void *buf, u64 len) { return phys_access(gpa, (void *)buf, len, true); }

u64 guest_virt_access(gva_t gva, void *buf, u64 len, bool write)
{
	u64 done = 0;
	while (done < len) {
		u64 gpa;
		u32 ec;
		u64 chunk = MIN(len - done, PAGE_SIZE - ((gva + done) & (PAGE_SIZE - 1)));
		if (!mmu_translate(gva + done, 0, &gpa, &ec) ||
		    !phys_access(gpa, (u8 *)buf + done, chunk, write))
			break;
		done += chunk;
	}
	if (write && done)
		mmu_zap_all_fast();
	return done;
}

/* Linear -> guest-physical for the emulator's operands: the faulting page is known (no
 * walk); anything else goes through the guest's tables, and a guest fault is reported in
 * ops as the exception to inject. */
static bool la_to_gpa(struct mmio_ctx *c, u64 la, u32 acc, u64 *gpa)
{
	struct emu_ops *ops = &c->ops;
	u32 ec;
	if ((la & ~(PAGE_SIZE - 1)) == c->la_page) {
		*gpa = c->gpa_page | (la & (PAGE_SIZE - 1));
		return true;
	}
	if (mmu_translate(la, acc | (c->user ? GWALK_ACC_USER : 0), gpa, &ec))
		return true;
	ops->fault_vector = 14;
	ops->fault_has_error = true;
	ops->fault_error = ec;
	ops->fault_cr2 = la;
	return false;
}

static enum emu_access op_fetch(void *opaque, u64 la, void *buf, int len)
{
	struct mmio_ctx *c = opaque;
	u8 *p = buf;
	u64 gpa;
	for (int i = 0; i < len; i++) {
		if (!la_to_gpa(c, la + (u64)i, GWALK_ACC_FETCH, &gpa))
			return EMU_ACCESS_FAULT;
		if (!guest_phys_read(gpa, p + i, 1)) {
			/* Code in device memory: not something this emulator runs. */
			pr_warn("mmio: instruction bytes at %#llx (gpa %#llx) are not in RAM: #UD",
				la + (u64)i, gpa);
			c->ops.fault_vector = 6;
			c->ops.fault_has_error = false;
			return EMU_ACCESS_FAULT;
		}
	}
	return EMU_ACCESS_OK;
}

/* RAM through the memslots, anything else through the MMIO device table. */
static enum emu_access op_access(void *opaque, u64 la, void *buf, int size, bool write)
{
	u64 gpa;
	if (!la_to_gpa(opaque, la, write ? GWALK_ACC_WRITE : 0, &gpa))
		return EMU_ACCESS_FAULT;
	const struct memslot *m = memslot_lookup(&guest_memslots, gpa >> PAGE_SHIFT);
	u64 v = 0;
	if (m) {
		if (write && (m->flags & MEMSLOT_F_READONLY))
			return EMU_ACCESS_OK; /* a write to ROM is dropped */
		bool ok = write ? guest_phys_write(gpa, buf, (u64)size)
				: guest_phys_read(gpa, buf, (u64)size);
		return ok ? EMU_ACCESS_OK : EMU_ACCESS_FAULT;
	}
	if (write) {
		memcpy(&v, buf, (size_t)size);
		if (!mmio_write(gpa, size, v))
			pr_debug("mmio: write to unassigned %#llx ignored", gpa);
	} else {
		if (!mmio_read(gpa, size, &v))
			pr_debug("mmio: read from unassigned %#llx: all ones", gpa);
		memcpy(buf, &v, (size_t)size);
	}
	return EMU_ACCESS_OK;
}

static enum emu_access op_read(void *o, u64 la, void *buf, int size)
{
	return op_access(o, la, buf, size, false);
}

static enum emu_access op_write(void *o, u64 la, const void *buf, int size)
{
	return op_access(o, la, (void *)buf, size, true);
}

static void op_pio_in(void *o, u16 port, int size, u32 *value)
{
	(void)o;
	pio_read(port, size, value);
}

static void op_pio_out(void *o, u16 port, int size, u32 value)
{
	(void)o;
	pio_write(port, size, value);
}

static void load_cpu(struct vcpu *v, struct emu_cpu *cpu)
{
	u64 cs_ar = vmcs_read(GUEST_CS_AR);
	memcpy(cpu->gpr, v->regs.gpr, sizeof(cpu->gpr));
	cpu->gpr[GPR_RSP] = vmcs_read(GUEST_RSP);
	cpu->rip = vmcs_read(GUEST_RIP);
	cpu->rflags = vmcs_read(GUEST_RFLAGS);
	for (int s = 0; s < EMU_NSEG; s++)
		cpu->seg_base[s] = vmcs_read(GUEST_ES_BASE + (u32)s * 2);
	cpu->mode = (cs_ar & BIT(13)) ? 64 : (cs_ar & BIT(14)) ? 32 : 16;
	cpu->cpl = (int)((vmcs_read(GUEST_SS_AR) >> 5) & 3);
}

static void store_cpu(struct vcpu *v, const struct emu_cpu *cpu)
{
	memcpy(v->regs.gpr, cpu->gpr, sizeof(cpu->gpr));
	vmcs_write(GUEST_RSP, cpu->gpr[GPR_RSP]);
	vmcs_write(GUEST_RIP, cpu->rip);
	vmcs_write(GUEST_RFLAGS, cpu->rflags);
}

bool emulate_instruction(void)
{
	/* No page is known in advance: every operand goes through the guest's tables. */
	return mmio_emulate(~0ULL, ~0ULL);
}

bool mmio_emulate(u64 gpa, u64 la)
{
	struct vcpu *v = &vcpu0;
	struct mmio_ctx ctx = {
		.ops = { .fetch = op_fetch, .read = op_read, .write = op_write,
			 .pio_in = op_pio_in, .pio_out = op_pio_out },
		.gpa_page = gpa & ~(PAGE_SIZE - 1), .la_page = la & ~(PAGE_SIZE - 1),
	};
	struct emu_cpu cpu;
	struct emu_result res;
	ctx.ops.opaque = &ctx;
	load_cpu(v, &cpu);
	u64 res_rip_before = cpu.rip;
	ctx.user = cpu.cpl == 3;
	emu_step(&cpu, &ctx.ops, &res);
	switch (res.status) {
	case EMU_OK:
		store_cpu(v, &cpu);
		if (cpu.rip != res_rip_before)
			vcpu_single_step_trap();
		break;
	case EMU_EXCEPTION:
		store_cpu(v, &cpu); /* a string instruction keeps the iterations it finished */
		if (res.vector == 14)
			mmu_inject_page_fault(res.cr2, res.error);
		else
			vcpu_inject_exception(res.vector, res.has_error, res.error);
		break;
	case EMU_UNHANDLED:
		pr_warn("mmio: cannot emulate the instruction at rip=%#llx accessing %#llx: bytes "
			"%02x %02x %02x %02x %02x %02x (%d fetched); #UD injected", cpu.rip, gpa,
			res.bytes[0], res.bytes[1], res.bytes[2], res.bytes[3], res.bytes[4],
			res.bytes[5], res.len);
		vcpu_inject_exception(VEC_UD, false, 0);
		break;
	}
	return true;
}
