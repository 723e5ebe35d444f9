/* lbench.c - the Linux end-to-end benchmarks (issue 14, docs/bench.md "Linux workloads").
 *
 * Linux userland, not a multiboot guest: a static x86-64 binary (`gcc -static -O2`, the
 * Makefile's build/linux/lbench) that scripts/bench.py puts into a busybox initramfs as /init
 * itself, so that its first RDTSC is the moment the kernel hands over to userland. The same
 * kernel, initramfs and binary boot on bare Bochs and under the hypervisor; in Bochs RDTSC
 * counts instructions, so every figure is an instruction count and the two runs compare.
 *
 * Each workload runs N operations between two RDTSCs and prints one line in the format of
 * the multiboot benchmark guests (guests/lib/bench.h):
 *   BENCH name=linux_fork n=N total=TICKS per_op=TICKS/N
 * Under the hypervisor (CPUID.1:ECX[31] and the "Slotvisor" signature) it also reads the
 * hypervisor's counters (HC_GET_STAT, docs/hypercalls.md: allowed at CPL 3) before and after
 * the loop, outside the timed part, and prints the differences that are not zero:
 *   BENCHEXITS name=linux_fork exits=E vmcall=.. exception_nmi=.. shadow_faults=..
 * and, for linux_boot, the counters as they are when /init starts (the boot's exits).
 * (several lines of at most ~190 characters: the hypervisor cuts guest lines at 200). The
 * reads themselves are VMCALL exits: exactly K of them fall between the two reads of each
 * counter (K = counters read per batch), and they are subtracted from `exits` and `vmcall`.
 *
 * The kernel command line selects the size: `lbench=quick` for small N. `lbench_only=a,b`
 * runs only those workloads; it also runs the diagnostic ones (pipe1, yield, null: the parts
 * of a pipe round trip), which never run by default. At the end it prints "RESULT ok" and powers the machine off.
 * `lbench --exit` exits at once: the program that the exec workload runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define PAGE 4096

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* ---- output: one write per line, so lines from several processes never interleave ---- */

static void out(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(1, buf, (size_t)n) < 0)
		_exit(3);
}

static void fail(const char *what)
{
	out("RESULT error %s: %s", what, strerror(errno));
	tcdrain(1);
	sync();
	reboot(RB_POWER_OFF);
	_exit(1);
}

/* ---- the hypervisor's counters (docs/hypercalls.md) ---- */

#define HC_GET_STAT 5
#define HV_EPERM 1
/* Statistic indices: the MMU events, and 0x100 + basic exit reason for per-reason counts. */
enum { STAT_SHADOW_FAULTS = 0, STAT_GUEST_FAULTS = 1, STAT_MMIO_FAST = 2, STAT_SP_CREATED = 11,
       STAT_EXITS = 13, STAT_INTR_INJECTED = 18, STAT_TRACKED_WRITES = 19,
       STAT_RAM_EMULATIONS = 20, STAT_PTE_UPDATES = 21, STAT_FLOOD_ZAPS = 22,
       STAT_PREFETCHED = 23, STAT_EXIT_TICKS = 24, STAT_EXIT_REASON = 0x100 };
#define EXIT_REASONS 66 /* basic exit reasons 0..64 and the hypervisor's "other" slot (65) */
#define EXIT_VMCALL 18

/* The basic exit reasons (Intel SDM Vol. 3 Appendix C) by the names of the hypervisor's
 * summary line (exits.NAME), for the ones a Linux guest makes; others print as rNN. */
static const char *const reason_names[EXIT_REASONS] = {
	[0] = "exception_nmi", [1] = "external_interrupt", [2] = "triple_fault",
	[7] = "interrupt_window", [8] = "nmi_window", [10] = "cpuid", [12] = "hlt",
	[14] = "invlpg", [16] = "rdtsc", [18] = "vmcall", [28] = "cr_access", [29] = "dr_access",
	[30] = "io", [31] = "rdmsr", [32] = "wrmsr", [36] = "mwait", [37] = "monitor_trap",
	[39] = "monitor", [40] = "pause", [44] = "apic_access", [45] = "virtualized_eoi",
	[52] = "preemption_timer", [54] = "wbinvd", [55] = "xsetbv", [56] = "apic_write",
	[65] = "other",
};

