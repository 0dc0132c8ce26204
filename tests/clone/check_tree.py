#!/usr/bin/env python3
# Check the clone tree's output (tests/clone/clone_tree.c): every VM of the
# tree reported once, from its own VM, with the checksum its path implies.
# Usage: check_tree.py OUTPUT [plain]; prints what is wrong, exits 1 if so.
import re, sys

LEVELS, WORDS = 7, 16 * 1024
M = 0xFFFFFFFF

def checksum(path, levels):
    s = 0
    for l in range(levels):
        p = path >> (levels - 1 - l)
        base = (p * 0x9E3779B1 + l * 0x85EBCA77) & M
        s += WORDS * base + WORDS * (WORDS - 1) // 2
    return s & M

text = open(sys.argv[1], errors="replace").read()
plain = len(sys.argv) > 2
pat = (r"^()" if plain else r"^\[vm(\d+)\] ") + r"tree: path 0x([0-9a-f]{8}) levels (\d) checksum 0x([0-9a-f]{8}) (ok|FAIL)$"
lines = [m.groups() for m in re.finditer(pat, text, re.M)]
want = {0x80} if plain else set(range(0x41, 0x80)) | {0x80, 0x81}
errors, seen = [], set()
for vm, path, levels, csum, verdict in lines:
    path, levels, csum = int(path, 16), int(levels), int(csum, 16)
    if verdict != "ok":
        errors.append(f"path {path:#x} reported FAIL")
    if path in seen:
        errors.append(f"path {path:#x} twice")
    seen.add(path)  # (VM ids are reused once a VM has ended)
    if csum != checksum(path, levels):
        errors.append(f"path {path:#x}: checksum {csum:#x}, expected {checksum(path, levels):#x}")
if seen != want:
    errors.append(f"{len(seen)} paths reported, {len(want)} expected; missing {sorted(want - seen)[:5]}")
print("; ".join(errors[:5]) if errors else f"{len(seen)} VMs, every checksum right")
sys.exit(1 if errors else 0)
