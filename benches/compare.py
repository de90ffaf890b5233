#!/usr/bin/env python3
"""Side-by-side benchmark: our `supervisor` against Python Supervisor 4.3.0.

    python3 benches/compare.py            # full run (~8 min on 2 cores)
    python3 benches/compare.py --quick    # 1 repetition, 5 s idle windows (~2 min)

See benches/README.md for the scenarios, flags and the last recorded results.

Every daemon is started in a fresh directory under target/bench-tmp and talks over a
unix socket there. The benchmark process makes itself a child subreaper, so every
process any daemon starts stays its descendant; all of them are killed on exit,
failure or Ctrl-C.
"""

import argparse
import ctypes
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import xmlrpc.client

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.path.join(ROOT, "target")
TMP = os.path.join(TARGET, "bench-tmp")
OUR_BIN = os.path.join(TARGET, "release", "supervisor")
STATIC_TARGET_DIR = os.path.join(TARGET, "bench-static")
REF_VERSION = "4.3.0"
VENV = os.path.join(TARGET, "ref-venv")
VENV_READY = os.path.join(VENV, ".supervisor-%s-installed" % REF_VERSION)
CLK_TCK = os.sysconf("SC_CLK_TCK")
SLEEP = shutil.which("sleep") or "/bin/sleep"
FALSE = shutil.which("false") or "/bin/false"
MIB = 1024 * 1024

VERBOSE = False
START = time.monotonic()


def log(msg):
    print("[%7.1fs] %s" % (time.monotonic() - START, msg), file=sys.stderr, flush=True)


def vlog(msg):
    if VERBOSE:
        log(msg)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------
# process bookkeeping: subreaper, /proc readers, cleanup


def become_subreaper():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            log("warning: prctl(PR_SET_CHILD_SUBREAPER) failed; orphans may escape cleanup")
    except OSError:
        log("warning: no prctl; orphans may escape cleanup")


def ppid_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        kids.setdefault(int(rest[1]), []).append((int(d), rest[0]))
    return kids


def descendants(root):
    """Live (non-zombie) and zombie descendants of root: list of (pid, state)."""
    kids = ppid_map()
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for c, state in kids.get(p, []):
            out.append((c, state))
            todo.append(c)
    return out


def reap_orphans():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


LIVE_DAEMONS = []


def kill_everything():
    """Kills every descendant of this process (daemons, their children, orphans)."""
    me = os.getpid()
    for d in list(LIVE_DAEMONS):
        d.kill()
    deadline = time.monotonic() + 10
    while True:
        live = [p for p, st in descendants(me) if st != "Z"]
        for p in live:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        reap_orphans()
        if not live or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    reap_orphans()


def _read(path):
    with open(path) as f:
        return f.read()


def tasks(pid):
    try:
        return os.listdir("/proc/%d/task" % pid)
    except OSError:
        return []


def cpu_ns(pid):
    """On-CPU time of all threads, from schedstat (ns)."""
    total = 0
    for t in tasks(pid):
        try:
            total += int(_read("/proc/%d/task/%s/schedstat" % (pid, t)).split()[0])
        except OSError:
            pass
    return total


def cpu_ticks_ms(pid):
    """utime+stime of the whole process from /proc/PID/stat, in ms (tick resolution)."""
    s = _read("/proc/%d/stat" % pid)
    f = s[s.rindex(")") + 2:].split()
    return (int(f[11]) + int(f[12])) * 1000.0 / CLK_TCK


def status_field(pid, name, task=None):
    path = "/proc/%d/status" % pid if task is None else "/proc/%d/task/%s/status" % (pid, task)
    for line in _read(path).splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def ctxt(pid):
    """(voluntary, nonvoluntary) context switches summed over threads."""
    v = n = 0
    for t in tasks(pid):
        try:
            v += status_field(pid, "voluntary_ctxt_switches", t)
            n += status_field(pid, "nonvoluntary_ctxt_switches", t)
        except OSError:
            pass
    return v, n


def rss_kb(pid):
    return status_field(pid, "VmRSS")


def children_of(pid):
    out = set()
    for t in tasks(pid):
        try:
            out.update(int(x) for x in _read("/proc/%d/task/%s/children" % (pid, t)).split())
        except OSError:
            pass
    return out


class Sample:
    def __init__(self, pid):
        self.t = time.perf_counter()
        self.cpu_ns = cpu_ns(pid)
        self.ticks_ms = cpu_ticks_ms(pid)
        self.vcsw, self.ivcsw = ctxt(pid)

    def delta(self, later):
        return {
            "seconds": later.t - self.t,
            "cpu_ms": (later.cpu_ns - self.cpu_ns) / 1e6,
            "ticks_ms": later.ticks_ms - self.ticks_ms,
            "vcsw": later.vcsw - self.vcsw,
            "ivcsw": later.ivcsw - self.ivcsw,
        }


# --------------------------------------------------------------------------------------
# the two implementations


class Impl:
    def __init__(self, key, label, daemon, ctl):
        self.key, self.label, self._daemon, self._ctl = key, label, daemon, ctl

    def daemon_cmd(self, conf):
        return self._daemon + ["-n", "-c", conf]

    def ctl_cmd(self, conf, *args):
        return self._ctl + ["-c", conf] + list(args)


REF = Impl("ref", "reference", [os.path.join(VENV, "bin", "supervisord")], [os.path.join(VENV, "bin", "supervisorctl")])
OURS = Impl("ours", "ours", [OUR_BIN, "supervisord"], [OUR_BIN, "ctl"])
STATIC_BIN = None  # set once the static binary is built
OURS_STATIC = None
IMPLS = (REF, OURS)


# --------------------------------------------------------------------------------------
# XML-RPC over a unix socket


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        if self._connection and host == self._connection[0]:
            return self._connection[1]
        self._connection = host, UnixHTTPConnection(self.unix_path)
        return self._connection[1]


def rpc(sock):
    return xmlrpc.client.ServerProxy("http://localhost/RPC2", transport=UnixTransport(sock))


