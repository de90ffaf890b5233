#!/usr/bin/env python3
"""Runs the reference supervisorctl many times without paying Python's start-up each time.

Usage: python ref_ctl.py   (the reference venv's python)

Imports supervisor.supervisorctl once, then reads one command line per stdin line, its
words separated by the ASCII unit separator (0x1f). For each, it forks; the child runs supervisorctl's own `main(args)` --
exactly what the `supervisorctl` console script does -- with stdin from /dev/null,
stdout into a scratch file and stderr discarded. The parent answers with a header line
`<exit status> <byte count>` and then exactly that many bytes of stdout.
"""

import os
import sys
import tempfile

from supervisor import supervisorctl

PROG = os.path.join(os.path.dirname(sys.executable), "supervisorctl")


def run_one(words):
    sys.stdout.flush()
    with tempfile.TemporaryFile() as out:
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                null = os.open(os.devnull, os.O_RDWR)
                os.dup2(null, 0)
                os.dup2(null, 2)
                os.dup2(out.fileno(), 1)
                sys.argv = [PROG] + words
                try:
                    supervisorctl.main(args=words)
                    code = 0
                except SystemExit as e:
                    if e.code is None:
                        code = 0
                    elif isinstance(e.code, int):
                        code = e.code
                    else:
                        code = 1
                sys.stdout.flush()
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        data = out.read()
    return code, data


def main():
    stdin = sys.stdin.buffer
    reply = sys.stdout.buffer
    while True:
        line = stdin.readline()
        if not line:
            break
        line = line.rstrip(b"\n").decode("utf-8")
        words = line.split("\x1f") if line else []
        code, data = run_one(words)
        reply.write(b"%d %d\n" % (code, len(data)))
        reply.write(data)
        reply.flush()


if __name__ == "__main__":
    main()
