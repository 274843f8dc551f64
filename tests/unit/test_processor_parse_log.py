"""The ``parse_log`` processor through the processor API: Bento's cases
(``processor_parse_log_test.go``), and go-syslog's own RFC 5424 error cases and RFC 3164 lines
(its ``machine_test.go``), whose error texts and columns Bento passes on."""

from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import pytest

from streams.contracts import ConfigError
from streams.processors import syslog_rfc5424 as rfc5424
from tests.unit.processor_helpers import build, run

TOAST = '<42>4 2049-10-11T22:14:15.003Z toaster.smarthome myapp - 2 [home01 device_id="43"] failed to make a toast.'


def parse(tmp_path: Path, line: str, **conf: object) -> tuple[bytes, str | None]:
    [out] = run(build({"parse_log": conf}, tmp_path), line)
    return out.content, out.error


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            TOAST,
            '{"appname":"myapp","facility":5,"hostname":"toaster.smarthome","message":"failed to make a toast.",'
            '"msgid":"2","priority":42,"severity":2,"structureddata":{"home01":{"device_id":"43"}},'
            '"timestamp":"2049-10-11T22:14:15.003Z","version":4}',
        ),
        (
            '<23>4 2032-10-11T22:14:15.003Z foo.bar baz - 10 [home02 device_id="44"] test log.',
            '{"appname":"baz","facility":2,"hostname":"foo.bar","message":"test log.","msgid":"10","priority":23,'
            '"severity":7,"structureddata":{"home02":{"device_id":"44"}},"timestamp":"2032-10-11T22:14:15.003Z","version":4}',
        ),
        (
            '<165>1 2003-10-11T22:14:15.003+02:00 mymachine evntslog 1234 ID47 [exampleSDID@32473 iut="3" '
            'eventSource="Application" eventID="1011"][examplePriority@32473 class="high" note="a \\"b\\" \\] \\\\"] msg',
            '{"appname":"evntslog","facility":20,"hostname":"mymachine","message":"msg","msgid":"ID47","priority":165,'
            '"procid":"1234","severity":5,"structureddata":{"examplePriority@32473":{"class":"high","note":"a \\"b\\" ] \\\\"},'
            '"exampleSDID@32473":{"eventID":"1011","eventSource":"Application","iut":"3"}},'
            '"timestamp":"2003-10-11T22:14:15.003+02:00","version":1}',
        ),
        ("<0>1 - - - - - -", '{"facility":0,"priority":0,"severity":0,"version":1}'),
    ],
    ids=["bento-1", "bento-2", "escapes-and-offset", "all-nil"],
)
def test_rfc5424_lines(tmp_path: Path, line: str, expected: str) -> None:
    assert parse(tmp_path, line, format="syslog_rfc5424") == (expected.encode(), None)


@pytest.mark.parametrize(
    ("line", "error", "col"),
    [
        ("not a syslog at all.", rfc5424.ERR_PRI, 0),
        ("", rfc5424.ERR_PRI, 0),
        ("<1>1 - - - - - -\n\t\t<2>1 - - - - - -", rfc5424.ERR_PARSE, 16),
        ("<1>1 - \nhostname - - - -", rfc5424.ERR_HOSTNAME, 7),
        ("<1>1 - - a\nn - - -", rfc5424.ERR_APPNAME, 10),
        ("<1>1 - - - \npid - -", rfc5424.ERR_PROCID, 11),
        ("<192>1 - - - - - -", rfc5424.ERR_PRIVAL, 3),
        ("<>1 - - - - - -", rfc5424.ERR_PRIVAL, 1),
        ("<1>1", rfc5424.ERR_PARSE, 4),
        ("<1>3a", rfc5424.ERR_PARSE, 4),
        ("<101>1000 2018-11-22", rfc5424.ERR_VERSION, 8),
        ("<1>10 -- - - - -", rfc5424.ERR_PARSE, 7),
        ("<29>1 2006-01-02T15:04:05Z+07:00 - - - - -", rfc5424.ERR_PARSE, 26),
        ("<165>3 2003-10-11T22:14:15.003Z example.com evnts - ID27 [id1][id1]", rfc5424.ERR_SDID_DUP, 66),
    ],
)
def test_rfc5424_errors_leave_the_line_and_flag_it(tmp_path: Path, line: str, error: str, col: int) -> None:
    assert parse(tmp_path, line, format="syslog_rfc5424") == (line.encode(), f"{error} [col {col}]")


def test_rfc5424_impossible_dates(tmp_path: Path) -> None:
    line = "<101>11 2003-09-31T22:14:15.003Z"
    assert parse(tmp_path, line, format="syslog_rfc5424")[1] == (
        'parsing time "2003-09-31T22:14:15.003Z": day out of range [col 32]'
    )


