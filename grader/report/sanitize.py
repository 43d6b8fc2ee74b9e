"""Cleaning observed text before it reaches any report.

Whatever a student's container prints (colour codes, NUL bytes, invalid UTF-8, megabytes) ends
up as plain, printable, XML-safe text of bounded length, with the cut marked.
"""

from __future__ import annotations

import re

from grader import defaults

_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI: colours, cursor moves
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC: titles, hyperlinks
    r"|\x1b[ -/]*[0-~]"  # other escapes: ESC M, ESC ( B...
)
# Everything XML 1.0 forbids, and the C0/C1 controls a terminal would act on (tab and newline
# are kept), and lone surrogates left by undecodable bytes.
_UNWANTED = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def clean_text(text: str, limit: int = defaults.MESSAGE_LIMIT) -> str:
    """Printable, XML-safe ``text`` of at most about ``limit`` characters.

    >>> clean_text("\\x1b[31mred\\x1b[0m\\x00!")
    'red!'
    >>> clean_text("x" * 30, limit=10)
    'xxxxxxxxxx […20 characters cut]'
    """
    text = _UNWANTED.sub("", _ANSI.sub("", text.replace("\r\n", "\n")))
    if len(text) > limit:
        return f"{text[:limit]} […{len(text) - limit} characters cut]"
    return text


_MARKDOWN = str.maketrans(
    {"|": "\\|", "<": "&lt;", ">": "&gt;", "[": "\\[", "]": "\\]", "`": "\\`", "\\": "\\\\"}
)


def markdown_cell(text: str, limit: int = 500) -> str:
    """Text for one cell of a Markdown table: one line, clean, and inert (no HTML, no link,
    no code span, no column break), whatever a container or a submission printed.

    >>> print(markdown_cell("<img src=x> [click](http://e.x) | `id`"))
    &lt;img src=x&gt; \\[click\\](http://e.x) \\| \\`id\\`
    """
    return " ".join(clean_text(text, limit).split()).translate(_MARKDOWN)
