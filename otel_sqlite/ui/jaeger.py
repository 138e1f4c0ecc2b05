"""Jaeger's query API over the database, beside the UI's own routes: what Grafana's Jaeger
data source and Jaeger's UI call.

- ``/api/services``, ``/api/services/{service}/operations``, ``/api/operations``,
  ``/api/traces`` (search), ``/api/traces/{traceID}``, ``/api/dependencies``: Jaeger's
  internal JSON API, answered in its ``{"data", "total", "limit", "offset", "errors"}``
  envelope with spans in its UI model.
- ``/api/v3/services``, ``/api/v3/operations``, ``/api/v3/traces``,
  ``/api/v3/traces/{trace_id}``, ``/api/v3/trace-summaries``: Jaeger v2's HTTP API, traces
  as OTLP/JSON in ``{"result": ...}``.

Read-only like every UI route, on the UI's loopback rules. Bad parameters are 400 in each
API's own error shape; an unknown trace is 404; a database that cannot be read now is the
server's 503, as for every route.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from otel_sqlite.errors import DatabaseError, NotFoundError, OtelSqliteError
from otel_sqlite.queries import jaeger as queries
from otel_sqlite.queries.records import trace_records
from otel_sqlite.records import SPAN_KINDS
from otel_sqlite.ui import jaeger_params as params
from otel_sqlite.ui.api import JsonResponse, Request, routes
from otel_sqlite.ui.jaeger_model import (
    envelope,
    error_envelope,
    otlp_traces,
    summary_json,
    trace_json,
    v3_error,
)

# Jaeger's defaults: a search without ``start`` looks back two days and returns up to 100
# traces; dependencies look back one day.
SEARCH_LOOKBACK_NS = 2 * 86_400 * 10**9
DEPENDENCIES_LOOKBACK_NS = 86_400 * 10**9
DEFAULT_TRACES = 100
# More traces than this in one answer are cut here (Jaeger UI's own maximum is 1500): one
# request must not build a response of millions of spans.
MAX_TRACES = 1500
_SPAN_KINDS = (*SPAN_KINDS, "unspecified")

Handler = Callable[[Request], Any]


def _answering(error_body: Callable[[int, str], dict[str, Any]]) -> Callable[[Handler], Handler]:
    """A route that answers its own errors in ``error_body``'s shape (400, 404)."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def answer(request: Request) -> Any:
            try:
                return handler(request)
            except DatabaseError:
                raise
            except NotFoundError as exc:
                return JsonResponse(error_body(HTTPStatus.NOT_FOUND, str(exc)),
                                    HTTPStatus.NOT_FOUND)
            except OtelSqliteError as exc:
                return JsonResponse(error_body(HTTPStatus.BAD_REQUEST, str(exc)),
                                    HTTPStatus.BAD_REQUEST)
        return answer

    return wrap


_v1 = _answering(error_envelope)
_v3 = _answering(v3_error)


def _span_kind(request: Request, *names: str) -> str | None:
    kind, name = params.first(request.query, *names)
    if kind is not None and kind not in _SPAN_KINDS:
        raise params.ParamError(
            f"unsupported span kind in '{name}': {kind!r} (one of {', '.join(_SPAN_KINDS)})")
    return kind


def _traces_of(request: Request, trace_ids: list[str]) -> dict[str, list]:
    return {trace_id: records for trace_id, records in
            trace_records(request.db, trace_ids).items() if records}


# --- Jaeger's JSON API (/api) ------------------------------------------------------------


@_v1
def services(request: Request) -> dict[str, Any]:
    """``/api/services``: every service name."""
    names = queries.services(request.db)
    return envelope(names, len(names))


@_v1
def service_operations(request: Request) -> dict[str, Any]:
    """``/api/services/{service}/operations``: the service's span names, of any kind."""
    names = sorted({name for name, _ in queries.operations(request.db, request.arg("service"))})
    return envelope(names, len(names))


@_v1
def operations(request: Request) -> dict[str, Any]:
    """``/api/operations?service=&spanKind=``: the service's operations with their kinds."""
    service, _ = params.first(request.query, "service")
    if service is None:
        raise params.ParamError("parameter 'service' is required")
    found = [{"name": name, "spanKind": kind} for name, kind in
             queries.operations(request.db, service, _span_kind(request, "spanKind"))]
    return envelope(found, len(found))


def _search(request: Request, now_ns: int) -> queries.TraceQuery:
    query = request.query
    service, _ = params.first(query, "service")
    if service is None:
        raise params.ParamError("parameter 'service' is required")
    end = params.epoch_ns(query, "end", 1_000)
    end = now_ns if end is None else end
    start = params.epoch_ns(query, "start", 1_000)
    if start is None:
        start = end - (params.lookback_ns(query) or SEARCH_LOOKBACK_NS)
    low = params.duration_ns(query, "minDuration")
    high = params.duration_ns(query, "maxDuration")
    if low and high and high < low:
        raise params.ParamError("'maxDuration' should be greater than 'minDuration'")
    return queries.TraceQuery(
        start_min_ns=start, start_max_ns=end, now_ns=now_ns,
        limit=min(params.whole_number(query, "limit", default=DEFAULT_TRACES) or DEFAULT_TRACES,
                  MAX_TRACES),
        service=service, operation=params.first(query, "operation")[0],
        tags=params.tags(query), duration_min_ns=low or None, duration_max_ns=high or None,
    )


