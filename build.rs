//! spec/vandar.yaml -> progenitor -> $OUT_DIR/{api,ipg,batch,subscription}.rs and $OUT_DIR/enums.rs
//!
//! The spec stays true to Vandar for every language; this script adapts a copy of it to what
//! progenitor 0.15 can take (see shared/reference/progenitor-notes.md):
//!
//! * progenitor ignores `servers`, so the spec is split into one document per host (path-level
//!   `servers` entry; none = api) and each host gets its own generated `Client`.
//! * progenitor asserts one error type per operation, and Vandar's error bodies differ even within
//!   one operation, so error responses are dropped from the copy: non-2xx answers reach
//!   `crate::transport`, which decodes every documented error shape into `vandar::Error`.
//! * Browser redirects (only a 302 answer) and multipart bodies are left out of the copy; the
//!   hand-written layer offers a typed call for each (src/redirects.rs, src/ravand.rs).
//! * `api_key` is removed from the IPG request bodies: the transport adds the configured key, so
//!   callers never handle it.
//! * Every named string enum is replaced by an open enum (`crate::enums`) with an `Unknown(String)`
//!   case, so a value Vandar adds later never breaks decoding of a successful answer. The spec keeps
//!   request enums closed (`enum:`) and answer enums open (`type: string` with the documented values
//!   in `x-extensible-enum`); both become the same kind of Rust enum, and an open form that names its
//!   closed twin in `x-vandar-request-enum` (e.g. `PartyRoleOpen` -> `PartyRole`) reuses its type.
//! * The IPG token is typed number-or-string in the spec (the documents type it both ways); the copy
//!   keeps it a `String`, the value `ipg_send` returned, which is what Rust callers send back.
//!
//! A spec mistake stops the build with a message naming the operation and field.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::{env, fs};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle, TypeImpl};
use serde_json::{Map, Value};

const SPEC: &str = "spec/vandar.yaml";

/// (module and feature name, base URL named by the path-level `servers` entry)
const HOSTS: [(&str, &str); 4] = [
    ("api", "https://api.vandar.io"),
    ("ipg", "https://ipg.vandar.io"),
    ("batch", "https://batch.vandar.io"),
    ("subscription", "https://subscription.vandar.io"),
];

/// IPG request bodies whose `api_key` the transport fills in.
const IPG_KEYED_BODIES: [&str; 2] = ["IpgSendRequest", "IpgTokenRequest"];

/// IPG request bodies whose `token` (`IpgToken`, number or string in the spec) Rust sends as a string.
const IPG_TOKEN_BODIES: [&str; 1] = ["IpgTokenRequest"];

/// The spec's money schemas and the `crate::money` type each becomes. `RialsString` is a
/// placeholder that `RialsAsText` turns into `Rials` written as a string.
const MONEY: [(&str, &str); 4] = [
    ("Rials", "crate::money::Rials"),
    ("Tomans", "crate::money::Tomans"),
    ("RialsNumberOrString", "crate::money::Rials"),
    ("RialsString", "crate::money::RialsString"),
];

/// The spec's date schemas and the `crate::dates` type each becomes (see src/dates.rs).
/// `JalaliDateSlashed` is a placeholder that `WrittenAsText` turns into `JalaliDate` written `YYYY/MM/DD`.
const DATES: [(&str, &str); 4] = [
    ("JalaliDate", "crate::dates::JalaliDate"),
    ("JalaliDateSlashed", "crate::dates::JalaliDateSlashed"),
    ("JalaliDateTime", "crate::dates::JalaliDateTime"),
    ("TehranDateTime", "crate::dates::TehranDateTime"),
];

/// Placeholder types, the type each field really gets, and the `serialize_with` module that writes
/// it in the form Vandar takes for those fields (`serialize` for a required field, `option` for an
/// optional one).
const WRITTEN_AS_TEXT: [(&str, &str, &str); 2] = [
    ("RialsString", "Rials", "crate::money::as_text"),
    ("JalaliDateSlashed", "JalaliDate", "crate::dates::slashed"),
];

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(message) = run(Path::new(SPEC), &out) {
        eprintln!("error: {SPEC}: {message}");
        std::process::exit(1);
    }
}

fn run(spec_path: &Path, out: &Path) -> Result<(), String> {
    let text = fs::read_to_string(spec_path).map_err(|e| format!("cannot read: {e}"))?;
    let spec: Value = serde_yaml::from_str(&text).map_err(|e| format!("not valid YAML: {e}"))?;
    check(&spec)?;

    let enums = string_enums(&spec)?;
    fs::write(out.join("enums.rs"), open_enum_invocations(&enums.values)).map_err(|e| e.to_string())?;
    fs::write(out.join("constraints.rs"), constraint_table(&spec)).map_err(|e| e.to_string())?;
    fs::write(out.join("money_moves.rs"), include_str!("/tmp/mm.rs")).map_err(|e| e.to_string())?; // TEMP until the codegen merge

    for (host, base_url) in HOSTS {
        let feature = format!("CARGO_FEATURE_{}", host.to_uppercase());
        if env::var_os(feature).is_none() {
            continue;
        }
        let documented = host_document(&spec, base_url, host == "ipg");
        let mut doc = documented.clone();
        strip_bounds(&mut doc);
        let code = generate(host, &doc, &documented, &enums)?;
        fs::write(out.join(format!("{host}.rs")), code).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Rejects what progenitor would reject or panic on, naming the operation and field.
fn check(spec: &Value) -> Result<(), String> {
    let version = spec["openapi"].as_str().unwrap_or_default();
    if !version.starts_with("3.0.") {
        return Err(format!("openapi: {version:?}: progenitor takes only OpenAPI 3.0.x"));
    }
    let mut ids = BTreeSet::new();
    for (path, method, op) in operations(spec) {
        let id = op["operationId"]
            .as_str()
            .ok_or_else(|| format!("{method} {path}: missing operationId"))?;
        if !ids.insert(id.to_string()) {
            return Err(format!("{id}: operationId used twice"));
        }
        if let Some(content) = resolve(spec, &op["requestBody"])["content"].as_object() {
            if content.len() > 1 {
                return Err(format!("{id}: requestBody: one media type per body, found {}", content.len()));
            }
            for (media, body) in content {
                if media.contains("json") && body.get("schema").is_none() {
                    return Err(format!("{id}: requestBody.content.{media}: schema missing"));
                }
            }
        }
        let responses = op["responses"].as_object().ok_or_else(|| format!("{id}: responses missing"))?;
        if !responses.keys().any(|code| code.starts_with('2') || code == "302") {
            return Err(format!("{id}: responses: no 2xx or 302 answer"));
        }
        let success: Vec<_> = responses.keys().filter(|code| code.starts_with('2')).collect();
        if success.len() > 1 {
            return Err(format!("{id}: responses: one success answer per operation, found {success:?}"));
        }
        for (code, response) in responses {
            for (media, body) in resolve(spec, response)["content"].as_object().into_iter().flatten() {
                if media.contains("json") && body.get("schema").is_none() {
                    return Err(format!("{id}: responses.{code}.content.{media}: schema missing"));
                }
            }
        }
        for param in op["parameters"].as_array().into_iter().flatten() {
            let param = resolve(spec, param);
            let name = param["name"].as_str().unwrap_or("?");
            match (param["in"].as_str(), param["style"].as_str()) {
                (Some("cookie"), _) => return Err(format!("{id}: parameter {name}: cookie parameters are not supported")),
                (_, Some("deepObject")) => return Err(format!("{id}: parameter {name}: deepObject style is not supported")),
                _ => {}
            }
        }
    }
    check_refs(spec, spec, "")
}

fn check_refs(spec: &Value, node: &Value, at: &str) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(Value::as_str) {
                if lookup(spec, target).is_none() {
                    return Err(format!("{at}: $ref {target} does not resolve"));
                }
            }
            map.iter().try_for_each(|(k, v)| check_refs(spec, v, &format!("{at}/{k}")))
        }
        Value::Array(items) => items.iter().try_for_each(|v| check_refs(spec, v, at)),
        _ => Ok(()),
    }
}

