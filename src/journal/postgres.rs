//! [`PostgresJournal`]: the journal as a table of your own database, so an order and the intent of
//! its payout can commit in one transaction.
use std::io;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Row;

use super::file::already_exists;
use super::{Begin, Damaged, Entry, Intent, Journal, Outcome, RESENDABLE};

/// The shipped migration: the `vandar_journal` table and its index (idempotent).
pub const MIGRATION: &str = include_str!("postgres.sql");

/// How long one journal statement may take, and how long [`PostgresJournal::connect`]'s pool waits
/// for a connection, before the call fails: a database that is down or hung refuses the money
/// move within seconds instead of holding it.
const TIMEOUT: Duration = Duration::from_secs(2);

/// Taken by [`PostgresJournal::migrate`] so replicas starting together create the table once.
const MIGRATION_LOCK: i64 = 0x7661_6e64_6172; // "vandar"

/// The intent, staged; on a key that exists, whether it is this move, still staged (the no-op update
/// locks and returns the row as committed, even one a concurrent transaction wrote).
const RECORD: &str = "INSERT INTO vandar_journal (key, kind, operation, intent, created_at_ms, move, state) \
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, 'staged') \
     ON CONFLICT (key) DO UPDATE SET open = vandar_journal.open \
     RETURNING state = 'staged' AND move IS NOT DISTINCT FROM $6 AND outcome IS NULL";
/// The intent, as sent now (the database's clock): a new key, or the same move staged or closed by an
/// outcome that allows sending it again ($7). Answers no row when the key is held: nothing changes.
const BEGIN: &str = "INSERT INTO vandar_journal (key, kind, operation, intent, created_at_ms, move, state, sending_since_ms) \
     VALUES ($1, $2, $3, $4::jsonb, $5, $6, 'sent', (extract(epoch FROM clock_timestamp()) * 1000)::bigint) \
     ON CONFLICT (key) DO UPDATE SET state = 'sent', sending_since_ms = EXCLUDED.sending_since_ms, outcome = NULL, open = true, \
       intent = CASE WHEN EXCLUDED.intent ? 'target' THEN jsonb_set(vandar_journal.intent, '{target}', EXCLUDED.intent->'target') \
                ELSE vandar_journal.intent END \
     WHERE vandar_journal.move = EXCLUDED.move \
       AND (vandar_journal.state = 'staged' OR (NOT vandar_journal.open AND vandar_journal.outcome->>'outcome' = ANY($7))) \
     RETURNING key";
const GET: &str = "SELECT intent::text, outcome::text, state, sending_since_ms, created_at_ms FROM vandar_journal WHERE key = $1";
const UPDATE: &str = "UPDATE vandar_journal SET outcome = $2::jsonb, open = $3, state = 'sent', \
     lease_holder = CASE WHEN $3 THEN lease_holder END, lease_until_ms = CASE WHEN $3 THEN lease_until_ms END \
     WHERE key = $1";
const OPEN: &str = "SELECT intent::text, outcome::text, state, sending_since_ms, created_at_ms, key FROM vandar_journal WHERE open ORDER BY created_at_ms, key";
/// One statement, so two replicas racing for an entry serialize on its row: the second re-reads the
/// lease the first just wrote. The database's clock is the one clock of every replica.
const LEASE: &str = "UPDATE vandar_journal SET lease_holder = $2, lease_until_ms = clock.now_ms + $3 \
     FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now_ms) AS clock \
     WHERE key = $1 AND open AND (lease_holder IS NULL OR lease_holder = $2 OR lease_until_ms <= clock.now_ms) \
     RETURNING key";

