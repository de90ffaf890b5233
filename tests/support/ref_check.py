#!/usr/bin/env python3
"""Reference-side config checker for the differential config test.

Usage: python ref_check.py FILE

Loads FILE with Python Supervisor's own option machinery, exactly as
`supervisord -c FILE` does before it starts anything (ServerOptions.realize).
A config error makes realize() print `Error: <msg>` and a help hint to stderr
and exit with status 2; that is left untouched.

On success a normalised summary is written to stdout, in the same format that
the Rust `supervisord -c FILE --check` prints:

    <absolute path of FILE>: valid
    group <name> priority=<n>
      process <name> priority=<n> autostart=<true|false> command=<command>
    pool <name> priority=<n>
      process ...
    fcgi-group <name> priority=<n>
      process ...

Groups appear in the order of ServerOptions.process_group_configs (already
sorted by priority, then name) and processes in each group's process_configs
order, so the output never depends on dict iteration order.
"""

import os
import sys


def _kind(group_config):
    # Imported lazily so that a broken reference install shows up as an
    # ordinary traceback rather than a confusing usage error.
    from supervisor.options import (
        EventListenerPoolConfig,
        FastCGIGroupConfig,
        ProcessGroupConfig,
    )

    # FastCGIGroupConfig derives from ProcessGroupConfig: test it first.
    if isinstance(group_config, FastCGIGroupConfig):
        return 'fcgi-group'
    if isinstance(group_config, EventListenerPoolConfig):
        return 'pool'
    if isinstance(group_config, ProcessGroupConfig):
        return 'group'
    raise TypeError('unexpected group config type %r' % type(group_config))


def _bool(value):
    return 'true' if value else 'false'


def summarise(path, options):
    lines = ['%s: valid' % os.path.abspath(path)]
    for group_config in options.process_group_configs:
        lines.append('%s %s priority=%s' % (
            _kind(group_config), group_config.name, group_config.priority))
        for proc in group_config.process_configs:
            lines.append('  process %s priority=%s autostart=%s command=%s' % (
                proc.name, proc.priority, _bool(proc.autostart),
                proc.command))
    return lines


def main(argv):
    if len(argv) != 2:
        sys.stderr.write('usage: %s FILE\n' % argv[0])
        return 64
    path = argv[1]

    from supervisor.options import ServerOptions
    from supervisor import supervisord as supervisord_module

    options = ServerOptions()
    # progname/doc only affect the "For help, use ..." hint and -h output;
    # use the names the real entry point would show.
    options.realize(['-c', path], doc=supervisord_module.__doc__,
                    progname='supervisord')

    out = '\n'.join(summarise(path, options)) + '\n'
    sys.stdout.write(out)
    sys.stdout.flush()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
