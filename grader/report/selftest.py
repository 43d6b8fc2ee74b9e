"""The report of ``grade selftest``: JSON (schema ``tp-grader.selftest/1``) and the terminal
table (each mutant, its operator, and the checks that caught it)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from grader.i18n import Lang, Text
from grader.report.sanitize import clean_text
from grader.selftest.run import MutantRun, SelftestReport

if TYPE_CHECKING:
    from rich.console import Console

SCHEMA = "tp-grader.selftest/1"


def to_dict(report: SelftestReport, lang: Lang) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "exercise": report.exercise_id,
        "ok": report.ok,
        "reference": {
            "score": report.reference.score,
            "max_score": report.reference.max_score,
            "not_passing": sorted(report.reference.not_passing),
            "error": _text(report.reference.error, lang),
        },
        "baseline": {
            "score": report.baseline.score,
            "passing": sorted(set(report.check_ids) - report.baseline.not_passing),
            "error": _text(report.baseline.error, lang),
        },
        "declared": {
            "total": len(report.declared),
            "held": len(report.declared) - len(report.broken),
            "broken": [
                {
                    "id": run.id,
                    "description": run.description.render(lang),
                    "expected_not_passing": sorted(run.expected or ()),
                    "not_passing": sorted(run.not_passing),
                    "error": _text(run.error, lang),
                }
                for run in report.broken
            ],
        },
        "generated": {
            "total": len(report.generated),
            "killed": sum(1 for run in report.generated if run.killed),
            "equivalent": len(report.equivalent),
            "survived": [
                {"id": run.id, "description": run.description.render(lang)}
                for run in report.survived
            ],
        },
        "checks_never_failing": list(report.checks_never_failing),
        "duration_s": round(report.duration_s, 1),
        "runs": [_run(run, lang) for run in _all(report)],
    }


def dumps(report: SelftestReport, lang: Lang) -> str:
    return json.dumps(to_dict(report, lang), ensure_ascii=False, indent=2) + "\n"


def _all(report: SelftestReport) -> tuple[MutantRun, ...]:
    return (report.reference, report.baseline, *report.declared, *report.generated)


def _run(run: MutantRun, lang: Lang) -> dict[str, Any]:
    return {
        "id": run.id,
        "kind": run.kind,
        "operator": run.operator,
        "description": run.description.render(lang),
        "score": run.score,
        "not_passing": sorted(run.not_passing),
        "failing": sorted(run.failing),
        "problems": [clean_text(problem, 300) for problem in run.problems],
        "equivalent": _text(run.equivalent, lang),
        "error": _text(run.error, lang),
    }


def _text(text: Text | None, lang: Lang) -> str | None:
    return None if text is None else clean_text(text.render(lang))


WORDS = {
    "title": Text(fr="Auto-test de", en="Selftest of"),
    "mutant": Text(fr="mutant", en="mutant"),
    "operator": Text(fr="opérateur", en="operator"),
    "caught": Text(fr="détecté par", en="caught by"),
    "survived": Text(fr="SURVIT", en="SURVIVED"),
    "equivalent": Text(fr="équivalent", en="equivalent"),
    "broken": Text(fr="ATTENDU", en="EXPECTED"),
    "error": Text(fr="erreur", en="error"),
}


def render(report: SelftestReport, console: Console, lang: Lang) -> None:
    from rich.markup import escape
    from rich.table import Table

    word = {key: text.render(lang) for key, text in WORDS.items()}
    console.print(f"[bold]{word['title']} {escape(report.exercise_id)}[/]")
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="dim")
    table.add_column("", no_wrap=True)
    table.add_column(word["mutant"], overflow="fold")
    table.add_column(word["operator"], no_wrap=True)
    table.add_column(word["caught"], overflow="fold")
    for run in _all(report):
        mark, caught = _verdict(run, report, word)
        table.add_row(mark, escape(run.id), run.operator, escape(caught))
    console.print(table)
    for line in summary_lines(report, lang):
        console.print(line, markup=False, highlight=False)


def _verdict(run: MutantRun, report: SelftestReport, word: dict[str, str]) -> tuple[str, str]:
    """The mark and the last column of a run's row."""
    good, bad = "[green]✔[/]", "[red]✘[/]"
    caught = ", ".join(sorted(run.not_passing)) or "—"
    if run.error is not None:
        row = "[magenta]⚠[/]", f"{word['error']}: {run.error.en}"
    elif run.kind == "reference":
        row = (good if report.reference_ok else bad), f"{run.score:g}/{run.max_score:g}"
    elif run.kind == "baseline":
        row = (good if report.baseline_ok else bad), f"{run.score:g}"
    elif run.kind == "declared" and not run.held:
        expected = ", ".join(sorted(run.expected or ()))
        row = bad, f"{caught} ({word['broken']}: {expected})"
    elif run.kind == "generated" and run.equivalent is not None and not run.killed:
        row = "[dim]=[/]", f"{word['equivalent']}: {run.equivalent.en}"
    elif run.kind == "generated" and not run.killed:
        row = bad, word["survived"]
    else:
        row = good, caught
    return row


