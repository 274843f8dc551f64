"""Timestamp Manipulation methods through real mappings. Expected texts were produced by the
Benthos v4 reference evaluator (tests/bloblang_ref) for the same mapping and input."""

from __future__ import annotations

import pytest

from streams import bloblang
from streams.bloblang import timefmt
from streams.bloblang.values import Timestamp
from tests.unit.bloblang_reference import run_mapping

# (mapping, input, expected payload or None, expected error or None)
CASES = [
    ('root = this.ts.ts_parse("2006-01-02T15:04:05Z07:00").ts_format("Mon Jan _2 15:04:05.000 MST 2006")', '{"ts":"2020-08-14T11:45:26.371+01:00"}', 'Fri Aug 14 11:45:26.371 +0100 2020', None),
    ('root = this.ts.ts_format("2006-01-02 03:04:05 PM -0700", "America/New_York")', '{"ts":"2021-11-07T05:30:00Z"}', '2021-11-07 01:30:00 AM -0400', None),
    ('root = this.ts.ts_format("2006-01-02 03:04:05 PM -0700", "America/New_York")', '{"ts":"2021-11-07T06:30:00Z"}', '2021-11-07 01:30:00 AM -0500', None),
    ('root = this.ts.ts_format("Monday January 2 06 __2 002 .999 ,000000")', '{"ts":"2020-02-29T23:59:59.5Z"}', 'Saturday February 29 20  60 060 .5 ,500000', None),
    ('root = this.ts.ts_format("2006-01-02T15:04:05Z07:00:00 Z0700 -07")', '{"ts":"2020-01-01T00:00:00-03:30"}', '2020-01-01T00:00:00-03:30:00 -0330 -03', None),
    ('root = this.n.ts_format("2006-01-02T15:04:05.999999999Z07:00", "UTC")', '{"n":1597405526.123456}', '2020-08-14T11:45:26.123456001Z', None),
    ('root = this.n.ts_format("2006-01-02T15:04:05Z07:00", "Asia/Kolkata")', '{"n":-86401}', '1969-12-31T05:29:59+05:30', None),
    ('root = this.v.ts_parse(this.f)', '{"v":"2020-13-01","f":"2006-01-02"}', None, 'failed assignment (line 1): parsing time "2020-13-01": month out of range'),
    ('root = this.v.ts_parse(this.f)', '{"v":"2021-02-29","f":"2006-01-02"}', None, 'failed assignment (line 1): parsing time "2021-02-29": day out of range'),
    ('root = this.v.ts_parse(this.f)', '{"v":"2020-01-01 extra","f":"2006-01-02"}', None, 'failed assignment (line 1): parsing time "2020-01-01 extra": extra text: " extra"'),
    ('root = this.v.ts_parse(this.f)', '{"v":"14/08/20 5:54PM","f":"02/01/06 3:04PM"}', '"2020-08-14T17:54:00Z"', None),
    ('root = this.v.ts_parse(this.f)', '{"v":"2020-060","f":"2006-002"}', '"2020-02-29T00:00:00Z"', None),
    ('root = this.v.ts_parse(this.f)', '{"v":"2020-01-01 10:00:00.123456","f":"2006-01-02 15:04:05"}', '"2020-01-01T10:00:00.123456Z"', None),
    ('root = this.v.ts_parse(this.f)', '{"v":"2020-01-01 PST","f":"2006-01-02 MST"}', '"2020-01-01T00:00:00Z"', None),
    ('root = this.v.ts_parse(this.f)', '{"v":"25:00","f":"15:04"}', None, 'failed assignment (line 1): parsing time "25:00": hour out of range'),
    ('root = this.v.ts_strptime(this.f)', '{"v":"2020-08-14T11:50:26+0530","f":"%Y-%m-%dT%H:%M:%S%z"}', '"2020-08-14T11:50:26+05:30"', None),
    ('root = this.v.ts_strptime(this.f)', '{"v":"14/08/20 05:30 PM","f":"%d/%m/%y %I:%M %p"}', '"2020-08-14T17:30:00Z"', None),
    ('root = this.v.ts_strptime(this.f)', '{"v":"2020-13","f":"%Y-%m"}', None, 'failed assignment (line 1): failed to parse "2020-13" with "%Y-%m": cannot parse "%m"'),
    ('root = this.v.ts_strptime(this.f)', '{"v":"2020 x","f":"%Y %q"}', None, 'failed assignment (line 1): failed to parse "2020 x" with "%Y %q": unexpected format "%q"'),
    ('root = this.v.ts_strptime(this.f)', '{"v":"2020x","f":"%Y"}', None, 'failed assignment (line 1): failed to parse "2020x" with "%Y": unparsed string "x"'),
    ('root = this.ts.ts_strftime("%a %A %b %B %d %e %j %H %I %M %S %f %p %y %Y %z %Z %%")', '{"ts":"2020-03-05T07:08:09.123456789-05:00"}', 'Thu Thursday Mar March 05  5 065 07 07 08 09 123456 AM 20 2020 -0500 -0500 %', None),
    ('root = this.ts.ts_strftime("%F %T | %-d %_m %^a %10A %:z", "Asia/Kolkata")', '{"ts":"2020-03-05T07:08:09Z"}', '2020-03-05 12:38:09 | 5  3 THU   Thursday +05:30', None),
    ('root = this.ts.ts_strftime("%G-W%V-%u %U %W %c %D %r %R %s")', '{"ts":"2021-01-03T12:00:00Z"}', '2020-W53-7 01 00 Sun Jan  3 12:00:00 2021 01/03/21 12:00:00 PM 12:00 1609675200', None),
    ('root = this.ts.ts_tz("Australia/Adelaide").string()', '{"ts":"2021-02-03T16:05:06Z"}', '2021-02-04T02:35:06+10:30', None),
    ('root = this.ts.ts_tz("Local").ts_unix()', '{"ts":"2021-02-03T16:05:06Z"}', '1612368306', None),
    ('root = this.ts.ts_round(this.d.parse_duration()).string()', '{"ts":"2020-08-14T05:54:23.5Z","d":"1s"}', '2020-08-14T05:54:24Z', None),
    ('root = this.ts.ts_round(this.d.parse_duration()).string()', '{"ts":"2020-08-14T05:54:23Z","d":"7ms"}', '2020-08-14T05:54:23Z', None),
    ('root = this.ts.ts_round(this.d.parse_duration()).string()', '{"ts":"2020-08-14T05:54:23Z","d":"24h"}', '2020-08-14T00:00:00Z', None),
    ('root = [this.ts.ts_unix(), this.ts.ts_unix_milli(), this.ts.ts_unix_micro(), this.ts.ts_unix_nano()]', '{"ts":"1969-12-31T23:59:59.9999995Z"}', '[-1,-1,-1,-500]', None),
    ('root = [this.ts.format_timestamp_unix(), this.ts.format_timestamp_unix_milli(), this.ts.format_timestamp_unix_micro(), this.ts.format_timestamp_unix_nano()]', '{"ts":"2020-08-14T11:45:26.123456789Z"}', '[1597405526,1597405526123,1597405526123456,1597405526123456789]', None),
    ('root = this.a.ts_sub(this.b)', '{"a":"2020-01-01T00:00:00Z","b":"2020-01-02T00:00:00.5+01:00"}', '-82800500000000', None),
    ('root = this.ts.ts_add_iso8601(this.p).string()', '{"ts":"2020-01-31T10:00:00Z","p":"P1M"}', '2020-03-02T10:00:00Z', None),
    ('root = this.ts.ts_add_iso8601(this.p).string()', '{"ts":"2020-02-29T10:00:00Z","p":"P1Y"}', '2021-03-01T10:00:00Z', None),
    ('root = this.ts.ts_add_iso8601(this.p).string()', '{"ts":"2020-01-01T00:00:00Z","p":"P1.5D"}', '2020-01-02T12:00:00Z', None),
    ('root = this.ts.ts_sub_iso8601(this.p).string()', '{"ts":"2020-03-31T00:00:00Z","p":"P1M2W"}', '2020-02-17T00:00:00Z', None),
    ('root = this.ts.ts_add_iso8601(this.p).string()', '{"ts":"2020-01-01T00:00:00Z","p":"PT1H1H"}', None, "failed assignment (line 1): PT1H1H: 'H' designator cannot occur more than once"),
    ('root = this.d.parse_duration()', '{"d":"1h2m3.5s"}', '3723500000000', None),
    ('root = this.d.parse_duration()', '{"d":"-1.5h"}', '-5400000000000', None),
    ('root = this.d.parse_duration()', '{"d":"1µs"}', '1000', None),
    ('root = this.d.parse_duration()', '{"d":"1"}', None, 'failed assignment (line 1): time: missing unit in duration "1"'),
    ('root = this.d.parse_duration()', '{"d":"1x"}', None, 'failed assignment (line 1): time: unknown unit "x" in duration "1x"'),
    ('root = this.d.parse_duration()', '{"d":"9223372036854775808ns"}', None, 'failed assignment (line 1): time: invalid duration "9223372036854775808ns"'),
    ('root = this.d.parse_duration_iso8601()', '{"d":"P1W2D"}', '777600000000000', None),
    ('root = this.d.parse_duration_iso8601()', '{"d":"PT0.000000001S"}', '1', None),
    ('root = this.d.parse_duration_iso8601()', '{"d":"P1Y1Y"}', None, "failed assignment (line 1): P1Y1Y: 'Y' designator cannot occur more than once"),
    ('root = this.d.parse_duration_iso8601()', '{"d":"PX"}', None, "failed assignment (line 1): PX: expected a number but found 'X'"),
    ('root = this.d.parse_duration_iso8601()', '{"d":"P1"}', None, 'failed assignment (line 1): P1: missing designator at the end'),
    ('root = this.v.parse_timestamp("2006-01-02")', '{"v":"2020-01-02"}', '2020-01-02T00:00:00Z', None),
    ('root = this.v.parse_timestamp_strptime("%Y-%m-%d")', '{"v":"2020-01-02"}', '2020-01-02T00:00:00Z', None),
    ('root = this.v.format_timestamp_strftime("%Y", "UTC")', '{"v":0}', '1970', None),
    ('root = this.v.ts_unix()', '{"v":true}', None, 'failed assignment (line 1): expected number or string value, got bool (true)'),
    ('root = this.v.ts_unix()', '{"v":"yesterday"}', None, 'failed assignment (line 1): parsing time "yesterday" as "2006-01-02T15:04:05.999999999Z07:00": cannot parse "yesterday" as "2006"'),
    ('root = this.v.ts_format("2006", "Mars/Olympus")', '{"v":0}', None, 'PARSE: line 1 char 48: failed to parse timezone location name: unknown time zone Mars/Olympus'),
]


