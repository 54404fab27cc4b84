#!/usr/bin/python3
"""A bearer-token endpoint for Debian's docker-registry, answering the way
auth.docker.io does (distribution docs/spec/auth/token.md).

Tokens are RS256 JWTs signed with `openssl dgst` (stdlib only), with the
libtrust key id the registry looks up in its rootcertbundle.  Policy:
anonymous requests get `pull` only; alice:secret gets what she asks for;
wrong credentials get 401.  Every request is appended to --log as one JSON
line (never the password).

usage: token-server.py --port P --cert C --key K --signing-key SK
                       --signing-cert SC --issuer I --service S --log FILE
                       [--expires-in N]
"""
import argparse
import base64
import datetime
import hashlib
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

USERS = {"alice": "secret"}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def libtrust_kid(cert_path):
    """SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32,
    grouped by 4 with ':' (libtrust's keyIDFromCryptoKey)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-pubkey"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def parse_scope(scope):
    """repository:foo/bar:pull,push → (type, name, [actions]); the name is
    what lies between the first and the last ':'."""
    first, last = scope.find(":"), scope.rfind(":")
    if first < 0 or last <= first:
        return None
    return scope[:first], scope[first + 1:last], [a for a in scope[last + 1:].split(",") if a]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def record(self, entry):
        with self.server.log_lock, open(self.server.args.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def user(self):
        """None for anonymous, the name for good credentials, False for bad ones."""
        h = self.headers.get("Authorization")
        if not h:
            return None
        if not h.lower().startswith("basic "):
            return False
        try:
            user, _, pw = base64.b64decode(h[6:]).decode().partition(":")
        except Exception:
            return False
        return user if USERS.get(user) == pw else False

    def do_GET(self):
        self.issue(urllib.parse.urlparse(self.path).query, None)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(n).decode()
        self.issue(urllib.parse.urlparse(self.path).query, form)

    def issue(self, query, form):
        args = self.server.args
        q = urllib.parse.parse_qs(form if form is not None else query)
        user = self.user()
        if form is not None:
            # oauth.md refresh_token grant: our refresh tokens are "rt-<user>"
            rt = (q.get("refresh_token") or [""])[0]
            user = rt[3:] if rt.startswith("rt-") and rt[3:] in USERS else False
        entry = {"path": urllib.parse.urlparse(self.path).path, "method": self.command,
                 "user": user if user else ("bad" if user is False else ""),
                 "scopes": q.get("scope", []), "service": (q.get("service") or [""])[0]}
        if user is False:
            entry["status"] = 401
            self.record(entry)
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "invalid username/password"}]})
            return
        access = []
        for scope in q.get("scope", []):
            parsed = parse_scope(scope)
            if not parsed:
                continue
            typ, name, actions = parsed
            granted = actions if user else [a for a in actions if a == "pull"]
            if granted:
                access.append({"type": typ, "name": name, "actions": granted})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": self.server.kid}
        claims = {"iss": args.issuer, "sub": user or "", "aud": args.service, "exp": now + args.expires_in,
                  "nbf": now - 5, "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing_input = (b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.signing_key, "-binary"],
                             input=signing_input, check=True, capture_output=True).stdout
        token = signing_input.decode() + "." + b64url(sig)
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        entry["status"] = 200
        entry["access"] = access
        self.record(entry)
        self.reply(200, {"token": token, "access_token": token, "expires_in": args.expires_in, "issued_at": issued})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--signing-key", required=True)
    ap.add_argument("--signing-cert", required=True)
    ap.add_argument("--issuer", default="test-issuer")
    ap.add_argument("--service", default="test-registry")
    ap.add_argument("--expires-in", type=int, default=300)
    ap.add_argument("--log", required=True)
    args = ap.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.args = args
    server.kid = libtrust_kid(args.signing_cert)
    server.log_lock = threading.Lock()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
