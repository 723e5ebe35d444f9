/* monitor.c - the serial-console monitor. Ctrl-A then c on the hypervisor's console pauses
 * the guest and opens a command line (docs/debugging.md); guest console output is held while
 * it is open and released when the guest continues. Also the console input filter: every byte
 * typed goes to the guest's UART unless it is part of the escape. */
#include "debug/monitor.h"
#include "vmx/exit.h"
#include "vmx/trace.h"
#include "debug/vmcheck.h"
#include "vmx/vmx.h"
#include "vmx/vmx_asm.h"
#include "vmx/insn.h"
#include "devices/lapic.h"
#include "devices/pio.h"
#include "drivers/uart.h"
#include "kernel/fmt.h"
#include "kernel/lib.h"
#include "kernel/log.h"
#include "arch/asm.h"
#include "mmu/gwalk.h"
#include "mmu/mmu.h"
#include "mmu/spte.h"

#define CTRL_A 0x01
#define LINE_MAX 120

static struct {
	bool escape;       /* Ctrl-A seen: the next byte is a command to the filter */
	bool requested;    /* open the monitor before the next entry */
	bool stepping;     /* "step": one instruction, then back to the monitor */
	bool bp_set;
	gva_t bp_addr;
	u8 bp_orig;
	char line[LINE_MAX + 1], last[LINE_MAX + 1];
	int len;
} mon;

static void out(const char *fmt, ...) __printf(1, 2);
static void out(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_puts("[mon] ");
	console_puts(buf);
	console_puts("\n");
}

/* ---- the console input filter ---- */

static void filter_byte(u8 c)
{
	if (mon.escape) {
		mon.escape = false;
		if (c == 'c')
			mon.requested = true;
		else if (c == CTRL_A)
			vuart_push_input(CTRL_A);
		else if (c == 'h')
			console_puts("[mon] escapes: Ctrl-A c monitor, Ctrl-A Ctrl-A sends Ctrl-A, "
				     "Ctrl-A h this help\n");
		return;
	}
	if (c == CTRL_A) {
		mon.escape = true;
		return;
	}
	vuart_push_input(c);
}

bool monitor_requested(void)
{
	return mon.requested;
}

void console_input_poll(void)
{
	int c;
	for (int n = 0; n < 64 && !mon.requested && (c = uart_getc()) >= 0; n++)
		filter_byte((u8)c);
}

/* ---- guest memory ---- */

static bool read_virt(gva_t gva, void *buf, u64 len)
{
	return guest_virt_access(gva, buf, len, false) == len;
}

static bool write_virt_byte(gva_t gva, u8 b)
{
	return guest_virt_access(gva, &b, 1, true) == 1;
}

/* ---- commands ---- */

static void cmd_regs(struct vcpu *v)
{
	static const char *const n[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					   "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15" };
	for (int i = 0; i < 16; i += 4)
		out("%-3s=%016llx %-3s=%016llx %-3s=%016llx %-3s=%016llx", n[i],
		    vcpu_get_gpr(v, i), n[i + 1], vcpu_get_gpr(v, i + 1), n[i + 2],
		    vcpu_get_gpr(v, i + 2), n[i + 3], vcpu_get_gpr(v, i + 3));
	out("rip=%016llx rflags=%016llx", vmcs_read(GUEST_RIP), vmcs_read(GUEST_RFLAGS));
	static const char *const seg[] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };
	for (u32 i = 0; i < 8; i++)
		out("%-4s sel=%04llx base=%016llx limit=%08llx ar=%05llx", seg[i],
		    vmcs_read(GUEST_ES_SELECTOR + i * 2), vmcs_read(GUEST_ES_BASE + i * 2),
		    vmcs_read(GUEST_ES_LIMIT + i * 2), vmcs_read(GUEST_ES_AR + i * 2));
	out("cr0=%08llx cr2=%016llx cr3=%016llx cr4=%08llx cr8=%llx (as the guest sees them)",
	    v->cr0, v->regs.cr2, v->cr3, v->cr4, lapic_read_cr8());
	out("real cr0=%08llx cr3=%016llx cr4=%08llx; efer=%llx (guest) dr7=%llx",
	    vmcs_read(GUEST_CR0), vmcs_read(GUEST_CR3), vmcs_read(GUEST_CR4), v->efer,
	    vmcs_read(GUEST_DR7));
	u64 dr0, dr1, dr2, dr3, dr6;
	/* DR0-DR3 and DR6 are not switched by VMX: the CPU's are the guest's (the host never uses
	 * them, except the GDB stub's hardware breakpoints). DR7 lives in the VMCS. */
	__asm__ volatile("mov %%dr0, %0; mov %%dr1, %1; mov %%dr2, %2; mov %%dr3, %3; mov %%dr6, %4"
			 : "=r"(dr0), "=r"(dr1), "=r"(dr2), "=r"(dr3), "=r"(dr6));
	out("dr0=%llx dr1=%llx dr2=%llx dr3=%llx dr6=%llx dr7=%llx", dr0, dr1, dr2, dr3, dr6,
	    vmcs_read(GUEST_DR7));
	out("gdtr=%016llx/%llx idtr=%016llx/%llx", vmcs_read(GUEST_GDTR_BASE),
	    vmcs_read(GUEST_GDTR_LIMIT), vmcs_read(GUEST_IDTR_BASE), vmcs_read(GUEST_IDTR_LIMIT));
}

