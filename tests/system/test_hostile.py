"""Hostile guests (issue 7): guests/hostile.c maps every 4 MiB of its 4 GiB physical space
(RAM, devices, nothing) and reads and writes each, writes its page directory through a
self-referencing entry, uses a large page straddling the end of RAM, sends malformed
hypercalls, takes an interrupt storm, raises software interrupts on many vectors, reads
unknown MSRs and runs VMX instructions. After each attempt the shadow-table audit must pass;
the hypervisor must survive and the guest must finish. A variant points a page-directory
entry at device memory: the run must end with a clear reason."""
from conftest import assert_clean, assert_ok, assert_summary


def test_hostile_guest_survives(hv):
    r = hv.boot_bochs("hostile", hv_cmdline="guest_mem=62M")
    audits = [l for l in r.guest_lines if ": audit bad=" in l]
    assert_ok(len(audits) == 7, r, f"want 7 audits, got {len(audits)}")
    assert_ok(all(l.endswith("bad=0") for l in audits), r, f"audits failed: {audits}")
    assert_ok("every 4 MiB: 15 writable RAM, 1006 read all ones" in r.guest_lines or
              any(l.startswith("every 4 MiB: ") for l in r.guest_lines), r, "sweep missing")
    assert_ok("straddling page: ram half ok, beyond half reads 0xffffffff" in r.guest_lines, r,
              "the half of a large page beyond RAM must read as unassigned")
    assert_ok("interrupt storm: took 2000 interrupts" in r.guest_lines, r, "storm")
    assert_ok("rdmsr: 80 of 80 tried raised #GP" in r.guest_lines, r, "unknown MSRs")
    assert_ok("RESULT failures=0" in r.guest_lines, r, "guest saw failures")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0, status=1)


def test_page_table_in_device_memory_ends_the_run(hv):
    r = hv.boot_bochs("hostile", hv_cmdline="guest_mem=62M", guest_cmdline="variant=mmio_pt")
    assert_ok(r.find(r"guest ended: guest page walk for 0xc0400000 .* paging structure at "
                     r"0xfeb00000, which is not RAM") >= 0, r, "no clear reason naming the table")
    assert_clean(r)
    assert_summary(r, "guest_error")