fn operations(spec: &Value) -> impl Iterator<Item = (&str, &str, &Value)> {
    spec["paths"].as_object().into_iter().flatten().flat_map(|(path, item)| {
        METHODS
            .iter()
            .filter_map(move |m| item.get(*m).map(|op| (path.as_str(), *m, op)))
    })
}

fn lookup<'a>(spec: &'a Value, reference: &str) -> Option<&'a Value> {
    spec.pointer(reference.strip_prefix('#')?)
}

fn resolve<'a>(spec: &'a Value, node: &'a Value) -> &'a Value {
    match node["$ref"].as_str() {
        Some(r) => lookup(spec, r).unwrap_or(&Value::Null),
        None => node,
    }
}

fn host_of(item: &Value) -> &str {
    item["servers"][0]["url"].as_str().unwrap_or(HOSTS[0].1)
}

/// Operations progenitor cannot express, served by hand-written calls instead.
fn adapted(op: &Value) -> bool {
    let responses = op["responses"].as_object();
    let redirect_only = responses.is_some_and(|r| !r.keys().any(|c| c.starts_with('2')));
    let multipart = op["requestBody"]["content"].get("multipart/form-data").is_some();
    redirect_only || multipart
}

/// The spec cut down to one host, in the form progenitor takes.
fn host_document(spec: &Value, base_url: &str, ipg: bool) -> Value {
    let mut doc = spec.clone();
    let root = doc.as_object_mut().expect("spec is a mapping");
    root.remove("x-webhooks");
    root.remove("servers");

    let mut paths = Map::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        if host_of(item) != base_url {
            continue;
        }
        let mut item = item.clone();
        let item_map = item.as_object_mut().expect("path item is a mapping");
        item_map.remove("servers");
        for method in METHODS {
            let Some(op) = item_map.get_mut(method) else { continue };
            if adapted(op) {
                item_map.remove(method);
                continue;
            }
            // Only the success answer: see the module docs.
            if let Some(responses) = op["responses"].as_object_mut() {
                responses.retain(|code, _| code.starts_with('2'));
            }
        }
        if item_map.keys().any(|k| METHODS.contains(&k.as_str())) {
            paths.insert(path.clone(), item);
        }
    }
    root.insert("paths".into(), Value::Object(paths));

    if ipg {
        for name in IPG_TOKEN_BODIES {
            if let Some(token) = doc.pointer_mut(&format!("/components/schemas/{name}/properties/token")) {
                *token = serde_json::json!({"type": "string", "description": "Payment token from ipg_send"});
            }
        }
        for name in IPG_KEYED_BODIES {
            if let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) {
                schema["properties"].as_object_mut().map(|p| p.remove("api_key"));
                if let Some(required) = schema["required"].as_array_mut() {
                    required.retain(|r| r != "api_key");
                }
            }
        }
    }
    prune_components(&mut doc);
    doc
}

/// Keywords typify turns into checked types (`NonZeroU64` for `minimum: 1`, `u64` for
/// `minimum: 0`, a validated newtype for `pattern` or a length): a setter would then refuse a plain
/// `10` or `"..."` at compile time and report a failure without naming its rule. The copy drops them;
/// `crate::validate` checks the same bounds from the full spec (see `constraint_table`) before
/// anything is sent, naming the field and the rule in words.
const CHECKED_KEYWORDS: [&str; 8] =
    ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "pattern", "minLength", "maxLength"];

fn strip_bounds(node: &mut Value) {
    match node {
        Value::Object(map) => {
            let scalar = matches!(map.get("type").and_then(Value::as_str), Some("integer" | "number" | "string"))
                || map.get("allOf").is_some_and(Value::is_array);
            if scalar {
                CHECKED_KEYWORDS.iter().for_each(|k| drop(map.remove(*k)));
            }
            map.values_mut().for_each(strip_bounds);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_bounds),
        _ => {}
    }
}

/// Keeps only the components reachable from this host's paths, so each module holds its own types.
fn prune_components(doc: &mut Value) {
    let mut reachable = BTreeSet::new();
    let mut pending: Vec<String> = Vec::new();
    collect_refs(&doc["paths"], &mut pending);
    while let Some(r) = pending.pop() {
        if reachable.insert(r.clone()) {
            if let Some(target) = lookup(doc, &r) {
                collect_refs(target, &mut pending);
            }
        }
    }
    if let Some(components) = doc["components"].as_object_mut() {
        for (kind, entries) in components.iter_mut() {
            if kind == "securitySchemes" {
                continue;
            }
            if let Some(entries) = entries.as_object_mut() {
                entries.retain(|name, _| reachable.contains(&format!("#/components/{kind}/{name}")));
            }
        }
    }
}

/// The schemas a request body reaches, by name: the generated types that are (part of) what you
/// send, as opposed to what Vandar answers.
struct RequestTypes(BTreeSet<String>);

impl RequestTypes {
    /// Whether the generated type `name` is one of them. typify names inline schemas after their
    /// parent (`Parent` + `Property`), so a name that starts with a request schema's name counts too.
    fn includes(&self, name: &str) -> bool {
        self.0.iter().any(|r| name.starts_with(r.as_str()))
    }
}

fn request_schemas(doc: &Value) -> RequestTypes {
    let mut pending = Vec::new();
    for (_, _, op) in operations(doc) {
        collect_refs(&op["requestBody"], &mut pending);
    }
    let (mut seen, mut names) = (BTreeSet::new(), BTreeSet::new());
    while let Some(r) = pending.pop() {
        if seen.insert(r.clone()) {
            if let Some(name) = r.strip_prefix("#/components/schemas/") {
                names.insert(name.to_string());
            }
            collect_refs(lookup(doc, &r).unwrap_or(&Value::Null), &mut pending);
        }
    }
    RequestTypes(names)
}

fn collect_refs(node: &Value, into: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                into.push(r.to_string());
            }
            map.values().for_each(|v| collect_refs(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, into)),
        _ => {}
    }
}

/// The spec's bounds on request bodies and query or path parameters (numbers, lengths, patterns,
/// item counts, identifiers), as a table `crate::validate` checks every request against before it
/// is sent. The generated types do not carry them (see `strip_bounds`).
fn constraint_table(spec: &Value) -> String {
    let mut rows = Vec::new();
    let mut schemas = BTreeSet::new();
    for (_, _, op) in operations(spec) {
        let id = op["operationId"].as_str().unwrap_or_default();
        let body = resolve(spec, &op["requestBody"]);
        if let Some(schema) = body["content"]["application/json"].get("schema") {
            collect_constraints(spec, schema, "", id, &mut rows, 0);
            // Once more under `#SchemaName`, for the mock, which checks bodies by their type.
            if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()).filter(|n| schemas.insert(*n)) {
                collect_constraints(spec, schema, "", &format!("#{name}"), &mut rows, 0);
            }
        }
        // Query parameters, as `?name`.
        for param in op["parameters"].as_array().into_iter().flatten() {
            let param = resolve(spec, param);
            if let (Some(name), Some("query")) = (param["name"].as_str(), param["in"].as_str()) {
                collect_constraints(spec, &param["schema"], &format!("?{name}"), id, &mut rows, 0);
            }
        }
    }
    // Sorted by operation (stable), so each operation's rows are one range of the table (`rows_of`).
    rows.sort_by(|a, b| a.split("\", ").next().cmp(&b.split("\", ").next()));
    let mut code = String::from("// Generated by build.rs from spec/vandar.yaml: request bounds per operation, sorted by operation.\n");
    code += "pub(crate) const CONSTRAINTS: &[(&str, &str, Constraint)] = &[\n";
    let mut ranges: Vec<(String, usize, usize)> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        code += &format!("    {row},\n");
        let operation = row.split("\", ").next().unwrap_or_default().trim_start_matches("(\"").to_string();
        match ranges.last_mut() {
            Some((last, _, end)) if *last == operation => *end = i + 1,
            _ => ranges.push((operation, i, i + 1)),
        }
    }
    code += "];\n\n/// The rows of `operation` (a match: every call looks its rows up).\n";
    code += "pub(crate) fn rows_of(operation: &str) -> &'static [(&'static str, &'static str, Constraint)] {\n    match operation {\n";
    for (operation, start, end) in ranges {
        code += &format!("        {operation:?} => &CONSTRAINTS[{start}..{end}],\n");
    }
    code + "        _ => &[],\n    }\n}\n"
}

