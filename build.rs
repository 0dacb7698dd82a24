//! spec/vandar.yaml -> progenitor -> $OUT_DIR/{api,ipg,batch,subscription}.rs, plus
//! $OUT_DIR/enums.rs, constraints.rs and operations.rs.
//!
//! The spec stays true to Vandar for every language; this script adapts a copy of it to what
//! progenitor 0.15 can take, and adapts progenitor's output to what the crate promises. Measured
//! facts about progenitor 0.15 decide the passes: it ignores `servers`, takes one error type per
//! operation, fails on multipart bodies and redirect-only answers, and its builders have no
//! defaults; each pass's file says what progenitor lacks and why the pass is safe.
//!
//! The passes live in xtask/codegen/, one file each, and run in the order `run` and `generate`
//! write below; xtask includes the same files, so `cargo test -p xtask` runs each pass's tests.
//! A spec mistake stops the build with a message naming the operation and field.

use std::path::{Path, PathBuf};
use std::{env, fs};

use serde_json::Value;

// Shared readers of the spec.
#[path = "xtask/codegen/spec.rs"] mod spec;
// Passes over the spec.
#[path = "xtask/codegen/check.rs"] mod check;
#[path = "xtask/codegen/hosts.rs"] mod hosts;
#[path = "xtask/codegen/ipg_bodies.rs"] mod ipg_bodies;
#[path = "xtask/codegen/setter_names.rs"] mod setter_names;
#[path = "xtask/codegen/bounds.rs"] mod bounds;
#[path = "xtask/codegen/enums.rs"] mod enums;
#[path = "xtask/codegen/money_moves.rs"] mod money_moves;
#[path = "xtask/codegen/operations.rs"] mod operations;
#[path = "xtask/codegen/generator.rs"] mod generator;
// Passes over progenitor's output.
#[path = "xtask/codegen/business_from_client.rs"] mod business_from_client;
#[path = "xtask/codegen/fresh_track_id.rs"] mod fresh_track_id;
#[path = "xtask/codegen/no_api_version_header.rs"] mod no_api_version_header;
#[path = "xtask/codegen/send_returns_value.rs"] mod send_returns_value;
#[path = "xtask/codegen/optional_setters.rs"] mod optional_setters;
#[path = "xtask/codegen/str_newtypes.rs"] mod str_newtypes;
#[path = "xtask/codegen/written_as_text.rs"] mod written_as_text;
#[path = "xtask/codegen/lenient_answer_dates.rs"] mod lenient_answer_dates;
#[path = "xtask/codegen/paging.rs"] mod paging;
#[path = "xtask/codegen/docs/mod.rs"] mod docs;

const SPEC: &str = "spec/vandar.yaml";

/// The transport's type every generated `Client` holds (progenitor's inner type).
const INNER_TYPE: &str = "std::sync::Arc<crate::transport::Transport>";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=xtask/codegen");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(message) = run(Path::new(SPEC), &out) {
        eprintln!("error: {SPEC}: {message}");
        std::process::exit(1);
    }
}

fn run(spec_path: &Path, out: &Path) -> Result<(), String> {
    let text = fs::read_to_string(spec_path).map_err(|e| format!("cannot read: {e}"))?;
    let spec: Value = serde_yaml::from_str(&text).map_err(|e| format!("not valid YAML: {e}"))?;
    check::check(&spec)?;
    let hosts = hosts::hosts(&spec)?;
    let path_order = spec::path_order(&text)?;
    let moves = money_moves::read(&spec, &hosts, &path_order)?;
    let ops = operations::read(&spec, &hosts, &path_order)?;
    let enums = enums::string_enums(&spec)?;
    write(out, "enums.rs", &enums::open_enum_invocations(&enums.values))?;
    write(out, "constraints.rs", &bounds::constraint_table(&spec))?;
    write(out, "operations.rs", &operations::table(&ops, &moves)?)?;

    for host in hosts.iter().filter(|h| env::var_os(format!("CARGO_FEATURE_{}", h.name.to_uppercase())).is_some()) {
        let mut host_spec = hosts::host_spec(&spec, host, &hosts[0]);
        if host.name == "ipg" {
            ipg_bodies::adapt(&mut host_spec);
        }
        setter_names::adapt(&mut host_spec);
        hosts::prune_components(&mut host_spec);
        // The docs read the spec's bounds; progenitor gets the copy without them.
        let documented = host_spec.clone();
        bounds::strip_bounds(&mut host_spec);
        let code = generate(&host.name, &host_spec, &documented, &enums, &moves)?;
        write(out, &format!("{}.rs", host.name), &code)?;
    }
    Ok(())
}

/// One host's module: progenitor's output, then the passes over it, in this order.
fn generate(host: &str, host_spec: &Value, documented: &Value, enums: &enums::Enums, moves: &[money_moves::MoneyMove]) -> Result<String, String> {
    use syn::visit_mut::VisitMut;
    let mut file = generator::run(host, host_spec, enums, INNER_TYPE)?;
    let requests = spec::request_schemas(host_spec);
    business_from_client::BusinessFromClient.visit_file_mut(&mut file);
    fresh_track_id::FreshTrackId { ids: moves.iter().filter_map(|m| m.fresh.clone()).collect() }.visit_file_mut(&mut file);
    no_api_version_header::NoApiVersionHeader.visit_file_mut(&mut file);
    send_returns_value::SendReturnsValue.visit_file_mut(&mut file);
    optional_setters::OptionalSetters { requests: &requests }.visit_file_mut(&mut file);
    str_newtypes::StrNewtypes.visit_file_mut(&mut file);
    written_as_text::WrittenAsText.visit_file_mut(&mut file);
    lenient_answer_dates::LenientAnswerDates { requests: &requests }.visit_file_mut(&mut file);
    paging::add_paging(&mut file, &paging::list_operations(host_spec))?;
    docs::add_docs(&mut file, documented, &requests);
    Ok(format!(
        "// @generated by build.rs from spec/vandar.yaml (host {host}). Do not edit.\n{}",
        prettyplease::unparse(&file)
    ))
}

fn write(out: &Path, name: &str, code: &str) -> Result<(), String> {
    fs::write(out.join(name), code).map_err(|e| format!("cannot write {name}: {e}"))
}
