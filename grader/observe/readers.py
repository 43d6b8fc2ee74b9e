"""Reader containers: created, never started, mounting an engine-host folder or a volume
read-only, so the archive API can read what is there.

Nothing runs in them and nothing is written: the Mounts API refuses a missing host folder
instead of creating it, and a volume is only mounted once it is known to exist (mounting a
missing named volume would create it). One reader per host top-level folder or volume, made on
first use and removed with the run's probes.
"""

from __future__ import annotations

import posixpath
import threading
from collections.abc import Callable

from grader.engine.base import Engine
from grader.engine.probe import ProbeMount
from grader.errors import ObservationError
from grader.i18n import Text

HOST_ROOT = "/host"
VOLUME_ROOT = "/volume"


class Readers:
    def __init__(self, engine: Engine, image: str, labels: Callable[[], dict[str, str]]) -> None:
        self._engine = engine
        self._image = image
        self._labels = labels
        self._created: dict[ProbeMount, str | None] = {}
        self._lock = threading.Lock()

    def host_path(self, path: str) -> tuple[str, str] | None:
        """(reader id, path inside it) for absolute engine-host ``path``; ``None`` when even
        its top-level folder does not exist."""
        normal = posixpath.normpath("/" + path.lstrip("/"))
        top = "/" + normal.strip("/").split("/")[0]
        reader = self._reader(ProbeMount(top, HOST_ROOT + top))
        return None if reader is None else (reader, HOST_ROOT + normal)

    def volume_path(self, volume: str, path: str) -> tuple[str, str]:
        """(reader id, path inside it) for ``path`` in volume ``volume`` (which must exist)."""
        reader = self._reader(ProbeMount(volume, VOLUME_ROOT, is_volume=True))
        if reader is None:  # a volume mount is never refused as a missing host path
            raise ObservationError(
                Text(
                    fr=f"le moteur n'a pas pu monter le volume « {volume} » dans un lecteur",
                    en=f"the engine could not mount volume '{volume}' in a reader",
                )
            )
        inside = posixpath.normpath(VOLUME_ROOT + "/" + path.lstrip("/"))
        return reader, inside

    def _reader(self, mount: ProbeMount) -> str | None:
        with self._lock:
            if mount not in self._created:
                try:
                    self._created[mount] = self._engine.create_reader(
                        self._image, (mount,), self._labels()
                    )
                except FileNotFoundError:
                    self._created[mount] = None
            return self._created[mount]