struct counter {
	const char *name;
	uint64_t index;
};
static const struct counter mmu_counters[] = {
	{ "shadow_faults", STAT_SHADOW_FAULTS }, { "guest_faults", STAT_GUEST_FAULTS },
	{ "ram_emulations", STAT_RAM_EMULATIONS }, { "tracked_writes", STAT_TRACKED_WRITES },
	{ "sp_created", STAT_SP_CREATED }, { "intr_injected", STAT_INTR_INJECTED },
	{ "mmio_fast", STAT_MMIO_FAST }, { "pte_updates", STAT_PTE_UPDATES },
	{ "flood_zaps", STAT_FLOOD_ZAPS }, { "prefetched", STAT_PREFETCHED },
	{ "exit_ticks", STAT_EXIT_TICKS },
};
#define NMMU (sizeof(mmu_counters) / sizeof(mmu_counters[0]))
#define NREADS (1 + EXIT_REASONS + NMMU) /* counters read per batch */

struct snapshot {
	int64_t total, reason[EXIT_REASONS], mmu[NMMU];
};

static int hv_present; /* 1: Slotvisor and its statistics are readable from here */

static inline int64_t hv_stat(uint64_t index)
{
	int64_t ret;
	__asm__ volatile("vmcall" : "=a"(ret) : "a"((uint64_t)HC_GET_STAT), "b"(index) : "memory");
	return ret;
}

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(0));
}

/* No VMCALL on a machine without Slotvisor: there it is #UD, or another hypervisor's ABI. */
static void detect_hypervisor(void)
{
	uint32_t r[4];
	cpuid(1, r);
	if (!(r[2] & (1u << 31))) {
		out("BENCHINFO hypervisor=none");
		return;
	}
	cpuid(0x40000000, r);
	char sig[13] = { 0 };
	memcpy(sig, &r[1], 4);
	memcpy(sig + 4, &r[2], 4);
	memcpy(sig + 8, &r[3], 4);
	if (strcmp(sig, "Slotvisor") != 0) {
		out("BENCHINFO hypervisor=other");
		return;
	}
	int64_t v = hv_stat(STAT_EXITS);
	if (v < 0) {
		out("BENCHINFO hypervisor=slotvisor counters=refused(%lld)", (long long)v);
		return;
	}
	hv_present = 1;
	out("BENCHINFO hypervisor=slotvisor counters=yes");
}

static void snap(struct snapshot *s)
{
	s->total = hv_stat(STAT_EXITS);
	for (int r = 0; r < EXIT_REASONS; r++)
		s->reason[r] = hv_stat(STAT_EXIT_REASON + (uint64_t)r);
	for (unsigned i = 0; i < NMMU; i++)
		s->mmu[i] = hv_stat(mmu_counters[i].index);
}

/* Appends " key=value" to line; prints the line first when it would pass ~190 characters. */
static void add_kv(char *line, size_t *len, const char *prefix, const char *key, long long v)
{
	char kv[64];
	int n = snprintf(kv, sizeof(kv), " %s=%lld", key, v);
	if (*len + (size_t)n > 190) {
		out("%s", line);
		*len = (size_t)snprintf(line, 200, "%s", prefix);
	}
	memcpy(line + *len, kv, (size_t)n + 1);
	*len += (size_t)n;
}

/* b - a, less `reads` VMCALLs (the counter reads that fall between a and b). */
static void print_exits(const char *name, const struct snapshot *a, const struct snapshot *b,
			long long reads)
{
	char prefix[64], line[256], key[16];
	snprintf(prefix, sizeof(prefix), "BENCHEXITS name=%s", name);
	size_t len = (size_t)snprintf(line, sizeof(line), "%s", prefix);
	add_kv(line, &len, prefix, "exits", (long long)(b->total - a->total - reads));
	for (int r = 0; r < EXIT_REASONS; r++) {
		long long d = b->reason[r] - a->reason[r] - (r == EXIT_VMCALL ? reads : 0);
		if (!d)
			continue;
		if (reason_names[r])
			add_kv(line, &len, prefix, reason_names[r], d);
		else {
			snprintf(key, sizeof(key), "r%d", r);
			add_kv(line, &len, prefix, key, d);
		}
	}
	for (unsigned i = 0; i < NMMU; i++)
		if (b->mmu[i] != a->mmu[i])
			add_kv(line, &len, prefix, mmu_counters[i].name,
			       (long long)(b->mmu[i] - a->mmu[i]));
	out("%s", line);
}

