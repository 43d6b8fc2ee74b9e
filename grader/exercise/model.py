"""The exercise model, shared by every lab.

An exercise is a folder ``exercises/<id>/``::

    exercise.yaml        id, titles, parameters (with defaults), images, solution, stand-ins
    prompt.fr.md         the prompt, a Jinja2 template over ``params`` and ``images``
    prompt.en.md
    checks.py            pytest checks, one test per check id: ``@check("id")``
    solution/            the reference solution (a Compose file template and steps)
    mutants.yaml         mutants of the solution, for ``grade selftest`` (optional)
    stand-ins/<image>/   offline Dockerfiles standing in for the lab's images

and its rubric is ``rubrics/<id>.yaml``. Loading validates the rubric against the checks both
ways and reports every problem with its file and line.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from grader.errors import ExerciseDefinitionError, ParameterError
from grader.exercise.mutants import MUTANTS_FILE, Mutants, load_mutants
from grader.exercise.variants import Variant, Variation, derive, parse_variations
from grader.i18n import Lang, Text
from grader.judge.rubric import Rubric, check_against, load_rubric

if TYPE_CHECKING:
    import jinja2

Value = str | int

#: ``names:`` in exercise.yaml. ``exact`` (the default): a name is the exact container, network
#: or volume name, or with ``--project P`` a Compose key of project P (falling back to the exact
#: name). ``compose-project``: a name is a Compose key of one project only, the one of the folder
#: ``grade`` runs in unless ``--project`` names another (a lab whose deliverable is a compose
#: file).
NAMES_EXACT = "exact"
NAMES_COMPOSE_PROJECT = "compose-project"


class Params(Mapping[str, Value]):
    """An exercise's parameters: read as ``params.network`` or ``params["network"]``.

    >>> p = Params({"network": "moby-network", "app_port": 8000})
    >>> p.with_overrides({"app_port": "8080"}).app_port
    8080
    """

    def __init__(self, values: Mapping[str, Value]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str) -> Value:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}") from None

    def __repr__(self) -> str:
        return f"Params({self._values!r})"

    def __reduce__(self) -> tuple[type[Params], tuple[dict[str, Value]]]:
        # Pickled for grading workers; the default protocol would look up __setstate__
        # through __getattr__ before _values exists.
        return Params, (self._values,)

    def with_overrides(self, overrides: Mapping[str, str]) -> Params:
        """Override values from text (``--param key=value``), keeping each default's type."""
        values = dict(self._values)
        for key, text in overrides.items():
            if key not in values:
                known = ", ".join(sorted(values))
                raise ParameterError(
                    Text(
                        fr=f"paramètre inconnu « {key} » (paramètres : {known})",
                        en=f"unknown parameter '{key}' (parameters: {known})",
                    )
                )
            if isinstance(values[key], int):
                if not text.strip().isdigit():
                    raise ParameterError(
                        Text(
                            fr=f"le paramètre « {key} » attend un entier, pas « {text} »",
                            en=f"parameter '{key}' expects an integer, not '{text}'",
                        )
                    )
                values[key] = int(text)
            else:
                values[key] = text
        return Params(values)


@dataclass(frozen=True)
class Solution:
    """The reference solution: a Compose file template, then commands run against it; or,
    for a lab on a swarm, a stack file template (``solution: {stack: ...}``) that
    :mod:`grader.setup.stack` sets up."""

    compose: Path
    """The template (a Compose file, or a stack file when :attr:`stack`)."""
    steps: tuple[tuple[str, ...], ...] = ()
    """``docker compose`` sub-commands run after ``up`` (``exec -T redis redis-cli SAVE``)."""
    stack: bool = False
    """A swarm lab: services with ``deploy:`` are swarm services, the others standalone
    containers; demo and selftest run it on a swarm (:func:`grader.setup.stack.swarm_for_a_run`),
    and batch grading refuses it (graded in place only)."""


@dataclass(frozen=True)
class ProbeSites:
    """Where the checks will run probes, known before they are loaded (``probe_sites:`` in
    exercise.yaml), so that grading starts those probes at once: a speed hint, never needed
    for a right verdict (:func:`~grader.observe.ahead.start_probes_ahead`). A site left out
    gets its probe when a check asks; one named that no check uses costs a container."""

    network_of: tuple[str, ...] = ()
    """Parameters naming the containers whose network namespace probes join."""
    engine_host: bool = False
    """Probes run on the engine host (published ports)."""


