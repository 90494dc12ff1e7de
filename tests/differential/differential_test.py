#!/usr/bin/python3
"""Differential test of the HTTP front: odd requests sent through a real
sluiced to real upstream stacks (Python's http.server and wsgiref, Werkzeug
through Flask, Node's http, nginx). For each request and stack, either
sluiced refused it and the upstream saw nothing, or the quota sluiced counted
it by is the one of the route the upstream routed it to, for the key the
upstream read. Counting a request the upstream routes elsewhere is allowed
(sluiced's path matching is lenient on purpose); the reverse is a bypass.

  differential_test.py --sluiced build/sluiced

Prints one line per request and stack and ends with "N passed, N failed";
a stack whose software is missing is skipped with the reason.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# Quotas told apart by their limits: the answer's RateLimit-Limit names the
# quota that counted the request.
EXCHANGE, ITEMS, KEYED, REST = 500, 400, 300, 1000
ROUTE_LIMITS = {"exchange": EXCHANGE, "items": ITEMS}
CONFIG = {
    "quotas": [
        {"name": "exchange", "path": "/v1/auth/exchange", "method": "POST", "rate": EXCHANGE, "interval": "1h"},
        {"name": "items", "path": "/v1/items", "method": "GET", "rate": ITEMS, "interval": "1h"},
        {"name": "keyed", "path": "/keys/*", "key": "header:X-API-Key", "rate": KEYED, "interval": "1h"},
        {"name": "rest", "path": "", "rate": REST, "interval": "1h"},
    ],
}


def rows():
    """(name, request bytes with {key} for a key unique to the row)."""
    def exchange(method="POST", target="/v1/auth/exchange", extra=""):
        return f"{method} {target} HTTP/1.1\r\nHost: api.test\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n"
    return [
        ("plain", exchange()),
        ("HEAD on a GET route", "HEAD /v1/items HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n\r\n"),
        ("lower-case method", exchange(method="post")),
        ("mixed-case method", exchange(method="Post")),
        ("encoded slash", exchange(target="/v1/auth%2Fexchange")),
        ("encoded letters", exchange(target="/%76%31/auth/%65xchange")),
        ("trailing slash", exchange(target="/v1/auth/exchange/")),
        ("path parameter", exchange(target="/v1/auth;jsessionid=1/exchange")),
        ("upper case", exchange(target="/V1/AUTH/EXCHANGE")),
        ("dot segments", exchange(target="/v1/x/../auth/./exchange")),
        ("double slash", exchange(target="/v1//auth//exchange")),
        ("query", exchange(target="/v1/auth/exchange?x=1")),
        ("absolute form", exchange(target="http://api.test/v1/auth/exchange")),
        ("encoded space", exchange(target="/v1/auth/exchange%20")),
        ("encoded NUL", exchange(target="/v1/auth/exchange%00")),
        ("backslash", exchange(target="/v1\\auth\\exchange")),
        ("unknown coding smuggles", "POST /v1/auth/exchange HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding: xchunked\r\n\r\n"
                                    "POST /v1/auth/exchange HTTP/1.1\r\nHost: api.test\r\nContent-Length: 0\r\n\r\n"),
        ("folded coding smuggles", "POST /v1/auth/exchange HTTP/1.1\r\nHost: api.test\r\nTransfer-Encoding:\r\n chunked\r\n"
                                   "Content-Length: 0\r\n\r\n"),
        ("underscore key twin", "GET /keys/a HTTP/1.1\r\nHost: api.test\r\nX_API_KEY: {key}-u\r\nX-API-Key: {key}\r\nConnection: close\r\n\r\n"),
        ("second key", "GET /keys/a HTTP/1.1\r\nHost: api.test\r\nX-API-Key: {key}\r\nX-API-Key: {key}-2\r\nConnection: close\r\n\r\n"),
        ("lower-case key name", "GET /keys/a HTTP/1.1\r\nHost: api.test\r\nx-api-key: {key}\r\nConnection: close\r\n\r\n"),
        ("key with spaces", "GET /keys/a HTTP/1.1\r\nHost: api.test\r\nX-API-Key:   {key}  \r\nConnection: close\r\n\r\n"),
    ]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def exchange(port, data, timeout=5):
    """Sends `data` raw; returns what came back until the server closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        received = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                received += chunk
        except socket.timeout:
            pass
    return received


def answer_field(answer, name):
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return ""


