#!/usr/bin/python3
"""bench.py - the benchmark suite (`make bench`; docs/bench.md).

Boots the benchmark guests (guests/bench_micro.c under the hypervisor; guests/bench_e2e.c under
the hypervisor and on bare Bochs; Debian's Linux kernel with guests/linux/lbench.c as its /init,
under the hypervisor and on bare Bochs) in Bochs, where RDTSC counts instructions, so every
figure is an instruction count and must come out the same in every run. The whole suite runs
twice (or --runs N times); figures that differ between runs are reported. Prints one table
(operation, figure, target, met/missed), writes OUT/results.json and OUT/memslot_scaling.svg.

    scripts/bench.py                 full run (about 8 minutes with 2 CPUs)
    scripts/bench.py --quick         small N, all but Linux (tests/system/test_bench.py)
    options: --out DIR (default build/bench)  --runs N (default 2)  --jobs N (parallel Bochs
             runs, default: CPUs)  --only ID[,ID...] (benchmark ids, for debugging; the
             Linux workloads by figure: linux_fork,linux_exec,... or linux for all of them)
    The Linux workloads (one boot per platform and pass) are left out of --quick: their two
    boots take longer than the rest of the quick suite together. `--quick --only linux` runs
    them with small N (tests/system/test_bench.py). build/linux/lbench is built here with
    make; a missing kernel is fetched with scripts/linux-fetch.sh.

Exit status: 0 when every benchmark ran and printed its figures (targets missed or runs that
differ are reported, not failures), 1 when a benchmark failed (no figures, guest error,
timeout), 2 on bad usage or a missing build. Run after `make all`.
"""
import argparse
import concurrent.futures
import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / os.environ.get("BUILD", "build")
HV_ELF = BUILD / "hv.elf"
GUESTS = BUILD / "guests"
MKISO = ROOT / "scripts" / "mkiso.sh"
LINUX_DIR = BUILD / "linux"
LBENCH = LINUX_DIR / "lbench"
LINUX_FETCH = ROOT / "scripts" / "linux-fetch.sh"
MKINITRAMFS = ROOT / "scripts" / "mkinitramfs.sh"
LINUX_ISO = ROOT / "scripts" / "linux-iso.sh"
LINUX_BARE_ISO = ROOT / "scripts" / "linux-bare-iso.sh"
# The same kernel command line on both platforms. `quiet`: the kernel's boot messages would
# otherwise be a large part of what boot-to-/init measures (each character is an emulated
# UART access under the hypervisor). `nokaslr norandmaps`: the same kernel and process layout
# in every boot (Bochs's RDRAND differs from run to run), so fewer figures differ by chance.
LINUX_KCMD = "console=ttyS0,115200 quiet panic=-1 nokaslr norandmaps"
LINUX_HV_CMDLINE = "guest_mem=256M"
# Bochs executes this many instructions per emulated second (the bochsrc below): its PIT, RTC,
# ACPI PM timer and local APIC timer run at that rate, and so, counted in instructions, does
# its TSC. Bochs's CPU model states 3.5 GHz in CPUID leaf 0x16, which the bare kernel believes;
# the hypervisor measures the TSC against the PM timer and gives its guest the true 100 MHz.
# Told by CPUID, the bare kernel would take one instruction for 1/35 of the time the other
# kernel does, and every decision made by the clock (the scheduler's: when a woken task
# preempts, how load decays) would differ between the two platforms: the bare kernel is told
# the true rate too (docs/bench.md "The same clock on both platforms").
BOCHS_IPS = 100_000_000
LINUX_KCMD_BARE = f"tsc_early_khz={BOCHS_IPS // 1000}"
# The Linux workloads of lbench.c: figure id, description, target of issue 14.
LINUX_WORKLOADS = [
    ("linux_boot", "Linux: kernel boot to /init (TSC at /init's first instruction)", 1.3),
    ("linux_fork", "Linux: fork + exit + wait", 2.0),
    ("linux_exec", "Linux: fork + exec of a static program + wait", 2.0),
    ("linux_anon", "Linux: mmap 1 MiB, touch 256 fresh pages, munmap", 1.5),
    ("linux_cow", "Linux: 64 copy-on-write faults in a child after fork", 2.0),
    ("linux_pipe", "Linux: pipe ping-pong between two processes (round trip)", 1.5),
    ("linux_compute", "Linux: compute loop (xorshift + table), no system calls", 1.01),
]
# Bochs's RTC starts at this time (2000-01-01 00:00:00 UTC) in every run. With the
# `time0=local` of scripts/run-bochs.sh the firmware, GRUB and the hypervisor's RTC and timer
# code take a few more or fewer instructions depending on the wall clock at boot, and long runs
# differ by a few ticks.
BOCHS_TIME0 = 946684800