@dataclass(frozen=True)
class Exercise:
    id: str
    directory: Path
    title: Text
    params: Params
    images: Mapping[str, str]
    rubric: Rubric
    checks_file: Path
    solution: Solution | None = None
    stand_ins: Mapping[str, Path] = field(default_factory=dict)
    host_paths: tuple[str, ...] = ()
    """Parameters that name folders on the engine host (demo and batch runs get their own)."""
    host_ports: tuple[str, ...] = ()
    """Parameters that name published host ports (batch grading gives each run its own)."""
    variations: tuple[Variation, ...] = ()
    """The parameters that vary per student in exams (``variants:``), see
    :mod:`grader.exercise.variants`."""
    mutants: Mutants = field(default_factory=Mutants)
    """Declared mutants of the reference solution, and generated ones declared equivalent
    (``mutants.yaml``, for ``grade selftest``)."""
    submission_allow: tuple[str, ...] = ()
    """Service keys that batch grading's policy refuses but this exercise needs
    (``submission: {allow: [KEY, ...]}``); see :mod:`grader.batch.policy`."""
    probe_sites: ProbeSites = field(default_factory=ProbeSites)
    compose_project: bool = False
    """``names: compose-project``: the names are the Compose keys of one project, never exact
    names; ``grade check`` grades the project of the folder it runs in, named as Compose
    names it (:func:`grader.compose.find_project`), unless ``--project`` names another."""

    def rubric_with(self, params: Params | None = None) -> Rubric:
        """The rubric with its titles and hints rendered for ``params`` (default: the
        exercise's own): they name the lab's objects, which a student's variant renames."""

        def render(text: str) -> str:
            return self.render(text, params) if "{{" in text else text

        return self.rubric.rendered(render)

    def mutants_for(self, params: Params) -> Mutants:
        """The exercise's ``mutants.yaml``, rendered with ``params`` (a variant's names)."""
        return load_mutants(
            self.directory / MUTANTS_FILE,
            self.rubric.check_ids,
            self.id,
            lambda text: self.render(text, params),
        )

    def variant(self, student: str, key: bytes | None) -> Variant:
        """``student``'s values of the varying parameters (none without a course key)."""
        return derive(self.variations, key, self.id, student)

    def prompt(self, lang: Lang, params: Params | None = None) -> str:
        return self.render(self.directory / f"prompt.{lang}.md", params)

    def render(
        self,
        template: Path | str,
        params: Params | None = None,
        images: Mapping[str, str] | None = None,
    ) -> str:
        """Render one of the exercise's Jinja2 templates (a file of the exercise, or a string)
        with its parameters and images."""
        if isinstance(template, str):
            plain = substituted(template, params or self.params, images or self.images)
            if plain is not None:
                return plain
        directory = str(self.directory)
        compiled = (
            _compiled_string(directory, template)
            if isinstance(template, str)
            else _environment(directory).get_template(
                template.relative_to(self.directory).as_posix()
            )
        )
        return compiled.render(
            params=params or self.params, images=images or self.images, exercise=self
        )


#: The only template syntax most rubric and mutant texts use: ``{{ params.NAME }}`` or
#: ``{{ images.NAME }}``.
_PLAIN_PLACEHOLDER = re.compile(r"\{\{ *(params|images)\.([A-Za-z][A-Za-z0-9_]*) *\}\}")


