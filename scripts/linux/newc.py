#!/usr/bin/python3
"""newc.py OUT.cpio.gz < LIST - write a gzip-compressed cpio archive in the "newc" format (the
one Linux unpacks into its initramfs) from a list of entries, one a line:

    dir   PATH MODE                a directory
    file  PATH SOURCE MODE         a regular file with SOURCE's contents
    slink PATH TARGET              a symbolic link
    nod   PATH MODE c|b MAJOR MINOR  a character or block device node

MODE is octal permission bits; PATH is absolute in the archive. Every entry is owned by root
with time stamp 0, and the gzip header carries no time either, so the same list gives the same
bytes. Missing parent directories are added (0755) before their first child. Written without
cpio(1) and without root: a device node needs neither mknod nor privileges here.
scripts/mkinitramfs.sh builds the list.

newc (the kernel's Documentation/driver-api/early-userspace/buffer-format.rst): per entry the
magic "070701", thirteen 8-digit hex fields (ino, mode, uid, gid, nlink, mtime, filesize,
devmajor, devminor, rdevmajor, rdevminor, namesize with its NUL, check = 0), the name and its
NUL padded to a multiple of 4, then the data padded to a multiple of 4; the archive ends with
the entry "TRAILER!!!".
"""
import gzip
import stat
import sys


class Archive:
    def __init__(self, out):
        self.out = out
        self.ino = 0
        self.dirs = set()

    def entry(self, path, mode, data=b"", rdev=(0, 0), nlink=1):
        name = path.lstrip("/").encode()
        self.ino += 1
        fields = (self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name) + 1, 0)
        head = b"070701" + b"".join(b"%08X" % f for f in fields)
        self.out.write(head + name + b"\0")
        self.out.write(b"\0" * (-(len(head) + len(name) + 1) % 4))
        self.out.write(data + b"\0" * (-len(data) % 4))

    def parents(self, path):
        parts = path.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            self.dir("/" + "/".join(parts[:i]), 0o755)

    def dir(self, path, perm):
        path = "/" + path.strip("/")
        if path in self.dirs:
            return
        self.parents(path)
        self.dirs.add(path)
        self.entry(path, stat.S_IFDIR | perm, nlink=2)

    def add(self, words):
        kind, path = words[0], words[1]
        if not path.startswith("/"):
            raise ValueError(f"path {path!r} is not absolute")
        if kind == "dir" and len(words) == 3:
            self.dir(path, int(words[2], 8))
            return
        self.parents(path)
        if kind == "file" and len(words) == 4:
            with open(words[2], "rb") as f:
                self.entry(path, stat.S_IFREG | int(words[3], 8), f.read())
        elif kind == "slink" and len(words) == 3:
            self.entry(path, stat.S_IFLNK | 0o777, words[2].encode())
        elif kind == "nod" and len(words) == 6 and words[3] in ("c", "b"):
            kind_bits = stat.S_IFCHR if words[3] == "c" else stat.S_IFBLK
            self.entry(path, kind_bits | int(words[2], 8), rdev=(int(words[4]), int(words[5])))
        else:
            raise ValueError(f"bad entry: {' '.join(words)}")

    def finish(self):
        self.ino = -1  # the trailer's fields are all 0 but nlink
        self.entry("TRAILER!!!", 0)


def main(argv):
    if len(argv) != 1:
        print("usage: newc.py OUT.cpio.gz < LIST", file=sys.stderr)
        return 2
    with open(argv[0], "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                                   filename="") as gz:
        a = Archive(gz)
        for n, line in enumerate(sys.stdin, 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            try:
                a.add(words)
            except (ValueError, OSError) as e:
                print(f"newc.py: line {n}: {e}", file=sys.stderr)
                return 1
        a.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
