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


@pytest.mark.parametrize("text", ["", "ops", "teams:C1", "discord:", "console:a b"])
def test_anything_else_is_refused_with_how_to_write_a_channel(text):
    with pytest.raises(BadChannel, match=r"^Use slack:<channel id> \(or slack:<team id>/<channel id>\), discord:"):
        parse(text)


# Discord channel webhooks: the product POSTs to them, so only Discord's own are taken.

TOKEN = "AbC-dEf_123"


@pytest.mark.parametrize(
    "url",
    [
        f"https://discord.com/api/webhooks/1122334455/{TOKEN}",
        f"https://discordapp.com/api/webhooks/1122334455/{TOKEN}",
        f"https://ptb.discord.com/api/webhooks/1122334455/{TOKEN}",
        f"https://canary.discordapp.com/api/webhooks/1122334455/{TOKEN}",
        f"https://discord.com/api/v10/webhooks/1122334455/{TOKEN}",
        f"https://DISCORD.com:443/api/webhooks/1122334455/{TOKEN}",
    ],
)
def test_discords_own_webhook_urls_are_taken(url):
    assert parse(f"discord-webhook:{url}").webhook_url == url


@pytest.mark.parametrize(
    "url",
    [
        f"http://discord.com/api/webhooks/1/{TOKEN}",  # not over TLS
        f"https://discord.com:8443/api/webhooks/1/{TOKEN}",
        f"https://evil.example/api/webhooks/1/{TOKEN}",
        f"https://discord.com.evil.example/api/webhooks/1/{TOKEN}",
        f"https://evildiscord.com/api/webhooks/1/{TOKEN}",
        f"https://discord.com@evil.example/api/webhooks/1/{TOKEN}",
        f"https://user:pw@discord.com/api/webhooks/1/{TOKEN}",
        f"http://127.0.0.1/api/webhooks/1/{TOKEN}",
        f"http://169.254.169.254/latest/meta-data/webhooks/1/{TOKEN}",
        f"http://[::1]:8080/api/webhooks/1/{TOKEN}",
        f"https://10.0.0.5/api/webhooks/1/{TOKEN}",
        "https://discord.com/api/v10/users/@me",  # Discord, but no webhook
        "https://discord.com/api/webhooks/not-a-number/x",
        f"https://discord.com/api/webhooks/1/{TOKEN}/../../users",
        f"https://discord.com/api/webhooks/1/{TOKEN}?wait=true",
        f"https://discord.com:notaport/api/webhooks/1/{TOKEN}",
        "ftp://x",
        "",
    ],
)
def test_other_hosts_internal_addresses_and_plain_http_are_refused(url):
    with pytest.raises(BadChannel, match=r"^A discord-webhook: address must be a Discord channel webhook"):
        parse(f"discord-webhook:{url}")


def test_a_webhook_on_the_discord_api_origin_the_operator_configured_is_taken(settings):
    """A proxy in front of Discord, or the tests' local Discord: the origin DISCORD_API_URL names, nothing more."""
    settings.DISCORD_API_URL = "http://127.0.0.1:8765/api/v10"

    assert parse(f"discord-webhook:http://127.0.0.1:8765/api/webhooks/77/{TOKEN}").webhook_url
    assert parse(f"discord-webhook:http://127.0.0.1:8765/webhooks/77/{TOKEN}").webhook_url
    for elsewhere in ("http://127.0.0.1:8766", "https://127.0.0.1:8765", "http://localhost:8765"):
        with pytest.raises(BadChannel):
            parse(f"discord-webhook:{elsewhere}/api/webhooks/77/{TOKEN}")