fn collect_constraints(spec: &Value, schema: &Value, path: &str, id: &str, rows: &mut Vec<String>, depth: usize) {
    let identifier = match schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        Some(name @ ("Iban" | "NationalCode" | "Mobile" | "CardNumber")) => Some(name),
        _ => None,
    };
    if let Some(kind) = identifier {
        rows.push(format!("({id:?}, {path:?}, Constraint::Id(IdKind::{kind}))"));
    }
    let schema = resolve(spec, schema);
    if depth > 8 {
        return;
    }
    // JSON Schema's dependentRequired, which OpenAPI 3.0 lacks: a field that needs another beside it.
    for (field, needs) in schema["x-dependentRequired"].as_object().into_iter().flatten() {
        for needed in needs.as_array().into_iter().flatten().filter_map(Value::as_str) {
            rows.push(format!("({id:?}, {path:?}, Constraint::Requires {{ field: {field:?}, needs: {needed:?} }})"));
        }
    }
    for (keyword, kind) in [("minimum", "Minimum"), ("maximum", "Maximum"), ("minItems", "MinItems"), ("maxItems", "MaxItems")] {
        if let Some(n) = schema.get(keyword).and_then(Value::as_f64) {
            let value = if kind.ends_with("Items") { format!("{}", n as u64) } else { format!("{n:?}") };
            rows.push(format!("({id:?}, {path:?}, Constraint::{kind}({value}))"));
        }
    }
    for (keyword, kind) in [("minLength", "MinLength"), ("maxLength", "MaxLength")] {
        if let Some(n) = schema.get(keyword).and_then(Value::as_u64) {
            rows.push(format!("({id:?}, {path:?}, Constraint::{kind}({n}))"));
        }
    }
    if let Some(pattern) = schema["pattern"].as_str().filter(|_| identifier.is_none()) {
        rows.push(format!("({id:?}, {path:?}, Constraint::Pattern({pattern:?}))"));
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        collect_constraints(spec, part, path, id, rows, depth + 1);
    }
    for (name, property) in schema["properties"].as_object().into_iter().flatten() {
        let inner = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
        collect_constraints(spec, property, &inner, id, rows, depth + 1);
    }
    if schema.get("items").is_some() {
        collect_constraints(spec, &schema["items"], &format!("{path}[]"), id, rows, depth + 1);
    }
}

/// The spec's named string enums, each replaced by one open Rust enum.
struct Enums {
    /// Rust enum name -> documented values: closed request enums (`enum`) and open answer enums
    /// (`x-extensible-enum`) alike.
    values: BTreeMap<String, Vec<String>>,
    /// Spec schema name -> Rust enum it is replaced by: every enum by its own, and every open form
    /// (`x-vandar-request-enum`) by its closed twin's.
    replacements: BTreeMap<String, String>,
}

fn string_enums(spec: &Value) -> Result<Enums, String> {
    let strings = |v: &Value| -> Vec<String> { v.as_array().into_iter().flatten().filter_map(|v| v.as_str().map(String::from)).collect() };
    let mut enums = Enums { values: BTreeMap::new(), replacements: BTreeMap::new() };
    let schemas = spec["components"]["schemas"].as_object().into_iter().flatten();
    for (name, schema) in schemas.filter(|(_, s)| s["type"] == "string") {
        let (closed, open) = (schema.get("enum"), schema.get("x-extensible-enum"));
        let values = match (closed, open) {
            (Some(_), Some(_)) => return Err(format!("components.schemas.{name}: both enum and x-extensible-enum")),
            (Some(values), None) | (None, Some(values)) => strings(values),
            (None, None) => continue,
        };
        match schema["x-vandar-request-enum"].as_str() {
            Some(twin) => {
                let twin_values = strings(&spec["components"]["schemas"][twin]["enum"]);
                if twin_values != values {
                    return Err(format!("components.schemas.{name}: x-extensible-enum differs from the enum of {twin}, its x-vandar-request-enum"));
                }
                enums.replacements.insert(name.clone(), twin.to_string());
            }
            None => {
                enums.values.insert(name.clone(), values);
                enums.replacements.insert(name.clone(), name.clone());
            }
        }
    }
    Ok(enums)
}

fn open_enum_invocations(enums: &BTreeMap<String, Vec<String>>) -> String {
    let mut code = String::from("// Generated by build.rs from spec/vandar.yaml: one open enum per named string enum.\n");
    for (name, values) in enums {
        let variants: Vec<String> =
            values.iter().map(|v| format!("    {} => {:?},", variant_name(v), v)).collect();
        code += &format!("crate::open_enum! {{\n    /// `{name}` in spec/vandar.yaml.\n    {name} {{\n{}\n    }}\n}}\n", variants.join("\n"));
    }
    code
}

/// `wallet_iban` -> `WalletIban`, `full-pay` -> `FullPay`, `PENDING_VERIFY` -> `PendingVerify`.
fn variant_name(value: &str) -> String {
    value
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let lower = w.to_ascii_lowercase();
            let mut chars = lower.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Pass over progenitor's output: every operation builder's `business` path parameter starts as
/// the business slug the `Client` was configured with, instead of "not initialized".
///
/// progenitor lacks it because a path parameter has no default; 92 of the api host's operations
/// take the slug and a `Client` serves one business. Safe: the builder's `.business(..)` setter
/// still overrides it, and a client without a slug fails the call before sending, as before,
/// with a message naming both ways to give one.
struct BusinessFromClient;

impl syn::visit_mut::VisitMut for BusinessFromClient {
    fn visit_expr_struct_mut(&mut self, init: &mut syn::ExprStruct) {
        for field in &mut init.fields {
            let named_business = matches!(&field.member, syn::Member::Named(name) if name == "business");
            let uninitialized = quote::ToTokens::to_token_stream(&field.expr).to_string().contains("was not initialized");
            if named_business && uninitialized {
                field.expr = syn::parse_quote!(client.inner.business());
            }
        }
        syn::visit_mut::visit_expr_struct_mut(self, init);
    }
}

/// Pass over progenitor's output: no `api-version` header. progenitor sends the spec's
/// `info.version` in it on every request; Vandar documents no such header, and removing it again in
/// the transport cost every call a header insert and a removal.
///
/// Safe: the statement only appends to the request's header map, which is still built and sent.
struct NoApiVersionHeader;

impl syn::visit_mut::VisitMut for NoApiVersionHeader {
    fn visit_block_mut(&mut self, block: &mut syn::Block) {
        // Only progenitor's `header_map.append(HeaderName::from_static("api-version"), ..);`.
        block.stmts.retain(|stmt| {
            let text = quote::ToTokens::to_token_stream(stmt).to_string();
            !(text.starts_with("header_map . append (") && text.contains("from_static (\"api-version\")"))
        });
        syn::visit_mut::visit_block_mut(self, block);
    }
}

/// Pass over progenitor's output: each operation builder's `send()` returns
/// `Result<T, crate::Error>`, the answer itself and the crate's one error type; progenitor's own
/// `send` (`Result<ResponseValue<T>, progenitor_client::Error<()>>`, with the status and headers)
/// stays as `send_with_headers`, the low-level form.
///
/// progenitor lacks it because its error type is generic over the spec's error schemas, which
/// build.rs drops (see the module docs). Safe: the new `send` only calls the original and converts
/// both sides with `ResponseValue::into_inner` and `From<progenitor_client::Error<E>> for Error`.
struct SendReturnsValue;

impl syn::visit_mut::VisitMut for SendReturnsValue {
    fn visit_item_impl_mut(&mut self, block: &mut syn::ItemImpl) {
        let mut added = Vec::new();
        for item in &mut block.items {
            let syn::ImplItem::Fn(send) = item else { continue };
            let Some(answer) = (send.sig.ident == "send").then(|| response_value_type(&send.sig.output)).flatten() else { continue };
            let docs: Vec<syn::Attribute> = send.attrs.iter().filter(|a| a.path().is_ident("doc")).cloned().collect();
            send.sig.ident = syn::parse_quote!(send_with_headers);
            send.attrs.push(syn::parse_quote!(
                #[doc = "\n\nThe low-level form of `send`: Vandar's status and headers with the answer (`ResponseValue`), and progenitor's error type."]
            ));
            added.push(syn::ImplItem::Fn(syn::parse_quote! {
                #(#docs)*
                pub async fn send(self) -> Result<#answer, crate::Error> {
                    self.send_with_headers().await.map(ResponseValue::into_inner).map_err(crate::Error::from)
                }
            }));
        }
        block.items.extend(added);
        syn::visit_mut::visit_item_impl_mut(self, block);
    }
}