class RawClient:
    """One keep-alive HTTP connection; returns the raw XML-RPC answer, unparsed."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(60)
        self.s.connect(path)

    def call(self, method):
        body = xmlrpc.client.dumps((), method).encode()
        req = (
            "POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
            "Content-Length: %d\r\n\r\n" % len(body)
        ).encode() + body
        self.s.sendall(req)
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(262144)
            if not chunk:
                raise BenchError("connection closed before an answer")
            buf += chunk
        head, _, rest = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0] or not m:
            raise BenchError("bad answer head: %r" % head[:200])
        n = int(m.group(1))
        parts = [rest]
        have = len(rest)
        while have < n:
            chunk = self.s.recv(262144)
            if not chunk:
                raise BenchError("answer cut short")
            parts.append(chunk)
            have += len(chunk)
        return b"".join(parts)

    def close(self):
        self.s.close()


# --------------------------------------------------------------------------------------
# a daemon in a fresh directory


class LogWatcher:
    """Counts lines containing a marker in a growing file, reading only what is new."""

    def __init__(self, path):
        self.path, self.off, self.partial = path, 0, b""
        self.counts = {}

    def poll(self, markers):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.off)
                data = f.read()
        except FileNotFoundError:
            return
        if not data:
            return
        self.off += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        for m in markers:
            self.counts[m] = self.counts.get(m, 0) + sum(1 for l in lines if m in l)

    def wait(self, marker, n, timeout, interval=0.001):
        """Polls until `n` lines with `marker` were seen; returns perf_counter() then."""
        deadline = time.perf_counter() + timeout
        while True:
            self.poll([marker])
            now = time.perf_counter()
            if self.counts.get(marker, 0) >= n:
                return now
            if now > deadline:
                raise BenchError("timed out waiting for %d %r lines in %s (saw %d)"
                                 % (n, marker, self.path, self.counts.get(marker, 0)))
            time.sleep(interval)


_dir_counter = [0]


def fresh_dir(tag):
    _dir_counter[0] += 1
    d = os.path.join(TMP, "%s-%d" % (tag, _dir_counter[0]))
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def sleep_programs(n, prefix="p", extra=""):
    out = []
    for i in range(n):
        out.append(
            "[program:%s%03d]\ncommand=%s 100000\nstartsecs=0\nautorestart=true\n"
            "stdout_logfile=NONE\nstderr_logfile=NONE\n%s" % (prefix, i, SLEEP, extra)
        )
    return "\n".join(out)


class Daemon:
    def __init__(self, impl, tag, programs, minfds=4096):
        self.impl = impl
        self.dir = fresh_dir("%s-%s" % (tag, impl.key))
        self.sock = os.path.join(self.dir, "s.sock")
        self.logfile = os.path.join(self.dir, "supervisord.log")
        self.conf = os.path.join(self.dir, "supervisord.conf")
        self.proc = None
        with open(self.conf, "w") as f:
            f.write(
                "[unix_http_server]\nfile=%(sock)s\n\n"
                "[supervisord]\nlogfile=%(log)s\npidfile=%(dir)s/supervisord.pid\n"
                "childlogdir=%(dir)s\nloglevel=info\nminfds=%(minfds)d\nminprocs=1024\n\n"
                "[rpcinterface:supervisor]\n"
                "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n\n"
                "[supervisorctl]\nserverurl=unix://%(sock)s\n\n"
                % {"sock": self.sock, "log": self.logfile, "dir": self.dir, "minfds": minfds}
            )
            f.write(programs)
        self.watch = LogWatcher(self.logfile)

    @property
    def pid(self):
        return self.proc.pid

    def start(self):
        self.out = open(os.path.join(self.dir, "daemon.out"), "wb")
        self.t_launch = time.perf_counter()
        self.proc = subprocess.Popen(self.impl.daemon_cmd(self.conf), stdout=self.out,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir)
        LIVE_DAEMONS.append(self)
        return self

    def check_alive(self):
        if self.proc.poll() is not None:
            raise BenchError("%s daemon exited with %s; see %s" % (self.impl.label, self.proc.returncode,
                                                                    os.path.join(self.dir, "daemon.out")))

    def rpc(self):
        return rpc(self.sock)

    def wait_states(self, n, state="RUNNING", timeout=60):
        """Waits (polling getAllProcessInfo every 0.1 s) until n processes are in state."""
        deadline = time.monotonic() + timeout
        proxy = None
        last = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if proxy is None:
                    proxy = self.rpc()
                info = proxy.supervisor.getAllProcessInfo()
                last = [p["statename"] for p in info]
                if sum(1 for s in last if s == state) >= n:
                    return
            except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError):
                proxy = None
            time.sleep(0.1)
        raise BenchError("%s: timed out waiting for %d %s (last: %s)" % (
            self.impl.label, n, state, None if last is None else {s: last.count(s) for s in set(last)}))

    def wait_socket(self, timeout=30):
        self.wait_states(0, timeout=timeout)

    def kill(self):
        """Freezes the daemon (no more spawns), then SIGKILLs it and all it started."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGSTOP)
            except OSError:
                pass
            victims = [p for p, _ in descendants(self.pid)]
            for p in [self.pid] + victims:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            self.proc.wait()
        if self in LIVE_DAEMONS:
            LIVE_DAEMONS.remove(self)
        try:
            self.out.close()
        except Exception:
            pass
        # Orphans were re-parented to us (subreaper): make sure none survives.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            reap_orphans()
            protected = set()
            for d in LIVE_DAEMONS:
                protected.add(d.pid)
                protected.update(p for p, _ in descendants(d.pid))
            live = [p for p, st in descendants(os.getpid()) if st != "Z" and p not in protected]
            if not live:
                break
            for p in live:
                try:
                    os.kill(p, signal.SIGKILL)
                except OSError:
                    pass
            time.sleep(0.01)

    def cleanup(self):
        self.kill()
        if not KEEP_TMP:
            shutil.rmtree(self.dir, ignore_errors=True)


KEEP_TMP = False


class Daemons:
    """Context manager: the daemons started inside are killed on leaving."""

    def __init__(self, *daemons):
        self.daemons = daemons

    def __enter__(self):
        for d in self.daemons:
            d.start()
        return self.daemons

    def __exit__(self, *exc):
        for d in self.daemons:
            d.cleanup()


def med(xs):
    return statistics.median(xs) if xs else float("nan")


# --------------------------------------------------------------------------------------
# scenarios; each returns {"ref": value, "ours": value, ...}


def sc_idle(cfg, nprog, window, tag):
    """Both daemons side by side (idle does not compete), all programs RUNNING, then a
    window with no client traffic: voluntary switches and CPU of each daemon."""
    res = {"ref": [], "ours": []}
    for rep in range(cfg.reps):
        ds = [Daemon(REF, tag, sleep_programs(nprog)), Daemon(OURS, tag, sleep_programs(nprog))]
        with Daemons(*ds):
            for d in ds:
                d.wait_states(nprog)
            time.sleep(cfg.settle)
            before = [Sample(d.pid) for d in ds]
            time.sleep(window)
            for d, b in zip(ds, before):
                d.check_alive()
                delta = b.delta(Sample(d.pid))
                res[d.impl.key].append(delta)
                vlog("%s %s rep %d: %s" % (tag, d.impl.key, rep, delta))
    return res


def sc_rss(cfg, nprog):
    res = {"ref": [], "ours": [], "static": []}
    for rep in range(cfg.reps):
        ds = [Daemon(REF, "rss%d" % nprog, sleep_programs(nprog)), Daemon(OURS, "rss%d" % nprog, sleep_programs(nprog))]
        if STATIC_BIN:
            ds.append(Daemon(OURS_STATIC, "rss%d" % nprog, sleep_programs(nprog)))
        with Daemons(*ds):
            for d in ds:
                d.wait_states(nprog)
            time.sleep(1.0)
            for d in ds:
                d.check_alive()
                kb = rss_kb(d.pid)
                hwm = status_field(d.pid, "VmHWM")
                anon = status_field(d.pid, "RssAnon")
                res[d.impl.key].append({"rss_kb": kb, "hwm_kb": hwm, "anon_kb": anon})
                vlog("rss %d %s rep %d: %d kB (anon %d kB, peak %d kB)" % (nprog, d.impl.key, rep, kb, anon, hwm))
    return res


def soak_client(sock, names, stop, stats, seed):
    """One of the soak's clients: a random mix of calls on a keep-alive connection,
    reconnecting every few dozen calls, until `stop` is set."""
    import random
    rnd = random.Random(seed)
    proxy, used = None, 0
    while not stop.is_set():
        try:
            if proxy is None or used >= rnd.randint(10, 60):
                proxy, used = rpc(sock), 0
            r = rnd.random()
            if r < 0.30:
                proxy.supervisor.getAllProcessInfo()
            elif r < 0.55:
                proxy.supervisor.getProcessInfo(rnd.choice(names))
            elif r < 0.70:
                proxy.supervisor.getState()
            elif r < 0.80:
                proxy.supervisor.tailProcessStdoutLog("chatty", 0, 4096)
            elif r < 0.88:
                proxy.supervisor.readLog(-2048, 0)
            elif r < 0.94:
                proxy.system.listMethods()
            else:
                try:
                    proxy.supervisor.getProcessInfo("no-such-process")
                except xmlrpc.client.Fault:
                    pass
            used += 1
            stats["calls"] += 1
        except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as e:
            stats["errors"] += 1
            stats["last_error"] = repr(e)
            proxy = None
            time.sleep(0.01)


def soak_churn(sock, stop, stats):
    """Connection churn beside the clients: connect and close without a request, and
    connect, send half a request and close, about 400 times a second."""
    partial = b"POST /RPC2 HTTP/1.1\r\nHost: localhost\r\nContent-Le"
    while not stop.is_set():
        for i in range(20):
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(sock)
                if i % 2:
                    s.sendall(partial)
                s.close()
                stats["churn"] += 1
            except OSError:
                stats["churn_errors"] += 1
        time.sleep(0.05)


