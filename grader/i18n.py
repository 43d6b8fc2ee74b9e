"""Bilingual text: every message a student reads exists in French and in English."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast, get_args

Lang = Literal["fr", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)


def as_lang(value: str) -> Lang:
    """Return ``value`` as a :data:`Lang`, or raise ``ValueError``.

    >>> as_lang("en")
    'en'
    """
    if value not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, not {value!r}")
    return cast(Lang, value)


@dataclass(frozen=True)
class Text:
    """One message in both languages.

    >>> Text(fr="bonjour {who}", en="hello {who}").format(who="Ada").render("en")
    'hello Ada'
    """

    fr: str
    en: str

    def render(self, lang: Lang) -> str:
        return self.fr if lang == "fr" else self.en

    def format(self, **values: object) -> Text:
        """Fill placeholders; a value that is itself a :class:`Text` fills each language."""

        def filled(lang: Lang) -> dict[str, object]:
            return {k: v.render(lang) if isinstance(v, Text) else v for k, v in values.items()}

        return Text(fr=self.fr.format(**filled("fr")), en=self.en.format(**filled("en")))

    @classmethod
    def same(cls, text: str) -> Text:
        """A text that reads the same in both languages (an id, a raw observation)."""
        return cls(fr=text, en=text)

    def map(self, change: Callable[[str], str]) -> Text:
        """The text with ``change`` applied in each language.

        >>> Text(fr="a", en="b").map(str.upper)
        Text(fr='A', en='B')
        """
        return Text(fr=change(self.fr), en=change(self.en))

    def __add__(self, other: Text) -> Text:
        return Text(fr=self.fr + other.fr, en=self.en + other.en)
