"""The dashboard in a real browser: Debian's chromium, driven by playwright.

A live server's project "demo" runs the demo itself (cookbook/quickstart.py, what
``make demo`` runs, through memkit's client with ``--keep``), then the browser logs in
with the key through the login form and checks every view: the operations, the charts,
the memories with filters and search, a memory's history, live refresh, and that markup
in a memory stays text. Screenshots are saved and checked; with
MEMKIT_DASHBOARD_SCREENSHOT set, the dashboard's is also copied there
(``docs/dashboard.png`` for the README).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from memkit.server import ServerSettings
from memkit.testing.live_server import LiveServer

CHROMIUM = os.environ.get("MEMKIT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
XSS = '<img src=x onerror="window.__xss = 1"><script>window.__xss = 2</script>'
DEMO_KINDS = {"add", "search", "get_all", "history", "update", "batch_update", "batch_delete"}


def run_the_demo(url: str, key: str) -> None:
    """``cookbook/quickstart.py --host URL --api-key KEY --keep``: the demo itself (what
    ``make demo`` runs), through memkit's client against the server, keeping what it wrote."""
    path = Path(__file__).resolve().parents[2] / "cookbook" / "quickstart.py"
    spec = importlib.util.spec_from_file_location("memkit_quickstart", path)
    assert spec is not None and spec.loader is not None
    quickstart = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(quickstart)
    quickstart.run(url, key, keep=True)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Iterator[dict[str, Any]]:
    os.environ.setdefault("MEM0_TELEMETRY", "False")
    home = tmp_path_factory.mktemp("dashboard") / "server"
    with LiveServer(ServerSettings(home=home)) as live:
        memory = live.memory("demo")
        run_the_demo(live.url, live.new_key("demo", "demo"))
        demo_operations = len(memory.activity(limit=1000))
        memory.add(XSS, user_id="mallory", infer=False)
        (updated,) = memory.get_all(user_id="sam").results  # changed by two adds and update()
        yield {
            "updated_id": updated.id,
            "demo_operations": demo_operations,
            "live": live,
            "memory": memory,
            "key": live.new_key("demo"),
            "other_key": live.new_key("other"),
        }


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    yield opened
    context.close()


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (the file must be a PNG to have one)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def screenshot(page: Page, path: Path, min_height: int = 600) -> Path:
    page.screenshot(path=str(path), full_page=True)
    width, height = png_size(path)
    assert width == 1280 and height >= min_height
    assert path.stat().st_size > 20_000, "a near-empty screenshot"
    return path


def log_in(page: Page, url: str, key: str) -> None:
    first = page.goto(f"{url}/dashboard")
    assert first is not None and first.status == 401
    expect(page.locator("#login-form")).to_be_visible()
    page.fill("#key", key)
    page.click("#login-submit")
    page.wait_for_url(f"{url}/dashboard")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")


def texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_inner_texts()]


