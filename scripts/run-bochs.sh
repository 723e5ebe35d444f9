#!/bin/sh
# run-bochs.sh - boot an ISO in Bochs with VMX (cpu model corei7_skylake_x).
#   --iso FILE        the image to boot (required)
#   --dir DIR         where serial.txt, bochs.log and bochsrc go (default build/run)
#   --timeout SEC     kill Bochs after SEC seconds of wall time (default 120)
#   --megs N          machine memory in MiB (default 256)
#   --com1 SPEC       Bochs com1 options instead of the serial.txt file, e.g. a socket for an
#                     interactive console: "mode=socket-server, dev=localhost:1234"
#   --com2 SPEC       Bochs com2 line options, e.g. "mode=socket-server, dev=localhost:1234"
#   --interactive     the serial console on this terminal. When stdin is a terminal, a two-way
#                     console (scripts/console.py: raw mode, every key to the hypervisor, Ctrl-A
#                     x quits; COM1 is a pty, mode=term; no time limit, a person ends the run);
#                     otherwise COM1's output is shown as it is written, under --timeout
# Exit status: 0 when Bochs ended (the run's result is on the serial line), 124 on timeout
# (console.py's for a two-way console).
set -e
iso="" dir=build/run timeout=120 megs=256 interactive=0 com1="" com2=""
parse() {
	while [ $# -gt 0 ]; do
		case $1 in
		--iso) iso=$2; shift 2 ;;
		--dir) dir=$2; shift 2 ;;
		--timeout) timeout=$2; shift 2 ;;
		--megs) megs=$2; shift 2 ;;
		--com1) com1=$2; shift 2 ;;
		--com2) com2=$2; shift 2 ;;
		--interactive) interactive=1; shift ;;
		*) echo "run-bochs: unknown argument $1"; exit 2 ;;
		esac
	done
}
parse "$@"  # in a function: "$@" stays whole for the two-way console below
[ -n "$iso" ] && [ -f "$iso" ] || { echo "run-bochs: no ISO given or not found: '$iso'"; exit 2; }
command -v bochs >/dev/null || { echo "run-bochs: bochs not installed (make deps)"; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
iso=$(cd "$(dirname "$iso")" && pwd)/$(basename "$iso")
# The two-way console: console.py runs this script again with CONSOLE_TTY set to its pty, which
# becomes COM1 below; it writes serial.txt itself.
console=0
if [ $interactive = 1 ] && [ -z "$com1" ]; then
	if [ -n "${CONSOLE_TTY:-}" ]; then
		console=1 timeout=0 interactive=0
	elif [ -t 0 ]; then
		exec "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/console.py" --log "$dir/serial.txt" -- "$0" "$@"
	fi
fi
rm -f "$dir/bochs.log"
if [ $console = 0 ]; then
	rm -f "$dir/serial.txt"
	: > "$dir/serial.txt"
fi
com1line="com1: enabled=1, mode=file, dev=$dir/serial.txt"
[ $console = 1 ] && com1line="com1: enabled=1, mode=term, dev=$CONSOLE_TTY"
[ -n "$com1" ] && com1line="com1: enabled=1, $com1"
com2line=""
[ -n "$com2" ] && com2line="com2: enabled=1, $com2"
# vga: extension=none: no VBE, so GRUB sets no graphics mode and reports no framebuffer (the
# hypervisor's screen console stays off): Bochs's term display PANICs in a 32-bpp mode.
cat > "$dir/bochsrc" <<RC
megs: $megs
cpu: model=corei7_skylake_x, count=1, ips=100000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
vga: extension=none
ata0-master: type=cdrom, path=$iso, status=inserted
boot: cdrom
$com1line
$com2line
display_library: term
log: $dir/bochs.log
panic: action=fatal
error: action=report
port_e9_hack: enabled=1
clock: sync=none, time0=local
RC
echo c > "$dir/cmds"
cd "$dir"
if [ $interactive = 1 ]; then
	tail -n +1 -f serial.txt &
	tailpid=$!
fi
set +e
timeout --foreground -k 5 "$timeout" script -q -c "bochs -q -f bochsrc -rc cmds" /dev/null >"$dir/bochs.out" 2>&1 </dev/null
rc=$?
set -e
if [ $interactive = 1 ]; then
	sleep 0.3
	kill $tailpid 2>/dev/null || true
fi
[ $rc = 124 ] && { echo "run-bochs: timed out after ${timeout}s" >&2; exit 124; }
exit 0
