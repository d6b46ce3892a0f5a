"""A loopback HTTP server with fault injection, for StorageTests and Scripts/bench-ingest.sh.

Serves the files under --root:
  /files/<path>                         plain files, with Range support
  /fault/<mode>/<path>                  the same files, but the first request (per path and mode) misbehaves:
      500       answers 500                    429        answers 429 with Retry-After: 1
      reset     sends half the body, then resets the connection
      stall     sends half the body, then goes silent for 30 s
      short     declares the full length, sends half, closes cleanly
      norange   like reset, and ignores Range on every request (the client must start over)
      always500 answers 500 every time         slow       every request trickles at ~1 MB/s
  /api/datasets/<owner>/<repo>/tree/<rev>?recursive=true
                                        Hub-style listing of <root>/hub/<owner>/<repo>, two entries per page
                                        with a Link: rel="next" header; sizes and LFS sha256 computed from the
                                        files. <root>/hub/<owner>/<repo>.extra.json (a JSON list) is appended to
                                        the listing as-is, replacing entries of the same path (entries that escape the folder or lie).
  /datasets/<owner>/<repo>/resolve/<rev>/<path>   the repo's files (also /api/models/… and /<owner>/<repo>/resolve/…)
  /stats                                JSON {path: request count}
Prints {"port": N} on stdout, serves until stdin closes.
"""
import argparse, hashlib, json, os, socket, struct, sys, threading, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = argparse.ArgumentParser()
args.add_argument("--root", required=True)
args.add_argument("--page-size", type=int, default=2)
opts = args.parse_args()
ROOT = os.path.realpath(opts.root)
hits, lock = {}, threading.Lock()


def count(key):
    with lock:
        hits[key] = hits.get(key, 0) + 1
        return hits[key]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, obj, extra=()):
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def fail(self, code, headers=()):
        body = f"fault {code}\n".encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_GET(self, head=False):
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path)
        n = count(("HEAD " if head else "") + path)  # a HEAD never uses up a GET's fault
        if path == "/stats":
            return self.send_json(hits)
        parts = path.split("/")
        if path.startswith(("/api/datasets/", "/api/models/")) and len(parts) >= 7 and parts[5] == "tree":
            return self.listing(parts[3], parts[4], urllib.parse.parse_qs(url.query))
        if path.startswith("/datasets/") and len(parts) >= 7 and parts[4] == "resolve":
            return self.serve(os.path.join(ROOT, "hub", parts[2], parts[3], *parts[6:]), "ok", n, head)
        if len(parts) >= 6 and parts[3] == "resolve":  # model repos: /<owner>/<repo>/resolve/<rev>/<path>
            return self.serve(os.path.join(ROOT, "hub", parts[1], parts[2], *parts[5:]), "ok", n, head)
        if path.startswith("/files/"):
            return self.serve(os.path.join(ROOT, *parts[2:]), "ok", n, head)
        if path.startswith("/fault/") and len(parts) >= 4:
            return self.serve(os.path.join(ROOT, *parts[3:]), parts[2], n, head)
        self.fail(404)

    def listing(self, owner, repo, query):
        base = os.path.join(ROOT, "hub", owner, repo)
        entries = []
        for dirpath, _, names in sorted(os.walk(base)):
            for name in sorted(names):
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, base)
                data = open(full, "rb").read()
                entries.append({"type": "file", "path": rel, "size": len(data), "oid": "x",
                                "lfs": {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 130}})
        extra = base + ".extra.json"
        if os.path.exists(extra):  # extra entries replace listed ones with the same path
            more = json.load(open(extra))
            paths = {e["path"] for e in more}
            entries = [e for e in entries if e["path"] not in paths] + more
        entries.insert(0, {"type": "directory", "path": "sub", "oid": "y", "size": 0})
        page = int(query.get("cursor", ["0"])[0])
        chunk = entries[page * opts.page_size:(page + 1) * opts.page_size]
        links = []
        if (page + 1) * opts.page_size < len(entries):
            links.append(("Link", f'<http://127.0.0.1:{self.server.server_port}/api/datasets/{owner}/{repo}/tree/main?recursive=true&cursor={page + 1}>; rel="next"'))
        self.send_json(chunk, links)

    def serve(self, full, mode, n, head):
        full = os.path.realpath(full)
        if not full.startswith(ROOT + os.sep) or not os.path.isfile(full):
            return self.fail(404)
        first = n == 1
        if mode == "always500" or (mode == "500" and first):
            return self.fail(500)
        if mode == "429" and first:
            return self.fail(429, [("Retry-After", "1")])
        size = os.path.getsize(full)
        start, end = 0, size
        rng = self.headers.get("Range")
        partial = False
        if rng and mode != "norange" and rng.startswith("bytes="):
            a, _, b = rng[6:].partition("-")
            start = int(a)
            end = int(b) + 1 if b else size
            partial = True
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        self.send_response(206 if partial else 200)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "none" if mode == "norange" else "bytes")
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        if head:
            return
        if mode == "ok":  # the fast path (benchmark): the kernel copies the file to the socket
            self.wfile.flush()
            with open(full, "rb") as f:
                offset = start
                while offset < end:
                    sent = os.sendfile(self.connection.fileno(), f.fileno(), offset, min(end - offset, 1 << 24))
                    if sent == 0:
                        break
                    offset += sent
            return
        with open(full, "rb") as f:
            f.seek(start)
            body = f.read(end - start)
        half = len(body) // 2
        if first and mode in ("reset", "norange"):
            self.wfile.write(body[:half]); self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        if first and mode == "stall":
            self.wfile.write(body[:half]); self.wfile.flush()
            time.sleep(30)
            self.close_connection = True
            return
        if first and mode == "short":
            self.wfile.write(body[:half]); self.wfile.flush()
            self.close_connection = True
            return
        if mode == "slow":
            for i in range(0, len(body), 64 * 1024):
                self.wfile.write(body[i:i + 64 * 1024]); self.wfile.flush()
                time.sleep(0.064)
            return
        self.wfile.write(body)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


server = Server(("127.0.0.1", 0), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
print(json.dumps({"port": server.server_port}), flush=True)
sys.stdin.read()
server.shutdown()
