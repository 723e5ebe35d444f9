/* trace.c - the exit ring and per-reason costs. */
#include "vmx/trace.h"
#include "vmx/vmx.h"
#include "kernel/fmt.h"
#include "kernel/log.h"

static struct trace_entry ring[TRACE_RING];
static u64 nexits;
static struct trace_cost costs[EXIT_REASON_MAX + 1];
static bool open_entry;

void trace_exit(u32 reason, u64 qual, u64 rip, u64 tsc)
{
	ring[nexits % TRACE_RING] = (struct trace_entry){ reason, qual, rip, tsc, 0 };
	nexits++;
	open_entry = true;
}

void trace_entry_done(u64 tsc)
{
	if (!open_entry)
		return;
	struct trace_entry *e = &ring[(nexits - 1) % TRACE_RING];
	u32 basic = e->reason & EXIT_REASON_BASIC_MASK;
	struct trace_cost *c = &costs[basic < EXIT_REASON_MAX ? basic : EXIT_REASON_MAX];
	e->cost = tsc - e->tsc;
	if (!c->count || e->cost < c->min)
		c->min = e->cost;
	if (e->cost > c->max)
		c->max = e->cost;
	c->count++;
	c->total += e->cost;
	open_entry = false;
}

bool trace_get(u32 i, struct trace_entry *e)
{
	if (i >= TRACE_RING || i >= nexits)
		return false;
	*e = ring[(nexits - 1 - i) % TRACE_RING];
	return true;
}

const struct trace_cost *trace_cost_of(u32 basic_reason)
{
	return &costs[basic_reason < EXIT_REASON_MAX ? basic_reason : EXIT_REASON_MAX];
}

void trace_print_costs(void)
{
	char buf[1536];
	int n = fmt_snprintf(buf, sizeof(buf), "exit-costs");
	for (u32 r = 0; r < EXIT_REASON_MAX && n < (int)sizeof(buf) - 80; r++) {
		const struct trace_cost *c = &costs[r];
		if (!c->count)
			continue;
		n += fmt_snprintf(buf + n, sizeof(buf) - (size_t)n, " %s.avg=%llu %s.min=%llu",
				  vmx_exit_reason_name(r), c->total / c->count, vmx_exit_reason_name(r),
				  c->min);
	}
	pr_info("%s", buf);
}
