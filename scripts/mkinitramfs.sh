#!/bin/sh
# mkinitramfs.sh OUT.cpio.gz INIT [FILE:DEST ...] - a busybox initramfs for a Linux guest: a
# gzip-compressed newc cpio archive with /bin/busybox and a link for each of its applets (from
# `busybox --list-full`: /bin/sh, /sbin/poweroff, /usr/bin/setsid ...), the directories /dev
# /proc /sys /tmp /root /etc, the node /dev/console (char 5:1, which the kernel opens for /init's
# stdin, stdout and stderr before devtmpfs is mounted), INIT as /init, and each FILE as DEST
# (executable when FILE is). BUSYBOX=path selects the static busybox (default: busybox beside
# OUT, where scripts/linux-fetch.sh puts it). No cpio(1) and no root needed: the archive is
# written by scripts/linux/newc.py. Paths must not contain white space.
# scripts/linux/init is the INIT of `make run GUEST=linux`.
set -e
here=$(dirname "$0")
out=${1:-} init=${2:-}
[ -n "$out" ] && [ -n "$init" ] || { echo "usage: $0 OUT.cpio.gz INIT [FILE:DEST ...]"; exit 2; }
shift 2
bb=${BUSYBOX:-$(dirname "$out")/busybox}
fail() { echo "mkinitramfs: $*" >&2; exit 1; }
blank() { case $1 in *[[:space:]]*) fail "'$1': paths must not contain white space" ;; esac; }
[ -f "$init" ] || fail "no init script '$init'"
[ -x "$bb" ] || fail "no busybox at '$bb' (scripts/linux-fetch.sh fetches busybox-static; or set BUSYBOX=)"
for p in "$out" "$init" "$bb" "$@"; do blank "$p"; done

list=$(mktemp)
trap 'rm -f "$list" "$out.tmp"' EXIT
{
	for d in /bin /sbin /usr/bin /usr/sbin /dev /proc /sys /tmp /root /etc; do
		echo "dir $d 0755"
	done
	echo "nod /dev/console 0600 c 5 1"
	echo "file /bin/busybox $bb 0755"
	# Applet links; a busybox that cannot run here gets only /bin/sh (its /init can still
	# run `/bin/busybox --install -s`).
	links=$("$bb" --list-full 2>/dev/null | grep / | grep -v '^bin/busybox$' || true)
	[ -n "$links" ] || links=bin/sh
	for l in $links; do
		echo "slink /$l /bin/busybox"
	done
	echo "file /init $init 0755"
	for fd in "$@"; do
		src=${fd%:*} dest=${fd##*:}
		case $dest in /*) ;; *) fail "'$fd': DEST must be an absolute path (FILE:/path/in/archive)" ;; esac
		[ -f "$src" ] || fail "'$fd': no file '$src'"
		mode=0644
		[ -x "$src" ] && mode=0755
		echo "file $dest $src $mode"
	done
} > "$list"
"${PYTHON:-/usr/bin/python3}" "$here/linux/newc.py" "$out.tmp" < "$list" || fail "newc.py failed"
mv -f "$out.tmp" "$out"
echo "mkinitramfs: $out ($(wc -c < "$out") bytes): busybox, $(echo "$links" | wc -w) applet links, /init = $init${*:+, }$*"
