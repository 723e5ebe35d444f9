"""NMIs sent to self (guests/nmi.c) against bare Bochs as the reference: a single NMI, an NMI
sent from inside the NMI handler (held while the handler runs, delivered right after its IRET,
before the interrupted code goes on), the same with the handler's IRET faulting on its stack
page (a shadow-paging fault under the hypervisor, after which NMIs must be blocked again), and
a single NMI afterwards. A public x86 test suite's event-injection test hung at the nested
case. Every line must match bare Bochs."""
from conftest import assert_clean, assert_ok, assert_summary
from test_conform import assert_same
from test_paging import bare_guest_lines, bare_run, comparable

GUEST = "nmi"


def test_nmi_to_self_matches_bare_bochs(hv):
    bare = bare_run(hv, GUEST)
    want = comparable(bare_guest_lines(bare, GUEST))
    assert_ok(want and want[-1] == "RESULT done", bare, "bare-Bochs reference did not complete")
    # The reference must show what the cases are about: the nested NMI arrives right after the
    # handler's IRET.
    for case in ("nested", "nested_iret_faults"):
        line = next((l for l in want if l.startswith(f"case {case}:")), "")
        assert_ok("count_after_iret=2 " in line and "second_frame_minus_first=0" in line, bare,
                  f"bare Bochs: {line!r}")
    r = hv.boot_bochs(GUEST)
    got = comparable(r.guest_lines)
    assert_ok("HV hypervisor detected" in r.guest_lines, r, "the guest did not see the hypervisor")
    assert_same(r, want, got, "guest output (lines against bare Bochs)")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0)


def test_interrupt_delivery_faulting_on_its_stack_matches_bare_bochs(hv):
    """guests/vintr.c: a local APIC interrupt whose frame goes to a stack page the shadow has
    no entry for, right after an INT3. With APIC virtualization the CPU delivers it and the
    push faults into the hypervisor, which must deliver the interrupt again (Bochs names the
    INT3 as the event being delivered: re-delivering that ran the INT3 handler a second time
    and lost the interrupt); with apicv=off the hypervisor's own injection faults. Both ways,
    every line as on bare Bochs: the interrupt taken once, at the instruction after STI's
    shadow, its frame where ESP pointed, the INT3 handler run once."""
    bare = bare_run(hv, "vintr")
    want = comparable(bare_guest_lines(bare, "vintr"))
    assert_ok(want and want[-1] == "RESULT done", bare, "bare-Bochs reference did not complete")
    for case in ("stack_mapped", "stack_fault"):
        line = f"case {case}: irq=1 int3=1 resumed_at_label=1 frame_in_page=1"
        assert_ok(line in want, bare, f"bare Bochs: no line {line!r}")
    for apicv in ("on", "off"):
        r = hv.boot_bochs("vintr", hv_cmdline=f"apicv={apicv}")
        got = comparable(r.guest_lines)
        assert_ok(f"apicv: {apicv}" in r.serial, r, f"the boot log does not say apicv: {apicv}")
        assert_same(r, want, got, f"apicv={apicv}: guest output (lines against bare Bochs)")
        assert_clean(r)
        assert_summary(r, "debug_exit", code=0)
