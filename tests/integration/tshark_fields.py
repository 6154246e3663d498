# SPDX-License-Identifier: BSD-3-Clause
"""tshark's fields of each frame of a capture, as the oracles read them: no
reassembly, the first occurrence of a field (the outermost header's)."""
import subprocess


def frames(capture, fields):
    """Yield a dict {field: text} per frame of @capture (an absent field is "")."""
    command = ["tshark", "-r", capture, "-n", "-o", "ip.defragment:FALSE",
               "-o", "ipv6.defragment:FALSE", "-T", "fields", "-E", "occurrence=f",
               "-E", "separator=\t"]
    for field in fields:
        command += ["-e", field]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    for line in output.splitlines():
        yield dict(zip(fields, line.split("\t")))
