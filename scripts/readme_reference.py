#!/usr/bin/env python3
"""Keep README.md's pipeline reference equal to `jetstreamd --describe`.

    readme_reference.py update   rewrite the section between the markers
    readme_reference.py check    exit 1 (showing a diff) when it differs
"""
import difflib
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- describe:begin -->\n", "<!-- describe:end -->\n"


def generated():
    binary = ROOT / "build" / "jetstreamd"
    return subprocess.run([str(binary), "--describe"], check=True, capture_output=True,
                          text=True).stdout


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "check"
    readme = (ROOT / "README.md").read_text()
    head, rest = readme.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    wanted = generated()
    if mode == "update":
        (ROOT / "README.md").write_text(head + BEGIN + wanted + END + tail)
        return 0
    if current == wanted:
        print("README reference matches jetstreamd --describe")
        return 0
    sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), wanted.splitlines(True),
                                               "README.md", "jetstreamd --describe"))
    print("README reference is stale: run scripts/readme_reference.py update")
    return 1


if __name__ == "__main__":
    sys.exit(main())
