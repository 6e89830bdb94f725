"""Text people typed reaches Slack with mrkdwn's control characters escaped, so it cannot ping a channel,
mention someone or make a link: in the blocks and in the plain `text` Slack shows in notifications."""

from __future__ import annotations

import pytest

from bots.platforms.slack.blocks import acknowledgement, message
from bots.types import Button, Reply

TYPED = "<!channel> <@U0BOSS> <https://evil.example|click> <script>alert(1)</script> & more"
ESCAPED = (
    "&lt;!channel&gt; &lt;@U0BOSS&gt; &lt;https://evil.example|click&gt; "
    "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"
)


def _mrkdwn_texts(rendered: dict) -> list[str]:
    """Every text of a message Slack reads as mrkdwn: the top-level `text` and each mrkdwn object."""
    found = [rendered["text"]]

    def walk(node) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(rendered["blocks"])
    return found


@pytest.mark.parametrize("render", [message, acknowledgement])
def test_every_mrkdwn_text_is_escaped(render):
    reply = Reply(
        TYPED,
        fields=[(TYPED, TYPED)],
        links=[(TYPED, "https://ci.example.com/1")],
        buttons=[Button(TYPED, "approve", "1")],
    )

    texts = _mrkdwn_texts(render(reply))

    assert len(texts) == 4  # the text, its section, the field and the links
    for text in texts:
        assert "<!channel>" not in text and "<@U0BOSS>" not in text and "<script>" not in text
        assert "<https://evil.example" not in text and " & " not in text
        assert ESCAPED in text
    assert texts[-1].startswith("<https://ci.example.com/1|")  # our own link is still a link


def test_a_lock_reason_typed_in_slack_comes_back_escaped(slack):
    answer = slack.command("/lock web-app dev <!channel> & <!here>", user="bob").json()

    for text in _mrkdwn_texts(answer):
        assert "<!channel>" not in text and "<!here>" not in text
    assert "&lt;!channel&gt; &amp; &lt;!here&gt;" in answer["text"]
