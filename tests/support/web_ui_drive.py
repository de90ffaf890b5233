#!/usr/bin/env python3
"""Drives headless Chromium through chromedriver (W3C WebDriver over HTTP/JSON, a
small client written here: no selenium) against a running supervisord's web UI,
for tests/web_ui.rs.

Usage: python3 web_ui_drive.py SCENARIO BASE_URL OUTDIR

Scenarios:
  ui     load the page, stop/start/restart `looper` and stop/start the group `pool`
         by clicking, checking each state change appears without a page reload;
         open looper's stderr tail page and see new output arrive; save
         screenshots OUTDIR/web-ui.png and OUTDIR/web-ui-tail.png.
  csrf   serve a page from another origin (http://localhost:PORT, while the daemon
         is reached as 127.0.0.1) that posts a stop form and loads GET action URLs
         at the daemon, and wait until the browser has sent them.

Prints `ok <step>` per step; exits non-zero with a message on the first failure.
"""

import base64
import http.server
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
DEADLINE = 60.0


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Driver:
    def __init__(self):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="sv-chrome-")
        self.proc = subprocess.Popen(
            ["chromedriver", "--port=%d" % self.port],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = "http://127.0.0.1:%d" % self.port
        self.wait(lambda: self._ready(), "chromedriver ready")
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": "/usr/bin/chromium",
                        "args": [
                            "--headless",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--disable-dev-shm-usage",
                            "--window-size=1200,900",
                            "--user-data-dir=" + self.profile,
                        ],
                    },
                }
            }
        }
        self.session = self.req("POST", "/session", caps)["sessionId"]

    def _ready(self):
        try:
            with urllib.request.urlopen(self.base + "/status", timeout=2) as r:
                return json.load(r)["value"]["ready"]
        except Exception:
            return False

    def req(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        r = urllib.request.Request(self.base + path, data=data, method=method)
        r.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(r, timeout=120) as resp:
                return json.load(resp)["value"]
        except urllib.error.HTTPError as e:
            fail("webdriver %s %s: %s" % (method, path, e.read().decode(errors="replace")[:500]))

    def s(self, method, path, body=None):
        return self.req(method, "/session/%s%s" % (self.session, path), body)

    def go(self, url):
        self.s("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.s("POST", "/execute/sync", {"script": script, "args": list(args)})

    def find(self, css):
        return self.s("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def click(self, css):
        self.s("POST", "/element/%s/click" % self.find(css), {})

    def screenshot(self, path):
        png = base64.b64decode(self.s("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)

    def wait(self, cond, what):
        end = time.time() + DEADLINE
        last = None
        while time.time() < end:
            try:
                last = cond()
                if last:
                    return last
            except SystemExit:
                raise
            except Exception as e:  # a page mid-update
                last = e
            time.sleep(0.1)
        fail("timed out waiting for %s (last: %r)" % (what, last))

    def close(self):
        try:
            self.req("DELETE", "/session/" + self.session)
        finally:
            self.proc.terminate()
            self.proc.wait(10)


def state_of(d, ns):
    return d.js(
        "var r = document.querySelector('tr.proc[data-ns=\"' + arguments[0] + '\"] td.state span');"
        "return r ? r.textContent : null;",
        ns,
    )


def ui(base, outdir):
    d = Driver()
    try:
        d.go(base + "/")
        d.wait(lambda: state_of(d, "looper") == "running", "looper running on the page")
        # A marker that a reload would lose: every change below must keep it.
        d.js("window.__kept = 42;")
        kept = lambda: d.js("return window.__kept;") == 42

        def act(ns, label, want):
            d.click('tr.proc[data-ns="%s"] button[value="%s"]' % (ns, label))
            d.wait(lambda: state_of(d, ns) == want, "%s %s -> %s" % (ns, label, want))
            if not kept():
                fail("the page reloaded after %s %s" % (label, ns))
            print("ok %s %s -> %s" % (label, ns, want), flush=True)

        act("looper", "stop", "stopped")
        d.wait(lambda: "Process looper stopped" in d.js("return document.getElementById('message').textContent;"),
               "the stop message")
        act("looper", "start", "running")
        before = d.js("return document.querySelector('tr.proc[data-ns=\"looper\"] td.desc').textContent;")
        d.click('tr.proc[data-ns="looper"] button[value="restart"]')
        d.wait(lambda: "Process looper restarted" in d.js("return document.getElementById('message').textContent;"),
               "the restart message")
        d.wait(lambda: state_of(d, "looper") == "running" and
               d.js("return document.querySelector('tr.proc[data-ns=\"looper\"] td.desc').textContent;") != before,
               "looper running with a new pid")
        print("ok restart looper", flush=True)

        for label, want in (("stopgroup", "stopped"), ("startgroup", "running")):
            d.click('tr.group[data-group="pool"] button[value="%s"]' % label)
            for ns in ("pool:pool_0", "pool:pool_1"):
                d.wait(lambda: state_of(d, ns) == want, "%s %s" % (ns, want))
            print("ok %s -> %s" % (label, want), flush=True)
        if not kept():
            fail("the page reloaded during group actions")
        # CPU and memory cells are filled for running processes.
        d.wait(lambda: "%" in d.js("return document.querySelector('tr.proc[data-ns=\"looper\"] td[data-label=CPU]').textContent;"),
               "a CPU figure")
        d.screenshot(os.path.join(outdir, "web-ui.png"))
        # The same page on a phone-sized window in dark mode.
        d.s("POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia",
                                           "params": {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}})
        d.s("POST", "/window/rect", {"width": 400, "height": 860})
        d.wait(lambda: d.js("return getComputedStyle(document.body).backgroundColor;") != "rgb(255, 255, 255)",
               "the dark colours")
        d.screenshot(os.path.join(outdir, "web-ui-phone-dark.png"))
        d.s("POST", "/goog/cdp/execute", {"cmd": "Emulation.setEmulatedMedia", "params": {"features": []}})
        d.s("POST", "/window/rect", {"width": 1200, "height": 900})
        print("ok screenshot", flush=True)

        # The stderr tail page follows the file: new lines appear without a reload.
        d.click('tr.proc[data-ns="looper"] a[href*="channel=stderr"]')
        d.wait(lambda: d.js("return document.getElementById('tailbody') !== null;"), "the tail page")
        d.js("window.__kept = 43;")
        first = d.js("return document.getElementById('tailbody').textContent;")
        marker = d.wait(lambda: [l for l in d.js("return document.getElementById('tailbody').textContent;").split("\n")
                                 if l.startswith("err ") and l not in first], "new stderr output")
        if d.js("return window.__kept;") != 43:
            fail("the tail page reloaded")
        print("ok stderr tail grew: %s" % marker[0], flush=True)
        d.screenshot(os.path.join(outdir, "web-ui-tail.png"))

        # What an open status page costs the daemon: context switches per second
        # while it sits there (looper, the one program that writes, stopped first).
        pid = os.environ.get("SV_PID")
        if pid:
            d.go(base + "/")
            d.wait(lambda: state_of(d, "looper") == "running", "the status page again")
            d.click('tr.proc[data-ns="looper"] button[value="stop"]')
            d.wait(lambda: state_of(d, "looper") == "stopped", "looper stopped")
            time.sleep(2.5)  # let the stop's own activity pass (a measurement, not a sync)

            def switches():
                with open("/proc/%s/status" % pid) as f:
                    return sum(int(l.split()[1]) for l in f if "ctxt_switches" in l)

            window = 10.0
            a = switches()
            time.sleep(window)
            b = switches()
            print("ok open page: %.2f wakeups/s" % ((b - a) / window), flush=True)
    finally:
        d.close()


def csrf(base, outdir):
    # The attacker's page: another origin (localhost instead of 127.0.0.1, another
    # port). It posts a stop form (with a guessed token) and loads GET action URLs.
    hits = []
    target = base
    page = (
        "<!DOCTYPE html><html><body>"
        "<form id=f method=post action='%s/index.html'>"
        "<input name=processname value=victim><input name=action value=stop>"
        "<input name=token value=guess></form>"
        "<img src='%s/index.html?processname=victim&action=stop'>"
        "<iframe src='%s/index.html?processname=victim&action=stop'></iframe>"
        "<script>fetch('%s/index.html?processname=victim&action=stop',{mode:'no-cors',credentials:'include'})"
        ".finally(function(){document.title='fetched';setTimeout(function(){document.getElementById('f').submit()},300)});</script>"
        "</body></html>" % (target, target, target, target)
    )

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page.encode())

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    evil = "http://localhost:%d/" % srv.server_address[1]
    d = Driver()
    try:
        d.go(evil)
        # The form submission navigates the tab to the daemon's answer.
        d.wait(lambda: "403" in d.js("return document.title;"), "the daemon's refusal page")
        print("ok cross-site form refused: %s" % d.js("return document.title;"), flush=True)
    finally:
        d.close()
        srv.shutdown()


def main():
    scenario, base, outdir = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    {"ui": ui, "csrf": csrf}[scenario](base, outdir)
    print("done", flush=True)


if __name__ == "__main__":
    main()
