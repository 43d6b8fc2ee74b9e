"""Running checks: :func:`~grader.harness.run.grade` drives pytest in-process with the
:class:`~grader.harness.plugin.GraderPlugin`."""

from grader.harness.observer import RunObserver
from grader.harness.request import GradeRequest
from grader.harness.run import grade

__all__ = ["GradeRequest", "RunObserver", "grade"]