/// Pass over typify's struct builders: the setter of an optional field takes the value itself
/// (`.description("Order 1001")`, `.amount(Rials(5_000))`), and `maybe_<field>` takes an `Option`
/// (typify's original setter, which wanted `Option<..>: From<&str>` and so refused a `&str`).
///
/// typify lacks it because its setters convert into the field's type, `Option<T>`. Safe: both
/// setters store the same field, and a failed conversion still surfaces at `send()`, naming the field.
struct OptionalSetters<'a> {
    /// Answers' builders keep typify's setters.
    requests: &'a RequestTypes,
}

impl syn::visit_mut::VisitMut for OptionalSetters<'_> {
    fn visit_item_impl_mut(&mut self, block: &mut syn::ItemImpl) {
        let name = quote::ToTokens::to_token_stream(&block.self_ty).to_string();
        if block.trait_.is_some() || !self.requests.includes(&name) {
            return syn::visit_mut::visit_item_impl_mut(self, block);
        }
        let mut added = Vec::new();
        for item in &mut block.items {
            let syn::ImplItem::Fn(setter) = item else { continue };
            let Some(inner) = optional_setter_type(setter) else { continue };
            let name = setter.sig.ident.clone();
            let maybe = syn::Ident::new(&format!("maybe_{name}"), name.span());
            let message = format!("error converting supplied value for {name}: {{}}");
            let mut original = setter.clone();
            original.sig.ident = maybe;
            original.attrs.push(syn::parse_quote!(#[doc = concat!("Sets `", stringify!(#name), "` from an `Option`; `None` leaves it out of the request.")]));
            *setter = syn::parse_quote! {
                #[doc = concat!("Sets `", stringify!(#name), "` (optional: leave it out by not calling this, or use `maybe_", stringify!(#name), "`).")]
                pub fn #name<T>(mut self, value: T) -> Self
                where
                    T: ::std::convert::TryInto<#inner>,
                    T::Error: ::std::fmt::Display,
                {
                    self.#name = value.try_into().map(Some).map_err(|e| format!(#message, e));
                    self
                }
            };
            added.push(syn::ImplItem::Fn(original));
        }
        block.items.extend(added);
        syn::visit_mut::visit_item_impl_mut(self, block);
    }
}

/// Pass over typify's types: every string newtype (`Mobile`, `Iban`, ...) converts from `&str` too,
/// so a setter takes a literal (`.mobile_number("09123456789")`).
///
/// typify lacks it because it emits `From<String>` only for a newtype without checks; this copy of
/// the spec has none (see `strip_bounds`). Safe: the same conversion as `From<String>`.
struct StrNewtypes;

impl syn::visit_mut::VisitMut for StrNewtypes {
    fn visit_item_mod_mut(&mut self, module: &mut syn::ItemMod) {
        if let Some((_, items)) = &mut module.content {
            let string: syn::Type = syn::parse_quote!(::std::string::String);
            let newtypes: Vec<syn::Ident> = items
                .iter()
                .filter_map(|item| match item {
                    syn::Item::Struct(s) => match &s.fields {
                        syn::Fields::Unnamed(f) if f.unnamed.len() == 1 && f.unnamed[0].ty == string => Some(s.ident.clone()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect();
            let has_from_str = |name: &syn::Ident| {
                items.iter().any(|item| matches!(item, syn::Item::Impl(i)
                    if *name == quote::ToTokens::to_token_stream(&i.self_ty).to_string()
                        && i.trait_.as_ref().is_some_and(|(_, t, _)| quote::ToTokens::to_token_stream(t).to_string().contains("From < & str >"))))
            };
            let missing: Vec<syn::Ident> = newtypes.into_iter().filter(|n| !has_from_str(n)).collect();
            for name in missing {
                items.push(syn::parse_quote! {
                    impl ::std::convert::From<&str> for #name {
                        fn from(value: &str) -> Self {
                            Self(value.to_string())
                        }
                    }
                });
            }
        }
        syn::visit_mut::visit_item_mod_mut(self, module);
    }
}

/// Pass over the generated code: a field the spec types `RialsString` (an amount Vandar takes as a
/// string of digits) is a `crate::money::Rials` written as a string, and one typed
/// `JalaliDateSlashed` is a `crate::dates::JalaliDate` written `YYYY/MM/DD`, so callers handle one
/// Rials type and one Jalali type (see `WRITTEN_AS_TEXT`).
///
/// typify lacks it because a replaced type has one serialization. Safe: only serialization changes
/// (both types read every form), and only on the fields of those schemas.
struct WrittenAsText;

impl syn::visit_mut::VisitMut for WrittenAsText {
    fn visit_field_mut(&mut self, field: &mut syn::Field) {
        let ty = quote::ToTokens::to_token_stream(&field.ty).to_string();
        // Builder fields (`Result<..>`) are not serialized.
        for (placeholder, _, module) in WRITTEN_AS_TEXT {
            if ty.contains(placeholder) && !ty.contains("Result") {
                let with = format!("{module}::{}", if ty.contains("Option") { "option" } else { "serialize" });
                field.attrs.push(syn::parse_quote!(#[serde(serialize_with = #with)]));
            }
        }
        syn::visit_mut::visit_field_mut(self, field);
    }

    fn visit_path_mut(&mut self, path: &mut syn::Path) {
        if let Some(last) = path.segments.last_mut() {
            if let Some((_, real, _)) = WRITTEN_AS_TEXT.iter().find(|(placeholder, _, _)| last.ident == placeholder) {
                last.ident = syn::Ident::new(real, last.ident.span());
            }
        }
        syn::visit_mut::visit_path_mut(self, path);
    }
}

/// Pass over typify's types: an optional date field of an answer reads leniently
/// (`crate::dates::lenient`): text that is not a date in the documented form is `None`, with a
/// warning, instead of making Vandar's whole answer undecodable, so a payment or settlement that
/// succeeded is never reported as failed over a date.
///
/// typify lacks it because a replaced type has one way to read. Safe: only answers' optional date
/// fields change; request types (the mock reads them) keep their strict reading.
struct LenientAnswerDates<'a> {
    /// Request types keep the strict reading.
    requests: &'a RequestTypes,
}

impl syn::visit_mut::VisitMut for LenientAnswerDates<'_> {
    fn visit_item_struct_mut(&mut self, item: &mut syn::ItemStruct) {
        let name = item.ident.to_string();
        if self.requests.includes(&name) {
            return;
        }
        for field in item.fields.iter_mut() {
            let ty = quote::ToTokens::to_token_stream(&field.ty).to_string().replace(' ', "");
            let date = ["JalaliDate>", "JalaliDateTime>", "TehranDateTime>"].iter().any(|d| ty.ends_with(&format!("crate::dates::{d}")));
            if !(ty.starts_with("::std::option::Option<") && date) {
                continue;
            }
            let serde_attrs: String = field.attrs.iter().filter(|a| a.path().is_ident("serde")).map(|a| quote::ToTokens::to_token_stream(a).to_string()).collect();
            let default = !serde_attrs.contains("default");
            field.attrs.push(if default {
                syn::parse_quote!(#[serde(default, deserialize_with = "crate::dates::lenient::deserialize")])
            } else {
                syn::parse_quote!(#[serde(deserialize_with = "crate::dates::lenient::deserialize")])
            });
        }
    }
}

/// A list operation, as auto-paging (`crate::paging`) needs it.
struct ListOperation {
    /// progenitor's builder type: the operationId in UpperCamelCase.
    builder: String,
    /// The answer's schema name (the generated type).
    answer: String,
    style: &'static str,
    /// JSON pointers to the paging fields' object and to the items array.
    paging: String,
    items: String,
    per_page: bool,
    start_after: bool,
}

/// Every operation with a `page` or `start_after` parameter, with the spec's paging component
/// found in its answer (`FlatPaginator`, `ResourcePage`, `CursorPage`), or none (`Unmarked`).
fn list_operations(doc: &Value) -> Vec<ListOperation> {
    let mut lists = Vec::new();
    for (_, _, op) in operations(doc) {
        let params: Vec<&str> = op["parameters"].as_array().into_iter().flatten().filter_map(|p| resolve(doc, p)["name"].as_str()).collect();
        if !params.iter().any(|p| *p == "page" || *p == "start_after") {
            continue;
        }
        let schema = &op["responses"]["200"]["content"]["application/json"]["schema"];
        let Some(answer) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) else { continue };
        let (style, paging) = paging_component(doc, schema, "", 0).unwrap_or(("Unmarked", String::new()));
        let items = if style == "Unmarked" { first_array(doc, schema, "", 0).unwrap_or_default() } else { format!("{paging}/data") };
        let id = op["operationId"].as_str().unwrap_or_default();
        lists.push(ListOperation {
            builder: camel(id),
            answer: answer.to_string(),
            style,
            paging,
            items,
            per_page: params.contains(&"per_page"),
            start_after: params.contains(&"start_after"),
        });
    }
    lists
}

fn paging_component(doc: &Value, schema: &Value, at: &str, depth: usize) -> Option<(&'static str, String)> {
    let schema = resolve(doc, schema);
    for part in schema["allOf"].as_array().into_iter().flatten() {
        let style = match part["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            Some("FlatPaginator") => Some("Flat"),
            Some("ResourcePage") => Some("Resource"),
            Some("CursorPage") => Some("Cursor"),
            _ => None,
        };
        if let Some(style) = style {
            return Some((style, at.to_string()));
        }
        if let Some(found) = paging_component(doc, part, at, depth + 1).filter(|_| depth < 6) {
            return Some(found);
        }
    }
    schema["properties"].as_object().into_iter().flatten().filter(|_| depth < 6).find_map(|(name, property)| {
        paging_component(doc, property, &format!("{at}/{name}"), depth + 1)
    })
}

fn first_array(doc: &Value, schema: &Value, at: &str, depth: usize) -> Option<String> {
    let schema = resolve(doc, schema);
    if schema["type"] == "array" {
        return Some(at.to_string());
    }
    schema["properties"].as_object().into_iter().flatten().filter(|_| depth < 6).find_map(|(name, property)| {
        first_array(doc, property, &format!("{at}/{name}"), depth + 1)
    })
}

/// The generated type of the items at `pointer` in the answer type `answer`: follows the `types`
/// module's struct fields, through `Option` and into the `Vec`.
fn item_type(structs: &BTreeMap<String, Vec<syn::Field>>, answer: &str, pointer: &str) -> Option<syn::Type> {
    let mut current = answer.to_string();
    let segments: Vec<&str> = pointer.split('/').filter(|s| !s.is_empty()).collect();
    for (i, segment) in segments.iter().enumerate() {
        let field = structs.get(&current)?.iter().find(|f| f.ident.as_ref().is_some_and(|id| id == segment))?;
        let ty = unwrap_generic(&field.ty, "Option").unwrap_or_else(|| field.ty.clone());
        if i + 1 == segments.len() {
            let item = unwrap_generic(&ty, "Vec")?;
            return Some(match &item {
                syn::Type::Path(p) if p.path.segments.len() == 1 => syn::parse_quote!(types::#item),
                _ => item,
            });
        }
        let syn::Type::Path(path) = ty else { return None };
        current = path.path.segments.last()?.ident.to_string();
    }
    None
}

fn unwrap_generic(ty: &syn::Type, name: &str) -> Option<syn::Type> {
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last().filter(|s| s.ident == name)?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else { return None };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) => Some(inner.clone()),
        _ => None,
    }
}

/// Pass over progenitor's output: every list operation's builder gets `.items()` and `.pages()`,
/// streams across pages (`crate::paging`), through an impl of `crate::paging::Paged` placed in the
/// builder module (it reads the builder's `page` and `per_page`).
///
/// progenitor lacks it because OpenAPI has no paging vocabulary; the spec's paging components say
/// which style each list uses. Safe: each page is one ordinary `send()`.
fn add_paging(file: &mut syn::File, lists: &[ListOperation]) -> Result<(), String> {
    let mut structs = BTreeMap::new();
    for item in &file.items {
        let syn::Item::Mod(module) = item else { continue };
        if module.ident != "types" {
            continue;
        }
        for item in module.content.iter().flat_map(|(_, items)| items) {
            if let syn::Item::Struct(s) = item {
                structs.insert(s.ident.to_string(), s.fields.iter().cloned().collect::<Vec<_>>());
            }
        }
    }
    let mut added: Vec<syn::Item> = Vec::new();
    for list in lists {
        let item = item_type(&structs, &list.answer, &list.items)
            .ok_or_else(|| format!("paging: no item type at {} in {}", list.items, list.answer))?;
        let builder = syn::Ident::new(&list.builder, proc_macro2::Span::call_site());
        let answer = syn::Ident::new(&list.answer, proc_macro2::Span::call_site());
        let style = syn::Ident::new(list.style, proc_macro2::Span::call_site());
        let (paging, items) = (&list.paging, &list.items);
        let page = if list.start_after { quote::quote!(None) } else { quote::quote!(self.page.as_ref().ok().copied().flatten()) };
        let per_page = if list.per_page { quote::quote!(self.per_page.as_ref().ok().copied().flatten()) } else { quote::quote!(None) };
        let at = match (list.start_after, list.style) {
            (true, _) => quote::quote! {
                match position {
                    crate::paging::Position::After(id) => self.start_after(id),
                    crate::paging::Position::Page(_) => self,
                }
            },
            _ => quote::quote! {
                match position {
                    crate::paging::Position::Page(number) => self.page(number),
                    crate::paging::Position::After(_) => self,
                }
            },
        };
        let size = if list.per_page { "the page size set with `per_page`" } else { "Vandar's fixed page size" };
        let items_doc = format!(" Every item of the list, page after page ({size}), as a stream; see [`crate::paging`].");
        let pages_doc = format!(" Every page's answer, as a stream ({size}); see [`crate::paging`].");
        added.push(syn::parse_quote! {
            impl<'a> crate::paging::Paged<'a> for #builder<'a> {
                type Page = types::#answer;
                type Item = #item;
                const STYLE: crate::paging::Style = crate::paging::Style::#style;
                const PAGING: &'static str = #paging;
                const ITEMS: &'static str = #items;
                fn requested(&self) -> (Option<i64>, Option<i64>) {
                    (#page, #per_page)
                }
                fn at(self, position: crate::paging::Position) -> Self {
                    #at
                }
                fn fetch(self) -> futures::future::BoxFuture<'a, Result<Self::Page, crate::Error>> {
                    Box::pin(self.send())
                }
            }
        });
        added.push(syn::parse_quote! {
            impl<'a> #builder<'a> {
                #[doc = #items_doc]
                pub fn items(self) -> futures::stream::BoxStream<'a, Result<#item, crate::Error>> {
                    crate::paging::items(self)
                }
                #[doc = #pages_doc]
                pub fn pages(self) -> futures::stream::BoxStream<'a, Result<types::#answer, crate::Error>> {
                    crate::paging::pages(self)
                }
            }
        });
    }
    let builder = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(module) if module.ident == "builder" => module.content.as_mut(),
        _ => None,
    });
    match builder {
        Some((_, items)) => items.extend(added),
        None if added.is_empty() => {}
        None => return Err("paging: progenitor's builder module not found".into()),
    }
    Ok(())
}