# ---- the benchmarks: one boot each ----
# id, guest, platforms, hypervisor command line, guest op, N (full, quick), extra guest args,
# time limit in seconds (full, quick).
BENCHMARKS = [
    # hypervisor micro-benchmarks (bench_micro.c), hypervisor only
    dict(id="cpuid", guest="bench_micro", platforms=["hv"], op="cpuid", n=(100000, 200)),
    dict(id="vmcall", guest="bench_micro", platforms=["hv"], op="vmcall", n=(100000, 200)),
    dict(id="pio", guest="bench_micro", platforms=["hv"], op="pio", n=(100000, 200)),
    dict(id="mov_dr7", guest="bench_micro", platforms=["hv"], op="mov_dr7", n=(100000, 200)),
    dict(id="mmio_fast", guest="bench_micro", platforms=["hv"], op="mmio_fast", n=(100000, 200)),
    dict(id="mmio_slow", guest="bench_micro", platforms=["hv"], op="mmio_slow", n=(20000, 100)),
    dict(id="shadow_fault", guest="bench_micro", platforms=["hv"], op="shadow_fault",
         n=(10000, 600), hv_cmdline="guest_mem=128M"),
    dict(id="cr3_switch", guest="bench_micro", platforms=["hv"], op="cr3_switch", n=(100000, 200)),
    dict(id="memslot", guest="bench_micro", platforms=["hv"], op="memslot", n=(1000, 50),
         args="sizes=10,1000,100000", timeout=(900, 300)),
    dict(id="zap", guest="bench_micro", platforms=["hv"], op="zap", n=(10000, 300),
         hv_cmdline="shadow_pages=16384"),
    # the exits a Linux guest makes most (issue 16): timer interrupts (TSC deadline, one-shot
    # and periodic LAPIC timer; ~22,000 ticks of waiting each), HLT and the interrupt window,
    # the EOI (xAPIC, x2APIC), the TPR (xAPIC) and CR8, a #PF reflected to the guest
    dict(id="timer", guest="bench_micro", platforms=["hv"], op="timer", n=(2000, 20)),
    dict(id="hlt", guest="bench_micro", platforms=["hv"], op="hlt", n=(2000, 20)),
    dict(id="eoi", guest="bench_micro", platforms=["hv"], op="eoi", n=(20000, 100)),
    dict(id="tpr", guest="bench_micro", platforms=["hv"], op="tpr", n=(100000, 200)),
    dict(id="guest_pf", guest="bench_micro", platforms=["hv"], op="guest_pf", n=(100000, 200)),
    # the same with every #PF exiting (pf_bypass=off): the walk and the injection
    dict(id="guest_pf_exit", guest="bench_micro", platforms=["hv"], op="guest_pf",
         n=(100000, 200), hv_cmdline="pf_bypass=off"),
    # end-to-end workloads (bench_e2e.c), hypervisor and bare Bochs
    dict(id="compute", guest="bench_e2e", platforms=["hv", "bare"], op="compute",
         n=(10000000, 100000)),
    dict(id="fork", guest="bench_e2e", platforms=["hv", "bare"], op="fork", n=(1000, 3),
         timeout=(1200, 300)),
    dict(id="ctxsw", guest="bench_e2e", platforms=["hv", "bare"], op="ctxsw", n=(20000, 64)),
    dict(id="mmio", guest="bench_e2e", platforms=["hv", "bare"], op="mmio", n=(1000000, 1000),
         timeout=(2400, 300)),
    # Linux (lbench.c as /init of Debian's kernel), hypervisor and bare Bochs; one boot runs
    # every workload; full run only (quick=False)
    dict(id="linux", guest="lbench", platforms=["hv", "bare"], op="linux", n=(0, 0),
         timeout=(2400, 1200), linux=True, quick=False, end="poweroff",
         hv_cmdline=LINUX_HV_CMDLINE),
]
DEFAULT_TIMEOUT = (900, 240)
MEMSLOT_SIZES = [10, 1000, 100000]

BENCHEXITS_PREFIX = "BENCHEXITS name="
BENCH_RE = re.compile(r"^BENCH name=(\S+) n=(\d+) total=(-?\d+) per_op=(-?[\d.]+)(.*)$")
HV_LINE = re.compile(r"^\[hv ([EWID])\] ")
SUMMARY_RE = re.compile(r"^\[hv [EI]\] summary (.*)$")
COSTS_RE = re.compile(r"^\[hv I\] exit-costs(.*)$")


def log(msg):
    print(msg, flush=True)


# ---- images ----

