"""Reads every YAML file under a directory into one validated document: the only YAML reader.

PyYAML silently keeps the last of two equal keys, so files are composed to nodes and converted by
hand: that rejects duplicate keys and records the line of every key path, which is how every error
names `file:line`. All problems are collected and reported at once.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from reconciler.errors import ConfigError
from reconciler.models.desired import DesiredDocument
from reconciler.models.normalise import normalise
from reconciler.models.resources import DesiredState

KeyPath = tuple[str, ...]
Location = tuple[str, int]  # (file, line)

# Keys directly under these paths are atomic entries: one file defines each.
_COLLECTIONS: frozenset[KeyPath] = frozenset(
    {
        ("repositories",),
        ("roles",),
        ("oauth_consumers",),
        ("drone", "users"),
        ("drone", "org_secrets"),
    }
)


@dataclass
class Located:
    """A merged document plus where each key path was written."""

    data: dict[str, Any] = field(default_factory=dict)
    where: dict[KeyPath, Location] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    files: int = 0
    unreadable: bool = False  # a file did not parse: later stages would only report echoes

    def line_of(self, path: Iterable[str | int]) -> Location | None:
        keys = tuple(str(p) for p in path)
        while keys:
            if keys in self.where:
                return self.where[keys]
            keys = keys[:-1]
        return None

    def problem(self, path: Iterable[str | int], message: str, *, fallback: str = "") -> None:
        keys = tuple(str(p) for p in path)
        location = self.line_of(keys)
        prefix = (
            f"{location[0]}:{location[1]}: " if location else (f"{fallback}: " if fallback else "")
        )
        dotted = ".".join(keys)
        self.problems.append(f"{prefix}{dotted}: {message}" if dotted else f"{prefix}{message}")


def load_document(directory: Path) -> tuple[DesiredDocument, Located]:
    """Read, merge and validate; raise ConfigError with every problem found."""
    document, located = _parse(directory)
    if located.problems:
        raise ConfigError(located.problems, files=located.files)
    return document, located


def _parse(directory: Path) -> tuple[DesiredDocument, Located]:
    """Like load_document, but leaves problems that did not stop validation in `located`."""
    located = Located()
    files = _yaml_files(directory)
    if not files:
        raise ConfigError([f"{directory}: no *.yaml or *.yml files found"])
    located.files = len(files)
    for path in files:
        _merge_file(path, located)
    if located.unreadable:
        raise ConfigError(located.problems, files=located.files)
    try:
        document = DesiredDocument.model_validate(located.data)
    except ValidationError as exc:
        for error in exc.errors():
            located.problem(error["loc"], _message(error), fallback=str(directory))
        raise ConfigError(located.problems, files=located.files) from None
    return document, located


def load_desired(directory: Path) -> DesiredState:
    """The normalised desired state of a directory: defaults and roles expanded into resources."""
    document, located = _parse(directory)
    state = normalise(document, where=located.where, report=located.problem)
    if located.problems:
        raise ConfigError(located.problems, files=located.files)
    return state


def _yaml_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise ConfigError([f"{directory}: not a directory"])
    found = [p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    return sorted(found)


def _merge_file(path: Path, located: Located) -> None:
    name = str(path)
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 0
        located.problems.append(f"{name}:{line}: invalid YAML: {exc.problem}")
        located.unreadable = True
        return
    except (OSError, UnicodeDecodeError) as exc:
        located.problems.append(f"{name}: cannot read: {exc}")
        located.unreadable = True
        return
    if node is None:
        return
    if not isinstance(node, yaml.MappingNode):
        located.problems.append(
            f"{name}:{node.start_mark.line + 1}: the top level must be a mapping"
        )
        located.unreadable = True
        return
    lines: dict[KeyPath, int] = {}
    value = _convert(node, (), name=name, lines=lines, problems=located.problems)
    _merge_into(located.data, value, (), name=name, lines=lines, located=located)


def _convert(
    node: yaml.Node, path: KeyPath, *, name: str, lines: dict[KeyPath, int], problems: list[str]
) -> Any:
    """Node tree -> plain values, recording each key path's line and rejecting duplicate keys."""
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node))
            here = (*path, key)
            line = key_node.start_mark.line + 1
            if key in result:
                problems.append(
                    f"{name}:{line}: {'.'.join(here)}: duplicate key "
                    f"(first defined at line {lines[here]})"
                )
                continue
            lines[here] = line
            result[key] = _convert(value_node, here, name=name, lines=lines, problems=problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        items = []
        for index, item in enumerate(node.value):
            here = (*path, str(index))
            lines[here] = item.start_mark.line + 1
            items.append(_convert(item, here, name=name, lines=lines, problems=problems))
        return items
    return _scalar(node)


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return None
    construct = _CONSTRUCTOR.yaml_constructors.get(node.tag)
    return construct(_CONSTRUCTOR, node) if construct else node.value


def _merge_into(
    target: dict[str, Any],
    source: dict[str, Any],
    path: KeyPath,
    *,
    name: str,
    lines: dict[KeyPath, int],
    located: Located,
) -> None:
    """Sections merge across files; an entry of a collection, or a setting, is defined once."""
    for key, value in source.items():
        here = (*path, key)
        if key not in target:
            target[key] = value
            for sub, line in lines.items():
                if sub[: len(here)] == here:
                    located.where[sub] = (name, line)
            continue
        previous = target[key]
        if here == ("version",) and previous == value:
            continue
        if isinstance(previous, dict) and isinstance(value, dict) and path not in _COLLECTIONS:
            _merge_into(previous, value, here, name=name, lines=lines, located=located)
            continue
        first_file, first_line = located.where.get(here, ("?", 0))
        located.problems.append(
            f"{name}:{lines.get(here, 0)}: {'.'.join(here)}: "
            f"already defined at {first_file}:{first_line}"
        )


def _message(error: Any) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown key" + _suggest(error)
    if kind == "missing":
        return "required key is missing"
    message = str(error["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in ("model_type", "dict_type") and error.get("input") is None:
        return "must be a mapping, not empty"
    return message


def _suggest(error: Any) -> str:
    loc = error["loc"]
    ctx_keys = _known_keys(loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), ctx_keys, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _known_keys(parent: tuple[Any, ...]) -> list[str]:
    """The keys the schema allows at a location, for "did you mean" hints."""
    model: Any = DesiredDocument
    for key in parent:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        info = model.model_fields.get(str(key))
        if info is None:
            continue  # a free-form key (a repository slug, a role name): stay on the value model
        model = _model_of(info.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside `X | None`, `dict[str, X | None]` and similar annotations."""
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for inner in typing.get_args(arg):
            found = _model_of(inner)
            if found is not None:
                return found
    return None
