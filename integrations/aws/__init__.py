"""All AWS access goes through `client()`: one boto3 client per service and region, per process.

boto3 reads credentials, the default region and endpoint overrides (`AWS_ENDPOINT_URL`,
`AWS_ENDPOINT_URL_<SERVICE>`) from the environment itself; building a client is slow (tens of ms),
so each is built once and shared (boto3 clients are thread-safe).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal, overload

import boto3
from botocore.config import Config

if TYPE_CHECKING:  # the typed clients come with the development requirements only
    from botocore.client import BaseClient
    from mypy_boto3_ce import CostExplorerClient
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ecs import ECSClient
    from mypy_boto3_ssm import SSMClient

CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=15)

# The services the product talks to; a new one is added here and below, with its client type.
Service = Literal["ce", "cloudwatch", "ec2", "ecs", "ssm"]


@overload
def client(service: Literal["ce"], region: str | None = None) -> CostExplorerClient: ...
@overload
def client(service: Literal["cloudwatch"], region: str | None = None) -> CloudWatchClient: ...
@overload
def client(service: Literal["ec2"], region: str | None = None) -> EC2Client: ...
@overload
def client(service: Literal["ecs"], region: str | None = None) -> ECSClient: ...
@overload
def client(service: Literal["ssm"], region: str | None = None) -> SSMClient: ...
@functools.cache
def client(service: Service, region: str | None = None) -> BaseClient:
    return boto3.session.Session().client(service, region_name=region or None, config=CONFIG)