def sc_soak(cfg):
    """Our daemon (and the reference's with --soak-ref) under cfg.soak_clients clients
    of mixed RPC traffic plus connection churn for cfg.soak_seconds, RSS sampled every
    10 s. The daemons run one after the other, each alone."""
    import threading
    programs = sleep_programs(50) + (
        "\n[program:chatty]\ncommand=/bin/sh -c 'while :; do echo tick tock; sleep 0.1; done'\n"
        "startsecs=0\nautorestart=true\nstdout_logfile=AUTO\nstdout_logfile_maxbytes=64KB\n"
    )
    names = ["p%03d" % i for i in range(50)] + ["chatty"]
    res = {}
    impls = [REF, OURS] if cfg.soak_ref else [OURS]
    for impl in impls:
        d = Daemon(impl, "soak", programs)
        with Daemons(d):
            d.wait_states(51)
            time.sleep(cfg.settle)
            stop = threading.Event()
            stats = {"calls": 0, "errors": 0, "churn": 0, "churn_errors": 0, "last_error": None}
            threads = [threading.Thread(target=soak_client, args=(d.sock, names, stop, stats, i), daemon=True)
                       for i in range(cfg.soak_clients)]
            threads.append(threading.Thread(target=soak_churn, args=(d.sock, stop, stats), daemon=True))
            t0 = time.monotonic()
            samples = [(0.0, rss_kb(d.pid))]
            for t in threads:
                t.start()
            try:
                next_sample = t0 + 10
                while True:
                    now = time.monotonic()
                    if now - t0 >= cfg.soak_seconds:
                        break
                    time.sleep(max(0.0, min(next_sample, t0 + cfg.soak_seconds) - now))
                    if time.monotonic() >= next_sample:
                        d.check_alive()
                        samples.append((time.monotonic() - t0, rss_kb(d.pid)))
                        log("soak %s: %3.0f s, RSS %d kB, %d calls, %d errors, %d churned"
                            % (impl.key, samples[-1][0], samples[-1][1], stats["calls"], stats["errors"],
                               stats["churn"]))
                        next_sample += 10
            finally:
                stop.set()
                for t in threads:
                    t.join(timeout=30)
            d.check_alive()
            samples.append((time.monotonic() - t0, rss_kb(d.pid)))
            res[impl.key] = {"samples": samples, "seconds": time.monotonic() - t0, **stats}
            vlog("soak %s: %s" % (impl.key, res[impl.key]))
    return res


def spawn_floor(n):
    """The machine's floor for starting n programs: posix_spawn n `sleep`s from this
    process (no supervisor), until every one of them has exec'd."""
    t0 = time.perf_counter()
    pids = [os.posix_spawn(SLEEP, ["sleep", "100000"], os.environ) for _ in range(n)]
    for p in pids:
        while True:
            try:
                if _read("/proc/%d/comm" % p).strip() == "sleep":
                    break
            except OSError:
                break
            time.sleep(0.0002)
    t1 = time.perf_counter()
    for p in pids:
        os.kill(p, signal.SIGKILL)
    for p in pids:
        os.waitpid(p, 0)
    return t1 - t0


def sc_start500(cfg):
    n = 500
    res = {"ref": [], "ours": [], "floor": []}
    for rep in range(cfg.reps):
        res["floor"].append(spawn_floor(n))
        vlog("start500 floor rep %d: %.3f s" % (rep, res["floor"][-1]))
        for impl in IMPLS:
            d = Daemon(impl, "start", sleep_programs(n))
            with Daemons(d):
                t1 = d.watch.wait(b"success: ", n, timeout=120)
                secs = t1 - d.t_launch
                cpu = cpu_ns(d.pid) / 1e6
                d.check_alive()
                res[impl.key].append({"seconds": secs, "cpu_ms": cpu})
                vlog("start500 %s rep %d: %.3f s, cpu %.0f ms" % (impl.key, rep, secs, cpu))
    return res


def time_cmd(cmd, expect_lines=None):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    t1 = time.perf_counter()
    if p.returncode != 0:
        raise BenchError("%s exited %d: %s" % (cmd, p.returncode, p.stderr.decode(errors="replace")[-500:]))
    if expect_lines is not None:
        got = len(p.stdout.splitlines())
        if got != expect_lines:
            raise BenchError("%s printed %d lines, expected %d" % (cmd, got, expect_lines))
    return t1 - t0


def sc_ctl_status(cfg):
    n = 500
    runs = max(3, cfg.reps * 3)
    ds = [Daemon(REF, "ctl", sleep_programs(n)), Daemon(OURS, "ctl", sleep_programs(n))]
    res = {}
    with Daemons(*ds):
        for d in ds:
            d.wait_states(n)
        time.sleep(cfg.settle)
        pairs = [(REF, ds[0]), (OURS, ds[1]), (OURS, ds[0]), (REF, ds[1])]
        for ctl, d in pairs:
            time_cmd(ctl.ctl_cmd(d.conf, "status"), n)  # warm-up (page cache, .pyc)
        for ctl, d in pairs:
            res[(ctl.key, d.impl.key)] = []
        for _ in range(runs):
            for ctl, d in pairs:  # interleaved, so drift hits every pair alike
                res[(ctl.key, d.impl.key)].append(time_cmd(ctl.ctl_cmd(d.conf, "status"), n))
        for d in ds:
            d.check_alive()
    res[("floor", "ours")] = [time_cmd([OUR_BIN, "ctl", "--version"]) for _ in range(runs)]
    res[("floor", "ref")] = [time_cmd([os.path.join(VENV, "bin", "python"), "-c", "import supervisor.supervisorctl"])
                             for _ in range(runs)]
    for k, v in res.items():
        vlog("ctl status ctl=%s daemon=%s: %s" % (k[0], k[1], ["%.1f" % (x * 1000) for x in v]))
    return {"ref": res[("ref", "ref")], "ours": res[("ours", "ours")],
            "ours_ctl_ref_daemon": res[("ours", "ref")], "ref_ctl_ours_daemon": res[("ref", "ours")],
            "floor_ours": res[("floor", "ours")], "floor_ref": res[("floor", "ref")]}


def sc_getall(cfg):
    n = 500
    calls = max(5, cfg.reps * 7)
    ds = [Daemon(REF, "gapi", sleep_programs(n)), Daemon(OURS, "gapi", sleep_programs(n))]
    res = {"ref": [], "ours": [], "raw_ref": [], "raw_ours": [], "parse_ref": [], "parse_ours": []}
    with Daemons(*ds):
        for d in ds:
            d.wait_states(n)
        time.sleep(cfg.settle)
        proxies = {d.impl.key: d.rpc() for d in ds}
        raws = {d.impl.key: RawClient(d.sock) for d in ds}
        for d in ds:  # warm-up: connection open, first answer
            got = proxies[d.impl.key].supervisor.getAllProcessInfo()
            if len(got) != n:
                raise BenchError("%s getAllProcessInfo listed %d" % (d.impl.label, len(got)))
            raws[d.impl.key].call("supervisor.getAllProcessInfo")
        for _ in range(calls):
            for d in ds:
                k = d.impl.key
                t0 = time.perf_counter()
                got = proxies[k].supervisor.getAllProcessInfo()
                t1 = time.perf_counter()
                assert len(got) == n
                res[k].append(t1 - t0)
                t0 = time.perf_counter()
                body = raws[k].call("supervisor.getAllProcessInfo")
                t1 = time.perf_counter()
                res["raw_" + k].append(t1 - t0)
                xmlrpc.client.loads(body)
                res["parse_" + k].append(time.perf_counter() - t1)
        for c in raws.values():
            c.close()
        for d in ds:
            d.check_alive()
    vlog("getAllProcessInfo: %s" % {k: ["%.1f" % (x * 1000) for x in v] for k, v in res.items()})
    return res


FORK_LOOP_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
/* The machine's floor for starting n programs: fork+exec n `sleep`s, then wait until
   every one has exec'd (the CLOEXEC write end of one shared pipe closes in each child
   at exec; EOF means all have). Prints the seconds taken. */