THIS_YEAR = datetime.datetime.now(datetime.UTC).year


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "<28>Dec  2 16:49:23 host app[23410]: Test",
            {"appname": "app", "facility": 3, "hostname": "host", "message": "Test", "priority": 28, "procid": "23410",
             "severity": 4, "timestamp": f"{THIS_YEAR}-12-02T16:49:23Z"},
        ),
        (
            "<85>Jan 24 15:50:41 ip-172-31-30-110 sudo[6040]: ec2-user : TTY=pts/0 ; PWD=/var/log ; USER=root ; COMMAND=/bin/tail secure",
            {"appname": "sudo", "facility": 10, "hostname": "ip-172-31-30-110", "priority": 85, "procid": "6040",
             "message": "ec2-user : TTY=pts/0 ; PWD=/var/log ; USER=root ; COMMAND=/bin/tail secure",
             "severity": 5, "timestamp": f"{THIS_YEAR}-01-24T15:50:41Z"},
        ),
        (
            "<166>Jul  6 20:33:28 ABC-1-234567 Some message here",
            {"facility": 20, "hostname": "ABC-1-234567", "message": "Some message here", "priority": 166, "severity": 6,
             "timestamp": f"{THIS_YEAR}-07-06T20:33:28Z"},
        ),
        (
            "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
            {"appname": "su", "facility": 4, "hostname": "mymachine", "message": "'su root' failed for lonvick on /dev/pts/8",
             "priority": 34, "severity": 2, "timestamp": f"{THIS_YEAR}-10-11T22:14:15Z"},
        ),
        (
            "<0>Oct 22 10:52:01 10.1.2.3 sched[0]: That's All Folks!",
            {"appname": "sched", "facility": 0, "hostname": "10.1.2.3", "message": "That's All Folks!", "priority": 0,
             "procid": "0", "severity": 0, "timestamp": f"{THIS_YEAR}-10-22T10:52:01Z"},
        ),
        (
            "<13>2020-02-29T16:49:23+02:00 10.0.0.99 Use the BFG!",
            {"facility": 1, "hostname": "10.0.0.99", "message": "Use the BFG!", "priority": 13, "severity": 5,
             "timestamp": "2020-02-29T16:49:23+02:00"},
        ),
        (
            "<13>Feb  5 17:32:18 10.0.0.99 app:no space",
            {"appname": "app", "facility": 1, "hostname": "10.0.0.99", "message": "app:no space", "priority": 13,
             "severity": 5, "timestamp": f"{THIS_YEAR}-02-05T17:32:18Z"},
        ),
    ],
    ids=["bento", "sudo", "no-tag", "su", "priority-0", "rfc3339", "tag-without-space"],
)
def test_rfc3164_lines(tmp_path: Path, line: str, expected: dict) -> None:
    content, error = parse(tmp_path, line, format="syslog_rfc3164")
    assert (json.loads(content), error) == (expected, None)


def test_rfc3164_year_and_zone(tmp_path: Path) -> None:
    line = "<28>Dec  2 16:49:23 host app[23410]: Test"
    shown = parse(tmp_path, line, format="syslog_rfc3164", default_year="2020", default_timezone="America/New_York")
    assert json.loads(shown[0])["timestamp"] == "2020-12-02T11:49:23-05:00"
    leap = parse(tmp_path, "<28>Feb 29 16:49:23 host x", format="syslog_rfc3164", default_year="2023")
    assert json.loads(leap[0])["timestamp"] == "2023-03-01T16:49:23Z"
    no_year = parse(tmp_path, "<28>Feb 29 16:49:23 host x", format="syslog_rfc3164", default_year="")
    assert json.loads(no_year[0])["timestamp"] == "0000-02-29T16:49:23Z"
    assert parse(tmp_path, "<28>Feb 30 16:49:23 host x", format="syslog_rfc3164")[1] == (
        'parsing time "Feb 30 16:49:23": day out of range [col 19]'
    )


def test_rfc3164_rfc3339_only_when_allowed(tmp_path: Path) -> None:
    line = "<13>2020-02-29T16:49:23Z host msg"
    assert parse(tmp_path, line, format="syslog_rfc3164", allow_rfc3339=False)[1] == "expecting a Stamp timestamp [col 4]"


def test_rfc3164_best_effort_keeps_what_was_read(tmp_path: Path) -> None:
    line = "<13>Feb  5 17:32:18 host bad\x01byte"
    kept = parse(tmp_path, line, format="syslog_rfc3164")
    assert json.loads(kept[0]) == {"facility": 1, "hostname": "host", "priority": 13, "severity": 5,
                                   "timestamp": f"{THIS_YEAR}-02-05T17:32:18Z"}
    assert kept[1] is None
    assert parse(tmp_path, line, format="syslog_rfc3164", best_effort=False) == (line.encode(), "parsing error [col 28]")


def test_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="failed to convert year abc into integer:  strconv.Atoi"):
        build({"parse_log": {"format": "syslog_rfc3164", "default_year": "abc"}}, tmp_path)
    with pytest.raises(ConfigError, match="failed to lookup timezone UTC - unknown time zone Mars/Base"):
        build({"parse_log": {"format": "syslog_rfc3164", "default_timezone": "Mars/Base"}}, tmp_path)
    with pytest.raises(ConfigError, match="format not recognised: apache"):
        build({"parse_log": {"format": "apache"}}, tmp_path)


GO_SYSLOG_CASES = json.loads((Path(__file__).parent / "go_syslog_rfc5424_cases.json").read_text())["cases"]


@pytest.mark.parametrize("case", GO_SYSLOG_CASES, ids=[str(i) for i in range(len(GO_SYSLOG_CASES))])
def test_rfc5424_accepts_and_refuses_what_go_syslog_does(case: dict) -> None:
    data = base64.b64decode(case["input_base64"])
    try:
        rfc5424.parse(data)
        error = ""
    except rfc5424.SyslogError as exc:
        error = str(exc)
    assert error == case["error"]