def test_dashboard_shows_the_demo_run(demo, page: Page, tmp_path: Path) -> None:
    url = demo["live"].url
    assert page.goto(f"{url}/dashboard").status == 401  # type: ignore[union-attr]
    screenshot(page, tmp_path / "login.png", min_height=400)
    log_in(page, url, demo["key"])
    expect(page.locator("#project-id")).to_have_text("demo")
    expect(page.locator("#updated")).to_have_text(re.compile(r"^updated \d\d:\d\d:\d\d$"))

    # Operations: the demo's kinds and scopes, newest first.
    kinds = set(texts(page, "[data-testid=op-kind]"))
    assert kinds >= DEMO_KINDS
    scopes = texts(page, "[data-testid=op-scope]")
    assert any("user_id=alex" in s and "run_id=trip-planning-2024" in s for s in scopes)
    assert any("agent_id=ai-tutor" in s for s in scopes)
    assert any("user_id=sam" in s for s in scopes)

    # Charts: bars for this minute's operations, points for its latency.
    bars = page.locator("#chart-ops [data-testid=ops-bar] title").all_text_contents()
    plotted = sum(int(re.search(r": (\d+) operations", t).group(1)) for t in bars)  # type: ignore[union-attr]
    assert plotted >= demo["demo_operations"]
    assert page.locator("#chart-latency [data-testid=latency-p95]").count() >= 1
    assert page.locator("#chart-ops text").count() >= 3  # axis labels

    # Memories per user/agent/run; bob's were batch-deleted.
    entities = {
        (e.get_attribute("data-type"), e.get_attribute("data-id"))
        for e in page.locator("[data-testid=entity]").all()
    }
    assert {("user", "alex"), ("user", "sam"), ("agent", "ai-tutor")} <= entities
    assert ("run", "trip-planning-2024") in entities and ("user", "bob") not in entities
    screenshot(page, tmp_path / "dashboard.png", min_height=900)

    page.click("[data-testid=entity][data-id=alex]")
    expect(page.locator("#memories-summary")).to_contain_text("user alex")
    alex = demo["memory"].get_all(user_id="alex").count
    expect(page.locator("[data-testid=memory-row]")).to_have_count(alex)
    assert "Likes to play chess" in texts(page, "[data-testid=memory-text]")

    # v2 filters, on top of the selected user.
    page.fill("#filters", '{"categories": {"contains": "likes"}}')
    page.click("#apply")
    expect(page.locator("[data-testid=memory-text]")).to_have_text(["Likes to play chess"])
    page.fill("#filters", '{"colour": "red"}')
    page.click("#apply")
    expect(page.locator("#filter-error")).to_contain_text("unknown field 'colour'")
    page.fill("#filters", "{not json")
    page.click("#apply")
    expect(page.locator("#filter-error")).to_contain_text("not valid JSON")

    # Search ranks instead of listing.
    page.fill("#filters", "")
    page.fill("#search", "chess")
    page.click("#apply")
    expect(page.locator("#filter-error")).to_be_hidden()
    expect(page.locator("#memories-summary")).to_contain_text('best matches for "chess"')
    expect(page.locator("[data-testid=memory-text]").first).to_have_text("Likes to play chess")

    # One memory's history as a timeline.
    page.click("#clear")
    page.click("[data-testid=entity][data-id=sam]")
    page.click(f"[data-testid=memory-row][data-id='{demo['updated_id']}']")
    events = page.locator("[data-testid=history-event]")
    expect(events.first).to_have_attribute("data-event", "ADD")
    assert events.count() >= 3  # ADD, the second add's UPDATE, then update()
    assert {"ADD", "UPDATE"} <= {e.get_attribute("data-event") for e in events.all()}
    expect(page.locator("#history-title")).to_contain_text("I am now a vegetarian.")
    expect(page.locator("#timeline")).to_contain_text("I am now a vegetarian.")
    history_png = screenshot(page, tmp_path / "history.png", min_height=900)
    if target := os.environ.get("MEMKIT_DASHBOARD_SCREENSHOT"):  # every view filled in
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(history_png, target)

    # The operations table narrowed to one kind.
    page.select_option("#kind-filter", "update")
    expect(page.locator("[data-testid=op-kind]")).to_have_text(["update"])
    page.select_option("#kind-filter", "")
    expect(page.locator("[data-testid=op-kind]").nth(1)).to_be_visible()


def test_markup_in_memories_renders_as_text(demo, page: Page) -> None:
    log_in(page, demo["live"].url, demo["key"])
    page.click("[data-testid=entity][data-id=mallory]")
    expect(page.locator("[data-testid=memory-text]")).to_have_text([XSS])
    assert page.locator("#memories img, #memories-body script").count() == 0
    page.click("[data-testid=memory-row]")
    expect(page.locator("#timeline")).to_contain_text(XSS)
    assert page.evaluate("window.__xss") is None


def test_live_refresh_shows_a_new_operation(demo, page: Page) -> None:
    log_in(page, demo["live"].url, demo["key"])
    before = page.locator("#updated").inner_text()
    demo["memory"].add("Joined a chess club", user_id="alex", infer=False)
    newest = demo["memory"].activity(limit=1)[0]
    row = page.locator(f"[data-testid=op-row][data-id='{newest['id']}']")
    expect(row).to_have_attribute("data-kind", "add", timeout=10_000)
    expect(row.locator("[data-testid=op-scope]")).to_have_text("user_id=alex")
    assert page.locator("#updated").inner_text() != before
    # The write refreshed the memories view too.
    expect(page.locator("[data-testid=memory-text]", has_text="Joined a chess club")).to_have_count(
        1, timeout=10_000
    )


def test_another_projects_key_sees_nothing_of_the_demo(demo, page: Page) -> None:
    url = demo["live"].url
    log_in(page, url, demo["other_key"])
    expect(page.locator("#project-id")).to_have_text("other")
    expect(page.locator("[data-testid=entity]")).to_have_count(0)
    assert "alex" not in page.locator("#ops-body").inner_text()
    assert page.locator("[data-testid=memory-row]").count() == 0
    # The JSON under the dashboard, asked from this browser, is the other project's only.
    reply = page.request.get(f"{url}/dashboard/api/entities")
    assert reply.status == 200 and reply.json()["results"] == []
    reply = page.request.get(f"{url}/dashboard/api/memories/{demo['updated_id']}/history")
    assert reply.status == 404
    assert page.request.get(f"{url}/dashboard?project_id=demo").status == 403


def test_without_the_cookie_nothing_is_shown(demo, browser: Browser) -> None:
    url = demo["live"].url
    context = browser.new_context()
    anonymous = context.new_page()
    reply = anonymous.goto(f"{url}/dashboard")
    assert reply is not None and reply.status == 401
    assert anonymous.locator("#ops-table, #memories-table").count() == 0
    for path in ("activity", "series", "entities", "memories"):
        assert anonymous.request.get(f"{url}/dashboard/api/{path}").status == 401
    anonymous.fill("#key", "mk_not_a_key")
    anonymous.click("#login-submit")
    expect(anonymous.locator("#login-message")).to_have_text("invalid API key")
    assert context.cookies() == []
    context.close()
