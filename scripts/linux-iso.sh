#!/bin/sh
# linux-iso.sh OUT.iso BZIMAGE [INITRD] ["HV CMDLINE"] ["KERNEL CMDLINE"] - an ISO that boots the
# hypervisor (build/hv.elf) with a Linux bzImage as its guest and INITRD as the second module
# (docs/linux.md). Defaults: guest_mem=256M (the Debian kernel needs 16 MiB + init_size and room
# for the initrd) and a serial console command line. Boot it with
#   scripts/run-bochs.sh --iso OUT.iso --megs 512 --timeout 600
set -e
out=$1 bz=$2 initrd=${3:-}
hvcmd=${4:-guest_mem=256M}
kcmd=${5:-console=ttyS0,115200 earlyprintk=serial,ttyS0,115200 loglevel=8 panic=-1}
[ -n "$out" ] && [ -f "$bz" ] || { echo "usage: $0 OUT.iso BZIMAGE [INITRD] [HV CMDLINE] [KERNEL CMDLINE]"; exit 2; }
exec "$(dirname "$0")/mkiso.sh" "$out" "${HV_ELF:-build/hv.elf}" "$bz" "$hvcmd" "$kcmd" "$initrd"
