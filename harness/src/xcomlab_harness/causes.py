"""Root causes, not symptoms: failures that share one cause, told once.

A backend that breaks on its first push (an Airflow-2-era `serialize_value(value)` on Airflow 3) fails a
dozen scenarios with the same error. `group` folds them into one RootCause: the known fix's id when the
evidence matches one (xcomlab_harness.fixes), else the evidence with its run-specific parts (uuids, run ids,
numbers, paths) replaced. Harness errors and scenarios that never reached the store are never causes.
Pure functions: they read and fill a Verdict, nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from xcomlab_harness.fixes import FIXES, Fix, known_fix, written_keys
from xcomlab_harness.verdict import FAIL, RootCause, ScenarioResult, Verdict

# "pull failed: ", "produce[3] failed: " (scenarios.failure's prefix)
_TASK_PREFIX = re.compile(r"^\s*[\w.-]+(?:\[\d+\])? failed: ")
_REPLACEMENTS = [
    (re.compile(r"\b(?:manual|scheduled|backfill|dataset_triggered|asset_triggered)__[\w:.+%-]+"), "<run_id>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"), "<time>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE), "<uuid>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.IGNORECASE), "<hex>"),
    # hex ids: a run of 6+ hex digits with at least one digit and one letter ("deadline" stays a word)
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", re.IGNORECASE), "<hex>"),
    (re.compile(r"\b[a-z][\w+.-]*://[^\s'\"]*[^\s'\".,:;)]", re.IGNORECASE), "<url>"),
    (re.compile(r"(['\"])[^'\"]*[/\\][^'\"]*\1"), r"\1<path>\1"),  # quoted paths and keys
    (re.compile(r"(?<![\w<])/[\w.%<>-]+(?:/[\w.%<>-]*)+"), "<path>"),
]
# numbers that name the error, kept: Errno 2 vs 13, HTTP 403 vs 404, exit code -9
_KEPT_NUMBER = re.compile(r"Errno \d+|\(\d{3}\)|\b[1-5]\d\d(?= [A-Z]{3,})|code -?\d+")
_SLOT = 0xE000
_NUMBER = re.compile(r"(?<![\w<])-?\d+(?:[.,]\d+)*(?![\w>])")
_EXCEPTION = re.compile(r"(?:[a-z_]\w*\.)*(?P<name>[A-Z]\w*(?:Error|Exception|Exit|Warning|Interrupt)|[A-Z]\w+)"
                        r": (?P<rest>\S.*)")


def normalized(evidence: str) -> str:
    """The evidence without what differs from run to run: the task prefix, ids, times, numbers, paths."""
    text = _TASK_PREFIX.sub("", evidence.strip(), count=1)
    for pattern, placeholder in _REPLACEMENTS:
        text = pattern.sub(placeholder, text)
    kept: list[str] = []

    def keep(match: re.Match[str]) -> str:
        kept.append(match.group(0))
        return chr(_SLOT + len(kept) - 1)  # a private-use character: no digit for _NUMBER to see

    text = _NUMBER.sub("<n>", _KEPT_NUMBER.sub(keep, text))
    text = re.sub(f"[{chr(_SLOT)}-{chr(_SLOT + 0x18FF)}]", lambda m: kept[ord(m.group(0)) - _SLOT], text)
    return " ".join(text.split())


def title_of(evidence: str, fix_id: str | None = None) -> str:
    """Short: the fix's id in words, or the exception's class and the first words of its message."""
    if fix_id:
        return fix_id.replace("-", " ")
    text = _TASK_PREFIX.sub("", evidence.strip().splitlines()[0] if evidence.strip() else "", count=1)
    if m := _EXCEPTION.search(text):
        return _shortened(f"{m['name']}: {m['rest']}")
    return _shortened(text) or "no evidence"


def _shortened(text: str, words: int = 7, chars: int = 60) -> str:
    split = text.split()
    short = " ".join(split[:words])
    if len(short) > chars:
        short = short[:chars].rstrip()
    return short + (" ..." if short != " ".join(split) else "")


def _cause_of(result: ScenarioResult, written: frozenset[str]) -> tuple[str, Fix | None]:
    """The result's cause key and known fix: the fix the evidence supports, else the catalogue fix the scenario
    itself named (it may have judged more than its evidence line says), else the normalized evidence."""
    fix = known_fix(result.evidence, written) or next((f for f in FIXES if result.fix and f.line == result.fix), None)
    return (f"fix:{fix.id}", fix) if fix else (f"text:{normalized(result.evidence)}", None)


def group(verdict: Verdict, written: Iterable[str] = ()) -> None:
    """Fill verdict.causes with the root causes of its failures, in order of first appearance, and set each
    failed result's cause. written: the object keys the backend wrote during this check (as for fixes).
    Results that did not fail (harness errors, not exercised, ...) get no cause."""
    written = written_keys(written)
    catalogue = {fix.line for fix in FIXES}
    causes: dict[str, RootCause] = {}
    for result in verdict.scenarios:
        if result.status != FAIL:
            result.cause = ""
            continue
        key, fix = _cause_of(result, written)
        cause = causes.get(key)
        if cause is None:
            # a fix line of the scenario's own (not the catalogue's) is more specific: keep it
            line = result.fix if result.fix and result.fix not in catalogue else (fix.line if fix else result.fix)
            cause = causes[key] = RootCause(id=f"cause-{len(causes) + 1}",
                                            title=title_of(result.evidence, fix.id if fix else None),
                                            evidence=result.evidence, fix=line, fix_id=fix.id if fix else "")
        cause.scenarios.append(result.id)
        result.cause = cause.id
    verdict.causes = list(causes.values())


def blocked_by(verdict: Verdict, result: ScenarioResult) -> RootCause | None:
    """The cause a failed result shares with an earlier scenario (renderers write "blocked by <title>" instead
    of its evidence); None for the first scenario of its cause, or a result with no cause."""
    if result.status != FAIL or not result.cause:
        return None
    cause = next((c for c in verdict.causes if c.id == result.cause), None)
    if cause is None or not cause.scenarios or cause.scenarios[0] == result.id:
        return None
    return cause
