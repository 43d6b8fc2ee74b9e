"""The gate: what a submission passes before anything of it runs, in order.

- :mod:`~grader.batch.gate.stage` -- a private copy of the folder, bounded, no links;
- :mod:`~grader.batch.gate.prescan` -- the raw compose files, read within bounds;
- :mod:`~grader.batch.gate.confined` -- ``compose config``, where only the copy exists;
- :mod:`~grader.batch.gate.rules` and :mod:`~grader.batch.gate.allowlist` -- every key of the
  model, allowed, rewritten or refused; :mod:`~grader.batch.gate.images` and
  :mod:`~grader.batch.gate.ports` -- registries and port counts;
- :mod:`~grader.batch.gate.dockerfile` -- what a build would make the engine fetch;
- :mod:`~grader.batch.gate.prepare` -- the gate, end to end, for one submission.
"""
