"""The class view: during a lab, the teacher sees who is stuck where.

Students' ``grade check`` runs push their JSON reports to a class server (``grade serve``),
which stores them and shows the class on a live page. This package uses the core and nothing
in the core uses it. Its parts, lightest first:

- :mod:`grader.classroom.membership` -- a student's class (``grade join``): server, token, the
  outbox of reports not yet delivered (standard library only);
- :mod:`grader.classroom.client` -- delivering reports, oldest first, each exactly once, within
  a short deadline (standard library only: ``grade check`` imports it only once a class is
  joined);
- :mod:`grader.classroom.tokens` -- random tokens, stored only as hashes;
- :mod:`grader.classroom.store` -- the database (SQLAlchemy models, Alembic migrations);
- :mod:`grader.classroom.classes` -- creating a class (roster, labs, tokens, variants);
- :mod:`grader.classroom.state` -- the class as the page shows it (grid, stuck, pass rates);
- :mod:`grader.classroom.observed` -- grading students' engines in place, on a schedule;
- :mod:`grader.classroom.server` -- the ASGI application and its runner;
- ``page/`` -- the teacher's page (templates, one script, one stylesheet; nothing external).

The server's packages come with ``pip install 'tp-grader[serve]'``.
"""
