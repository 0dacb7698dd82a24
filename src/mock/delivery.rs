//! The posts the mock makes to a business's receivers (Miando webhooks, notify_url posts): each is
//! re-delivered until a 2xx, logged with every attempt's answer, and can be sent again by hand.
use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use std::time::Duration;

use super::Notice;

/// How the mock re-delivers a webhook or a notify_url post that got no 2xx: up to `attempts` posts
/// in all, waiting `first_delay`, then twice as long each time. Assumed: Vandar's documents say a
/// receiver must answer 2xx but give no re-delivery schedule; a receiver must survive seeing one
/// event more than once, which is what this lets a test prove.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Redelivery {
    pub(crate) attempts: u32,
    pub(crate) first_delay: Duration,
}

impl Redelivery {
    /// `attempts` posts in all, at least 1 (0 would never post).
    pub(crate) fn new(attempts: u32, first_delay: Duration) -> Self {
        Self { attempts: attempts.max(1), first_delay }
    }
}

impl Default for Redelivery {
    /// 6 posts over about 31 s: 1, 2, 4, 8 and 16 s apart.
    fn default() -> Self {
        Self { attempts: 6, first_delay: Duration::from_secs(1) }
    }
}

/// One post the mock made to a receiver, and what became of each attempt
/// ([`MockVandar::deliveries`](super::MockVandar::deliveries), `GET /__mock/deliveries`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Delivery {
    /// Its number, from 1, in the order the mock made them.
    pub id: u64,
    /// `"webhook"` (a Miando event) or `"notify_url"` (a settlement's or a direct debit's).
    pub kind: &'static str,
    /// Where it was posted (after a webhook route or `listen --forward-to`).
    pub url: String,
    /// Each attempt, oldest first (re-deliveries and resends included).
    pub attempts: Vec<DeliveryAttempt>,
}

impl Delivery {
    /// Whether an attempt got a 2xx.
    pub fn delivered(&self) -> bool {
        self.attempts.iter().any(|a| a.status.is_some_and(|s| (200..300).contains(&s)))
    }
}

/// One attempt of a [`Delivery`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DeliveryAttempt {
    /// The receiver's HTTP status, `None` when it gave no answer.
    pub status: Option<u16>,
    /// Why there was no answer (refused, timed out), when there was none.
    pub error: Option<String>,
    /// Whether a resend asked for it (`POST /__mock/deliveries/{id}/resend`), not the re-delivery schedule.
    pub resent: bool,
}

/// Builds the request of one attempt (the same body, headers and signature each time).
type Build = Arc<dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder + Send + Sync>;

struct Logged {
    delivery: Delivery,
    build: Build,
}

/// The mock's delivery log, shared with the tasks that post (the last [`super::control::LOGGED_REQUESTS`]).
#[derive(Clone, Default)]
pub(crate) struct Deliveries(Arc<Mutex<Log>>);

#[derive(Default)]
struct Log {
    next_id: u64,
    logged: VecDeque<Logged>,
}

impl Deliveries {
    fn log(&self) -> MutexGuard<'_, Log> {
        // A panic elsewhere while this was held leaves the log as it was: still readable.
        self.0.lock()
    }

    fn add(&self, kind: &'static str, url: String, build: Build) -> u64 {
        let mut log = self.log();
        log.next_id += 1;
        let id = log.next_id;
        if log.logged.len() == super::control::LOGGED_REQUESTS {
            log.logged.pop_front();
        }
        log.logged.push_back(Logged { delivery: Delivery { id, kind, url, attempts: Vec::new() }, build });
        id
    }

    fn record(&self, id: u64, attempt: DeliveryAttempt) {
        if let Some(logged) = self.log().logged.iter_mut().find(|l| l.delivery.id == id) {
            logged.delivery.attempts.push(attempt);
        }
    }

    pub(crate) fn list(&self) -> Vec<Delivery> {
        self.log().logged.iter().map(|l| l.delivery.clone()).collect()
    }

    /// Posts delivery `id` once more and records the attempt; `None` when there is no such delivery.
    pub(crate) async fn resend(&self, id: u64) -> Option<Delivery> {
        let build = self.log().logged.iter().find(|l| l.delivery.id == id).map(|l| l.build.clone())?;
        let (attempt, _) = attempt(&reqwest::Client::new(), &build, true).await;
        self.record(id, attempt);
        self.list().into_iter().find(|d| d.id == id)
    }
}

/// One post; whether it got a 2xx.
async fn attempt(client: &reqwest::Client, build: &Build, resent: bool) -> (DeliveryAttempt, bool) {
    match build(client).timeout(Duration::from_secs(10)).send().await {
        Ok(answer) => {
            let status = answer.status();
            (DeliveryAttempt { status: Some(status.as_u16()), error: None, resent }, status.is_success())
        }
        Err(error) => (DeliveryAttempt { status: None, error: Some(error.without_url().to_string()), resent }, false),
    }
}

/// Posts what `request` builds to `url` until an answer is 2xx or `redelivery`'s attempts are spent, in a task
/// of its own (nothing is posted outside a Tokio runtime), each attempt logged in `log`. Failures are
/// also traced (`kind` names the post).
pub(crate) fn deliver(
    log: &Deliveries,
    redelivery: Redelivery,
    kind: &'static str,
    url: String,
    request: impl Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder + Send + Sync + 'static,
) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let target = url.clone();
    let build: Build = Arc::new(move |client| request(client, &target));
    let (log, id) = (log.clone(), log.add(kind, url, build.clone()));
    runtime.spawn(async move {
        let client = reqwest::Client::new();
        let mut delay = redelivery.first_delay;
        for number in 1..=redelivery.attempts {
            let (attempt, delivered) = attempt(&client, &build, false).await;
            let failure = attempt.error.clone().unwrap_or_else(|| format!("answered {}", attempt.status.unwrap_or_default()));
            log.record(id, attempt);
            if delivered {
                return;
            }
            tracing::warn!(kind, attempt = number, of = redelivery.attempts, %failure, "mock delivery got no 2xx");
            if number < redelivery.attempts {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
            }
        }
    });
}

/// Posts the notices (routed like webhooks when a route is set, done by the caller), re-delivered
/// until a 2xx as [`Redelivery`] says.
pub(crate) fn deliver_notices(notices: Vec<Notice>, redelivery: Redelivery, log: &Deliveries) {
    for notice in notices {
        match notice {
            Notice::Form(url, fields) => deliver(log, redelivery, "notify_url", url, move |client, url| {
                let form = fields.iter().fold(reqwest::multipart::Form::new(), |form, (name, value)| form.text(*name, value.clone()));
                client.post(url).multipart(form)
            }),
            Notice::Json(url, body) => deliver(log, redelivery, "notify_url", url, move |client, url| client.post(url).json(&body)),
        }
    }
}
