"""A listener the way most are written: supervisor.childutils on text-mode stdin.
Appends each event's name and payload to the file named by argv[1]."""
import sys
from supervisor import childutils

out = sys.argv[1]
while True:
    headers, payload = childutils.listener.wait(sys.stdin, sys.stdout)
    with open(out, "a", encoding="utf-8") as f:
        f.write("%s %s\n" % (headers["eventname"], payload.replace("\n", "|")))
    childutils.listener.ok(sys.stdout)
