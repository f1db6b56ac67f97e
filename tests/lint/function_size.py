"""Fails when a C function in the tree is longer than the limit (lines from
its opening to its closing brace). Functions in the house style open with
'{' alone in column 0 and close with '}' in column 0.

usage: function_size.py [--max N] [--report] DIR..."""

import argparse
import os
import re
import sys

SIG = re.compile(r"^[A-Za-z_][\w \*]*?\b(\w+)\s*\(")


def functions(path):
    with open(path, errors="replace") as f:
        lines = f.read().split("\n")
    start = name = None
    for i, line in enumerate(lines):
        if line == "{" and i > 0:
            j = i - 1
            while j > 0 and not SIG.match(lines[j]) and lines[j].startswith(" "):
                j -= 1
            m = SIG.match(lines[j])
            name = m.group(1) if m else "?"
            start = i
        elif line == "}" and start is not None:
            yield name, start + 1, i - start + 1
            start = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--max", type=int, default=60)
    ap.add_argument("--report", action="store_true", help="list the longest, fail on none")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    found = []
    for d in args.dirs:
        for root, _, files in os.walk(d):
            for fn in files:
                if fn.endswith(".c"):
                    p = os.path.join(root, fn)
                    found += [(n, p, line, name) for name, line, n in functions(p)]
    found.sort(reverse=True)
    if args.report:
        for n, p, line, name in found[:20]:
            print("%4d %s:%d %s" % (n, p, line, name))
        return 0
    over = [f for f in found if f[0] > args.max]
    for n, p, line, name in over:
        print("%s:%d: %s is %d lines (limit %d): split it" % (p, line, name, n, args.max))
    print("function size: %d functions, %d over %d lines" % (len(found), len(over), args.max))
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
