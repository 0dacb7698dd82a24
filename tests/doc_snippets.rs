//! The documents' snippets that make a call to Vandar and cannot run as doctests (one needs a PostgreSQL
//! server): each is here word for word, between `// snippet:` and `// end of snippet` lines, and run against
//! the mock (and a real PostgreSQL). Every other snippet that makes a call is a doctest run against the
//! mock. A test reads README.md and docs/*.md: a `no_run` snippet that awaits a call on a client (`vandar.…`) must be one of the snippets here, so no document shows code that nothing runs.
#[cfg(all(feature = "mock", feature = "postgres"))]
#[path = "support/postgres_server.rs"]
mod postgres_server;

// snippet: docs/production.md
#[cfg(feature = "postgres")]
async fn pay_out(vandar: &vandar::Client, journal: &vandar::journal::PostgresJournal, order: i64) -> Result<(), Box<dyn std::error::Error>> {
    use vandar::api::types::SettlementStoreRequest;
    let track_id = format!("order-{order}");
    let payout: SettlementStoreRequest = SettlementStoreRequest::builder()
        .amount(vandar::money::Tomans(5000))
        .iban("IR330120020000002353697200")
        .track_id(track_id.clone())
        .try_into()?;
    let mut tx = journal.pool().begin().await?;
    sqlx::query("UPDATE orders SET payout_track_id = $1 WHERE id = $2").bind(&track_id).bind(order).execute(&mut *tx).await?;
    journal.record_in(&mut *tx, &vandar::journal::Intent::for_money_move("settlement_store", &payout)?).await?;
    tx.commit().await?;
    vandar.settlement_store(payout.into()).await?;   // after the commit, never inside the transaction
    Ok(())
}
// end of snippet

#[cfg(all(feature = "mock", feature = "postgres"))]
#[tokio::test]
async fn the_order_and_payout_snippet_pays_once_and_closes_its_entry() {
    use vandar::journal::{Journal, Outcome};
    let mut postgres = postgres_server::PostgresServer::start();
    let mock = vandar::mock::MockVandar::start().await.unwrap();
    let journal = vandar::journal::PostgresJournal::connect(&postgres.url()).await.unwrap();
    journal.migrate().await.unwrap();
    let pool = journal.pool();
    sqlx::query("CREATE TABLE orders (id bigint PRIMARY KEY, payout_track_id text)").execute(pool).await.unwrap();
    sqlx::query("INSERT INTO orders VALUES (7, NULL)").execute(pool).await.unwrap();
    let vandar = mock.client_builder().journal(journal.clone()).build().unwrap();
    let (wallet, posts) = (mock.wallet_rials(), mock.stats().accepted_post);

    pay_out(&vandar, &journal, 7).await.unwrap();

    assert_eq!(wallet - mock.wallet_rials(), 50_000, "5,000 Tomans paid out once");
    assert_eq!(mock.stats().accepted_post, posts + 1, "one request");
    let (track_id,): (String,) = sqlx::query_as("SELECT payout_track_id FROM orders WHERE id = 7").fetch_one(pool).await.unwrap();
    assert_eq!(track_id, "order-7");
    let entry = journal.get("order-7").await.unwrap().expect("the intent committed with the order");
    assert_eq!(entry.outcome, Some(Outcome::Answered), "closed by the answer");
    postgres.stop();
}

/// The snippets between the markers of this file, as they read in a document (without the markers).
fn snippets_here() -> Vec<String> {
    let here = include_str!("doc_snippets.rs");
    let mut snippets = Vec::new();
    let mut lines = here.lines();
    while let Some(line) = lines.next() {
        if line.starts_with("// snippet: ") {
            let body: Vec<&str> = lines.by_ref().take_while(|l| *l != "// end of snippet").collect();
            snippets.push(body.join("\n"));
        }
    }
    snippets
}

/// Each ```rust block of `text` with its fence's attributes and its lines as a reader sees them
/// (rustdoc's hidden `# ` lines left out).
fn rust_blocks(text: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some(attributes) = line.strip_prefix("```rust") {
            let body: Vec<&str> =
                lines.by_ref().take_while(|l| !l.starts_with("```")).filter(|l| *l != "#" && !l.starts_with("# ")).collect();
            blocks.push((attributes.to_string(), body.join("\n")));
        }
    }
    blocks
}

/// Whether `code` calls a method on `vandar` (`vandar.recover(`, `vandar.api()`), not a path like `vandar.journal"`.
fn calls_on_a_client(code: &str) -> bool {
    code.match_indices("vandar.").any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let name: String = code[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '/') && !name.is_empty() && code[at + 7 + name.len()..].starts_with('(')
    })
}

#[test]
fn every_snippet_that_calls_vandar_runs_as_a_doctest_or_here_word_for_word() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut documents = vec![root.join("README.md")];
    documents.extend(std::fs::read_dir(root.join("docs")).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "md")));
    let here = snippets_here();
    assert!(!here.is_empty(), "the markers of this file were read");
    let (mut run_as_doctests, mut run_here, mut unrun) = (0, 0, Vec::new());
    for document in &documents {
        for (attributes, body) in rust_blocks(&std::fs::read_to_string(document).unwrap()) {
            // A call: something awaited on a client named `vandar`, the documents' spelling throughout.
            let calls = body.contains(".await") && calls_on_a_client(&body);
            let not_run = attributes.contains("no_run") || attributes.contains("ignore") || attributes.contains("compile_fail");
            match (calls, not_run) {
                (false, _) => {}
                (true, false) => run_as_doctests += 1,
                (true, true) if here.contains(&body) => run_here += 1,
                (true, true) => unrun.push(format!("{}: {}", document.display(), body.lines().find(|l| l.contains("fn ")).unwrap_or(&body))),
            }
        }
    }
    assert!(unrun.is_empty(), "snippets that make calls nothing runs (make them doctests on the mock, or copy them here):\n{}", unrun.join("\n"));
    assert_eq!(run_here, here.len(), "every snippet here is still in a document, word for word");
    assert!(run_as_doctests >= 5, "the README's and docs' snippets that call Vandar are doctests: {run_as_doctests}");
}
