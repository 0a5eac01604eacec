"""The example TypeScript client in clients/typescript, made the way a client team makes theirs:
its npm tools installed from the lock file, the SDK generated from a running platform's
OpenAPI, and everything compiled with `tsc --strict`."""

import hashlib
import shutil
import subprocess
from pathlib import Path

from devstack.apps import REPO_ROOT
from devstack.infra import InfrastructureMissing

CLIENT_DIR = REPO_ROOT / "clients" / "typescript"
BOOKING_SCRIPT = CLIENT_DIR / "dist" / "src" / "book_instant_slot.js"
# Written after `npm ci` succeeds: node_modules holds exactly what this digest's lock file pins.
_INSTALLED_STAMP = CLIENT_DIR / "node_modules" / ".installed-from-lock"
_NPM_TIMEOUT_SECONDS = 300


def install() -> None:
    """`npm ci`, unless node_modules was already installed from this very lock file."""
    wanted = _lock_digest()
    if _INSTALLED_STAMP.exists() and _INSTALLED_STAMP.read_text() == wanted:
        return
    _npm("ci", "--no-audit", "--no-fund")
    _INSTALLED_STAMP.write_text(wanted)


def generate(openapi_url: str) -> None:
    """The typed SDK (clients/typescript/generated) from the OpenAPI served at `openapi_url`."""
    _npm("run", "generate", "--", openapi_url)


def build() -> Path:
    """Compile the SDK and the scripts strictly; the path of the booking script to run with node."""
    _npm("run", "build")
    return BOOKING_SCRIPT


def _lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((CLIENT_DIR / name).read_bytes())
    return digest.hexdigest()


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise InfrastructureMissing("npm (Node.js 20 or newer) is needed to build the TypeScript client")
    done = subprocess.run(
        [npm, *args], cwd=CLIENT_DIR, capture_output=True, text=True, timeout=_NPM_TIMEOUT_SECONDS, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
