"""Reporting: outcomes in, files and terminal lines out. Reporters never call Docker.

- :mod:`grader.report.terminal` -- live progress and the per-check lines with hints;
- :mod:`grader.report.json_report` -- the versioned JSON score report (and reading it back);
- :mod:`grader.report.junit` -- JUnit XML that Jenkins' schema and GitLab accept;
- :mod:`grader.report.sanitize` and :mod:`grader.report.files` -- clean text, atomic files.
"""
