"""Where the browser for the browser tests is: Debian's chromium, or HUB_CHROMIUM."""

from __future__ import annotations

import os
import shutil


def chromium_executable() -> str | None:
    configured = os.environ.get("HUB_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")
