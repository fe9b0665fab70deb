"""Prometheus metrics: what the service counts, and `/metrics` to read them.

Counters and histograms live in the process that counts (web workers, Celery workers).
Under gunicorn with several workers set `PROMETHEUS_MULTIPROC_DIR` (the gunicorn config
clears it on start and marks dead workers), so one scrape of any worker sums them all;
Celery workers serve their own on `METRICS_WORKER_PORT`. Figures read from the database or
the broker (outbox backlog, queue lengths) are computed at scrape time by collectors that
apps register (`register_collector`), so every scrape of any process gives the same answer.

`/metrics` answers a bearer token (`METRICS_TOKEN`) or an address in
`METRICS_ALLOWED_NETWORKS`; anyone else gets 401.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from common.api.throttling import client_address

logger = logging.getLogger(__name__)

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by route name, method and status.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request, by route name.",
    ["route", "method"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
HTTP_THROTTLED = Counter(
    "http_throttled_total", "Requests refused with 429 (throttles, login delays).", ["route"]
)
DB_QUERIES = Counter(
    "db_queries_total", "Database queries made while answering requests.", ["alias", "route"]
)
DB_QUERY_SECONDS = Histogram(
    "db_query_duration_seconds",
    "Time of one database query during a request.",
    ["alias"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)
IDEMPOTENCY_REPLAYS = Counter(
    "idempotency_replays_total", "Requests answered from a stored Idempotency-Key response."
)
HOUSEKEEPING_DELETED = Counter(
    "housekeeping_deleted_total", "Rows (or files) removed by housekeeping jobs.", ["job"]
)
HOUSEKEEPING_RUNS = Counter("housekeeping_runs_total", "Housekeeping job runs.", ["job"])

UNMATCHED_ROUTE = "unmatched"
CollectFunction = Callable[[], Iterable[Metric]]
_collectors: dict[str, CollectFunction] = {}


def register_collector(name: str, collect: CollectFunction) -> None:
    """Have `collect()` add metrics to every scrape (figures read at scrape time). A
    collector that fails is logged and skipped: the scrape still answers."""
    _collectors[name] = collect


class _ScrapeTimeCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for name, collect in list(_collectors.items()):
            try:
                yield from collect()
            except Exception:
                logger.warning("metrics collector %s failed", name, exc_info=True)


def housekeeping_done(job: str, deleted: int) -> int:
    """Count one run of a housekeeping job and what it removed; returns `deleted`."""
    HOUSEKEEPING_RUNS.labels(job).inc()
    HOUSEKEEPING_DELETED.labels(job).inc(deleted)
    return deleted


def gauge(name: str, documentation: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, labels=labels)


def celery_queue_lengths() -> Iterable[Metric]:
    """Messages waiting in each Celery queue of `CELERY_TASK_QUEUES` (Redis or RabbitMQ)."""
    from celery import current_app

    family = gauge("celery_queue_length", "Messages waiting in a Celery queue.", ["queue"])
    if settings.CELERY_TASK_ALWAYS_EAGER or current_app.conf.broker_url.startswith("memory:"):
        return [family]
    with current_app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=2)
        channel = connection.default_channel
        for queue in settings.CELERY_TASK_QUEUES:
            try:
                waiting = channel.queue_declare(queue=queue.name, passive=True).message_count
            except Exception:
                # Not declared yet: no worker or publisher has used it, so nothing waits.
                waiting = 0
                channel = connection.channel()
            family.add_metric([queue.name], waiting)
    return [family]


# -- the exposition ------------------------------------------------------------------------


def registry() -> CollectorRegistry:
    """What one scrape reads: every process's counters when several share a directory, or
    this process's own, plus the scrape-time figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        scrape = CollectorRegistry()
        multiprocess.MultiProcessCollector(scrape)
    else:
        scrape = CollectorRegistry()
        scrape.register(_ProcessMetrics())
    scrape.register(_ScrapeTimeCollector())
    return scrape


class _ProcessMetrics(Collector):
    """This process's own counters (the default registry), without registering it twice."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def _allowed(request: HttpRequest) -> bool:
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        sent = request.headers.get("Authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return True
    address = client_address(request)
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(
        ip in ipaddress.ip_network(network.strip(), strict=False)
        for network in getattr(settings, "METRICS_ALLOWED_NETWORKS", ())
        if network.strip()
    )


def metrics_view(request: HttpRequest) -> HttpResponse:
    """`GET /metrics`: the Prometheus text exposition, for those allowed to read it."""
    if not _allowed(request):
        response = HttpResponse("Unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(registry()), content_type=CONTENT_TYPE_LATEST)


def serve_worker_metrics(port: int) -> None:
    """Serve `/metrics` of a Celery worker (no Django view there) on `port`, all addresses."""
    from prometheus_client import start_http_server

    start_http_server(port, registry=registry())
    logger.info("worker metrics on port %d", port)


# -- the middleware ----------------------------------------------------------------------


def route_of(request: HttpRequest) -> str:
    """A bounded label for the request: the URL's name, else its pattern, else `unmatched`."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return UNMATCHED_ROUTE
    return match.view_name or match.route or UNMATCHED_ROUTE


class MetricsMiddleware:
    """Counts every request by route name, method and status, its time and its queries."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        queries: dict[str, int] = {}
        with ExitStack() as stack:
            for connection in connections.all():
                counter = _QueryCounter(connection.alias, queries)
                stack.enter_context(connection.execute_wrapper(counter))
            response = self.get_response(request)
        route = route_of(request)
        method = request.method or ""
        HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
        if response.status_code == 429:
            HTTP_THROTTLED.labels(route).inc()
        for alias, count in queries.items():
            DB_QUERIES.labels(alias, route).inc(count)
        return response


class _QueryCounter:
    def __init__(self, alias: str, counts: dict[str, int]) -> None:
        self.alias = alias
        self.counts = counts

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.counts[self.alias] = self.counts.get(self.alias, 0) + 1
            DB_QUERY_SECONDS.labels(self.alias).observe(time.perf_counter() - started)