/* The number after key in a /proc file; -1 when unreadable. */
static long long proc_counter(const char *path, const char *key)
{
	char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	char *p = strstr(buf, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* The local APIC timer interrupts so far (/proc/interrupts, "LOC:"): the kernel's timer work
 * inside a loop differs between the platforms (docs/bench.md), so it is printed with each
 * figure. */
static long long timer_irqs(void)
{
	return proc_counter("/proc/interrupts", "LOC:");
}

/* Context switches so far (/proc/stat "ctxt"): the scheduler's choices depend on time, which
 * the guest's TSC makes run at different rates on the two platforms. */
static long long ctxt_switches(void)
{
	return proc_counter("/proc/stat", "\nctxt ");
}

/* What the kernel made of the CPU: /proc/cpuinfo's "flags" and "bugs" lines of the first CPU
 * and /sys/devices/system/cpu/vulnerabilities/, as CPUINFO lines. The platforms must
 * show the same CPU for their figures to compare; scripts/bench.py reports the differences. */
static void print_cpuinfo(void)
{
	static char buf[16384];
	int fd = open("/proc/cpuinfo", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = 0;
	static const char *const keys[] = { "flags", "bugs" };
	for (unsigned k = 0; k < 2; k++) {
		char *p = strstr(buf, keys[k]);
		char *colon = p ? strchr(p, ':') : NULL;
		if (!colon)
			continue;
		static char copy[4096];
		char *line = copy, *end = strchr(colon, '\n');
		snprintf(copy, sizeof(copy), "%.*s", end ? (int)(end - colon - 2) : 0, colon + 2);
		/* In lines of at most ~100 characters (the hypervisor's console cuts longer guest
		 * lines): CPUINFO flags=a b c, then CPUINFO flags+=d e f. */
		for (int first = 1; *line; first = 0) {
			int len = (int)strlen(line);
			if (len > 100) {
				len = 100;
				while (len > 0 && line[len] != ' ')
					len--;
				if (!len)
					len = 100;
			}
			out("CPUINFO %s%s=%.*s", keys[k], first ? "" : "+", len, line);
			line += len;
			while (*line == ' ')
				line++;
		}
	}
	if (mount("sysfs", "/sys", "sysfs", 0, NULL) && errno != EBUSY)
		return;
	static const char *const vulns[] = { "spectre_v1", "spectre_v2", "meltdown", "mds",
		"retbleed", "mmio_stale_data", "srbds", "tsx_async_abort", "itlb_multihit",
		"l1tf", "spec_store_bypass", "gather_data_sampling", "indirect_target_selection",
		"reg_file_data_sampling" };
	for (unsigned i = 0; i < sizeof(vulns) / sizeof(vulns[0]); i++) {
		char path[96], line[256];
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/vulnerabilities/%s", vulns[i]);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, line, sizeof(line) - 1);
		close(fd);
		if (n <= 0)
			continue;
		line[n] = 0;
		line[strcspn(line, "\n")] = 0;
		for (char *c = line; *c; c++)
			if (*c == ' ')
				*c = '_';
		out("CPUINFO vuln.%s=%s", vulns[i], line);
	}
}

/* ---- the workloads: each returns the ticks of its timed part ---- */

static char *self; /* this program's path, for the exec workload */

static void wait_child(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail("waitpid");
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		errno = 0;
		fail("child did not exit with 0");
	}
}

/* fork, the child _exits at once, the parent waits: page tables copied and torn down. */
static uint64_t w_fork(long n, void *unused)
{
	(void)unused;
	uint64_t t0 = rdtsc();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0)
			_exit(0);
		wait_child(pid);
	}
	return rdtsc() - t0;
}

/* fork, the child execs this static program with --exit, the parent waits. */
static uint64_t w_exec(long n, void *unused)
{
	(void)unused;
	char *const argv[] = { "lbench", "--exit", NULL };
	char *const envp[] = { NULL };
	uint64_t t0 = rdtsc();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0) {
			execve(self, argv, envp);
			_exit(127);
		}
		wait_child(pid);
	}
	return rdtsc() - t0;
}

#define ANON_PAGES 256 /* 1 MiB per round */

/* mmap 1 MiB of fresh anonymous memory, write one word per page, munmap: 256 page faults,
 * each a zeroed page; munmap tears the PTEs down. One op is one round. */