@_v1
def traces(request: Request) -> dict[str, Any]:
    """``/api/traces?service=&operation=&tags=&start=&end=&minDuration=&maxDuration=&limit=
    &lookback=``: whole traces with a matching span, newest first; ``traceID=`` (repeated)
    fetches those traces instead."""
    now_ns = time.time_ns()
    wanted = [params.trace_id(text) for text in request.query.get("traceID", ()) if text]
    if wanted:
        found = _traces_of(request, wanted)
        errors = [{"code": HTTPStatus.NOT_FOUND, "msg": "trace not found", "traceID": trace_id}
                  for trace_id in wanted if trace_id not in found]
    else:
        found = _traces_of(request, queries.find_trace_ids(request.db, _search(request, now_ns)))
        errors = []
    answer = envelope([trace_json(trace_id, records, now_ns)
                       for trace_id, records in found.items()])
    answer["errors"] = errors or None
    return answer


@_v1
def trace(request: Request) -> dict[str, Any]:
    """``/api/traces/{traceID}``: one trace, every span."""
    trace_id = params.trace_id(request.arg("trace"))
    found = _traces_of(request, [trace_id])
    if not found:
        raise NotFoundError("trace not found")
    return envelope([trace_json(trace_id, found[trace_id], time.time_ns())])


@_v1
def dependencies(request: Request) -> dict[str, Any]:
    """``/api/dependencies?endTs=&lookback=`` (milliseconds): calls between services."""
    end = params.epoch_ns(request.query, "endTs", 1_000_000)
    end = time.time_ns() if end is None else end
    lookback = params.whole_number(request.query, "lookback", default=0) * 1_000_000
    links = queries.dependencies(request.db, end - (lookback or DEPENDENCIES_LOOKBACK_NS), end)
    return envelope(links)


# --- Jaeger v2's HTTP API (/api/v3) ------------------------------------------------------


@_v3
def v3_services(request: Request) -> dict[str, Any]:
    """``/api/v3/services``."""
    return {"services": queries.services(request.db)}


@_v3
def v3_operations(request: Request) -> dict[str, Any]:
    """``/api/v3/operations?service=&spanKind=``."""
    service, _ = params.first(request.query, "service", "query.serviceName",
                              "query.service_name")
    kind = _span_kind(request, "spanKind", "span_kind")
    return {"operations": [{"name": name, "spanKind": span_kind} for name, span_kind in
                           queries.operations(request.db, service, kind)]}


def _v3_search(request: Request, now_ns: int) -> queries.TraceQuery:
    query = request.query
    start = params.rfc3339_ns(query, "query.startTimeMin", "query.start_time_min")
    end = params.rfc3339_ns(query, "query.startTimeMax", "query.start_time_max")
    if start is None or end is None:
        raise params.ParamError("query.startTimeMin and query.startTimeMax are required")
    if start >= end:
        raise params.ParamError("query.startTimeMin must be before query.startTimeMax")
    limit = params.whole_number(query, "query.searchDepth", "query.search_depth",
                                "query.num_traces", default=DEFAULT_TRACES)
    return queries.TraceQuery(
        start_min_ns=start, start_max_ns=end, now_ns=now_ns,
        limit=min(limit or DEFAULT_TRACES, MAX_TRACES),
        service=params.first(query, "query.serviceName", "query.service_name")[0],
        operation=params.first(query, "query.operationName", "query.operation_name")[0],
        tags=params.tags(query, "query.attributes", pairs_name=None),
        duration_min_ns=params.duration_ns(query, "query.durationMin", "query.duration_min"),
        duration_max_ns=params.duration_ns(query, "query.durationMax", "query.duration_max"),
    )


def _v3_result(found: dict[str, list], now_ns: int) -> dict[str, Any]:
    if not found:
        raise NotFoundError("No traces found")
    return {"result": otlp_traces([r for records in found.values() for r in records], now_ns)}


@_v3
def v3_traces(request: Request) -> dict[str, Any]:
    """``/api/v3/traces?query.serviceName=&query.startTimeMin=&query.startTimeMax=...``."""
    now_ns = time.time_ns()
    found = _traces_of(request, queries.find_trace_ids(request.db, _v3_search(request, now_ns)))
    return _v3_result(found, now_ns)


@_v3
def v3_trace_summaries(request: Request) -> dict[str, Any]:
    """``/api/v3/trace-summaries?...`` (the parameters of ``/api/v3/traces``): what a result
    list shows of each matching trace, without its spans."""
    now_ns = time.time_ns()
    found = queries.find_trace_ids(request.db, _v3_search(request, now_ns))
    return {"summaries": [summary_json(summary) for summary in
                          queries.trace_summaries(request.db, found, now_ns)]}


@_v3
def v3_trace(request: Request) -> dict[str, Any]:
    """``/api/v3/traces/{trace_id}``: one trace as OTLP/JSON."""
    trace_id = params.trace_id(request.arg("trace"))
    for names in (("startTime", "start_time"), ("endTime", "end_time")):
        params.rfc3339_ns(request.query, *names)  # accepted and checked; the id finds it
    return _v3_result(_traces_of(request, [trace_id]), time.time_ns())


ROUTES = routes(
    (r"/api/services", services),
    (r"/api/services/(?P<service>[^/]+)/operations", service_operations),
    (r"/api/operations", operations),
    (r"/api/traces", traces),
    (r"/api/traces/(?P<trace>[^/]+)", trace),
    (r"/api/dependencies", dependencies),
    (r"/api/v3/services", v3_services),
    (r"/api/v3/operations", v3_operations),
    (r"/api/v3/traces", v3_traces),
    (r"/api/v3/traces/(?P<trace>[^/]+)", v3_trace),
    (r"/api/v3/trace-summaries", v3_trace_summaries),
)
