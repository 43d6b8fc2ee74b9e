"""Tokens: random, at least 128 bits, and stored only as hashes.

A token is 32 random bytes in URL-safe base64 (256 bits). The database keeps its SHA-256
digest only: a copy of the database gives nobody a token. A slow password hash buys nothing
here (a 256-bit random token cannot be guessed), and a fast one lets every request find its
token's row by an index. The digest found is compared again in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from grader import defaults


def new_token() -> str:
    """A fresh token (43 URL-safe characters, 256 bits).

    >>> len(new_token()), new_token() == new_token()
    (43, False)

    It never starts with ``-`` or ``_``: pasted after an option, it is not taken for one.
    """
    while True:
        token = secrets.token_urlsafe(defaults.SERVE_TOKEN_BYTES)
        if token[0].isalnum():
            return token


def token_hash(token: str) -> str:
    """The digest the database keeps of ``token``.

    >>> token_hash("abc")[:12]
    'ba7816bf8f01'
    """
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def matches(token: str, stored_hash: str) -> bool:
    """Whether ``token`` is the one whose digest is ``stored_hash``, in constant time."""
    return hmac.compare_digest(token_hash(token), stored_hash)