static uint64_t w_anon(long n, void *unused)
{
	(void)unused;
	uint64_t t0 = rdtsc();
	for (long i = 0; i < n; i++) {
		volatile char *p = mmap(NULL, ANON_PAGES * PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			fail("mmap");
		for (int j = 0; j < ANON_PAGES; j++)
			p[j * PAGE] = (char)j;
		if (munmap((void *)p, ANON_PAGES * PAGE))
			fail("munmap");
	}
	return rdtsc() - t0;
}

#define COW_PAGES 64

/* The parent writes 64 pages, forks; the child times its writes to each of them (64
 * copy-on-write faults) and reports the ticks through a shared page. The figure is the
 * children's write loops only, not fork and exit: one op is one round of 64 faults. Under
 * the hypervisor the child also reads the counters around its loop (cow_exits). */
struct cow_share {
	uint64_t ticks;
	struct snapshot before, after, sum_delta;
};

static uint64_t w_cow(long n, void *arg)
{
	struct cow_share *sh = arg;
	char *p = mmap(NULL, COW_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED)
		fail("mmap");
	memset(&sh->sum_delta, 0, sizeof(sh->sum_delta));
	uint64_t sum = 0;
	for (long i = 0; i < n; i++) {
		for (int j = 0; j < COW_PAGES; j++)
			p[j * PAGE] = (char)(i + j);
		pid_t pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0) {
			if (hv_present)
				snap(&sh->before);
			uint64_t t0 = rdtsc();
			for (int j = 0; j < COW_PAGES; j++)
				((volatile char *)p)[j * PAGE + 64] = (char)j;
			sh->ticks = rdtsc() - t0;
			if (hv_present)
				snap(&sh->after);
			_exit(0);
		}
		wait_child(pid);
		sum += sh->ticks;
		if (hv_present) {
			struct snapshot *d = &sh->sum_delta;
			d->total += sh->after.total - sh->before.total;
			for (int r = 0; r < EXIT_REASONS; r++)
				d->reason[r] += sh->after.reason[r] - sh->before.reason[r];
			for (unsigned k = 0; k < NMMU; k++)
				d->mmu[k] += sh->after.mmu[k] - sh->before.mmu[k];
		}
	}
	munmap(p, COW_PAGES * PAGE);
	return sum;
}

