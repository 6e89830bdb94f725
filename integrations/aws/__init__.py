"""All AWS access goes through `client()`: one boto3 client per service and region, per process.

boto3 reads credentials, the default region and endpoint overrides (`AWS_ENDPOINT_URL`,
`AWS_ENDPOINT_URL_<SERVICE>`) from the environment itself; building a client is slow (tens of ms),
so each is built once and shared (boto3 clients are thread-safe).
"""

from __future__ import annotations

import functools

import boto3
from botocore.config import Config

CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=15)


@functools.cache
def client(service: str, region: str | None = None):
    return boto3.session.Session().client(service, region_name=region or None, config=CONFIG)
