#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/corpus/ (see fuzz/README.md).

    python3 fuzz/tools/make_seeds.py [--capture /path/to/reference/venv]

- config: tests/configs/*.conf, plus echo_supervisord_conf's sample when --capture is given.
- xmlrpc_call: xmlrpc.client.dumps() of calls to every Supervisor 4.3.0 method and of
  responses (faults, nested arrays/structs, base64, dates, unicode, nil, doubles).
- http_request: hand-written requests as curl and browsers send them.
- With --capture VENV: runs the reference supervisord from VENV behind a recording
  proxy and drives it with its supervisorctl, curl and xmlrpc.client; the raw request
  streams become http_request seeds, the request and response bodies xmlrpc_call seeds.

Seeds are named by content hash, so rerunning only adds files.
"""

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import xmlrpc.client as xc

FUZZ = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(FUZZ)


def save(target, data, prefix="seed"):
    if isinstance(data, str):
        data = data.encode("utf-8")
    d = os.path.join(FUZZ, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = f"{prefix}-{hashlib.sha1(data).hexdigest()[:16]}"
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- config

def config_seeds():
    src = os.path.join(REPO, "tests", "configs")
    d = os.path.join(FUZZ, "corpus", "config")
    os.makedirs(d, exist_ok=True)
    for name in sorted(os.listdir(src)):
        if name.endswith(".conf"):
            shutil.copy(os.path.join(src, name), os.path.join(d, name))


# ---------------------------------------------------------------- xmlrpc

CALLS = [
    ("supervisor.getAPIVersion", ()),
    ("supervisor.getSupervisorVersion", ()),
    ("supervisor.getIdentification", ()),
    ("supervisor.getState", ()),
    ("supervisor.getPID", ()),
    ("supervisor.readLog", (0, 0)),
    ("supervisor.readLog", (-1000, 0)),
    ("supervisor.clearLog", ()),
    ("supervisor.shutdown", ()),
    ("supervisor.restart", ()),
    ("supervisor.reloadConfig", ()),
    ("supervisor.addProcessGroup", ("group",)),
    ("supervisor.removeProcessGroup", ("group",)),
    ("supervisor.startProcess", ("cat", True)),
    ("supervisor.startProcess", ("group:cat_00", False)),
    ("supervisor.startProcessGroup", ("group", True)),
    ("supervisor.startAllProcesses", (True,)),
    ("supervisor.stopProcess", ("cat", True)),
    ("supervisor.stopProcessGroup", ("group", False)),
    ("supervisor.stopAllProcesses", (True,)),
    ("supervisor.signalProcess", ("cat", "HUP")),
    ("supervisor.signalProcess", ("cat", 15)),
    ("supervisor.signalProcessGroup", ("group", "USR1")),
    ("supervisor.signalAllProcesses", ("TERM",)),
    ("supervisor.getAllConfigInfo", ()),
    ("supervisor.getProcessInfo", ("cat",)),
    ("supervisor.getAllProcessInfo", ()),
    ("supervisor.readProcessStdoutLog", ("cat", 0, 1024)),
    ("supervisor.readProcessLog", ("cat", -100, 0)),
    ("supervisor.readProcessStderrLog", ("cat", 0, 0)),
    ("supervisor.tailProcessStdoutLog", ("cat", 0, 1600)),
    ("supervisor.tailProcessLog", ("cat", 2**31 - 1, 1600)),
    ("supervisor.tailProcessStderrLog", ("group:cat", 0, 100)),
    ("supervisor.clearProcessLogs", ("cat",)),
    ("supervisor.clearProcessLog", ("cat",)),
    ("supervisor.clearAllProcessLogs", ()),
    ("supervisor.sendProcessStdin", ("cat", "hello\n")),
    ("supervisor.sendProcessStdin", ("cat", "h\u00e9llo \u2603 \U0001f600 <&> ]]>")),
    ("supervisor.sendRemoteCommEvent", ("type", "data")),
    ("supervisor.getProcessInfo", ("\u00fcn\u00efc\u00f8de",)),
    ("system.listMethods", ()),
    ("system.methodHelp", ("supervisor.getState",)),
    ("system.methodSignature", ("supervisor.startProcess",)),
    ("system.multicall", ([{"methodName": "supervisor.getState", "params": []},
                           {"methodName": "supervisor.startProcess", "params": ["cat", True]},
                           {"methodName": "system.multicall", "params": [[]]}],)),
    ("system.multicall", ([],)),
    ("twiddler.getAPIVersion", ()),
    ("", ()),
    ("supervisor.noSuchMethod", (1, 2.5, -0.0, 1e300, "s", b"bytes", None)),
]

NOW = xc.DateTime("20240229T23:59:60")

VALUES = [
    0, 1, -1, 2**31 - 1, -2**31, True, False, 0.0, -1.5, 1e-300, 3.141592653589793,
    float("inf"), float("-inf"), float("nan"),
    "", " ", "plain", "<&>\"'", "tab\tnewline\ncr\rend", "\u00e9\u00e8 \u4e2d\u6587 \U0001f600", "\x7f\x01",
    xc.Binary(b""), xc.Binary(b"\x00\xff" * 40), xc.Binary(bytes(range(256))),
    NOW, xc.DateTime("19700101T00:00:00"),
    None, [], {}, [[[[]]]], [1, "two", 3.0, [4, [5, {"six": 6}]]],
    {"name": "cat", "group": "cat", "start": 1700000000, "stop": 0, "now": 1700000100,
     "state": 20, "statename": "RUNNING", "spawnerr": "", "exitstatus": 0,
     "logfile": "/tmp/cat.log", "stdout_logfile": "/tmp/cat.log", "stderr_logfile": "",
     "pid": 1234, "description": "pid 1234, uptime 0:01:40"},
    {"nested": {"deeper": {"deepest": [NOW, xc.Binary(b"x"), None]}}, "": "empty key", "\u00fc": "u"},
]


def xmlrpc_seeds():
    for method, params in CALLS:
        save("xmlrpc_call", xc.dumps(params, method, allow_none=True), "call")
    for v in VALUES:
        save("xmlrpc_call", xc.dumps((v,), methodresponse=True, allow_none=True), "resp")
        save("xmlrpc_call", xc.dumps((v,), "echo", allow_none=True), "call")
    save("xmlrpc_call", xc.dumps((VALUES,), methodresponse=True, allow_none=True), "resp")
    for code, text in [(1, "UNKNOWN_METHOD"), (2, "INCORRECT_PARAMETERS"), (10, "BAD_NAME: foo"),
                       (60, "ALREADY_STARTED: cat"), (70, "NOT_RUNNING"), (-32700, "parse error"),
                       (0, ""), (2**31 - 1, "\u00e9 <&>")]:
        save("xmlrpc_call", xc.dumps(xc.Fault(code, text), methodresponse=True), "fault")
    # multicall results: a list mixing values and fault structs
    save("xmlrpc_call", xc.dumps(([{"faultCode": 10, "faultString": "BAD_NAME: x"}, [True], "ok"],),
                                 methodresponse=True), "resp")
    # Forms other clients produce and the reference accepts.
    hand = [
        "<methodCall><methodName>supervisor.getState</methodName></methodCall>",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<methodCall><methodName>a</methodName><params>"
        "<param><value>bare string</value></param><param><value><i4>-7</i4></value></param>"
        "<param><value><i8>9223372036854775807</i8></value></param>"
        "<param><value><ex:nil xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\"/></value></param>"
        "<param><value><string><![CDATA[<cdata & stuff>]]></string></value></param>"
        "<param><value><string>&#65;&#x263A;&lt;&gt;&amp;&quot;&apos;</string></value></param>"
        "</params></methodCall>",
        "<methodResponse><params><param><value><array><data/></array></value></param></params></methodResponse>",
        "<methodResponse><params><param><value><struct/></value></param></params></methodResponse>",
        "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>10</int></value>"
        "</member><member><name>faultString</name><value>BAD_NAME</value></member></struct></value></fault>"
        "</methodResponse>",
        "<!-- comment --><?pi x?><methodCall>\r\n<methodName> spaced </methodName>\r\n</methodCall>",
        "<methodCall><methodName>x</methodName><params><param><value><double>1e400</double></value></param>"
        "<param><value><int>+12</int></value></param><param><value><base64>aGVs\nbG8=\n</base64></value></param>"
        "</params></methodCall>",
    ]
    for h in hand:
        save("xmlrpc_call", h, "hand")


# ---------------------------------------------------------------- http

def http_seeds():
    body = xc.dumps((), "supervisor.getState")
    reqs = [
        # curl -s http://localhost:9001/
        "GET / HTTP/1.1\r\nHost: localhost:9001\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        # curl -u user:123 --data-binary @call.xml -H 'Content-Type: text/xml' http://localhost:9001/RPC2
        "POST /RPC2 HTTP/1.1\r\nHost: localhost:9001\r\nAuthorization: Basic dXNlcjoxMjM=\r\n"
        "User-Agent: curl/7.88.1\r\nAccept: */*\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n%s"
        % (len(body), body),
        # curl -N http://localhost:9001/logtail/cat
        "GET /logtail/cat HTTP/1.1\r\nHost: localhost:9001\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        "GET /logtail/group%3Acat_00/stderr HTTP/1.1\r\nHost: localhost\r\n\r\n",
        "GET /mainlogtail HTTP/1.0\r\n\r\n",
        # curl --http1.0 -H 'Connection: keep-alive'
        "GET /index.html HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n",
        # Firefox
        "GET /index.html?processname=cat&action=restart HTTP/1.1\r\nHost: localhost:9001\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n"
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
        "Connection: keep-alive\r\nReferer: http://localhost:9001/\r\nUpgrade-Insecure-Requests: 1\r\n"
        "Sec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: same-origin\r\n"
        "Sec-Fetch-User: ?1\r\nPriority: u=0, i\r\n\r\n",
        # Chrome
        "GET /tail.html?processname=group%3Acat_00&limit=1024 HTTP/1.1\r\nHost: localhost:9001\r\n"
        "Connection: keep-alive\r\nCache-Control: max-age=0\r\n"
        "sec-ch-ua: \"Chromium\";v=\"126\", \"Not.A/Brand\";v=\"24\"\r\nsec-ch-ua-mobile: ?0\r\n"
        "sec-ch-ua-platform: \"Linux\"\r\nUpgrade-Insecure-Requests: 1\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0.0.0 Safari/537.36\r\n"
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
        "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
        "Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\n"
        "Sec-Fetch-Dest: document\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n"
        "Accept-Language: en-US,en;q=0.9\r\nAuthorization: Basic dXNlcjp3cm9uZw==\r\n\r\n",
        "GET /stylesheets/supervisor.css HTTP/1.1\r\nHost: localhost:9001\r\nIf-Modified-Since: "
        "Thu, 01 Jan 1970 00:00:00 GMT\r\n\r\n",
        "GET /images/icon.png HTTP/1.1\r\nHost: localhost:9001\r\n\r\n",
        "GET /favicon.ico HTTP/1.1\r\nHost: localhost:9001\r\n\r\n",
        "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        # Two pipelined requests, then a partial one.
        "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b?c=d#e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /",
        # Things the server must refuse.
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nshort",
        "POST /RPC2 HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST /RPC2 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
        "GET / HTTP/2.0\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        "GET / HTTP/1.1\nHost: bare-lf\n\n",
        "GET /\x00 HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nX-\xc3\xa9: \xff\xfe\r\n\r\n",
        "GET / HTTP/1.1\r\n Folded: header\r\n\r\n",
        "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",  # a TLS ClientHello on the plain port
        "GET / HTTP/1.1\r\n" + "".join("X-%d: y\r\n" % i for i in range(70)) + "\r\n",
        "GET /%41%zz%4 HTTP/1.1\r\nAuthorization: Basic !!!\r\n\r\n",
        "GET / HTTP/1.1\r\nAuthorization: Basic dXNlcjp7U0hBfTQwYmQwMDE1NjMwODVmYzM1MTY1MzI5ZWExZmY1YzVlY2JkYmJlZWY=\r\n\r\n",
    ]
    for r in reqs:
        save("http_request", r.encode("latin-1") if all(ord(c) < 256 for c in r) else r, "hand")