/// A journal in the PostgreSQL table `vandar_journal` (feature `postgres`): durable once the
/// insert commits, shared by every replica using the database, and writable inside your own
/// transaction ([`PostgresJournal::record_in`]).
///
/// The table ships with the crate ([`POSTGRES_MIGRATION`](crate::journal::POSTGRES_MIGRATION), `src/journal/postgres.sql`): run
/// [`PostgresJournal::migrate`] at start-up, or copy the SQL into your own migrations. Closed
/// entries stay in the table (their track ids stay taken); delete old ones when you like
/// (`DELETE FROM vandar_journal WHERE NOT open AND created_at_ms < ...`).
///
/// # Writing the intent in your own transaction
///
/// ```no_run
/// # async fn run(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// use vandar::api::types::SettlementStoreRequest;
/// use vandar::journal::{Intent, PostgresJournal};
///
/// let journal = PostgresJournal::new(pool.clone());
/// journal.migrate().await?;
/// let vandar = vandar::Client::builder()
///     .business("my-shop")
///     .business_tokens(vandar::TokenPair::new("access", "refresh", None))
///     .journal(journal.clone())
///     .build()?;
///
/// // The order and its payout intent commit together, or neither does.
/// let track_id = uuid::Uuid::new_v4().to_string();
/// let payout: SettlementStoreRequest = SettlementStoreRequest::builder()
///     .amount(vandar::money::Tomans(5000))
///     .iban("IR330120020000002353697200")
///     .track_id(track_id.clone())
///     .try_into()?;
/// let mut tx = pool.begin().await?;
/// sqlx::query("INSERT INTO orders (id, payout_track_id) VALUES ($1, $2)").bind(42_i64).bind(&track_id).execute(&mut *tx).await?;
/// journal.record_in(&mut *tx, &Intent::for_money_move("settlement_store", &payout)?).await?;
/// tx.commit().await?;
///
/// // Then send it, with the same body: the client finds its intent recorded already and sends.
/// // A crash before this line leaves the intent open; `vandar.recover()` looks it up later.
/// vandar.settlement_store(payout.into()).await?;
/// # Ok(()) }
/// ```
///
/// Send only after the commit: the client records the intent again through the pool, and that
/// waits for your transaction's row lock (then fails after its timeout) while the transaction is
/// open. The send is accepted because it is the same move ([`Intent::is_same_move`]), still staged;
/// a different move under the same track id is refused, and so is this one once it was sent (a
/// re-delivered job is reconciled through the lookup instead: see [`crate::journal::Journal`]).
#[derive(Clone, Debug)]
pub struct PostgresJournal {
    pool: PgPool,
    shown: String,
    /// This process's mark of life: a session-level advisory lock held on a connection of its own
    /// (taken from the pool at the first begin), which the server lets go when the session ends.
    mark: std::sync::Arc<tokio::sync::Mutex<Mark>>,
}

#[derive(Debug, Default)]
enum Mark {
    /// Not taken yet (or its session was lost: taken again at the next begin).
    #[default]
    None,
    /// Held on this session, last seen alive then.
    Held(sqlx::PgConnection, std::time::Instant),
    /// Held by another session (another journal of this process, or a 32-bit hash twin): it reads alive.
    Elsewhere,
}

/// The advisory lock keys of a sender's mark of life: `'vand'` and 31 bits of the SHA-256 of its id.
fn mark_keys(sender: &str) -> (i32, i32) {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(sender.as_bytes());
    (0x7661_6e64, i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) & 0x7fff_ffff)
}

const HOLD_MARK: &str = "SELECT pg_try_advisory_lock($1, $2)";
const MARK_HELD: &str = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::bigint::oid \
     AND objid = $2::bigint::oid AND objsubid = 2 AND granted)";

