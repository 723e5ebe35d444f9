#!/usr/bin/env python3
"""check-layers.py [BUILD] - the layer map of docs/architecture.md, enforced.

Folders are ranked, bottom first. A file may include a header of its own folder or of a folder
below it, never above; and an object file may call (reference) a function or variable defined
in its own folder or below, never above (the second check reads the symbols of the built
objects with nm, so an upward call that bypasses the includes, e.g. a prototype written by
hand, is caught too). Exits 1 with one line per upward edge. Run by `make check` (so by
`make all` and `make test`).
"""
import os
import re
import subprocess
import sys

# Bottom first. docs/architecture.md explains each layer.
LAYERS = ["boot", "arch", "kernel", "drivers", "emul", "mmu", "devices", "vmx", "debug", "hv"]
# The one reference up the map: the entry code, which the CPU runs first, calls the start-up
# code at the top once.
ALLOWED = {("boot", "kmain")}
RANK = {name: i for i, name in enumerate(LAYERS)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"/]+)/[^"]+"', re.M)


def source_files(root):
    for layer in LAYERS:
        d = os.path.join(root, layer)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h", ".S")):
                yield layer, os.path.join(layer, name)


def include_edges(root):
    bad = []
    for layer, path in source_files(root):
        with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for m in INCLUDE.finditer(text):
            target = m.group(1)
            if target in RANK and RANK[target] > RANK[layer]:
                line = text.count("\n", 0, m.start()) + 1
                bad.append(f"{path}:{line}: includes {m.group(0).split()[-1]} "
                           f"({layer} is below {target})")
    return bad


def nm(obj, args):
    out = subprocess.run(["nm"] + args + [obj], capture_output=True, text=True, check=True)
    return out.stdout.splitlines()


def call_edges(root, build):
    defined = {}   # symbol -> layer
    undefined = []  # (layer, object, symbol)
    for layer, path in source_files(root):
        obj = os.path.join(root, build, path + ".o")
        if path.endswith(".h") or not os.path.exists(obj):
            continue
        name = os.path.basename(path) + ".o"
        if True:
            for line in nm(obj, ["--defined-only", "-g"]):
                parts = line.split()
                if len(parts) == 3:
                    defined[parts[2]] = layer
            for line in nm(obj, ["-u"]):
                parts = line.split()
                if parts:
                    undefined.append((layer, os.path.join(layer, name[:-2]), parts[-1]))
    bad = []
    for layer, src, sym in undefined:
        target = defined.get(sym)
        if target and RANK[target] > RANK[layer] and (layer, sym) not in ALLOWED:
            bad.append(f"{src}: uses {sym}, defined in {target}/ ({layer} is below {target})")
    return bad


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    bad = include_edges(root)
    if os.path.isdir(os.path.join(root, build)):
        bad += call_edges(root, build)
    if not bad:
        return 0
    print("error: upward dependencies across the layer map (docs/architecture.md: "
          + " < ".join(LAYERS) + "):")
    for b in sorted(set(bad)):
        print("  " + b)
    return 1


if __name__ == "__main__":
    sys.exit(main())
