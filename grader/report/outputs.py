"""The reports a grading can write, by name: a registry the commands name outputs from.

Each :class:`Output` names its writer as ``"module:function"``, imported only when that report
is written, so a run imports only the reports it writes. A writer takes the result, a
:data:`~grader.report.files.Target`, and the options it declares (``flavor`` for JUnit).
:func:`write_outputs` writes several, each whatever the others did, and gives back the first
failure: a report that cannot be written never stops another.

>>> [output.option for output in OUTPUTS]
['--json', '--junit', '--gradescope', '--summary-md']
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from grader.i18n import Text
from grader.report.files import STDOUT, Target
from grader.result import GradeResult


@dataclass(frozen=True)
class Output:
    """A report a grading can write."""

    name: str
    option: str
    """The command-line option that asks for it."""
    writer: str
    """``module:function`` writing it: ``function(result, target, **options)``."""
    options: tuple[str, ...] = ()
    """Options the writer takes beyond the result and the target."""

    def load(self) -> Callable[..., None]:
        module, _, function = self.writer.partition(":")
        writer: Callable[..., None] = getattr(importlib.import_module(module), function)
        return writer

    def write(self, result: GradeResult, target: Target, **options: Any) -> None:
        chosen = {key: value for key, value in options.items() if key in self.options}
        self.load()(result, target, **chosen)


OUTPUTS: tuple[Output, ...] = (
    Output("json", "--json", "grader.report.json_report:write_json"),
    Output("junit", "--junit", "grader.report.junit:write_junit", ("flavor",)),
    Output("gradescope", "--gradescope", "grader.report.gradescope:write_gradescope"),
    Output("summary-md", "--summary-md", "grader.report.markdown:append_markdown"),
)


def output(name: str) -> Output:
    """The output called ``name``.

    >>> output("junit").option
    '--junit'
    """
    for known in OUTPUTS:
        if known.name == name:
            return known
    raise KeyError(name)


def write_outputs(
    result: GradeResult, wanted: Sequence[tuple[Output, Target]], **options: Any
) -> Text | None:
    """Write each wanted report; the first failure's text, or ``None`` when all were written."""
    failed: Text | None = None
    for wanted_output, target in wanted:
        try:
            wanted_output.write(result, target, **options)
        except OSError as exc:
            where = (
                Text(fr="sortie standard", en="standard output")
                if target == STDOUT
                else Text.same(str(target))
            )
            failed = failed or Text(
                fr="rapport impossible à écrire : {where}: {why}",
                en="cannot write report: {where}: {why}",
            ).format(where=where, why=exc.strerror)
    return failed
