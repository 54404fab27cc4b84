#!/usr/bin/python3
"""A hostile registry for fault injection (python3 stdlib only).

Serves the images of an OCI image layout over plain HTTP on 127.0.0.1 with
the distribution API's pull side (manifests by tag or digest, blobs), and
misbehaves on request.  Every request is logged to --log as one JSON line:
{"method", "path", "kind": manifest|blob|tags|token|direct|other, "auth": bool,
 "range": header or null, "host": Host header, "status"}.

Faults:
  --token                 require a bearer token from our own /token realm
  --token-uses N          a token stops working after N uses (401 invalid_token)
  --fail-first N          the first N /v2/<repo>/ requests answer 500
  --ratelimit N           the first N manifest requests answer 429 with
                          Retry-After: 1 and ratelimit-* headers
  --ratelimit-forever     every manifest request answers 429 (Retry-After: 3600)
  --corrupt-blobs         blobs over 1000 bytes have one byte flipped
  --truncate-once         the first GET of each blob over 1000 bytes stops
                          halfway (Content-Length promises all of it)
  --truncate-always       every GET of such a blob stops halfway, resumed or not
  --no-range              ignore Range headers
  --short-blobs           blobs over 1000 bytes are served cut in half (with a
                          Content-Length that matches the short body)
  --huge-manifest         tags resolve to a 5 MiB manifest
  --schema1               tags resolve to a schema 1 manifest
  --redirect-blobs        blobs answer 307 to http://localhost:<port>/direct/<digest>
  --repos A,B             only these repositories exist; the others answer as
                          unknown names do: 404 NAME_UNKNOWN, or with --token a
                          401 insufficient_scope (as Docker Hub answers)
  --slow-blobs BPS        blob bodies trickle out at about BPS bytes a second
"""
import argparse
import hashlib
import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

INDEX_MT = "application/vnd.oci.image.index.v1+json"
MANIFEST_MT = "application/vnd.oci.image.manifest.v1+json"
SCHEMA1_MT = "application/vnd.docker.distribution.manifest.v1+prettyjws"


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.failed = 0
        self.limited = 0
        self.truncated = set()
        self.tokens = {}  # token -> uses left
        self.next_token = 0
        self.extra = {}  # digest -> (media type, bytes) served besides the layout

    def blob(self, digest):
        if digest in self.extra:
            return self.extra[digest][1]
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return None
        path = os.path.join(self.args.layout, "blobs", "sha256", digest[7:])
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def tag(self, tag):
        with open(os.path.join(self.args.layout, "index.json")) as f:
            index = json.load(f)
        for m in index.get("manifests", []):
            if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == tag:
                return m["digest"], m.get("mediaType", MANIFEST_MT)
        return None


