//! The layering of ARCHITECTURE.md, checked: every `crate::...` path in `src/` (code, not comments)
//! names a module on its own floor or below, and the modules' import graph has no cycle.
//! Run alone: `cargo test --test layers`.
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The floors, from the bottom; a module may use modules on its floor or below. Within a floor,
/// the graph must still be acyclic.
const FLOORS: [&[&str]; 6] = [
    &["host", "secret", "mask", "dates", "enums", "validate", "reach", "error", "tls", "money", "generated::operations", "journal::outcome", "local_file"],
    &["rate_limit", "telemetry", "auth", "journal", "redis_connection"],
    &["transport", "generated"],
    &["client", "paging"],
    &["money::moves", "money::payment", "money::recovery", "inbound", "extras"],
    &["mock"],
];

fn floor_of(module: &str) -> Option<usize> {
    FLOORS.iter().position(|floor| floor.contains(&module))
}

/// The top-level module a file under `src/` belongs to (`src/transport/retry.rs` -> `transport`).
/// `money` is two rooms: its units (`money/mod.rs`, the values floor, which the generated code
/// names) and its flows (`money::moves`, `money::payment`), private modules whose items the
/// module re-exports. `journal::outcome` is the journal's values (what became of an entry), on the
/// values floor so an error can carry them.
fn module_of(path: &Path) -> String {
    let relative = path.strip_prefix("src").unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_string_lossy().to_string();
    let first = first.trim_end_matches(".rs").to_string();
    match (first.as_str(), relative.file_stem().and_then(|s| s.to_str())) {
        ("money", Some(flow @ ("moves" | "payment" | "recovery"))) => format!("money::{flow}"),
        ("journal", Some("outcome")) => "journal::outcome".to_string(),
        ("generated", Some("operations")) => "generated::operations".to_string(),
        _ => first,
    }
}

fn rust_files(dir: &Path, into: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

/// module -> the modules it names through `crate::`, with one place each names it.
fn imports() -> BTreeMap<String, BTreeMap<String, String>> {
    let mut files = Vec::new();
    rust_files(Path::new("src"), &mut files);
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let from = module_of(&file);
        if from == "lib" || from == "bin" {
            continue; // the crate's face re-exports everything; the binary sits on top
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '{').collect();
                let names: Vec<String> = if let Some(group) = name.strip_prefix('{') {
                    // crate::{a::X, b::Y}
                    let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
                    let _ = group;
                    inner.split(',').filter_map(|p| p.trim().split("::").next()).map(str::to_string).collect()
                } else if name == "journal" && rest.starts_with("journal::outcome::") {
                    vec!["journal::outcome".to_string()] // the journal's values, a room of their own
                } else if name == "generated" && rest.starts_with("generated::operations") {
                    vec!["generated::operations".to_string()] // the spec's table of operations, a value
                } else {
                    vec![name]
                };
                for to in names {
                    if to.is_empty() || to == from {
                        continue;
                    }
                    graph.entry(from.clone()).or_default().entry(to).or_insert_with(|| format!("{}:{}", file.display(), number + 1));
                }
            }
        }
    }
    graph
}

#[test]
fn every_module_uses_only_its_floor_or_below() {
    let mut upward = Vec::new();
    for (from, targets) in imports() {
        let from_floor = floor_of(&from).unwrap_or_else(|| panic!("module {from} is on no floor of ARCHITECTURE.md"));
        for (to, place) in targets {
            let Some(to_floor) = floor_of(&to) else {
                upward.push(format!("{place}: {from} names crate::{to}, which is no module on a floor (a re-export of lib.rs?)"));
                continue;
            };
            if to_floor > from_floor {
                upward.push(format!("{place}: {from} (floor {from_floor}) uses {to} (floor {to_floor})"));
            }
        }
    }
    assert!(upward.is_empty(), "arrows back up:\n{}", upward.join("\n"));
}

#[test]
fn the_modules_import_graph_has_no_cycle() {
    let graph = imports();
    // Depth-first search with colours; a grey target closes a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        grey: &mut Vec<String>,
        black: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if black.contains(node) {
            return None;
        }
        if let Some(at) = grey.iter().position(|g| g == node) {
            return Some(grey[at..].to_vec());
        }
        grey.push(node.to_string());
        for to in graph.get(node).into_iter().flat_map(|t| t.keys()) {
            if let Some(cycle) = visit(to, graph, grey, black) {
                return Some(cycle);
            }
        }
        grey.pop();
        black.insert(node.to_string());
        None
    }
    let mut black = BTreeSet::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut Vec::new(), &mut black) {
            panic!("import cycle: {} -> {}", cycle.join(" -> "), cycle[0]);
        }
    }
}
