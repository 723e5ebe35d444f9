/* hv.c - temporary: boot path only. */
#include "kernel/hv.h"
#include "kernel/log.h"
#include "drivers/power.h"

void hv_start(const struct hv_config *cfg, const struct mb2_info *mb)
{
	(void)cfg;
	pr_info("%d modules", mb->n_mods);
	power_off(0);
}
