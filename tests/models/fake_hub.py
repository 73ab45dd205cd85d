"""A loopback fake of the Hugging Face hub's file API, as ``huggingface_hub`` 2.x calls it.

- ``GET /api/models/{repo}/revision/{rev}``: the commit and the file list with sizes, git blob
  ids and, for LFS files, their sha256 (``model_info(..., files_metadata=True)``);
- ``HEAD|GET /{repo}/resolve/{rev}/{file}``: ``X-Repo-Commit``, ``ETag``, ``Content-Length``,
  ``Accept-Ranges``; ``Range: bytes=N-`` answers 206.

``cut_once[file] = n`` sends only the first n bytes of that file's next full GET and drops the
connection (a network cut); every request is logged in ``requests``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(f"blob {len(data)}\0".encode() + data).hexdigest()


class Repo:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.commit = hashlib.sha1(b"".join(hashlib.sha256(v).digest() for _, v in sorted(files.items()))).hexdigest()

    @staticmethod
    def is_lfs(name: str) -> bool:
        return name.endswith((".safetensors", ".th", ".bin"))

    def sibling(self, name: str) -> dict:
        data = self.files[name]
        entry: dict = {"rfilename": name, "size": len(data), "blobId": git_blob_id(data)}
        if self.is_lfs(name):
            entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    def etag(self, name: str) -> str:
        data = self.files[name]
        return hashlib.sha256(data).hexdigest() if self.is_lfs(name) else git_blob_id(data)


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.cut_once: dict[str, int] = {}
        self.bytes_sent = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add_repo(self, repo_id: str, files: dict[str, bytes]) -> Repo:
        self.repos[repo_id] = Repo(files)
        return self.repos[repo_id]

    def add_folder(self, repo_id: str, folder: Path) -> Repo:
        return self.add_repo(repo_id, {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()})

    def start(self) -> FakeHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def downloads(self, name: str) -> list[str | None]:
        """The Range header of every GET of file ``name`` (``None`` for a full download)."""
        return [rng for method, path, rng in self.requests if method == "GET" and path.endswith("/" + name)]

    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                return None

            def _route(self) -> tuple[Repo | None, str, str]:
                path = self.path.split("?", 1)[0]
                if path.startswith("/api/models/") and "/revision/" in path:
                    repo_id, _, rev = path[len("/api/models/"):].partition("/revision/")
                    return hub.repos.get(repo_id), "info", rev
                parts = path.lstrip("/").split("/")
                if len(parts) >= 5 and parts[2] == "resolve":
                    return hub.repos.get("/".join(parts[:2])), "file", "/".join(parts[4:])
                return None, "", ""

            def _missing(self, code: str) -> None:
                body = json.dumps({"error": code}).encode()
                self.send_response(404)
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def do_HEAD(self) -> None:
                self.do_GET()

            def do_GET(self) -> None:
                hub.requests.append((self.command, self.path, self.headers.get("Range")))
                repo, kind, rest = self._route()
                if repo is None:
                    return self._missing("RepoNotFound")
                if kind == "info":
                    body = json.dumps({"id": "x", "modelId": "x", "sha": repo.commit,
                                       "siblings": [repo.sibling(n) for n in sorted(repo.files)]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return None
                if rest not in repo.files:
                    return self._missing("EntryNotFound")
                data = repo.files[rest]
                start = 0
                rng = self.headers.get("Range")
                if rng and rng.startswith("bytes=") and self.command == "GET":
                    start = int(rng[len("bytes="):].split("-", 1)[0])
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", repo.commit)
                self.send_header("ETag", f'"{repo.etag(rest)}"')
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if self.command == "HEAD":
                    return None
                cut = hub.cut_once.pop(rest, None) if not start else None
                chunk = data[start:] if cut is None else data[:cut]
                self.wfile.write(chunk)
                hub.bytes_sent += len(chunk)
                if cut is not None:
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                return None

        return Handler
