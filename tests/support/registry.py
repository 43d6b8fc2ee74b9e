"""A registry on 127.0.0.1 that serves one image, so the engine really pulls it.

No registry is reachable from our machines, yet a pulled image differs from a built one in
what the engine records (``RepoDigests``). This serves an image the suite built, read from
``docker save``, through the read-only part of the Registry HTTP API v2 (``/v2/``, manifests
and blobs; schema 2 manifest, gzip layers): ``docker pull 127.0.0.1:PORT/NAME:TAG`` then gives
an image exactly as a pull from Docker Hub does. The engine reaches 127.0.0.0/8 registries over
plain HTTP without configuration.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import docker

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


@dataclass(frozen=True)
class Served:
    reference: str
    """What to pull: ``127.0.0.1:PORT/NAME:TAG``."""
    digest: str
    """The manifest's digest, which the pulled image records in its ``RepoDigests``."""


def _digest(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def _blobs_of(client: docker.DockerClient, image: str) -> tuple[bytes, dict[str, bytes]]:
    """The schema 2 manifest of ``image`` and every blob it names (config, gzip layers)."""
    saved = b"".join(client.api.get_image(image))
    blobs: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(saved)) as archive:

        def member(name: str) -> bytes:
            found = archive.extractfile(name)
            if found is None:
                raise RuntimeError(f"{name} missing from docker save of {image}")
            return found.read()

        (entry,) = json.loads(member("manifest.json"))
        config = member(entry["Config"])
        layers = [gzip.compress(member(path), mtime=0) for path in entry["Layers"]]
    blobs[_digest(config)] = config
    for layer in layers:
        blobs[_digest(layer)] = layer
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": len(config),
            "digest": _digest(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": len(layer),
                "digest": _digest(layer),
            }
            for layer in layers
        ],
    }
    return json.dumps(manifest).encode(), blobs


@contextlib.contextmanager
def serving(client: docker.DockerClient, image: str, name: str, tag: str) -> Iterator[Served]:
    """Serve ``image`` (on the engine) as ``NAME:TAG`` until the block ends."""
    manifest, blobs = _blobs_of(client, image)
    manifest_digest = _digest(manifest)

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            self._answer(send_body=False)

        def do_GET(self) -> None:
            self._answer(send_body=True)

        def _answer(self, *, send_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            body, content_type, digest = b"{}", "application/json", ""
            if path in ("/v2/", "/v2"):
                pass
            elif path in (f"/v2/{name}/manifests/{tag}", f"/v2/{name}/manifests/{manifest_digest}"):
                body, content_type, digest = manifest, MANIFEST_TYPE, manifest_digest
            elif path.startswith(f"/v2/{name}/blobs/") and path.rsplit("/", 1)[1] in blobs:
                digest = path.rsplit("/", 1)[1]
                body, content_type = blobs[digest], "application/octet-stream"
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Docker-Distribution-API-Version", "registry/2.0")
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if digest:
                self.send_header("Docker-Content-Digest", digest)
            self.end_headers()
            if send_body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the engine's requests are not the test's output."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="registry")
    thread.start()
    try:
        port = server.server_address[1]
        yield Served(f"127.0.0.1:{port}/{name}:{tag}", manifest_digest)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