impl PostgresJournal {
    /// A journal on `pool`. The pool's `acquire_timeout` bounds how long a database that is down
    /// holds a money move before it is refused (sqlx's default is 30 s; a few seconds suit).
    pub fn new(pool: PgPool) -> Self {
        let options = pool.connect_options();
        let host = match options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => format!("{}:{}", options.get_host(), options.get_port()),
        };
        let shown = match options.get_database() {
            Some(database) => format!("{host}/{database}"),
            None => host,
        };
        Self { pool, shown, mark: Default::default() }
    }

    /// Takes this process's mark of life unless it holds it (see [`Sender`](super::Sender)). A mark
    /// that cannot be taken only makes recovery look this process's entries up early.
    async fn hold_mark(&self) {
        use sqlx::Connection;
        let mut mark = self.mark.lock().await;
        if let Mark::Held(connection, seen) = &mut *mark {
            // A session lost (a restarted server) lost its lock with it: take it again.
            if seen.elapsed() < Duration::from_secs(5) {
                return;
            }
            if connection.ping().await.is_ok() {
                *seen = std::time::Instant::now();
                return;
            }
            *mark = Mark::None;
        }
        if !matches!(*mark, Mark::None) {
            return;
        }
        let (class, object) = mark_keys(super::this_process());
        let taken = async {
            let mut connection = self.pool.acquire().await?.detach();
            let held: bool = sqlx::query_scalar(HOLD_MARK).bind(class).bind(object).fetch_one(&mut connection).await?;
            Ok::<_, sqlx::Error>(if held { Mark::Held(connection, std::time::Instant::now()) } else { Mark::Elsewhere })
        };
        match taken.await {
            Ok(taken) => *mark = taken,
            Err(error) => tracing::warn!(journal = %self.describe(), %error, "cannot take this process's mark of life"),
        }
    }

    /// A journal on a pool of its own at `url` (`postgres://user:password@host:port/database`),
    /// waiting at most 2 s for a connection. Connects now: a wrong URL or password fails here.
    pub async fn connect(url: &str) -> Result<Self, crate::error::Error> {
        let pool = PgPoolOptions::new().acquire_timeout(TIMEOUT).connect(url).await.map_err(|e| crate::error::Error::Unavailable {
            component: "journal",
            message: format!("cannot connect to the Postgres journal: {e}"),
        })?;
        Ok(Self::new(pool))
    }

    /// The pool, for your own queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Creates the `vandar_journal` table and its index unless they exist ([`POSTGRES_MIGRATION`](crate::journal::POSTGRES_MIGRATION)); safe to
    /// run from every replica at start-up.
    pub async fn migrate(&self) -> Result<(), crate::error::Error> {
        let run = async {
            let mut tx = self.pool.begin().await?;
            sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MIGRATION_LOCK).execute(&mut *tx).await?;
            sqlx::raw_sql(MIGRATION).execute(&mut *tx).await?;
            tx.commit().await
        };
        run.await.map_err(|e: sqlx::Error| crate::error::Error::Unavailable { component: "journal", message: format!("{}: migration failed: {e}", self.describe()) })
    }

    /// Stages `intent` through `executor`: inside your transaction (`&mut *tx`), on a connection
    /// (`&mut *conn`) or on a pool (`&pool`). Once it commits, send the money move with the same
    /// body: the client's `begin` finds the same move staged and sends it (see the type's docs).
    /// A different intent under the same key fails with [`io::ErrorKind::AlreadyExists`], and so
    /// does this one once it was sent.
    pub async fn record_in<'c>(&self, executor: impl sqlx::PgExecutor<'c>, intent: &Intent) -> io::Result<()> {
        self.insert(executor, intent).await
    }

    async fn insert<'c>(&self, executor: impl sqlx::PgExecutor<'c>, intent: &Intent) -> io::Result<()> {
        let row = bind_intent(sqlx::query(RECORD), intent).fetch_one(executor).await.map_err(|e| self.failed(e))?;
        let staged: bool = row.try_get(0).map_err(|e| self.failed(e))?;
        if staged { Ok(()) } else { Err(already_exists(&intent.key)) }
    }

    async fn get_entry(&self, key: &str) -> io::Result<Option<Entry>> {
        let row = sqlx::query(GET).bind(key).fetch_optional(&self.pool).await.map_err(|e| self.failed(e))?;
        row.map(|row| self.entry(&row)).transpose()
    }

    /// An entry from a row of `intent, outcome, state, sending_since_ms, created_at_ms`.
    fn entry(&self, row: &sqlx::postgres::PgRow) -> io::Result<Entry> {
        let intent: String = row.try_get(0).map_err(|e| self.failed(e))?;
        let outcome: Option<String> = row.try_get(1).map_err(|e| self.failed(e))?;
        let state: String = row.try_get(2).map_err(|e| self.failed(e))?;
        let sending: Option<i64> = row.try_get(3).map_err(|e| self.failed(e))?;
        let created: i64 = row.try_get(4).map_err(|e| self.failed(e))?;
        let sending_since_ms = (state != "staged").then(|| u64::try_from(sending.unwrap_or(created)).unwrap_or(0));
        Ok(Entry { intent: from_json("intent", &intent)?, outcome: outcome.map(|o| from_json("outcome", &o)).transpose()?, sending_since_ms })
    }

    /// Every open row: its entry, or, when it does not read (a row edited by hand to a shape this
    /// version does not know), where and why, so one bad row never hides the others.
    async fn open_rows(&self) -> io::Result<Vec<Result<Entry, Damaged>>> {
        let rows = sqlx::query(OPEN).fetch_all(&self.pool).await.map_err(|e| self.failed(e))?;
        let read = |row: &sqlx::postgres::PgRow| {
            self.entry(row).map_err(|error| {
                let key: Option<String> = row.try_get(5).ok();
                Damaged { position: format!("row {} of vandar_journal at {}", key.as_deref().unwrap_or("?"), self.shown), why: error.to_string(), key }
            })
        };
        Ok(rows.iter().map(read).collect())
    }

    fn failed(&self, error: sqlx::Error) -> io::Error {
        let kind = match error {
            sqlx::Error::PoolTimedOut => io::ErrorKind::TimedOut,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, format!("Postgres at {} failed: {error}", self.shown))
    }

    /// Runs one statement within [`TIMEOUT`].
    async fn bounded<T>(&self, work: impl std::future::Future<Output = io::Result<T>>) -> io::Result<T> {
        tokio::time::timeout(TIMEOUT, work)
            .await
            .unwrap_or_else(|_| Err(io::Error::new(io::ErrorKind::TimedOut, format!("Postgres at {} did not answer within {TIMEOUT:?}", self.shown))))
    }
}

