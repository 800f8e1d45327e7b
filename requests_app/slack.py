"""The only module that speaks HTTP to Slack: one POST of a message to a team's incoming
webhook, with timeouts and no redirects. Its errors never carry the webhook's address, which
is a secret (whoever has it can post to the channel)."""

from __future__ import annotations

import requests

CONNECT_SECONDS = 5
READ_SECONDS = 10


class NotDelivered(Exception):
    """Slack could not be reached or did not take the message; `str()` is safe to record."""


def post(webhook: str, text: str) -> None:
    """Post `text` (Slack's mrkdwn, already escaped) to the webhook; NotDelivered unless Slack
    answers 200."""
    try:
        answer = requests.post(
            webhook,
            json={"text": text},
            timeout=(CONNECT_SECONDS, READ_SECONDS),
            allow_redirects=False,
        )
    except requests.RequestException as error:  # its message would name the address
        raise NotDelivered(f"Slack could not be reached: {type(error).__name__}") from None
    if answer.status_code != 200:
        raise NotDelivered(f"Slack answered {answer.status_code}.")
