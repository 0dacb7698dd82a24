// Type-checked by .ci/run (tsc --noEmit --strict) next to the types openapi-typescript generates from
// spec/vandar.yaml: what a TypeScript user of the spec relies on.
import type { components, operations } from "./vandar";

type Schemas = components["schemas"];
type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;

// Answers: an enum value Vandar adds later still type-checks (answer enums are open strings).
const rejected: Schemas["AgreementParty"] = { role: "buyer", state: "rejected" };
export const cancelled: Schemas["Agreement"] = { tracking_code: "2075222800", state: "cancelled", parties: [rejected] };
export const refunded: Schemas["Withdrawal"] = { status: "SOMETHING_NEW" };

// Requests: enums stay closed, so a typo is caught before it is sent.
export const agree: Schemas["AgreementActionRequest"] = { action: "agree", applicant_mobile: "09123456789" };
// @ts-expect-error "maybe" is not an AgreementAction
export const typo: Schemas["AgreementActionRequest"] = { action: "maybe", applicant_mobile: "09123456789" };

// Errors: every operation's default answer has its host's shape, and 429 carries Retry-After.
export const ipgRefusal: Json<operations["ipg_verify"]["responses"]["default"]> = { status: 0, errors: ["already verified"] };
export const miandoRefusal: Json<operations["agreement_create"]["responses"][400]> = { message: "...", code: "user_not_found" };
export const generalRefusal: Json<operations["settlement_store"]["responses"]["default"]> = { status: 0, message: "..." };
export const retryAfter: operations["balance"]["responses"][429]["headers"]["Retry-After"] = 1;

// Values the documents type both ways accept both.
export const token: Schemas["IpgTokenRequest"]["token"][] = ["6ZTL4EPCO3PKYDO7YUL6JXDTCDC3JDJQ", 155058785697];
export const wage: Schemas["IpgVerifyResponse"]["wage"][] = ["500", 500];
