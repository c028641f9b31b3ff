"""Accepted ⇒ loadable and intact, through the whole local stack: Hypothesis generates events
that are valid by the contract (docs/event-contract.md) for every event type in schemas/, in
every spelling the contract accepts, and sends them as JSON arrays, single objects and NDJSON,
plain or gzipped in one or several members (`cat a.gz b.gz`). Every one must be accepted, and
must then be in EVENTS_DEDUP with the values it was sent with; the line the transformer staged
for it must be its own text, token for token.
Hypothesis draws at most 8192 choices per example and an event takes about 50, so it makes 25
examples of about 20 events (three requests each); the warehouse is then awaited once for all.

Numbers are compared by value (Decimal), never through a float, with one exception the local
warehouse forces: DuckDB's JSON reads a non-integer as a double, so a decimal that is not a
double's shortest spelling (`12345678901234567890.123456789`, which Snowflake's NUMBER(38, 9)
keeps exactly) is compared there as the double it is read as; its exact text is still checked
in the staged line, which is what Snowflake loads. Numbers at a double's edges (±1.797…e308,
subnormals, underflow to 0) are accepted and load so; past them (`1e309`) the validator rejects
the event, as `test_numbers_past_a_double_are_rejected_not_accepted` checks.
"""

from __future__ import annotations

import gzip
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import count

import jsonschema
import pytest
from e2e_helpers import ROOT, wait_for_rows
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from localstack.api import REQUEST_TIMEOUT_SECONDS, Answer
from localstack.aws import client
from localstack.settings import PIPELINE

SCHEMAS = {
    path.stem: json.loads(path.read_text())
    for path in sorted((ROOT / "schemas").glob("*.json"))
    if not path.stem.startswith("_")
}
LIMITS = PIPELINE.raw["limits"]
# Margins inside the occurred_at window: the validator's clock runs a little after the test's.
PAST_MARGIN = timedelta(minutes=5)
FUTURE_MARGIN = timedelta(seconds=5)
# Snowflake's NUMBER(38, s): at most 38 significant digits, scale at most 37.
MAX_DIGITS, MAX_SCALE = 38, 37
# Exponents of the scientific spellings: well inside a double's normal range (its edges are
# explicit examples, DOUBLE_EDGES).
MAX_EXPONENT = 280
# Digits of occurred_at's fraction: the contract takes any number (truncated past the microsecond).
MAX_FRACTION_DIGITS = 40
RUN = uuid.uuid4().hex[:10]
_SERIAL = count()


# --- JSON text with its spelling chosen ---------------------------------------------------


class Str(str):
    """A string with the spelling it is sent in: non-ASCII characters escaped as `\\uXXXX`
    (surrogate pairs for the astral plane) or raw, `/` escaped as `\\/` or not."""

    def __new__(cls, value: str, ascii_only: bool = False, escape_slash: bool = False):
        text = super().__new__(cls, value)
        text.ascii_only, text.escape_slash = ascii_only, escape_slash
        return text


class Number(Decimal):
    """A JSON number with the exact text it is sent in."""

    def __new__(cls, text: str):
        number = super().__new__(cls, text)
        number.text = text
        return number

    @property
    def exact_in_local_warehouse(self) -> bool:
        """DuckDB keeps integers exactly (big ones as text) and reads other numbers as doubles."""
        if not any(mark in self.text for mark in ".eE"):
            return True
        return Decimal(repr(float(self.text))) == self


