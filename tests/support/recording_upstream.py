#!/usr/bin/env python3
"""An upstream for the HTTP front's regression tests: records every request it
parses (method, target, header fields in order, body) as one JSON line in a
file, so a test sees exactly what reached the upstream: a refused request
must not be there, a smuggled one would show as an extra line.

  recording_upstream.py --port N --log FILE [--late-response]

Every request is answered 200 with a JSON echo of its number, except (not
recorded): /big/N, N bytes of 'x'; /trailer, a chunked "hello" with a
trailer field X-Trailer; /chunk-extension/N, a chunked body whose chunk
line carries an N-byte extension. With
--late-response, 50 ms after each answer it writes a second, unrequested
response on the same keep-alive connection, as a broken upstream may.
"""
import argparse
import http.server
import json
import sys
import threading
import time

lock = threading.Lock()
count = 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--late-response", action="store_true")
    args = parser.parse_args()
    log = open(args.log, "a", buffering=1)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def handle_one_request(self):
            # Any method, as an application server routes them.
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            global count
            if self.path == "/trailer" or self.path.startswith("/chunk-extension/"):
                extension = b";" + b"e" * int(self.path[17:]) if self.path != "/trailer" else b""
                self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n\r\n"
                                 b"5" + extension + b"\r\nhello\r\n0\r\nX-Trailer: leaked\r\n\r\n")
                self.wfile.flush()
                return
            if self.path.startswith("/big/"):
                size = int(self.path[5:])
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                chunk = b"x" * 65536
                for sent in range(0, size, len(chunk)):
                    self.wfile.write(chunk[:min(len(chunk), size - sent)])
                self.wfile.flush()
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with lock:
                count += 1
                number = count
                log.write(json.dumps({"method": self.command, "target": self.path,
                                      "headers": [[k, v] for k, v in self.headers.items()],
                                      "body": body.decode("latin-1")}) + "\n")
            answer = json.dumps({"request": number}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            self.wfile.flush()
            if args.late_response:
                time.sleep(0.05)
                stray = json.dumps({"stray_after": number}).encode()
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                 str(len(stray)).encode() + b"\r\n\r\n" + stray)
                self.wfile.flush()

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print(f"recording_upstream: listening on 127.0.0.1:{args.port}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
