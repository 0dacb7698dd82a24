"""Must NOT type-check (check.sh runs mypy --strict on it and fails CI if it passes): the Python units recipe of
spec/README.md. verify's realAmount is Rials, a settlement's amount Tomans; NewType keeps them apart."""

from typing import NewType

from vandar_client.models import IpgVerifyResponse, SettlementStoreRequest

Rials = NewType("Rials", int)
Tomans = NewType("Tomans", int)


def to_tomans(amount: Rials) -> Tomans:
    return Tomans(amount // 10)


def pay_out(amount: Tomans) -> SettlementStoreRequest:
    return SettlementStoreRequest(amount=amount, iban="IR330120020000002353697200", track_id="5f6a3c1e-0000-4000-8000-000000000000")


def settle(verified: IpgVerifyResponse) -> None:
    received = Rials(int(verified.real_amount or 0))
    pay_out(to_tomans(received))  # fine: converted
    pay_out(received)  # line 23: Argument 1 to "pay_out" has incompatible type "Rials"; expected "Tomans"
