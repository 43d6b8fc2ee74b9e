"""Traffic from the tests: only ever to 127.0.0.1 (published ports on this machine)."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request


def http_answers(port: int) -> bool:
    """Whether anything answers HTTP on 127.0.0.1:``port`` (an error status counts)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
            return True
    except (urllib.error.HTTPError, http.client.HTTPException):
        return True  # something answered, if not well
    except (urllib.error.URLError, OSError):
        return False
