/* intr.c - external-interrupt delivery and HLT. */
#include "vmx/intr.h"
#include "vmx/vmx.h"
#include "devices/intc.h"
#include "devices/lapic.h"
#include "devices/irq.h"
#include "devices/pio.h"
#include "kernel/log.h"
#include "arch/asm.h"

#define INTR_BLOCK_STI BIT(0)
#define INTR_BLOCK_MOV_SS BIT(1)
#define ACTIVITY_HLT 1

static u64 host_tsc_hz;

u64 tsc_hz(void) { return host_tsc_hz; }

u64 vtime_hz(void) { return host_tsc_hz; }

u64 vtime_now(void) { return rdtsc() + vcpu0.tsc_offset; }

/* Why the PIT: its input clock is fixed (1.193182 MHz) on every PC and emulator. Channel 2,
 * gated through port 0x61, counts down ~10 ms while the TSC runs. */
void tsc_calibrate(void)
{
	const u32 ticks = 11932; /* 10 ms at 1193182 Hz */
	u8 p61 = inb(0x61);
	outb(0x61, (p61 & ~0x02) | 0x01); /* gate on, speaker off */
	outb(0x43, 0xb0);                  /* channel 2, lo/hi, mode 0 */
	outb(0x42, ticks & 0xff);
	outb(0x42, ticks >> 8);
	u64 t0 = rdtsc();
	u32 spins = 0;
	while (!(inb(0x61) & 0x20) && ++spins < 50000000)
		pause();
	u64 t1 = rdtsc();
	outb(0x61, p61);
	host_tsc_hz = (t1 - t0) * 1193182ULL / ticks;
	if (!(inb(0x61) & 0x20) && spins >= 50000000)
		host_tsc_hz = 0;
	if (host_tsc_hz < 1000000) {
		host_tsc_hz = 1000000000ULL;
		pr_warn("tsc: calibration against the PIT failed; assuming 1 GHz");
	}
	pr_info("tsc: %llu kHz", host_tsc_hz / 1000);
}

static bool can_inject(void)
{
	return (vmcs_read(GUEST_RFLAGS) & RFLAGS_IF) &&
	       !(vmcs_read(GUEST_INTERRUPTIBILITY) & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS));
}

static void set_window_exiting(bool on)
{
	u64 c = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	u64 n = on ? c | CPU_INTR_WINDOW_EXITING : c & ~CPU_INTR_WINDOW_EXITING;
	if (n != c)
		vmcs_write(CPU_BASED_VM_EXEC_CONTROL, n);
}

/* An NMI from the local APIC (LINT1, an NMI IPI) is injected when nothing blocks it; else it
 * stays pending for a later entry. */
static bool inject_nmi(struct vcpu *v)
{
	if (lapic_take_nmi())
		v->nmi_pending = true;
	if (!v->nmi_pending || (vmcs_read(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID))
		return false;
	if (vmcs_read(GUEST_INTERRUPTIBILITY) & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS | BIT(3)))
		return false;
	vmcs_write(VM_ENTRY_INTR_INFO, 2 | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID);
	v->nmi_pending = false;
	return true;
}

u64 intr_deadline = IRQ_NONE;
bool intr_idle; /* the last evaluation found nothing waiting */

void intr_before_entry(struct vcpu *v, u64 now)
{
	/* Devices are ticked only when their earliest deliverable deadline has passed (their
	 * registers catch up on every access anyway); the deadline also arms the preemption
	 * timer (vmx/vcpu.c). */
	if (now >= intr_deadline)
		intc_tick(now);
	intr_deadline = intc_next_deadline();
	intc_dirty = false;
	intr_idle = false;
	inject_nmi(v);
	if (vmcs_read(VM_ENTRY_INTR_INFO) & INTR_INFO_VALID) {
		/* An exception or re-injected event goes first; come back for the interrupt. */
		set_window_exiting(intc_pending() >= 0);
		return;
	}
	int vec = intc_pending();
	if (vec < 0) {
		set_window_exiting(false);
		intr_idle = !v->nmi_pending;
		return;
	}
	if (!can_inject()) {
		set_window_exiting(true);
		return;
	}
	intc_ack(vec);
	intc_dirty = false; /* the ack is accounted for: the next exit re-evaluates (idle false) */
	vmcs_write(VM_ENTRY_INTR_INFO, (u32)vec | (INTR_TYPE_EXT_INTR << INTR_INFO_TYPE_SHIFT) |
				       INTR_INFO_VALID);
	set_window_exiting(false);
	v->intr_injected++;
}

void handle_interrupt_window(struct vcpu *v)
{
	(void)v; /* intr_before_entry() injects on the way back in */
}

/* Waits, with the guest's clock running, until some device timer is due. */
static bool wait_for_timer(struct vcpu *v)
{
	u64 deadline = intc_next_deadline();
	if (deadline == IRQ_NONE)
		return false;
	while (vtime_now() < deadline)
		pause();
	intc_tick(vtime_now());
	v->hlt_waits++;
	return true;
}

void intr_handle_hlt(struct vcpu *v)
{
	bool intr_on = vmcs_read(GUEST_RFLAGS) & RFLAGS_IF;
	vcpu_skip_instruction();
	if (!intr_on) {
		vcpu_stop(v, END_HALTED, "guest halted at rip=%#llx with interrupts disabled: it can "
			  "never wake", v->last_rip);
		return;
	}
	while (intc_pending() < 0) {
		if (!wait_for_timer(v)) {
			vcpu_stop(v, END_HALTED, "guest halted at rip=%#llx waiting for an interrupt, "
				  "but no armed device timer can reach it (masked or none): it can "
				  "never wake", v->last_rip);
			return;
		}
	}
	/* HLT is done; the interrupt is injected on entry (RIP already past HLT). */
}