int main(int argc, char **argv) {
    int n = atoi(argv[1]);
    int p[2];
    struct timespec t0, t1;
    char buf[1];
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (pipe2(p, O_CLOEXEC) != 0) return 1;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl(argv[2], "sleep", "100000", (char *)0);
            _exit(127);
        }
        if (pid < 0) return 1;
    }
    close(p[1]);
    while (read(p[0], buf, 1) > 0) {}
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%.6f\n", (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    return 0;
}
"""


def fork_loop_binary():
    src = os.path.join(TMP, "forkloop.c")
    exe = os.path.join(TMP, "forkloop")
    if not os.path.exists(exe):
        with open(src, "w") as f:
            f.write(FORK_LOOP_C)
        cc = shutil.which("cc") or shutil.which("gcc")
        if not cc:
            raise BenchError("no C compiler (cc) for the fork-loop floor")
        subprocess.run([cc, "-O2", "-o", exe, src], check=True)
    return exe


def fork_loop_floor(n):
    """Seconds for a C program to fork+exec n sleeps until all have exec'd; the sleeps
    are then killed (they are our children via the subreaper)."""
    # Output to a file: the sleeps inherit stdout, and a pipe would stay open with them.
    path = os.path.join(TMP, "forkloop.out")
    with open(path, "w") as f:
        rc = subprocess.run([fork_loop_binary(), str(n), SLEEP], stdout=f, stdin=subprocess.DEVNULL).returncode
    if rc != 0:
        raise BenchError("fork loop failed with status %d" % rc)
    reap_orphans()
    for p, st in descendants(os.getpid()):
        if st != "Z":
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(st != "Z" for _, st in descendants(os.getpid())):
        reap_orphans()
        time.sleep(0.01)
    reap_orphans()
    return float(_read(path).strip())


def growth_one(cfg, impl, n, slow):
    """One daemon with n programs (n groups): start, RSS, getAllProcessInfo CPU, ctl
    status/version, then SIGTERM -> exit."""
    r = {}
    d = Daemon(impl, "grow%d" % n, sleep_programs(n, prefix="g"), minfds=max(4096, 3 * n + 256))
    calls = 2 if slow else max(5, cfg.reps * 5)
    ctl_runs = 2 if slow else max(5, cfg.reps * 3)
    with Daemons(d):
        t1 = d.watch.wait(b"success: ", n, timeout=3600, interval=0.001)
        r["start_s"] = t1 - d.t_launch
        r["start_cpu_ms"] = cpu_ns(d.pid) / 1e6
        d.check_alive()
        d.wait_states(n, timeout=600)
        time.sleep(cfg.settle)
        r["rss_kb"] = rss_kb(d.pid)
        raw = RawClient(d.sock)
        body = raw.call("supervisor.getAllProcessInfo")
        if body.count(b"<name>statename</name>") != n:
            raise BenchError("%s getAllProcessInfo did not list %d processes" % (impl.label, n))
        cpus = []
        for _ in range(calls):
            c0 = cpu_ns(d.pid)
            raw.call("supervisor.getAllProcessInfo")
            cpus.append((cpu_ns(d.pid) - c0) / 1e6)
        raw.close()
        r["getall_cpu_ms"] = med(cpus)
        time_cmd(impl.ctl_cmd(d.conf, "status"), n)  # warm-up
        r["ctl_status_s"] = med([time_cmd(impl.ctl_cmd(d.conf, "status"), n) for _ in range(ctl_runs)])
        r["ctl_version_s"] = med([time_cmd(impl.ctl_cmd(d.conf, "version"), 1) for _ in range(ctl_runs)])
        d.check_alive()
        kids = [p for p, _ in descendants(d.pid)]
        t0 = time.perf_counter()
        os.kill(d.pid, signal.SIGTERM)
        try:
            d.proc.wait(timeout=3600)
        except subprocess.TimeoutExpired:
            raise BenchError("%s did not exit within 3600 s of SIGTERM" % impl.label)
        r["sigterm_s"] = time.perf_counter() - t0
        left = 0
        for k in kids:
            try:
                st = _read("/proc/%d/stat" % k)
                if st[st.rindex(")") + 2] != "Z":
                    left += 1
            except OSError:
                pass
        r["sigterm_left"] = left
    return r


def sc_growth(cfg):
    """Cost at cfg.growth_sizes programs (default 500 and 5,000), ours and the
    reference, and the C fork-loop floor for the same counts, in one run."""
    sizes = cfg.growth_sizes
    res = {"sizes": sizes, "floor": {}, "ours": {}, "ref": {}}
    for n in sizes:
        res["floor"][n] = med([fork_loop_floor(n) for _ in range(max(3, cfg.reps))])
        vlog("growth floor %d: %.3f s" % (n, res["floor"][n]))
        for impl in (OURS, REF):
            if impl.key not in cfg.growth_impls:
                continue
            # The reference is slow at thousands of programs: one repetition there.
            slow = impl is REF and n > 1000
            reps = 1 if (impl is REF and n > 1000) else cfg.reps
            runs = [growth_one(cfg, impl, n, slow) for _ in range(reps)]
            res[impl.key][n] = {k: med([x[k] for x in runs]) for k in runs[0]}
            res[impl.key][n]["sigterm_left"] = max(x["sigterm_left"] for x in runs)
            vlog("growth %s %d: %s" % (impl.key, n, res[impl.key][n]))
    return res


def http_get(sock_path, path):
    """One GET on a fresh unix-socket connection (Connection: close); returns the body."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(sock_path)
    s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())
    parts = []
    while True:
        chunk = s.recv(262144)
        if not chunk:
            break
        parts.append(chunk)
    s.close()
    data = b"".join(parts)
    head, _, body = data.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0]:
        raise BenchError("GET %s: %r" % (path, head[:200]))
    return body


def sc_web(cfg):
    """Daemon CPU per request of the web views with 500 programs, beside getAllProcessInfo;
    and what a status page left open (polling every 2 s, as its script does) costs."""
    n = 500
    calls = max(5, cfg.reps * 5)
    ds = [Daemon(REF, "web", sleep_programs(n)), Daemon(OURS, "web", sleep_programs(n))]
    views = {
        "index": ("/index.html", ("ref", "ours")),
        "json": ("/api/status", ("ours",)),
        "metrics": ("/metrics", ("ours",)),
        "getall": (None, ("ref", "ours")),
    }
    res = {}
    with Daemons(*ds):
        for d in ds:
            d.wait_states(n)
        time.sleep(cfg.settle)
        for d in ds:
            k = d.impl.key
            raw = RawClient(d.sock)
            for view, (path, impls) in views.items():
                if k not in impls:
                    continue
                get = (lambda: raw.call("supervisor.getAllProcessInfo")) if path is None else \
                    (lambda p=path: http_get(d.sock, p))
                get()  # warm-up
                cpu = []
                for _ in range(calls):
                    a = Sample(d.pid)
                    body = get()
                    b = Sample(d.pid)
                    if len(body) < n * 20:
                        raise BenchError("%s %s: a short answer (%d bytes)" % (d.impl.label, view, len(body)))
                    cpu.append(a.delta(b)["cpu_ms"])
                res[(view, k)] = cpu
                vlog("web %s %s: %s ms" % (k, view, ["%.2f" % x for x in cpu]))
            raw.close()
            d.check_alive()
        # The open page: /api/rows every 2 s on a keep-alive-less connection, as
        # measured from the daemon's context switches.
        d = ds[1]
        window = max(10.0, cfg.window)
        a = Sample(d.pid)
        t_end = time.perf_counter() + window
        while time.perf_counter() < t_end:
            http_get(d.sock, "/api/rows")
            time.sleep(2.0)
        b = Sample(d.pid)
        delta = a.delta(b)
        res["open_page_wakeups_per_s"] = (delta["vcsw"] + delta["ivcsw"]) / delta["seconds"]
    return res


def sc_kill9(cfg):
    """SIGKILL a RUNNING child; time until a new pid shows up among the daemon's children."""
    nprog = 10
    kills = max(2, cfg.reps + 2)
    res = {"ref": [], "ours": [], "exec_ref": [], "exec_ours": []}
    for impl in IMPLS:
        d = Daemon(impl, "kill9", sleep_programs(nprog))
        with Daemons(d):
            d.wait_states(nprog)
            for i in range(kills):
                name = b"p%03d" % (i % nprog)
                # No client traffic from here on: pid from /proc, state from the log.
                time.sleep(1.0 + 0.37 * i)  # vary the phase against any periodic tick
                d.check_alive()
                kids = children_of(d.pid)
                victim = None
                for k in kids:
                    try:
                        if "sleep" in _read("/proc/%d/cmdline" % k):
                            victim = k
                            break
                    except OSError:
                        pass
                if victim is None:
                    raise BenchError("%s: no sleeping child to kill" % impl.label)
                d.watch.poll([b"success: "])
                succ = d.watch.counts.get(b"success: ", 0)
                t0 = time.perf_counter()
                os.kill(victim, signal.SIGKILL)
                deadline = t0 + 30
                new = None
                while new is None:
                    now_kids = children_of(d.pid)
                    fresh = now_kids - kids
                    if fresh:
                        t1 = time.perf_counter()
                        new = fresh.pop()
                        break
                    if time.perf_counter() > deadline:
                        raise BenchError("%s: no new child within 30 s of kill -9" % impl.label)
                    time.sleep(0.0001)
                # ... and until the new child is the program (exec done).
                while True:
                    try:
                        if "sleep" in _read("/proc/%d/cmdline" % new).split("\0")[0]:
                            t2 = time.perf_counter()
                            break
                    except OSError:
                        t2 = float("nan")
                        break
                    if time.perf_counter() > deadline:
                        raise BenchError("%s: new child never exec'd" % impl.label)
                    time.sleep(0.0001)
                res[impl.key].append(t1 - t0)
                res["exec_" + impl.key].append(t2 - t0)
                vlog("kill9 %s #%d: new pid %d after %.2f ms (exec'd after %.2f ms)"
                     % (impl.key, i, new, (t1 - t0) * 1000, (t2 - t0) * 1000))
                # Let it get back to RUNNING before the next kill (startsecs=0).
                d.watch.wait(b"success: ", succ + 1, timeout=30, interval=0.01)
    return res


