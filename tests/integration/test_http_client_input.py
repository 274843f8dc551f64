"""The ``http_client`` input against a real HTTP server on loopback (gevent's WSGI server in the
test): polling with metadata and pagination, Bento's retries and statuses, a rate limit, a POST
payload, streaming lines, CSV rows and XML documents, and writes retried until the output takes
them."""

from __future__ import annotations

import gzip
import json
import ssl
from typing import Any

import gevent.event
import pytest

from streams.brokers.embedded import EmbeddedBroker
from streams.connectors.http_status import RetryPauses, StatusPolicy, Verdict
from streams.contracts import ConfigError
from streams.engine.components import BUILDER
from streams.engine.logs import StreamLog
from streams.engine.resources import Resources
from streams.engine.services import WorkerServices
from streams.engine.testing import Gateways, make_settings, read_topic, wait_until
from streams.httpclient import digest
from streams.inputs.http_client import HttpClientInput
from streams.scanners import catalog as scanners
from tests.http_auth_server import AuthServer, Seen, digest_valid
from tests.tls_certs import Certificates
from tests.webhook import Endpoint, Hook, Reply


def values(broker: EmbeddedBroker, topic: str) -> list[Any]:
    return [json.loads(r.value) for r in read_topic(broker, topic)]


def paged(n: int, environ: dict[str, Any]) -> Reply:
    """Pages 0..4 then empty bodies; each page names the next cursor in a header."""
    if n >= 5:
        return "200 OK", [], [b""]
    return "200 OK", [("X-Next", f"c{n + 1}"), ("Content-Type", "application/json")], [json.dumps({"n": n}).encode()]


def test_polling_pages_through_with_metadata_and_interpolated_url(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker
) -> None:
    endpoint = Endpoint(paged)
    stream = {
        "input": {
            "http_client": {
                "url": endpoint.url + '/items?cursor=${! meta("x-next").or("start") }',
                "extract_headers": {"include_prefixes": ["x-"]},
            }
        },
        "pipeline": {"processors": [{"mapping": 'root = this.merge({"status": @http_status_code, "next": meta("x-next")})'}]},
        "output": {"kafka": {"topic": "pages"}},
    }
    gateways(tmp_path, {"h": stream})
    wait_until(lambda: len(values(broker, "pages")) >= 5, "five pages")
    assert values(broker, "pages") == [{"n": n, "status": 200, "next": f"c{n + 1}"} for n in range(5)]
    wait_until(lambda: len(endpoint.requests) >= 6, "the request after the last page")
    cursors = [query for _, _, query, _ in endpoint.requests[:6]]
    assert cursors == ["cursor=start", "cursor=c1", "cursor=c2", "cursor=c3", "cursor=c4", "cursor=c5"]
    endpoint.server.stop()


def test_failed_statuses_are_retried_as_bento_does_and_a_payload_is_posted(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker
) -> None:
    def flaky(n: int, environ: dict[str, Any]) -> Reply:
        if n in (0, 1):
            return "503 Service Unavailable", [], [b"busy"]
        if n == 2:
            return "200 OK", [], [b'{"ok":true}']
        return "404 Not Found", [], [b""]  # in drop_on: no retries, the input pauses retry_period

    endpoint = Endpoint(flaky)
    stream = {
        "input": {
            "http_client": {
                "url": endpoint.url + "/job",
                "verb": "POST",
                "payload": '{"want":"job"}',
                "retries": 2,
                "retry_period": "20ms",
                "drop_on": [404],
            }
        },
        "output": {"kafka": {"topic": "jobs"}},
    }
    gateways(tmp_path, {"h": stream})
    wait_until(lambda: values(broker, "jobs"), "the job")
    wait_until(lambda: len(endpoint.requests) >= 5, "two requests after the job")
    assert values(broker, "jobs") == [{"ok": True}]
    assert [(m, body) for m, _, _, body in endpoint.requests[:3]] == [("POST", b'{"want":"job"}')] * 3
    endpoint.server.stop()


def test_a_rate_limit_spaces_the_requests(tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker) -> None:
    endpoint = Endpoint(lambda n, _: ("200 OK", [], [json.dumps({"n": n}).encode()]))
    stream = {
        "input": {"http_client": {"url": endpoint.url, "rate_limit": "slow"}},
        "rate_limit_resources": [{"label": "slow", "local": {"count": 2, "interval": "1h"}}],
        "output": {"kafka": {"topic": "limited"}},
    }
    gateways(tmp_path, {"h": stream})
    wait_until(lambda: len(values(broker, "limited")) >= 2, "two messages")
    gateways.made[0].drain(5.0)
    assert len(endpoint.requests) == 2  # the window of an hour allows two, and no third came
    endpoint.server.stop()