def add_extra(state, media_type, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    state.extra[digest] = (media_type, data)
    return digest


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, kind, status):
        entry = {"method": self.command, "path": self.path, "kind": kind,
                 "auth": "Authorization" in self.headers, "range": self.headers.get("Range"),
                 "host": self.headers.get("Host"), "status": status}
        with self.server.state.lock, open(self.server.state.args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def send(self, kind, status, body=b"", headers=None, content_length=None):
        self.record(kind, status)
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        self.end_headers()
        if self.command == "HEAD":
            return
        rate = self.server.state.args.slow_blobs
        if rate and kind in ("blob", "direct"):
            step = max(1, rate // 20)
            for i in range(0, len(body), step):
                self.wfile.write(body[i:i + step])
                self.wfile.flush()
                time.sleep(0.05)
            return
        self.wfile.write(body)

    def error(self, kind, status, code, message, headers=None):
        body = json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        self.send(kind, status, body, h)

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def handle_any(self):
        st = self.server.state
        a = st.args
        path = self.path.split("?")[0]
        if path == "/healthz":
            return self.send("other", 200, b"ok")
        if path == "/token":
            with st.lock:
                st.next_token += 1
                tok = "tok-%d" % st.next_token
                st.tokens[tok] = a.token_uses
            body = json.dumps({"token": tok, "expires_in": 300}).encode()
            return self.send("token", 200, body, {"Content-Type": "application/json"})
        m = re.fullmatch(r"/direct/(sha256:[0-9a-f]{64})", path)
        if m:
            return self.serve_blob("direct", m.group(1))
        if path == "/v2/" or path == "/v2":
            return self.send("other", 200, b"{}", {"Content-Type": "application/json"})
        m = re.fullmatch(r"/v2/(.+)/(manifests|blobs)/([^/]+)", path)
        t = re.fullmatch(r"/v2/(.+)/tags/list", path)
        if m:
            repo, what, ref = m.groups()
            kind = "manifest" if what == "manifests" else "blob"
        elif t:
            repo, kind, ref = t.group(1), "tags", None
        else:
            return self.error("other", 404, "NAME_UNKNOWN", "no such path")
        if a.token and not self.authorised(kind, repo):
            return
        if a.repos is not None and repo not in a.repos.split(","):
            if a.token:
                port = self.server.server_address[1]
                return self.error(kind, 401, "UNAUTHORIZED", "authentication required", {
                    "WWW-Authenticate": 'Bearer realm="http://127.0.0.1:%d/token",service="fault",'
                    'scope="repository:%s:pull",error="insufficient_scope"' % (port, repo)})
            return self.error(kind, 404, "NAME_UNKNOWN", "repository name not known to registry")
        with st.lock:
            fail = st.failed < a.fail_first
            st.failed += 1 if fail else 0
        if fail:
            return self.error(kind, 500, "UNKNOWN", "injected failure")
        if kind == "tags":
            return self.serve_tags(repo)
        if kind == "manifest":
            return self.serve_manifest(repo, ref)
        if a.redirect_blobs:
            port = self.server.server_address[1]
            return self.send(kind, 307, b"", {"Location": "http://localhost:%d/direct/%s" % (port, ref)})
        return self.serve_blob(kind, ref)

    def authorised(self, kind, repo):
        st = self.server.state
        port = self.server.server_address[1]
        h = self.headers.get("Authorization", "")
        challenge = 'Bearer realm="http://127.0.0.1:%d/token",service="fault",scope="repository:%s:pull"' % (port, repo)
        if not h.startswith("Bearer "):
            self.error(kind, 401, "UNAUTHORIZED", "authentication required", {"WWW-Authenticate": challenge})
            return False
        tok = h[7:]
        with st.lock:
            left = st.tokens.get(tok)
            ok = left is not None and (left < 0 or left > 0)
            if ok and left > 0:
                st.tokens[tok] = left - 1
        if not ok:
            self.error(kind, 401, "UNAUTHORIZED", "token expired",
                       {"WWW-Authenticate": challenge + ',error="invalid_token"'})
            return False
        return True

    def serve_tags(self, repo):
        with open(os.path.join(self.server.state.args.layout, "index.json")) as f:
            index = json.load(f)
        tags = [(m.get("annotations") or {}).get("org.opencontainers.image.ref.name") for m in index.get("manifests", [])]
        body = json.dumps({"name": repo, "tags": [t for t in tags if t]}).encode()
        self.send("tags", 200, body, {"Content-Type": "application/json"})

    def serve_manifest(self, repo, ref):
        st = self.server.state
        a = st.args
        with st.lock:
            limited = a.ratelimit_forever or st.limited < a.ratelimit
            st.limited += 1 if limited else 0
        if limited:
            return self.error("manifest", 429, "TOOMANYREQUESTS",
                              "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
                              {"Retry-After": "3600" if a.ratelimit_forever else "1",
                               "ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600"})
        if ref.startswith("sha256:"):
            digest = ref
            mt = st.extra[digest][0] if digest in st.extra else None
        else:
            found = st.tag(ref)
            if found is None:
                return self.error("manifest", 404, "MANIFEST_UNKNOWN", "manifest unknown")
            digest, mt = found
            if a.huge_manifest:
                body = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_MT,
                                   "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                              "digest": "sha256:" + "0" * 64, "size": 2},
                                   "layers": [], "annotations": {"pad": "x" * (5 << 20)}}).encode()
                digest, mt = add_extra(st, MANIFEST_MT, body), MANIFEST_MT
            if a.schema1:
                body = json.dumps({"schemaVersion": 1, "name": repo, "tag": ref, "fsLayers": []}).encode()
                digest, mt = add_extra(st, SCHEMA1_MT, body), SCHEMA1_MT
        data = st.blob(digest)
        if data is None:
            return self.error("manifest", 404, "MANIFEST_UNKNOWN", "manifest unknown")
        if mt is None:
            doc = json.loads(data)
            mt = doc.get("mediaType") or (INDEX_MT if "manifests" in doc else MANIFEST_MT)
        self.send("manifest", 200, data, {"Content-Type": mt, "Docker-Content-Digest": digest})

    def serve_blob(self, kind, digest):
        st = self.server.state
        a = st.args
        data = st.blob(digest)
        if data is None:
            return self.error(kind, 404, "BLOB_UNKNOWN", "blob unknown to registry")
        big = len(data) > 1000
        if a.short_blobs and big:
            data = data[:len(data) // 2]
        if a.corrupt_blobs and big:
            data = data[:500] + bytes([data[500] ^ 0xFF]) + data[501:]
        start = 0
        rng = self.headers.get("Range")
        if rng and not a.no_range:
            m = re.fullmatch(r"bytes=(\d+)-", rng)
            if m:
                start = int(m.group(1))
        with st.lock:
            truncate = big and self.command == "GET" and (
                a.truncate_always or (a.truncate_once and start == 0 and digest not in st.truncated))
            if truncate:
                st.truncated.add(digest)
        headers = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": digest}
        if start > 0:
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
            body, status = data[start:], 206
        else:
            body, status = data, 200
        if truncate:
            self.send(kind, status, body[:len(body) // 2], headers, content_length=len(body))
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.send(kind, status, body, headers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--layout", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--token", action="store_true")
    ap.add_argument("--token-uses", type=int, default=-1)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--ratelimit", type=int, default=0)
    ap.add_argument("--ratelimit-forever", action="store_true")
    ap.add_argument("--corrupt-blobs", action="store_true")
    ap.add_argument("--truncate-once", action="store_true")
    ap.add_argument("--truncate-always", action="store_true")
    ap.add_argument("--no-range", action="store_true")
    ap.add_argument("--short-blobs", action="store_true")
    ap.add_argument("--huge-manifest", action="store_true")
    ap.add_argument("--schema1", action="store_true")
    ap.add_argument("--redirect-blobs", action="store_true")
    ap.add_argument("--repos")
    ap.add_argument("--slow-blobs", type=int, default=0)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.state = State(args)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
