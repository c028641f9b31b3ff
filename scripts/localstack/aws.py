"""boto3 clients for MiniStack: loopback endpoint only, fake credentials, bounded retries."""

from __future__ import annotations

import boto3
from botocore.config import Config

from .settings import CREDENTIALS, LOCAL, REGION

# Short timeouts: everything is on 127.0.0.1, and a hung emulator must surface as an error.
_CONFIG = Config(
    connect_timeout=5,
    read_timeout=60,
    retries={"max_attempts": 3, "mode": "standard"},
    s3={"addressing_style": "path"},
    max_pool_connections=32,
)


def client(service: str, endpoint: str | None = None):
    return boto3.session.Session().client(
        service,
        endpoint_url=endpoint or LOCAL.endpoint,
        region_name=REGION,
        config=_CONFIG,
        **CREDENTIALS,
    )
