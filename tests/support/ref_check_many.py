#!/usr/bin/env python3
"""Batch form of ref_check.py for the config mutator (tests/config_mutants.rs).

Usage: python ref_check_many.py FILE...

Imports the reference once, then checks each FILE in a forked child, so every
check starts from the same fresh state (environment, option objects) as a
separate `supervisord -c FILE` would. For each FILE, in order, stdout gets
the line `RESULT <exit status> <stdout length> <stderr length>` followed by
that many bytes of the check's stdout and stderr. A check still running after
20 seconds is killed (exit status -9).
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_check  # noqa: E402  (its imports are what we want preloaded)
from supervisor import options as _options  # noqa: E402,F401
from supervisor import supervisord as _supervisord  # noqa: E402,F401

TIMEOUT = 20.0


def check(path):
    out = tempfile.TemporaryFile()
    err = tempfile.TemporaryFile()
    pid = os.fork()
    if pid == 0:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        code = 1
        try:
            code = ref_check.main(['ref_check.py', path])
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    deadline = time.monotonic() + TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            status = 9
            break
        time.sleep(0.002)
    code = os.waitstatus_to_exitcode(status) if status != 9 else -9
    texts = []
    for f in (out, err):
        f.seek(0)
        texts.append(f.read())
        f.close()
    return code, texts[0], texts[1]


def main(argv):
    out = sys.stdout.buffer
    for path in argv[1:]:
        code, o, e = check(path)
        out.write(b'RESULT %d %d %d\n' % (code, len(o), len(e)) + o + e)
        out.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