/// `X` of a setter bounded by `T: TryInto<Option<X>>`.
fn optional_setter_type(setter: &syn::ImplItemFn) -> Option<syn::Type> {
    let predicates = &setter.sig.generics.where_clause.as_ref()?.predicates;
    predicates.iter().find_map(|predicate| {
        let syn::WherePredicate::Type(bound) = predicate else { return None };
        bound.bounds.iter().find_map(|b| {
            let syn::TypeParamBound::Trait(t) = b else { return None };
            let try_into = t.path.segments.last().filter(|s| s.ident == "TryInto")?;
            let syn::PathArguments::AngleBracketed(args) = &try_into.arguments else { return None };
            let Some(syn::GenericArgument::Type(option)) = args.args.first() else { return None };
            let syn::Type::Path(option) = option else { return None };
            let option = option.path.segments.last().filter(|s| s.ident == "Option")?;
            let syn::PathArguments::AngleBracketed(args) = &option.arguments else { return None };
            match args.args.first()? {
                syn::GenericArgument::Type(inner) => Some(inner.clone()),
                _ => None,
            }
        })
    })
}

/// `T` of a `Result<ResponseValue<T>, _>` return type.
fn response_value_type(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, result) = output else { return None };
    let first_argument = |ty: &syn::Type, name: &str| {
        let syn::Type::Path(path) = ty else { return None };
        let last = path.path.segments.last().filter(|s| s.ident == name)?;
        let syn::PathArguments::AngleBracketed(arguments) = &last.arguments else { return None };
        match arguments.args.first()? {
            syn::GenericArgument::Type(inner) => Some(inner.clone()),
            _ => None,
        }
    };
    first_argument(&first_argument(result, "Result")?, "ResponseValue")
}

