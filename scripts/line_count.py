#!/usr/bin/env python3
"""Counts a crate's non-test source lines (issue 19: "auth-core's non-test line count").

Usage: python3 scripts/line_count.py [SRC_DIR]     (default: auth-core/src)

Each `.rs` file is cut at its first `#[cfg(test)]` followed by a `mod` line (the unit tests,
which this code base keeps at the end of a file). Prints all remaining lines, and how many of
them are code (neither blank nor a `//` comment, doc comments included in the latter).
"""

import pathlib
import re
import sys


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "auth-core/src")
    total = code = 0
    for path in sorted(root.rglob("*.rs")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"^#\[cfg\(test\)\]", line) and i + 1 < len(lines) and re.match(r"^mod \w+", lines[i + 1]):
                lines = lines[:i]
                break
        total += len(lines)
        code += sum(1 for line in lines if line.strip() and not line.strip().startswith("//"))
    print(f"{root}: {total} non-test lines, {code} of them code (not blank, not comment)")


if __name__ == "__main__":
    main()
