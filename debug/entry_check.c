/* entry_check.c - the glue between the pure entry checker (debug/vmcheck.c) and the hardware:
 * fields read from the current VMCS, memory from the host's identity map, the capabilities
 * from vmx_caps; every broken rule printed at level E. */
#include "debug/entry_check.h"
#include "debug/vmcheck.h"
#include "vmx/vmx.h"
#include "kernel/fmt.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "arch/asm.h"

static u64 check_read(void *o, u32 field)
{
	(void)o;
	return vmcs_read((enum vmcs_field)field);
}

static bool check_read_phys(void *o, u64 pa, void *buf, int len)
{
	(void)o;
	if (pa + (u64)len > 4 * GiB)
		return false; /* only the identity-mapped low 4 GiB is readable */
	memcpy(buf, (const void *)(uintptr_t)pa, (size_t)len);
	return true;
}

struct report {
	int n;
	const char *header; /* printed before the first broken rule (strict mode: only then) */
};

static void check_report(void *o, const struct vmcheck_violation *x)
{
	struct report *r = o;
	if (!r->n && r->header)
		pr_err("%s", r->header);
	char fields[160] = "";
	int len = 0;
	for (int i = 0; i < x->nfields; i++) {
		const char *name = vmcheck_field_name(x->f[i].field);
		len += fmt_snprintf(fields + len, sizeof(fields) - (size_t)len, " %s=%#llx",
				    name ? name : "field", x->f[i].value);
	}
	pr_err("  check %s (SDM %s): %s;%s", x->rule, x->sdm, x->text, fields);
	r->n++;
}

static int run_checker(const char *header)
{
	const struct vmx_caps *c = &vmx_caps;
	u32 a, b, cc, d;
	cpuid(0x80000008, 0, &a, &b, &cc, &d);
	struct vmcheck_input in = {
		.read = check_read, .read_phys = check_read_phys,
		.basic = c->basic, .pin = c->pin, .proc = c->proc, .exit = c->exit,
		.entry = c->entry, .proc2 = c->proc2, .misc = c->misc,
		.cr0_fixed0 = c->cr0_fixed0, .cr0_fixed1 = c->cr0_fixed1,
		.cr4_fixed0 = c->cr4_fixed0, .cr4_fixed1 = c->cr4_fixed1,
		.maxphyaddr = (u8)(a & 0xff), .cpu_lma = true,
	};
	struct report r = { 0, header };
	vmcheck_run(&in, check_report, &r);
	return r.n;
}

void entry_check(void)
{
	pr_err("entry checker (SDM \"VM Entries\"):");
	int n = run_checker(NULL);
	pr_err("entry checker: %d rule%s broken", n, n == 1 ? "" : "s");
	if (!n)
		pr_err("entry checker: no rule of the SDM's list is broken, so the cause is outside "
		       "it: the CPU's or an outer hypervisor's own checks (KVM's nested ones), MSR "
		       "values loaded on entry, or a rule this checker lacks");
}

u64 entry_checks_done;

bool entry_check_strict(void)
{
	entry_checks_done++;
	int n = run_checker("strict entry check (SDM \"VM Entries\") before a VM entry:");
	if (n)
		pr_err("strict entry check: %d rule%s broken: the entry is not made (entry_check=1)",
		       n, n == 1 ? "" : "s");
	return n == 0;
}
