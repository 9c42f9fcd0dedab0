"""Wiring for `reconciler serve`: settings from flags and environment, the four parts (HTTP
server, scheduler, queue, worker), and a stop that lets a running apply finish.

Threads: waitress serves HTTP on its own threads and only enqueues; the scheduler enqueues a tick
every interval; ONE worker thread runs every job. Stop order: no new deliveries, no new ticks,
then wait for the worker's current job; pending jobs are dropped (the first tick after a restart
re-plans main anyway).
"""

from __future__ import annotations

import argparse
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import waitress
from waitress import wasyncore

from reconciler.commands.comment import RepoRef, config_repo
from reconciler.commands.common import open_store
from reconciler.errors import CredentialError, ReconcilerError
from reconciler.gitops import ConfigRepo, bitbucket_slug, redact_url
from reconciler.pipeline import Clients
from reconciler.serve.app import ServeApp
from reconciler.serve.jobs import JobRunner, Settings
from reconciler.serve.logs import EventLog, capture_library_logs, secret_values
from reconciler.serve.metrics import Metrics
from reconciler.serve.scheduler import Health, Scheduler
from reconciler.serve.webhooks import WebhookReceiver
from reconciler.serve.worker import Job, JobKind, JobQueue, Worker
from reconciler.store import Store

HTTP_THREADS = 4


@dataclass(frozen=True)
class ServeConfig:
    config_url: str  # what git clones: a Bitbucket URL, or a local path in tests
    repo: RepoRef  # the same repository on the Bitbucket API
    workdir: Path  # serve's own clone lives here
    secret: bytes = field(repr=False)  # RECONCILER_WEBHOOK_SECRET
    branch: str = "main"
    subdir: str = "desired-state"
    interval: float = 300.0
    host: str = "127.0.0.1"
    port: int = 8080


def webhook_secret(env: Mapping[str, str]) -> bytes:
    value = env.get("RECONCILER_WEBHOOK_SECRET", "")
    if not value.strip():
        raise CredentialError(
            "RECONCILER_WEBHOOK_SECRET is not set: serve accepts only deliveries signed with it "
            "(set the same value as the Bitbucket webhook's secret)"
        )
    return value.encode()


class Service:
    """A running serve. `Service.start(...)` returns once the socket listens."""

    def __init__(
        self,
        config: ConfigRepo,
        *,
        worker: Worker,
        scheduler: Scheduler,
        server: Any,
        clients: Clients,
        log: EventLog,
        metrics: Metrics,
        queue: JobQueue,
    ) -> None:
        self.metrics = metrics
        self.url = f"http://{server.effective_host}:{server.effective_port}"
        self._config = config
        self._worker = worker
        self._scheduler = scheduler
        self._server = server
        self._clients = clients
        self._log = log
        self._queue = queue
        self._http = threading.Thread(target=server.run, name="reconciler-http", daemon=True)
        self._stopped = False

    @classmethod
    def start(
        cls, config: ServeConfig, *, env: Mapping[str, str], store: Store, log: EventLog
    ) -> Service:
        clients = Clients.from_env(env)
        try:
            service = cls._assemble(config, env=env, store=store, log=log, clients=clients)
        except BaseException:
            clients.close()
            raise
        service._worker.start()
        service._http.start()
        service._scheduler.start()
        log.info(
            "serve.started",
            url=service.url,
            repo=str(config.repo),
            branch=config.branch,
            config_repo=redact_url(config.config_url),
            interval=config.interval,
        )
        return service

    @classmethod
    def _assemble(
        cls,
        config: ServeConfig,
        *,
        env: Mapping[str, str],
        store: Store,
        log: EventLog,
        clients: Clients,
    ) -> Service:
        metrics = Metrics(clients.counter)
        health = Health(interval=config.interval)
        queue = JobQueue()
        metrics.pending_jobs.set_function(lambda: len(queue))
        repo = ConfigRepo(config.config_url, workdir=config.workdir)
        runner = JobRunner(
            settings=Settings(repo=config.repo, branch=config.branch, subdir=config.subdir),
            env=env,
            store=store,
            clients=clients,
            config=repo,
            metrics=metrics,
            health=health,
            log=log,
            resubmit=lambda job, delay: queue.submit(job, delay=delay),
        )
        receiver = WebhookReceiver(
            secret=config.secret,
            repo=config.repo,
            branch=config.branch,
            submit=queue.submit,
            metrics=metrics,
            log=log,
        )
        app = ServeApp(receiver=receiver, health=health, metrics=metrics)
        capture_library_logs(log, "waitress")
        server = waitress.create_server(
            app, host=config.host, port=config.port, threads=HTTP_THREADS, ident="reconciler"
        )
        return cls(
            repo,
            worker=Worker(queue, handle=runner, log=log),
            scheduler=Scheduler(
                interval=config.interval, due=lambda: queue.submit(Job(JobKind.TICK, "schedule"))
            ),
            server=server,
            clients=clients,
            log=log,
            metrics=metrics,
            queue=queue,
        )

    def idle(self) -> bool:
        """No job pending or running (tests and a graceful shutdown wait for this)."""
        return self._queue.idle()

    def stop(self) -> None:
        """Stop taking work, then wait for the job in hand (an apply is never cut short)."""
        if self._stopped:
            return
        self._stopped = True
        server = self._server
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
        self._http.join()
        server.task_dispatcher.shutdown()
        self._scheduler.stop()
        self._worker.stop()
        self._clients.close()
        self._config.close()
        self._log.info("serve.stopped")


def run_serve(args: argparse.Namespace, env: Mapping[str, str]) -> int:
    """The CLI entry: serve until SIGTERM or SIGINT, then stop gracefully."""
    secret = webhook_secret(env)
    url = args.config_repo or env.get("RECONCILER_CONFIG_REPO_URL", "")
    if not url:
        raise ReconcilerError(
            "serve needs the config repository's clone URL: --config-repo URL "
            "(or RECONCILER_CONFIG_REPO_URL)"
        )
    repo = _repo(args.repo, env, url)
    host, port = parse_listen(args.listen)
    if args.interval <= 0:
        raise ReconcilerError("--interval must be a positive number of seconds")
    log = EventLog(secrets=secret_values(env))
    with open_store(env) as store:
        config = ServeConfig(
            config_url=url,
            repo=repo,
            workdir=store.path.parent / "config-repo",
            secret=secret,
            branch=args.branch,
            subdir=args.dir,
            interval=args.interval,
            host=host,
            port=port,
        )
        service = Service.start(config, env=env, store=store, log=log)
        signum = wait_for_signal()
        log.info("serve.stopping", signal=signal.Signals(signum).name)
        service.stop()
    return 130 if signum == signal.SIGINT else 0


def _repo(explicit: str | None, env: Mapping[str, str], url: str) -> RepoRef:
    """--repo, else RECONCILER_CONFIG_REPO, else the workspace/slug of a bitbucket.org URL."""
    if explicit or env.get("RECONCILER_CONFIG_REPO", "").strip():
        return config_repo(explicit, env)
    slug = bitbucket_slug(url)
    if slug is None:
        raise ReconcilerError(
            f"cannot tell the Bitbucket repository of {redact_url(url)}: pass --repo "
            "WORKSPACE/SLUG or set RECONCILER_CONFIG_REPO"
        )
    return RepoRef.parse(slug, where="--config-repo")


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ReconcilerError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


def wait_for_signal() -> int:
    """Block until SIGTERM or SIGINT; returns the signal number."""
    received: list[int] = []
    done = threading.Event()

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        done.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)
    done.wait()
    return received[0]
