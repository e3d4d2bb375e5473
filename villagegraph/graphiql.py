"""GraphiQL served by the service itself, with no request leaving for the internet.

Owns the IDE page that GET /graphql renders in a browser (villagegraph/static/graphiql.html)
and the route serving its vendored scripts and stylesheets (villagegraph/static/graphiql/,
pinned versions copied from npm by scripts/vendor-graphiql, licences in LICENSES there).
Whether the page is shown at all stays the GraphQL view's decision
(`should_render_graphql_ide`); this module only decides what the page is made of. It must not
reference any asset by an absolute or outside URL: the page has to work on a network without
internet access.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).resolve().parent / "static"
ASSETS = STATIC / "graphiql"
# The page at /graphql loads its assets by the relative URL graphiql-assets/<file>, so this
# prefix sits beside /graphql (also behind a proxy that mounts the service under a path).
ASSETS_PATH = "/graphiql-assets"


@cache
def page() -> str:
    return (STATIC / "graphiql.html").read_text(encoding="utf-8")


class LocalGraphiQL:
    """Mixin for strawberry's GraphQL view: the IDE page it renders is the local one."""

    async def render_graphql_ide(self, request: Any) -> Response:
        return HTMLResponse(page())


def assets_route() -> Mount:
    """The route serving the vendored GraphiQL files (with ETag/Last-Modified)."""
    return Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS), name="graphiql-assets")
