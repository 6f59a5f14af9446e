"""The gateway's token: from the config ([gateway] token), else one made on first use and kept in the data
folder (mode 0600), which web and gateway on the same box both read: a demo box needs no secret written."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TOKEN_FILE = "gateway.token"


def gateway_token(store) -> str:
    configured = store.config.gateway.token
    if configured:
        return configured
    path = Path(store.data_dir) / TOKEN_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(token)
    return token
