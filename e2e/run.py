"""`make e2e`: the web app's journeys in a real browser against `make run`'s stack, twice:
with the app served by the API (/app), and from another origin (a plain static server on a
port of its own, the API allowing it through CORS_ORIGINS). The stack keeps its data in
.data-e2e, apart from `make run`'s; uploads are capped at 1 MB and exports over 24 kB go to a
worker, so the journeys see both answers. With --screenshots (`make screenshots`),
the first run photographs each page into docs/screenshots.

Needs Debian's Chromium (`apt-get install chromium`; CHROMIUM names another binary) and npm.
"""

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from scripts.stack import free_port, start_in_background, stop_in_background

ROOT = Path(__file__).resolve().parent.parent
E2E = ROOT / "e2e"
WEB_APP = ROOT / "web" / "app"


SCREENSHOTS = ROOT / "docs" / "screenshots"
STACK = {
    "CHATSIGHT_DATA_DIR": str(ROOT / ".data-e2e"),
    "MAX_UPLOAD_MB": "1",
    "IMPORT_INLINE_MAX_BYTES": "24000",
}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """The other origin's static server, without a log line per file."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def journeys(app_url: str, api_url: str, screenshots: Path | None = None) -> int:
    print(f"journeys at {app_url}", flush=True)
    env = {**os.environ, "APP_URL": app_url, "API_URL": api_url}
    if screenshots:
        env["SCREENSHOTS"] = str(screenshots)
    return subprocess.run(
        ["node", "--test", "--test-concurrency=1", "journeys.test.mjs"],
        cwd=E2E,
        env=env,
        check=False,
    ).returncode


def main() -> int:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists() or shutil.which("npm") is None:
        sys.exit(f"make e2e needs Chromium ({chromium}: apt-get install chromium) and npm")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--silent"], cwd=E2E, check=True)

    web_port, api_port = free_port(), free_port()
    other_origin = f"http://127.0.0.1:{web_port}"
    handler = functools.partial(QuietHandler, directory=str(WEB_APP))
    static = http.server.ThreadingHTTPServer(("127.0.0.1", web_port), handler)
    threading.Thread(target=static.serve_forever, daemon=True).start()
    stack = start_in_background(api_port, {**STACK, "CORS_ORIGINS": other_origin}, log_name="e2e")
    api_url = f"http://127.0.0.1:{api_port}"
    try:
        photos = SCREENSHOTS if "--screenshots" in sys.argv else None
        same_origin = journeys(f"{api_url}/app/", api_url, photos)
        cross_origin = journeys(f"{other_origin}/index.html?api={api_url}", api_url)
    finally:
        stop_in_background(stack)
        static.shutdown()
    return same_origin or cross_origin


if __name__ == "__main__":
    sys.exit(main())
