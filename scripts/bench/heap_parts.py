#!/usr/bin/env python3
"""The heap's peak by part of the server, from heaptrack_print's flamegraph output (`-F FILE
--flamegraph-cost-type peak`: one line a call stack, outermost frame first, `;`-separated, and
the bytes it held at the peak). Used by scripts/heap_profile.sh.

    heap_parts.py STACKS SLED_FILES OWN_FILES

A stack belongs to the part of its innermost frame that names one (walking out from the
allocation): a value sled keeps in its cache was made by a call into sled, whoever called it.
Frames are named `function (file.rs)`; sled's frames are told by its source files' names
(SLED_FILES, less the names hookflow's own files share, OWN_FILES).
"""
import re
import sys

stacks, sled_files, own_files = sys.argv[1:4]
own = set(open(own_files).read().split())
# Names other crates' files carry too (core's iter.rs and result.rs, crossbeam's lazy.rs, …).
GENERIC = {"mod.rs", "lib.rs", "iter.rs", "iterator.rs", "result.rs", "lazy.rs", "header.rs",
           "stack.rs", "config.rs", "meta.rs", "constants.rs", "fail.rs", "oneshot.rs"}
sled = set(open(sled_files).read().split()) - own - GENERIC

PARTS = [
    # The replay ring of live events and what the engine builds for it.
    ("live events (replay ring)", lambda f: re.match(r"publish \(mod\.rs\)", f)
     or "(events.rs)" in f or "(event.rs)" in f),
    # The numbering plan: its metadata, its compiled patterns and their search caches.
    ("phone numbering plan (phonenumber, regex)", lambda f: "phonenumber" in f
     or "regex" in f),
    ("zstd contexts and dictionaries", lambda f: "ZSTD" in f or "zstd" in f),
    ("sled (page cache, page table, log buffers)", lambda f: file_of(f) in sled),
    ("templates (minijinja)", lambda f: "minijinja" in f),
    ("HTTP (hyper, warp)", lambda f: "hyper" in f or "warp" in f),
]


def file_of(frame):
    m = re.search(r"\(([^()]+\.rs)\)$", frame)
    return m.group(1) if m else ""


totals = {}
total = 0
for line in open(stacks, errors="replace"):
    stack, _, cost = line.rstrip("\n").rpartition(" ")
    if not cost.isdigit():
        continue
    cost = int(cost)
    total += cost
    part = "the rest (hookflow's records in flight, tokio, libraries)"
    for frame in reversed(stack.split(";")):
        hit = next((name for name, test in PARTS if test(frame)), None)
        if hit:
            part = hit
            break
    totals[part] = totals.get(part, 0) + cost

print(f"heap at its peak, by part ({total / 1e6:.1f} MB):")
for part, cost in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"  {cost / 1e6:6.2f} MB  {100 * cost / max(total, 1):4.1f} %  {part}")
