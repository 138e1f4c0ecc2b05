"""Where and from what a run was made: host, user and the git revision, when there is one."""

from __future__ import annotations

import getpass
import socket
import subprocess

from otel_sqlite.conventions import HOST_NAME, USER_NAME, VCS_REF_HEAD_NAME, VCS_REF_HEAD_REVISION


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, timeout=2, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def run_attributes() -> dict[str, str]:
    """Provenance attributes for a run span; anything that cannot be found is left out."""
    found: dict[str, str | None] = {HOST_NAME: socket.gethostname()}
    try:
        found[USER_NAME] = getpass.getuser()
    except (KeyError, OSError):
        pass
    found[VCS_REF_HEAD_REVISION] = _git("rev-parse", "HEAD")
    found[VCS_REF_HEAD_NAME] = _git("rev-parse", "--abbrev-ref", "HEAD")
    return {key: value for key, value in found.items() if value}
