# The browser fixtures (tests/e2e/browser.py) for every page test under tests/web/.
from tests.e2e.browser import _asgi_server_session, _close_pages, asgi_server, browser  # noqa: F401