def sc_bigout(cfg, mb):
    size = mb * MIB
    res = {"ref": [], "ours": []}
    for rep in range(cfg.reps):
        for impl in IMPLS:
            d = Daemon(impl, "big", "")
            biglog = os.path.join(d.dir, "big.log")
            with open(d.conf, "a") as f:
                f.write(
                    "[program:big]\ncommand=/bin/sh -c \"yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    " | head -c %d\"\nautostart=false\nautorestart=false\nstartsecs=0\n"
                    "stdout_logfile=%s\nstdout_logfile_maxbytes=0\nstdout_logfile_backups=0\n"
                    "stderr_logfile=NONE\n" % (size, biglog)
                )
            with Daemons(d):
                d.wait_socket()
                time.sleep(cfg.settle)
                proxy = d.rpc()
                before = Sample(d.pid)
                proxy.supervisor.startProcess("big", False)
                deadline = time.perf_counter() + 300
                while True:
                    try:
                        have = os.stat(biglog).st_size
                    except FileNotFoundError:
                        have = 0
                    if have >= size:
                        break
                    if time.perf_counter() > deadline:
                        break
                    d.check_alive()
                    time.sleep(0.002)
                after = Sample(d.pid)
                # Then wait for EXITED and read the final size (anything lost or extra).
                for _ in range(300):
                    if proxy.supervisor.getProcessInfo("big")["statename"] == "EXITED":
                        break
                    time.sleep(0.05)
                time.sleep(0.2)
                final = os.stat(biglog).st_size if os.path.exists(biglog) else 0
                delta = before.delta(after)
                r = {"cpu_ms_per_100mb": delta["cpu_ms"] * 100.0 / mb, "seconds": delta["seconds"],
                     "logged": final, "written": size}
                res[impl.key].append(r)
                vlog("bigout %s rep %d: %s" % (impl.key, rep, r))
                os.unlink(biglog)
    return res


# Not anchored: the program's last line has no newline, and the daemon's next log line
# (the exit) follows it on the same line.
DAEMON_LOG_LINE = re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [^\n]*\n")


def sc_console(cfg, mb):
    """Ours only (the reference has no prefixed console): the same output through a log
    file, through the console target with whole prefixed lines, and through the console
    target without a prefix (the console path itself, same bytes in and out as the
    file); daemon CPU from startProcess until EXITED (the pipe is drained before the
    exit is acted on)."""
    size = mb * MIB
    res = {"file": [], "console": [], "plain": []}
    for rep in range(cfg.reps):
        for variant in ("file", "console", "plain"):
            d = Daemon(OURS, "console-" + variant, "")
            target = os.path.join(d.dir, "big.log") if variant == "file" else "/dev/stdout"
            extra = "stdout_log_prefix=big |\n" if variant == "console" else ""
            with open(d.conf, "a") as f:
                f.write(
                    "[program:big]\ncommand=/bin/sh -c \"yes 0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                    " | head -c %d\"\nautostart=false\nautorestart=false\nstartsecs=0\n"
                    "stdout_logfile=%s\nstdout_logfile_maxbytes=0\nstdout_logfile_backups=0\n"
                    "stderr_logfile=NONE\n%s" % (size, target, extra)
                )
            with Daemons(d):
                d.wait_socket()
                time.sleep(cfg.settle)
                proxy = d.rpc()
                before = Sample(d.pid)
                proxy.supervisor.startProcess("big", False)
                deadline = time.perf_counter() + 300
                while proxy.supervisor.getProcessInfo("big")["statename"] != "EXITED":
                    if time.perf_counter() > deadline:
                        raise BenchError("console %s: big did not exit" % variant)
                    d.check_alive()
                    time.sleep(0.005)
                after = Sample(d.pid)
                if variant == "file":
                    logged = os.stat(target).st_size
                elif variant == "plain":
                    # The program's bytes as they came, around the daemon's own log lines
                    # (written before the output starts and after it is drained).
                    with open(os.path.join(d.dir, "daemon.out"), "rb") as f:
                        out = f.read()
                    logged = len(out) - sum(len(m.group(0)) for m in DAEMON_LOG_LINE.finditer(out))
                else:
                    # A prefixed line is the program's line behind 6 bytes of prefix, with
                    # its newline (dropped by the split); the last, partial line of `head`
                    # got a newline it did not have when the pipe closed.
                    with open(os.path.join(d.dir, "daemon.out"), "rb") as f:
                        lines = [l for l in f.read().split(b"\n") if l.startswith(b"big | ")]
                    logged = sum(len(l) - 5 for l in lines) - (1 if size % 63 else 0)
                delta = before.delta(after)
                r = {"cpu_ms_per_100mb": delta["cpu_ms"] * 100.0 / mb, "logged": logged, "written": size}
                res[variant].append(r)
                vlog("console %s rep %d: %s" % (variant, rep, r))
    return res


def sc_sigterm(cfg):
    n = 100
    res = {"ref": [], "ours": [], "leftover_ref": [], "leftover_ours": []}
    for rep in range(cfg.reps):
        for impl in IMPLS:
            if impl is REF and rep >= cfg.sigterm_ref_reps:
                continue
            d = Daemon(impl, "term", sleep_programs(n, prefix="g"))
            with Daemons(d):
                d.wait_states(n)
                time.sleep(cfg.settle)
                kids = [p for p, _ in descendants(d.pid)]
                t0 = time.perf_counter()
                os.kill(d.pid, signal.SIGTERM)
                try:
                    d.proc.wait(timeout=300)
                except subprocess.TimeoutExpired:
                    raise BenchError("%s did not exit within 300 s of SIGTERM" % impl.label)
                t1 = time.perf_counter()
                left = 0
                for k in kids:
                    try:
                        st = _read("/proc/%d/stat" % k)
                        if st[st.rindex(")") + 2] != "Z":
                            left += 1
                    except OSError:
                        pass
                res[impl.key].append(t1 - t0)
                res["leftover_" + impl.key].append(left)
                vlog("sigterm %s rep %d: %.3f s, %d children left" % (impl.key, rep, t1 - t0, left))
    return res


def sc_fatal(cfg):
    n = 50
    progs = "\n".join(
        "[program:f%03d]\ncommand=%s\nautostart=false\nstartsecs=1\nstartretries=3\n"
        "stdout_logfile=NONE\nstderr_logfile=NONE\n" % (i, FALSE) for i in range(n))
    res = {"ref": [], "ours": []}
    for rep in range(cfg.reps):
        for impl in IMPLS:
            d = Daemon(impl, "fatal", progs)
            with Daemons(d):
                d.wait_socket()
                time.sleep(cfg.settle)
                proxy = d.rpc()
                before = Sample(d.pid)
                t0 = time.perf_counter()
                proxy.supervisor.startAllProcesses(False)
                t1 = d.watch.wait(b"gave up: ", n, timeout=120)
                after = Sample(d.pid)
                delta = before.delta(after)
                r = {"seconds": t1 - t0, "cpu_ms": delta["cpu_ms"], "vcsw": delta["vcsw"]}
                res[impl.key].append(r)
                vlog("fatal %s rep %d: %s" % (impl.key, rep, r))
    return res


