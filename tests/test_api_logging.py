"""Server logs are JSON lines carrying the request id the response shows; the detail of
an internal error is logged, never returned."""

from __future__ import annotations

import io
import json
import logging

from tests.api_support import service
from tests.demo import CITY
from villagegraph.logs import JsonFormatter


async def test_internal_error_detail_is_logged_as_json_with_the_response_request_id(
    database, settings, monkeypatch
):
    from villagegraph.resolvers import notices

    async def broken(*args, **kwargs):
        raise RuntimeError("relation vg.secret_table does not exist at /srv/app.py:42")

    monkeypatch.setattr(notices, "subtree_page", broken)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("villagegraph")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        # The fault is injected into the general executor's resolver: run there.
        async with service(database, settings, compiled=False) as client:
            response = await client.post(
                "/graphql",
                json={"query": f'query Drill {{ notices(unit: "{CITY}") {{ totalCount }} }}'},
            )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    request_id = response.headers["x-request-id"]
    body = response.json()
    assert body["errors"][0]["extensions"] == {
        "code": "INTERNAL_SERVER_ERROR",
        "requestId": request_id,
    }
    assert "secret_table" not in response.text and "app.py" not in response.text
    assert "Traceback" not in response.text
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    failure = next(r for r in records if r["level"] == "ERROR")
    assert failure["request_id"] == request_id
    assert "secret_table" in failure["message"] and "Traceback" in failure["exception"]
    access = next(r for r in records if r["message"] == "operation")
    assert access["request_id"] == request_id
    assert (access["operation"], access["outcome"]) == ("Drill", "INTERNAL_SERVER_ERROR")


def test_records_leave_the_event_loop_with_their_request_id_and_traceback():
    """The background handler (logs.py) hands records to a writer thread; the request id
    and a traceback must be taken before the record leaves the request's context."""
    import queue

    from villagegraph.logs import BackgroundHandler, request_id_var

    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    logger = logging.getLogger("villagegraph.test_background")
    logger.addHandler(BackgroundHandler(records))
    token = request_id_var.set("req-1")
    try:
        try:
            raise ValueError("boom")
        except ValueError:
            logger.error("failed %s", "here", exc_info=True)
    finally:
        request_id_var.reset(token)
        logger.handlers.clear()
    entry = json.loads(JsonFormatter().format(records.get_nowait()))
    assert entry["request_id"] == "req-1" and entry["message"] == "failed here"
    assert "ValueError: boom" in entry["exception"]