def test_streaming_splits_the_body_into_lines_and_ends_without_reconnect(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker
) -> None:
    endpoint = Endpoint(lambda n, _: ("200 OK", [], [b'{"a":1}\n{"a":2}\r\n', b"\n", b'{"a":', b"3}"]))
    stream = {
        "input": {"http_client": {"url": endpoint.url, "stream": {"enabled": True, "reconnect": False}}},
        "output": {"kafka": {"topic": "lines"}},
    }
    gateways(tmp_path, {"h": stream})
    wait_until(lambda: len(values(broker, "lines")) >= 3, "three lines")
    gateways.made[0].drain(5.0)
    assert values(broker, "lines") == [{"a": 1}, {"a": 2}, {"a": 3}]  # the empty line dropped
    assert len(endpoint.requests) == 1
    endpoint.server.stop()


def test_a_csv_scanner_turns_a_streamed_body_into_row_objects(tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker) -> None:
    endpoint = Endpoint(lambda n, _: ("200 OK", [], [b"id,name\n1,al", b'ice\n2,"b\nob"\n']))
    stream = {
        "input": {
            "http_client": {
                "url": endpoint.url + "/people.csv",
                "stream": {"enabled": True, "reconnect": False, "scanner": {"csv": {}}},
            }
        },
        "pipeline": {"processors": [{"mapping": 'root = this.merge({"row": @csv_row})'}]},
        "output": {"kafka": {"topic": "rows"}},
    }
    gateways(tmp_path, {"h": stream})
    wait_until(lambda: len(values(broker, "rows")) >= 2, "two rows")
    gateways.made[0].drain(5.0)
    assert values(broker, "rows") == [{"id": "1", "name": "alice", "row": 0}, {"id": "2", "name": "b\nob", "row": 1}]
    endpoint.server.stop()


def test_an_xml_documents_scanner_turns_a_streamed_body_into_a_message_per_document(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker
) -> None:
    # Documents split across the body's chunks, with text and a comment between them.
    body = [
        b'<?xml version="1.0"?>\n<item id="1"><name>al',
        b"ice</name></item>\n<!-- next -->junk<item id=2>",
        b"<name>bob</name><tag>a</tag><tag>b</tag></item>\n",
    ]
    endpoint = Endpoint(lambda n, _: ("200 OK", [], body))
    stream = {
        "input": {
            "http_client": {
                "url": endpoint.url + "/items.xml",
                "stream": {"enabled": True, "reconnect": False, "scanner": {"xml_documents": {"operator": "to_json"}}},
            }
        },
        "output": {"kafka": {"topic": "items"}},
    }
    gateways(tmp_path, {"x": stream})
    wait_until(lambda: len(values(broker, "items")) >= 2, "two documents")
    gateways.made[0].drain(5.0)
    assert values(broker, "items") == [
        {"item": {"-id": "1", "name": "alice"}},
        {"item": {"-id": "2", "name": "bob", "tag": ["a", "b"]}},
    ]
    endpoint.server.stop()


def test_a_switch_scanner_picks_by_the_url_path_and_decompresses_json_documents(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker
) -> None:
    packed = gzip.compress(b'{"a":1} {"a":2}\n[3]')
    endpoint = Endpoint(lambda n, _: ("200 OK", [], [packed[:9], packed[9:]]))
    scanner = {
        "switch": [
            {"re_match_name": r"\.csv$", "scanner": {"csv": {}}},
            {"re_match_name": r"\.json\.gz$", "scanner": {"decompress": {"algorithm": "gzip", "into": {"json_documents": {}}}}},
            {"scanner": {"to_the_end": {}}},
        ]
    }
    stream = {
        "input": {
            "http_client": {
                "url": endpoint.url + "/dump/docs.json.gz",
                "stream": {"enabled": True, "reconnect": False, "scanner": scanner},
            }
        },
        "output": {"kafka": {"topic": "docs"}},
    }
    gateways(tmp_path, {"h": stream})
    wait_until(lambda: len(values(broker, "docs")) >= 3, "three documents")
    gateways.made[0].drain(5.0)
    assert values(broker, "docs") == [{"a": 1}, {"a": 2}, [3]]
    endpoint.server.stop()


def test_a_body_the_scanner_cannot_read_ends_that_request_and_the_next_one_is_made(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker
) -> None:
    bodies = [b'{"n":0} {"n":', b'{"n":1} nope {"n":2}']
    endpoint = Endpoint(lambda n, _: ("200 OK", [], [bodies[0], b"1}"] if n == 0 else [bodies[1]]))
    stream = {
        "input": {
            "http_client": {
                "url": endpoint.url,
                "retry_period": "10ms",
                "stream": {"enabled": True, "scanner": {"json_documents": {}}},
            }
        },
        "output": {"kafka": {"topic": "docs"}},
    }
    gateways(tmp_path, {"h": stream})
    wait_until(lambda: len(values(broker, "docs")) >= 4, "documents of three requests")
    gateways.made[0].drain(5.0)
    got = values(broker, "docs")
    assert got[:4] == [{"n": 0}, {"n": 1}, {"n": 1}, {"n": 1}]  # the second body stops at "nope" each time
    assert {"n": 2} not in got
    endpoint.server.stop()


