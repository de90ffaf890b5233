#!/usr/bin/env python3
"""A tiny HTTP server for the httpok test in tests/events.rs.

Usage: flaky_http.py PORT FLAGFILE LOGFILE

Answers every GET with 200 `ok` and appends `<pid> <User-Agent>` to LOGFILE, until
FLAGFILE exists: from then on it stops answering (the handler hangs). A fresh start
removes FLAGFILE, so a restarted server answers again."""

import http.server
import os
import sys
import time

port, flag, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if os.path.exists(flag):
    os.unlink(flag)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if os.path.exists(flag):
            while True:
                time.sleep(1)
        body = b'ok'
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        with open(log, 'a') as f:
            f.write('%d %s\n' % (os.getpid(), self.headers.get('User-Agent')))

    def log_message(self, *args):
        pass


http.server.HTTPServer(('127.0.0.1', port), Handler).serve_forever()
