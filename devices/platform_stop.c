/* platform_stop.c - the one pending "end the run" request of the guest's devices
 * (devices/platform_stop.h); the vCPU takes it after each port access. */
#include "devices/platform_stop.h"
#include "kernel/fmt.h"

struct platform_stop platform_stop;

void platform_stop_request(enum platform_stop_kind kind, u32 code, const char *fmt, ...)
{
	struct platform_stop *s = &platform_stop;
	if (s->kind != PSTOP_NONE) {
		if (s->kind == kind)
			s->code = code;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	s->code = code;
	s->kind = kind;
}

struct platform_stop platform_stop_take(void)
{
	struct platform_stop s = platform_stop;
	platform_stop.kind = PSTOP_NONE;
	return s;
}