def test_a_deprecated_codec_still_splits_and_wins_over_the_scanner(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker
) -> None:
    endpoint = Endpoint(lambda n, _: ("200 OK", [], [b'{"a":1}|{"a"', b":2}|"]))
    stream = {
        "input": {
            "http_client": {
                "url": endpoint.url,
                "stream": {"enabled": True, "reconnect": False, "codec": "delim:|", "scanner": {"to_the_end": {}}},
            }
        },
        "output": {"kafka": {"topic": "parts"}},
    }
    gateways(tmp_path, {"h": stream})
    wait_until(lambda: len(values(broker, "parts")) >= 2, "two parts")
    gateways.made[0].drain(5.0)
    assert values(broker, "parts") == [{"a": 1}, {"a": 2}]
    endpoint.server.stop()


def test_a_failed_write_is_retried_until_the_output_takes_it(tmp_path: Any, gateways: Gateways) -> None:
    endpoint = Endpoint(lambda n, _: ("200 OK", [], [b'{"only":1}' if n == 0 else b""]))
    hook = Hook()
    try:
        stream = {
            "input": {"http_client": {"url": endpoint.url, "rate_limit": "tick"}},
            "rate_limit_resources": [{"label": "tick", "local": {"count": 20, "interval": "1s"}}],
            "output": {"http_client": {"url": hook.url, "retries": 0}},
        }
        gateways(tmp_path, {"h": stream})
        wait_until(lambda: hook.refused >= 2, "two refused writes")
        hook.failing = False
        wait_until(lambda: hook.accepted, "the write")
        assert [json.loads(b) for b in hook.accepted] == [{"only": 1}]
    finally:
        hook.stop()
        endpoint.server.stop()


def test_oauth2_and_digest_over_mutual_tls_from_a_stream_definition(
    tmp_path: Any, gateways: Gateways, broker: EmbeddedBroker, tls_certificates: Certificates
) -> None:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tls_certificates.server_cert), str(tls_certificates.server_key))
    ctx.load_verify_locations(str(tls_certificates.ca))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ch = digest.Challenge("feed", "n1", "MD5", "auth", "o1")
    token = AuthServer(context=ctx).start()
    feed = AuthServer(context=ctx, digest=ch).start()
    feed.check = lambda seen: digest_valid(seen, ch, "pw")

    def bearer_echo(seen: Seen, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps({"auth": seen.headers.get("authorization", "")}).encode()]

    feed.routes["/bearer"] = bearer_echo
    tls = {
        "enabled": True,
        "root_cas_file": str(tls_certificates.ca),
        "client_certs": [{"cert_file": str(tls_certificates.client_cert), "key_file": str(tls_certificates.client_key)}],
    }
    oauth2 = {"enabled": True, "client_key": "key", "client_secret": "secret", "token_url": token.url("/token")}
    bearer = {
        "input": {"http_client": {"url": feed.url("/bearer"), "tls": tls, "oauth2": oauth2}},
        "output": {"kafka": {"topic": "bearer"}},
    }
    digested = {
        "input": {
            "http_client": {
                "url": feed.url("/feed"),
                "verb": "POST",
                "payload": '{"n":1}',
                "tls": tls,
                "digest_auth": {"enabled": True, "username": "u", "password": "pw"},
            }
        },
        "output": {"kafka": {"topic": "digested"}},
    }
    gateways(tmp_path, {"b": bearer, "d": digested})
    try:
        wait_until(lambda: len(values(broker, "bearer")) >= 3 and len(values(broker, "digested")) >= 3, "three of each")
        assert values(broker, "bearer")[:3] == [{"auth": "Bearer token-1"}] * 3 and token.token.issued == 1
        assert values(broker, "digested")[:3] == [{"N": 1}] * 3
        fed = [s.headers.get("authorization", "") for s in feed.requests if s.path == "/feed"]
        assert fed[0] == "" and all(a.startswith("Digest ") for a in fed[1:])  # only the first was challenged
    finally:
        gateways.made[0].drain(5.0)
        token.stop()
        feed.stop()