struct flag_name {
	u64 bit;
	const char *name;
};

static const struct flag_name pin_flags[] = {
	{ PIN_EXT_INTR_EXITING, "ext-intr-exiting" }, { PIN_NMI_EXITING, "nmi-exiting" },
	{ PIN_VIRTUAL_NMIS, "virtual-nmis" }, { PIN_PREEMPTION_TIMER, "preemption-timer" }, { 0, 0 },
};
static const struct flag_name proc_flags[] = {
	{ CPU_INTR_WINDOW_EXITING, "intr-window" }, { CPU_USE_TSC_OFFSETTING, "tsc-offset" },
	{ CPU_HLT_EXITING, "hlt" }, { CPU_INVLPG_EXITING, "invlpg" }, { CPU_MWAIT_EXITING, "mwait" },
	{ CPU_RDPMC_EXITING, "rdpmc" }, { CPU_RDTSC_EXITING, "rdtsc" },
	{ CPU_CR3_LOAD_EXITING, "cr3-load" }, { CPU_CR3_STORE_EXITING, "cr3-store" },
	{ CPU_CR8_LOAD_EXITING, "cr8-load" }, { CPU_CR8_STORE_EXITING, "cr8-store" },
	{ CPU_TPR_SHADOW, "tpr-shadow" }, { CPU_NMI_WINDOW_EXITING, "nmi-window" },
	{ CPU_MOV_DR_EXITING, "mov-dr" }, { CPU_UNCOND_IO_EXITING, "uncond-io" },
	{ CPU_USE_IO_BITMAPS, "io-bitmaps" }, { CPU_MONITOR_TRAP_FLAG, "mtf" },
	{ CPU_USE_MSR_BITMAPS, "msr-bitmaps" }, { CPU_MONITOR_EXITING, "monitor" },
	{ CPU_PAUSE_EXITING, "pause" }, { CPU_ACTIVATE_SECONDARY, "secondary" }, { 0, 0 },
};
static const struct flag_name proc2_flags[] = {
	{ CPU2_VIRTUALIZE_APIC_ACCESSES, "apic-accesses" }, { CPU2_ENABLE_EPT, "ept" },
	{ CPU2_ENABLE_RDTSCP, "rdtscp" }, { CPU2_VIRTUALIZE_X2APIC, "x2apic-mode" },
	{ CPU2_ENABLE_VPID, "vpid" }, { CPU2_UNRESTRICTED_GUEST, "unrestricted" },
	{ CPU2_APIC_REGISTER_VIRT, "apic-register-virt" },
	{ CPU2_VIRTUAL_INTR_DELIVERY, "virtual-intr-delivery" }, { 0, 0 },
};
static const struct flag_name exit_flags[] = {
	{ EXIT_SAVE_DEBUG_CONTROLS, "save-debug" }, { EXIT_HOST_ADDR_SPACE_SIZE, "host-64bit" },
	{ EXIT_ACK_INTR_ON_EXIT, "ack-intr" }, { EXIT_SAVE_IA32_PAT, "save-pat" },
	{ EXIT_LOAD_IA32_PAT, "load-pat" }, { EXIT_SAVE_IA32_EFER, "save-efer" },
	{ EXIT_LOAD_IA32_EFER, "load-efer" }, { 0, 0 },
};
static const struct flag_name entry_flags[] = {
	{ ENTRY_LOAD_DEBUG_CONTROLS, "load-debug" }, { ENTRY_IA32E_MODE_GUEST, "ia32e-guest" },
	{ ENTRY_LOAD_IA32_PAT, "load-pat" }, { ENTRY_LOAD_IA32_EFER, "load-efer" }, { 0, 0 },
};

