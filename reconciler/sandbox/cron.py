"""Drone's cron rules: names normalised like gosimple/slug v1.3.0, expressions parsed like
robfig/cron's 2018 ``Parse`` (seconds first, 5 or 6 fields, descriptors, ``@every``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_SUBST = {
    "&": "and",
    "@": "at",
    '"': "",
    "'": "",
    "\u2019": "",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
}


def slugify(name: str) -> str:
    """gosimple/slug ``Make``: trim, substitute, transliterate, lower-case, every character
    outside ``[a-z0-9_-]`` to ``-``, collapse dashes, trim dashes. Transliteration is
    approximated with NFKD decomposition."""
    text = name.strip()
    text = "".join(_SUBST.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = text.lower()
    text = re.sub(r"[^a-z0-9_-]", "-", text)
    text = re.sub(r"-+", "-", text)
    return text.strip("-")


class CronError(ValueError):
    pass


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int]


_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
_FIELDS = (
    _Bounds(0, 59, {}),  # second
    _Bounds(0, 59, {}),  # minute
    _Bounds(0, 23, {}),  # hour
    _Bounds(1, 31, {}),  # day of month
    _Bounds(1, 12, _MONTHS),
    _Bounds(0, 6, _DAYS),
)
_DESCRIPTORS = {
    "@yearly": "0 0 0 1 1 *",
    "@annually": "0 0 0 1 1 *",
    "@monthly": "0 0 0 1 * *",
    "@weekly": "0 0 0 * * 0",
    "@daily": "0 0 0 * * *",
    "@midnight": "0 0 0 * * *",
    "@hourly": "0 0 * * * *",
}
_DURATION = re.compile(r"^[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$")
_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


@dataclass(frozen=True)
class Schedule:
    fields: tuple[frozenset[int], ...] = ()
    star: tuple[bool, ...] = ()
    every: float = 0.0

    def next_after(self, now: datetime) -> datetime | None:
        if self.every:
            return now.replace(microsecond=0) + timedelta(seconds=self.every)
        return _next(self, now)


def _number(text: str, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise CronError(f"Failed to parse int from {text}")
    return int(text)


def _range(expr: str, b: _Bounds) -> tuple[set[int], bool]:
    range_step = expr.split("/")
    low_high = range_step[0].split("-")
    star = low_high[0] in ("*", "?")
    if star:
        start, end = b.low, b.high
    else:
        start = _number(low_high[0], b.names)
        if len(low_high) > 2:
            raise CronError(f"Too many hyphens: {expr}")
        end = _number(low_high[1], b.names) if len(low_high) == 2 else start
    if len(range_step) > 2:
        raise CronError(f"Too many slashes: {expr}")
    step = 1
    if len(range_step) == 2:
        step = _number(range_step[1], {})
        if len(low_high) == 1:
            end = b.high
    if start < b.low:
        raise CronError(f"Beginning of range ({start}) below minimum ({b.low}): {expr}")
    if end > b.high:
        raise CronError(f"End of range ({end}) above maximum ({b.high}): {expr}")
    if start > end:
        raise CronError(f"Beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"Step of range should be a positive number: {expr}")
    return set(range(start, end + 1, step)), star and step == 1


def _duration(text: str) -> float:
    if text in ("0", "+0", "-0"):
        return 0.0
    if not _DURATION.match(text):
        raise CronError(f"Failed to parse duration {text}")
    sign = -1 if text.startswith("-") else 1
    total = sum(
        float(num) * _UNIT[unit]
        for num, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", text)
    )
    return sign * total


def parse(spec: str) -> Schedule:
    """robfig/cron (2018) ``Parse``; raises CronError (Drone: 400 Invalid Cronjob Expression)."""
    if not spec:
        raise CronError("Empty spec string")
    if spec.startswith("@"):
        if spec.startswith("@every "):
            seconds = _duration(spec[len("@every ") :])
            return Schedule(every=max(1.0, float(int(seconds))))
        if spec not in _DESCRIPTORS:
            raise CronError(f"Unrecognized descriptor: {spec}")
        spec = _DESCRIPTORS[spec]
    parts = spec.split()
    if not 5 <= len(parts) <= 6:
        raise CronError(f"Expected 5 to 6 fields, found {len(parts)}: {spec}")
    if len(parts) == 5:
        parts.append("*")
    fields: list[frozenset[int]] = []
    stars: list[bool] = []
    for text, bounds in zip(parts, _FIELDS, strict=True):
        values: set[int] = set()
        star = False
        for piece in text.split(","):
            got, is_star = _range(piece, bounds)
            values |= got
            star = star or is_star
        fields.append(frozenset(values))
        stars.append(star)
    return Schedule(fields=tuple(fields), star=tuple(stars))


def _day_matches(s: Schedule, t: datetime) -> bool:
    dom = t.day in s.fields[3]
    dow = (t.isoweekday() % 7) in s.fields[5]
    if s.star[3] or s.star[5]:
        return dom and dow
    return dom or dow


def _next(s: Schedule, now: datetime) -> datetime | None:
    t = now.replace(microsecond=0) + timedelta(seconds=1)
    limit = t.year + 5
    while t.year <= limit:
        if t.month not in s.fields[4]:
            t = (t.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
            continue
        if not _day_matches(s, t):
            t = t.replace(hour=0, minute=0, second=0) + timedelta(days=1)
            continue
        if t.hour not in s.fields[2]:
            t = t.replace(minute=0, second=0) + timedelta(hours=1)
            continue
        if t.minute not in s.fields[1]:
            t = t.replace(second=0) + timedelta(minutes=1)
            continue
        if t.second not in s.fields[0]:
            t = t + timedelta(seconds=1)
            continue
        return t
    return None


def next_run(spec: str, now: datetime | None = None) -> int:
    """Unix seconds of the next run after ``now`` (UTC, like the official Drone image)."""
    moment = now or datetime.now(UTC)
    found = parse(spec).next_after(moment)
    return int(found.timestamp()) if found else 0
