#!/usr/bin/env python3
"""A hand-written event listener (raw protocol, no childutils) for the protocol edge
cases in tests/events.rs.

Usage: proto_listener.py MODE OUTFILE [ARG]

Every event received is appended to OUTFILE as one line
`<pid> <serial> <poolserial> <eventname> <answer>`; `answer` is what the listener
does with it. Modes:

  failtwice  answers FAIL to the first two deliveries, then OK to everything
  garbage    says READY, then (0.3 s later) writes garbage while READY; afterwards
             it only records what it is sent (answer `-`)
  die        the first process (ARG is a marker file it creates) exits while BUSY
             without answering (answer `died`); later processes answer OK
  gate       answers OK only once the file ARG exists (records on receipt, answer
             `gated`, then waits)
  slow       sleeps ARG seconds per event, answers OK and only then records
             (answer `OK`)
"""

import os
import sys
import time


def header(line):
    return dict(x.split(':', 1) for x in line.decode('utf-8').split())


def main():
    mode, outfile = sys.argv[1], sys.argv[2]
    arg = sys.argv[3] if len(sys.argv) > 3 else None
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    out = open(outfile, 'ab', buffering=0)
    pid = os.getpid()
    fails = 0
    dying = False
    if mode == 'die' and not os.path.exists(arg):
        open(arg, 'w').close()
        dying = True

    def record(h, answer):
        out.write(('%d %s %s %s %s\n' % (pid, h['serial'], h['poolserial'],
                                         h['eventname'], answer)).encode())

    def send(s):
        stdout.write(s)
        stdout.flush()

    send(b'READY\n')
    if mode == 'garbage':
        time.sleep(0.3)
        send(b'this is not the protocol\n')
    while True:
        line = stdin.readline()
        if not line:
            return
        h = header(line)
        stdin.read(int(h['len']))
        if mode == 'garbage':
            record(h, '-')
            continue
        if mode == 'failtwice' and fails < 2:
            fails += 1
            record(h, 'FAIL')
            send(b'RESULT 4\nFAIL')
        elif mode == 'die' and dying:
            record(h, 'died')
            os._exit(1)
        elif mode == 'gate':
            record(h, 'gated')
            while not os.path.exists(arg):
                time.sleep(0.02)
            send(b'RESULT 2\nOK')
        elif mode == 'slow':
            time.sleep(float(arg))
            send(b'RESULT 2\nOK')
            record(h, 'OK')
            send(b'READY\n')
            continue
        else:
            record(h, 'OK')
            send(b'RESULT 2\nOK')
        send(b'READY\n')


if __name__ == '__main__':
    main()
