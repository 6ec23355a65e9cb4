"""Problems found in a recipe, each where the user can find it (file:line:col), collected rather than raised."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from augcli.yamlloc import Location, YamlPath, format_path

Severity = Literal["error", "warning"]
Finding = tuple[str, YamlPath, str]  # a lint rule's name, where, and what it found


@dataclass(frozen=True)
class Problem:
    """One thing wrong (error) or suspicious (warning) in a recipe, where the user can find it."""

    severity: Severity
    message: str
    path: YamlPath = ()
    location: Location | None = None
    file: str | None = None
    rule: str | None = None

    def format(self) -> str:
        where = str(self.location) if self.location else (self.file or "<recipe>")
        rule = f"[{self.rule}] " if self.rule else ""
        return f"{where}: {self.severity}: {format_path(self.path)}: {rule}{self.message}"

    def to_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "severity": self.severity,
            "file": loc.file if loc else self.file,
            "line": loc.line if loc else None,
            "column": loc.col if loc else None,
            "path": format_path(self.path),
            "rule": self.rule,
            "message": self.message,
        }


class Problems:
    """Collects problems, resolving a YAML path to the nearest known location."""

    def __init__(self, locations: dict[YamlPath, Location], file: str):
        self.items: list[Problem] = []
        self.locations = locations
        self.file = file

    def locate(self, path: YamlPath) -> Location | None:
        for n in range(len(path), -1, -1):
            loc = self.locations.get(tuple(path[:n]))
            if loc is not None:
                return loc
        return None

    def add(self, path: YamlPath, message: str, *, severity: Severity = "error", rule: str | None = None) -> None:
        self.items.append(Problem(severity, message, tuple(path), self.locate(path), self.file, rule))

    def take(self) -> list[Problem]:
        """The problems collected so far, leaving the collector empty for the next check."""
        items, self.items = self.items, []
        return items


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    """Errors first, then by file and position, as an editor lists them."""

    def key(p: Problem) -> tuple[int, str, int, int]:
        loc = p.location
        return (
            0 if p.severity == "error" else 1,
            loc.file if loc else "",
            loc.line if loc else 0,
            loc.col if loc else 0,
        )

    return sorted(problems, key=key)