def substituted(text: str, params: Mapping[str, Value], images: Mapping[str, str]) -> str | None:
    """``text`` rendered as Jinja2 would render it, without Jinja2, when its only template
    syntax is :data:`_PLAIN_PLACEHOLDER` naming defined values; ``None`` when Jinja2 must
    render it. A self-check renders a hundred such texts, and importing Jinja2 and compiling
    them was a tenth of its time.

    >>> substituted("docker network create {{ params.network }}", {"network": "n"}, {})
    'docker network create n'
    >>> substituted("{{ params.network | upper }}", {"network": "n"}, {}) is None
    True
    """
    if "\r" in text or "{%" in text or "{#" in text:  # Jinja2 normalises newlines
        return None
    pieces: list[str] = []
    end = 0
    for match in _PLAIN_PLACEHOLDER.finditer(text):
        scope: Mapping[str, Any] = params if match[1] == "params" else images
        name = match[2]
        # A name that is also an attribute of the mapping (``items``) is the attribute to
        # Jinja2; leave such names to it.
        if name not in scope or hasattr(type(scope), name):
            return None
        pieces += [text[end : match.start()], str(scope[name])]
        end = match.end()
    pieces.append(text[end:])
    literals = pieces[::2]
    # Template syntax left in the text between placeholders, or a brace that would make a
    # placeholder's ``{{`` start one character earlier: Jinja2's to read.
    if any("{{" in literal for literal in literals) or any(
        literal.endswith("{") for literal in literals[:-1]
    ):
        return None
    return "".join(pieces)


