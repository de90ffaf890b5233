#!/usr/bin/env python3
"""Drives an interactive program through a pseudo-terminal (standard library only).

Usage: python3 pty_drive.py SCRIPT -- COMMAND [ARG...]

Starts COMMAND on a new pty and follows SCRIPT, one step per line, `verb<TAB>argument`,
where the argument takes Python string escapes (\\t, \\r, \\n, \\x03, \\x1b[A, ...):

    expect<TAB>TEXT     wait until TEXT appears in the output after the previous match
    send<TAB>TEXT       type TEXT
    sleep<TAB>SECONDS   pause, still reading the output
    exit<TAB>           wait for COMMAND to exit (it must, within the timeout)

The whole output (the transcript, terminal bytes as they came) is written to stdout.
The last line on stderr is `exit=N` (N: COMMAND's exit status, or `running` when it
was still running at the end and got killed). When an expectation times out, stderr
says which and the driver exits with status 3; any other failure gives status 4.
Each wait gives up after PTY_DRIVE_TIMEOUT seconds (default 15).
"""

import codecs
import os
import pty
import select
import signal
import sys
import time

TIMEOUT = float(os.environ.get("PTY_DRIVE_TIMEOUT", "15"))


class Session:
    def __init__(self, argv):
        pid, fd = pty.fork()
        if pid == 0:
            try:
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        self.out = b""
        self.pos = 0
        self.status = None

    def pump(self, timeout):
        """Reads what is available within `timeout` seconds; False at end of output."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child side is closed
            return False
        if not data:
            return False
        self.out += data
        return True

    def reap(self, block=False):
        if self.status is not None:
            return True
        pid, status = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        self.status = os.waitstatus_to_exitcode(status)
        return True

    def expect(self, text):
        needle = text.encode("utf-8")
        deadline = time.monotonic() + TIMEOUT
        while True:
            at = self.out.find(needle, self.pos)
            if at >= 0:
                self.pos = at + len(needle)
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if not self.pump(min(left, 0.1)):
                # Output ended: one last look, then fail.
                at = self.out.find(needle, self.pos)
                if at >= 0:
                    self.pos = at + len(needle)
                    return True
                return False

    def send(self, text):
        os.write(self.fd, text.encode("utf-8"))

    def sleep(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if not self.pump(max(0.0, min(0.05, deadline - time.monotonic()))):
                time.sleep(max(0.0, min(0.05, deadline - time.monotonic())))

    def wait_exit(self):
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            self.pump(0.05)
            if self.reap():
                # Drain what is left.
                while self.pump(0.05):
                    r, _, _ = select.select([self.fd], [], [], 0)
                    if not r:
                        break
                return True
        return False

    def kill(self):
        if self.reap():
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:
                if self.reap():
                    return
                time.sleep(0.02)


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.stderr.write(__doc__)
        return 4
    with open(sys.argv[1], encoding="utf-8") as f:
        steps = [line.rstrip("\n") for line in f if line.strip()]
    session = Session(sys.argv[3:])
    code = 0
    try:
        for n, step in enumerate(steps, 1):
            verb, _, arg = step.partition("\t")
            arg = codecs.decode(arg, "unicode_escape")
            if verb == "expect":
                if not session.expect(arg):
                    sys.stderr.write("pty_drive: step %d: timed out waiting for %r\n" % (n, arg))
                    code = 3
                    break
            elif verb == "send":
                session.send(arg)
            elif verb == "sleep":
                session.sleep(float(arg))
            elif verb == "exit":
                if not session.wait_exit():
                    sys.stderr.write("pty_drive: step %d: the program did not exit\n" % n)
                    code = 3
                    break
            else:
                sys.stderr.write("pty_drive: step %d: unknown verb %r\n" % (n, verb))
                code = 4
                break
    finally:
        exited = session.reap()
        session.kill()
        sys.stdout.buffer.write(session.out)
        sys.stdout.flush()
        sys.stderr.write("exit=%s\n" % (session.status if exited else "running"))
    return code


if __name__ == "__main__":
    sys.exit(main())
