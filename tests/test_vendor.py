"""Front-end libraries from the npm registry: fetched by name and pinned version, refused unless the tarball's
sha512 matches the lock file, only the listed files extracted, and served at /ui/vendor/. A registry of our own
on 127.0.0.1 stands in for the real one."""

from __future__ import annotations

import http.server
import io
import json
import tarfile
import threading

import pytest

from kiosk_ui.vendor import VendorError, fetch, installed, integrity_of, load_lock, main, missing

SCRIPT = b"window.Tiny = {};\n"


def tarball(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture
def registry():
    """An npm-style registry on loopback serving tiny-chart 1.0.0 at the standard tarball path."""
    served = {"/tiny-chart/-/tiny-chart-1.0.0.tgz": tarball({"package/dist/tiny.js": SCRIPT,
                                                              "package/LICENSE": b"MIT"})}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = served.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()


def entry(served, **change) -> dict:
    return {"version": "1.0.0", "integrity": integrity_of(served["/tiny-chart/-/tiny-chart-1.0.0.tgz"]),
            "files": {"package/dist/tiny.js": "tiny-chart/tiny.js"}, **change}


def test_a_verified_package_puts_only_its_listed_files_in_place(registry, tmp_path):
    url, served = registry
    locked = entry(served)
    assert missing({"tiny-chart": locked}, tmp_path) == ["tiny-chart"]
    fetch("tiny-chart", locked, url, tmp_path)
    assert (tmp_path / "tiny-chart" / "tiny.js").read_bytes() == SCRIPT
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [".installed.json", "tiny.js"]
    assert installed(tmp_path) == {"tiny-chart": {"version": "1.0.0", "integrity": locked["integrity"]}}
    assert missing({"tiny-chart": locked}, tmp_path) == []


@pytest.mark.parametrize("change, reason", [
    ({"integrity": "sha512-" + "A" * 86 + "=="}, "integrity"),
    ({"files": {"package/dist/absent.js": "tiny-chart/absent.js"}}, "no file"),
    ({"files": {"package/dist/tiny.js": "../escaped.js"}}, "outside"),
])
def test_a_tarball_that_does_not_match_the_lock_is_refused_and_writes_nothing(registry, tmp_path, change, reason):
    url, served = registry
    target = tmp_path / "vendor"
    with pytest.raises(VendorError, match=reason):
        fetch("tiny-chart", entry(served, **change), url, target)
    assert not any(tmp_path.rglob("*.js")) and installed(target) == {}


def test_the_command_fetches_what_is_missing_and_check_tells(registry, tmp_path, capsys):
    url, served = registry
    lock = tmp_path / "vendor.lock.json"
    lock.write_text(json.dumps({"packages": {"tiny-chart": entry(served)}}))
    target = tmp_path / "vendor"
    options = ["--lock", str(lock), "--target", str(target), "--registry", url]
    assert main([*options, "--check"]) == 1
    assert "tiny-chart@1.0.0" in capsys.readouterr().err
    assert main(options) == 0
    assert main([*options, "--check"]) == 0


def test_the_lock_pins_chart_js_and_the_web_app_serves_it(flask_app):
    lock = load_lock()
    assert lock["chart.js"]["integrity"].startswith("sha512-")
    assert not missing(lock), "run `make setup`: it fetches the locked front-end files"
    answer = flask_app.test_client().get("/ui/vendor/chart.js/chart.umd.min.js")
    assert answer.status_code == 200 and b"Chart" in answer.data
    answer.close()
