"""Judgement: from facts to outcomes and points.

- :mod:`grader.judge.outcome` -- check statuses and the :class:`CheckFailed` exception;
- :mod:`grader.judge.expect` and :mod:`grader.judge.messages` -- assertion helpers for checks
  and their bilingual explanations;
- :mod:`grader.judge.lab` -- the :class:`Lab` a check observes through;
- :mod:`grader.judge.rubric` and :mod:`grader.judge.scoring` -- rubric files and arithmetic.
"""
