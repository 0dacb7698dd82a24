// End to end through TypeScript types generated from spec/hosts/*.yaml (gen.mjs: openapi-typescript with the
// units transform) and openapi-fetch, against vandar-mock: IPG pay and verify, balance, a settlement stored,
// listed and cancelled, a Miando agreement agreed, paid and finalized. One client per host, each pointed at the
// host its per-host spec names (`server`), mapped onto the mock's base URL for that host.
// Usage: node flow.js '<the JSON line vandar-mock printed>'   (compiled by tsc --strict; see check.sh)
import createClient from "openapi-fetch";
import * as api from "./gen/api.js";
import * as ipg from "./gen/ipg.js";
import type { Rials, Tomans } from "./gen/units.js";

declare const process: { argv: string[]; exit(code: number): never };

type Mock = Record<"api" | "ipg" | "batch" | "subscription" | "control" | "business" | "access_token" | "ipg_api_key" | "miando_client_secret", string> & { miando_client_id: number };
const mock = JSON.parse(process.argv[2] ?? "") as Mock;

/** The mock's base URL for the host a per-host spec names (https://ipg.vandar.io -> mock.ipg). */
function baseOf(server: string): string {
  const host = new URL(server).hostname.split(".")[0] as "api" | "ipg" | "batch" | "subscription";
  return mock[host];
}

let steps = 0;
function step(name: string): void {
  steps += 1;
  console.log(`  ok ${name}`);
}
function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`flow.ts: ${what}`);
}

/** Converting units is explicit: the only way from Rials to Tomans. */
const toTomans = (rials: Rials): Tomans => Math.floor(rials / 10);

