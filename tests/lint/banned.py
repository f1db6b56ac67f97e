"""Fails on what the house style bans in C (curl's checksrc in spirit):

  strcpy, strcat, sprintf, atoi   unbounded or unchecked; use snprintf,
                                  memcpy with a length, vg_parse_int/strtol
  strerror                        not thread-safe; use vg_errno_str
  assignment in a condition       if (x = f()) / while ((n = read(...)) > 0):
                                  assign first, then test

Comments, string and character literals and preprocessor lines are not
looked at. An allow-list file holds known findings that may not be edited
yet, one per line as "PATH RULE COUNT" (COUNT findings of RULE in PATH are
tolerated; '#' starts a comment). A finding beyond the count fails; an
entry with fewer findings than its count is reported so it can shrink.

usage: banned.py [--allow FILE] DIR.."""

import argparse
import os
import re
import sys

CALLS = {
    "strcpy": "use memcpy with a known length, or snprintf",
    "strcat": "use vg_buf or snprintf",
    "sprintf": "use snprintf",
    "atoi": "use vg_parse_int or strtol with an end check",
    "strerror": "not thread-safe: use vg_errno_str",
}
CALL_RE = re.compile(r"\b(%s)\s*\(" % "|".join(CALLS))
COND_RE = re.compile(r"\b(if|while)\s*\(")
# '=' that is not part of ==, !=, <=, >= (compound assignments count too)
ASSIGN_RE = re.compile(r"(?<![=!<>])=(?!=)")


def strip(text):
    """text with comments, string and char literals blanked (newlines and
    offsets kept) and preprocessor lines emptied."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c)
            i = j
        else:
            out.append(c)
            i += 1
    lines = "".join(out).split("\n")
    cont = False
    for k, line in enumerate(lines):
        if cont or line.lstrip().startswith("#"):
            cont = line.endswith("\\")
            lines[k] = ""
    return "\n".join(lines)


def condition(code, start):
    """(text, end) of the parenthesised condition opening at code[start]."""
    depth = 0
    for j in range(start, len(code)):
        if code[j] == "(":
            depth += 1
        elif code[j] == ")":
            depth -= 1
            if depth == 0:
                return code[start + 1:j], j
    return code[start + 1:], len(code)


def findings(path):
    with open(path, errors="replace") as f:
        code = strip(f.read())

    def line_of(pos):
        return code.count("\n", 0, pos) + 1

    for m in CALL_RE.finditer(code):
        yield line_of(m.start()), m.group(1), "%s(): %s" % (m.group(1), CALLS[m.group(1)])
    for m in COND_RE.finditer(code):
        cond, _ = condition(code, m.end() - 1)
        if ASSIGN_RE.search(cond):
            yield (line_of(m.start()), "assign-in-condition",
                   "assignment inside %s %s condition: assign first, then test" % ("an" if m.group(1) == "if" else "a", m.group(1)))


def load_allow(path):
    allow = {}
    if path is None:
        return allow
    with open(path) as f:
        for k, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 3 or not parts[2].isdigit():
                sys.exit("%s:%d: want 'PATH RULE COUNT'" % (path, k))
            allow[(os.path.normpath(parts[0]), parts[1])] = int(parts[2])
    return allow


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--allow", help="allow-list file of known findings")
    ap.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    allow = load_allow(args.allow)
    seen = {}
    bad = 0
    files = 0
    for d in args.dirs:
        for root, dirs, names in os.walk(d):
            dirs.sort()
            for fn in sorted(names):
                if not fn.endswith((".c", ".h")):
                    continue
                p = os.path.normpath(os.path.join(root, fn))
                files += 1
                for line, rule, msg in sorted(findings(p)):
                    key = (p, rule)
                    seen[key] = seen.get(key, 0) + 1
                    if seen[key] > allow.get(key, 0):
                        print("%s:%d: %s" % (p, line, msg))
                        bad += 1
    for key, count in sorted(allow.items()):
        if seen.get(key, 0) < count:
            print("note: %s: %d %s allowed, %d found: lower the count in the allow-list"
                  % (key[0], count, key[1], seen.get(key, 0)))
    print("banned: %d files, %d findings, %d allowed" % (files, bad, sum(
        min(seen.get(k, 0), c) for k, c in allow.items())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
