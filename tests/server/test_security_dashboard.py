"""The dashboard's forms against other sites (login CSRF) and oversized bodies.

The cookie is SameSite=Strict, so another site's form cannot act *with* it; but the login
form needs no cookie, so another site could log a visitor into the site's own project.
Browsers say where a form came from (``Origin``, ``Sec-Fetch-Site``): a cross-origin
post is refused, one from the dashboard's own page passes, as does a client that is not
a browser and sends neither.
"""

from __future__ import annotations

import httpx
import pytest

from memkit.server._dashboard_auth import COOKIE_NAME

FOREIGN = [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
]


@pytest.mark.parametrize("headers", FOREIGN, ids=["origin", "null-origin", "cross", "same-site"])
def test_login_and_logout_refuse_a_form_from_another_site(live_server, headers) -> None:
    url = live_server.url
    key = live_server.new_key("demo")
    login = httpx.post(f"{url}/dashboard/login", data={"key": key}, headers=headers)
    assert login.status_code == 403
    assert COOKIE_NAME not in login.headers.get("set-cookie", "")
    assert "another site" in login.text
    with httpx.Client(base_url=url, cookies={COOKIE_NAME: key}) as browser:
        logout = browser.post("/dashboard/logout", headers=headers)
        assert logout.status_code == 403
        assert "set-cookie" not in logout.headers


def test_a_form_from_the_dashboards_own_page_logs_in_and_out(live_server) -> None:
    url = live_server.url
    key = live_server.new_key("demo")
    own = {"Origin": url, "Sec-Fetch-Site": "same-origin"}
    login = httpx.post(f"{url}/dashboard/login", data={"key": key}, headers=own)
    assert login.status_code == 303
    assert f"{COOKIE_NAME}={key}" in login.headers["set-cookie"]
    with httpx.Client(base_url=url, cookies={COOKIE_NAME: key}) as browser:
        logout = browser.post("/dashboard/logout", headers=own)
        assert logout.status_code == 303
        assert f'{COOKIE_NAME}=""' in logout.headers["set-cookie"]
    # Fetch metadata decides when sent (a page with no-referrer posts "Origin: null");
    # a typed-in address (Sec-Fetch-Site: none) and a non-browser (no headers) pass too.
    passing = (
        {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {},
    )
    for headers in passing:
        assert (
            httpx.post(f"{url}/dashboard/login", data={"key": key}, headers=headers).status_code
            == 303
        )


def test_the_login_form_does_not_buffer_an_endless_body(live_server) -> None:
    url = live_server.url
    key = live_server.new_key("demo")

    def body():
        yield f"key={key}&pad=".encode()
        for _ in range(64):
            yield b"x" * 65536

    reply = httpx.post(
        f"{url}/dashboard/login",
        content=body(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 413
    assert "set-cookie" not in reply.headers


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/dashboard/api/memories", {"filters": "[" * 3000}),  # json.loads: RecursionError
        ("/dashboard/api/memories", {"filters": '{"user_id": {"$nope": 1}}'}),
        ("/dashboard/api/memories", {"entity_type": "<script>", "entity_id": "x"}),
        ("/dashboard/api/memories", {"q": "\x00" * 10}),
        ("/dashboard/api/activity", {"kind": "'; DROP TABLE activity; --"}),
        ("/dashboard/api/memories/..%2F..%2Fserver.db/history", {}),
        ("/dashboard/api/memories/%00/history", {}),
    ],
)
def test_odd_dashboard_queries_are_the_callers_mistake_not_a_500(live_server, path, params) -> None:
    key = live_server.new_key("demo")
    reply = httpx.get(
        f"{live_server.url}{path}", params=params, headers={"Authorization": f"Token {key}"}
    )
    assert reply.status_code < 500, reply.text
    assert live_server.memory("demo").check(repair=False).healthy
