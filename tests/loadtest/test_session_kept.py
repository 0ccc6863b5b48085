"""An instant login whose authorize gets no usable answer: the browser keeps its session
through overload (429, 5xx, no answer) and signs in again only when the session is gone."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from homeroom.loadtest.checks import CheckFailed
from homeroom.loadtest.results import Results
from homeroom.loadtest.scenarios import Browser, Flow, Reply, Target, instant_login

URL = "http://127.0.0.1:9"
CB = "http://127.0.0.1:9/loadtest/callback"


class OneAnswer:
    """Answers every request with the same reply, and records what was asked."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.asked: list[str] = []

    def request(
        self,
        method: str,
        url: str,
        *,
        name: str,
        headers: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
    ) -> Reply:
        self.asked.append(name)
        return self.reply

    def clear_cookies(self) -> None:
        self.asked.append("clear_cookies")


def _signed_in_browser(reply: Reply) -> tuple[Browser, OneAnswer]:
    http = OneAnswer(reply)
    target = Target(
        url=URL,
        issuer=URL,
        authorization_endpoint=URL + "/authorize",
        token_endpoint=URL + "/token",
        client_id="app",
        redirect_uri=CB,
        users=1,
    )
    return Browser(http, target, 0, signed_in=True), http


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (Reply(0, {}, b"", error="connection"), "connection"),
        (Reply(429, {"Retry-After": "2"}, b""), "authorize_http_429"),
        (Reply(503, {"Retry-After": "2"}, b""), "authorize_http_503"),
        (Reply(500, {}, b""), "authorize_http_500"),
    ],
)
def test_an_overloaded_server_does_not_end_the_session(reply: Reply, kind: str) -> None:
    browser, http = _signed_in_browser(reply)
    with pytest.raises(CheckFailed) as failed:
        instant_login(browser, Flow(Results(start_at=0.0), "instant_login", 0.0))
    assert failed.value.kind == kind
    assert browser.signed_in  # the next flow clicks the app again, no password
    assert http.asked == ["authorize"]


@pytest.mark.parametrize(
    "reply",
    [
        Reply(302, {"Location": URL + "/login?district=x"}, b""),  # the session is gone
        Reply(200, {}, b"<form>consent</form>"),  # a page to act on
        Reply(400, {}, b""),
    ],
)
def test_an_answer_that_needs_the_user_signs_in_again_next_time(reply: Reply) -> None:
    browser, _ = _signed_in_browser(reply)
    with pytest.raises(CheckFailed):
        instant_login(browser, Flow(Results(start_at=0.0), "instant_login", 0.0))
    assert not browser.signed_in