def render(value, separators: tuple[str, str] = (",", ":")) -> str:
    """`value` as JSON text, each string and number in its own spelling."""
    item, key = separators
    if isinstance(value, dict):
        return "{" + item.join(render(k, separators) + key + render(v, separators) for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + item.join(render(v, separators) for v in value) + "]"
    if isinstance(value, Number):
        return value.text
    if isinstance(value, Str):
        text = json.dumps(value, ensure_ascii=value.ascii_only)
        return text.replace("/", "\\/") if value.escape_slash else text
    return json.dumps(value, ensure_ascii=False)


def plain(value):
    """`value` as json.loads(…, parse_float=Decimal, parse_int=Decimal) would give it back."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, Number):
        return Decimal(value.text)
    if isinstance(value, Str):
        return str(value)
    return value


def loaded(text: str):
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


# --- strategies -----------------------------------------------------------------------------

# Any Unicode scalar value (no lone surrogates: they are not text), astral-plane ones favoured.
characters = st.characters(codec="utf-8")
astral = st.characters(min_codepoint=0x10000, codec="utf-8")
texts = st.one_of(st.text(characters, max_size=20), st.text(astral, min_size=1, max_size=4))
spellings = st.sampled_from([(False, False), (True, False), (False, True), (True, True)])


def strings(values: st.SearchStrategy[str] = texts) -> st.SearchStrategy[Str]:
    return st.builds(lambda value, spelling: Str(value, *spelling), values, spellings)


def _decimal_text(digits: int, scale: int) -> str:
    """`digits` × 10^-scale in plain decimal notation (JSON's grammar: no leading zeros)."""
    return f"{Decimal(digits).scaleb(-scale):f}"


integers = st.integers(-(10**MAX_DIGITS - 1), 10**MAX_DIGITS - 1).map(str)
# Up to 15 significant digits: every such decimal is a double's shortest spelling.
short_decimals = st.builds(_decimal_text, st.integers(-(10**15 - 1), 10**15 - 1), st.integers(1, 20))
# 16 to 38 significant digits: exact in Snowflake, a double's approximation in DuckDB.
long_decimals = st.integers(16, MAX_DIGITS).flatmap(
    lambda width: st.builds(
        _decimal_text,
        st.integers(10 ** (width - 1), 10**width - 1) | st.integers(-(10**width - 1), -(10 ** (width - 1))),
        st.integers(1, min(width, MAX_SCALE)),
    )
)
scientific = st.builds(
    lambda mantissa, exponent, e, sign: f"{mantissa}{e}{sign if exponent >= 0 else '-'}{abs(exponent)}",
    short_decimals | st.integers(-9, 9).map(str),
    st.integers(-MAX_EXPONENT, MAX_EXPONENT),
    st.sampled_from("eE"),
    st.sampled_from(["", "+"]),
)
numbers = st.one_of(integers, short_decimals, long_decimals, scientific, st.just("-0")).map(Number)

json_values = st.recursive(
    st.none() | st.booleans() | numbers | strings(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(strings(), children, max_size=3),
    max_leaves=5,
)


def from_schema(schema: dict) -> st.SearchStrategy:
    """Values valid for `schema`, built from the keywords the shipped schemas use (type,
    required, properties, additionalProperties, minLength, pattern, minimum); a schema using
    others is refused, so that a new schema file cannot be half-tested in silence."""
    known = {"$schema", "title", "description", "type", "required", "properties", "additionalProperties",
             "minLength", "pattern", "minimum"}
    unknown = set(schema) - known
    assert not unknown, f"teach from_schema {sorted(unknown)}"
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = {
            name: from_schema(sub) if name in required else st.none() | from_schema(sub).map(lambda v: (v,))
            for name, sub in properties.items()
        }
        extra = (
            st.just({})
            if schema.get("additionalProperties") is False
            else st.dictionaries(strings().filter(lambda k: k not in properties), json_values, max_size=2)
        )

        def build(drawn: dict, more: dict) -> dict:
            chosen = {Str(k): (v[0] if isinstance(v, tuple) else v) for k, v in drawn.items() if v is not None}
            return {**chosen, **more}

        return st.builds(build, st.fixed_dictionaries(fields), extra)
    if kind == "string":
        if "pattern" in schema:
            values = st.from_regex(schema["pattern"], fullmatch=True)
        else:
            values = st.text(characters, min_size=schema.get("minLength", 0), max_size=30)
        return strings(values.filter(lambda s: len(s) >= schema.get("minLength", 0)))
    if kind == "number":
        if "minimum" not in schema:
            return numbers
        # Without their sign, most numbers meet a minimum of 0 or less; the filter does the rest.
        minimum = Decimal(str(schema["minimum"]))
        return numbers.map(lambda n: Number(n.text.removeprefix("-"))).filter(lambda n: n >= minimum)
    if kind is None:
        return json_values
    raise AssertionError(f"teach from_schema the type {kind!r}")


@dataclass(frozen=True)
class OccurredAt:
    """An instant relative to the test's clock and one spelling of it: UTC offset in minutes,
    fraction digits past the second (any number; beyond six are truncated), letter case."""

    from_now: timedelta
    offset_minutes: int
    fraction: str
    upper_t: bool
    z: str  # "Z", "z", "+00:00" or "-00:00" when the offset is zero

    def spell(self, now: datetime) -> tuple[str, datetime]:
        """The text to send, and the instant the warehouse must hold (truncated to µs)."""
        at = (now + self.from_now).replace(microsecond=0)
        local = at.astimezone(timezone(timedelta(minutes=self.offset_minutes)))
        if self.offset_minutes:
            sign, minutes = ("+" if self.offset_minutes > 0 else "-"), abs(self.offset_minutes)
            offset = f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"
        else:
            offset = self.z
        text = local.strftime("%Y-%m-%d") + ("T" if self.upper_t else "t") + local.strftime("%H:%M:%S")
        if self.fraction:
            text += "." + self.fraction
        micros = int((self.fraction + "000000")[:6])
        return text + offset, at + timedelta(microseconds=micros)


window_past = timedelta(days=LIMITS["max_past_days"]) - PAST_MARGIN
window_future = timedelta(seconds=LIMITS["max_future_skew_seconds"]) - FUTURE_MARGIN
earliest, latest = -int(window_past.total_seconds()), int(window_future.total_seconds())
occurred_ats = st.builds(
    OccurredAt,
    st.one_of(
        st.integers(earliest, latest),
        st.integers(earliest, earliest + 3600),  # near the past edge
        st.integers(latest - 60, latest),  # near the future edge
    ).map(lambda s: timedelta(seconds=s)),
    st.integers(-(23 * 60 + 59), 23 * 60 + 59) | st.just(0),
    # A width, then its digits as one integer (one choice however many digits), zero-padded on
    # the left or, reversed, with its significant digits first.
    st.integers(0, MAX_FRACTION_DIGITS).flatmap(lambda width: st.builds(
        lambda n, reverse: f"{n:0{width}d}"[:: -1 if reverse else 1] if width else "",
        st.integers(0, 10**width - 1), st.booleans())),
    st.booleans(),
    st.sampled_from(["Z", "z", "+00:00", "-00:00"]),
)


@dataclass(frozen=True)
class Draft:
    """An event before it is sent: the id is made unique per run when it is spelled."""

    event_type: str
    occurred_at: OccurredAt
    payload: dict
    id_suffix: Str | None  # None: no event_id, the validator assigns one
    id_null: bool  # with no id: "event_id": null rather than no field at all
    source: Str | None
    source_null: bool
    order: tuple[int, ...]  # the order of the top-level fields


event_drafts = st.one_of(
    st.builds(
        Draft,
        st.just(event_type),
        occurred_ats,
        from_schema(schema),
        st.none() | strings(st.text(characters, max_size=100)),
        st.booleans(),
        st.none() | strings(st.text(characters, max_size=256)),
        st.booleans(),
        st.permutations(range(5)).map(tuple),
    )
    for event_type, schema in SCHEMAS.items()
)


@dataclass(frozen=True)
class Form:
    """How a request is sent: a JSON array, NDJSON or one JSON object; plain or gzipped in how
    many members; with which whitespace around `,` and `:`."""

    body: str  # "array", "ndjson" or "object"
    gzip_members: int  # 0: not gzipped
    separators: tuple[str, str]


def form(body: str) -> st.SearchStrategy[Form]:
    return st.builds(Form, st.just(body), st.sampled_from([0, 1, 2, 3]),
                     st.sampled_from([(",", ":"), (", ", ": "), (" ,\t", " :  ")]))


# A longer list overruns Hypothesis' choice budget (see above) and stalls its generation.
EVENTS_PER_REQUEST = st.lists(event_drafts, min_size=5, max_size=40)
requests = st.tuples(
    st.tuples(form("array"), EVENTS_PER_REQUEST),
    st.tuples(form("ndjson"), EVENTS_PER_REQUEST),
    st.tuples(form("object"), st.lists(event_drafts, min_size=1, max_size=1)),
)


# --- the property -----------------------------------------------------------------------------


@dataclass
class Sent:
    text: str  # the event as sent
    fields: dict  # its top-level fields as sent (Str / Number / plain values)
    instant: datetime  # what OCCURRED_AT must hold


def spell(draft: Draft, now: datetime) -> Sent:
    occurred_at, instant = draft.occurred_at.spell(now)
    fields = {Str("event_type"): Str(draft.event_type), Str("occurred_at"): occurred_at,
              Str("payload"): draft.payload}
    if draft.id_suffix is not None:
        fields[Str("event_id")] = Str(f"{RUN}-{next(_SERIAL)}-{draft.id_suffix}"[:128], draft.id_suffix.ascii_only,
                                       draft.id_suffix.escape_slash)
    elif draft.id_null:
        fields[Str("event_id")] = None
    if draft.source is not None:
        fields[Str("source")] = draft.source
    elif draft.source_null:
        fields[Str("source")] = None
    names = list(fields)
    ordered = {names[i]: fields[names[i]] for i in sorted(range(len(names)), key=lambda i: draft.order[i])}
    return Sent(render(ordered), ordered, instant)


def post(api, form: Form, events: list[Sent]):
    texts = [render(event.fields, form.separators) for event in events]
    if form.body == "ndjson":
        body, content_type = "".join(text + "\n" for text in texts), "application/x-ndjson"
    elif form.body == "object":
        (body,), content_type = texts, "application/json"
    else:
        body, content_type = "[" + form.separators[0].join(texts) + "]", "application/json"
    if not form.gzip_members:
        return api.post(body.encode(), content_type)
    return post_gzipped(api, gzip_members(body.encode(), form.gzip_members), content_type)


def gzip_members(data: bytes, members: int) -> bytes:
    """`data` cut into `members` pieces (through tokens and UTF-8 sequences alike), each gzipped on
    its own and the members concatenated, as `cat a.gz b.gz` makes them."""
    cuts = [len(data) * i // members for i in range(members + 1)]
    return b"".join(gzip.compress(data[a:b]) for a, b in zip(cuts, cuts[1:]))


def post_gzipped(api, encoded: bytes, content_type: str) -> Answer:
    """Posts a body already gzipped (`Api.post` gzips it in one member itself)."""
    headers = {"content-type": content_type, "content-encoding": "gzip", "x-api-key": api.key}
    request = urllib.request.Request(api.url, data=encoded, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
            return Answer(response.status, json.loads(response.read()))
    except urllib.error.HTTPError as error:
        return Answer(error.code, json.loads(error.read()))


def staged_lines(file_names: set[str]) -> dict[str, list[str]]:
    """The lines of each file the loader loaded (names relative to the stage), from S3."""
    s3, bucket, prefix = client("s3"), PIPELINE.names["data_bucket"], PIPELINE.prefixes["events"]
    files = {}
    for name in file_names:
        data = s3.get_object(Bucket=bucket, Key=prefix + name)["Body"].read()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        files[name] = data.decode().split("\n")  # not splitlines(): strings may hold U+2028 raw
    return files


def differences(sent: Sent, event_id: str, row: dict, line: str) -> list[str]:
    fields = sent.fields
    found = []
    canonical = sent.instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    stored = {k: v for k, v in fields.items() if k not in ("occurred_at", "event_id")}
    # The transformer's line: the text as sent without whitespace, occurred_at canonical, an
    # assigned id in place of null or first, then _ingest.
    edited = {k: (canonical if k == "occurred_at" else v) for k, v in fields.items()}
    if fields.get("event_id") is None:
        if "event_id" in fields:
            edited["event_id"] = event_id
        else:
            edited = {"event_id": event_id, **edited}
    expected_line = render(edited)[:-1] + ',"_ingest":'
    if not line.startswith(expected_line):
        found.append(f"staged line {line!r} does not start with {expected_line!r}")
    if row["EVENT_ID"] != event_id:
        found.append(f"EVENT_ID {row['EVENT_ID']!r} != {event_id!r}")
    if row["EVENT_TYPE"] != fields["event_type"]:
        found.append(f"EVENT_TYPE {row['EVENT_TYPE']!r} != {fields['event_type']!r}")
    if row["SOURCE"] != stored.get("source"):
        found.append(f"SOURCE {row['SOURCE']!r} != {stored.get('source')!r}")
    if row["OCCURRED_AT"] != sent.instant:
        found.append(f"OCCURRED_AT {row['OCCURRED_AT']!r} != {sent.instant!r} ({fields['occurred_at']!r})")
    mismatch = _payload_mismatch(fields["payload"], loaded(row["PAYLOAD"]), "/payload")
    if mismatch:
        found.append(mismatch)
    return found


def _payload_mismatch(sent, got, path: str) -> str | None:
    """Where the loaded payload differs from the sent one (None when it does not)."""
    if isinstance(sent, dict):
        if not isinstance(got, dict) or set(map(str, sent)) != set(got):
            return f"{path}: {got!r} has other keys than {plain(sent)!r}"
        return next((m for k, v in sent.items() if (m := _payload_mismatch(v, got[str(k)], f"{path}/{k}"))), None)
    if isinstance(sent, list):
        if not isinstance(got, list) or len(got) != len(sent):
            return f"{path}: {got!r} != {plain(sent)!r}"
        return next((m for i, (s, g) in enumerate(zip(sent, got)) if (m := _payload_mismatch(s, g, f"{path}/{i}"))), None)
    if isinstance(sent, Number):
        same = (got == sent) if sent.exact_in_local_warehouse else (float(got) == float(sent))
        return None if isinstance(got, Decimal) and same else f"{path}: {got!r} != {sent.text}"
    if isinstance(sent, bool) or sent is None:
        return None if got is sent else f"{path}: {got!r} != {sent!r}"
    return None if type(got) is str and got.encode() == str(sent).encode() else f"{path}: {got!r} != {str(sent)!r}"


def _draft(event_type: str, payload: dict, fraction: str = "") -> Draft:
    return Draft(event_type, OccurredAt(timedelta(0), 0, fraction, True, "Z"), payload, Str("x"), False, None, False,
                 tuple(range(5)))


# Found by this test: raw U+0085, U+2028 and U+2029 in a string (valid JSON, not escaped by the
# transformer) cut the line in two when the local loader read the staged file with splitlines().
LINE_BREAKS_IN_STRINGS = (
    (Form("array", 0, (",", ":")), [_draft("page_view", {Str("url"): Str("a\x85b\u2028c\u2029d")})]),
    (Form("ndjson", 0, (",", ":")), [_draft("page_view", {Str("url"): Str("\u2028")})]),
    (Form("object", 0, (",", ":")), [_draft("page_view", {Str("url"): Str("\x85")})]),
)
# A double's edges, which the contract accepts: the largest finite double either way, 1e±308,
# the smallest subnormal, numbers that underflow to 0; exponents past 308 on a zero or a tiny
# number; occurred_at with 19 and 1,000 fraction digits; in several gzip members.
DOUBLE_EDGES = (
    (Form("array", 2, (",", ":")), [
        _draft("page_view", {Str("url"): Str("u"), Str("max"): Number("1.7976931348623157e308"),
                             Str("min"): Number("-1.7976931348623157E+308"), Str("e308"): Number("1e308"),
                             Str("e-308"): Number("-1E-308"), Str("subnormal"): Number("4.9e-324"),
                             Str("underflow"): Number("1e-400"), Str("zero"): Number("0e999"),
                             Str("deep"): [Number("-2.2250738585072014e-308"), Number("9.999999999999999e307")]},
               fraction="1234567890123456789"),
        _draft("order_placed", {Str("order_id"): Str("o"), Str("amount"): Number("1.7976931348623157e+308"),
                                Str("currency"): Str("EUR")}, fraction="9" * 1000),
    ]),
    (Form("ndjson", 3, (", ", ": ")), [_draft("order_placed", {Str("order_id"): Str("o"), Str("amount"): Number("5e-324"),
                                                                Str("currency"): Str("USD")}, fraction="0" * 19)]),
    (Form("object", 1, (",", ":")), [_draft("page_view", {Str("url"): Str("u"), Str("n"): Number("1e-99999")})]),
)


@pytest.fixture(scope="module")
def accepted(api) -> dict[str, Sent]:
    """Posts what Hypothesis generates; every event must be accepted. event_id -> the event."""
    sent: dict[str, Sent] = {}

    @settings(
        max_examples=25,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=requests)
    @example(batch=LINE_BREAKS_IN_STRINGS)
    @example(batch=DOUBLE_EDGES)
    def post_generated(batch):
        now = datetime.now(timezone.utc)
        for form, drafts in batch:
            events = [spell(draft, now) for draft in drafts]
            for event in events:  # the generator's own check
                jsonschema.validate(plain(event.fields["payload"]), SCHEMAS[str(event.fields["event_type"])])
            answer = post(api, form, events)
            assert answer.status == 202, answer.body
            for result in answer.body["results"]:
                event = events[result["index"]]
                assert result["status"] == "accepted", f"valid by contract, yet: {result} for {event.text}"
                sent[result["event_id"]] = event

    post_generated()
    return sent


def test_every_generated_event_is_accepted(accepted):
    assert len(accepted) > 300


def test_every_accepted_event_loads_with_the_values_it_was_sent_with(accepted):
    # Client ids start with the run's mark; assigned ones (UUIDs) are listed.
    assigned = [event_id for event_id in accepted if not event_id.startswith(RUN)]
    rows = wait_for_rows(
        f"SELECT * FROM {PIPELINE.snowflake['dedup_view']} WHERE STARTSWITH(EVENT_ID, %s)"
        + "".join(" OR EVENT_ID = %s" for _ in assigned),
        [RUN, *assigned], expected=len(accepted),
    )
    by_id = {row["EVENT_ID"]: row for row in rows}
    missing = set(accepted) - set(by_id)
    assert not missing, f"{len(missing)} accepted events never reached EVENTS_DEDUP: {sorted(missing)[:5]}"
    files = staged_lines({row["FILE_NAME"] for row in rows})
    problems = {}
    for event_id, event in accepted.items():
        row = by_id[event_id]
        line = files[row["FILE_NAME"]][row["FILE_ROW_NUMBER"] - 1]
        if found := differences(event, event_id, row, line):
            problems[event_id] = (event.text, found)
    assert not problems, f"{len(problems)} of {len(accepted)} events differ:\n" + "\n".join(
        f"{text}\n  " + "\n  ".join(found) for text, found in problems.values()
    )


def test_numbers_past_a_double_are_rejected_not_accepted(api):
    """A number a double cannot hold (±1e309, a 309-digit integer) is not accepted: Snowflake
    could not load it as sent. The validator rejects its event as it parses it (serde_json's
    "number out of range"), and the other events of the request go on."""
    now = datetime.now(timezone.utc)
    past = ["1e309", "-1E+309", "2" + "0" * 308, "1.8e308"]
    drafts = [_draft("page_view", {Str("url"): Str("u")})] + [
        _draft("page_view", {Str("url"): Str("u"), Str("n"): Number(text)}) for text in past
    ]
    for body in ("array", "ndjson"):
        answer = post(api, Form(body, 0, (",", ":")), [spell(draft, now) for draft in drafts])
        assert answer.status == 202, answer.body
        results = answer.body["results"]
        assert [r["status"] for r in results] == ["accepted"] + ["rejected"] * len(past), results
        for result in results[1:]:
            (error,) = result["errors"]
            assert error["code"] == "event.malformed_json" and "out of range" in error["message"], result
