"""Copy detection in an exam: a student's setup that uses another student's variant.

Each student is graded against their own variant; a setup that holds another roster student's
names instead of its own is flagged ``other-variant:<id>`` (in the gradebook's ``flags``, the
class summary, and the student's report, which says which parameters matched whom). The
grading itself is unchanged.

A submission *holds* a name when its compose model uses it: as a service, network or volume
key, a network alias, a container name, an image name, a bind-mounted host folder. Another
student's variant is flagged when at least two of its varying names (one, if the exercise
varies only one) are held, and more of them than of the student's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from grader.exercise.variants import Variant, Variation
from grader.i18n import Text

FLAG = "other-variant"


@dataclass(frozen=True)
class CopyFlag:
    other: str
    """The student whose variant the setup matches."""
    matched: Mapping[str, str]
    """Parameter -> the other student's value, held by this setup."""

    @property
    def flag(self) -> str:
        return f"{FLAG}:{self.other}"

    def note(self) -> Text:
        listing = ", ".join(f"{name}={value}" for name, value in self.matched.items())
        return Text(
            fr=f"{self.flag} : cette copie utilise les noms de la variante de {self.other} "
            f"({listing}) ; elle est corrigée avec les vôtres",
            en=f"{self.flag}: this setup uses the names of {self.other}'s variant ({listing}); "
            "it is graded against yours",
        )


def names_held(model: Mapping[str, Any]) -> set[str]:
    """The names a (normalised) compose model uses."""
    held: set[str] = set()
    for kind in ("services", "networks", "volumes"):
        held |= set((model.get(kind) or {}).keys())
    for service in (model.get("services") or {}).values():
        held |= {str(service.get(key)) for key in ("container_name", "image") if service.get(key)}
        for attachment in (service.get("networks") or {}).values():
            held |= set((attachment or {}).get("aliases") or ())
        for mount in service.get("volumes") or ():
            if mount.get("source"):
                held.add(str(mount["source"]).rstrip("/"))
    for definition in list((model.get("networks") or {}).values()) + list(
        (model.get("volumes") or {}).values()
    ):
        if isinstance(definition, Mapping) and definition.get("name"):
            held.add(str(definition["name"]))
    return held


def copied_variants(
    student: str,
    held: set[str],
    variants: Mapping[str, Variant],
    variations: Iterable[Variation],
) -> list[CopyFlag]:
    """The other students whose variant ``held`` matches better than ``student``'s own."""
    names = [v.parameter for v in variations if v.is_name and v.same_as is None]
    own = variants.get(student)
    if own is None or not names:
        return []
    own_held = {p for p in names if str(own.values.get(p)) in held}
    needed = min(2, len(names))
    flags: list[CopyFlag] = []
    for other, variant in sorted(variants.items()):
        if other == student:
            continue
        matched = {
            p: str(variant.values[p])
            for p in names
            if p in variant.values
            and variant.values[p] != own.values.get(p)
            and str(variant.values[p]) in held
        }
        if len(matched) >= needed and len(matched) > len(own_held):
            flags.append(CopyFlag(other, matched))
    return flags