def built_input(tmp_path: Any, **conf: Any) -> HttpClientInput:
    settings = make_settings(str(tmp_path))
    res = Resources(settings, "api", "s", "streams.s", WorkerServices(settings, StreamLog()), BUILDER)
    _, inp, _ = BUILDER.input({"http_client": conf}, res, "streams.s.input")
    assert isinstance(inp, HttpClientInput)
    return inp


@pytest.mark.parametrize(("transport", "connections"), [({}, 1), ({"idle_connection_timeout": "1ns"}, 2)])
def test_transport_idle_connection_timeout_closes_a_connection_idle_for_longer(
    tmp_path: Any, transport: dict[str, Any], connections: int
) -> None:
    """Two polls share one kept connection, unless it stayed idle longer than the timeout."""
    ports: list[int] = []

    def answer(n: int, environ: dict[str, Any]) -> Reply:
        ports.append(int(environ["REMOTE_PORT"]))
        return "200 OK", [("Content-Length", "1")], [b"x"]

    endpoint = Endpoint(answer)
    inp = built_input(tmp_path, url=endpoint.url + "/poll", transport=transport)
    try:
        for _ in range(2):
            resp = inp.request(gevent.event.Event())
            assert resp is not None and resp.content == b"x"
            resp.close()
    finally:
        inp.close()
        endpoint.server.stop()
    assert len(ports) == 2 and len(set(ports)) == connections


def test_unsupported_settings_are_refused_when_the_stream_starts(tmp_path: Any, gateways: Gateways) -> None:
    stream = {"input": {"http_client": {"url": "http://h", "negotiate": {"enabled": True}}}, "output": {"drop": {}}}
    codec = {
        "input": {"http_client": {"url": "http://h", "stream": {"enabled": True, "codec": "csv-safe"}}},
        "output": {"drop": {}},
    }
    limit = {"input": {"http_client": {"url": "http://h", "rate_limit": "none"}}, "output": {"drop": {}}}
    expect = {
        "input": {"http_client": {"url": "http://h", "transport": {"expect_continue_timeout": "2s"}}},
        "output": {"drop": {}},
    }
    avro = {"enabled": True, "scanner": {"skip_bom": {"into": {"avro": {}}}}}
    regex = {"enabled": True, "scanner": {"switch": [{"re_match_name": "(", "scanner": {"lines": {}}}]}}
    scanned = {
        name: {"input": {"http_client": {"url": "http://h", "stream": s}}, "output": {"drop": {}}}
        for name, s in (("d", avro), ("e", regex))
    }
    _, api = gateways(tmp_path, {"a": stream, "b": codec, "c": limit, **scanned, "f": expect}, start=False)
    problems = []
    for name in ("a", "b", "c", "d", "e", "f"):
        with pytest.raises(ConfigError) as caught:
            api.open(name, {})
        problems.append(str(caught.value))
    assert problems == [
        "streams.a.input.http_client.negotiate.enabled: not supported by this gateway",
        "streams.b.input.http_client.stream.codec: 'csv-safe' is not supported (use lines, delim:<text>, regex:<pattern>, "
        "chunker:<bytes>, all-bytes, csv, csv:<delimiter> or tar, optionally after gzip/, pgzip/ or skipbom/; or a scanner)",
        "streams.c.input.http_client.rate_limit: no rate_limit_resources entry labelled 'none'",
        "streams.d.input.http_client.stream.scanner.skip_bom.into.avro: " + scanners.REFUSED["avro"],
        "streams.e.input.http_client.stream.scanner.switch.0.re_match_name: invalid regular expression: "
        "missing ), unterminated subpattern at position 0",
        "streams.f.input.http_client.transport.expect_continue_timeout: this gateway's HTTP client never waits for a "
        "100 Continue (it sends the body with the headers, as 0 does); only 0 or the default 1s can be honoured",
    ]


# -- the bookkeeping alone ------------------------------------------------------------------------


def test_status_verdicts_follow_bento_order() -> None:
    policy = StatusPolicy.of(successful_on=[404], drop_on=[403, 200], backoff_on=[429, 503])
    assert [policy.verdict(c) for c in (200, 201, 403, 404, 429, 503, 500, 302)] == [
        Verdict.FAIL,
        Verdict.SUCCESS,
        Verdict.FAIL,
        Verdict.SUCCESS,
        Verdict.BACKOFF,
        Verdict.BACKOFF,
        Verdict.RETRY,
        Verdict.RETRY,
    ]


def test_backoff_pauses_double_up_to_the_bound_and_reset_after_another_failure() -> None:
    pauses = RetryPauses(retry_period=1.0, max_backoff=5.0)
    assert [pauses.after(Verdict.BACKOFF) for _ in range(4)] == [1.0, 2.0, 4.0, 5.0]
    assert pauses.after(Verdict.RETRY) == 1.0
    assert pauses.after(Verdict.BACKOFF) == 1.0
