"""The screens: static HTML, CSS and JavaScript that the web app serves (no build step, nothing fetched from a CDN).

/pos is the cashier tablet; each screen is a folder here, and shared/ holds what the screens have in common
(the API client, the translation catalogue, the style sheet), served at /ui/shared/.
"""

from __future__ import annotations

from pathlib import Path

from flask import send_from_directory

HERE = Path(__file__).resolve().parent
SCREENS = ("pos", "admin")


def attach(flask_app) -> None:
    """Serve every screen at /<screen> and its files at /<screen>/<file>, the shared files at /ui/shared/<file>."""
    for screen in SCREENS:
        folder = HERE / screen
        flask_app.add_url_rule(f"/{screen}", f"screen {screen}", _sender(folder, "index.html"))
        flask_app.add_url_rule(f"/{screen}/", f"screen {screen}/", _sender(folder, "index.html"))
        flask_app.add_url_rule(f"/{screen}/<path:name>", f"screen {screen} file", _files(folder))
    flask_app.add_url_rule("/ui/shared/<path:name>", "screens shared", _files(HERE / "shared"))


def _sender(folder: Path, name: str):
    return lambda: _send(folder, name)


def _files(folder: Path):
    return lambda name: _send(folder, name)


def _send(folder: Path, name: str):
    # no-cache: a tablet revalidates after an upgrade instead of running yesterday's script
    response = send_from_directory(folder, name, max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
