"""The status a traffic-log line records: 101 for an accepted WebSocket, else the reply's."""

from __future__ import annotations

import falcon
import falcon.testing

from handlers.app import logged_status


def _request(**env: object) -> falcon.Request:
    environ = falcon.testing.create_environ(path="/api/subscribe")
    environ.update(env)
    return falcon.Request(environ)


def test_an_accepted_websocket_is_recorded_as_switching_protocols() -> None:
    resp = falcon.Response()  # left at 200: Falcon's reply is never sent after the upgrade
    assert logged_status(_request(**{"wsgi.websocket": object()}), resp) == "101 Switching Protocols"


def test_a_plain_request_keeps_its_reply_status() -> None:
    resp = falcon.Response()
    resp.status = falcon.HTTP_408
    assert logged_status(_request(), resp) == "408 Request Timeout"


def test_a_refused_upgrade_keeps_its_reply_status() -> None:
    resp = falcon.Response()
    resp.status = falcon.HTTP_400
    assert logged_status(_request(**{"streams.websocket.accept": lambda: None}), resp) == "400 Bad Request"
