"""End to end through the Python client that openapi-python-client generates from spec/vandar.yaml,
against `vandar-mock`: what a Python user of the spec does, with nothing hand-written between them.

Usage: python flow.py '<the JSON line vandar-mock printed>'   (the generated package `vandar_client`
must be importable). Type-checked with `mypy --strict` together with the generated client.

The generated client takes one base URL, while the spec puts each path on its host (path-level
`servers`): one client per host base URL, as the spec's README says.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from threading import Thread
from typing import Any, TypeVar

import httpx

from vandar_client import AuthenticatedClient, Client
from vandar_client.api.auth import token_refresh
from vandar_client.api.ipg import ipg_send, ipg_transaction, ipg_verify
from vandar_client.api.miando_agreements import (
    agreement_action,
    agreement_cancel,
    agreement_create,
    agreement_finalize,
    agreement_list,
    agreement_show,
)
from vandar_client.api.miando_auth import miando_token
from vandar_client.api.miando_customers import miando_customer_create, miando_customer_list, miando_customer_show
from vandar_client.api.miando_webhooks import webhook_create, webhook_delete, webhook_list, webhook_show, webhook_update
from vandar_client.api.settlement import settlement_cancel, settlement_list, settlement_show, settlement_store
from vandar_client.api.statement import balance, transaction_list
from vandar_client.models import (
    Agreement,
    AgreementAction,
    AgreementActionRequest,
    AgreementActionResponse,
    AgreementCancelRequest,
    AgreementCancelResponse,
    AgreementCreateRequest,
    AgreementFinalizeRequest,
    AgreementFinalizeResponse,
    AgreementItemInput,
    AgreementListResponse,
    AgreementPartyInput,
    AgreementResponse,
    BalanceResponse,
    ClientCredentialsRequest,
    ClientCredentialsToken,
    Currency,
    GrantType,
    IpgError,
    IpgSendRequest,
    IpgSendResponse,
    IpgTokenRequest,
    IpgTransaction,
    IpgVerifyResponse,
    ItemCategory,
    MiandoCustomerCreateRequest,
    MiandoCustomerListResponse,
    MiandoCustomerResponse,
    MiandoError,
    MiandoMessage,
    MiandoWebhookSubscription,
    PartyRole,
    PaymentMethod,
    RefreshTokenRequest,
    SettlementListResponse,
    SettlementShowResponse,
    SettlementStoreRequest,
    SettlementStoreResponse,
    StatusMessage,
    TokenPair,
    TransactionListResponse,
    Unauthenticated,
    WebhookCreateRequest,
    WebhookListResponse,
    WebhookResponse,
    WebhookUpdateRequest,
    WebhookUpdateResponse,
)
from vandar_client.types import UNSET, Unset

T = TypeVar("T")

BUYER, SELLER, STRANGER = "09123456789", "09023456789", "09350000000"
BUYER_IBAN, SELLER_IBAN = "IR330120020000002353697200", "IR640120020000002343697300"
# vandar-mock's magic values (src/mock/control.md).
FAILING_IBAN, DECLINED_CARD, REFUSED_AMOUNT = "IR760170000000000000000001", "6037990000000002", 1_111_110
steps = 0


def step(name: str) -> None:
    global steps
    steps += 1
    print(f"  ok {name}", flush=True)


def expect(value: object, kind: type[T], what: str) -> T:
    """The answer, narrowed to the type the spec promises (the generated calls return a union)."""
    if not isinstance(value, kind):
        raise AssertionError(f"{what}: expected {kind.__name__}, got {value!r}")
    return value


def given(value: T | Unset | None, what: str) -> T:
    if value is None or isinstance(value, Unset):
        raise AssertionError(f"{what}: missing")
    return value


def main(mock: dict[str, Any]) -> None:
    business = str(mock["business"])
    api = AuthenticatedClient(base_url=mock["api"], token=mock["access_token"], raise_on_unexpected_status=True)
    ipg = Client(base_url=mock["ipg"], raise_on_unexpected_status=True)
    public = Client(base_url=mock["api"], raise_on_unexpected_status=True)

    # ---------------------------------------------------------------- IPG: send, payment page, transaction, verify once
    sent = expect(
        ipg_send.sync(client=ipg, body=IpgSendRequest(api_key=mock["ipg_api_key"], amount=120_000, callback_url="https://shop.example/back", factor_number="A-1")),
        IpgSendResponse,
        "ipg_send",
    )
    token = sent.token
    step("ipg_send")
    unpaid = expect(ipg_transaction.sync(client=ipg, body=IpgTokenRequest(api_key=mock["ipg_api_key"], token=token)), IpgTransaction, "ipg_transaction")
    assert unpaid.payment_date is None and unpaid.code == 0, unpaid
    step("ipg_transaction before payment: paymentDate null (the spec's TehranDateTimeOrNull)")
    # The payment page is a browser redirect (ipg_redirect): a browser follows it, so plain httpx does.
    page = httpx.get(f"{mock['ipg']}/v4/{token}", follow_redirects=False)
    assert page.status_code == 302 and "payment_status=OK" in page.headers["location"], page
    step("ipg_redirect: 302 back to callback_url with payment_status=OK")
    transaction = expect(ipg_transaction.sync(client=ipg, body=IpgTokenRequest(api_key=mock["ipg_api_key"], token=token)), IpgTransaction, "ipg_transaction")
    assert transaction.status == 1 and transaction.amount == "120000", transaction
    step("ipg_transaction")
    verified = expect(ipg_verify.sync(client=ipg, body=IpgTokenRequest(api_key=mock["ipg_api_key"], token=token)), IpgVerifyResponse, "ipg_verify")
    assert verified.status == 1 and given(verified.real_amount, "realAmount") > 0, verified
    step(f"ipg_verify: realAmount {verified.real_amount} Rials, wage {verified.wage!r}")
    again = ipg_verify.sync_detailed(client=ipg, body=IpgTokenRequest(api_key=mock["ipg_api_key"], token=token))
    refused = expect(again.parsed, IpgError, "second ipg_verify")
    assert again.status_code == 422 and refused.status == 0, again
    step(f"second ipg_verify refused: {again.status_code} {refused.errors!r}")

    # ---------------------------------------------------------------- business token: refresh, rotation
    pair = expect(token_refresh.sync(client=public, body=RefreshTokenRequest(refreshtoken=mock["refresh_token"])), TokenPair, "token_refresh")
    assert pair.access_token != mock["access_token"] and pair.refresh_token != mock["refresh_token"], pair
    reused = token_refresh.sync_detailed(client=public, body=RefreshTokenRequest(refreshtoken=mock["refresh_token"]))
    assert reused.status_code == 401 and isinstance(reused.parsed, Unauthenticated), reused
    stale = balance.sync_detailed(business, client=api)
    assert stale.status_code == 401, stale
    api = AuthenticatedClient(base_url=mock["api"], token=pair.access_token, raise_on_unexpected_status=True)
    wallet = given(expect(balance.sync(business, client=api), BalanceResponse, "balance").data, "balance data")
    step(f"token_refresh rotates the pair (the used refresh token and the old access token get 401); balance {wallet.wallet} {wallet.currency}")

    # ---------------------------------------------------------------- a settlement: store (Tomans), list, show, cancel
    track_id = str(uuid.uuid4())
    stored = expect(
        settlement_store.sync(business, client=api, body=SettlementStoreRequest(amount=5000, iban=BUYER_IBAN, track_id=track_id, description="flow.py")),
        SettlementStoreResponse,
        "settlement_store",
    )
    record = given(given(stored.data, "data").settlement, "data.settlement")[0]
    settlement_id, transaction_id = given(record.id, "id"), given(record.transaction_id, "transaction_id")
    assert record.status == "PENDING" and record.amount_toman == 5000, record
    step(f"settlement_store: {record.status}, {record.amount} Rials")
    listed = expect(settlement_list.sync(business, client=api), SettlementListResponse, "settlement_list")
    page_items = given(given(given(listed.data, "data").settlements, "settlements").data, "settlements.data")
    assert any(item.id == settlement_id for item in page_items), listed
    step("settlement_list shows it")
    shown = expect(settlement_show.sync(business, settlement_id, client=api), SettlementShowResponse, "settlement_show")
    detail = given(given(shown.data, "data").settlement, "data.settlement")
    assert detail.id == settlement_id and detail.gateway_transaction_id == transaction_id, detail
    assert detail.status == "PENDING" and detail.amount == 50_000 and detail.description == "flow.py", detail
    unknown_settlement = settlement_show.sync_detailed(business, uuid.uuid4(), client=api)
    assert unknown_settlement.status_code == 404, unknown_settlement
    step("settlement_show: the stored settlement (PENDING, 50000 Rials); an unknown id gets 404")
    canceled = expect(settlement_cancel.sync(business, transaction_id, client=api), StatusMessage, "settlement_cancel")
    assert canceled.status in (1, "1"), canceled
    relisted = expect(settlement_list.sync(business, client=api), SettlementListResponse, "settlement_list")
    statuses = [item.status for item in given(given(given(relisted.data, "data").settlements, "s").data, "d") if item.id == settlement_id]
    assert statuses == ["CANCELED"], statuses
    step("settlement_cancel; settlement_list shows CANCELED")

    # ---------------------------------------------------------------- Miando: token, customers
    issued = expect(
        miando_token.sync(client=public, body=ClientCredentialsRequest(grant_type=GrantType.CLIENT_CREDENTIALS, client_id=mock["miando_client_id"], client_secret=mock["miando_client_secret"])),
        ClientCredentialsToken,
        "miando_token",
    )
    miando = AuthenticatedClient(base_url=mock["api"], token=issued.access_token, raise_on_unexpected_status=True)
    step("miando_token")
    for mobile, code in [(BUYER, "1271234564"), (SELLER, "1167723058")]:
        created = miando_customer_create.sync(client=miando, body=MiandoCustomerCreateRequest(first_name="رضا", last_name="رضایی", national_code=code, mobile=mobile, birth_date="13700502"))
        expect(created, MiandoMessage, "miando_customer_create")
    customers = given(expect(miando_customer_list.sync(client=miando), MiandoCustomerListResponse, "miando_customer_list").data, "data")
    assert {c.mobile for c in customers} == {BUYER, SELLER}, customers
    uid = given(customers[0].uid, "uid")
    one = expect(miando_customer_show.sync(uid, client=miando), MiandoCustomerResponse, "miando_customer_show")
    assert given(one.data, "data").uid == uid, one
    missing = miando_customer_show.sync_detailed(1, client=miando)
    assert missing.status_code == 400 and expect(missing.parsed, MiandoError, "unknown customer").code == "user_not_found", missing
    step("miando_customer_create x2, list, show; an unknown uid gets 400 user_not_found")

    def draft(description: str, seller: str = SELLER) -> AgreementCreateRequest:
        return AgreementCreateRequest(
            trace_id=str(uuid.uuid4()),
            currency_code=Currency.IRR,
            redirect_url="https://shop.example/escrow",
            description=description,
            creator=PartyRole.BUYER,
            parties=[
                AgreementPartyInput(role=PartyRole.BUYER, mobile=BUYER, iban=BUYER_IBAN),
                AgreementPartyInput(role=PartyRole.SELLER, mobile=seller, iban=SELLER_IBAN),
            ],
            items=[AgreementItemInput(title=description, category=ItemCategory.DIGITAL, item_price="200000", price="200000", payer=PartyRole.BUYER, payment_method=PaymentMethod.FULL_PAY, quantity=1)],
        )

    def create(description: str) -> str:
        created = expect(agreement_create.sync(client=miando, body=draft(description)), AgreementResponse, "agreement_create")
        return created.data.tracking_code

    def read(code: str) -> Agreement:
        """agreement_show and agreement_list after each step: both must stay readable whatever the states."""
        shown = expect(agreement_show.sync(code, client=miando), AgreementResponse, "agreement_show").data
        listed = given(expect(agreement_list.sync(client=miando), AgreementListResponse, "agreement_list").data, "data")
        assert [a.state for a in listed if a.tracking_code == code] == [shown.state], (listed, shown)
        return shown

    def party_state(agreement: Agreement, role: str) -> str | Unset:
        return next(p.state for p in given(agreement.parties, "parties") if p.role == role)

    # An agreement through agree, pay and finalize.
    code = create("موبایل y8s")
    opened = read(code)
    assert opened.state == "draft" and party_state(opened, "buyer") == "accepted" and party_state(opened, "seller") == "pending", opened
    step(f"agreement_create {code}: draft")
    agreed = expect(agreement_action.sync(code, client=miando, body=AgreementActionRequest(action=AgreementAction.AGREE, applicant_mobile=SELLER)), AgreementActionResponse, "agree")
    link = given(given(agreed.data, "data").web_view_link, "web_view_link")
    assert read(code).state == "contract"
    step("agreement_action agree (seller): contract, payment link")
    # The buyer pays on the payment link, a web page (not an API call): a browser follows it, so plain httpx does.
    early = agreement_finalize.sync_detailed(code, client=miando, body=AgreementFinalizeRequest(buyer_mobile=BUYER))
    assert early.status_code == 400 and expect(early.parsed, MiandoError, "finalize unpaid").code == "invalid_state_agreement", early
    paid = httpx.get(link, follow_redirects=False)
    assert paid.status_code == 302, paid
    assert read(code).state == "contract"
    step("finalize before payment: 400 invalid_state_agreement; buyer pays on the web view link; state stays contract (the spec: the buyer_paid_agreement webhook tells)")
    finalized = expect(agreement_finalize.sync(code, client=miando, body=AgreementFinalizeRequest(buyer_mobile=BUYER)), AgreementFinalizeResponse, "finalize")
    assert given(finalized.data, "data").is_finalized is True, finalized
    assert read(code).state == "finalize"
    step("agreement_finalize: finalize")
    twice = agreement_finalize.sync_detailed(code, client=miando, body=AgreementFinalizeRequest(buyer_mobile=BUYER))
    assert twice.status_code == 400 and expect(twice.parsed, MiandoError, "finalize twice").code == "invalid_state_agreement", twice
    step("a second finalize gets 400 invalid_state_agreement")

    # Another, rejected by the seller: the documents name no state for it; the mock's are in x-vandar-mock-values.
    rejected_code = create("iphone 11")
    expect(agreement_action.sync(rejected_code, client=miando, body=AgreementActionRequest(action=AgreementAction.REJECT, applicant_mobile=SELLER)), AgreementActionResponse, "reject")
    rejected = read(rejected_code)
    assert (party_state(rejected, "seller"), rejected.state) == ("rejected", "cancelled"), rejected
    step("agreement_action reject (seller): seller rejected, agreement cancelled (the spec's x-vandar-mock-values)")

    # Another, cancelled by the buyer: the documents name no state for it; the mock's is in x-vandar-mock-values.
    cancelled_code = create("بنز s500")
    cancelled = expect(agreement_cancel.sync(cancelled_code, client=miando, body=AgreementCancelRequest(applicant_mobile=BUYER)), AgreementCancelResponse, "cancel")
    assert given(cancelled.data, "data").is_canceled is True, cancelled
    state = read(cancelled_code).state
    assert state not in ("draft", "contract", "investigation", "finalize"), state
    step(f"agreement_cancel (buyer): state {state!r}; agreement_list still reads every agreement")

    # A party who is not a customer: the documented 400 user_not_found.
    stranger = agreement_create.sync_detailed(client=miando, body=draft("ps5", seller=STRANGER))
    assert stranger.status_code == 400 and expect(stranger.parsed, MiandoError, "stranger").code == "user_not_found", stranger
    step("agreement_create with a party who is no customer: 400 user_not_found")

    # ---------------------------------------------------------------- Miando webhooks: create, list, show, update, delete
    # Registered after the agreements on purpose: the mock delivers events to registered https URLs, and this flow
    # must send nothing off the machine.
    hook = expect(
        webhook_create.sync(client=miando, body=WebhookCreateRequest(url="https://shop.example/miando", events=[MiandoWebhookSubscription.AGREEMENT_CREATED, MiandoWebhookSubscription.PAYMENT])),
        WebhookResponse,
        "webhook_create",
    )
    hook_id = given(given(hook.data, "data").id, "id")
    hooks = given(expect(webhook_list.sync(client=miando), WebhookListResponse, "webhook_list").data, "data")
    assert [h.id for h in hooks] == [hook_id], hooks
    shown_hook = given(expect(webhook_show.sync(hook_id, client=miando), WebhookResponse, "webhook_show").data, "data")
    slugs = [e.slug for e in given(shown_hook.events, "events")]
    assert slugs == ["agreement_created", "payment"], slugs
    updated = expect(
        webhook_update.sync(hook_id, client=miando, body=WebhookUpdateRequest(url="https://shop.example/miando2", is_active=False, events=[MiandoWebhookSubscription.AGREEMENT_FINALIZED])),
        WebhookUpdateResponse,
        "webhook_update",
    )
    assert updated.is_active is False and updated.events == ["agreement_finalized"], updated
    expect(webhook_delete.sync(hook_id, client=miando), MiandoMessage, "webhook_delete")
    gone = webhook_show.sync_detailed(hook_id, client=miando)
    assert gone.status_code == 404 and expect(gone.parsed, MiandoError, "deleted webhook").code == "not_found_error", gone
    step("webhook create, list, show, update, delete; then 404 not_found_error")

    # ---------------------------------------------------------------- vandar-mock's control API (plain HTTP, /__mock/)
    control = str(mock["control"])

    def control_post(endpoint: str, body: dict[str, Any] | None = None) -> Any:
        answer = httpx.post(f"{control}/{endpoint}", json=body if body is not None else {})
        assert answer.status_code == 200, (endpoint, answer.status_code, answer.text)
        return answer.json()

    assert control_post("faults", {"faults": [{"status": 503}]}) == {"queued": 1}
    failed = balance.sync_detailed(business, client=api)
    assert failed.status_code == 503, failed
    last = httpx.get(f"{control}/requests").json()["requests"][-1]
    assert (last["method"], last["path"]) == ("GET", f"/v2/business/{business}/balance"), last
    assert control_post("faults", {"faults": ["html_error_page"]}) == {"queued": 1}
    # openapi-python-client decodes an answer by the first media type it declares (JSON), so a proxy's HTML page
    # (declared text/html beside it) raises JSONDecodeError: treat that as the proxy error it is.
    try:
        balance.sync_detailed(business, client=api)
        raise AssertionError("the HTML 502 was decoded as JSON")
    except json.JSONDecodeError:
        pass
    assert httpx.get(f"{control}/answers").json()["answers"][-1]["content_type"] == "text/html"
    bad = httpx.post(f"{control}/faults", json={"faults": ["no_such_fault"]})
    assert bad.status_code == 400 and "faults[0]" in bad.json()["error"], bad.text
    step("control: an injected 503 answers the next call, the request log shows it, a proxy's HTML 502 (declared text/html), bad input gets 400 naming the field")

    # Miando webhooks routed to a receiver on this machine, each verified with the business slug.
    deliveries: queue.Queue[tuple[str, str, bytes]] = queue.Queue()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            deliveries.put((self.path, self.headers.get("X-Signature", ""), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        control_post("webhook-route", {"base_url": f"http://127.0.0.1:{receiver.server_address[1]}"})
        expect(
            webhook_create.sync(client=miando, body=WebhookCreateRequest(url="https://shop.example/miando", events=[MiandoWebhookSubscription.AGREEMENT_CREATED])),
            WebhookResponse,
            "webhook_create",
        )
        routed_code = create("xbox")
        path, signature, body = deliveries.get(timeout=5)
    finally:
        receiver.shutdown()
    expected = base64.b64encode(hmac.new(business.encode(), body, hashlib.sha256).digest()).decode()
    assert path == "/miando" and hmac.compare_digest(signature, expected), (path, signature)
    event = json.loads(body)
    assert event["type"] == "agreement_created" and event["data"]["tracking_code"] == routed_code, event
    step("control: webhook-route delivers agreement_created to a local receiver, signed with the business slug")

    # Reset: fresh state, the printed credentials work again; then paging over the new settlements.
    assert control_post("reset") == {"reset": True}
    api = AuthenticatedClient(base_url=mock["api"], token=mock["access_token"], raise_on_unexpected_status=True)
    fresh = given(expect(balance.sync(business, client=api), BalanceResponse, "balance").data, "balance data")
    assert fresh.wallet == 5_000_000, fresh
    for _ in range(3):
        expect(settlement_store.sync(business, client=api, body=SettlementStoreRequest(amount=5000, iban=BUYER_IBAN, track_id=str(uuid.uuid4()))), SettlementStoreResponse, "store")
    second = given(given(expect(settlement_list.sync(business, client=api, page=2, per_page=2), SettlementListResponse, "page 2").data, "data").settlements, "settlements")
    assert len(given(second.data, "data")) == 1 and (second.current_page, second.last_page, second.from_, second.to) == (2, 2, 3, 3), second
    step("control: reset restores the first token and the wallet; settlement_list page 2 of 3 settlements by 2 holds the third")

    # ---------------------------------------------------------------- the mock as a test platform
    # The payer, played by the mock: no browser, the callback URL the browser would reach.
    def send(factor_number: str) -> str:
        return expect(
            ipg_send.sync(client=ipg, body=IpgSendRequest(api_key=mock["ipg_api_key"], amount=50_000, callback_url="https://shop.example/back", factor_number=factor_number)),
            IpgSendResponse,
            "ipg_send",
        ).token

    paid_token = send("ORDER-2")
    payer = control_post("payer", {"token": paid_token, "action": "pay"})
    assert payer["callback_url"] == f"https://shop.example/back?token={paid_token}&payment_status=OK", payer
    declined = control_post("payer", {"token": send("ORDER-3"), "action": "decline"})
    assert declined["callback_url"].endswith("payment_status=FAILED"), declined
    step("control: payer pays and declines without a browser, answering the callback URL")

    # A fault aimed at ipg_verify's second call, the others untouched; what a test did not use is cleared.
    assert control_post("faults", {"operation": "ipg_verify", "nth": 2, "faults": [{"status": 503}]}) == {"queued": 1, "operation": "ipg_verify"}
    expect(balance.sync(business, client=api), BalanceResponse, "balance under an aimed fault")
    verify_first = ipg_verify.sync_detailed(client=ipg, body=IpgTokenRequest(api_key=mock["ipg_api_key"], token=paid_token))
    assert verify_first.status_code == 200, verify_first
    verify_second = ipg_verify.sync_detailed(client=ipg, body=IpgTokenRequest(api_key=mock["ipg_api_key"], token=paid_token))
    assert verify_second.status_code == 503, verify_second
    control_post("faults", {"operation": "balance", "faults": [{"status": 503}, {"status": 503}]})
    cleared = httpx.delete(f"{control}/faults").json()
    assert cleared == {"cleared": 2}, cleared
    expect(balance.sync(business, client=api), BalanceResponse, "balance after clear")
    step("control: a fault aimed at ipg_verify's 2nd call, DELETE /__mock/faults clears the rest without a reset")

    # The payment found by its order number in transaction_list, beside the settlements.
    found = expect(transaction_list.sync(business, client=api, factor_number="ORDER-2"), TransactionListResponse, "transaction_list")
    items = given(found.data, "data")
    assert len(items) == 1 and items[0].factor_number == "ORDER-2" and items[0].verified == 1, found
    # The mock holds no payment forms: a formId filter matches nothing (never ignored, which would answer everything).
    by_form = expect(transaction_list.sync(business, client=api, form_id="7"), TransactionListResponse, "transaction_list by formId")
    assert given(by_form.data, "data") == [], by_form
    step("transaction_list: an IPG payment found by factor_number; a filter on a payment form matches nothing")

    # The clock: a day later the settlement is done, its notify_url told.
    notices: queue.Queue[bytes] = queue.Queue()

    class Notified(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            notices.put(self.rfile.read(int(self.headers.get("content-length", "0"))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    notified = HTTPServer(("127.0.0.1", 0), Notified)
    Thread(target=notified.serve_forever, daemon=True).start()
    try:
        control_post("webhook-route", {"base_url": f"http://127.0.0.1:{notified.server_address[1]}"})
        pending = expect(
            settlement_store.sync(business, client=api, body=SettlementStoreRequest(amount=5000, iban=BUYER_IBAN, track_id=str(uuid.uuid4()), notify_url="https://shop.example/notify")),
            SettlementStoreResponse,
            "settlement_store",
        )
        pending_id = given(given(given(pending.data, "data").settlement, "settlement")[0].id, "id")
        # A magic IBAN whose settlement the bank fails when its cycle comes.
        failing = expect(
            settlement_store.sync(business, client=api, body=SettlementStoreRequest(amount=5000, iban=FAILING_IBAN, track_id=str(uuid.uuid4()))),
            SettlementStoreResponse,
            "settlement_store",
        )
        failing_id = given(given(given(failing.data, "data").settlement, "settlement")[0].id, "id")
        clock = control_post("clock", {"advance_seconds": 86_400})
        assert clock["advanced_seconds"] == 86_400, clock
        form = notices.get(timeout=5)
    finally:
        notified.shutdown()
    assert b"DONE" in form and str(pending_id).encode() in form, form
    done = expect(settlement_show.sync(business, pending_id, client=api), SettlementShowResponse, "settlement_show")
    assert given(given(done.data, "data").settlement, "settlement").status == "DONE", done
    step("control: clock advanced a day, the settlement is DONE and its notify_url got the final status")

    # Magic values: the failing IBAN's settlement reads FAILED; a declined card; an amount the IPG refuses.
    failed_settlement = expect(settlement_show.sync(business, failing_id, client=api), SettlementShowResponse, "settlement_show")
    assert given(given(failed_settlement.data, "data").settlement, "settlement").status == "FAILED", failed_settlement
    card = control_post("payer", {"token": send("ORDER-4"), "action": "pay", "card_number": DECLINED_CARD})
    assert card["callback_url"].endswith("payment_status=FAILED"), card
    refused_amount = ipg_send.sync_detailed(client=ipg, body=IpgSendRequest(api_key=mock["ipg_api_key"], amount=REFUSED_AMOUNT, callback_url="https://shop.example/back"))
    assert refused_amount.status_code == 422 and expect(refused_amount.parsed, IpgError, "refused amount").errors == ["amount is not acceptable"], refused_amount
    step("control: magic values: a failing IBAN's settlement FAILED after the day, a declined card, an amount the IPG refuses")


if __name__ == "__main__":
    started = time.monotonic()
    main(json.loads(sys.argv[1]))
    print(f"Python client generated from spec/vandar.yaml, against vandar-mock, in {time.monotonic() - started:.1f} s")
    print(f"flow: {steps} passed, 0 failed")
