#!/usr/bin/env python3
"""Checks a supervisord's /metrics for tests/metrics.rs with prometheus_client's own
text parser: every process's samples against getAllProcessInfo (xmlrpc.client), and
the CPU and memory figures against /proc.

Usage: python metrics_check.py SCENARIO BASE_URL
  match   one scrape, compared in full; prints `ok ...` lines
  storm   N scrapes while programs crash and restart: each parses, has one state
          sample per process, and the restart counters only grow
"""

import os
import sys
import urllib.request
import xmlrpc.client

from prometheus_client.parser import text_string_to_metric_families

STATES = ["STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED", "FATAL", "UNKNOWN"]


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


def scrape(base):
    with urllib.request.urlopen(base + "/metrics", timeout=60) as r:
        ctype = r.headers.get("Content-Type", "")
        if not ctype.startswith("text/plain; version=0.0.4"):
            fail("content type " + ctype)
        text = r.read().decode()
    fams = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = (s.labels.get("group"), s.labels.get("name"))
            fams.setdefault(s.name, {}).setdefault(key, []).append(s)
    return fams


def one(fams, name, key):
    got = fams.get(name, {}).get(key, [])
    return got[0].value if len(got) == 1 else None


def proc_rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def proc_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def match(base):
    server = xmlrpc.client.ServerProxy(base + "/RPC2")
    fams = scrape(base)
    infos = server.supervisor.getAllProcessInfo()
    for info in infos:
        key = (info["group"], info["name"])
        label = "%s:%s" % key
        up = 1 if info["statename"] in ("STARTING", "RUNNING", "STOPPING") else 0
        checks = [
            ("node_supervisord_state", info["state"]),
            ("node_supervisord_up", up),
            ("node_supervisord_exit_status", info["exitstatus"]),
            ("supervisor_process_pid", info["pid"]),
        ]
        for name, want in checks:
            got = one(fams, name, key)
            if got != want:
                fail("%s %s: %r, getAllProcessInfo says %r" % (name, label, got, want))
        start = one(fams, "node_supervisord_start_time_seconds", key)
        if info["statename"] == "RUNNING":
            if start != info["start"]:
                fail("start time of %s: %r vs %r" % (label, start, info["start"]))
            uptime = one(fams, "supervisor_process_uptime_seconds", key)
            if abs(uptime - (info["now"] - info["start"])) > 5:
                fail("uptime of %s: %r" % (label, uptime))
        elif start is not None:
            fail("a start time for %s, which is %s" % (label, info["statename"]))
        states = {s.labels["state"]: s.value for s in fams["supervisor_process_state"][key]}
        if sorted(states) != sorted(STATES) or [k for k, v in states.items() if v == 1] != [info["statename"]]:
            fail("state set of %s: %r" % (label, states))
        if info["pid"]:
            rss = one(fams, "supervisor_process_resident_memory_bytes", key)
            real = proc_rss(info["pid"])
            if not real * 0.7 <= rss <= real * 1.3 + 65536:
                fail("RSS of %s: %r, /proc says %r" % (label, rss, real))
            cpu = one(fams, "supervisor_process_cpu_seconds_total", key)
            real = proc_cpu(info["pid"])
            if not real - 0.05 <= cpu <= real + 0.5:
                fail("CPU of %s: %r, /proc says %r" % (label, cpu, real))
            print("ok %s rss=%d cpu=%.2f" % (label, rss, cpu), flush=True)
        print("ok %s %s" % (label, info["statename"]), flush=True)
    pid = server.supervisor.getPID()
    rss = fams["process_resident_memory_bytes"][(None, None)][0].value
    real = proc_rss(pid)
    if not real * 0.7 <= rss <= real * 1.3 + 65536:
        fail("daemon RSS %r vs %r" % (rss, real))
    fds = fams["process_open_fds"][(None, None)][0].value
    real = len(os.listdir("/proc/%d/fd" % pid))
    if abs(fds - real) > 4:
        fail("daemon fds %r vs %r" % (fds, real))
    cpu = fams["process_cpu_seconds_total"][(None, None)][0].value
    if not proc_cpu(pid) - 0.05 <= cpu <= proc_cpu(pid) + 0.5:
        fail("daemon CPU %r" % cpu)
    start = fams["process_start_time_seconds"][(None, None)][0].value
    if abs(start - os.stat("/proc/%d" % pid).st_mtime) > 120 and start < 1e9:
        fail("daemon start time %r" % start)
    print("ok daemon rss=%d fds=%d cpu=%.2f" % (rss, fds, cpu), flush=True)


def storm(base, n, scrapes):
    last = {}
    restarts = 0
    for i in range(scrapes):
        fams = scrape(base)
        states = fams.get("node_supervisord_state", {})
        if len(states) != n:
            fail("scrape %d: %d processes, want %d" % (i, len(states), n))
        for key, samples in fams.get("supervisor_process_restarts_total", {}).items():
            v = samples[0].value
            if v < last.get(key, 0):
                fail("restarts of %r went down" % (key,))
            last[key] = v
        restarts = sum(last.values())
        print("ok scrape %d: %d processes, %d restarts so far" % (i, len(states), restarts), flush=True)
    if restarts == 0:
        fail("no restarts counted during the storm")


def main():
    scenario, base = sys.argv[1], sys.argv[2].rstrip("/")
    if scenario == "match":
        match(base)
    else:
        storm(base, int(sys.argv[3]), int(sys.argv[4]))
    print("done", flush=True)


if __name__ == "__main__":
    main()