@pytest.mark.parametrize("mapping, payload, output, error", CASES)
def test_mapping_matches_benthos(mapping: str, payload: str, output: str | None, error: str | None) -> None:
    got_out, got_err = run_mapping(mapping, payload)
    assert (got_out, got_err) == (output, error)


def test_rfc3339nano_trims_zeros_and_uses_z_for_utc() -> None:
    assert timefmt.format_rfc3339nano(Timestamp(0, timefmt.UTC)) == "1970-01-01T00:00:00Z"
    ts = Timestamp(1_597_405_526_120_000_000, timefmt.FixedZone("", 3600))
    assert timefmt.format_rfc3339nano(ts) == "2020-08-14T12:45:26.12+01:00"


def test_years_outside_python_datetime_range() -> None:
    ts = timefmt.parse_layout("2006-01-02", "0000-03-01")
    assert timefmt.format_rfc3339nano(ts) == "0000-03-01T00:00:00Z"
    assert timefmt.format_layout(Timestamp(ts.ns - 86_400 * 10**9, timefmt.UTC), "2006-01-02 Mon") == "0000-02-29 Tue"


@pytest.mark.parametrize(
    "ns, text",
    [(0, "0s"), (1, "1ns"), (1_500, "1.5\u00b5s"), (2_000_000, "2ms"), (3_723_500_000_000, "1h2m3.5s"), (-90 * 10**9, "-1m30s")],
)
def test_format_duration(ns: int, text: str) -> None:
    assert timefmt.format_duration(ns) == text
    assert timefmt.parse_duration(text) == ns


def test_local_zone_follows_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        out = bloblang.parse('root = 0.ts_format("2006-01-02 15:04 MST")').apply(b"{}")
        assert out is not None and out.content == b"1969-12-31 19:00 EST"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