/* Two processes, two pipes: one byte there and back is one op (two context switches). */
static uint64_t w_pipe(long n, void *unused)
{
	(void)unused;
	int ab[2], ba[2];
	char c = 0;
	if (pipe(ab) || pipe(ba))
		fail("pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		for (long i = 0; i < n; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(2);
		_exit(0);
	}
	uint64_t t0 = rdtsc();
	for (long i = 0; i < n; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			fail("pipe ping-pong");
	uint64_t t = rdtsc() - t0;
	wait_child(pid);
	close(ab[0]), close(ab[1]), close(ba[0]), close(ba[1]);
	return t;
}

/* Diagnostic parts of the pipe round trip (run only when lbench_only names them): the
 * same two system calls in one process with no context switch (one op: write one byte into
 * a pipe and read it back), a sched_yield ping-pong between two processes (one op: one yield
 * by each, two context switches, no pipe), and the cheapest system call (getppid). */
static uint64_t w_pipe1(long n, void *unused)
{
	(void)unused;
	int p[2];
	char c = 0;
	if (pipe(p))
		fail("pipe");
	uint64_t t0 = rdtsc();
	for (long i = 0; i < n; i++)
		if (write(p[1], &c, 1) != 1 || read(p[0], &c, 1) != 1)
			fail("pipe write/read");
	uint64_t t = rdtsc() - t0;
	close(p[0]), close(p[1]);
	return t;
}

static uint64_t w_yield(long n, void *unused)
{
	(void)unused;
	pid_t pid = fork();
	if (pid < 0)
		fail("fork");
	if (pid == 0) {
		for (long i = 0; i < n + 1; i++)
			sched_yield();
		_exit(0);
	}
	uint64_t t0 = rdtsc();
	for (long i = 0; i < n; i++)
		sched_yield();
	uint64_t t = rdtsc() - t0;
	wait_child(pid);
	return t;
}

static uint64_t w_null(long n, void *unused)
{
	(void)unused;
	uint64_t t0 = rdtsc();
	for (long i = 0; i < n; i++)
		getppid();
	return rdtsc() - t0;
}

static volatile uint64_t compute_sink;

/* xorshift64 and a 1 KiB table update per round: no system calls, no page faults after the
 * first round. Only the timer interrupts make exits here. */
static uint64_t w_compute(long n, void *unused)
{
	(void)unused;
	static uint32_t table[256];
	uint64_t x = 88172645463325252ull;
	uint64_t t0 = rdtsc();
	for (long i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		table[x & 255] += (uint32_t)x;
	}
	uint64_t t = rdtsc() - t0;
	compute_sink = x + table[7];
	return t;
}

struct workload {
	const char *name;
	uint64_t (*fn)(long n, void *arg);
	long n_full, n_quick;
	int diag; /* run only when lbench_only names it */
};
static const struct workload workloads[] = {
	{ "linux_fork", w_fork, 500, 20, 0 },   { "linux_exec", w_exec, 200, 10, 0 },
	{ "linux_anon", w_anon, 200, 10, 0 },   { "linux_cow", w_cow, 300, 10, 0 },
	{ "linux_pipe", w_pipe, 5000, 200, 0 }, { "linux_compute", w_compute, 20000000, 1000000, 0 },
	{ "linux_pipe1", w_pipe1, 5000, 200, 1 }, { "linux_yield", w_yield, 5000, 200, 1 },
	{ "linux_null", w_null, 20000, 1000, 1 },
};

/* ---- /init ---- */

static char cmdline[1024];

/* The value of key=value on the kernel command line; the last one wins, as in the kernel
 * (scripts/bench.py's --linux-kcmd-hv/--linux-kcmd-bare append after its own). */
static const char *param(const char *key)
{
	size_t k = strlen(key);
	const char *v = NULL;
	for (char *p = cmdline; (p = strstr(p, key)) != NULL; p += k)
		if ((p == cmdline || p[-1] == ' ') && p[k] == '=')
			v = p + k + 1;
	return v;
}

static int selected(const struct workload *w)
{
	const char *name = w->name;
	const char *only = param("lbench_only");
	if (!only)
		return !w->diag;
	const char *short_name = name + strlen("linux_");
	size_t k = strlen(short_name);
	for (const char *p = only; *p && *p != ' ';) {
		if (!strncmp(p, short_name, k) && (p[k] == ',' || p[k] == ' ' || !p[k]))
			return 1;
		while (*p && *p != ',' && *p != ' ')
			p++;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void run(const struct workload *w, int quick)
{
	static struct cow_share *share;
	if (!share) {
		share = mmap(NULL, sizeof(*share), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			     -1, 0);
		if (share == MAP_FAILED)
			fail("mmap shared");
	}
	long n = quick ? w->n_quick : w->n_full;
	struct snapshot a, b;
	w->fn(quick ? 1 : 2, share); /* warm-up: the code, the libc paths, the caches of slabs */
	long long irq0 = timer_irqs(), ctxt0 = ctxt_switches();
	if (hv_present)
		snap(&a);
	uint64_t t = w->fn(n, share);
	if (hv_present)
		snap(&b);
	long long irqs = timer_irqs() - irq0, ctxt = ctxt_switches() - ctxt0;
	out("BENCH name=%s n=%ld total=%llu per_op=%.2f timer_irqs=%lld ctxt=%lld", w->name, n,
	    (unsigned long long)t, (double)t / (double)n, irqs, ctxt);
	if (!hv_present)
		return;
	if (w->fn == w_cow) { /* the children's write loops, summed; NREADS per round */
		struct snapshot zero = { 0 };
		print_exits("linux_cow", &zero, &share->sum_delta, (long long)NREADS * n);
		return;
	}
	print_exits(w->name, &a, &b, NREADS);
}

int main(int argc, char **argv)
{
	uint64_t start = rdtsc(); /* the first thing userland does */
	if (argc > 1 && !strcmp(argv[1], "--exit"))
		return 0;
	self = argv[0][0] == '/' ? argv[0] : "/init";
	if (getpid() != 1) {
		fprintf(stderr, "lbench: meant to run as /init of a benchmark initramfs "
			"(scripts/bench.py); run as PID %d\n", getpid());
	}
	if (mount("proc", "/proc", "proc", 0, NULL) && errno != EBUSY)
		fail("mount /proc");
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t len = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : -1;
	if (len < 0)
		fail("read /proc/cmdline");
	cmdline[len] = 0;
	if (len && cmdline[len - 1] == '\n')
		cmdline[len - 1] = 0;
	close(fd);
	const char *mode = param("lbench");
	int quick = mode && !strncmp(mode, "quick", 5);
	out("BENCHSTART guest=lbench mode=%s", quick ? "quick" : "full");
	print_cpuinfo();
	out("BENCH name=linux_boot n=1 total=%llu per_op=%llu", (unsigned long long)start,
	    (unsigned long long)start);
	detect_hypervisor();
	if (hv_present) { /* the boot's exits: the counters as /init finds them */
		struct snapshot zero = { 0 }, now;
		snap(&now);
		print_exits("linux_boot", &zero, &now, 0);
	}
	for (unsigned i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++)
		if (selected(&workloads[i]))
			run(&workloads[i], quick);
	out("RESULT ok");
	tcdrain(1);
	sync();
	reboot(RB_POWER_OFF);
	fail("reboot");
	return 1;
}