/// `$1..$6` of RECORD and BEGIN: the key, kind, operation, intent, created_at_ms and fingerprint.
fn bind_intent<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    intent: &Intent,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    let kind = serde_json::to_value(intent.kind).ok().and_then(|k| k.as_str().map(str::to_string)).unwrap_or_default();
    query
        .bind(intent.key.clone())
        .bind(kind)
        .bind(intent.operation.clone())
        .bind(serde_json::to_string(intent).unwrap_or_default())
        .bind(i64::try_from(intent.created_at_ms).unwrap_or(i64::MAX))
        .bind(intent.fingerprint())
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> io::Result<T> {
    serde_json::from_str(text).map_err(|e| {
        let why = crate::secret::unquoted(&e, "JSON of the wrong shape");
        io::Error::new(io::ErrorKind::InvalidData, format!("a journal {what} in Postgres does not read: {why}"))
    })
}

impl Journal for PostgresJournal {
    fn describe(&self) -> String {
        format!("postgres journal {}", self.shown)
    }

    fn record<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(self.bounded(self.insert(&self.pool, intent)))
    }

    fn begin<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<Begin>> {
        Box::pin(self.bounded(async move {
            self.hold_mark().await;
            // A row that does not read is held: refused (naming it), never sent over.
            self.get_entry(&intent.key).await?;
            let resendable: Vec<String> = RESENDABLE.iter().map(|k| k.to_string()).collect();
            let sent = bind_intent(sqlx::query(BEGIN), intent).bind(resendable).fetch_optional(&self.pool).await.map_err(|e| self.failed(e))?;
            if sent.is_some() {
                return Ok(Begin::Sending);
            }
            match self.get_entry(&intent.key).await? {
                Some(held) => Ok(Begin::Held(Box::new(held))),
                None => Err(io::Error::other(format!("the journal held {} and then did not", intent.key))),
            }
        }))
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Entry>>> {
        Box::pin(self.bounded(self.get_entry(key)))
    }

    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(self.bounded(async move {
            let outcome_json = serde_json::to_string(outcome).expect("an outcome serializes");
            let query = sqlx::query(UPDATE).bind(key).bind(outcome_json).bind(!outcome.closes());
            query.execute(&self.pool).await.map_err(|e| self.failed(e))?;
            Ok(())
        }))
    }

    fn open(&self) -> BoxFuture<'_, io::Result<Vec<Entry>>> {
        Box::pin(self.bounded(async move { Ok(self.open_rows().await?.into_iter().filter_map(Result::ok).collect()) }))
    }

    fn damaged(&self) -> BoxFuture<'_, io::Result<Vec<Damaged>>> {
        Box::pin(self.bounded(async move { Ok(self.open_rows().await?.into_iter().filter_map(Result::err).collect()) }))
    }

    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, io::Result<bool>> {
        Box::pin(self.bounded(async move {
            // At most a century: the sum with the clock stays a bigint.
            let ttl_ms = i64::try_from(ttl.as_millis().min(3_153_600_000_000)).unwrap_or(0);
            let taken = sqlx::query(LEASE).bind(key).bind(holder).bind(ttl_ms).fetch_optional(&self.pool).await.map_err(|e| self.failed(e))?;
            Ok(taken.is_some())
        }))
    }

    /// A process is alive while its session holds its advisory lock (`pg_locks`).
    fn sender<'a>(&'a self, sender: &'a str) -> BoxFuture<'a, io::Result<super::Sender>> {
        Box::pin(self.bounded(async move {
            if super::sender::parse(sender).is_none() {
                return Ok(super::Sender::Unknown);
            }
            let (class, object) = mark_keys(sender);
            let query = sqlx::query_scalar(MARK_HELD).bind(i64::from(class)).bind(i64::from(object));
            let held: bool = query.fetch_one(&self.pool).await.map_err(|e| self.failed(e))?;
            Ok(if held { super::Sender::Alive } else { super::Sender::Gone })
        }))
    }
}
