#!/usr/bin/python3
"""A tiny HTTP proxy for the tests (python3 stdlib only).

Listens on 127.0.0.1 at a free port, which it writes to --port-file (and
prints on stdout) once it accepts connections.  It tunnels CONNECT
host:port and forwards plain GET/HEAD requests with an absolute URI.
Every request is logged to --log as one JSON line, written as soon as the
proxy has decided its answer:
{"method", "target": host:port or the absolute URI, "status"}.

  --map NAME=ADDR   connect to ADDR when a client asks for NAME (the proxy
                    resolves a name the client cannot)
  --deny STATUS     answer every request STATUS (403, 407, ...), as a proxy
                    that refuses to relay does
"""
import argparse
import json
import os
import select
import socket
import sys
import threading
import urllib.parse
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}


class Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, args):
        super().__init__(("127.0.0.1", 0), Handler)
        self.args = args
        self.names = dict(m.split("=", 1) for m in args.map)
        self.log_lock = threading.Lock()

    def log(self, method, target, status):
        line = json.dumps({"method": method, "target": target, "status": status})
        with self.log_lock, open(self.args.log, "a") as f:
            f.write(line + "\n")

    def resolve(self, host):
        return self.names.get(host, host)


def split_hostport(target, default_port):
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit():
        return target.strip("[]"), default_port
    return host.strip("[]"), int(port)


def relay(a, b):
    """Copy bytes both ways until either side closes."""
    socks = [a, b]
    while True:
        readable, _, broken = select.select(socks, [], socks, 300)
        if broken or not readable:
            return
        for s in readable:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def refuse(self, status, why):
        self.server.log(self.command, self.path, status)
        body = (why + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        if status == 407:
            self.send_header("Proxy-Authenticate", 'Basic realm="connect-proxy"')
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def do_CONNECT(self):
        if self.server.args.deny:
            return self.refuse(self.server.args.deny, "this proxy relays nothing")
        host, port = split_hostport(self.path, 443)
        try:
            upstream = socket.create_connection((self.server.resolve(host), port), timeout=10)
        except OSError as e:
            return self.refuse(502, "cannot connect to %s: %s" % (self.path, e))
        self.server.log("CONNECT", self.path, 200)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        upstream.settimeout(None)
        try:
            relay(self.connection, upstream)
        except OSError:
            pass
        finally:
            upstream.close()

    def forward(self):
        if self.server.args.deny:
            return self.refuse(self.server.args.deny, "this proxy relays nothing")
        url = urllib.parse.urlsplit(self.path)
        if url.scheme != "http" or not url.hostname:
            return self.refuse(400, "only absolute http:// URIs are forwarded")
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            conn = HTTPConnection(self.server.resolve(url.hostname), url.port or 80, timeout=30)
            conn.request(self.command, path, headers=headers)
            resp = conn.getresponse()
        except OSError as e:
            return self.refuse(502, "cannot reach %s: %s" % (url.netloc, e))
        self.server.log(self.command, self.path, resp.status)
        body = b"" if self.command == "HEAD" else resp.read()
        self.send_response(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                self.send_header(k, v)
        length = resp.getheader("Content-Length") if self.command == "HEAD" else str(len(body))
        if length is not None:
            self.send_header("Content-Length", length)
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True
        conn.close()

    do_GET = forward
    do_HEAD = forward


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--map", action="append", default=[], metavar="NAME=ADDR")
    p.add_argument("--deny", type=int, metavar="STATUS")
    args = p.parse_args()
    for m in args.map:
        if "=" not in m:
            p.error("--map wants NAME=ADDR, not %r" % m)
    server = Proxy(args)
    port = server.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    print(port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