static void decode_flags(char *buf, size_t n, u64 v, const struct flag_name *f)
{
	size_t len = 0;
	buf[0] = 0;
	for (; f->name; f++)
		if (v & f->bit)
			len += (size_t)fmt_snprintf(buf + len, n - MIN(len, n), " %s", f->name);
}

static void decode_intr(char *buf, size_t n, u64 v)
{
	static const char *const types[] = { "ext-intr", "reserved", "nmi", "hw-exception",
					     "sw-intr", "priv-sw-exception", "sw-exception",
					     "other" };
	if (!(v & INTR_INFO_VALID)) {
		fmt_snprintf(buf, n, " (not valid)");
		return;
	}
	fmt_snprintf(buf, n, " vector=%llu type=%s%s", v & 0xff, types[(v >> 8) & 7],
		     (v & INTR_INFO_DELIVER_CODE) ? " error-code" : "");
}

static void decode_ar(char *buf, size_t n, u64 ar)
{
	if (ar & AR_UNUSABLE) {
		fmt_snprintf(buf, n, " unusable");
		return;
	}
	fmt_snprintf(buf, n, " type=%llu s=%llu dpl=%llu p=%llu l=%llu db=%llu g=%llu", AR_TYPE(ar),
		     (u64)!!(ar & AR_S), AR_DPL(ar), (u64)!!(ar & AR_P), (u64)!!(ar & AR_L),
		     (u64)!!(ar & AR_DB), (u64)!!(ar & AR_G));
}

static void decode_field(u32 f, u64 v, char *buf, size_t n)
{
	buf[0] = 0;
	switch (f) {
	case PIN_BASED_VM_EXEC_CONTROL: decode_flags(buf, n, v, pin_flags); break;
	case CPU_BASED_VM_EXEC_CONTROL: decode_flags(buf, n, v, proc_flags); break;
	case SECONDARY_VM_EXEC_CONTROL: decode_flags(buf, n, v, proc2_flags); break;
	case GUEST_INTR_STATUS: fmt_snprintf(buf, n, " svi=%#llx rvi=%#llx", v >> 8, v & 0xff); break;
	case VM_EXIT_CONTROLS: decode_flags(buf, n, v, exit_flags); break;
	case VM_ENTRY_CONTROLS: decode_flags(buf, n, v, entry_flags); break;
	case VM_ENTRY_INTR_INFO: case VM_EXIT_INTR_INFO: case IDT_VECTORING_INFO:
		decode_intr(buf, n, v);
		break;
	case VM_EXIT_REASON:
		fmt_snprintf(buf, n, " %s%s", vmx_exit_reason_name((u32)v & 0xffff),
			     (v & EXIT_REASON_FAILED_ENTRY) ? " (failed entry)" : "");
		break;
	case VM_INSTRUCTION_ERROR:
		fmt_snprintf(buf, n, " %s", v ? vmx_instruction_error_name((u32)v) : "none");
		break;
	default:
		if (f >= GUEST_ES_AR && f <= GUEST_TR_AR)
			decode_ar(buf, n, v);
		break;
	}
}

static void cmd_vmcs(void)
{
	u32 f;
	const char *name;
	for (u32 i = 0; vmcheck_field_at(i, &f, &name); i++) {
		u64 v;
		char dec[200];
		if (f >= VMCHECK_F_BITS)
			continue;
		if (vmread_checked(f, &v)) {
			out("%-30s %04x (not supported by this CPU)", name, f);
			continue;
		}
		decode_field(f, v, dec, sizeof(dec));
		out("%-30s %04x = %#llx%s", name, f, v, dec);
	}
}

static bool parse_num(const char *s, u64 *v)
{
	u64 x = 0;
	int base = 16, digits = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s && *s != ' '; s++, digits++) {
		int d = (*s >= '0' && *s <= '9') ? *s - '0' : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
			: (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;
		if (d < 0)
			return false;
		x = x * (u64)base + (u64)d;
	}
	*v = x;
	return digits > 0;
}

