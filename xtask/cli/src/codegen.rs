//! build.rs's passes (xtask/codegen/), included here as they are there, so `cargo test -p xtask`
//! runs each pass's unit tests on a small input. They sit beside this package (xtask/cli/), not in
//! it, because `cargo package` leaves out every folder holding a Cargo.toml, and the published
//! crate's build.rs needs them. The module names match build.rs's, so the
//! files' `super::<module>` paths resolve in both crates. build.rs orders the passes; nothing here
//! runs them outside the tests.

#[path = "../../codegen/spec.rs"]
mod spec;

#[path = "../../codegen/check.rs"]
mod check;
#[path = "../../codegen/hosts.rs"]
mod hosts;
#[path = "../../codegen/ipg_bodies.rs"]
mod ipg_bodies;
#[path = "../../codegen/setter_names.rs"]
mod setter_names;
#[path = "../../codegen/bounds.rs"]
mod bounds;
#[path = "../../codegen/enums.rs"]
mod enums;
#[path = "../../codegen/money_moves.rs"]
mod money_moves;
#[path = "../../codegen/operations.rs"]
mod operations;
#[path = "../../codegen/generator.rs"]
mod generator;

#[path = "../../codegen/business_from_client.rs"]
mod business_from_client;
#[path = "../../codegen/fresh_track_id.rs"]
mod fresh_track_id;
#[path = "../../codegen/no_api_version_header.rs"]
mod no_api_version_header;
#[path = "../../codegen/send_returns_value.rs"]
mod send_returns_value;
#[path = "../../codegen/optional_setters.rs"]
mod optional_setters;
#[path = "../../codegen/str_newtypes.rs"]
mod str_newtypes;
#[path = "../../codegen/written_as_text.rs"]
mod written_as_text;
#[path = "../../codegen/lenient_answer_dates.rs"]
mod lenient_answer_dates;
#[path = "../../codegen/paging.rs"]
mod paging;
#[path = "../../codegen/docs/mod.rs"]
mod docs;
