#!/usr/bin/env python3
"""Event listener built on the reference's own helper, supervisor.childutils
(tests/events.rs runs it with the Python reference's venv).

Usage: event_recorder.py OUTFILE

Every event is appended to OUTFILE as the header line exactly as received (with its
newline), the payload bytes, and the separator b"\\n\\x1e\\n"; then it is acknowledged
with childutils.listener.ok().

childutils.listener.wait() reads `len` *characters* from the stream it is given. The
pool that runs this recorder sets len_unit=bytes (our opt-in for listeners that read
bytes), so the stream handed to wait() reads bytes and decodes them.
"""

import sys

from supervisor import childutils


class ByteStdin:
    def __init__(self, raw):
        self.raw = raw
        self.line = b''
        self.payload = b''

    def readline(self):
        self.line = self.raw.readline()
        if not self.line:
            sys.exit(0)
        return self.line.decode('utf-8')

    def read(self, n):
        self.payload = self.raw.read(n)
        return self.payload.decode('utf-8')


def main():
    out = open(sys.argv[1], 'ab', buffering=0)
    stdin = ByteStdin(sys.stdin.buffer)
    while True:
        childutils.listener.wait(stdin, sys.stdout)
        out.write(stdin.line + stdin.payload + b'\n\x1e\n')
        childutils.listener.ok(sys.stdout)


if __name__ == '__main__':
    main()