# ---------------------------------------------------------------- capture

CONF = """
[unix_http_server]
file=%(here)s/sock

[inet_http_server]
port=127.0.0.1:{port}
{auth}

[supervisord]
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid
childlogdir=%(here)s
identifier=seed

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=http://127.0.0.1:{proxy}
{ctlauth}

[program:cat]
command=/bin/cat
autostart=true

[program:echo]
command=/bin/sh -c "while true; do echo tick \u00e9; echo err >&2; sleep 0.2; done"
process_name=%(program_name)s_%(process_num)02d
numprocs=2
autostart=true

[program:fail]
command=/nonexistent/command
autostart=false
startretries=0

[group:grp]
programs=cat,echo
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Recorder:
    """A TCP proxy that keeps what each connection sent in each direction."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.lock = threading.Lock()
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            rec = [bytearray(), bytearray()]
            with self.lock:
                self.conns.append(rec)
            u = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self.pump, args=(c, u, rec[0]), daemon=True).start()
            threading.Thread(target=self.pump, args=(u, c, rec[1]), daemon=True).start()

    @staticmethod
    def pump(src, dst, buf):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                buf.extend(b)
                dst.sendall(b)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def bodies(stream, start, end):
    out, i = [], 0
    while True:
        a = stream.find(start, i)
        if a < 0:
            return out
        b = stream.find(end, a)
        if b < 0:
            return out
        out.append(bytes(stream[a:b + len(end)]))
        i = b + len(end)