async function main(): Promise<void> {
  const started = Date.now();
  const control = async (endpoint: string, body: unknown = {}): Promise<unknown> => {
    const answer = await fetch(`${mock.control}/${endpoint}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    assert(answer.ok, `control ${endpoint}: ${answer.status}`);
    return answer.json();
  };
  await control("reset");
  assert(ipg.server === "https://ipg.vandar.io" && api.server === "https://api.vandar.io", "per-host servers");

  // ------------------------------------------------------------------ IPG: send, payment page, transaction, verify
  const gateway = createClient<ipg.paths>({ baseUrl: baseOf(ipg.server) });
  const sent = await gateway.POST("/api/v4/send", {
    body: { api_key: mock.ipg_api_key, amount: 120_000 as Rials, callback_url: "https://shop.example/back", factor_number: "TS-1" },
  });
  assert(sent.data && sent.response.status === 200, `ipg_send: ${JSON.stringify(sent.error)}`);
  const token = String(sent.data.token);
  step("ipg_send (on the ipg host, from spec/hosts/ipg.yaml)");
  const page = await fetch(`${mock.ipg}/v4/${token}`, { redirect: "manual" });
  assert(page.status === 302 && (page.headers.get("location") ?? "").includes("payment_status=OK"), "payment page");
  const looked = await gateway.POST("/api/v4/transaction", { body: { api_key: mock.ipg_api_key, token } });
  assert(looked.data?.status === 1 && looked.data.paymentDate !== null, `ipg_transaction: ${JSON.stringify(looked.data)}`);
  const verified = await gateway.POST("/api/v4/verify", { body: { api_key: mock.ipg_api_key, token } });
  assert(verified.data?.status === 1, `ipg_verify: ${JSON.stringify(verified.error)}`);
  const realAmount: Rials = verified.data.realAmount ?? (0 as Rials);
  assert(realAmount > 0, "realAmount");
  step(`payment page, ipg_transaction, ipg_verify: realAmount ${realAmount} Rials`);
  const again = await gateway.POST("/api/v4/verify", { body: { api_key: mock.ipg_api_key, token } });
  assert(again.response.status === 422 && again.error !== undefined, "second verify refused");
  step("a second ipg_verify gets 422");

  // ------------------------------------------------------------------ business API: balance, a settlement
  const business = createClient<api.paths>({ baseUrl: baseOf(api.server), headers: { authorization: `Bearer ${mock.access_token}` } });
  const path = { business: mock.business };
  const balance = await business.GET("/v2/business/{business}/balance", { params: { path } });
  assert(balance.data?.data.wallet !== undefined, `balance: ${JSON.stringify(balance.error)}`);
  step(`balance: ${balance.data.data.wallet} ${balance.data.data.currency ?? ""}`);
  // The settlement takes Tomans: the Rials verify returned must be converted (passing them as they are does not compile).
  const amount = toTomans(realAmount);
  const stored = await business.POST("/v3/business/{business}/settlement/store", {
    params: { path },
    body: { amount: amount < 5000 ? (5000 as Tomans) : amount, iban: "IR330120020000002353697200", track_id: crypto.randomUUID(), description: "flow.ts" },
  });
  const record = stored.data?.data.settlement[0];
  assert(record?.status === "PENDING" && record.transaction_id !== undefined, `settlement_store: ${JSON.stringify(stored.error)}`);
  step(`settlement_store: ${record.status}`);
  const listed = await business.GET("/v2.1/business/{business}/settlement", { params: { path, query: { per_page: 10 } } });
  assert(listed.data?.data.settlements.data?.some((s) => s.id === record.id), "settlement_list shows it");
  const cancelled = await business.DELETE("/v2.1/business/{business}/settlement/{settlement_id}", {
    params: { path: { business: mock.business, settlement_id: record.transaction_id } },
  });
  assert(cancelled.response.status === 200, `settlement_cancel: ${cancelled.response.status}`);
  const relisted = await business.GET("/v2.1/business/{business}/settlement", { params: { path } });
  const status = relisted.data?.data.settlements.data?.find((s) => s.id === record.id)?.status;
  assert(status === "CANCELED", `after cancel: ${status}`);
  step("settlement_list shows it; settlement_cancel; then CANCELED");

  // ------------------------------------------------------------------ Miando: token, customers, an agreement
  const open = createClient<api.paths>({ baseUrl: baseOf(api.server) });
  const issued = await open.POST("/sso/oauth/token", { body: { grant_type: "client_credentials", client_id: mock.miando_client_id, client_secret: mock.miando_client_secret } });
  assert(issued.data?.access_token, `miando_token: ${JSON.stringify(issued.error)}`);
  const miando = createClient<api.paths>({ baseUrl: baseOf(api.server), headers: { authorization: `Bearer ${issued.data.access_token}` } });
  const BUYER = "09123456789", SELLER = "09023456789";
  for (const [mobile, national_code] of [[BUYER, "1271234564"], [SELLER, "1167723058"]] as const) {
    const created = await miando.POST("/miando/api/v1/customers", { body: { first_name: "رضا", last_name: "رضایی", national_code, mobile, birth_date: "13700502" } });
    assert(created.response.ok, `miando_customer_create: ${JSON.stringify(created.error)}`);
  }
  const draft = await miando.POST("/miando/api/v1/agreements", {
    body: {
      trace_id: crypto.randomUUID(), currency_code: "IRR", redirect_url: "https://shop.example/escrow", description: "ts flow", creator: "buyer",
      parties: [{ role: "buyer", mobile: BUYER, iban: "IR330120020000002353697200" }, { role: "seller", mobile: SELLER, iban: "IR640120020000002343697300" }],
      items: [{ title: "ts flow", category: "digital", item_price: "200000", price: "200000", payer: "buyer", payment_method: "full-pay", quantity: 1 }],
    },
  });
  const code = draft.data?.data.tracking_code;
  assert(code && draft.data?.data.state === "draft", `agreement_create: ${JSON.stringify(draft.error)}`);
  const tracking = { path: { tracking_code: code } };
  const agreed = await miando.POST("/miando/api/v1/agreements/{tracking_code}", { params: tracking, body: { action: "agree", applicant_mobile: SELLER } });
  const link = agreed.data?.data?.web_view_link;
  assert(link, `agree: ${JSON.stringify(agreed.error)}`);
  const early = await miando.POST("/miando/api/v1/agreements/{tracking_code}/finalize", { params: tracking, body: { buyer_mobile: BUYER } });
  const refusal = early.error;
  assert(early.response.status === 400 && typeof refusal === "object" && "code" in refusal && refusal.code === "invalid_state_agreement", "finalize before payment");
  const paid = await fetch(link, { redirect: "manual" });
  assert(paid.status === 302, `payment link: ${paid.status}`);
  const finalized = await miando.POST("/miando/api/v1/agreements/{tracking_code}/finalize", { params: tracking, body: { buyer_mobile: BUYER } });
  assert(finalized.data?.data?.is_finalized === true, `finalize: ${JSON.stringify(finalized.error)}`);
  const shown = await miando.GET("/miando/api/v1/agreements/{tracking_code}", { params: tracking });
  assert(shown.data?.data.state === "finalize", `agreement_show: ${JSON.stringify(shown.data)}`);
  step(`agreement ${code}: draft, agreed, finalize refused unpaid, paid, finalized`);

  // ------------------------------------------------------------------ a proxy's HTML page arrives as text (declared text/html)
  await control("faults", { faults: ["html_error_page"] });
  const proxied = await business.GET("/v2/business/{business}/balance", { params: { path } });
  assert(proxied.response.status === 502 && typeof proxied.error === "string" && proxied.error.startsWith("<html>"), `proxy page: ${typeof proxied.error}`);
  step("a proxy's HTML 502 arrives as the string the spec declares (text/html)");

  console.log(`TypeScript (openapi-fetch) against vandar-mock in ${((Date.now() - started) / 1000).toFixed(1)} s\nflow.ts: ${steps} passed, 0 failed`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
