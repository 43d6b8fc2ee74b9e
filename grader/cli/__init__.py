"""The ``grade`` command: a thin typer adapter over the core.

Each command parses options, calls one core function, renders its result and maps it to an
exit code: 0 every check passed (or the score reached ``--min-score``), 1 graded with misses,
2 usage error, 3 environment error (engine unreachable, probe image missing...), 130
interrupted. ``grade batch`` exits 0 when every submission was graded or refused, 1 when some
are in error.

- :mod:`grader.cli._app` -- the application, ``grade EXERCISE`` as ``grade check EXERCISE``;
- :mod:`grader.cli.common` -- shared options, exit codes, reports, one grading's run;
- :mod:`grader.cli.student` -- ``list``, ``show``, ``check``, ``demo``, ``doctor``;
- :mod:`grader.cli.teacher` -- ``batch``, ``rescore``, ``clean``;
- :mod:`grader.cli.author` -- ``selftest``, ``new``;
- :mod:`grader.cli.classroom` -- ``serve``, ``class``, ``join``, ``push``, ``leave``.
"""

from __future__ import annotations

from grader.cli import author, classroom, common, student, teacher  # noqa: F401 - importing registers the commands
from grader.cli._app import app
from grader.cli.common import leave_now_if_done

__all__ = ["app", "main"]


def main() -> None:
    """Console-script entry point."""
    common.finished_grading = False
    try:
        app(prog_name="grade")
    except SystemExit as done:
        leave_now_if_done(done.code)
        raise
