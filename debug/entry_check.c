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

static void check_report(void *o, const struct vmcheck_violation *x)
{
	int *n = o;
	char fields[160] = "";
	int len = 0;
	for (int i = 0; i < x->nfields; i++) {
		const char *name = vmcheck_field_name(x->f[i].field);
		len += fmt_snprintf(fields + len, sizeof(fields) - (size_t)len, " %s=%#llx",
				    name ? name : "field", x->f[i].value);
	}
	pr_err("  check %s (SDM %s): %s;%s", x->rule, x->sdm, x->text, fields);
	(*n)++;
}

void entry_check(void)
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
	int n = 0;
	pr_err("entry checker (SDM \"VM Entries\"):");
	vmcheck_run(&in, check_report, &n);
	pr_err("entry checker: %d rule%s broken", n, n == 1 ? "" : "s");
}
