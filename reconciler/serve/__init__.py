"""`reconciler serve`: the GitOps loop. Plans every pull request to the config repository as one
comment plus a build status, applies the main branch when it moves (merge or push), re-plans it on
an interval to report or heal drift, and exposes /healthz and Prometheus /metrics.

Modules: `service` (wiring, start/stop), `app` (WSGI routes), `webhooks` (signature, event ->
job), `worker` (the coalescing queue and the one worker thread), `jobs` (what a job does),
`scheduler` (interval ticks, health), `metrics`, `logs`.
"""

from __future__ import annotations

from reconciler.serve.service import ServeConfig, Service, run_serve

__all__ = ["ServeConfig", "Service", "run_serve"]
