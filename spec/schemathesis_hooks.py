"""Schemathesis hooks for spec/hosts/*.yaml: valid values for the spec's named formats.

The spec names each identifier Vandar checks beyond its pattern (`format: ir-iban`, `ir-national-code`,
`card-number`, `jalali-date`, `jalali-date-slashed`): a value that only matches the pattern is refused with 422, as Vandar does. These strategies make
values that pass, so a fuzzer's "valid" requests are valid. Use them from any language:

    PYTHONPATH=spec SCHEMATHESIS_HOOKS=schemathesis_hooks schemathesis --config-file spec/schemathesis.toml run ...

spec/schemathesis.toml holds the rest of the command (the tokens, per operation, from the environment).
"""

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


@schemathesis.hook
def map_body(ctx, body):
    if not isinstance(body, dict):
        return body
    path = ctx.operation.path
    if path == "/api/v4/send":
        for field, (needed, value) in _NEEDS.items():
            if field in body and needed not in body:
                body[needed] = value
    if path.startswith("/v2/business/{business}/customers") and isinstance(body.get("type"), str) and body["type"] in _CUSTOMER_NEEDS:
        for needed, value in _CUSTOMER_NEEDS[body["type"]].items():
            body.setdefault(needed, value)
    return body
