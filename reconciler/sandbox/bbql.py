"""A small BBQL (Bitbucket ``q=`` / ``sort=``) evaluator over rendered JSON objects.

Supports ``=, !=, ~, !~, >, >=, <, <=, IN, NOT IN``, ``AND``/``OR`` (AND binds tighter),
parentheses, and literals: double-quoted strings, numbers, true/false/null, lists. Comparisons on
a field named ``permission`` use the order read < write < admin.
"""

from __future__ import annotations

import re
from typing import Any

from .seed import PERM_RANK

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>!=|>=|<=|!~|=|~|>|<)|(?P<lp>\()|(?P<rp>\))'
    r"|(?P<comma>,)|(?P<word>[A-Za-z0-9_.:+\-{}]+))"
)


class BBQLError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise BBQLError(f"unexpected input at position {pos}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return out


def _literal(kind: str, value: str) -> Any:
    if kind == "str":
        return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    low = value.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "null":
        return None
    try:
        return float(value) if "." in value else int(value)
    except ValueError:
        return value


def _get(obj: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _compare(path: str, left: Any, op: str, right: Any) -> bool:
    if path.endswith("permission") and isinstance(left, str) and isinstance(right, str):
        left, right = PERM_RANK.get(left, 0), PERM_RANK.get(right, 0)
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op in ("~", "!~"):
        hit = isinstance(left, str) and str(right).lower() in left.lower()
        return hit if op == "~" else not hit
    if left is None or right is None:
        return False
    try:
        result = {
            ">": left > right,
            ">=": left >= right,
            "<": left < right,
            "<=": left <= right,
        }[op]
    except TypeError:
        return False
    return bool(result)


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise BBQLError("unexpected end of query")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].upper() == word:
            self.i += 1
            return True
        return False

    def expr(self) -> Any:
        node = self.conj()
        while self.keyword("OR"):
            node = ("or", node, self.conj())
        return node

    def conj(self) -> Any:
        node = self.term()
        while self.keyword("AND"):
            node = ("and", node, self.term())
        return node

    def term(self) -> Any:
        kind, value = self.take()
        if kind == "lp":
            node = self.expr()
            if self.take()[0] != "rp":
                raise BBQLError("missing )")
            return node
        if kind != "word":
            raise BBQLError(f"expected a field name, got {value!r}")
        path = value
        if self.keyword("NOT"):
            if not self.keyword("IN"):
                raise BBQLError("expected IN after NOT")
            return ("in", path, self.values(), True)
        if self.keyword("IN"):
            return ("in", path, self.values(), False)
        kind, op = self.take()
        if kind != "op":
            raise BBQLError(f"expected an operator after {path}")
        lit_kind, lit = self.take()
        if lit_kind not in ("str", "word"):
            raise BBQLError("expected a literal")
        return ("cmp", path, op, _literal(lit_kind, lit))

    def values(self) -> list[Any]:
        if self.take()[0] != "lp":
            raise BBQLError("expected ( after IN")
        out: list[Any] = []
        while True:
            kind, value = self.take()
            if kind == "rp":
                return out
            if kind == "comma":
                continue
            out.append(_literal(kind, value))


def _eval(node: Any, obj: Any) -> bool:
    tag = node[0]
    if tag == "and":
        return _eval(node[1], obj) and _eval(node[2], obj)
    if tag == "or":
        return _eval(node[1], obj) or _eval(node[2], obj)
    if tag == "in":
        hit = _get(obj, node[1]) in node[2]
        return not hit if node[3] else hit
    return _compare(node[1], _get(obj, node[1]), node[2], node[3])


def filter_items(items: list[dict[str, Any]], query: str | None) -> list[dict[str, Any]]:
    if not query:
        return items
    parser = _Parser(query)
    tree = parser.expr()
    if parser.peek() is not None:
        raise BBQLError("unexpected trailing input")
    return [i for i in items if _eval(tree, i)]


def sort_items(items: list[dict[str, Any]], sort: str | None) -> list[dict[str, Any]]:
    if not sort:
        return items
    reverse = sort.startswith("-")
    path = sort.lstrip("-")

    def key(item: dict[str, Any]) -> tuple[int, str]:
        value = _get(item, path)
        if path.endswith("permission") and isinstance(value, str):
            return (PERM_RANK.get(value, 0), "")
        return (0 if value is None else 1, str(value))

    return sorted(items, key=key, reverse=reverse)
