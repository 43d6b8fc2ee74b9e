"""Setting a lab up on an engine: reference solutions, offline stand-in images, and folders of
a run's own on the engine host.

- :mod:`grader.setup.solution` -- an exercise's reference solution, up then down (demo, selftest);
- :mod:`grader.setup.stand_ins` -- building the offline stand-in images;
- :mod:`grader.setup.scratch` -- engine-host folders of a run's own.
"""
