/* fake_host.c - host doubles for kernel services: the physical page allocator (kernel/pmm.c),
 * logging (kernel/log.c) and panic (kernel/panic.c). See fake.h. */
#include "unit.h"

#include "fake.h"
#include "kernel/fmt.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "kernel/pmm.h"

bool intc_dirty; /* devices/intc.c in the hypervisor: set by device accesses */

/* ---- pmm ---- */

#define FAKE_PMM_MAX 256

static void *allocs[FAKE_PMM_MAX];
static int fail_next;

static u64 fake_alloc(u64 npages, u64 align)
{
	if (fail_next > 0) {
		fail_next--;
		return 0;
	}
	if (align < PAGE_SIZE || (align & (align - 1)))
		fail_msg("pmm_alloc_contig: bad alignment %#llx", align);
	for (int i = 0; i < FAKE_PMM_MAX; i++) {
		if (allocs[i])
			continue;
		void *p = aligned_alloc(align, npages * PAGE_SIZE);
		if (!p)
			return 0;
		memset(p, 0, npages * PAGE_SIZE);
		allocs[i] = p;
		return (u64)(uintptr_t)p;
	}
	fail_msg("fake pmm: more than %d allocations outstanding", FAKE_PMM_MAX);
	return 0;
}

u64 pmm_alloc_contig(u64 npages, u64 align) { return fake_alloc(npages, align); }
u64 pmm_alloc(void) { return fake_alloc(1, PAGE_SIZE); }

void pmm_free(u64 pa)
{
	for (int i = 0; i < FAKE_PMM_MAX; i++) {
		if (allocs[i] == (void *)(uintptr_t)pa) {
			free(allocs[i]);
			allocs[i] = NULL;
			return;
		}
	}
	fail_msg("pmm_free(%#llx): not allocated", pa);
}

void pmm_free_contig(u64 pa, u64 npages)
{
	(void)npages;
	pmm_free(pa);
}

/* Allocation slots still free (the fake has no page count; HC_GET_STAT reports it). */
u64 pmm_free_pages(void)
{
	u64 n = 0;
	for (int i = 0; i < FAKE_PMM_MAX; i++)
		n += !allocs[i];
	return n;
}

void fake_pmm_free_all(void)
{
	for (int i = 0; i < FAKE_PMM_MAX; i++) {
		free(allocs[i]);
		allocs[i] = NULL;
	}
	fail_next = 0;
}

u64 fake_pmm_outstanding(void)
{
	u64 n = 0;
	for (int i = 0; i < FAKE_PMM_MAX; i++)
		n += allocs[i] != NULL;
	return n;
}

void fake_pmm_fail_next(int n) { fail_next = n; }

/* ---- log ---- */

int log_level = LOG_DEBUG;
u64 fake_log_count[4];
char fake_last_err[512];
char fake_last_warn[512];

void fake_log_reset(void)
{
	memset(fake_log_count, 0, sizeof(fake_log_count));
	fake_last_err[0] = fake_last_warn[0] = 0;
}

static bool log_to_stdout(void)
{
	const char *e = getenv("FAKE_LOG");
	return e && e[0] == '1';
}

void vklog(int level, const char *fmt, va_list ap)
{
	char buf[512];
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	fake_log_count[level & 3]++;
	if (level == LOG_ERROR)
		memcpy(fake_last_err, buf, sizeof(buf));
	else if (level == LOG_WARN)
		memcpy(fake_last_warn, buf, sizeof(buf));
	if (log_to_stdout())
		printf("[hv %c] %s\n", "EWID"[level & 3], buf);
}

void klog(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vklog(level, fmt, ap);
	va_end(ap);
}

void console_write(const char *s, size_t n)
{
	if (log_to_stdout())
		fwrite(s, 1, n, stdout);
}

void console_puts(const char *s) { console_write(s, strlen(s)); }

/* ---- panic ---- */

jmp_buf *fake_panic_jmp;
char fake_panic_msg[512];

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(fake_panic_msg, sizeof(fake_panic_msg), fmt, ap);
	va_end(ap);
	if (fake_panic_jmp) {
		jmp_buf *j = fake_panic_jmp;
		fake_panic_jmp = NULL;
		longjmp(*j, 1);
	}
	fail_msg("panic: %s", fake_panic_msg);
	abort(); /* not reached: fail_msg leaves the test */
}

void panic_regs(const struct trap_frame *f, const char *fmt, ...)
{
	(void)f;
	va_list ap;
	va_start(ap, fmt);
	char buf[512];
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	panic("%s", buf);
}
