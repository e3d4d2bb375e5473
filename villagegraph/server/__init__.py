"""The HTTP and websocket service: `create_app` (villagegraph/server/app.py) assembles it.

Modules: app (assembly and lifespan), state (the one typed state object), http_limits
(body size and time), auth (bearer middleware), view (GraphQL over HTTP), websocket
(graphql-transport-ws), admission (rate limits and document limits before anything
runs), probes (/health, /metrics) and responses (the GraphQL-over-HTTP media type and
GET caching). None of them decides what a
caller may read: row-level security does.
"""

from villagegraph.server.app import create_app

__all__ = ["create_app"]