def build_static(cfg):
    global STATIC_BIN, OURS_STATIC
    # The official recipe (crt-static, DT_RELR, no unwind tables), so that the size row
    # is the size tests/static_build.rs holds to 2 MiB. It prints the binary's path.
    cmd = ["sh", os.path.join(ROOT, "packaging", "build-static.sh"), "--target-dir", STATIC_TARGET_DIR]
    log("building the static binary: %s" % " ".join(cmd))
    p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise BenchError("static build failed")
    path = p.stdout.strip()
    if not os.path.isabs(path):
        path = os.path.join(ROOT, path)
    stripped = os.path.join(TMP, "supervisor-static-stripped")
    shutil.copyfile(path, stripped)
    strip = shutil.which("strip")
    if strip:
        subprocess.run([strip, stripped], check=True)
    size = os.path.getsize(stripped)
    os.unlink(stripped)
    STATIC_BIN = path
    OURS_STATIC = Impl("static", "ours (static)", [path, "supervisord"], [path, "ctl"])
    return {"ours": [size], "as_built": os.path.getsize(path)}


# --------------------------------------------------------------------------------------
# setup


def build_ours(cfg):
    if cfg.skip_build:
        if not os.path.exists(OUR_BIN):
            raise BenchError("--skip-build but %s does not exist" % OUR_BIN)
        return
    log("cargo build --release")
    p = subprocess.run(["cargo", "build", "--release"], cwd=ROOT)
    if p.returncode != 0:
        raise BenchError("cargo build --release failed")


def ensure_reference():
    if os.path.exists(VENV_READY):
        return
    import fcntl
    os.makedirs(TARGET, exist_ok=True)
    with open(os.path.join(TARGET, "ref-venv.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the tests create the same venv under the same lock
        if os.path.exists(VENV_READY):
            return
        python = os.environ.get("PYTHON", "python3")
        log("creating %s and installing supervisor==%s from PyPI" % (VENV, REF_VERSION))
        subprocess.run([python, "-m", "venv", VENV], check=True)
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "--quiet", "--disable-pip-version-check",
                        "supervisor==%s" % REF_VERSION], check=True)
        open(VENV_READY, "w").close()


def machine():
    model = "?"
    try:
        for line in _read("/proc/cpuinfo").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "Cargo.toml", "Cargo.lock"],
                               capture_output=True, text=True).stdout.strip()
        rev = head + (" + uncommitted changes under src/" if dirty else "")
    except OSError:
        rev = "?"
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": platform.release(), "rev": rev,
            "python": platform.python_version(), "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M")}


def cpu_busy():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    f = [int(x) for x in _read("/proc/stat").splitlines()[0].split()[1:]]
    idle = f[3] + f[4]
    return sum(f[:8]) - idle, sum(f[:8])


def check_limits():
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 4096:
        raise BenchError("RLIMIT_NOFILE hard limit %d < 4096 (needed for 500 programs)" % hard)


# --------------------------------------------------------------------------------------
# the table


def fmt_ms(x):
    if x != x:
        return "n/a"
    return "%.0f ms" % x if x >= 100 else ("%.1f ms" % x if x >= 1 else "%.2f ms" % x)


def fmt_s(x):
    return "%.2f s" % x if x >= 1 else fmt_ms(x * 1000)


def fmt_mb(kb):
    return "%.1f MB" % (kb / 1024.0) if kb >= 10240 else "%.2f MB" % (kb / 1024.0)


def ratio(ref, ours):
    if ref != ref or ours != ours:
        return "n/a"
    if ours == 0:
        return "∞" if ref > 0 else "—"
    r = ref / ours
    return "%.0f×" % r if r >= 100 else ("%.1f×" % r if r >= 10 else "%.2f×" % r)


def yes(b):
    return "yes" if b else "**NO**"