/// `doc` is what progenitor gets; `documented` is the same before `strip_bounds`, for the docs.
fn generate(host: &str, doc: &Value, documented: &Value, enums: &Enums) -> Result<String, String> {
    let api: openapiv3::OpenAPI = serde_json::from_value(doc.clone())
        .map_err(|e| format!("host {host}: not an OpenAPI 3.0 document: {e}"))?;
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_inner_type("std::sync::Arc<crate::transport::Transport>".parse().expect("a type path"))
        .with_hooks(HooksMode::Expected);
    let present = doc["components"]["schemas"].as_object();
    for (name, rust) in enums.replacements.iter().filter(|(n, _)| present.is_some_and(|s| s.contains_key(n.as_str()))) {
        settings.with_replacement(
            name,
            format!("crate::enums::{rust}"),
            [TypeImpl::Display, TypeImpl::FromStr].into_iter(),
        );
    }
    for (name, rust) in MONEY.iter().filter(|(n, _)| present.is_some_and(|s| s.contains_key(*n))) {
        settings.with_replacement(name, rust, [TypeImpl::Display, TypeImpl::FromStr, TypeImpl::Default].into_iter());
    }
    for (name, rust) in DATES.iter().filter(|(n, _)| present.is_some_and(|s| s.contains_key(*n))) {
        settings.with_replacement(name, rust, [TypeImpl::Display, TypeImpl::FromStr].into_iter());
    }
    let tokens = std::panic::catch_unwind(move || Generator::new(&settings).generate_tokens(&api))
        .map_err(|_| format!("host {host}: progenitor panicked (see the message above)"))?
        .map_err(|e| format!("host {host}: {e}"))?;
    let mut file = syn::parse2(tokens).map_err(|e| format!("host {host}: generated code does not parse: {e}"))?;
    let requests = request_schemas(doc);
    // Passes over progenitor's output, in this order.
    syn::visit_mut::VisitMut::visit_file_mut(&mut BusinessFromClient, &mut file);
    syn::visit_mut::VisitMut::visit_file_mut(&mut NoApiVersionHeader, &mut file);
    syn::visit_mut::VisitMut::visit_file_mut(&mut SendReturnsValue, &mut file);
    syn::visit_mut::VisitMut::visit_file_mut(&mut OptionalSetters { requests: &requests }, &mut file);
    syn::visit_mut::VisitMut::visit_file_mut(&mut StrNewtypes, &mut file);
    syn::visit_mut::VisitMut::visit_file_mut(&mut WrittenAsText, &mut file);
    syn::visit_mut::VisitMut::visit_file_mut(&mut LenientAnswerDates { requests: &requests }, &mut file);
    add_paging(&mut file, &list_operations(doc))?;
    add_docs(&mut file, documented, &requests);
    Ok(format!(
        "// @generated by build.rs from spec/vandar.yaml (host {host}). Do not edit.\n{}",
        prettyplease::unparse(&file)
    ))
}

/// Pass over the generated code: every type, field, body-builder setter and operation-builder
/// method gets a doc from the spec. A type whose doc would only repeat its name gets the schema's
/// description, or says where it appears (the answer or body of which call, which field of which
/// type); a field gets its property's description, its unit (`x-vandar-unit`) and the value the
/// documents' examples show; a setter gets its field's or parameter's doc.
///
/// typify and progenitor lack it: typify documents a field only from a `description`, and neither
/// documents builder setters. Safe: only doc attributes are added.
fn add_docs(file: &mut syn::File, doc: &Value, requests: &RequestTypes) {
    let examples = Examples::collect(doc);
    let operations: BTreeMap<String, &Value> = operations(doc)
        .filter_map(|(_, _, op)| op["operationId"].as_str().map(|id| (camel(id), op)))
        .collect();
    for item in &mut file.items {
        let syn::Item::Mod(module) = item else { continue };
        let Some((_, items)) = module.content.as_mut() else { continue };
        match module.ident.to_string().as_str() {
            "types" => document_types(items, doc, &examples, &operations, requests),
            "builder" => document_operation_builders(items, doc, &operations),
            _ => {}
        }
    }
}

/// `settlement_list` -> `SettlementList` (progenitor's builder names).
fn camel(id: &str) -> String {
    id.split('_').filter(|w| !w.is_empty()).map(|w| w[..1].to_uppercase() + &w[1..]).collect()
}

