"""Commands HQ sends one store, each answered once: a repeated command id gets the stored reply."""

from __future__ import annotations

import json

from edge.db import utc_now
from edge.sync.models import SyncCommand


class Commands:
    def __init__(self, app, outbox):
        self.app = app
        self.outbox = outbox
        self.handlers = {"ping": self._ping, "status": self._status, "resend_events": self._resend_events}

    def run(self, message: dict) -> dict:
        """The reply to one command: {"id", "command", "ok", "result" or "error", "at"}."""
        command_id, name = message.get("id"), message.get("command")
        if not isinstance(command_id, str) or not command_id:
            return {"id": command_id, "command": name, "ok": False, "error": "id: a command needs an id",
                    "at": utc_now()}
        with self.app.db.transaction():
            done = SyncCommand.get_or_none(SyncCommand.id == command_id)
            if done is not None:
                return json.loads(done.reply)
            handler = self.handlers.get(name)
            if handler is None:
                reply = {"ok": False, "error": f"command: unknown command {name!r} "
                                               f"(known: {', '.join(sorted(self.handlers))})"}
            else:
                try:
                    reply = {"ok": True, "result": handler(message.get("args") or {})}
                except (KeyError, TypeError, ValueError) as error:
                    reply = {"ok": False, "error": f"args: {error}"}
            reply = {"id": command_id, "command": name, **reply, "at": utc_now()}
            SyncCommand.create(id=command_id, command=str(name), reply=json.dumps(reply, ensure_ascii=False),
                               at=reply["at"])
        return reply

    def _ping(self, args: dict) -> dict:
        return {"store_id": self.app.config.store.id}

    def _status(self, args: dict) -> dict:
        return {"store_id": self.app.config.store.id, **self.outbox.figures(),
                "schema_version": self.app.db.schema_version()}

    def _resend_events(self, args: dict) -> dict:
        from_seq = int(args["from_seq"])
        if from_seq < 1:
            raise ValueError("from_seq must be 1 or more")
        return {"acked_upto": self.outbox.resend_from(from_seq)}
