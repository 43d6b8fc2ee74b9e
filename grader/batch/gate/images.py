"""Which images a submission may name: references, and the registries they come from.

The engine pulls what a submission names (``image:``, a Dockerfile's ``FROM`` and
``COPY --from``) itself, from the engine host's network namespace: a registry at
``127.0.0.1:5000`` or ``localhost`` is the engine host's loopback, which no container of the
submission can reach, and a registry host the submission chose can be any address. So an image
must come from a registry of an allowlist (:data:`~grader.defaults.BATCH_REGISTRIES`, extended
with ``grade batch --registry``), read from the reference as the engine reads it: the first
component of the name is a registry host when it holds a ``.`` or a ``:``, or is
``localhost``; otherwise the image is Docker Hub's.
"""

from __future__ import annotations

import re

from grader.i18n import Text

#: Docker Hub's names, all meaning the same registry.
DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")

# The reference grammar of distribution/reference, loosely: a name of lowercase components,
# an optional tag, an optional digest. What does not match is refused.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*|\[[0-9a-fA-F:]+\])"
_REFERENCE = re.compile(
    rf"^(?:(?P<host>{_HOST}(?::\d+)?)/)?(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)


def registry_of(reference: str) -> str | None:
    """The registry ``reference`` is pulled from (``docker.io`` for Docker Hub), or ``None``
    when it is not an image reference at all.

    >>> [registry_of(r) for r in ("redis:alpine", "ada/app", "ghcr.io/a/b:1", "localhost/x")]
    ['docker.io', 'docker.io', 'ghcr.io', 'localhost']
    >>> registry_of("127.0.0.1:5000/x"), registry_of("Not A Reference")
    ('127.0.0.1:5000', None)
    """
    first, slash, _ = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host: str | None = first
    else:
        host = None
    found = _REFERENCE.match(reference if host is not None else f"docker.io/{reference}")
    if found is None:
        return None
    name = (found.group("host") or "docker.io").lower()
    return "docker.io" if name in DOCKER_HUB else name


def image_refusal(reference: str, registries: tuple[str, ...]) -> Text | None:
    """Why ``reference`` may not be pulled for a submission (``None``: it may).

    >>> image_refusal("redis:alpine", ("docker.io",)) is None
    True
    >>> print(image_refusal("127.0.0.1:5000/redis", ("docker.io",)).en)  # doctest: +ELLIPSIS
    image '127.0.0.1:5000/redis' comes from registry 127.0.0.1:5000, which is not allowed...
    """
    registry = registry_of(reference)
    if registry is None:
        return Text(
            fr=f"« {reference[:200]} » n'est pas une référence d'image",
            en=f"'{reference[:200]}' is not an image reference",
        )
    allowed = {"docker.io" if r in DOCKER_HUB else r.lower() for r in registries}
    if registry in allowed:
        return None
    listing = ", ".join(sorted(allowed)) or "—"
    return Text(
        fr=f"image « {reference} » du registre {registry}, qui n'est pas autorisé "
        f"(autorisés : {listing})",
        en=f"image '{reference}' comes from registry {registry}, which is not allowed "
        f"(allowed: {listing})",
    )
