"""The one HTTP layer: a session per service with auth, timeouts, retries, pagination and errors.

Invariants:
- This module holds the only `except requests.RequestException` of the codebase; everything that
  leaves it is a `Reply` or an `ApiError(service, status, message)`.
- An `ApiError` message names the method and the URL *path* only: never the query string (Drone's
  hook URL carries `?secret=`), request bodies, headers or credentials. Server-supplied text is
  truncated and scrubbed of every credential and sensitive body value this client knows.
- Retries are bounded by `RetryPolicy.max_attempts` (every attempt counts, 429s included).
  Idempotent methods (GET, HEAD, OPTIONS, PUT, DELETE) are retried on 5xx (except 501) and on
  connection errors, with exponential backoff and full jitter. PATCH is not idempotent in general
  (RFC 5789) and POST never is: they are retried only when the caller vouches with
  `idempotent=True` (Drone's pointer-field PATCHes set absolute values; activation is documented
  as repeatable), or when the connection was never established (nothing reached the server).
  429 is retried for every method, since the server did nothing; `Retry-After` is honoured up to
  a cap, else the same backoff applies.
- A DELETE that is retried after an ambiguous failure and then answers 404 did happen: it is
  reported as success, so deletes stay idempotent across dropped connections.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from reconciler import __version__
from reconciler.errors import ApiError

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
SENSITIVE_BODY_KEYS = frozenset({"data", "secret", "token", "password", "value", "client_secret"})
MAX_MESSAGE = 300
MAX_PAGES = 100_000
MIN_SCRUB = 4  # shorter values would mangle ordinary words without protecting anything

Params = Mapping[str, str | int]


@dataclass(frozen=True)
class RetryPolicy:
    """Defaults suit a CLI run against SaaS APIs: four attempts spread over a few seconds, and a
    rate-limit pause short enough that a human waiting on `plan` is not left wondering."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    retry_after_cap: float = 30.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")

    def backoff(self, attempt: int) -> float:
        """Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2^(n-1))]."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.SystemRandom().uniform(0, ceiling)


class CallCounter:
    """Thread-safe per-service counts for metrics and `LiveState.api_calls`.

    `calls` counts every request sent (retries included, so it matches a server's request log);
    `retries` counts the re-sends among them; the in-flight peaks prove the concurrency bound.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()
        self._retries: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._peak: Counter[str] = Counter()
        self._total_in_flight = 0
        self._peak_total = 0

    def started(self, service: str, *, retry: bool) -> None:
        with self._lock:
            self._calls[service] += 1
            self._retries[service] += int(retry)
            self._in_flight[service] += 1
            self._peak[service] = max(self._peak[service], self._in_flight[service])
            self._total_in_flight += 1
            self._peak_total = max(self._peak_total, self._total_in_flight)

    def finished(self, service: str) -> None:
        with self._lock:
            self._in_flight[service] -= 1
            self._total_in_flight -= 1

    @property
    def calls(self) -> dict[str, int]:
        with self._lock:
            return dict(self._calls)

    @property
    def retries(self) -> dict[str, int]:
        with self._lock:
            return dict(self._retries)

    @property
    def peak_in_flight(self) -> dict[str, int]:
        with self._lock:
            return dict(self._peak)

    @property
    def peak_total_in_flight(self) -> int:
        """Most requests in flight at once across services (only meaningful when the clients
        share this counter, as `clients_from_env` arranges)."""
        with self._lock:
            return self._peak_total


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # parsed JSON; None for an empty body
    headers: Mapping[str, str]


@dataclass(frozen=True)
class _Failure:
    """A request that got no HTTP response. `unsent` = the connection was never established."""

    reason: str
    unsent: bool


class BearerAuth(AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["Authorization"] = f"Bearer {self._token}"
        return r


def path(*segments: str | int) -> str:
    """`/a/b/c` with every segment percent-encoded (brace UUIDs become `%7B…%7D`, a `/` inside a
    name cannot change the route)."""
    return "".join("/" + quote(str(s), safe="") for s in segments)


class HttpClient:
    """One `requests.Session` per service. Safe to share between the threads of `read_live`:
    the connection pool is sized for them and no per-request state lives on the instance."""

    def __init__(
        self,
        *,
        service: str,
        base_url: str,
        auth: AuthBase | None,
        credentials: Iterable[str] = (),
        policy: RetryPolicy | None = None,
        counter: CallCounter | None = None,
        pool_maxsize: int = 8,
    ) -> None:
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.policy = policy or RetryPolicy()
        self.counter = counter or CallCounter()
        self._origin = _origin(self.base_url)
        self._credentials = tuple(c for c in credentials if c)
        self._session = requests.Session()
        self._session.auth = auth
        self._session.headers["User-Agent"] = f"reconciler/{__version__}"
        self._session.headers["Accept"] = "application/json"
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=pool_maxsize, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self) -> None:
        self._session.close()

    # -- the request loop ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        target: str,
        *,
        params: Params | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        auth: AuthBase | None = None,
        idempotent: bool | None = None,
        secrets: tuple[str, ...] = (),
    ) -> Reply:
        """Send with retries; return the reply for 2xx/3xx, raise `ApiError` for anything else.

        `target` is a path under `base_url`, or an absolute URL on the same origin (a Bitbucket
        `next` link) or on an origin the caller names explicitly through `auth` (OAuth)."""
        url = self._url(target, foreign_ok=auth is not None)
        retry_failures = idempotent if idempotent is not None else method in IDEMPOTENT_METHODS
        scrub = self._credentials + secrets + _sensitive_values(json_body) + _sensitive_values(form)
        options: dict[str, Any] = {"params": params, "json": json_body, "data": form, "auth": auth}
        ambiguous = False
        for attempt in range(1, self.policy.max_attempts + 1):
            last = attempt == self.policy.max_attempts
            outcome = self._send(method, url, options, retry=attempt > 1)
            if isinstance(outcome, _Failure):
                if not last and (retry_failures or outcome.unsent):
                    ambiguous = ambiguous or not outcome.unsent
                    time.sleep(self.policy.backoff(attempt))
                    continue
                raise ApiError(self.service, None, f"{method} {_where(url)}: {outcome.reason}")
            status = outcome.status_code
            if status == 429 and not last:
                time.sleep(self._retry_after(outcome, attempt))
                continue
            if status >= 500 and status != 501 and retry_failures and not last:
                ambiguous = True
                time.sleep(self.policy.backoff(attempt))
                continue
            if method == "DELETE" and status == 404 and ambiguous:
                return Reply(204, None, dict(outcome.headers))
            if status >= 400:
                raise ApiError(self.service, status, self._message(method, url, outcome, scrub))
            return Reply(status, _json(outcome), dict(outcome.headers))
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _send(
        self, method: str, url: str, options: dict[str, Any], *, retry: bool
    ) -> requests.Response | _Failure:
        timeout = (self.policy.connect_timeout, self.policy.read_timeout)
        self.counter.started(self.service, retry=retry)
        try:
            return self._session.request(method, url, timeout=timeout, **options)
        except requests.RequestException as exc:  # the one place this is caught
            return _failure(exc, self.policy.read_timeout)
        finally:
            self.counter.finished(self.service)

    def _retry_after(self, response: requests.Response, attempt: int) -> float:
        header = response.headers.get("Retry-After")
        wait = _parse_retry_after(header) if header else None
        if wait is None:
            return self.policy.backoff(attempt)
        return min(max(wait, 0.0), self.policy.retry_after_cap)

    def _message(
        self, method: str, url: str, response: requests.Response, scrub: tuple[str, ...]
    ) -> str:
        text = _server_text(response)
        for secret in scrub:
            if len(secret) >= MIN_SCRUB:
                text = text.replace(secret, "***")
        if response.status_code == 403:
            text += _scope_hint(response.headers)
        return f"{method} {_where(url)}: {text}"

    def _url(self, target: str, *, foreign_ok: bool) -> str:
        if not target.startswith(("http://", "https://")):
            return self.base_url + target
        if not foreign_ok and _origin(target) != self._origin:
            raise ApiError(
                self.service, None, f"refused to follow a link off the API host ({_where(target)})"
            )
        return target

    # -- conveniences -------------------------------------------------------------------------

    def get(self, target: str, *, params: Params | None = None) -> Any:
        return self.request("GET", target, params=params).body

    def paginate(self, target: str, *, params: Params | None = None) -> Iterator[Any]:
        """Bitbucket collections: yield `values`, following `next` verbatim until it is absent.
        A `next` seen before (a broken server or mock) stops with an error instead of looping."""
        page = self.get(target, params=params)
        seen: set[str] = set()
        while True:
            if not isinstance(page, dict):
                raise ApiError(self.service, None, f"GET {_where(target)}: not a paginated list")
            yield from page.get("values") or ()
            link = page.get("next")
            if not link:
                return
            if link in seen or len(seen) >= MAX_PAGES:
                raise ApiError(self.service, None, f"GET {_where(link)}: pagination loops")
            seen.add(link)
            page = self.get(link)

    def paginate_pages(
        self, target: str, *, params: Params | None = None, per_page: int = 100
    ) -> Iterator[Any]:
        """Drone's two paginated endpoints: `page` (1-based) and `per_page`, until a short page."""
        for number in range(1, MAX_PAGES):
            query = {**(params or {}), "page": number, "per_page": per_page}
            batch = self.get(target, params=query)
            if not isinstance(batch, list):
                raise ApiError(self.service, None, f"GET {_where(target)}: not a list")
            yield from batch
            if len(batch) < per_page:
                return


