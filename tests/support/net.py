"""Traffic from the tests: only ever to 127.0.0.1 of the engine's host (published ports).

On a worker with a private engine (:mod:`tests.support.workers`), that loopback is the one of
the engine's network namespace: the request is made from there."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.workers import ENGINE_NETNS_ENV


def http_answers(port: int) -> bool:
    """Whether anything answers HTTP on 127.0.0.1:``port`` (an error status counts)."""
    namespace = os.environ.get(ENGINE_NETNS_ENV)
    if namespace:
        command = [sys.executable, "-c", f"import {__name__} as n; exit(not n._answers({port}))"]
        done = subprocess.run(
            ["nsenter", f"--net=/var/run/netns/{namespace}", *command],
            capture_output=True, timeout=10, check=False, cwd=Path(__file__).parents[2],
        )  # fmt: skip
        return done.returncode == 0
    return _answers(port)


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
            return True
    except (urllib.error.HTTPError, http.client.HTTPException):
        return True  # something answered, if not well
    except (urllib.error.URLError, OSError):
        return False
