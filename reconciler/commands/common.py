"""What several commands share: environment, store, desired state, planning, rendering."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from reconciler.gitops import revision_of
from reconciler.loader import load_desired
from reconciler.models.resources import DesiredState
from reconciler.pipeline import Clients, Planned, make_plan
from reconciler.render.json import dumps
from reconciler.render.markdown import render_markdown
from reconciler.render.text import render_text
from reconciler.secrets import SecretResolver
from reconciler.store import Store
from reconciler.terminal import read_progress, use_color

DEFAULT_STATE = ".reconciler/state.db"


def load(directory: Path) -> DesiredState:
    state = load_desired(directory)
    return replace(state, revision=revision_of(directory))


@contextmanager
def open_store(env: Mapping[str, str]) -> Iterator[Store]:
    key = env.get("RECONCILER_FINGERPRINT_KEY")
    store = Store.open(
        Path(env.get("RECONCILER_STATE") or DEFAULT_STATE),
        fingerprint_key=key.encode() if key else None,
    )
    try:
        yield store
    finally:
        store.close()


def plan_now(
    desired: DesiredState,
    *,
    directory: Path,
    env: Mapping[str, str],
    store: Store,
    targets: tuple[str, ...] = (),
    concurrency: int = 8,
    quiet: bool = False,
) -> Planned:
    """Read live state and plan, narrating the read on stderr as Terraform does."""
    clients = Clients.from_env(env, concurrency=concurrency)
    resolver = SecretResolver(env, base_dir=directory)
    repos = len(desired.repositories)
    try:
        with read_progress(repos=repos, label="Reading live state") as progress:
            planned = make_plan(
                desired,
                clients=clients,
                store=store,
                resolver=resolver,
                targets=targets,
                concurrency=concurrency,
                on_progress=progress,
            )
    finally:
        clients.close()
    if not quiet:
        calls = sum(planned.live.api_calls.values())
        drone = f", Drone {desired.drone_server}" if desired.drone_server else ""
        print(
            f"Reading live state: Bitbucket {desired.workspace} ({repos} repos){drone} ... "
            f"{calls} API calls, {planned.seconds:.1f} s",
            file=sys.stderr,
        )
    return planned


def render(doc: Mapping[str, Any], fmt: str) -> str:
    if fmt == "json":
        return dumps(doc)
    if fmt == "markdown":
        return "\n\n".join(render_markdown(doc))
    return render_text(doc, color=use_color(sys.stdout))