def rows_for(name, r, cfg):
    """Turns one scenario's raw results into table rows:
    (scenario, reference, ours, ratio, target, met)."""
    rows = []
    if name == "idle_wakeups":
        w = cfg.window
        rv = med([x["vcsw"] for x in r["ref"]])
        ov = med([x["vcsw"] for x in r["ours"]])
        rows.append(("idle wake-ups (voluntary ctx switches), 100 programs, %g s" % w,
                     "%g (%.2f/s)" % (rv, rv / w), "%g (%.2f/s)" % (ov, ov / w), ratio(rv, ov), "0", yes(ov == 0)))
    elif name == "rss":
        for n, tgt in ((1, 1.5), (500, 3.0)):
            rr = med([x["rss_kb"] for x in r[n]["ref"]])
            oo = med([x["rss_kb"] for x in r[n]["ours"]])
            ra = med([x["anon_kb"] for x in r[n]["ref"]])
            oa = med([x["anon_kb"] for x in r[n]["ours"]])
            rows.append(("daemon RSS (VmRSS), %d program%s [RssAnon]" % (n, "s" if n > 1 else ""),
                         "%s [%s]" % (fmt_mb(rr), fmt_mb(ra)), "%s [%s]" % (fmt_mb(oo), fmt_mb(oa)),
                         ratio(rr, oo), "≤ %g MB" % tgt, yes(oo <= tgt * 1024)))
            if r[n]["static"]:
                so = med([x["rss_kb"] for x in r[n]["static"]])
                sa = med([x["anon_kb"] for x in r[n]["static"]])
                rows.append(("  … the same with our static binary", "%s [%s]" % (fmt_mb(rr), fmt_mb(ra)),
                             "%s [%s]" % (fmt_mb(so), fmt_mb(sa)), ratio(rr, so), "≤ %g MB" % tgt,
                             yes(so <= tgt * 1024)))
    elif name == "idle_cpu":
        rr = med([x["cpu_ms"] for x in r["ref"]])
        oo = med([x["cpu_ms"] for x in r["ours"]])
        rows.append(("daemon CPU while idle, 500 programs, %g s (schedstat)" % cfg.window,
                     fmt_ms(rr), fmt_ms(oo), ratio(rr, oo), "0 ms", yes(oo < 0.5)))
    elif name == "start500":
        rr = med([x["seconds"] for x in r["ref"]])
        oo = med([x["seconds"] for x in r["ours"]])
        rows.append(("start 500 programs (startsecs=0): launch → 500 'success:' lines", fmt_s(rr), fmt_s(oo),
                     ratio(rr, oo), "≤ 0.2 s", yes(oo <= 0.2)))
        rr = med([x["cpu_ms"] for x in r["ref"]])
        oo = med([x["cpu_ms"] for x in r["ours"]])
        rows.append(("  … daemon CPU from launch to all RUNNING", fmt_ms(rr), fmt_ms(oo), ratio(rr, oo), "—", "—"))
        rows.append(("  … machine floor: 500 × posix_spawn(sleep) from Python, until all exec'd", "—",
                     fmt_s(med(r["floor"])), "—", "—", "—"))
    elif name == "ctl_status":
        rr = med(r["ref"]) * 1000
        oo = med(r["ours"]) * 1000
        rows.append(("`supervisorctl status`, 500 programs, whole process (ctl+daemon of one impl)",
                     fmt_ms(rr), fmt_ms(oo), ratio(rr, oo), "≤ 10 ms", yes(oo <= 10)))
        x = med(r["ours_ctl_ref_daemon"]) * 1000
        y = med(r["ref_ctl_ours_daemon"]) * 1000
        rows.append(("  … our ctl → reference daemon (vs Python ctl → reference daemon)", fmt_ms(rr), fmt_ms(x),
                     ratio(rr, x), "—", "—"))
        rows.append(("  … Python ctl → our daemon (vs Python ctl → reference daemon)", fmt_ms(rr), fmt_ms(y),
                     ratio(rr, y), "—", "—"))
        x = med(r["floor_ref"]) * 1000
        y = med(r["floor_ours"]) * 1000
        rows.append(("  … process floor: `python -c 'import supervisor.supervisorctl'` / `supervisor ctl --version`",
                     fmt_ms(x), fmt_ms(y), ratio(x, y), "—", "—"))
    elif name == "getall":
        rr = med(r["ref"]) * 1000
        oo = med(r["ours"]) * 1000
        rows.append(("getAllProcessInfo, 500 programs, persistent xmlrpc.client, one call", fmt_ms(rr), fmt_ms(oo),
                     ratio(rr, oo), "≤ 5 ms", yes(oo <= 5)))
        rr = med(r["raw_ref"]) * 1000
        oo = med(r["raw_ours"]) * 1000
        rows.append(("  … same call, raw HTTP round trip without XML parsing", fmt_ms(rr), fmt_ms(oo),
                     ratio(rr, oo), "≤ 5 ms", yes(oo <= 5)))
        rr = med(r["parse_ref"]) * 1000
        oo = med(r["parse_ours"]) * 1000
        rows.append(("  … client side only: xmlrpc.client.loads of the answer", fmt_ms(rr), fmt_ms(oo),
                     ratio(rr, oo), "—", "—"))
    elif name == "web":
        labels = [
            ("getall", "daemon CPU per getAllProcessInfo, 500 programs (for comparison)"),
            ("index", "  … per status page (/index.html), 500 programs"),
            ("json", "  … per JSON view (/api/status, with /proc usage), 500 programs"),
            ("metrics", "  … per /metrics scrape (with /proc usage), 500 programs"),
        ]
        for view, label in labels:
            rr = med(r[(view, "ref")]) if (view, "ref") in r else None
            oo = med(r[(view, "ours")])
            rows.append((label, fmt_ms(rr) if rr is not None else "—", fmt_ms(oo),
                         ratio(rr, oo) if rr is not None else "—", "≤ 10 ms", yes(oo <= 10)))
        w = r["open_page_wakeups_per_s"]
        rows.append(("  … a status page left open (polls every 2 s): daemon wake-ups per second", "—",
                     "%.2f" % w, "—", "≤ 5", yes(w <= 5)))
    elif name == "kill9":
        rr = med(r["ref"]) * 1000
        oo = med(r["ours"]) * 1000
        rows.append(("kill -9 of a child → new child pid visible (no client traffic)", fmt_ms(rr), fmt_ms(oo),
                     ratio(rr, oo), "≤ 5 ms", yes(oo <= 5)))
        rr = med(r["exec_ref"]) * 1000
        oo = med(r["exec_ours"]) * 1000
        rows.append(("  … until the new child has exec'd the program", fmt_ms(rr), fmt_ms(oo),
                     ratio(rr, oo), "—", "—"))
    elif name == "bigout":
        rr = med([x["cpu_ms_per_100mb"] for x in r["ref"]])
        oo = med([x["cpu_ms_per_100mb"] for x in r["ours"]])
        rlost = max(abs(x["written"] - x["logged"]) for x in r["ref"])
        olost = max(abs(x["written"] - x["logged"]) for x in r["ours"])
        ok = oo <= 30 and olost == 0
        rows.append(("%d MB through a child's stdout into its log: daemon CPU per 100 MB; bytes lost" % cfg.big_mb,
                     "%s; %d lost" % (fmt_ms(rr), rlost), "%s; %d lost" % (fmt_ms(oo), olost), ratio(rr, oo),
                     "≤ 30 ms, 0 lost", yes(ok)))
        rr = med([x["seconds"] for x in r["ref"]])
        oo = med([x["seconds"] for x in r["ours"]])
        rows.append(("  … wall time until the whole output is in the log", fmt_s(rr), fmt_s(oo), ratio(rr, oo),
                     "—", "—"))
    elif name == "console":
        ff = med([x["cpu_ms_per_100mb"] for x in r["file"]])
        cc = med([x["cpu_ms_per_100mb"] for x in r["console"]])
        pp = med([x["cpu_ms_per_100mb"] for x in r["plain"]])
        lost = max(abs(x["written"] - x["logged"]) for x in r["file"] + r["console"] + r["plain"])
        rows.append(("%d MB through a child's stdout, ours: to a log file vs. to the console as prefixed lines "
                     "(daemon CPU per 100 MB; bytes lost)" % cfg.big_mb,
                     "file: %s" % fmt_ms(ff), "console: %s; %d lost" % (fmt_ms(cc), lost), ratio(ff, cc),
                     "console ≤ file, 0 lost", yes(cc <= ff * 1.1 and lost == 0)))
        rows.append(("  … the console without a prefix (same bytes as the file)", "file: %s" % fmt_ms(ff),
                     "console: %s" % fmt_ms(pp), ratio(ff, pp), "—", "—"))
    elif name == "sigterm":
        rr = med(r["ref"])
        oo = med(r["ours"])
        left = max(r["leftover_ours"] or [0])
        rows.append(("SIGTERM → daemon exit, 100 programs in 100 groups", fmt_s(rr), fmt_s(oo), ratio(rr, oo),
                     "≤ 0.2 s", yes(oo <= 0.2 and left == 0)))
    elif name == "fatal":
        rr = med([x["seconds"] for x in r["ref"]])
        oo = med([x["seconds"] for x in r["ours"]])
        rows.append(("50 programs exit 1 at once (startretries=3, startsecs=1) → all FATAL (policy 6 s; ratio of the excess)",
                     "%.2f s (+%.2f)" % (rr, rr - 6), "%.2f s (+%.2f)" % (oo, oo - 6), ratio(rr - 6, oo - 6),
                     "≤ 6.1 s", yes(oo <= 6.1)))
        rr = med([x["cpu_ms"] for x in r["ref"]])
        oo = med([x["cpu_ms"] for x in r["ours"]])
        rows.append(("  … daemon CPU meanwhile", fmt_ms(rr), fmt_ms(oo), ratio(rr, oo), "≤ 50 ms", yes(oo <= 50)))
    elif name == "soak":
        def soak_cell(x):
            if x is None:
                return "—"
            after = [kb for t, kb in x["samples"] if t >= 60] or [x["samples"][-1][1]]
            growth = max(after) - after[0]
            return "%s at 1 min → %s at the end (max +%d kB after 1 min); %d calls, %d errors, %d churned" % (
                fmt_mb(after[0]), fmt_mb(x["samples"][-1][1]), growth, x["calls"], x["errors"], x["churn"])
        o = r["ours"]
        after = [kb for t, kb in o["samples"] if t >= 60] or [o["samples"][-1][1]]
        growth = max(after) - after[0]
        rows.append(("soak, %d s: %d clients of mixed RPC + connection churn, RSS every 10 s"
                     % (cfg.soak_seconds, cfg.soak_clients), soak_cell(r.get("ref")), soak_cell(o), "—",
                     "flat after 1 min (≤ +256 kB), 0 errors", yes(growth <= 256 and o["errors"] == 0)))
    elif name == "growth":
        sizes = r["sizes"]
        lo, hi = sizes[0], sizes[-1]
        rv = lambda key, n, k: r[key].get(n, {}).get(k, float("nan"))

        def growth(key, k):
            a, b = rv(key, lo, k), rv(key, hi, k)
            return b / a if a == a and b == b and a > 0 else float("nan")

        def gfmt(g):
            return "n/a" if g != g else "%.1f×" % g

        lin = hi / lo
        gmax = 11.0 * lin / 10.0
        for n in sizes:
            rows.append(("C fork-loop floor: fork+exec %d sleeps until all exec'd" % n, "—",
                         fmt_s(r["floor"][n]), "—", "—", "—"))
        metrics = [
            ("start_s", "start %d programs (%d groups, startsecs=0): launch → all 'success:'", fmt_s, 1.0),
            ("start_cpu_ms", "  … daemon CPU from launch to all RUNNING (%d programs%.0s)", fmt_ms, 1.0),
            ("getall_cpu_ms", "getAllProcessInfo, daemon CPU per call, %d programs%.0s", fmt_ms, 1.0),
            ("ctl_status_s", "`supervisorctl status`, %d programs%.0s, whole process", fmt_s, 1.0),
            ("ctl_version_s", "`supervisorctl version`, %d programs%.0s in the config, whole process", fmt_s, 1.0),
        ]
        for k, label, f, _ in metrics:
            for n in sizes:
                a, b = rv("ref", n, k), rv("ours", n, k)
                target, met = "—", "—"
                if k == "start_s" and n == 500:
                    fl = r["floor"][n]
                    target, met = "≤ 1.3× floor (%s)" % fmt_s(1.3 * fl), yes(b <= 1.3 * fl)
                if k == "ctl_status_s" and n == 500:
                    target, met = "≤ 10 ms", yes(b <= 0.010)
                rows.append((label % (n, n), f(a), f(b), ratio(a, b), target, met))
            go = growth("ours", k)
            rows.append(("  … growth %d → %d (linear: %.0f×)" % (lo, hi, lin), gfmt(growth("ref", k)), gfmt(go),
                         "—", "≤ %.0f×" % gmax, yes(go <= gmax)))
        for n in sizes:
            a, b = rv("ref", n, "rss_kb"), rv("ours", n, "rss_kb")
            rows.append(("daemon RSS, %d programs, all RUNNING" % n, fmt_mb(a), fmt_mb(b), ratio(a, b), "—", "—"))
        per = lambda key: (rv(key, hi, "rss_kb") - rv(key, lo, "rss_kb")) / (hi - lo)
        rows.append(("  … per additional program, %d → %d" % (lo, hi), "%.1f KB" % per("ref"), "%.1f KB" % per("ours"),
                     ratio(per("ref"), per("ours")), "≤ 2 KB", yes(per("ours") <= 2)))
        for n in sizes:
            a, b = rv("ref", n, "sigterm_s"), rv("ours", n, "sigterm_s")
            left = rv("ours", n, "sigterm_left")
            target, met = ("≤ 0.5 s, 0 left", yes(b <= 0.5 and left == 0)) if n == hi else ("—", "—")
            rows.append(("SIGTERM → daemon exit, %d programs in %d groups" % (n, n), fmt_s(a), fmt_s(b), ratio(a, b),
                         target, met))
    elif name == "static":
        s = r["ours"][0]
        rows.append(("static binary size (x86_64, release, crt-static, stripped)", "—",
                     "%.2f MB (%d B)" % (s / MIB, s), "—", "≤ 2 MB", yes(s <= 2 * MIB)))
    return rows


