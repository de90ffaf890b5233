"""Runs Supervisor 4.3.0's own end-to-end suite (supervisor.tests.test_end_to_end)
and prints one line per test, for tests/e2e_reference.rs to read:

    PASS <test name>
    FAIL <test name>
    <traceback lines, each indented by four spaces>

Usage: python e2e_run.py [--skip NAME]...

The suite only defines its tests when END_TO_END is in the environment; it
needs pexpect. Which executables answer `python -m supervisor.supervisord`
and friends is up to the sitecustomize shim on PYTHONPATH (e2e_shim/).
"""

import os
import sys
import unittest

os.environ.setdefault('END_TO_END', '1')


def main(argv):
    skip = set()
    args = list(argv[1:])
    while args:
        flag = args.pop(0)
        if flag != '--skip' or not args:
            sys.stderr.write('usage: e2e_run.py [--skip NAME]...\n')
            return 64
        skip.add(args.pop(0))

    from supervisor.tests import test_end_to_end
    suite = unittest.TestLoader().loadTestsFromModule(test_end_to_end)
    tests = [t for t in suite_tests(suite) if t._testMethodName not in skip]

    failed = {}
    for test in tests:
        result = unittest.TestResult()
        test.run(result)
        problems = result.errors + result.failures + [
            (t, 'unexpected success') for t in result.unexpectedSuccesses]
        if problems:
            failed[test._testMethodName] = '\n'.join(text for _, text in problems)
            sys.stdout.write('FAIL %s\n' % test._testMethodName)
            for line in failed[test._testMethodName].splitlines():
                sys.stdout.write('    %s\n' % line)
        else:
            sys.stdout.write('PASS %s\n' % test._testMethodName)
        sys.stdout.flush()
    return 0


def suite_tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            for t in suite_tests(item):
                yield t
        else:
            yield item


if __name__ == '__main__':
    sys.exit(main(sys.argv))
