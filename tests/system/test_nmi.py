"""NMIs sent to self (guests/nmi.c) against bare Bochs as the reference: a single NMI, an NMI
sent from inside the NMI handler (held while the handler runs, delivered right after its IRET,
before the interrupted code goes on), the same with the handler's IRET faulting on its stack
page (a shadow-paging fault under the hypervisor, after which NMIs must be blocked again), and
a single NMI afterwards. A public x86 test suite's event-injection test hung at the nested
case. Every line must match bare Bochs."""
from conftest import assert_clean, assert_ok, assert_summary
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
    assert_ok(got == want, r, "guest output differs from bare Bochs:\n" +
              "\n".join(f"bare: {a}\n  hv: {b}" for a, b in zip(want, got) if a != b) +
              (f"\nlengths {len(want)} / {len(got)}" if len(want) != len(got) else ""))
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0)