def summary_lines(report: SelftestReport, lang: Lang) -> list[str]:
    """The verdict, and what to look at when it is not all right."""
    fr = lang == "fr"
    lines = [
        (
            f"référence {report.reference.score:g}/{report.reference.max_score:g}, "
            f"rien mis en place {report.baseline.score:g}, "
            f"mutants déclarés {len(report.declared) - len(report.broken)}/{len(report.declared)} "
            f"conformes, générés {sum(r.killed for r in report.generated)}/"
            f"{len(report.generated)} détectés ({len(report.equivalent)} équivalents), "
            f"{report.duration_s:.0f} s"
        )
        if fr
        else (
            f"reference {report.reference.score:g}/{report.reference.max_score:g}, "
            f"baseline {report.baseline.score:g}, "
            f"declared mutants {len(report.declared) - len(report.broken)}/{len(report.declared)} "
            f"held, generated {sum(r.killed for r in report.generated)}/"
            f"{len(report.generated)} killed ({len(report.equivalent)} equivalent), "
            f"{report.duration_s:.0f} s"
        )
    ]
    look: list[str] = []
    if not report.reference_ok:
        look.append(
            "la solution de référence n'a pas toutes les vérifications : corrigez-la, ou les "
            "vérifications qu'elle manque"
            if fr
            else "the reference solution misses checks: fix it, or the checks it misses"
        )
    if not report.baseline_ok:
        passing = ", ".join(sorted(set(report.check_ids) - report.baseline.not_passing))
        look.append(
            f"sans rien mis en place, des points sont gagnés ({passing}) : ces vérifications "
            "passent à vide"
            if fr
            else f"points are earned with nothing set up ({passing}): these checks pass vacuously"
        )
    for run in report.broken:
        look.append(
            f"mutant déclaré {run.id} : {', '.join(sorted(run.not_passing)) or 'rien'} ne passe "
            f"pas, au lieu de {', '.join(sorted(run.expected or ()))}"
            if fr
            else f"declared mutant {run.id}: {', '.join(sorted(run.not_passing)) or 'nothing'} "
            f"does not pass, instead of {', '.join(sorted(run.expected or ()))}"
        )
    for run in report.survived:
        look.append(
            f"mutant {run.id} ({run.description.fr}) survit : aucune vérification ne le voit ; "
            "ajoutez-en une, ou déclarez-le équivalent dans mutants.yaml, avec la raison"
            if fr
            else f"mutant {run.id} ({run.description.en}) survives: no check sees it; add one, "
            "or declare it equivalent in mutants.yaml, with the reason"
        )
    for run in report.stale_equivalences:
        look.append(
            f"{run.id} est déclaré équivalent, mais {', '.join(sorted(run.not_passing))} le "
            "détecte : la déclaration est de trop (ou son motif trop large)"
            if fr
            else f"{run.id} is declared equivalent, but {', '.join(sorted(run.not_passing))} "
            "catches it: the declaration is not needed (or its pattern is too wide)"
        )
    if report.checks_never_failing:
        never = ", ".join(report.checks_never_failing)
        look.append(
            f"aucun mutant ne fait échouer : {never} (ajoutez un mutant déclaré qui le fait)"
            if fr
            else f"no mutant makes these fail: {never} (declare a mutant that does)"
        )
    heading = "À examiner :" if fr else "To look at:"
    return lines + ([heading, *(f"  - {item}" for item in look)] if look else [])
