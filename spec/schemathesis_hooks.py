"""Schemathesis hooks for spec/hosts/*.yaml: valid values for the spec's named formats.

The spec names each identifier Vandar checks beyond its pattern (`format: ir-iban`, `ir-national-code`,
`card-number`, `jalali-date`, `jalali-date-slashed`): a value that only matches the pattern is refused with 422, as Vandar does. These strategies make
values that pass, so a fuzzer's "valid" requests are valid. Use them from any language:

    PYTHONPATH=spec SCHEMATHESIS_HOOKS=schemathesis_hooks schemathesis --config-file spec/schemathesis.toml run ...

spec/schemathesis.toml holds the rest of the command (the tokens, per operation, from the environment).
"""

import datetime
import hashlib
import itertools
import re
import uuid

import schemathesis
from hypothesis import strategies as st

_digits = lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)


def _iban(bban: str) -> str:
    # ISO 13616: move "IR00" to the end, letters as numbers (I=18, R=27), check digits = 98 - (n mod 97).
    check = 98 - int(bban + "1827" + "00") % 97
    return f"IR{check:02d}{bban}"


def _national_code(first_nine: str) -> str:
    total = sum(int(d) * (10 - i) for i, d in enumerate(first_nine)) % 11
    return first_nine + str(total if total < 2 else 11 - total)


def _luhn(first_fifteen: str) -> str:
    for last in "0123456789":
        number = first_fifteen + last
        total = 0
        for i, d in enumerate(reversed(number)):
            d = int(d) * (2 if i % 2 else 1)
            total += d - 9 if d > 9 else d
        if total % 10 == 0:
            return number
    raise AssertionError("a Luhn digit always exists")


schemathesis.openapi.format("ir-iban", _digits(22).map(_iban))
schemathesis.openapi.format(
    "ir-national-code", _digits(9).filter(lambda s: len(set(s)) > 1).map(_national_code).filter(lambda s: len(set(s)) > 1)
)
schemathesis.openapi.format("card-number", _digits(15).map(_luhn))

# A real Jalali day: months 1-6 have 31 days, 7-11 have 30, Esfand 29 (30 in a leap year; 29 always exists).
_jalali_day = st.tuples(st.integers(1300, 1450), st.integers(1, 12)).flatmap(
    lambda ym: st.tuples(st.just(ym[0]), st.just(ym[1]), st.integers(1, 31 if ym[1] <= 6 else 30 if ym[1] <= 11 else 29))
)
schemathesis.openapi.format("jalali-date", _jalali_day.map(lambda d: f"{d[0]:04d}{d[1]:02d}{d[2]:02d}"))
schemathesis.openapi.format("jalali-date-slashed", _jalali_day.map(lambda d: f"{d[0]:04d}/{d[1]:02d}/{d[2]:02d}"))



# Rules the spec states in words (a description, or `x-dependentRequired`, which OpenAPI 3.0 lacks) and a generator
# cannot read: a drawn body that breaks one gets the field it needs, so a "valid" body is one the server accepts.
_NEEDS = {
    # POST /api/v4/send (ipg_send): x-dependentRequired {national_code: [mobile_number]}
    "national_code": ("mobile_number", "09123456789"),
}
_CUSTOMER_NEEDS = {  # CustomerRequest: INDIVIDUAL needs mobile and individual_national_code; LEGAL agent_mobile and legal_national_code
    "INDIVIDUAL": {"mobile": "09123456789", "individual_national_code": "0013542419"},
    "LEGAL": {"agent_mobile": "09123456789", "legal_national_code": "10101234567"},
}


def _resolve(doc, node, depth=0):
    while isinstance(node, dict) and "$ref" in node and depth < 16:
        target = doc
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node, depth = target, depth + 1
    return node


def _properties(doc, schema):
    """The properties of an object schema, through $ref and allOf."""
    schema = _resolve(doc, schema)
    found = dict(schema.get("properties") or {})
    for part in schema.get("allOf") or []:
        found.update(_properties(doc, part))
    return {name: _resolve(doc, prop) for name, prop in found.items()}


_fresh = itertools.count(1)


def _unique(schema):
    """A value never drawn before, of the field's shape: a UUID, or the SHA-512 a batch id is."""
    n = next(_fresh)
    pattern = schema.get("pattern")
    for value in (str(uuid.uuid4()), hashlib.sha512(f"{n}-{uuid.uuid4()}".encode()).hexdigest()):
        if pattern is None or re.search(pattern, value):
            return value
    return None


def _valid_date(value):
    try:
        return datetime.date.fromisoformat(value) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) else None
    except ValueError:
        return None


def _server_rules(ctx, body):
    """Rules the spec marks with x- extensions, which a generator cannot read: a money move's id is never reused
    (x-vandar-money-move's track_id: Vandar refuses a repeat with 422), and a date marked `x-vandar-after: today` is
    in the future. Only a value already of the field's shape is replaced, by another of that shape, so a body drawn
    as invalid stays invalid."""
    doc = ctx.operation.schema.raw_schema
    operation = ctx.operation.definition.raw
    content = (_resolve(doc, operation.get("requestBody") or {}).get("content") or {}).get("application/json") or {}
    properties = _properties(doc, content.get("schema") or {})
    key = (operation.get("x-vandar-money-move") or {}).get("track_id")
    schema = properties.get(key) or {}
    if key and isinstance(body.get(key), str) and re.search(schema.get("pattern") or "", body[key]):
        body[key] = _unique(schema) or body[key]
    today = datetime.date.today()
    for name, schema in properties.items():
        day = _valid_date(body.get(name)) if schema.get("x-vandar-after") == "today" and isinstance(body.get(name), str) else None
        if day is not None and day <= today:
            body[name] = (today + datetime.timedelta(days=1 + next(_fresh) % 3650)).isoformat()


@schemathesis.hook
def map_case(ctx, case):
    """Every phase's cases (examples, coverage, fuzzing, stateful). The server's own rules apply to every case (a case
    drawn as invalid in one place may be judged valid when its mutation did not hold): they only replace a value of
    the field's shape by another. Fields one needs beside another are added to cases drawn as valid only."""
    if not isinstance(case.body, dict):
        return case
    meta = getattr(case, "meta", None)
    negative = meta is not None and str(getattr(meta.generation, "mode", "positive")) == "negative"
    body = dict(case.body)  # a new body, set back: the case's own may be a view of what it was drawn from
    _server_rules(ctx, body)
    if not negative:
        _fill(ctx, body)
    case.body = body
    return case


def _fill(ctx, body):
    path = ctx.operation.path
    if path == "/api/v4/send":
        for field, (needed, value) in _NEEDS.items():
            if field in body and needed not in body:
                body[needed] = value
    if path.startswith("/v2/business/{business}/customers") and isinstance(body.get("type"), str) and body["type"] in _CUSTOMER_NEEDS:
        for needed, value in _CUSTOMER_NEEDS[body["type"]].items():
            body.setdefault(needed, value)