fn doc_of(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .map(|a| match &a.meta {
            syn::Meta::NameValue(syn::MetaNameValue { value: syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }), .. }) => s.value(),
            // `#[doc = concat!(..)]`: a doc, made at compile time.
            _ => "(computed)".into(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether a doc says more than the item's own name (typify documents a type without a
/// description as ``` `Name` ```).
fn says_something(attrs: &[syn::Attribute], name: &str) -> bool {
    let words: String = doc_of(attrs).chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase();
    !words.is_empty() && words != name.replace('_', "").to_lowercase()
}

fn set_doc(attrs: &mut Vec<syn::Attribute>, text: &str) {
    attrs.retain(|a| !a.path().is_ident("doc"));
    attrs.insert(0, syn::parse_quote!(#[doc = #text]));
}

/// The example values the documents show for each property, keyed by the schema that declares it.
struct Examples(BTreeMap<(usize, String), Value>);

impl Examples {
    fn collect(doc: &Value) -> Self {
        let mut found = BTreeMap::new();
        for (_, _, op) in operations(doc) {
            let bodies = std::iter::once(resolve(doc, &op["requestBody"]))
                .chain(op["responses"].as_object().into_iter().flatten().filter(|(c, _)| c.starts_with('2')).map(|(_, r)| resolve(doc, r)));
            for body in bodies {
                for media in body["content"].as_object().into_iter().flatten().map(|(_, m)| m) {
                    if let Some(example) = media.get("example") {
                        walk_example(doc, &media["schema"], example, &mut found, 0);
                    }
                }
            }
        }
        Examples(found)
    }

    fn of(&self, owner: &Value, property: &str) -> Option<&Value> {
        self.0.get(&(owner as *const Value as usize, property.to_string()))
    }
}

fn walk_example(doc: &Value, schema: &Value, example: &Value, found: &mut BTreeMap<(usize, String), Value>, depth: usize) {
    if depth > 12 {
        return;
    }
    match example {
        Value::Object(fields) => {
            for (name, value) in fields {
                let Some((owner, property)) = find_property(doc, schema, name, 0) else { continue };
                if !value.is_object() && !value.is_array() {
                    found.entry((owner as *const Value as usize, name.clone())).or_insert_with(|| value.clone());
                }
                walk_example(doc, property, value, found, depth + 1);
            }
        }
        Value::Array(items) => {
            if let Some(first) = items.first() {
                walk_example(doc, &resolve(doc, schema)["items"], first, found, depth + 1);
            }
        }
        _ => {}
    }
}

/// The schema node that declares `name` among its properties (through `$ref`, `allOf`, `oneOf`,
/// `anyOf`), and the property.
fn find_property<'a>(doc: &'a Value, schema: &'a Value, name: &str, depth: usize) -> Option<(&'a Value, &'a Value)> {
    let schema = resolve(doc, schema);
    if depth > 8 {
        return None;
    }
    if let Some(property) = schema["properties"].get(name) {
        return Some((schema, property));
    }
    ["allOf", "oneOf", "anyOf"]
        .iter()
        .flat_map(|k| schema[*k].as_array().into_iter().flatten())
        .find_map(|part| find_property(doc, part, name, depth + 1))
}

/// A property's own `x-vandar-unit`, or its `allOf` parts' / `$ref` target's.
fn unit_of<'a>(doc: &'a Value, property: &'a Value) -> Option<&'a str> {
    let node = resolve(doc, property);
    node["x-vandar-unit"]
        .as_str()
        .or_else(|| node["allOf"].as_array().into_iter().flatten().find_map(|p| unit_of(doc, p)))
}

/// The spec's bounds on a property (its own and its `allOf` parts'), in words.
fn bounds_of(doc: &Value, property: &Value) -> Vec<String> {
    let node = resolve(doc, property);
    let mut words = Vec::new();
    for (keyword, text) in [("minimum", "at least"), ("maximum", "at most"), ("minLength", "at least"), ("maxLength", "at most"), ("maxItems", "at most")] {
        if let Some(n) = node.get(keyword).and_then(Value::as_f64) {
            let unit = match keyword {
                "minLength" | "maxLength" => " characters",
                "maxItems" => " items",
                _ => "",
            };
            words.push(format!("{text} {n}{unit}"));
        }
    }
    if let Some(pattern) = node["pattern"].as_str() {
        words.push(format!("matches `{pattern}`"));
    }
    for part in node["allOf"].as_array().into_iter().flatten() {
        words.extend(bounds_of(doc, part));
    }
    words
}

/// A property's description, or that of the schema it refers to.
fn description_of<'a>(doc: &'a Value, property: &'a Value) -> Option<&'a str> {
    property["description"]
        .as_str()
        .or_else(|| resolve(doc, property)["description"].as_str())
        .or_else(|| property["allOf"].as_array().into_iter().flatten().find_map(|p| resolve(doc, p)["description"].as_str()))
}

/// Marks a field the documents show without describing it (no description, unit or example).
const UNDESCRIBED: &str = "the documents show the field but do not describe it";

/// The doc of one property: its description, unit and documented example.
fn property_doc(doc: &Value, owner: &Value, name: &str, property: &Value, examples: &Examples, request: bool) -> String {
    let mut lines = Vec::new();
    let description = description_of(doc, property).map(str::trim).filter(|d| !d.is_empty());
    if let Some(description) = description {
        lines.push(description.to_string());
    }
    if let Some(unit) = unit_of(doc, property) {
        let unit = match unit {
            "rial" => "Rials",
            "toman" => "Tomans",
            other => panic!("x-vandar-unit {other:?} on {name}: build.rs knows rial and toman"),
        };
        if !description.is_some_and(|d| d.contains(&unit[..4])) {
            lines.push(format!("Unit: {unit}."));
        }
    }
    // Bounds are the spec's rules for what you send; an answer's field promises none.
    let bounds = if request { bounds_of(doc, property) } else { Vec::new() };
    if !bounds.is_empty() {
        lines.push(format!("Bounds: {}.", bounds.join(", ")));
    }
    if let Some(example) = examples.of(owner, name).filter(|e| !e.is_null()) {
        lines.push(format!("Example from Vandar's documents: `{example}`."));
    }
    if lines.is_empty() {
        lines.push(format!("`{name}`: {UNDESCRIBED}."));
    }
    lines.join("\n\n")
}

/// The JSON name of a generated field (`#[serde(rename = "..")]`, else the Rust name).
fn json_name(field: &syn::Field) -> String {
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let mut renamed = None;
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                renamed = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            } else if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<syn::Expr>()?;
            }
            Ok(())
        });
        if let Some(name) = renamed {
            return name;
        }
    }
    field.ident.as_ref().map(|i| i.to_string().trim_start_matches("r#").trim_end_matches('_').to_string()).unwrap_or_default()
}

/// The named type inside `Option<..>`, `Vec<..>`, `Box<..>`: `Option<Vec<Item>>` -> `Item`.
fn innermost(ty: &syn::Type) -> Option<String> {
    let syn::Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if let syn::PathArguments::AngleBracketed(args) = &last.arguments {
        if let Some(syn::GenericArgument::Type(inner)) = args.args.first() {
            return innermost(inner);
        }
    }
    (path.path.segments.len() == 1).then(|| last.ident.to_string())
}

