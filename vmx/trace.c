/* trace.c - the exit ring and per-reason costs. */
#include "vmx/trace.h"
#include "vmx/vmx.h"
#include "kernel/fmt.h"
#include "kernel/log.h"

struct trace_entry trace_ring[TRACE_RING];
u64 trace_nexits;
struct trace_cost trace_costs[EXIT_REASON_MAX + 1];
struct trace_entry *trace_cur;
struct trace_cost *trace_cur_cost;

bool trace_get(u32 i, struct trace_entry *e)
{
	if (i >= TRACE_RING || i >= trace_nexits)
		return false;
	*e = trace_ring[(trace_nexits - 1 - i) % TRACE_RING];
	return true;
}

const struct trace_cost *trace_cost_of(u32 basic_reason)
{
	return &trace_costs[basic_reason < EXIT_REASON_MAX ? basic_reason : EXIT_REASON_MAX];
}

void trace_print_costs(void)
{
	char buf[1536];
	int n = fmt_snprintf(buf, sizeof(buf), "exit-costs");
	for (u32 r = 0; r < EXIT_REASON_MAX && n < (int)sizeof(buf) - 80; r++) {
		const struct trace_cost *c = &trace_costs[r];
		if (!c->count)
			continue;
		n += fmt_snprintf(buf + n, sizeof(buf) - (size_t)n, " %s.avg=%llu %s.min=%llu",
				  vmx_exit_reason_name(r), c->total / c->count, vmx_exit_reason_name(r),
				  c->min);
	}
	pr_info("%s", buf);
}
