"""Grading a class.

- :mod:`grader.batch.submissions` -- submission folders, student ids, hosts files;
- :mod:`grader.batch.gate` -- the trust boundary: what a submission passes before it runs;
- :mod:`grader.batch.rewrite` -- scoping a submission's names, ports and folders to its run;
- :mod:`grader.batch.build` -- its images, built within limits;
- :mod:`grader.batch.replay` -- one submission: build, up, ready, grade, down;
- :mod:`grader.batch.schedule` -- which submission runs where, around host-port conflicts;
- :mod:`grader.batch.run` -- the whole class, replayed or in place;
- :mod:`grader.batch.outputs`, :mod:`~grader.batch.rescore`, :mod:`~grader.batch.clean`.
"""
