"""Grading a class.

- :mod:`grader.batch.submissions` -- submission folders and hosts files;
- :mod:`grader.batch.review` -- refusing what an untrusted submission must not do;
- :mod:`grader.batch.rewrite` -- scoping a submission's names, ports and folders to its run;
- :mod:`grader.batch.replay` -- one submission: up, ready, grade, down;
- :mod:`grader.batch.schedule` -- which submission runs where, around host-port conflicts;
- :mod:`grader.batch.run` -- the whole class, replayed or in place;
- :mod:`grader.batch.outputs`, :mod:`~grader.batch.rescore`, :mod:`~grader.batch.clean`.
"""
