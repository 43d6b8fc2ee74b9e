"""``grade new NAME``: a small working lab to start from.

The scaffold is a lab of its own: a user-defined network, a web server and a client on it; the
client reaches the server by name. Its files are in ``grader/exercise/new_lab/`` (``__NAME__``
stands for the lab's id); it passes ``grade selftest NAME --stand-ins`` as written, and each
file shows one part of the authoring kit (see docs/authoring.md).
"""

from __future__ import annotations

import re
from pathlib import Path

from grader.errors import UsageError
from grader.i18n import Text

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
TEMPLATES = Path(__file__).with_name("new_lab")
PLACEHOLDER = "__NAME__"


def scaffold(name: str, into: Path) -> list[Path]:
    """Write ``into/exercises/NAME/...`` and ``into/rubrics/NAME.yaml``; return the files.

    Refuses a name that is not a plain id, or a lab that exists already (nothing is
    overwritten)."""
    if not _NAME.match(name):
        raise UsageError(
            Text(
                fr=f"nom de TP invalide « {name} » (minuscules, chiffres, - et _)",
                en=f"invalid lab name '{name}' (lowercase letters, digits, - and _)",
            )
        )
    exercise = into / "exercises" / name
    rubric = into / "rubrics" / f"{name}.yaml"
    for existing in (exercise, rubric):
        if existing.exists():
            raise UsageError(Text(fr=f"{existing} existe déjà", en=f"{existing} already exists"))
    written: list[Path] = []
    for template in sorted(p for p in TEMPLATES.rglob("*") if p.is_file()):
        relative = template.relative_to(TEMPLATES).as_posix()
        # checks.py is kept as .txt in the package: it is a template, not grader code.
        target = rubric if relative == "rubric.yaml" else exercise / relative.removesuffix(".txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.read_text(encoding="utf-8").replace(PLACEHOLDER, name))
        written.append(target)
    return written
