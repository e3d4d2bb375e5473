"""How GraphQL answers look on the wire beyond strawberry's defaults: the
GraphQL-over-HTTP media type (request errors answer 4xx without `data`), ETag and
Cache-Control on GET queries, and the 401 of an untrustworthy token. These functions
only reshape responses; they never decide what a caller may see."""

from __future__ import annotations

import hashlib
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from villagegraph.errors import QueryTooComplex, Unauthenticated

GRAPHQL_RESPONSE = "application/graphql-response+json"


def unauthenticated(request_id: str) -> Response:
    """The answer to a bearer token that cannot be trusted."""
    return JSONResponse(
        {
            "errors": [
                {
                    "message": "Your token is invalid or expired; log in again.",
                    "extensions": {"code": Unauthenticated.code, "requestId": request_id},
                }
            ]
        },
        status_code=401,
        headers={"WWW-Authenticate": "Bearer", "X-Request-Id": request_id},
    )


def too_large(response: Response, ceiling: int) -> Response:
    """The answer to a result larger than the response ceiling (Settings.max_response_bytes):
    a request error in its place, with the request id."""
    request_id = response.headers.get("x-request-id")
    extensions = {"code": QueryTooComplex.code, "limit": "responseSize", "max": ceiling}
    if request_id:
        extensions["requestId"] = request_id
    message = (
        f"The result is larger than {ceiling} bytes; ask for less (fewer fields, smaller pages)."
    )
    return JSONResponse(
        {"data": None, "errors": [{"message": message, "extensions": extensions}]},
        status_code=response.status_code,
    )


def as_graphql_response(response: Response) -> Response:
    """The GraphQL-over-HTTP media type: a request error (the document did not parse,
    validate or coerce its variables, or was refused before execution) answers 4xx with
    no `data` entry; results with field errors stay 200."""
    try:
        body = json.loads(bytes(response.body))
    except ValueError:
        return response
    status = response.status_code
    if (
        isinstance(body, dict)
        and body.get("data") is None
        and body.get("errors")
        and all("path" not in error for error in body["errors"])
    ):
        body.pop("data", None)
        if status == 200:
            status = 400
    headers = {
        k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")
    }
    return Response(
        json.dumps(body, ensure_ascii=False).encode(),
        status_code=status,
        headers=headers,
        media_type=GRAPHQL_RESPONSE,
    )


def cacheable(request: Request, response: Response) -> Response:
    """ETag and Cache-Control for a GET query; If-None-Match answers 304 without a body.

    Only error-free results are cacheable. A signed-in caller's result is private to it and
    revalidated every time; an anonymous one may be shared for a short while.
    """
    body = bytes(response.body)
    try:
        if json.loads(body).get("errors"):
            return response
    except (ValueError, AttributeError):
        return response
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    signed_in = bool(request.headers.get("authorization"))
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache" if signed_in else "public, max-age=30",
        "Vary": "Authorization, Accept",
    }
    wanted = [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]
    if etag in wanted or "*" in wanted:
        not_modified = Response(status_code=304, headers=headers)
        for name in ("x-request-id",):
            if name in response.headers:
                not_modified.headers[name] = response.headers[name]
        return not_modified
    response.headers.update(headers)
    return response
