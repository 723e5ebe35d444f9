/* exit_cpuid.c - CPUID exits: the host's answer through the guest's CPU model (vmx/cpuid.c,
 * pure), and that model's setup from the host's CPUID, the guest TSC's rate and the VMX
 * controls in use. */
#include "vmx/exit.h"
#include "vmx/cpuid.h"
#include "vmx/xsave.h"
#include "kernel/log.h"
#include "devices/lapic.h"
#include "drivers/tsc.h"
#include "arch/asm.h"

static struct cpuid_model model; /* Invariants: vmx/cpuid.h, struct cpuid_model */
static struct cpuid_cache cache;  /* the answers given, by leaf, subleaf and guest state */

void cpuid_setup(const struct vcpu *v)
{
	u32 a, b, c, d;
	struct cpuid_model *m = &model;
	cpuid(0, 0, &a, &b, &c, &d);
	m->host_max_basic = a;
	m->tsc_hz = vtime_hz();
	m->crystal_hz = LAPIC_TIMER_HZ(m->tsc_hz);
	m->rdtscp = v->rdtscp;
	m->xcr0_mask = xsave_guest_mask();
	for (u32 i = 2; i < XSAVE_COMPONENTS; i++) {
		if (!(m->xcr0_mask & BIT(i)))
			continue;
		cpuid(0xd, i, &a, &b, &c, &d);
		m->xc[i] = (struct xsave_component){ a, b, c };
	}
	u32 num, den;
	cpuid_tsc_ratio(m->tsc_hz, m->crystal_hz, &num, &den);
	pr_info("cpuid: TSC %llu Hz = crystal %llu Hz * %u / %u (leaf 0x15); XCR0 up to %#llx, "
		"XSAVE area %u bytes; RDTSCP %s", m->tsc_hz, m->crystal_hz, num, den, m->xcr0_mask,
		cpuid_xsave_size(m, m->xcr0_mask, false), m->rdtscp ? "offered" : "hidden");
}

void handle_cpuid(struct vcpu *v)
{
	u32 leaf = (u32)v->regs.gpr[GPR_RAX], sub = (u32)v->regs.gpr[GPR_RCX];
	struct cpuid_regs r = { 0, 0, 0, 0 };
	const struct cpuid_guest g = { v->cr4, v->xcr0, lapic_mode() == LAPIC_MODE_DISABLED };
	if (!cpuid_cache_get(&cache, &g, leaf, sub, &r)) {
		if (cpuid_from_host(&model, leaf))
			cpuid(leaf, sub, &r.a, &r.b, &r.c, &r.d);
		cpuid_guest_view(&model, &g, leaf, sub, &r);
		cpuid_cache_put(&cache, &g, leaf, sub, &r);
	}
	v->regs.gpr[GPR_RAX] = r.a;
	v->regs.gpr[GPR_RBX] = r.b;
	v->regs.gpr[GPR_RCX] = r.c;
	v->regs.gpr[GPR_RDX] = r.d;
	vcpu_skip_instruction();
}
