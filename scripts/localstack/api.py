"""A client of the local stack's `POST /events`, for `scripts/local up`, the tests and the benchmark."""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from .settings import LOCAL

REQUEST_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict


@dataclass(frozen=True)
class Api:
    url: str
    key: str

    @classmethod
    def from_env_file(cls) -> "Api":
        env = LOCAL.read_env()
        if "API_URL" not in env:
            raise RuntimeError(f"no API_URL in {LOCAL.env_file}: run scripts/local up")
        return cls(env["API_URL"], env.get("API_KEY", ""))

    def post(self, body: bytes, content_type: str = "application/json", *, gzipped: bool = False) -> Answer:
        headers = {"content-type": content_type}
        if gzipped:
            body, headers["content-encoding"] = gzip.compress(body), "gzip"
        if self.key:
            headers["x-api-key"] = self.key
        request = urllib.request.Request(self.url, data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
                return Answer(response.status, _json(response.read()))
        except urllib.error.HTTPError as error:
            return Answer(error.code, _json(error.read()))

    def post_events(self, events: list[dict], *, ndjson: bool = False, gzipped: bool = False) -> Answer:
        if ndjson:
            body, content_type = "".join(json.dumps(e) + "\n" for e in events).encode(), "application/x-ndjson"
        else:
            body, content_type = json.dumps(events).encode(), "application/json"
        return self.post(body, content_type, gzipped=gzipped)


def _json(body: bytes) -> dict:
    """The answer's JSON; an emulator's own error page is kept as text."""
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return {"text": body.decode(errors="replace")}
