"""Terminal behaviour: colour decisions, the read progress bar, the apply confirmation."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

PROGRESS_MIN_REPOS = 20  # below this a read is too quick for a bar to help


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    return stream.isatty() and not os.environ.get("NO_COLOR")


@contextmanager
def read_progress(*, repos: int, label: str) -> Iterator[Callable[[int, int], None] | None]:
    """A rich progress bar on stderr while live state is read, when stderr is a terminal and
    enough repositories are read for it to matter; otherwise no callback at all."""
    if repos < PROGRESS_MIN_REPOS or not sys.stderr.isatty():
        yield None
        return
    console = Console(stderr=True, no_color=bool(os.environ.get("NO_COLOR")))
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def confirm(question: str) -> bool:
    """Ask on the terminal; only the word `yes` approves (as Terraform does)."""
    print(question, file=sys.stderr)
    print("  Only 'yes' will be accepted to approve.", file=sys.stderr)
    try:
        answer = input("  Enter a value: ")
    except EOFError:
        return False
    return answer.strip() == "yes"
