/* trace.h - the exit trace: a ring of the last exits (reason, qualification, RIP, cost) and
 * per-reason cost totals. Cost = host TSC ticks from the VM exit to the next VM entry, i.e.
 * the hypervisor's instructions per exit inside Bochs (PLATFORM.md). */
#ifndef VMX_TRACE_H
#define VMX_TRACE_H

#include "arch/types.h"
#include "vmx/vmcs.h"

#define TRACE_RING 256

struct trace_entry {
	u32 reason;   /* full exit reason (bit 31: failed entry) */
	u64 qual;
	u64 rip;
	u64 tsc;      /* host TSC at the exit */
	u64 cost;     /* ticks until the next entry; 0 while still being handled */
};

struct trace_cost {
	u64 count;
	u64 total;    /* sum of costs */
	u64 min, max;
};

/* The state behind the two calls below (inline: they run on every exit). */
extern struct trace_entry trace_ring[TRACE_RING];
extern u64 trace_nexits;
extern struct trace_cost trace_costs[EXIT_REASON_MAX + 1];
/* The exit being handled: its ring entry and its reason's costs (NULL: none open). */
extern struct trace_entry *trace_cur;
extern struct trace_cost *trace_cur_cost;

/* Called right after a VM exit, with the host TSC read at that moment; basic is the basic
 * exit reason, already clamped to EXIT_REASON_MAX. */
static inline void trace_exit(u32 reason, u32 basic, u64 qual, u64 rip, u64 tsc)
{
	struct trace_entry *e = &trace_ring[trace_nexits++ % TRACE_RING];
	*e = (struct trace_entry){ reason, qual, rip, tsc, 0 };
	trace_cur = e;
	trace_cur_cost = &trace_costs[basic];
}

/* Called right before the next VM entry: completes the latest entry's cost. */
static inline void trace_entry_done(u64 tsc)
{
	struct trace_entry *e = trace_cur;
	if (!e)
		return;
	struct trace_cost *c = trace_cur_cost;
	u64 cost = tsc - e->tsc;
	e->cost = cost;
	if (cost < c->min || !c->count)
		c->min = cost;
	if (cost > c->max)
		c->max = cost;
	c->count++;
	c->total += cost;
	trace_cur = NULL;
}
/* The i-th most recent exit (0 = latest); false beyond what the ring holds. */
bool trace_get(u32 i, struct trace_entry *e);
const struct trace_cost *trace_cost_of(u32 basic_reason);
/* Prints one key=value line of per-reason costs (docs/debugging.md). */
void trace_print_costs(void);

#endif
