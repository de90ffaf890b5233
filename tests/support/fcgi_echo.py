#!/usr/bin/env python3
"""An fcgi-program child for tests/events.rs: accepts on the listening socket that
supervisord passes as fd 0, writes `pid <pid>\\n` to each connection and keeps serving
it until the client closes it, then accepts the next one. So while a client holds a
connection open, the next connection must be accepted by another process."""

import os
import socket

sock = socket.socket(fileno=0)
while True:
    conn, _ = sock.accept()
    conn.sendall(('pid %d\n' % os.getpid()).encode())
    while conn.recv(1024):
        pass
    conn.close()
