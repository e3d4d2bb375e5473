"""GraphiQL works on a network without internet access: headless Chromium loads /graphql
with every request outside the service refused (tests/browser.py), a query typed into the
editor runs, and its result shows in the page. The page and its assets come from the
service (villagegraph/graphiql.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.api_support import LiveServer
from tests.browser import Browser, find_chromium
from tests.demo import VILLAGE
from villagegraph.server import create_app

QUERY_EDITOR = "document.querySelector('.graphiql-query-editor .CodeMirror')"
RESPONSE = "document.querySelector('.graphiql-response')"


@pytest.fixture(scope="module")
def server(database, settings, owner_pool) -> Iterator[LiveServer]:
    with LiveServer(create_app(settings, database)) as live:
        yield live


@pytest.fixture
def browser(server: LiveServer) -> Iterator[Browser]:
    chromium = find_chromium()
    if chromium is None:
        pytest.skip(
            "no chromium on this machine and it could not be installed "
            "(scripts/test installs Debian's chromium when run as root with apt-get)"
        )
    origin = server.url.removesuffix("/graphql")
    with Browser(chromium, origin) as page:
        yield page


async def test_graphiql_runs_a_query_with_the_network_blocked(browser, server, gql):
    name = (await gql.data(f'{{ unit(code: "{VILLAGE}") {{ name }} }}'))["unit"]["name"]
    browser.navigate(server.url)
    browser.wait_for(f"!!({QUERY_EDITOR} && {QUERY_EDITOR}.CodeMirror)")
    browser.evaluate(f"{QUERY_EDITOR}.CodeMirror.setValue(''); {QUERY_EDITOR}.CodeMirror.focus()")
    browser.call("Input.insertText", {"text": f'{{ unit(code: "{VILLAGE}") {{ code name }} }}'})
    typed = browser.evaluate(f"{QUERY_EDITOR}.CodeMirror.getValue()")
    assert VILLAGE in typed, typed

    browser.evaluate("document.querySelector('.graphiql-execute-button').click()")
    shown = browser.wait_for(
        f"{RESPONSE} && {RESPONSE}.innerText.includes('{VILLAGE}') && {RESPONSE}.innerText"
    )
    assert name in shown, shown
    assert '"errors"' not in shown, shown

    assert browser.blocked == [], f"the page tried to reach outside: {browser.blocked}"
    assert any("/graphiql-assets/graphiql.min.js" in url for url in browser.allowed)
    assert not [line for line in browser.console if "is not defined" in line], browser.console

    # The guard is live: a request to the internet from the page is refused and recorded.
    browser.evaluate("fetch('https://unpkg.com/probe').catch(() => null)")
    assert browser.blocked == ["https://unpkg.com/probe"]


async def test_the_page_and_its_assets_are_local(client):
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources, page.text
    outside = [url for url in sources if re.match(r"(?:https?:)?//", url)]
    assert outside == []
    for url in sources:
        if url.startswith("data:"):
            continue
        asset = await client.get("/" + url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0
    licences = await client.get("/graphiql-assets/LICENSES")
    for package in ("react 18.2.0", "react-dom 18.2.0", "graphiql 3.8.3", "plugin-explorer"):
        assert package in licences.text


async def test_an_api_get_with_a_persisted_query_hash_gets_no_ide(client):
    extensions = json.dumps({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}})
    response = await client.get(
        "/graphql", params={"extensions": extensions}, headers={"Accept": "text/html"}
    )
    assert "graphiql-assets" not in response.text
