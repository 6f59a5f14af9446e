"""Front-end libraries from the npm registry: pinned by version and integrity in vendor.lock.json.

`python -m kiosk_ui.vendor` (run by `make setup`) fetches each package's tarball, refuses it unless its
sha512 matches the lock file, and extracts only the files the lock lists into kiosk_ui/vendor/ (not in
git), which the web app serves at /ui/vendor/. Nothing comes from a CDN at run time, and nothing
third-party is pasted into the repository. `--check` only tells whether every file is in place.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "vendor.lock.json"
VENDOR = HERE / "vendor"
STAMP = ".installed.json"
# npm's own default; a mirror set for npm (NPM_CONFIG_REGISTRY) is used the same way
DEFAULT_REGISTRY = "https://registry.npmjs.org"


class VendorError(Exception):
    pass


def tarball_url(registry: str, name: str, version: str) -> str:
    """The registry's standard tarball address (scoped names keep their scope in the path)."""
    return f"{registry.rstrip('/')}/{name}/-/{name.rsplit('/', 1)[-1]}-{version}.tgz"


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def load_lock(path: Path = LOCK) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["packages"]


def installed(target: Path = VENDOR) -> dict:
    stamp = target / STAMP
    return json.loads(stamp.read_text(encoding="utf-8")) if stamp.exists() else {}


def missing(lock: dict, target: Path = VENDOR) -> list[str]:
    """Packages not (or not at their locked version and integrity) in place, with their files."""
    done = installed(target)
    return [name for name, entry in lock.items()
            if done.get(name) != {"version": entry["version"], "integrity": entry["integrity"]}
            or not all((target / to).is_file() for to in entry["files"].values())]


def fetch(name: str, entry: dict, registry: str, target: Path = VENDOR, timeout: float = 60) -> list[Path]:
    """Download, verify and extract one package's listed files; nothing is written unless all is well."""
    url = tarball_url(registry, name, entry["version"])
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        data = answer.read()
    got = integrity_of(data)
    if got != entry["integrity"]:
        raise VendorError(f"{name}@{entry['version']}: the tarball's integrity is {got}, "
                          f"not {entry['integrity']} as vendor.lock.json says; refusing it")
    contents = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for inside in entry["files"]:
            member = archive.getmember(inside) if inside in archive.getnames() else None
            if member is None or not member.isfile():
                raise VendorError(f"{name}@{entry['version']} has no file {inside}")
            contents[inside] = archive.extractfile(member).read()
    places = {inside: (target / to).resolve() for inside, to in entry["files"].items()}
    for inside, path in places.items():
        if target.resolve() not in path.parents:
            raise VendorError(f"{name}: {entry['files'][inside]} would land outside {target}")
    written = []
    for inside, path in places.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(path.suffix + ".part")
        partial.write_bytes(contents[inside])
        os.replace(partial, path)
        written.append(path)
    done = installed(target)
    done[name] = {"version": entry["version"], "integrity": entry["integrity"]}
    (target / STAMP).write_text(json.dumps(done, indent=2, sort_keys=True), encoding="utf-8")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kiosk_ui.vendor", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only tell whether every locked file is in place")
    parser.add_argument("--registry", default=os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY)
    parser.add_argument("--lock", type=Path, default=LOCK)
    parser.add_argument("--target", type=Path, default=VENDOR)
    args = parser.parse_args(argv)
    lock = load_lock(args.lock)
    wanted = missing(lock, args.target)
    if args.check:
        for name in wanted:
            print(f"missing: {name}@{lock[name]['version']} (run `make setup`)", file=sys.stderr)
        return 1 if wanted else 0
    for name in wanted:
        try:
            for path in fetch(name, lock[name], args.registry, args.target):
                print(f"{name}@{lock[name]['version']}: {path.relative_to(args.target.resolve())}")
        except (OSError, VendorError) as error:
            print(f"vendor: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