def make_linux_iso(spec, platform, kcmd, out: Path):
    """The kernel with an initramfs whose /init is lbench (built once, beside the images)."""
    initrd = out.parent / "lbench-initrd.cpio.gz"
    if not initrd.is_file():
        env = dict(os.environ, BUSYBOX=str(LINUX_DIR / "busybox"))
        p = subprocess.run([str(MKINITRAMFS), str(initrd), str(LBENCH)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0 or not initrd.is_file():
            raise RuntimeError(f"mkinitramfs failed:\n{p.stdout}{p.stderr}")
    if platform == "bare":
        kcmd = f"{kcmd} {LINUX_KCMD_BARE}"
    extra = spec.get("kcmd_extra", {}).get(platform)  # --linux-kcmd-hv / --linux-kcmd-bare
    if extra:
        kcmd = f"{kcmd} {extra}"
    if platform == "hv":
        cmd = [str(LINUX_ISO), str(out), str(LINUX_DIR / "bzImage"), str(initrd),
               spec.get("hv_cmdline", ""), kcmd]
    else:
        cmd = [str(LINUX_BARE_ISO), str(out), str(LINUX_DIR / "bzImage"), str(initrd), kcmd]
    p = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, HV_ELF=str(HV_ELF)),
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0 or not out.is_file():
        raise RuntimeError(f"{cmd[0]} failed:\n{p.stdout}{p.stderr}")


def make_iso(spec, platform, guest_cmdline, out: Path):
    if spec.get("linux"):
        return make_linux_iso(spec, platform, guest_cmdline, out)
    elf = GUESTS / f"{spec['guest']}.elf"
    if platform == "hv":
        cmd = [str(MKISO), str(out), str(HV_ELF), str(elf), spec.get("hv_cmdline", ""),
               guest_cmdline]
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
        if p.returncode != 0 or not out.is_file():
            raise RuntimeError(f"mkiso failed: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
        return
    # bare Bochs: GRUB loads the guest itself (multiboot v1), no hypervisor
    root = out.parent / (out.stem + "-root")
    if root.exists():
        shutil.rmtree(root)
    (root / "boot" / "grub").mkdir(parents=True)
    shutil.copy(elf, root / "boot" / "guest.elf")
    (root / "boot" / "grub" / "grub.cfg").write_text(
        "set timeout=0\nset default=0\n"
        f'menuentry "guest" {{\n\tmultiboot /boot/guest.elf {guest_cmdline}\n\tboot\n}}\n')
    p = subprocess.run(["grub-mkrescue", "-o", str(out), str(root)], capture_output=True,
                       text=True, timeout=300)
    shutil.rmtree(root, ignore_errors=True)
    if p.returncode != 0 or not out.is_file():
        raise RuntimeError(f"grub-mkrescue failed:\n{p.stdout}{p.stderr}")


# ---- one boot ----

def parse_kv(text):
    d = {}
    for tok in text.split():
        k, sep, v = tok.partition("=")
        if sep:
            d[k] = v
    return d


def num(v):
    try:
        return int(v, 0)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def parse_serial(text):
    """BENCH/BENCHINFO/RESULT lines of the guest, the exit-costs and summary lines."""
    rec = {"bench": {}, "info": {}, "result": None, "exit_costs": {}, "summary": None,
           "exits": {}}
    for raw in text.replace("\r", "").split("\n"):
        line = raw.rstrip()
        m = SUMMARY_RE.match(line)
        if m:
            rec["summary"] = {k: num(v) for k, v in parse_kv(m.group(1)).items()}
            continue
        m = COSTS_RE.match(line)
        if m:
            costs = {}
            for k, v in parse_kv(m.group(1)).items():
                reason, _, what = k.rpartition(".")
                costs.setdefault(reason, {})[what] = int(v)
            rec["exit_costs"] = costs
            continue
        if HV_LINE.match(line):
            continue
        if line.startswith("[guest] "):
            line = line[len("[guest] "):]
        m = BENCH_RE.match(line)
        if m:
            rec["bench"][m.group(1)] = {"n": int(m.group(2)), "total": int(m.group(3)),
                                        "per_op": float(m.group(4)),
                                        **{k: num(v) for k, v in parse_kv(m.group(5)).items()}}
        elif line.startswith(BENCHEXITS_PREFIX):  # lbench: counters, several lines a name
            name, _, rest = line[len(BENCHEXITS_PREFIX):].partition(" ")
            rec["exits"].setdefault(name, {}).update(
                {k: num(v) for k, v in parse_kv(rest).items()})
        elif line.startswith("CPUINFO "):  # lbench: the kernel's view of the CPU
            key, _, val = line[8:].partition("=")
            info = rec.setdefault("cpuinfo", {})
            if key.endswith("+"):
                info[key[:-1]] = (info.get(key[:-1], "") + " " + val).strip()
            else:
                info[key] = val
        elif line.startswith("BENCHINFO "):
            rec["info"].update({k: num(v) for k, v in parse_kv(line[10:]).items()})
        elif line.startswith("RESULT "):
            rec["result"] = line[7:]
        elif line.startswith(("BENCHSTART", "UNEXPECTED", "ERROR")):
            rec.setdefault("notes", []).append(line)
    return rec


def bochs(iso: Path, d: Path, timeout, megs=256):
    """Boots iso in Bochs with VMX: the machine of scripts/run-bochs.sh (same CPU model, memory
    and devices), but with a fixed RTC start (BOCHS_TIME0), so that every boot executes exactly
    the same instructions. Returns Bochs's exit status, 124 on timeout, None if killed."""
    (d / "serial.txt").write_bytes(b"")
    (d / "bochsrc").write_text(f"""megs: {megs}
cpu: model=corei7_skylake_x, count=1, ips={BOCHS_IPS}, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
vga: extension=none
ata0-master: type=cdrom, path={iso}, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev={d}/serial.txt
display_library: term
log: {d}/bochs.log
panic: action=fatal
error: action=report
port_e9_hack: enabled=1
clock: sync=none, time0={BOCHS_TIME0}
""")
    (d / "cmds").write_text("c\n")  # the debugger's first command: continue
    cmd = ["timeout", "--foreground", "-k", "5", str(timeout), "script", "-q", "-c",
           "bochs -q -f bochsrc -rc cmds", "/dev/null"]
    with open(d / "bochs.out", "wb") as f:
        p = subprocess.Popen(cmd, cwd=d, stdin=subprocess.DEVNULL, stdout=f,
                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return p.wait(timeout=timeout + 60)
        except subprocess.TimeoutExpired:  # `timeout` itself is stuck: kill the whole group
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
            return None


def run_one(spec, platform, run_no, iso, out: Path, timeout):
    d = out / f"run{run_no}" / f"{spec['id']}-{platform}"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    t0 = time.monotonic()
    # Linux under the hypervisor: guest_mem=256M plus the hypervisor and its pools
    megs = 512 if spec.get("linux") and platform == "hv" else 256
    rc = bochs(iso.resolve(), d.resolve(), timeout, megs)
    secs = time.monotonic() - t0
    serial = (d / "serial.txt").read_bytes().decode("utf-8", "replace") \
        if (d / "serial.txt").exists() else ""
    rec = parse_serial(serial)
    rec.update(id=spec["id"], platform=platform, run=run_no, dir=str(d.relative_to(ROOT))
               if d.is_relative_to(ROOT) else str(d), seconds=round(secs, 1))
    err = None
    if rc is None or rc == 124:
        err = f"timed out after {timeout}s"
    elif rec["result"] != "ok":
        err = f"guest result: {rec['result'] or '(no RESULT line)'}"
    elif not rec["bench"]:
        err = "no BENCH lines"
    elif platform == "hv":
        s = rec["summary"]
        if not s:
            err = "no summary line"
        elif s.get("end") != spec.get("end", "debug_exit") or s.get("code") != 0:
            err = f"run ended with end={s.get('end')} code={s.get('code')}"
    rec["error"] = err
    return rec


# ---- figures ----

# operation, description, unit, target (op, value) or None, how to get it, hv exit reason
def micro(bid, bench_name, reason):
    return lambda R: (R[(bid, "hv")]["bench"][bench_name]["per_op"],
                      cost_of(R[(bid, "hv")], reason))


def micro_exits(bid, bench_name, reason, exits_name=None):
    """A micro figure with the exits of each reason per operation that the guest counted
    around its loop (bench_micro's BENCHEXITS line for exits_name, by default the figure's)."""
    def f(R):
        rec = R[(bid, "hv")]
        b = rec["bench"][bench_name]
        detail = dict(cost_of(rec, reason) or {})
        ex = rec.get("exits", {}).get(exits_name or bench_name)
        if ex is not None:
            detail["exits_per_op"] = {k: float(f"{v / b['n']:.4g}") for k, v in ex.items()}
        return b["per_op"], detail or None
    return f


def cost_of(rec, reason):
    c = rec["exit_costs"].get(reason)
    if not c:
        return None
    return {"reason": reason, "avg": c.get("avg"), "min": c.get("min"),
            "count": (rec["summary"] or {}).get(f"exits.{reason}")}


def ratio(bid):
    def f(R):
        hv, bare = R[(bid, "hv")]["bench"][bid], R[(bid, "bare")]["bench"][bid]
        return hv["total"] / bare["total"], None
    return f


def mmio_exits(R):
    rec = R[("mmio", "hv")]
    s, n = rec["summary"], rec["bench"]["mmio"]["n"]
    # Trapped (apicv=off): one #PF exit per read; with APIC virtualization an APIC-access exit
    # where the CPU does not virtualize the read, none for the version register.
    pf = s.get("exits.exception_nmi", 0) + s.get("exits.apic_access", 0)
    other = s.get("mmu.shadow_faults", 0) + s.get("mmu.guest_faults", 0)
    return (pf - other) / n, {"reason": "exception_nmi+apic_access", "exits.exception_nmi+apic_access": pf,
                              "not_mmio (shadow+guest faults)": other,
                              "raw exits/N": pf / n}


def fast_vs_slow(R):
    b = R[("mmio_slow", "hv")]["bench"]["mmio_slow"]["per_op"]
    f = R[("mmio_fast", "hv")]["bench"]["mmio_fast"]["per_op"]
    return b / f, None


def memslot(size):
    def f(R):
        b = R[("memslot", "hv")]["bench"][f"memslot_change_{size}"]
        return b["per_op"], dict(cost_of(R[("memslot", "hv")], "io") or {},
                                 first_change=b.get("first"), mmio_sptes=b.get("sptes"))
    return f


def memslot_flat(R):
    b = R[("memslot", "hv")]["bench"]
    return (b[f"memslot_change_{MEMSLOT_SIZES[-1]}"]["per_op"] /
            b[f"memslot_change_{MEMSLOT_SIZES[0]}"]["per_op"]), None


def zap(key):
    def f(R):
        rec = R[("zap", "hv")]
        b = rec["bench"]
        if key == "total":
            return float(b["zap_all"]["total"]), dict(cost_of(rec, "vmcall") or {},
                                                      live=b["zap_all"]["n"],
                                                      exits=b["zap_all"].get("exits"),
                                                      per_page=b["zap_all"]["per_op"])
        if key == "max":
            return float(b["zap_exit_max"]["total"]), dict(cost_of(rec, "vmcall") or {},
                                                           base=b["zap_exit_max"].get("base"))
        return float(b["zap_exit_max"]["max_freed"]), None
    return f


def linux_figure(name):
    """Hypervisor / bare Bochs for one lbench workload, with the hypervisor's exits per
    operation by reason (lbench's BENCHEXITS lines: counter differences around the loop), and
    the exit cost of the most frequent reason from the boot's exit-costs line (the whole boot's
    average for that reason, not the workload's alone)."""
    def f(R):
        hv, bare = R[("linux", "hv")], R[("linux", "bare")]
        h, b = hv["bench"][name], bare["bench"][name]
        ex = hv.get("exits", {}).get(name, {})
        n = h["n"]
        reasons = {k: v for k, v in ex.items() if k in hv["exit_costs"] and k != "exits"}
        top = max(reasons, key=reasons.get) if reasons else None
        detail = dict(cost_of(hv, top) or {}) if top else {}
        detail.update(n=n, hv_total=h["total"], bare_total=b["total"], hv_per_op=h["per_op"],
                      bare_per_op=b["per_op"], hv_timer_irqs=h.get("timer_irqs"),
                      bare_timer_irqs=b.get("timer_irqs"), hv_ctxt=h.get("ctxt"),
                      bare_ctxt=b.get("ctxt"),
                      exits_per_op={k: float(f"{v / n:.4g}") for k, v in ex.items()})
        if name == "linux_boot" and ex:
            detail["profile"] = boot_profile(hv, ex, h["total"])
        if name == "linux_boot":
            detail["cpu_differences"] = cpu_differences(bare.get("cpuinfo", {}),
                                                        hv.get("cpuinfo", {}))
        return h["total"] / b["total"], detail
    return f


def cpu_differences(bare, hv):
    """What the kernel found different about the CPU on the two platforms (lbench's CPUINFO
    lines: /proc/cpuinfo flags and bugs, /sys/devices/system/cpu/vulnerabilities). A feature
    that changes the kernel's code paths (fast strings did: docs/bench.md) makes the two
    figures compare different code."""
    out = {}
    for key in ("flags", "bugs"):
        b, h = set(bare.get(key, "").split()), set(hv.get(key, "").split())
        out[f"{key}_bare_only"] = sorted(b - h)
        out[f"{key}_hv_only"] = sorted(h - b)
    out["vulnerabilities"] = {k[5:]: {"bare": bare.get(k), "hv": hv.get(k)}
                              for k in sorted(set(bare) | set(hv))
                              if k.startswith("vuln.") and bare.get(k) != hv.get(k)}
    return out


def boot_profile(hv, counts, boot_ticks):
    """Exits to /init by reason (lbench reads the counters at its start) times the boot's
    average cost of each reason (exit-costs covers the whole run: an estimate for the part
    up to /init). Sorted by estimated ticks."""
    rows = []
    for reason, c in counts.items():
        cost = hv["exit_costs"].get(reason)
        if not cost or reason == "exits":
            continue
        ticks = c * cost["avg"]
        rows.append({"reason": reason, "exits": c, "avg": cost["avg"], "ticks": ticks,
                     "share_of_boot": round(ticks / boot_ticks, 4)})
    rows.sort(key=lambda r: -r["ticks"])
    return rows


FIGURES = [
    # (operation, what it is, unit, target, getter)
    ("cpuid", "CPUID round trip", "ticks/op", ("<=", 150), micro("cpuid", "cpuid", "cpuid")),
    ("vmcall", "VMCALL null hypercall (HC 0)", "ticks/op", ("<=", 120),
     micro("vmcall", "vmcall", "vmcall")),
    ("pio", "IN from COM1 LSR (0x3fd)", "ticks/op", ("<=", 250), micro("pio", "pio", "io")),
    ("mov_dr7", "MOV to DR7 (0x400): no exit", "ticks/op", ("<=", 2),
     micro("mov_dr7", "mov_dr7", "dr_access")),
    ("mmio_fast", "MMIO read, fast path (slotdev ID)", "ticks/op", ("<=", 600),
     micro("mmio_fast", "mmio_fast", "exception_nmi")),
    ("mmio_slow", "MMIO read, slow path (stale generation)", "ticks/op", None,
     micro("mmio_slow", "mmio_slow", "exception_nmi")),
    ("mmio_slow/fast", "slow path / fast path", "x", (">=", 2.0), fast_vs_slow),
    ("memslot_move", "slotdev window move (memslot change), no extra MMIO sptes", "ticks/op",
     None, micro("mmio_slow", "memslot_move", "io")),
    ("shadow_fault", "shadow page fault mapping one 4 KiB page (paging off)", "ticks/op",
     ("<=", 1500), micro("shadow_fault", "shadow_fault", "exception_nmi")),
    ("cr3_switch", "CR3 switch between two cached address spaces", "ticks/op", ("<=", 500),
     micro("cr3_switch", "cr3_switch", "cr_access")),
    # issue 16: the exits a Linux guest makes most (docs/bench.md, "Interrupts, EOI, TPR...")
    ("timer_deadline", "TSC-deadline timer: fire + deliver + EOI (arming excluded)",
     "ticks/op", ("<=", 1500),
     micro_exits("timer", "timer_deadline", "preemption_timer", "timer_deadline_cycle")),
    ("timer_deadline_cycle", "TSC-deadline timer: arm (WRMSR) + fire + deliver + EOI",
     "ticks/op", None, micro_exits("timer", "timer_deadline_cycle", "preemption_timer")),
    ("timer_deadline_arm", "WRMSR IA32_TSC_DEADLINE (arming)", "ticks/op", None,
     micro("timer", "timer_deadline_arm", "wrmsr")),
    ("timer_oneshot", "LAPIC one-shot timer: fire + deliver + EOI (arming excluded)",
     "ticks/op", ("<=", 1500),
     micro_exits("timer", "timer_oneshot", "preemption_timer", "timer_oneshot_cycle")),
    ("timer_oneshot_arm", "LAPIC timer initial-count write (arming, xAPIC MMIO)", "ticks/op",
     None, micro("timer", "timer_oneshot_arm", "exception_nmi")),
    ("timer_periodic", "LAPIC periodic timer: fire + deliver + EOI", "ticks/op", ("<=", 1500),
     micro_exits("timer", "timer_periodic", "preemption_timer")),
    ("hlt_wake", "HLT woken by the TSC deadline: deadline to the handler", "ticks/op", None,
     micro_exits("hlt", "hlt_wake", "hlt")),
    ("hlt_pending", "HLT with the interrupt pending: HLT to the handler", "ticks/op", None,
     micro_exits("hlt", "hlt_pending", "hlt")),
    ("intr_window", "interrupt window: STI with an interrupt pending to the handler",
     "ticks/op", None, micro_exits("hlt", "intr_window", "interrupt_window")),
    ("eoi_xapic", "LAPIC EOI write, xAPIC MMIO, an interrupt in service", "ticks/op",
     ("<=", 400), micro_exits("eoi", "eoi_xapic", "exception_nmi")),
    ("eoi_x2apic", "LAPIC EOI write, x2APIC WRMSR, an interrupt in service", "ticks/op",
     ("<=", 400), micro_exits("eoi", "eoi_x2apic", "wrmsr")),
    ("eoi_xapic_idle", "LAPIC EOI write, xAPIC MMIO, nothing in service", "ticks/op", None,
     micro_exits("eoi", "eoi_xapic_idle", "exception_nmi")),
    ("apic_read", "LAPIC version register read, xAPIC MMIO, paging off", "ticks/op", None,
     micro_exits("eoi", "apic_read", "exception_nmi")),
    ("tpr_xapic", "LAPIC TPR write, xAPIC MMIO", "ticks/op", None,
     micro_exits("tpr", "tpr_xapic", "exception_nmi")),
    ("cr8_write", "MOV to CR8 (64-bit mode)", "ticks/op", None,
     micro_exits("tpr", "cr8_write", "cr_access")),
    ("guest_pf", "#PF reflected to the guest (not-present PTE), its handler excluded",
     "ticks/op", ("<=", 600), micro_exits("guest_pf", "guest_pf", "exception_nmi")),
    ("guest_pf_exit", "#PF reflected to the guest through an exit (pf_bypass=off)",
     "ticks/op", None, micro_exits("guest_pf_exit", "guest_pf", "exception_nmi")),
] + [
    (f"memslot_change_{k}", f"memslot change with {k} MMIO sptes live", "ticks/op", None,
     memslot(k)) for k in MEMSLOT_SIZES
] + [
    (f"memslot_change_{MEMSLOT_SIZES[-1]}/{MEMSLOT_SIZES[0]}", "memslot change cost, "
     f"{MEMSLOT_SIZES[-1]} vs {MEMSLOT_SIZES[0]} MMIO sptes", "x", ("<=", 1.1), memslot_flat),
    ("zap_all", "zap all: total cost (HC_ZAP_ALL and freeing every page)", "ticks", None,
     zap("total")),
    ("zap_exit_max", "zap all: costliest single exit while freeing", "ticks", ("<=", 20000),
     zap("max")),
    ("zap_freed_per_exit", "zap all: obsolete pages freed per exit at most", "pages",
     ("<=", 16), zap("freed")),
    ("compute", "compute loop, hypervisor/native", "ratio", ("<=", 1.02), ratio("compute")),
    ("fork", "fork-like page-table workload, hypervisor/native", "ratio", ("<=", 3.0),
     ratio("fork")),
    ("ctxsw", "context switches, 8 spaces x 64 pages, hypervisor/native", "ratio", ("<=", 1.5),
     ratio("ctxsw")),
    ("mmio_heavy", "1,000,000 LAPIC version reads, hypervisor/native", "ratio", ("<=", 1.5),
     ratio("mmio")),
    ("mmio_exits_per_access", "VM exits per LAPIC read (APIC virtualization: none)", "exits",
     ("==", 0.0), mmio_exits),
] + [
    (name, desc, "ratio", ("<=", target), linux_figure(name))
    for name, desc, target in LINUX_WORKLOADS
]
LINUX_IDS = {name for name, _, _ in LINUX_WORKLOADS}


def met(target, v):
    if target is None or v is None:
        return None
    op, t = target
    if op == "<=":
        return v <= t
    if op == ">=":
        return v >= t
    return abs(v - t) < 1e-9


def compute_figures(R):
    """{operation: (value, extra)} for one pass; value None (with the error) when a run
    needed for it failed."""
    out = {}
    for name, _, _, _, get in FIGURES:
        try:
            out[name] = get(R)
        except (KeyError, TypeError, ZeroDivisionError) as e:
            out[name] = (None, {"error": f"missing: {e}"})
    return out


def fmt_value(v, unit):
    if v is None:
        return "-"
    if unit in ("ratio", "x"):
        return f"{v:.3f}"
    if unit == "exits":
        return f"{v:.4f}"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.2f}"


def fmt_target(target):
    if target is None:
        return "(report)"
    op, t = target
    return f"{op} {t:g}" if op != "==" else f"= {t:g}"


def fmt_cost(extra):
    if not extra or "reason" not in extra or extra.get("avg") is None:
        return ""
    text = f"{extra['reason']} {extra['avg']:,}/{extra['min']:,}"
    per_op = extra.get("exits_per_op")
    if per_op and "exits" in per_op:  # Linux workloads: all exits per operation
        text += f"; {per_op['exits']:,.1f} exits/op"
    elif per_op:  # bench_micro's BENCHEXITS: the exits of each reason per operation
        text += "; exits/op " + " ".join(f"{k}={v:g}" for k, v in per_op.items())
    return text


def print_table(rows):
    heads = ["operation", "figure", "unit", "target", "result", "hv exit cost avg/min"]
    cells = [[r["operation"], fmt_value(r["figure"], r["unit"]), r["unit"],
              fmt_target(r["target_raw"]),
              {True: "met", False: "MISSED", None: "-"}[r["met"]]
              + ("" if r["repeatable"] else " (runs differ)"),
              fmt_cost(r.get("detail"))] for r in rows]
    w = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(heads)]
    line = "  ".join(h.ljust(w[i]) for i, h in enumerate(heads))
    log(line)
    log("  ".join("-" * x for x in w))
    for c in cells:
        log("  ".join((c[i].rjust(w[i]) if i == 1 else c[i].ljust(w[i])) for i in range(len(c))))


# ---- the plot ----

def write_svg(path: Path, sizes, values, limit_ratio=1.1):
    W, H, L, R_, T, B = 560, 340, 80, 20, 50, 60
    pw, ph = W - L - R_, H - T - B
    hi = max([v for v in values if v] + [1]) * max(1.2, limit_ratio + 0.1)
    step = 10 ** len(str(int(hi / 5))) / 10  # a round step: 1, 2 or 5 times a power of ten
    for m in (1, 2, 5, 10):
        if hi / (step * m) <= 5:
            step *= m
            break
    top = step * 5
    bw = pw / len(sizes) * 0.5
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
             f'viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>',
             f'<text x="{W / 2}" y="22" text-anchor="middle" font-size="15">'
             'Memslot change cost vs MMIO sptes live</text>',
             f'<text x="{W / 2}" y="38" text-anchor="middle" fill="#555">'
             'slotdev window move, guest-observed ticks (Bochs: instructions) per change</text>']
    for i in range(6):  # y grid and labels
        v = step * i
        y = T + ph - ph * i / 5
        parts.append(f'<line x1="{L}" y1="{y:.1f}" x2="{L + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{L - 6}" y="{y + 4:.1f}" text-anchor="end">{v:,.0f}</text>')
    if values and values[0]:
        y = T + ph - ph * values[0] * limit_ratio / top
        parts.append(f'<line x1="{L}" y1="{y:.1f}" x2="{L + pw}" y2="{y:.1f}" stroke="#c33" '
                     'stroke-dasharray="6,4"/>')
        parts.append(f'<text x="{L + pw}" y="{y - 5:.1f}" text-anchor="end" fill="#c33">'
                     f'target: {limit_ratio:g} x the {sizes[0]:,} case</text>')
    for i, (k, v) in enumerate(zip(sizes, values)):
        cx = L + pw * (i + 0.5) / len(sizes)
        if v:
            h = ph * v / top
            parts.append(f'<rect x="{cx - bw / 2:.1f}" y="{T + ph - h:.1f}" width="{bw:.1f}" '
                         f'height="{h:.1f}" fill="#4a7ab5"/>')
            parts.append(f'<text x="{cx:.1f}" y="{T + ph - h - 6:.1f}" text-anchor="middle">'
                         f'{v:,.1f}</text>')
        parts.append(f'<text x="{cx:.1f}" y="{T + ph + 18}" text-anchor="middle">{k:,}</text>')
    parts.append(f'<line x1="{L}" y1="{T + ph}" x2="{L + pw}" y2="{T + ph}" stroke="black"/>')
    parts.append(f'<line x1="{L}" y1="{T}" x2="{L}" y2="{T + ph}" stroke="black"/>')
    parts.append(f'<text x="{L + pw / 2}" y="{H - 12}" text-anchor="middle">'
                 'MMIO sptes live (distinct unassigned pages read before the moves)</text>')
    parts.append(f'<text x="16" y="{T + ph / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 16 {T + ph / 2})">{esc("ticks per change")}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")


# ---- main ----

def linux_assets():
    """The kernel and busybox (fetched with scripts/linux-fetch.sh when missing) and lbench.
    None when all are there, else what is wrong and the command that fixes it."""
    if not (LINUX_DIR / "bzImage").is_file() or not (LINUX_DIR / "busybox").is_file():
        log(f"bench: no Linux kernel in {LINUX_DIR}: fetching it (scripts/linux-fetch.sh)")
        p = subprocess.run([str(LINUX_FETCH), str(LINUX_DIR)], cwd=ROOT, capture_output=True,
                           text=True, timeout=1800)
        if p.returncode != 0:
            return (f"no Linux kernel: `scripts/linux-fetch.sh {LINUX_DIR}` failed:\n"
                    f"{p.stdout}{p.stderr}")
    # lbench is built from guests/linux/lbench.c by its Makefile rule (not part of `make all`)
    p = subprocess.run(["make", "-s", f"BUILD={BUILD}", str(LBENCH)], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0 or not LBENCH.is_file():
        return f"`make {LBENCH}` failed (needs gcc and libc6-dev):\n{p.stdout}{p.stderr}"
    return None


def git_revision():
    try:
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                             text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"],
                               cwd=ROOT, capture_output=True, text=True,
                               timeout=30).stdout.strip() != ""
        return rev or None, dirty
    except (OSError, subprocess.SubprocessError):
        return None, None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small N everywhere (for make test)")
    ap.add_argument("--out", default=str(BUILD / "bench"), help="output directory")
    ap.add_argument("--runs", type=int, default=2, help="passes over the whole suite")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", default="", help="comma-separated benchmark ids")
    ap.add_argument("--linux-kcmd-hv", default="", metavar="PARAMS",
                    help="experiments: appended to the Linux kernel command line under the "
                         "hypervisor only (docs/bench.md)")
    ap.add_argument("--linux-kcmd-bare", default="", metavar="PARAMS",
                    help="experiments: appended to the Linux kernel command line on bare Bochs "
                         "only")
    a = ap.parse_args()
    q = 1 if a.quick else 0
    out = Path(a.out)
    if not out.is_absolute():
        out = ROOT / out
    for need in [HV_ELF, GUESTS / "bench_micro.elf", GUESTS / "bench_e2e.elf"]:
        if not need.is_file():
            log(f"bench: {need} is missing: run `make all` first")
            return 2
    for tool in ["bochs", "grub-mkrescue"]:
        if shutil.which(tool) is None:
            log(f"bench: {tool} is not installed (make deps)")
            return 2
    # --quick leaves out the benchmarks marked quick=False (Linux) unless --only names them
    specs = [s for s in BENCHMARKS if s.get("quick", True) or not a.quick]
    lbench_only = None
    if a.only:
        ids = set(a.only.split(","))
        linux_ids = ids & (LINUX_IDS | {"linux"})
        specs = [s for s in BENCHMARKS if s["id"] in ids or (s.get("linux") and linux_ids)]
        if not specs:
            log(f"bench: --only {a.only}: no such benchmark")
            return 2
        if linux_ids and "linux" not in linux_ids:
            lbench_only = ",".join(sorted(i[len("linux_"):] for i in linux_ids
                                          if i != "linux_boot")) or "none"
    if any(s.get("linux") for s in specs):
        err = linux_assets()
        if err:
            log(f"bench: {err}")
            return 2
    if a.runs < 1 or a.jobs < 1:
        log("bench: --runs and --jobs must be at least 1")
        return 2
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.monotonic()
    rev, dirty = git_revision()
    differs = " (the working tree differs: uncommitted or untracked files)" if dirty else ""
    log(f"bench: {'quick' if a.quick else 'full'} run, {a.runs} passes, {a.jobs} Bochs at a "
        f"time, revision {rev or '?'}{differs}; output in {out}")

    # images, once for all passes
    isos = {}
    (out / "iso").mkdir(exist_ok=True)
    for s in specs:
        gcmd = f"op={s['op']} n={s['n'][q]}" + (f" {s['args']}" if s.get("args") else "")
        if s.get("linux"):
            gcmd = LINUX_KCMD + (" lbench=quick" if a.quick else "") + \
                (f" lbench_only={lbench_only}" if lbench_only else "")
        s["guest_cmdline"] = gcmd
        if s.get("linux") and (a.linux_kcmd_hv or a.linux_kcmd_bare):
            s["kcmd_extra"] = {"hv": a.linux_kcmd_hv, "bare": a.linux_kcmd_bare}
        for p in s["platforms"]:
            iso = out / "iso" / f"{s['id']}-{p}.iso"
            make_iso(s, p, gcmd, iso)
            isos[(s["id"], p)] = iso
    log(f"bench: {len(isos)} images built")
    # what was measured: the files copied into the images (the build may change afterwards)
    files = [HV_ELF] + sorted({GUESTS / f"{s['guest']}.elf" for s in specs if not s.get("linux")})
    if any(s.get("linux") for s in specs):
        files += [LBENCH, LINUX_DIR / "bzImage", out / "iso" / "lbench-initrd.cpio.gz"]
    binaries = {str(f.relative_to(ROOT)) if f.is_relative_to(ROOT) else str(f):
                hashlib.sha256(f.read_bytes()).hexdigest() for f in files}

    # every (benchmark, platform), every pass; the longest first so the passes overlap well
    order = sorted(((s, p) for s in specs for p in s["platforms"]),
                   key=lambda sp: -sp[0].get("timeout", DEFAULT_TIMEOUT)[q])
    results = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        futs = {}
        for r in range(1, a.runs + 1):
            for s, p in order:
                tmo = s.get("timeout", DEFAULT_TIMEOUT)[q]
                futs[ex.submit(run_one, s, p, r, isos[(s["id"], p)], out, tmo)] = (s["id"], p, r)
        for f in concurrent.futures.as_completed(futs):
            bid, p, r = futs[f]
            try:
                rec = f.result()
            except Exception as e:  # noqa: BLE001 - reported as the benchmark's failure
                rec = {"id": bid, "platform": p, "run": r, "error": f"runner: {e!r}",
                       "bench": {}, "info": {}, "exit_costs": {}, "summary": None}
            results[(bid, p, r)] = rec
            log(f"  pass {r} {bid:13s} {p:4s} {rec.get('seconds', 0):7.1f}s  "
                f"{'ok' if not rec['error'] else 'FAILED: ' + rec['error']}")

    failures = [rec for rec in results.values() if rec["error"]]
    passes = []
    for r in range(1, a.runs + 1):
        R = {(bid, p): rec for (bid, p, rr), rec in results.items() if rr == r and not rec["error"]}
        passes.append(compute_figures(R))

    rows, differences = [], []
    selected = FIGURES
    if not any(s.get("linux") for s in specs):  # --quick, or --only without Linux
        selected = [f for f in FIGURES if f[0] not in LINUX_IDS]
    if a.only:
        selected = [f for f in FIGURES if passes and passes[0][f[0]][0] is not None]
    for name, desc, unit, target, _ in selected:
        vals = [p[name][0] for p in passes]
        v = vals[0]
        repeatable = all(x == v for x in vals)
        if not repeatable:
            differences.append({"operation": name, "values": vals})
        detail = passes[0][name][1]
        rows.append({"operation": name, "description": desc, "figure": v, "unit": unit,
                     "target": fmt_target(target) if target else None, "target_raw": target,
                     "target_op": target[0] if target else None,
                     "target_value": target[1] if target else None, "met": met(target, v),
                     "runs": vals, "repeatable": repeatable, "detail": detail})

    log("")
    print_table(rows)
    log("")
    missed = [r["operation"] for r in rows if r["met"] is False]
    log(f"targets: {sum(1 for r in rows if r['met'])} met, {len(missed)} missed"
        f"{': ' + ', '.join(missed) if missed else ''}"
        f"{' (quick run: small N, the targets are for the full run)' if a.quick else ''}")
    if a.runs > 1:
        if differences:
            log(f"REPEATABILITY: {len(differences)} figure(s) differ between the {a.runs} runs:")
            for d in differences:
                log(f"  {d['operation']}: {d['values']}")
        else:
            log(f"repeatability: every figure identical in all {a.runs} runs")
    missing = [r["operation"] for r in rows if r["figure"] is None]
    for rec in failures:
        log(f"FAILED: {rec['id']} ({rec['platform']}, pass {rec['run']}): {rec['error']} "
            f"[{rec.get('dir', '')}]")

    # the memslot-scaling plot
    mem = {}
    if passes and all(passes[0].get(f"memslot_change_{k}", (None,))[0] for k in MEMSLOT_SIZES):
        mem = {"sptes": MEMSLOT_SIZES,
               "ticks_per_change": [passes[0][f"memslot_change_{k}"][0] for k in MEMSLOT_SIZES],
               "svg": "memslot_scaling.svg"}
        write_svg(out / "memslot_scaling.svg", MEMSLOT_SIZES, mem["ticks_per_change"])

    wall = time.monotonic() - t_start
    doc = {
        "schema": 1,
        "git_revision": rev,
        "git_dirty": dirty,
        "binaries_sha256": binaries,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if a.quick else "full",
        "runs": a.runs,
        "wall_seconds": round(wall, 1),
        "repeatable": not differences,
        "differences": differences,
        "figures": [{k: v for k, v in r.items() if k != "target_raw"} for r in rows],
        "memslot_scaling": mem,
        "benchmarks": [
            {"id": s["id"], "guest": s["guest"], "op": s["op"],
             "n": None if s.get("linux") else s["n"][q],
             "hv_cmdline": s.get("hv_cmdline", ""), "guest_cmdline": s["guest_cmdline"],
             **({"kcmd_extra": s["kcmd_extra"]} if s.get("kcmd_extra") else {}),
             "platforms": s["platforms"],
             "runs": [{k: v for k, v in results[(s["id"], p, r)].items()}
                      for r in range(1, a.runs + 1) for p in s["platforms"]]}
            for s in specs],
        "failures": [f"{rec['id']}/{rec['platform']}/pass{rec['run']}: {rec['error']}"
                     for rec in failures],
    }
    (out / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
    log(f"wrote {out / 'results.json'}" + (f" and {out / 'memslot_scaling.svg'}" if mem else "")
        + f"; {wall:.0f}s")
    return 1 if failures or missing else 0


if __name__ == "__main__":
    sys.exit(main())