def status(answer):
    try:
        return int(answer.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


# Each stack: a command line that serves on {port} and appends one JSON line
# per routed request to {log}: {"method", "path" (as its router sees it),
# "key" (X-API-Key as the application reads it), "route" ("exchange" when
# its router sends the request to POST /v1/auth/exchange, "items" for
# GET /v1/items, else null)}. Stacks without a router route on an exact
# method and path; Flask's router answers HEAD with the GET route.
PY_HTTP_SERVER = textwrap.dedent("""
    import http.server, json, sys
    port, log = int(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
    ROUTES = {("POST", "/v1/auth/exchange"): "exchange", ("GET", "/v1/items"): "items"}
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def handle_one_request(self):
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or not self.parse_request():
                self.close_connection = True
                return
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path.split("?")[0]
            route = ROUTES.get((self.command, path))
            log.write(json.dumps({"method": self.command, "path": path, "key": self.headers.get("X-API-Key"),
                                  "route": route}) + "\\n")
            self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
            if self.command != "HEAD": self.wfile.write(b"ok")
        def log_message(self, *a): pass
    http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
""")

PY_WSGIREF = textwrap.dedent("""
    import json, sys
    from wsgiref.simple_server import make_server, WSGIRequestHandler
    port, log = int(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
    def app(environ, start):
        path = environ["PATH_INFO"]  # decoded, as WSGI routers see it
        method = environ["REQUEST_METHOD"]
        route = {("POST", "/v1/auth/exchange"): "exchange", ("GET", "/v1/items"): "items"}.get((method, path))
        log.write(json.dumps({"method": method, "path": path, "key": environ.get("HTTP_X_API_KEY"), "route": route}) + "\\n")
        start("200 OK", [("Content-Length", "2")])
        return [b"ok"]
    class Quiet(WSGIRequestHandler):
        def log_message(self, *a): pass
    make_server("127.0.0.1", port, app, handler_class=Quiet).serve_forever()
""")

PY_FLASK = textwrap.dedent("""
    import json, sys
    from flask import Flask, request
    from werkzeug.serving import make_server
    port, log = int(sys.argv[1]), open(sys.argv[2], "a", buffering=1)
    app = Flask("upstream")
    def record(route):
        log.write(json.dumps({"method": request.method, "path": request.path,
                              "key": request.headers.get("X-API-Key"), "route": route}) + "\\n")
        return "ok"
    @app.route("/v1/auth/exchange", methods=["POST"])
    def exchange():
        return record("exchange")
    @app.route("/v1/items", methods=["GET"])
    def items():
        return record("items")
    @app.route("/", defaults={"rest": ""}, methods=["GET", "POST", "PUT", "DELETE"])
    @app.route("/<path:rest>", methods=["GET", "POST", "PUT", "DELETE"])
    def other(rest):
        return record(None)
    import logging; logging.getLogger("werkzeug").setLevel(logging.ERROR)
    make_server("127.0.0.1", port, app, threaded=True).serve_forever()
""")

NODE_HTTP = textwrap.dedent("""
    const http = require("http"), fs = require("fs");
    const [port, log] = [Number(process.argv[2]), process.argv[3]];
    http.createServer((req, res) => {
        const path = req.url.split("?")[0];
        const route = {"POST /v1/auth/exchange": "exchange", "GET /v1/items": "items"}[`${req.method} ${path}`] ?? null;
        fs.appendFileSync(log, JSON.stringify({method: req.method, path, key: req.headers["x-api-key"] ?? null, route}) + "\\n");
        res.writeHead(200, {"Content-Length": 2}); res.end("ok");
    }).listen(port, "127.0.0.1");
""")


def nginx_command(port, log, folder):
    """nginx as the upstream: $uri is its normalized, decoded path."""
    conf = os.path.join(folder, "nginx.conf")
    with open(conf, "w") as f:
        f.write(textwrap.dedent(f"""
            daemon off; master_process off; worker_processes 1; error_log {folder}/error.log; pid {folder}/nginx.pid;
            events {{ worker_connections 64; }}
            http {{
                access_log off; client_body_temp_path {folder};
                log_format routed escape=json '{{"method":"$request_method","path":"$uri","key":"$http_x_api_key","route":"$route"}}';
                map "$request_method $uri" $route {{ "POST /v1/auth/exchange" exchange; "GET /v1/items" items; default ""; }}
                server {{
                    listen 127.0.0.1:{port};
                    access_log {log} routed;
                    location / {{ return 200 ok; }}
                }}
            }}
        """))
    return [shutil.which("nginx"), "-c", conf, "-p", folder]


def stacks(folder):
    def script(name, text):
        path = os.path.join(folder, name)
        with open(path, "w") as f:
            f.write(text)
        return path
    out = [
        ("python http.server", lambda p, l: [sys.executable, script("http_server.py", PY_HTTP_SERVER), str(p), l], None),
        ("python wsgiref", lambda p, l: [sys.executable, script("wsgiref_app.py", PY_WSGIREF), str(p), l], None),
    ]
    try:
        import flask  # noqa: F401
        out.append(("werkzeug (flask)", lambda p, l: [sys.executable, script("flask_app.py", PY_FLASK), str(p), l], None))
    except ImportError:
        out.append(("werkzeug (flask)", None, "python3-flask is not installed"))
    node = shutil.which("node") or shutil.which("nodejs")
    out.append(("node http", (lambda p, l: [node, script("node_app.js", NODE_HTTP), str(p), l]) if node else None,
                None if node else "node is not installed"))
    nginx = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if nginx and os.geteuid() == 0:
        out.append(("nginx", lambda p, l: nginx_command(p, l, folder), None))
    else:
        out.append(("nginx", None, "nginx is not installed" if not nginx else "nginx needs root here"))
    return out


def routed(log, seen):
    """Requests the upstream logged since `seen` lines."""
    try:
        with open(log) as f:
            lines = [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        lines = []
    for entry in lines:
        entry["key"] = entry.get("key") or None
        entry["route"] = entry.get("route") or None
    return lines[seen:]


def check(sluice_port, log, seen, name, request, key):
    """One row on one stack: (ok, verdict)."""
    answer = exchange(sluice_port, request.replace("{key}", key).encode("latin-1"))
    code = status(answer)
    got = routed(log, seen)
    deadline = time.time() + 2
    while not got and code == 200 and time.time() < deadline:  # nginx logs after it answered
        time.sleep(0.01)
        got = routed(log, seen)
    if not got:
        if code >= 400 and code != 502:
            return True, f"refused by sluiced ({code})"
        return False, f"neither refused nor routed: {code}"
    if len(got) > 1:
        return False, f"the upstream routed {len(got)} requests: smuggled {got[1:]}"
    entry = got[0]
    limit = answer_field(answer, "RateLimit-Limit")
    if entry["route"] and limit != str(ROUTE_LIMITS[entry["route"]]):
        return False, f"the upstream routed it to {entry['route']}; sluiced counted it by RateLimit-Limit {limit}"
    if entry["path"].startswith("/keys/") and entry["key"]:
        if limit != str(KEYED):
            return False, f"the upstream read key {entry['key']!r}; sluiced did not count it by the keyed quota"
        # The key sluiced counted is the one the upstream read: a plain
        # request with that key finds one request counted already.
        probe = exchange(sluice_port, (f"GET /keys/a HTTP/1.1\r\nHost: api.test\r\nX-API-Key: {entry['key']}\r\n"
                                       "Connection: close\r\n\r\n").encode("latin-1"))
        remaining = answer_field(probe, "RateLimit-Remaining")
        if remaining != str(KEYED - 2):
            return False, f"the upstream read key {entry['key']!r}, sluiced counted another (remaining {remaining})"
        return True, f"counted for the key the upstream read ({entry['key']!r})"
    if entry["route"]:
        return True, f"counted by the quota of the route ({entry['route']})"
    return True, f"routed to {entry['method']} {entry['path']!r}, outside the quota (counted by {limit or 'none'})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sluiced", required=True)
    args = parser.parse_args()
    passed = failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for stack, command, missing in stacks(folder):
            if missing:
                print(f"SKIP {stack}: {missing}")
                continue
            upstream_port, sluice_port = free_port(), free_port()
            log = os.path.join(folder, stack.replace(" ", "_") + ".jsonl")
            upstream = subprocess.Popen(command(upstream_port, log), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            config = dict(CONFIG, listen=[f"127.0.0.1:{sluice_port}"], upstream=f"http://127.0.0.1:{upstream_port}")
            config_file = os.path.join(folder, "sluiced.json")
            with open(config_file, "w") as f:
                json.dump(config, f)
            sluiced = subprocess.Popen([args.sluiced, "--config", config_file], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
            try:
                if not wait_port(upstream_port) or not wait_port(sluice_port):
                    print(f"FAIL {stack}: did not start: {upstream.poll()} {sluiced.poll()}")
                    failed += 1
                    continue
                for i, (name, request) in enumerate(rows()):
                    seen = len(routed(log, 0))
                    ok, verdict = check(sluice_port, log, seen, name, request, f"key-{i}")
                    print(f"{'PASS' if ok else 'FAIL'} {stack}: {name}: {verdict}")
                    passed, failed = passed + ok, failed + (not ok)
            finally:
                for process in (sluiced, upstream):
                    process.send_signal(signal.SIGTERM)
                    try:
                        process.wait(10)
                    except subprocess.TimeoutExpired:
                        process.kill()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
