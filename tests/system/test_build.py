"""The build as a person uses it: `make iso` (and so `make run`) with GUEST= and CMDLINE=.

A second invocation with another guest or another hypervisor command line must rebuild the
ISO with them; the same invocation again must not rebuild it. The ISO's grub.cfg and its guest
module are read back with xorriso. The test ends by building the default ISO again, as
`make all` leaves it.
"""
import os
import subprocess
from pathlib import Path

from conftest import BUILD, ROOT

ISO = BUILD / "hv.iso"


def make_iso(guest: str, cmdline: str) -> str:
    r = subprocess.run(["make", "-C", str(ROOT), f"BUILD={os.path.relpath(BUILD, ROOT)}",
                        f"GUEST={guest}", f"CMDLINE={cmdline}", "iso"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"make iso GUEST={guest} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def iso_file(path: str, tmp: Path) -> bytes:
    out = tmp / Path(path).name
    r = subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(ISO), "-extract", path,
                        str(out)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"xorriso could not read {path} from {ISO}:\n{r.stderr}"
    return out.read_bytes()


def test_guest_and_cmdline_changes_rebuild_the_iso(tmp_path):
    try:
        make_iso("hello", "")
        out = make_iso("exits", "guest_mem=32M loglevel=debug")
        assert "mkiso" in out, "a new GUEST= and CMDLINE= did not rebuild the ISO:\n" + out
        cfg = iso_file("/boot/grub/grub.cfg", tmp_path).decode()
        assert "multiboot2 /boot/hv.elf guest_mem=32M loglevel=debug" in cfg, cfg
        guest = iso_file("/boot/guest.elf", tmp_path)
        assert guest == (BUILD / "guests" / "exits.elf").read_bytes(), \
            "the ISO's guest module is not guests/exits.elf"
        again = make_iso("exits", "guest_mem=32M loglevel=debug")
        assert "mkiso" not in again, "the same GUEST= and CMDLINE= rebuilt the ISO:\n" + again
        make_iso("exits", "")
        cfg = iso_file("/boot/grub/grub.cfg", tmp_path).decode()
        assert "guest_mem=32M" not in cfg, "CMDLINE= emptied, but the ISO keeps the old one"
    finally:
        make_iso("hello", "")