# -- at-most-once creation ----------------------------------------------------------------------


def is_ambiguous(error: ApiError) -> bool:
    """No response, or a server error: the request may have taken effect."""
    return error.status is None or error.status >= 500


def create_or_confirm(
    create: Callable[[], object], confirm: Callable[[], bool], *, attempts: int = 3
) -> bool:
    """POSTs are never repeated blindly. Run `create`; after an ambiguous failure ask `confirm`
    (a re-read) whether it happened anyway, and send again only when it did not.
    Returns True when `create` answered, False when `confirm` found the object already there."""
    for attempt in range(1, attempts + 1):
        try:
            create()
        except ApiError as error:
            if not is_ambiguous(error):
                raise
            if confirm():
                return False
            if attempt == attempts:
                raise
            continue
        return True
    raise ValueError("create_or_confirm needs at least one attempt")


# -- helpers -----------------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _where(url: str) -> str:
    """The part of a URL that is safe to print: its path (no query string, no credentials)."""
    return urlsplit(url).path or "/"


def _json(response: requests.Response) -> Any:
    if not response.content.strip():
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _failure(exc: requests.RequestException, read_timeout: float) -> _Failure:
    """Classify without `str(exc)`: urllib3's text embeds the URL, query string included."""
    if isinstance(exc, requests.ConnectTimeout):
        return _Failure("connection timed out", unsent=True)
    if isinstance(exc, requests.ReadTimeout):
        return _Failure(f"no response within {read_timeout:g}s", unsent=False)
    if isinstance(exc, requests.exceptions.SSLError):
        return _Failure("TLS handshake failed", unsent=True)
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0] if exc.args else None, "reason", None)
        if isinstance(reason, urllib3.exceptions.NewConnectionError):
            return _Failure("could not connect", unsent=True)
        return _Failure("connection dropped before a response", unsent=False)
    return _Failure(f"request failed ({type(exc).__name__})", unsent=False)