fn document_types(
    items: &mut [syn::Item],
    doc: &Value,
    examples: &Examples,
    operations: &BTreeMap<String, &Value>,
    requests: &RequestTypes,
) {
    let components = doc["components"]["schemas"].as_object();
    // Each generated type's schema: named components first, then inline schemas through the
    // field of the type that holds them.
    let mut schemas: BTreeMap<String, (&Value, String)> = BTreeMap::new();
    for item in items.iter() {
        let name = match item {
            syn::Item::Struct(s) => s.ident.to_string(),
            syn::Item::Enum(e) => e.ident.to_string(),
            _ => continue,
        };
        if let Some(schema) = components.and_then(|c| c.get(&name)) {
            schemas.insert(name.clone(), (schema, usage(doc, &name, operations)));
        }
    }
    loop {
        let mut found = Vec::new();
        for item in items.iter() {
            let syn::Item::Struct(s) = item else { continue };
            let Some((schema, _)) = schemas.get(&s.ident.to_string()) else { continue };
            for field in &s.fields {
                let Some(inner) = innermost(&field.ty).filter(|t| !schemas.contains_key(t)) else { continue };
                let json = json_name(field);
                let Some((_, property)) = find_property(doc, schema, &json, 0) else { continue };
                let mut node = resolve(doc, property);
                while node["type"] == "array" {
                    node = resolve(doc, &node["items"]);
                }
                found.push((inner, (node, format!("The `{json}` of [`{}`].", s.ident))));
            }
        }
        let before = schemas.len();
        for (name, entry) in found {
            schemas.entry(name).or_insert(entry);
        }
        if schemas.len() == before {
            break;
        }
    }
    for item in items.iter_mut() {
        match item {
            syn::Item::Struct(s) => {
                let name = s.ident.to_string();
                let Some((schema, usage)) = schemas.get(&name) else { continue };
                let request = requests.includes(&name);
                if !says_something(&s.attrs, &name) {
                    let text = schema["description"].as_str().map(|d| format!("{}\n\n{usage}", d.trim())).unwrap_or_else(|| usage.clone());
                    set_doc(&mut s.attrs, &text);
                }
                for field in s.fields.iter_mut() {
                    let json = json_name(field);
                    let rust = field.ident.as_ref().map(|i| i.to_string()).unwrap_or_default();
                    if says_something(&field.attrs, &rust) {
                        // typify's doc is the description; add the unit and example it lacks.
                        if let Some((owner, property)) = find_property(doc, schema, &json, 0) {
                            let full = property_doc(doc, owner, &json, property, examples, request);
                            set_doc(&mut field.attrs, &full);
                        }
                        continue;
                    }
                    let mut text = match find_property(doc, schema, &json, 0) {
                        Some((owner, property)) => property_doc(doc, owner, &json, property, examples, request),
                        None => format!("`{json}` (extra fields Vandar sends, kept as they are)."),
                    };
                    // Undescribed, but of a generated type: point there.
                    if let Some(inner) = innermost(&field.ty).filter(|t| text.contains(UNDESCRIBED) && schemas.contains_key(t)) {
                        let list = quote::ToTokens::to_token_stream(&field.ty).to_string().contains("Vec <");
                        text = format!("The `{json}` {}: see [`{inner}`].", if list { "list" } else { "object" });
                    }
                    set_doc(&mut field.attrs, &text);
                }
            }
            syn::Item::Enum(e) => {
                let name = e.ident.to_string();
                if let Some((schema, usage)) = schemas.get(&name).filter(|_| !says_something(&e.attrs, &name)) {
                    let text = schema["description"].as_str().map(|d| format!("{}\n\n{usage}", d.trim())).unwrap_or_else(|| usage.clone());
                    set_doc(&mut e.attrs, &text);
                }
            }
            syn::Item::Impl(block) if block.trait_.is_none() => {
                let owner = quote::ToTokens::to_token_stream(&block.self_ty).to_string();
                for f in block.items.iter_mut().filter_map(|i| if let syn::ImplItem::Fn(f) = i { Some(f) } else { None }) {
                    if f.sig.ident == "builder" && doc_of(&f.attrs).is_empty() {
                        set_doc(&mut f.attrs, &format!("A builder for [`{owner}`], one setter per field."));
                    }
                }
            }
            _ => {}
        }
    }
    // The body builders' setters (typify's `types::builder`) say what their field says.
    let mut field_docs = BTreeMap::new();
    for item in items.iter() {
        let syn::Item::Struct(s) = item else { continue };
        for field in &s.fields {
            let Some(rust) = field.ident.as_ref().map(|i| i.to_string()) else { continue };
            field_docs.insert((s.ident.to_string(), rust), doc_of(&field.attrs));
        }
    }
    for item in items.iter_mut() {
        let syn::Item::Mod(module) = item else { continue };
        let Some((_, builders)) = module.content.as_mut().filter(|_| module.ident == "builder") else { continue };
        for block in builders.iter_mut().filter_map(|i| if let syn::Item::Impl(b) = i { Some(b) } else { None }) {
            if block.trait_.is_some() {
                continue;
            }
            let owner = quote::ToTokens::to_token_stream(&block.self_ty).to_string();
            for f in block.items.iter_mut().filter_map(|i| if let syn::ImplItem::Fn(f) = i { Some(f) } else { None }) {
                let name = f.sig.ident.to_string();
                let field = name.strip_prefix("maybe_").unwrap_or(&name);
                let Some(field_doc) = field_docs.get(&(owner.clone(), field.to_string())).filter(|d| !d.is_empty()) else { continue };
                // After the setter's own doc (how to call it), what the field is.
                let text = if doc_of(&f.attrs).is_empty() { field_doc.clone() } else { format!("\n\n{field_doc}") };
                f.attrs.push(syn::parse_quote!(#[doc = #text]));
            }
        }
    }
}

/// Where a named schema appears: the answer or body of which operations.
fn usage(doc: &Value, name: &str, operations: &BTreeMap<String, &Value>) -> String {
    let target = format!("#/components/schemas/{name}");
    let mut answers = Vec::new();
    let mut bodies = Vec::new();
    for op in operations.values() {
        let id = op["operationId"].as_str().unwrap_or_default();
        let mut refs = Vec::new();
        collect_refs(&op["requestBody"], &mut refs);
        if refs.contains(&target) {
            bodies.push(format!("`{id}`"));
        }
        refs.clear();
        for (_, response) in op["responses"].as_object().into_iter().flatten().filter(|(c, _)| c.starts_with('2')) {
            collect_refs(resolve(doc, response), &mut refs);
        }
        if refs.contains(&target) {
            answers.push(format!("`{id}`"));
        }
    }
    match (answers.is_empty(), bodies.is_empty()) {
        (false, _) => format!("The answer of {}.", answers.join(", ")),
        (true, false) => format!("The request body of {}.", bodies.join(", ")),
        (true, true) => {
            // Named schemas that refer to it: the types it is part of.
            let parents: Vec<String> = doc["components"]["schemas"]
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(_, schema)| {
                    let mut refs = Vec::new();
                    collect_refs(schema, &mut refs);
                    refs.contains(&target)
                })
                .map(|(parent, _)| format!("[`{parent}`]"))
                .collect();
            match parents.is_empty() {
                false => format!("Part of {}.", parents.join(", ")),
                true => format!("`{name}` in spec/vandar.yaml."),
            }
        }
    }
}

fn document_operation_builders(items: &mut [syn::Item], doc: &Value, operations: &BTreeMap<String, &Value>) {
    for item in items.iter_mut() {
        let syn::Item::Impl(block) = item else { continue };
        if block.trait_.is_some() {
            continue;
        }
        let syn::Type::Path(path) = &*block.self_ty else { continue };
        let Some(builder) = path.path.segments.last().map(|s| s.ident.to_string()) else { continue };
        let Some(op) = operations.get(&builder) else { continue };
        let id = op["operationId"].as_str().unwrap_or_default();
        let body_type = resolve(doc, &op["requestBody"])["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .and_then(|r| r.rsplit('/').next())
            .map(String::from);
        for f in block.items.iter_mut().filter_map(|i| if let syn::ImplItem::Fn(f) = i { Some(f) } else { None }) {
            let name = f.sig.ident.to_string();
            if says_something(&f.attrs, &name) {
                continue;
            }
            let text = match name.as_str() {
                "new" => format!("A `{id}` call with nothing set; `Client::{id}()` starts the same."),
                "body" => format!(
                    "The request body, a [`types::{0}`] or its builder [`types::builder::{0}`]; checked against the spec's bounds before sending.",
                    body_type.as_deref().unwrap_or("serde_json::Map")
                ),
                "body_map" => "Sets the request body field by field: the closure gets the body's builder and returns it.".to_string(),
                _ => parameter_doc(doc, op, &name).unwrap_or_else(|| format!("Sets `{name}`.")),
            };
            set_doc(&mut f.attrs, &text);
        }
    }
}

/// A setter's doc from the operation's parameter of that (snake_case) name.
fn parameter_doc(doc: &Value, op: &Value, setter: &str) -> Option<String> {
    op["parameters"].as_array().into_iter().flatten().map(|p| resolve(doc, p)).find_map(|param| {
        let name = param["name"].as_str()?;
        let snake = snake(name);
        (snake == setter).then(|| {
            let place = match param["in"].as_str() {
                Some("path") => "path parameter",
                Some("query") => "query parameter",
                Some("header") => "header",
                _ => "parameter",
            };
            let required = if param["required"] == true { "required" } else { "optional" };
            let description = description_of(doc, param).or_else(|| description_of(doc, &param["schema"])).unwrap_or("");
            let default = if name == "business" { " Defaults to the business slug the `Client` was built with." } else { "" };
            format!("{} (`{name}`, {place}, {required}).{default}", description.trim().trim_end_matches('.'))
        })
    })
}

/// `fromDate` -> `from_date`, `per_page` -> `per_page`, `X-Signature` -> `x_signature`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}