def table(rows):
    head = ("scenario", "reference", "ours", "ratio (ref/ours)", "target", "met?")
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


SCENARIOS = ["idle_wakeups", "rss", "idle_cpu", "start500", "ctl_status", "getall", "web", "kill9", "bigout",
             "console", "sigterm", "fatal", "growth", "static", "soak"]
# Long: run only when named in --only.
OPT_IN = ["soak"]
# (the static build runs before the others when selected; its row comes last)


def run_scenario(name, cfg):
    if name == "idle_wakeups":
        return sc_idle(cfg, 100, cfg.window, "idle100")
    if name == "idle_cpu":
        return sc_idle(cfg, 500, cfg.window, "idle500")
    if name == "rss":
        return {1: sc_rss(cfg, 1), 500: sc_rss(cfg, 500)}
    if name == "start500":
        return sc_start500(cfg)
    if name == "ctl_status":
        return sc_ctl_status(cfg)
    if name == "getall":
        return sc_getall(cfg)
    if name == "web":
        return sc_web(cfg)
    if name == "kill9":
        return sc_kill9(cfg)
    if name == "bigout":
        return sc_bigout(cfg, cfg.big_mb)
    if name == "console":
        return sc_console(cfg, cfg.big_mb)
    if name == "sigterm":
        return sc_sigterm(cfg)
    if name == "fatal":
        return sc_fatal(cfg)
    if name == "growth":
        return sc_growth(cfg)
    if name == "static":
        return cfg.static_result
    if name == "soak":
        return sc_soak(cfg)
    raise BenchError("unknown scenario %s" % name)


def main():
    global VERBOSE, KEEP_TMP
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1 repetition, 5 s idle windows (under 3 minutes)")
    ap.add_argument("--reps", type=int, help="repetitions per scenario (default 3, --quick 1)")
    ap.add_argument("--window", type=float, help="idle measuring window in seconds (default 20, --quick 5)")
    ap.add_argument("--sigterm-ref-reps", type=int,
                    help="repetitions of the reference's (slow) SIGTERM scenario (default: --reps)")
    ap.add_argument("--big-mb", type=int, default=200, help="MB pushed through a child's stdout (default 200)")
    ap.add_argument("--growth-sizes", default="500,5000",
                    help="program counts of the growth scenario, smallest first (default 500,5000)")
    ap.add_argument("--growth-impls", default="ref,ours",
                    help="implementations the growth scenario runs (default ref,ours; the C floor always runs)")
    ap.add_argument("--only", help="comma-separated scenarios to run: " + ",".join(SCENARIOS)
                    + " (%s only when named here)" % ",".join(OPT_IN))
    ap.add_argument("--soak-seconds", type=int, default=600, help="how long the soak runs (default 600)")
    ap.add_argument("--soak-clients", type=int, default=32, help="RPC clients in the soak (default 32)")
    ap.add_argument("--soak-ref", action="store_true", help="soak the reference too (as long again, before ours)")
    ap.add_argument("--skip", help="comma-separated scenarios to leave out")
    ap.add_argument("--skip-build", action="store_true", help="use the existing target/release/supervisor")
    ap.add_argument("--json", help="also write the raw per-repetition results to this file")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the daemons' directories under target/bench-tmp")
    ap.add_argument("--nice", type=int, default=None,
                    help="run the benchmark and both daemons at this nice value (default -10 as root, so other "
                         "load on the machine disturbs less; 0 to leave as is)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every repetition")
    cfg = ap.parse_args()
    cfg.reps = cfg.reps or (1 if cfg.quick else 3)
    cfg.window = cfg.window or (5.0 if cfg.quick else 20.0)
    cfg.sigterm_ref_reps = cfg.sigterm_ref_reps or cfg.reps
    cfg.growth_sizes = [int(x) for x in cfg.growth_sizes.split(",") if x.strip()]
    cfg.growth_impls = [x.strip() for x in cfg.growth_impls.split(",") if x.strip()]
    cfg.settle = 1.0 if cfg.quick else 2.0
    VERBOSE, KEEP_TMP = cfg.verbose, cfg.keep_tmp
    names = [n for n in SCENARIOS if n not in OPT_IN]
    if cfg.only:
        names = [n.strip() for n in cfg.only.split(",") if n.strip()]
    if cfg.skip:
        names = [n for n in names if n not in cfg.skip.split(",")]
    for n in names:
        if n not in SCENARIOS:
            ap.error("unknown scenario %r (known: %s)" % (n, ", ".join(SCENARIOS)))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    become_subreaper()
    os.makedirs(TMP, exist_ok=True)
    busy0 = cpu_busy()
    t_start = time.monotonic()
    results, rows = {}, []
    try:
        check_limits()
        build_ours(cfg)
        built = machine()
        ensure_reference()
        if "static" in names:
            # First, so the RSS scenario can also measure the static binary.
            t = time.monotonic()
            cfg.static_result = build_static(cfg)
            log("static build done in %.1f s" % (time.monotonic() - t))
        # The builds ran at normal priority; the measurements run at cfg.nice.
        if cfg.nice is None:
            cfg.nice = -10 if os.geteuid() == 0 else 0
        if cfg.nice:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, cfg.nice)
            except OSError as e:
                log("warning: cannot set nice %d: %s" % (cfg.nice, e))
                cfg.nice = 0
        for n in names:
            log("scenario %s" % n)
            t = time.monotonic()
            results[n] = run_scenario(n, cfg)
            log("scenario %s done in %.1f s" % (n, time.monotonic() - t))
            rows.extend(rows_for(n, results[n], cfg))
    except KeyboardInterrupt:
        log("interrupted; cleaning up")
        kill_everything()
        return 130
    except BenchError as e:
        log("error: %s" % e)
        kill_everything()
        if rows:
            print(table(rows))
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        kill_everything()
        if not KEEP_TMP:
            shutil.rmtree(TMP, ignore_errors=True)
    m = machine()
    m["rev"] = built["rev"]
    elapsed = time.monotonic() - t_start
    busy = cpu_busy()
    m["busy"] = (busy[0] - busy0[0]) / max(1, busy[1] - busy0[1])
    m["loadavg"] = _read("/proc/loadavg").split()[0]
    print()
    print("machine: %(nproc)s × %(cpu)s, Linux %(kernel)s, Python %(python)s; %(date)s" % m)
    print("measured: our binary built from %(rev)s" % m)
    print("mode: %s, %d repetition(s), medians; idle window %g s; total %.0f s"
          % ("quick" if cfg.quick else "full", cfg.reps, cfg.window, elapsed))
    print("machine busy %.0f%% on average during the run (all processes, ours included); load average now %s; "
          "nice %d" % (100 * m["busy"], m["loadavg"], cfg.nice))
    print("ratio = reference / ours (above 1: ours is smaller/faster; ∞: ours measured 0)")
    print()
    print(table(rows))
    if cfg.json:
        def keyfix(o):
            if isinstance(o, dict):
                return {str(k): keyfix(v) for k, v in o.items()}
            if isinstance(o, list):
                return [keyfix(v) for v in o]
            return o
        with open(cfg.json, "w") as f:
            json.dump({"machine": m, "elapsed_s": elapsed, "results": keyfix(results)}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