def capture(venv, auth):
    tmp = tempfile.mkdtemp(prefix="supervisor-seeds-")
    port = free_port()
    rec = Recorder(port)
    with open(os.path.join(tmp, "supervisord.conf"), "w") as f:
        f.write(CONF.format(port=port, proxy=rec.port,
                            auth="username=user\npassword=123" if auth else "",
                            ctlauth="username=user\npassword=123" if auth else ""))
    conf = os.path.join(tmp, "supervisord.conf")
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    d = subprocess.Popen([os.path.join(venv, "bin", "supervisord"), "-n", "-c", conf], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0)
        ctl = [os.path.join(venv, "bin", "supervisorctl"), "-c", conf]
        for args in [["status"], ["status", "grp:*"], ["pid"], ["pid", "all"], ["version"], ["avail"],
                     ["stop", "grp:cat"], ["start", "grp:cat"], ["restart", "grp:echo_00"], ["start", "nosuch"],
                     ["start", "fail"], ["signal", "HUP", "grp:cat"], ["tail", "grp:echo_00"],
                     ["tail", "-100", "grp:echo_01", "stderr"], ["maintail", "-200"], ["clear", "grp:echo_00"],
                     ["reread"], ["update"], ["stop", "all"], ["start", "all"], ["help"],
                     ["stop", "grp:*"], ["remove", "grp"], ["add", "grp"], ["status", "\u00fcn\u00efc\u00f8de"]]:
            subprocess.run(ctl + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
        for args in [["tail", "-f", "grp:echo_00"], ["maintail", "-f"]]:
            p = subprocess.Popen(ctl + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1.0)
            p.terminate()
            p.wait()
        base = "http://127.0.0.1:%d" % rec.port
        u = ["-u", "user:123"] if auth else []
        call = xc.dumps(("grp:cat",), "supervisor.getProcessInfo")
        for args in [[base + "/"], [base + "/index.html?processname=grp%3Acat&action=stop"],
                     [base + "/tail.html?processname=grp%3Aecho_00"], [base + "/stylesheets/supervisor.css"],
                     ["-H", "Content-Type: text/xml", "--data-binary", call, base + "/RPC2"],
                     ["--http1.0", base + "/index.html"], ["-I", base + "/"],
                     ["-X", "PUT", "--data", "x=1", base + "/RPC2"], [base + "/RPC2"]]:
            subprocess.run(["curl", "-s", "-m", "2", "-o", "/dev/null"] + u + args, timeout=10)
        prox = xc.ServerProxy(base.replace("http://", "http://user:123@" if auth else "http://") + "/RPC2",
                              allow_none=True)
        for method, params in CALLS:
            if method in ("supervisor.shutdown", "supervisor.restart", "") or "Log" in method and "clear" in method:
                continue
            try:
                getattr(prox, method)(*params)
            except (xc.Fault, xc.ProtocolError, TypeError, OverflowError):
                pass
        time.sleep(0.5)
    finally:
        d.terminate()
        d.wait()
        rec.sock.close()
        shutil.rmtree(tmp, ignore_errors=True)
    with rec.lock:
        for req, resp in rec.conns:
            if req:
                save("http_request", bytes(req), "capture")
            for b in bodies(req, b"<?xml", b"</methodCall>"):
                save("xmlrpc_call", b, "capture")
            for b in bodies(resp, b"<?xml", b"</methodResponse>"):
                save("xmlrpc_call", b, "capture")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--capture", metavar="VENV", help="a virtualenv with supervisor 4.3.0 installed")
    a = ap.parse_args()
    config_seeds()
    xmlrpc_seeds()
    http_seeds()
    if a.capture:
        out = subprocess.run([os.path.join(a.capture, "bin", "echo_supervisord_conf")], capture_output=True)
        save("config", out.stdout, "sample")
        capture(a.capture, auth=False)
        capture(a.capture, auth=True)
    for t in sorted(os.listdir(os.path.join(FUZZ, "corpus"))):
        d = os.path.join(FUZZ, "corpus", t)
        print(t, len(os.listdir(d)), "files", sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)), "bytes")


if __name__ == "__main__":
    sys.exit(main())
