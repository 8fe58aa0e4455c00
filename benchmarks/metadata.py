"""Metadata read from the real pages against the hand-read truth: precision and recall of title, date and source.

    python benchmarks/metadata.py [--misses]

Precision is the share of the values we give that are right (a value where the truth has none is wrong); recall
is the share of the truth's values that we get right. Titles match after normalisation (script, punctuation,
spacing, pinyin notes); dates match at the precision the truth states (2020, 2023-11, 2019-08-03); a source
matches when one name holds the other. An invented date is one we give where the page states none.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rectbot.retrieval.documents import DocumentError, read_document
from rectbot.retrieval.text import normalize_for_phrase_match

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT.parent / "shared" / "corpus" / "pages"
TRUTH = ROOT / "tests" / "data" / "metadata_truth.json"
FIELDS = ("title", "date", "source")


def same_title(ours: str, truth: str) -> bool:
    """Titles are equal once script, punctuation, spacing and pinyin notes are set aside."""
    return normalize_for_phrase_match(ours) == normalize_for_phrase_match(truth)


def same_date(ours: str, truth: str) -> bool:
    """Our ISO date agrees with the truth at the precision it states."""
    return ours[: len(truth)] == truth


def same_source(ours: str, truth: str) -> bool:
    """One outlet name holds the other."""
    a, b = normalize_for_phrase_match(ours), normalize_for_phrase_match(truth)
    return bool(a and b) and (a in b or b in a)


MATCHERS: dict[str, Callable[[str, str], bool]] = {"title": same_title, "date": same_date, "source": same_source}


@dataclass
class FieldScore:
    """Counts for one field over all pages."""

    given: int = 0
    right: int = 0
    stated: int = 0  # pages whose truth has a value
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        """Share of the values we give that are right."""
        return self.right / self.given if self.given else 1.0

    @property
    def recall(self) -> float:
        """Share of the truth's values that we get right."""
        return self.right / self.stated if self.stated else 1.0


@dataclass
class Report:
    """Scores per field, and the errors that matter most."""

    pages: int = 0
    fields: dict[str, FieldScore] = field(default_factory=lambda: {name: FieldScore() for name in FIELDS})
    invented_dates: list[str] = field(default_factory=list)  # we give a date, the page states none
    junk_titles: list[str] = field(default_factory=list)  # we give a title, the page has none


def measure(pages: Path = PAGES, truth_file: Path = TRUTH) -> Report:
    """Parse each page named in the truth and score the first article's title, date and source."""
    report = Report()
    for entry in json.loads(truth_file.read_text(encoding="utf-8")):
        name = entry["file"]
        try:
            article = read_document(pages / name).articles[0]
        except DocumentError:
            article = None
        report.pages += 1
        for key in FIELDS:
            ours = getattr(article, key) if article else None
            truth = entry[key]
            score = report.fields[key]
            score.stated += truth is not None
            score.given += ours is not None
            right = ours is not None and truth is not None and MATCHERS[key](ours, truth)
            score.right += right
            if not right and (ours is not None or truth is not None):
                score.misses.append(f"{name} {key}: ours {ours!r}, truth {truth!r}")
        if article and article.date and entry["date"] is None:
            report.invented_dates.append(f"{name}: {article.date}")
        if article and article.title and entry["title"] is None:
            report.junk_titles.append(f"{name}: {article.title}")
    return report


def table(report: Report) -> str:
    """The report as a markdown table with two lines of counts under it."""
    rows = [
        "| field | given | right | precision | stated in truth | recall |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, s in report.fields.items():
        rows.append(f"| {name} | {s.given} | {s.right} | {s.precision:.2f} | {s.stated} | {s.recall:.2f} |")
    rows.append("")
    rows.append(f"{report.pages} pages; invented dates: {len(report.invented_dates)}; "
                f"titles given where the page has none: {len(report.junk_titles)}")
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    """Print the table, and with --misses every wrong or missing value."""
    report = measure()
    print(table(report))
    if "--misses" in argv:
        for score in report.fields.values():
            print("\n".join(["", *score.misses]))
        print("\n".join(["", "invented dates:", *report.invented_dates, "junk titles:", *report.junk_titles]))


if __name__ == "__main__":
    main(sys.argv[1:])