def _parse_retry_after(header: str) -> float | None:
    """Seconds, or an HTTP date (RFC 9110 allows both); None when unreadable."""
    with contextlib.suppress(ValueError):
        return float(header)
    try:
        return parsedate_to_datetime(header).timestamp() - time.time()
    except (TypeError, ValueError):
        return None


def _server_text(response: requests.Response) -> str:
    """The error text each system puts in its body: Bitbucket `error.message` (+ `detail`),
    OAuth `error_description`, Drone `message`; else the reason phrase. One line, truncated."""
    body = _json(response)
    text = ""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            parts = [err.get("message"), err.get("detail")]
            text = " - ".join(str(p) for p in parts if p)
        elif isinstance(err, str):  # OAuth 2 token endpoint: keep the code, it is telling
            desc = body.get("error_description")
            text = f"{desc} ({err})" if desc else err
        elif body.get("message"):
            text = str(body["message"])
    text = " ".join((text or response.reason or "no details").split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _scope_hint(headers: Mapping[str, str]) -> str:
    """Bitbucket names the scopes an endpoint accepts and those the credential holds."""
    accepted = headers.get("X-Accepted-OAuth-Scopes")
    held = headers.get("X-OAuth-Scopes")
    if not accepted:
        return ""
    return f" (endpoint accepts scopes: {accepted}; credential has: {held or 'unknown'})"


def _sensitive_values(body: Any) -> tuple[str, ...]:
    """String leaves under sensitive keys (`data`, `secret`, …) of a request body."""
    if not isinstance(body, Mapping):
        return ()
    return tuple(
        str(v) for k, v in body.items() if k in SENSITIVE_BODY_KEYS and isinstance(v, str) and v
    )
