#!/usr/bin/env python3
"""Deterministic output for the log-integrity tests (tests/reliability.rs).

Usage: records.py COUNT [PER_WRITE [DELAY]]

Writes COUNT numbered 64-byte records to stdout, PER_WRITE records per write(2)
(default 1024, i.e. 64 KiB), sleeping DELAY seconds after each write (default 0).
Record i is its number as 16 decimal digits, 47 bytes that depend on i % 26, and a
newline; the Rust side regenerates the same stream to compare with the logs:

    "%016d" % i + bytes((97 + (i + k) % 26) for k in range(47)) + b"\\n"

Exits 0 after the last record.
"""

import os
import sys
import time

count = int(sys.argv[1])
per_write = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
delay = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0

bodies = [bytes(97 + (r + k) % 26 for k in range(47)) + b"\n" for r in range(26)]
i = 0
while i < count:
    end = min(count, i + per_write)
    chunk = b"".join(b"%016d" % n + bodies[n % 26] for n in range(i, end))
    view = memoryview(chunk)
    while view:
        written = os.write(1, view)
        view = view[written:]
    i = end
    if delay:
        time.sleep(delay)