/* Splits "cmd a b c" into up to 4 words (in place). */
static int words(char *line, char *w[4])
{
	int n = 0;
	for (char *p = line; *p && n < 4;) {
		while (*p == ' ')
			*p++ = 0;
		if (!*p)
			break;
		w[n++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

static void hexdump(u64 addr, const u8 *b, u64 len)
{
	for (u64 i = 0; i < len; i += 16) {
		char buf[80];
		int n = fmt_snprintf(buf, sizeof(buf), "%016llx:", addr + i);
		for (u64 j = i; j < i + 16 && j < len; j++)
			n += fmt_snprintf(buf + n, sizeof(buf) - (size_t)n, " %02x", b[j]);
		out("%s", buf);
	}
}

/* mem v|p ADDR [LEN]: through the guest's tables (v) or by guest-physical address (p). */
static void cmd_mem(char *kind, char *addr, char *len)
{
	u64 a, n = 64;
	u8 buf[256];
	if (!kind || !addr || (kind[0] != 'v' && kind[0] != 'p') || !parse_num(addr, &a) ||
	    (len && !parse_num(len, &n))) {
		out("usage: mem v GVA [LEN] | mem p GPA [LEN]   (hex; LEN <= 256)");
		return;
	}
	n = MIN(n, sizeof(buf));
	bool ok = kind[0] == 'v' ? read_virt(a, buf, n) : guest_phys_read(a, buf, n);
	if (!ok) {
		out("%s %#llx: not mapped to guest RAM", kind[0] == 'v' ? "gva" : "gpa", a);
		return;
	}
	hexdump(a, buf, n);
}

static void show_spte(int level, u64 e)
{
	if (is_trap_spte(e)) {
		out("  spte L%d %016llx not present: TRAP, not built yet (an access exits)", level, e);
	} else if (!is_shadow_present(e)) {
		out("  spte L%d %016llx not present%s", level, e, mmu_pf_bypass_active() ?
		    ": zero, the guest's entry is not present (its fault here: no exit)" : "");
	} else if (is_mmio_spte(e)) {
		out("  spte L%d %016llx MMIO gfn=%#llx gen=%llu (%s, memslots gen %llu) W=%llu U=%llu",
		    level, e, mmio_spte_gfn(e), mmio_spte_gen(e),
		    mmu_mmio_spte_current(e) ? "current" : "stale", mmu_generation(),
		    (e >> 1) & 1, (e >> 2) & 1);
	} else {
		out("  spte L%d %016llx hpa=%#llx P RW=%llu US=%llu XD=%llu", level, e, spte_hpa(e),
		    (e >> 1) & 1, (e >> 2) & 1, e >> 63);
	}
}

static void cmd_walk(char *addr)
{
	u64 gva, sptes[4];
	if (!addr || !parse_num(addr, &gva)) {
		out("usage: walk GVA (hex)");
		return;
	}
	struct gwalk_result w;
	u64 gpa;
	u32 ec;
	bool ok = mmu_walk_debug(gva, &w);
	for (int i = 0; i < w.levels; i++)
		out("  guest L%d entry at gpa %#llx = %016llx", w.levels - i, w.pte_gpa[i], w.pte[i]);
	if (ok)
		out("  -> gpa %#llx page %#llx W=%d U=%d X=%d D=%d", w.gpa, w.page_size, w.writable,
		    w.user, w.exec, w.dirty);
	else if (!mmu_translate(gva, MMU_ACC_AC, &gpa, &ec)) /* AC: user pages too under SMAP */
		out("  -> guest page fault, error code %#x", ec);
	int n = mmu_shadow_walk(gva, sptes);
	out("shadow (current root, top first):");
	for (int i = 0; i < n; i++)
		show_spte(n - i, sptes[i]);
}

static void cmd_slots(void)
{
	out("memslots generation %llu (%s)", mmu_generation(),
	    (mmu_generation() & MEMSLOT_GEN_UPDATE_IN_PROGRESS) ? "update in progress" : "stable");
	for (int i = 0; i < guest_memslots.n; i++) {
		const struct memslot *m = &guest_memslots.slots[i];
		out("  slot %u gpa %#llx-%#llx (%llu pages) host %#llx%s", m->id,
		    m->base_gfn << PAGE_SHIFT, (m->base_gfn + m->npages) << PAGE_SHIFT, m->npages,
		    m->hpa, (m->flags & MEMSLOT_F_READONLY) ? " read-only" : "");
	}
}

static void cmd_stats(struct vcpu *v)
{
	const struct mmu_stats *s = &mmu_stats;
	out("exits=%llu intr_injected=%llu hlt_waits=%llu", v->exits_total, v->intr_injected,
	    v->hlt_waits);
	out("apicv=%s x2apic_virtualized=%s stale_vectoring_fixed=%llu", v->apicv ? "on" : "off",
	    v->apicv_x2 ? "yes" : "no", v->apicv_stale_vectoring);
	for (u32 r = 0; r <= EXIT_REASON_MAX; r++)
		if (v->exits[r])
			out("  exits.%s=%llu avg_cost=%llu", r == EXIT_REASON_MAX ? "other"
			    : vmx_exit_reason_name(r), v->exits[r],
			    trace_cost_of(r)->count ? trace_cost_of(r)->total / trace_cost_of(r)->count : 0);
	out("mmu shadow_faults=%llu guest_faults=%llu mmio_fast=%llu mmio_slow=%llu mmio_sptes=%llu",
	    s->shadow_faults, s->guest_faults, s->mmio_fast, s->mmio_slow, s->mmio_sptes);
	out("mmu memslot_changes=%llu generation=%llu gen_wraps=%llu zap_all=%llu "
	    "obsolete_freed=%llu", s->memslot_changes, mmu_generation(), s->gen_wraps, s->zap_all,
	    s->obsolete_freed);
	out("mmu sp_in_use=%llu/%llu sp_created=%llu sp_reused=%llu links=%llu", s->sp_in_use,
	    s->sp_pool, s->sp_created, s->sp_reused, mmu_links_used());
	out("mmu pf_bypass_active=%s notrap_sptes=%llu trap_faults=%llu",
	    mmu_pf_bypass_active() ? "yes" : "no", s->notrap_sptes, s->trap_faults);
}

static void cmd_trace(char *arg)
{
	u64 n = 16;
	if (arg && !parse_num(arg, &n)) {
		out("usage: trace [N] (hex)");
		return;
	}
	out("last %llu exits, latest first: reason qualification rip cost(ticks)", n);
	struct trace_entry e;
	for (u32 i = 0; i < n && trace_get(i, &e); i++)
		out("  %-20s qual=%#llx rip=%#llx cost=%llu", vmx_exit_reason_name(e.reason & 0xffff),
		    e.qual, e.rip, e.cost);
}

static void set_db_bp_intercepts(bool db, bool bp)
{
	u64 bm = vmcs_read(EXCEPTION_BITMAP);
	bm = db ? bm | BIT(VEC_DB) : bm & ~BIT(VEC_DB);
	bm = bp ? bm | BIT(VEC_BP) : bm & ~BIT(VEC_BP);
	vmcs_write(EXCEPTION_BITMAP, bm);
}

static void cmd_break(char *arg)
{
	u64 a;
	if (!arg || !parse_num(arg, &a)) {
		out("usage: break GVA (hex): one-shot int3 breakpoint");
		return;
	}
	if (mon.bp_set)
		write_virt_byte(mon.bp_addr, mon.bp_orig);
	if (!read_virt(a, &mon.bp_orig, 1) || !write_virt_byte(a, 0xcc)) {
		out("gva %#llx: not mapped to guest RAM", a);
		mon.bp_set = false;
		return;
	}
	mon.bp_set = true;
	mon.bp_addr = a;
	set_db_bp_intercepts(mon.stepping, true);
	out("breakpoint at %#llx (one-shot; the monitor opens when it is hit)", a);
}

static void reboot(void)
{
	out("rebooting the machine");
	uart_drain();
	outb(0xcf9, 0x02);
	outb(0xcf9, 0x06); /* PCI reset control: hard reset */
	outb(0x64, 0xfe);  /* keyboard controller: pulse reset */
	struct desc_ptr none = { 0, 0 };
	lidt(&none);
	__asm__ volatile("int3"); /* no IDT: triple fault, the CPU resets */
}

static void help(void)
{
	out("regs | vmcs | mem v GVA [LEN] | mem p GPA [LEN] | walk GVA | slots | stats |");
	out("trace [N] | step | break GVA | continue | reboot | help   (numbers in hex)");
}

/* Returns true when the guest must run again (continue / step). */
static bool run_command(struct vcpu *v, char *line)
{
	char *w[4] = { 0, 0, 0, 0 };
	int n = words(line, w);
	if (!n)
		return false;
	if (!strcmp(w[0], "help") || !strcmp(w[0], "?"))
		help();
	else if (!strcmp(w[0], "regs"))
		cmd_regs(v);
	else if (!strcmp(w[0], "vmcs"))
		cmd_vmcs();
	else if (!strcmp(w[0], "mem"))
		cmd_mem(w[1], w[2], w[3]);
	else if (!strcmp(w[0], "walk"))
		cmd_walk(w[1]);
	else if (!strcmp(w[0], "slots"))
		cmd_slots();
	else if (!strcmp(w[0], "stats"))
		cmd_stats(v);
	else if (!strcmp(w[0], "trace"))
		cmd_trace(w[1]);
	else if (!strcmp(w[0], "break"))
		cmd_break(w[1]);
	else if (!strcmp(w[0], "step")) {
		mon.stepping = true;
		set_db_bp_intercepts(true, mon.bp_set);
		vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) | RFLAGS_TF);
		return true;
	} else if (!strcmp(w[0], "continue") || !strcmp(w[0], "c"))
		return true;
	else if (!strcmp(w[0], "reboot"))
		reboot();
	else
		out("unknown command '%s' (help lists them)", w[0]);
	return false;
}

/* ---- the command line ---- */

/* Reads one line with editing (backspace, Ctrl-U, up-arrow recalls the last line). */
static void read_line(void)
{
	int esc = 0;
	mon.len = 0;
	console_puts("(hv) ");
	for (;;) {
		int c = uart_getc();
		if (c < 0) {
			pause();
			continue;
		}
		if (esc == 1) {
			esc = c == '[' ? 2 : 0;
			continue;
		}
		if (esc == 2) {
			esc = 0;
			if (c == 'A') { /* up: the previous command */
				while (mon.len--)
					console_puts("\b \b");
				mon.len = (int)strlen(mon.last);
				memcpy(mon.line, mon.last, (size_t)mon.len);
				mon.line[mon.len] = 0;
				console_puts(mon.line);
			}
			continue;
		}
		if (c == 0x1b) {
			esc = 1;
		} else if (c == '\r' || c == '\n') {
			console_puts("\n");
			mon.line[mon.len] = 0;
			return;
		} else if ((c == 0x7f || c == 0x08) && mon.len) {
			mon.len--;
			console_puts("\b \b");
		} else if (c == 0x15) {
			while (mon.len && mon.len--)
				console_puts("\b \b");
		} else if (c >= 0x20 && c < 0x7f && mon.len < LINE_MAX) {
			mon.line[mon.len++] = (char)c;
			uart_putc((char)c);
		}
	}
}

static void run_monitor(struct vcpu *v)
{
	vuart_hold(true);
	out("guest paused at rip=%#llx (help lists the commands; continue resumes)",
	    vmcs_read(GUEST_RIP));
	for (;;) {
		read_line();
		if (mon.len)
			memcpy(mon.last, mon.line, (size_t)mon.len + 1);
		if (run_command(v, mon.line) || v->end != END_NONE)
			break;
	}
	vuart_hold(false);
}

void monitor_before_entry(struct vcpu *v)
{
	console_input_poll();
	if (!mon.requested || v->end != END_NONE)
		return;
	mon.requested = false;
	run_monitor(v);
}

bool monitor_handle_debug_exit(struct vcpu *v, u32 vector)
{
	if (vector == VEC_DB && mon.stepping && (vmcs_read(EXIT_QUALIFICATION) & DR6_BS)) {
		vmcs_write(GUEST_RFLAGS, vmcs_read(GUEST_RFLAGS) & ~RFLAGS_TF);
		mon.stepping = false;
		set_db_bp_intercepts(false, mon.bp_set);
		out("stepped one instruction: rip=%#llx", vmcs_read(GUEST_RIP));
		mon.requested = true;
		return true;
	}
	if (vector == VEC_BP && mon.bp_set && vmcs_read(GUEST_RIP) == mon.bp_addr) {
		write_virt_byte(mon.bp_addr, mon.bp_orig); /* one-shot: the original byte is back */
		mon.bp_set = false;
		set_db_bp_intercepts(mon.stepping, false);
		out("breakpoint hit at rip=%#llx", mon.bp_addr);
		mon.requested = true;
		(void)v;
		return true;
	}
	return false;
}

void monitor_request(void)
{
	mon.requested = true;
	vcpu0.poll_now = true;
}
