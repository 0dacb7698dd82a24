// Must NOT compile (check.sh runs tsc on it and fails CI if it does): verify's realAmount is Rials, a
// settlement's amount is Tomans; passing one as the other would pay out ten times the amount.
import type { components as ipg } from "./gen/ipg.js";
import type { components as api } from "./gen/api.js";

declare const verified: ipg["schemas"]["IpgVerifyResponse"];
export const settlement: api["schemas"]["SettlementStoreRequest"] = {
  amount: verified.realAmount!, // error TS2322: Rials is not assignable to Tomans
  iban: "IR330120020000002353697200",
  track_id: "5f6a3c1e-0000-4000-8000-000000000000",
};
