"""Data and I/O breakpoints on accesses the hypervisor performs for the guest (MMIO through the
fast MOV path, port I/O), against bare Bochs as the reference: guests/dbregs.c sets DR0-DR3 and
DR7 (and CR4.DE for I/O breakpoints), makes one access per case and prints how many #DB it
took, DR6's B0-B3 and whether the saved EIP was just after the access (a trap). Under the
hypervisor the device accesses are emulated, so the breakpoints fire only if the hypervisor
checks them (vcpu_breakpoint_hits); every line must match bare Bochs, and the cases must show
the breakpoints firing at all."""
from conftest import assert_clean, assert_ok, assert_summary
from test_paging import bare_guest_lines, bare_run, comparable

GUEST = "dbregs"


def test_breakpoints_on_emulated_accesses_match_bare_bochs(hv):
    bare = bare_run(hv, GUEST)
    want = comparable(bare_guest_lines(bare, GUEST))
    assert_ok(want and want[-1] == "RESULT done", bare, "bare-Bochs reference did not complete")
    # The reference itself must show the breakpoints working, or the comparison proves nothing.
    for case in ("mmio_read_rw_bp", "mmio_write_bp", "mmio_read_byte_bp", "io_in_bp",
                 "io_inw_overlap_bp", "io_out_bp", "ram_read_bp"):
        line = next((l for l in want if l.startswith(f"case {case} ")), "")
        assert_ok(" db=1 " in line and line.endswith("trap_after=1"), bare,
                  f"bare Bochs: {case}: {line!r} (want one #DB trap)")
    r = hv.boot_bochs(GUEST)
    got = comparable(r.guest_lines)
    assert_ok("HV hypervisor detected" in r.guest_lines, r, "the guest did not see the hypervisor")
    assert_ok(got == want, r, "guest output differs from bare Bochs:\n" +
              "\n".join(f"bare: {a}\n  hv: {b}" for a, b in zip(want, got) if a != b) +
              (f"\nlengths {len(want)} / {len(got)}" if len(want) != len(got) else ""))
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)