@functools.cache
def _environment(directory: str) -> jinja2.Environment:
    """One Jinja2 environment per exercise folder: it caches the templates it loads."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


@functools.lru_cache(maxsize=1024)
def _compiled_string(directory: str, text: str) -> jinja2.Template:
    """A template given as a string (a rubric title or hint, a mutant), compiled once: a run
    renders the same titles and hints for the live progress and for the score sheet, and
    compiling is most of what rendering one costs."""
    return _environment(directory).from_string(text)


def load_exercise(directory: Path, rubrics_dir: Path) -> Exercise:
    """Load ``directory`` and its rubric; raise :class:`ExerciseDefinitionError` listing every
    problem found."""
    definition = directory / "exercise.yaml"
    try:
        data = yaml.load(  # a safe loader, the C one when available
            definition.read_text(encoding="utf-8"),
            Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader),
        )
    except (OSError, yaml.YAMLError) as exc:
        raise ExerciseDefinitionError([f"{definition}: {exc}"]) from exc
    if not isinstance(data, dict):
        raise ExerciseDefinitionError([f"{definition}:1: expected a mapping"])
    exercise_id = str(data.get("id") or directory.name)
    problems: list[str] = []
    title = data.get("title") or {}
    parameters = data.get("parameters") or {}
    bad = [k for k, v in parameters.items() if isinstance(v, bool) or not isinstance(v, (str, int))]
    problems += [f"{definition}: parameter '{k}' must be a string or an integer" for k in bad]
    checks_file = directory / "checks.py"
    declared = declared_checks(checks_file, problems)
    rubric_path = rubrics_dir / f"{exercise_id}.yaml"
    rubric: Rubric | None = None
    try:
        rubric = load_rubric(rubric_path, exercise_id)
    except ExerciseDefinitionError as exc:
        problems += exc.problems
    if rubric is not None:
        problems += check_against(rubric, declared, checks_file)
    mutants = Mutants()
    if rubric is not None and not problems:
        draft = Exercise(
            exercise_id, directory, Text.same(exercise_id), Params(parameters),
            {str(k): str(v) for k, v in (data.get("images") or {}).items()}, rubric, checks_file,
        )  # fmt: skip
        try:
            mutants = draft.mutants_for(draft.params)
        except ExerciseDefinitionError as exc:
            problems += exc.problems
    for lang in ("fr", "en"):
        if not (directory / f"prompt.{lang}.md").is_file():
            problems.append(f"{directory}: missing prompt.{lang}.md")
    solution = _solution(directory, data.get("solution"), problems, definition)
    stand_ins = {
        str(image): directory / str(path) for image, path in (data.get("stand_ins") or {}).items()
    }
    host_paths = tuple(str(p) for p in data.get("host_paths") or ())
    host_ports = tuple(str(p) for p in data.get("host_ports") or ())
    problems += [
        f"{definition}: {key} names '{p}', which is not a parameter"
        for key, names in (("host_paths", host_paths), ("host_ports", host_ports))
        for p in names
        if p not in parameters
    ]
    problems += [
        f"{definition}: host port parameter '{p}' must be an integer"
        for p in host_ports
        if p in parameters and not isinstance(parameters[p], int)
    ]
    variations = parse_variations(data.get("variants"), parameters, str(definition), problems)
    submission = data.get("submission") or {}
    allow = submission.get("allow") if isinstance(submission, dict) else None
    if allow is not None and not (
        isinstance(allow, list) and all(isinstance(key, str) for key in allow)
    ):
        problems.append(f"{definition}: submission.allow must be a list of service keys")
        allow = None
    probe_sites = _probe_sites(data.get("probe_sites"), parameters, problems, definition)
    compose_project = _compose_project(data.get("names", NAMES_EXACT), problems, definition)
    if problems or rubric is None:
        raise ExerciseDefinitionError(problems)
    return Exercise(
        id=exercise_id,
        directory=directory,
        title=Text(fr=str(title.get("fr", exercise_id)), en=str(title.get("en", exercise_id))),
        params=Params(parameters),
        images={str(k): str(v) for k, v in (data.get("images") or {}).items()},
        rubric=rubric,
        checks_file=checks_file,
        solution=solution,
        stand_ins=stand_ins,
        host_paths=host_paths,
        host_ports=host_ports,
        variations=variations,
        mutants=mutants,
        submission_allow=tuple(allow or ()),
        probe_sites=probe_sites,
        compose_project=compose_project,
    )


def _compose_project(names: Any, problems: list[str], where: Path) -> bool:
    if names not in (NAMES_EXACT, NAMES_COMPOSE_PROJECT):
        problems.append(
            f"{where}: names must be {NAMES_EXACT} or {NAMES_COMPOSE_PROJECT}, not {names!r}"
        )
    return bool(names == NAMES_COMPOSE_PROJECT)


def _probe_sites(
    data: Any, parameters: Mapping[str, Any], problems: list[str], where: Path
) -> ProbeSites:
    if data is None:
        return ProbeSites()
    network_of = data.get("network_of", []) if isinstance(data, dict) else None
    engine_host = data.get("engine_host", False) if isinstance(data, dict) else None
    if (
        not isinstance(network_of, list)
        or not all(isinstance(key, str) for key in network_of)
        or not isinstance(engine_host, bool)
        or set(data) - {"network_of", "engine_host"}
    ):
        problems.append(
            f"{where}: probe_sites takes network_of (a list of parameters) and engine_host "
            "(true or false), nothing else"
        )
        return ProbeSites()
    problems += [
        f"{where}: probe_sites.network_of names '{key}', which is not a parameter"
        for key in network_of
        if key not in parameters
    ]
    return ProbeSites(network_of=tuple(network_of), engine_host=engine_host)


def _solution(directory: Path, data: Any, problems: list[str], where: Path) -> Solution | None:
    if not data:
        return None
    stack = "stack" in data
    kind = "stack" if stack else "compose"
    compose = directory / str(data.get(kind, ""))
    if not compose.is_file():
        problems.append(f"{where}: solution {kind} file {compose} is missing")
    steps = tuple(tuple(str(arg) for arg in step) for step in data.get("steps") or ())
    if stack and steps:
        problems.append(f"{where}: a stack solution has no steps")
    return Solution(compose=compose, steps=steps, stack=stack)


def declared_checks(checks_file: Path, problems: list[str]) -> dict[str, int]:
    """Check ids declared with ``@check("id")`` in ``checks_file``, with their line numbers.

    Read from the source (not imported), so a broken rubric is reported before any check runs.
    """
    try:
        tree = ast.parse(checks_file.read_text(encoding="utf-8"), str(checks_file))
    except (OSError, SyntaxError) as exc:
        problems.append(f"{checks_file}: cannot read checks ({exc})")
        return {}
    declared: dict[str, int] = {}
    for node in ast.walk(tree):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in node.decorator_list:
            check_id = _check_id(decorator)
            if check_id is None:
                continue
            if check_id in declared:
                problems.append(
                    f"{checks_file}:{decorator.lineno}: check '{check_id}' is declared twice "
                    f"(first at line {declared[check_id]})"
                )
            declared.setdefault(check_id, decorator.lineno)
    return declared


def _check_id(decorator: ast.expr) -> str | None:
    if not isinstance(decorator, ast.Call) or not decorator.args:
        return None
    func = decorator.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )
    first = decorator.args[0]
    if name == "check" and isinstance(first, ast.Constant) and isinstance(first.value, str):
        return first.value
    return None
