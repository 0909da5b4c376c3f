"""Real-browser page tests: Debian's Chromium driven by Playwright against the application
served from this test process.

- `asgi_server` (fixture): the real ASGI application (HTTP, static files and the signalling
  WebSocket) served by uvicorn in a thread, against the test database. Tests create their
  data with the factories and see the pages exactly as a person would.
- `browser` (fixture): one headless Chromium per test module; `new_page(browser, viewport)`
  opens a fresh context (no shared cookies) at desktop or phone width.
- `log_in(page, base_url, phone, password)`: the real login form.
- `screenshot(page, name)`: saved as a test artefact under tests/e2e/artifacts/ (ignored by
  git), `<name>-<viewport>.png`.
- `assert_accessible(page)`: axe-core (vendored under tests/e2e/vendor/) run in the page;
  fails on any serious or critical violation, naming the rule and the elements.
- `smallest_text_px(page)`: the smallest computed font size of visible text (elder mode).

Mark every test using these `slow` and `django_db(transaction=True)`: the server thread
reads the database through its own connection, so the test's data must be committed.
"""

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from tests.factories import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = Path(os.environ.get("E2E_ARTEFACTS", ROOT / "tests" / "e2e" / "artifacts"))
AXE = ROOT / "tests" / "e2e" / "vendor" / "axe-4.14.1.min.js"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def _playwright_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return False
    return True


needs_browser = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"Chromium not installed at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.skipif(not _playwright_available(), reason="playwright or uvicorn is not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self):
        import uvicorn
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from cloudhospital.asgi import application

        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(ASGIStaticFilesHandler(application), host="127.0.0.1", port=self.port,
                                log_level="warning", lifespan="off", ws="websockets-sansio")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self):
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test ASGI server did not start")
            time.sleep(0.05)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def _asgi_server_session(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        server = _Server()
        server.start()
        yield server
        server.stop()


@pytest.fixture
def asgi_server(_asgi_server_session, transactional_db, settings):
    """The base URL of the application served to the browser, with this test's data."""
    settings.DEBUG = False  # pages as in production; static files come from the handler
    return _asgi_server_session.url


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Playwright's sync API keeps an event loop running in
    this thread while it is started, and Django refuses synchronous ORM calls (the test's
    own, the database flush after it) under a running loop unless DJANGO_ALLOW_ASYNC_UNSAFE
    is set: set for the module's life only, so no later test or subprocess (manage.py check
    --deploy refuses it) inherits it."""
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield from _chromium(sync_playwright)
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _chromium(sync_playwright):
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _close_pages(request):
    """Close every page a test opened when it ends: a page left open keeps polling the server
    (as the next test's load) with a session whose user no longer exists."""
    yield
    if "browser" in request.fixturenames:
        for context in request.getfixturevalue("browser").contexts:
            context.close()


def new_page(browser, viewport: dict = DESKTOP, *, locale: str = "zh-CN"):
    """A page in a fresh context (its own cookies) at the given width; Chinese by default,
    as a person in Ningbo would have it."""
    context = browser.new_context(viewport=viewport, locale=locale, device_scale_factor=1,
                                  is_mobile=viewport["width"] < 600, has_touch=viewport["width"] < 600)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.viewport_name = "phone" if viewport["width"] < 600 else "desktop"
    return page


def log_in(page, base_url: str, phone: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", phone)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit], form button").last.click()
    page.wait_for_load_state()


def screenshot(page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}-{getattr(page, 'viewport_name', 'page')}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def assert_accessible(page, *, impacts=("serious", "critical")) -> None:
    """No axe-core violation of the given impacts on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v.get("impact") in impacts]
    assert not bad, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] if isinstance(n["target"][0], str) else str(n["target"]) for n in v["nodes"][:5])
        for v in bad
    )


def smallest_text_px(page) -> float:
    """The smallest computed font size among elements that show text on the page."""
    return page.evaluate("""() => {
        let smallest = Infinity;
        for (const el of document.body.querySelectorAll('*')) {
            const style = getComputedStyle(el);
            if (style.display === 'none' || style.visibility === 'hidden') continue;
            const ownText = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
            if (!ownText || !el.getClientRects().length) continue;
            smallest = Math.min(smallest, parseFloat(style.fontSize));
        }
        return smallest;
    }""")
