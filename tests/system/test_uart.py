"""The guest's 16550 (devices/vuart.c) with interrupts, and its console output, checked from a
guest: guests/uart_irq.c drives COM1 as an interrupt-driven driver would (THR-empty interrupt
rules and a transmit pump, received data at a trigger level, the character timeout, overrun and
IIR priorities, through the 8259 on IRQ 4).

- test_uart_irq_same_as_qemu: the same guest under QEMU (-kernel, the reference) and under the
  hypervisor in Bochs prints the same lines, except those starting with "PC ", where QEMU's
  model departs from a PC (no OUT2 gating, no modem status deltas in loopback): those are
  checked against what a PC (and Bochs) does.
- test_uart_interactive: a user at a terminal (Bochs's COM1 socket). The guest's prompt
  "uart> " has no newline and must show anyway (the partial-line flush); the guest then halts
  with no timer, woken only by the RX interrupt of typed keys; its echo of a backspace must
  leave the terminal showing the edited line; Enter ends it.
- test_monitor_opens_while_the_guest_halts: while it halts, Ctrl-A c opens the monitor at once
  (not at the guest's next interrupt) and "continue" puts it back on its HLT.
"""
from conftest import BochsSession, assert_clean, assert_ok, assert_summary
from test_differential import _qemu_kernel, _shape

PC_LINES = [
    "PC out2.clear irqs=0 irr4=0 out2.set irqs=1",
    "PC msi irqs=1 iir=0xc0 msr=0x83",
]


def test_uart_irq_same_as_qemu(hv):
    ref = _qemu_kernel(hv, "uart_irq")
    ref_lines = [l.rstrip("\r") for l in ref.serial.splitlines() if l.strip()]
    assert_ok(ref_lines and ref_lines[-1] == "RESULT done", ref,
              "the reference run did not reach RESULT done")
    r = hv.boot_bochs("uart_irq")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0)
    got = [_shape(l) for l in r.guest_lines if not l.startswith("PC ")]
    want = [_shape(l) for l in ref_lines if not l.startswith("PC ")]
    if got != want:
        import difflib
        diff = "\n".join(difflib.unified_diff(want, got, "qemu", "hypervisor", lineterm=""))
        assert_ok(False, r, f"guest output differs from the QEMU reference:\n{diff}")
    pc = [l for l in r.guest_lines if l.startswith("PC ")]
    assert_ok(pc == PC_LINES, r, f"PC-only lines {pc}, want {PC_LINES}")


def _render(text: str) -> str:
    """What a terminal shows for one line: BS moves the cursor left, the next character
    overwrites."""
    cells, cur = [], 0
    for ch in text:
        if ch == "\b":
            cur = max(cur - 1, 0)
            continue
        if cur == len(cells):
            cells.append(ch)
        else:
            cells[cur] = ch
        cur += 1
    return "".join(cells).rstrip()


def test_uart_interactive(hv):
    iso = hv.iso("uart_irq", guest_cmdline="interactive")
    with BochsSession(hv, iso, timeout=180) as s:
        con = s.con
        prompt = con.wait("[guest] uart> ", 0, 120)
        if prompt >= 0:
            con.send("lsx\x7f -l\r")  # a typo, erased with backspace (DEL, as terminals send)
            con.wait_line("[guest] got '", prompt, 90)
    r = s.result
    assert_ok(prompt >= 0, r, "the prompt 'uart> ' (no newline) never reached the console")
    assert_clean(r)
    assert_summary(r, "debug_exit", code=0)
    shown = [_render(l) for l in r.lines if l.startswith("[guest] ")]
    assert_ok("[guest] uart> ls -l" in shown, r,
              f"the terminal does not show the edited line 'uart> ls -l': {shown}")
    assert_ok("[guest] got 'ls -l'" in shown, r, "the guest did not get the line 'ls -l'")


def test_monitor_opens_while_the_guest_halts(hv):
    """The guest halts until a key comes (no timer): Ctrl-A c must open the monitor at once,
    not at the guest's next interrupt (Linux idles in HLT for seconds), and after "continue"
    the guest is back on its HLT and takes the typed line as before."""
    iso = hv.iso("uart_irq", guest_cmdline="interactive")
    monitor = resumed = -1
    with BochsSession(hv, iso, timeout=180) as s:
        con = s.con
        prompt = con.wait("[guest] uart> ", 0, 120)
        if prompt >= 0:
            con.send("\x01c")
            monitor = con.wait("(hv) ", prompt, 30)
            if monitor >= 0:
                con.send("regs\r")
                con.wait("(hv) ", monitor, 30)
                con.send("continue\r")
                resumed = con.wait("\n", len(con.buf), 30)
                con.send("abc\r")
                con.wait_line("[guest] got '", resumed, 90)
    r = s.result
    assert_ok(prompt >= 0, r, "the prompt 'uart> ' never reached the console")
    assert_ok(monitor >= 0, r, "Ctrl-A c did not open the monitor while the guest was halted")
    assert_ok(any(l.startswith("[mon] rip=") for l in r.lines), r, "regs printed no rip")
    assert_ok("[guest] got 'abc'" in r.lines, r, "after continue the guest did not get 'abc'")
    assert_summary(r, "debug_exit", code=0)
