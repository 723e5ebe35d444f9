/* exit_cr.c - control-register accesses. The guest owns no CR0/CR4 bit (both masks are all
 * ones): every write exits here, is checked as the CPU would check it, and then updates the
 * read shadow (what the guest sees) and the real value (what the CPU runs with). */
#include "vmx/exit.h"
#include "vmx/vmx.h"
#include "kernel/log.h"
#include "devices/irq.h"
#include "devices/lapic.h"
#include "vmx/xsave.h"
#include "arch/asm.h"

#define CRQ_NUM(q) ((q) & 0xf)
#define CRQ_TYPE(q) (((q) >> 4) & 3)
#define CRQ_GPR(q) (((q) >> 8) & 0xf)
#define CRQ_LMSW_DATA(q) (((q) >> 16) & 0xffff)
#define CR_MOV_TO 0
#define CR_MOV_FROM 1
#define CR_CLTS 2
#define CR_LMSW 3

static u64 cr4_supported(void)
{
	u32 a, b, c, d;
	u64 ok = CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE |
		 CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (xsave_supported())
		ok |= CR4_OSXSAVE;
	cpuid(7, 0, &a, &b, &c, &d);
	if (b & CPUID_7_EBX_FSGSBASE)
		ok |= CR4_FSGSBASE;
	if (b & CPUID_7_EBX_SMEP)
		ok |= CR4_SMEP;
	if (b & CPUID_7_EBX_SMAP)
		ok |= CR4_SMAP;
	return ok;
}

/* Returns false when the write must #GP (SDM Vol. 3A 2.5, MOV CR checks). */
static bool guest_write_cr0(struct vcpu *v, u64 val)
{
	u64 old = v->cr0, efer = v->efer;
	val |= CR0_ET; /* hardwired to 1 */
	if ((val >> 32) || ((val & CR0_PG) && !(val & CR0_PE)) || ((val & CR0_NW) && !(val & CR0_CD)))
		return false;
	if (!(val & CR0_PE)) {
		vcpu_stop(v, END_GUEST_ERROR, "guest leaves protected mode (CR0=%#llx at rip=%#llx): "
			  "real mode is not supported", val, v->last_rip);
		return true;
	}
	if ((val & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME)) {
		/* Activating long mode (10.8.5): needs PAE; then EFER.LMA is set. */
		if (!(v->cr4 & CR4_PAE))
			return false;
		v->efer |= EFER_LMA;
	}
	if (!(val & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA)) {
		if (x86_code64(efer, vmcs_read(GUEST_CS_AR)))
			return false; /* leaving long mode from 64-bit code */
		v->efer &= ~EFER_LMA;
	}
	v->cr0 = val;
	/* PAE PDPTEs are loaded again only when these change (SDM Vol. 3A 4.4.1). */
	if (vcpu_update_paging(v, (old ^ val) & (CR0_CD | CR0_NW | CR0_PG))) {
		v->cr0 = old; /* refused: nothing was changed */
		v->efer = efer;
		return false;
	}
	return true;
}

static bool guest_write_cr4(struct vcpu *v, u64 val)
{
	u64 old = v->cr4;
	if (val & ~cr4_supported())
		return false;
	if ((v->efer & EFER_LMA) && !(val & CR4_PAE))
		return false; /* PAE cannot be cleared in long mode */
	v->cr4 = val;
	if (vcpu_update_paging(v, (old ^ val) & (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP))) {
		v->cr4 = old; /* refused: nothing was changed */
		return false;
	}
	return true;
}

static bool mov_to_cr(struct vcpu *v, u32 cr, u64 val)
{
	u64 old;
	switch (cr) {
	case 0: return guest_write_cr0(v, val);
	case 3:
		old = v->cr3;
		v->cr3 = (v->efer & EFER_LMA) ? val & ~CR3_PCID_NOFLUSH : (val & 0xffffffff);
		if (vcpu_update_cr3(v)) { /* PAE: a PDPTE with reserved bits set */
			v->cr3 = old; /* refused: the PDPTE registers keep what they hold */
			return false;
		}
		return true;
	case 4: return guest_write_cr4(v, val);
	case 8:
		if (val >> 4)
			return false; /* bits 63:4 reserved */
		lapic_write_cr8(val); /* the task priority: TPR[7:4] */
		intc_changed();
		return true;
	default:
		vcpu_stop(v, END_GUEST_ERROR, "MOV to CR%u is not supported", cr);
		return true;
	}
}

void handle_cr_access(struct vcpu *v)
{
	u64 q = v->exit_qual;
	u32 cr = CRQ_NUM(q);
	bool ok = true;
	switch (CRQ_TYPE(q)) {
	case CR_MOV_TO:
		ok = mov_to_cr(v, cr, vcpu_get_gpr(v, (int)CRQ_GPR(q)));
		break;
	case CR_MOV_FROM:
		if (cr != 3 && cr != 8) {
			vcpu_stop(v, END_GUEST_ERROR, "MOV from CR%u is not supported", cr);
			return;
		}
		vcpu_set_gpr(v, (int)CRQ_GPR(q), cr == 3 ? v->cr3 : lapic_read_cr8());
		break;
	case CR_CLTS:
		ok = guest_write_cr0(v, v->cr0 & ~CR0_TS);
		break;
	case CR_LMSW: /* loads PE, MP, EM, TS; cannot clear PE */
		ok = guest_write_cr0(v, (v->cr0 & ~0xeULL) | (CRQ_LMSW_DATA(q) & 0xf) | (v->cr0 & CR0_PE));
		break;
	}
	if (v->end != END_NONE)
		return;
	if (!ok) {
		pr_warn("guest CR%u write refused (qualification %#llx, rip=%#llx): #GP injected", cr,
			q, v->last_rip);
		vcpu_inject_exception(VEC_GP, true, 0);
		return;
	}
	vcpu_skip_instruction();
}
