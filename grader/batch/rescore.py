"""``grade rescore``: a batch's scores again, from the stored per-check outcomes, under a
changed rubric (points, penalties, prerequisites). No engine is involved.

Scores come from each student's ``outcomes.json``, which holds what the grading observed and
is never rewritten: rescoring under the rubric the batch used gives back the original marks,
whatever rubrics were tried in between. A check the stored run skipped or could not run stays
unearned (it was never observed); a check the new rubric adds counts as not run.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from grader import defaults
from grader.batch.outputs import BatchOutputs
from grader.errors import UsageError
from grader.exercise.catalog import find
from grader.i18n import Text, as_lang
from grader.judge.rubric import load_rubric
from grader.result import GradeResult


def rescore(out_dir: Path, rubric_file: Path | None = None) -> list[GradeResult]:
    outputs = BatchOutputs(out_dir)
    try:
        batch = outputs.read_batch()
    except (OSError, ValueError) as exc:
        raise UsageError(
            Text(
                fr=f"{out_dir} n'est pas le dossier d'une correction groupée ({exc})",
                en=f"{out_dir} is not a batch's output folder ({exc})",
            )
        ) from exc
    exercise = find(str(batch["exercise"]))
    if rubric_file is not None:
        rubric = load_rubric(rubric_file.expanduser(), exercise.id)
        exercise = dataclasses.replace(exercise, rubric=rubric)
    results = list(outputs.graded(exercise).values())
    for result in results:
        outputs.write_reports(result)  # the outcomes and the replay log stay as they were
    outputs.write_class(
        exercise,
        results,
        id_column=str(batch.get("id_column", defaults.GRADEBOOK_ID_COLUMN)),
        lang=as_lang(str(batch.get("lang", defaults.DEFAULT_LANG))),
    )
    return results
