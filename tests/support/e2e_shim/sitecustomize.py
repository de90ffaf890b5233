"""Shim for running Supervisor 4.3.0's own end-to-end suite against our binary.

tests/e2e_reference.rs puts this directory on PYTHONPATH, so every Python
process of the run imports this module first. The suite starts the tools as
`python -m supervisor.supervisord ...` (and supervisorctl, pidproxy, and
echo_supervisord_conf through `-c "...confecho.main()"`); a process started
that way is replaced here by our executable with the same arguments. Any other
Python process (the test runner, the fixtures' children) runs untouched.

SUPERVISOR_E2E_BIN names our binary; SUPERVISOR_E2E_TOOLS lists the tools
that are substituted (comma-separated), so the daemon alone can be ours while
the client stays the real Python supervisorctl.
"""

import os
import sys


def _substitute():
    binary = os.environ.get('SUPERVISOR_E2E_BIN')
    if not binary:
        return
    tools = set(filter(None, os.environ.get('SUPERVISOR_E2E_TOOLS', '').split(',')))
    argv = list(getattr(sys, 'orig_argv', []))[1:]
    tool, rest = None, []
    if len(argv) >= 2 and argv[0] == '-m':
        module = argv[1]
        if module.startswith('supervisor.'):
            tool, rest = module[len('supervisor.'):], argv[2:]
    elif len(argv) >= 2 and argv[0] == '-c' and 'confecho' in argv[1]:
        tool, rest = 'echo_supervisord_conf', argv[2:]
    if tool is None or tool not in tools:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(binary, [binary, tool] + rest)


_substitute()
