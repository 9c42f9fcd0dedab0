"""The WSGI app: `POST /webhook`, `GET /healthz`, `GET /metrics`. It does no work itself: the
webhook route hands a job to the queue and answers 202 within milliseconds."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from reconciler.serve.metrics import Metrics
from reconciler.serve.scheduler import Health
from reconciler.serve.webhooks import WebhookReceiver

# Bitbucket does not send payloads over 256 KB; anything much larger is not Bitbucket.
MAX_BODY = 1024 * 1024

StartResponse = Any  # the WSGI callable; typeshed's is not importable at run time


class ServeApp:
    def __init__(self, *, receiver: WebhookReceiver, health: Health, metrics: Metrics) -> None:
        self._receiver = receiver
        self._health = health
        self._metrics = metrics
        self._handlers: dict[str, Callable[[Request], Response]] = {
            "webhook": self._on_webhook,
            "healthz": self._on_healthz,
            "metrics": self._on_metrics,
        }
        self._routes = Map(
            [
                Rule("/webhook", endpoint="webhook", methods=["POST"]),
                Rule("/healthz", endpoint="healthz", methods=["GET"]),
                Rule("/metrics", endpoint="metrics", methods=["GET"]),
            ]
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        try:
            endpoint, _ = self._routes.bind_to_environ(environ).match()
            response = self._handlers[endpoint](request)
        except RequestEntityTooLarge:
            response = _json({"error": "payload too large"}, 413)
        except HTTPException as exc:
            response = _json({"error": exc.name}, exc.code or 500)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _on_webhook(self, request: Request) -> Response:
        body = request.get_data(cache=False)
        answer = self._receiver.receive(request.headers, body)
        return _json(answer.body, answer.status)

    def _on_healthz(self, request: Request) -> Response:
        healthy, body = self._health.status()
        return _json(body, 200 if healthy else 503)

    def _on_metrics(self, request: Request) -> Response:
        data, content_type = self._metrics.exposition()
        return Response(data, 200, content_type=content_type)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body) + "\n", status, mimetype="application/json")
