"""Drone's cron rules: gosimple/slug name normalisation and robfig/cron (2018) expressions."""

from __future__ import annotations

import re
import unicodedata

_DESCRIPTORS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_EVERY = re.compile(r"@every (\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, low, high, names) for second, minute, hour, day-of-month, month, day-of-week
_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("second", 0, 59, ()),
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)


def normalise_cron_name(name: str) -> str:
    """What Drone stores a cron name as (gosimple/slug v1.3.0 rules)."""
    text = name.strip().replace("&", "and").replace("@", "at").replace('"', "").replace("'", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9_-]", "-", text)
    return re.sub(r"-+", "-", text).strip("-")


def check_cron_name(name: str) -> str:
    normal = normalise_cron_name(name)
    if not normal:
        raise ValueError(f"{name!r} is not a usable cron name: Drone would reduce it to nothing")
    if normal != name:
        raise ValueError(
            f"{name!r} would be stored by Drone as {normal!r} and differ forever; write {normal!r}"
        )
    return name


def check_cron_expr(expr: str) -> str:
    """Accept what robfig/cron accepts, but require 6 fields (seconds first) or an @ form."""
    if expr.startswith("@"):
        if expr in _DESCRIPTORS or _EVERY.fullmatch(expr):
            return expr
        raise ValueError(f"{expr!r} is not a cron descriptor (@hourly, @daily, @every 1h30m, …)")
    fields = expr.split()
    if len(fields) == 5:
        raise ValueError(
            f"{expr!r} has 5 fields; Drone reads the first field as seconds, so this would not "
            f"run when you expect. Write {'0 ' + expr!r} (seconds first)"
        )
    if len(fields) != 6:
        raise ValueError(f"{expr!r} has {len(fields)} fields; Drone wants 6 (seconds first)")
    for text, (what, low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in text.split(","):
            _check_part(part, what=what, low=low, high=high, names=names)
    return expr


def _check_part(part: str, *, what: str, low: int, high: int, names: tuple[str, ...]) -> None:
    span, _, step = part.partition("/")
    if step and not (step.isdigit() and int(step) > 0):
        raise ValueError(f"{part!r}: the {what} step must be a positive number")
    if span in ("*", "?"):
        return
    for bound in span.split("-", 1):
        number = names.index(bound.lower()) + low if bound.lower() in names else None
        if number is None:
            if not bound.isdigit():
                raise ValueError(f"{part!r} is not a valid {what} field")
            number = int(bound)
        if not low <= number <= high:
            raise ValueError(f"{part!r}: {what} must be between {low} and {high}")
