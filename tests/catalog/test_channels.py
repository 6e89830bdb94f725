"""Channel addresses: read once into what the platforms need, written back exactly as stored."""

from __future__ import annotations

import pytest

from chatops_site.catalog.channels import BadChannel, ChannelAddress, parse


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("slack:C0456", ChannelAddress("slack", "C0456")),
        ("slack:T0123/C0456", ChannelAddress("slack", "C0456", workspace="T0123")),
        ("discord:1122", ChannelAddress("discord", "1122")),
        (
            "discord-webhook:https://discord.com/api/webhooks/77/x",
            ChannelAddress("discord", webhook_url="https://discord.com/api/webhooks/77/x"),
        ),
        ("console:ops", ChannelAddress("console", "ops")),
    ],
)
def test_each_kind_of_channel_is_read_into_its_parts_and_written_back_as_it_was(text, address):
    assert parse(text) == address
    assert str(address) == text


@pytest.mark.parametrize("text", ["", "ops", "teams:C1", "discord:", "discord-webhook:ftp://x", "console:a b"])
def test_anything_else_is_refused_with_how_to_write_a_channel(text):
    with pytest.raises(BadChannel, match=r"^Use slack:<channel id> \(or slack:<team id>/<channel id>\), discord:"):
        parse(text)
