#!/usr/bin/env python3
"""Fails when the include graph between modules has a circle.

A module is a file's name without its extension: src/watch.c and
include/watch.h are the module "watch"; a private header, include/X_priv.h
(which only X's own files include), is part of module X. There is an edge X -> Y when X.c or
X.h has `#include "Y.h"`. Every circle (elementary cycle) of that graph is
named, with the include lines that make it, and the exit status is 1 unless
each one is in ALLOWED below.

usage: include_cycles.py [SOURCE_ROOT]   (default: this script's ../..)
"""

import os
import re
import sys

# The only circles allowed. A key is a circle as the modules it passes, from
# the first in alphabetical order, each including the next and the last the
# first. The value is the include line it must pass through, (file, module
# included). When that line goes, the circle goes, and its entry is reported
# as stale: then remove it.
#
# None now: the engine (sweeper, rotator) is handed its parts (engine.h), not
# the whole daemon. src/restore_job.c and src/commands.c still include
# daemon.h, but nothing the daemon includes leads back to them: no circle.
ALLOWED = {}

# Past this many circles, the rest are counted, not listed.
MAX_LISTED = 200

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def module_of(path):
    name = os.path.splitext(os.path.basename(path))[0]
    return name[:-len("_priv")] if name.endswith("_priv") else name


def build_graph(root):
    """{module: {included module: [the files that include it]}}."""
    graph = {}
    for sub, ext in (("src", ".c"), ("include", ".h")):
        base = os.path.join(root, sub)
        for name in sorted(os.listdir(base)):
            if not name.endswith(ext):
                continue
            rel = f"{sub}/{name}"
            mod = module_of(name)
            edges = graph.setdefault(mod, {})
            with open(os.path.join(base, name), encoding="utf-8", errors="replace") as f:
                for line in f:
                    m = INCLUDE.match(line)
                    if not m or not m.group(1).endswith(".h"):
                        continue
                    target = module_of(m.group(1))
                    if target != mod:
                        edges.setdefault(target, []).append(rel)
    for edges in list(graph.values()):
        for target in edges:
            graph.setdefault(target, {})
    return graph


def components(graph):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        # Iterative: no recursion limit to meet on a long chain.
        work = [(v, iter(sorted(graph[v])))]
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        while work:
            node, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[node] = min(low[node], index[w])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp = set()
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.add(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def circles(graph, comp, limit):
    """The elementary circles within comp, each starting at its smallest module."""
    found = []
    order = sorted(comp)
    for i, start in enumerate(order):
        allowed = set(order[i:])
        path, on_path = [start], {start}

        def walk(node):
            for nxt in sorted(graph[node]):
                if len(found) >= limit:
                    return
                if nxt == start:
                    found.append(tuple(path))
                elif nxt in allowed and nxt not in on_path:
                    path.append(nxt)
                    on_path.add(nxt)
                    walk(nxt)
                    on_path.discard(nxt)
                    path.pop()

        walk(start)
    return found


def describe(graph, circle):
    steps = []
    for a, b in zip(circle, circle[1:] + circle[:1]):
        steps.append(f"{' and '.join(graph[a][b])} includes {b}.h")
    return " -> ".join(circle + circle[:1]) + "\n    " + "\n    ".join(steps)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    graph = build_graph(root)
    found = []
    for comp in components(graph):
        found += circles(graph, comp, MAX_LISTED + 1 - len(found))
    bad = []
    for c in found:
        why = ALLOWED.get(c)
        if why is None:
            bad.append(c)
            continue
        src, target = why
        edge_ok = any(
            target in graph[a] and src in graph[a][target] and b == target
            for a, b in zip(c, c[1:] + c[:1])
        )
        if not edge_ok:
            bad.append(c)
    for c in bad[:MAX_LISTED]:
        print("include circle: " + describe(graph, c))
    if len(found) > MAX_LISTED:
        print(f"... and more circles past the first {MAX_LISTED}")
    for c in sorted(set(ALLOWED) - set(found)):
        print("note: allowed circle no longer there, remove it from ALLOWED: "
              + " -> ".join(c + c[:1]))
    if bad:
        print(f"{len(bad)} include circle(s) between modules: pass the module what it needs "
              "instead of including the header that includes it back")
        return 1
    print(f"no include circles between {len(graph)} modules but the {len(found)} allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
