//! What became of a journal entry, and where it is in its life: plain values, on the values
//! floor, so an error can carry them (`Error::TrackIdInUse`) without the journal's machinery.
use serde::{Deserialize, Serialize};

/// What became of an entry. [`Outcome::closes`] tells whether the entry is done with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Vandar answered the request: it was carried out.
    Answered,
    /// The answer was lost; the documented lookup proved it carried out.
    Reconciled {
        /// What the lookup found: the lookup and the records proven to be the move.
        found: Proof,
    },
    /// Refused before it left this machine (the rate limiter or the token store down, ...).
    RefusedBeforeSending {
        /// Why.
        reason: String,
    },
    /// Vandar refused it unprocessed (a 4xx): no money moved.
    RefusedByVandar {
        /// Vandar's message.
        reason: String,
    },
    /// Sent, and its fate is not proven yet: the entry stays open for recovery.
    Indeterminate {
        /// What happened and what was looked up.
        reason: String,
    },
    /// Recovery (or a re-sent move) looked it up long after it was sent and Vandar's documented
    /// lookup answered that it holds nothing of it: it was never carried out. Sending it again is
    /// safe, and with the **same** track id (the client never does so itself; the journal accepts
    /// the same move again from this outcome, and if the first copy did land after all, Vandar's
    /// refusal of a repeated track id is the second guard). A different move under this track id
    /// is refused.
    ProvenNotSent {
        /// The lookup that found nothing.
        looked_up: String,
    },
    /// A payment verified (by `verify_payment` or by recovery).
    Paid {
        /// What the payer paid, in Rials.
        amount: i64,
        /// The payer's card, masked.
        card: Option<String>,
        /// Vandar's payment id (`transId`).
        trans_id: Option<i64>,
    },
    /// A payment verified for less than expected: Vandar holds money the shop will not honour.
    Underpaid {
        /// What the shop expected, in Rials.
        expected: i64,
        /// What was paid, in Rials.
        paid: i64,
    },
    /// The payer did not pay.
    NotPaid {
        /// Vandar's message, if any.
        message: Option<String>,
    },
    /// The gateway no longer knows the payment (its token expired unpaid or unverified).
    Expired {
        /// What the gateway answered.
        reason: String,
    },
    /// A person closed the entry by hand (after checking the dashboard), with why. Never sent
    /// again by the client.
    ClosedByHand {
        /// Why, as the person wrote it.
        reason: String,
    },
}

impl Outcome {
    /// Whether the entry is done with: everything but [`Outcome::Indeterminate`].
    pub fn closes(&self) -> bool {
        !matches!(self, Outcome::Indeterminate { .. })
    }

    /// One word for the outcome (logs, metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::Reconciled { .. } => "reconciled",
            Outcome::RefusedBeforeSending { .. } => "refused_before_sending",
            Outcome::RefusedByVandar { .. } => "refused_by_vandar",
            Outcome::Indeterminate { .. } => "indeterminate",
            Outcome::ProvenNotSent { .. } => "proven_not_sent",
            Outcome::Paid { .. } => "paid",
            Outcome::Underpaid { .. } => "underpaid",
            Outcome::NotPaid { .. } => "not_paid",
            Outcome::Expired { .. } => "expired",
            Outcome::ClosedByHand { .. } => "closed_by_hand",
        }
    }

    /// Whether the same move may be sent again under its track id after this outcome: it was
    /// proven never carried out (refused before it left, refused unprocessed by Vandar, or proven
    /// not sent by the lookup). Never after an answer, a reconciliation, a payment outcome or a
    /// person's closing.
    pub fn allows_resend(&self) -> bool {
        matches!(self, Outcome::RefusedBeforeSending { .. } | Outcome::RefusedByVandar { .. } | Outcome::ProvenNotSent { .. })
    }
}

/// What a documented lookup found that proves a money move carried out: the lookup asked and the
/// records it found to be the move (their ids, status and amount), so whoever reads the journal can
/// find them in the dashboard. Its `Display` is one line (`transaction_list: transaction 5
/// (settlement 9, DONE, 5000 Tomans)`).
///
/// Entries written by versions before 0.4 hold the proof as text: they read back with `lookup`
/// taken from the text's start, no `records`, and the whole text in `text`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
pub struct Proof {
    /// The lookup operation asked (`transaction_list`, `withdrawal_show_by_track_id`, `batch_show`).
    pub lookup: String,
    /// The records it found to be the move (one per batch item for a batch).
    pub records: Vec<ProvenRecord>,
    /// The proof as an earlier version wrote it, for an entry it wrote; `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One record a lookup found to be (part of) a money move, as Vandar's answer gave it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProvenRecord {
    /// `transaction` (a statement record), `withdrawal` or `batch_item`.
    pub kind: String,
    /// Its id at Vandar: the transaction's id, the withdrawal's or batch item's UUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The statement transaction it is (a transaction's own id; a batch item's `transaction_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<i64>,
    /// The settlement a statement record carries (its `settlement.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement_id: Option<String>,
    /// The track id Vandar holds for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_id: Option<String>,
    /// Its status as Vandar wrote it (`DONE`, `PENDING`, a statement's `1`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Its amount as Vandar wrote it, in `unit` (a statement writes a payout as a negative debit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// `Tomans` or `Rials`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

impl ProvenRecord {
    /// A record of `kind` with its id (the other fields are set by the lookup that found it).
    #[cfg_attr(not(feature = "api"), allow(dead_code))] // the lookups are api calls
    pub(crate) fn new(kind: &str, id: Option<String>) -> Self {
        Self { kind: kind.to_string(), id, ..Self::default() }
    }
}

impl Proof {
    /// What `lookup` found: `records`.
    #[cfg_attr(not(feature = "api"), allow(dead_code))] // the lookups are api calls
    pub(crate) fn new(lookup: &str, records: Vec<ProvenRecord>) -> Self {
        Self { lookup: lookup.to_string(), records, text: None }
    }
}

impl<'de> Deserialize<'de> for Proof {
    /// The typed proof, or the text an earlier version wrote.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Typed {
                lookup: String,
                #[serde(default)]
                records: Vec<ProvenRecord>,
                #[serde(default)]
                text: Option<String>,
            },
            Text(String),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Typed { lookup, records, text } => Proof { lookup, records, text },
            Stored::Text(text) => {
                let lookup = text.split_once(':').map_or("", |(lookup, _)| lookup).trim().to_string();
                Proof { lookup, records: Vec::new(), text: Some(text) }
            }
        })
    }
}

impl std::fmt::Display for Proof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(text) = &self.text {
            return f.write_str(text);
        }
        write!(f, "{}: ", self.lookup)?;
        for (n, record) in self.records.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} {}", record.kind, record.id.as_deref().unwrap_or("(no id)"))?;
            let mut details = Vec::new();
            if let Some(id) = record.transaction_id.filter(|_| record.kind != "transaction") {
                details.push(format!("transaction {id}"));
            }
            if let Some(settlement) = &record.settlement_id {
                details.push(format!("settlement {settlement}"));
            }
            if let Some(track_id) = record.track_id.as_ref().filter(|_| record.kind == "batch_item") {
                details.push(format!("track_id {track_id}"));
            }
            details.extend(record.status.clone());
            if let Some(amount) = record.amount {
                details.push(format!("{amount} {}", record.unit.as_deref().unwrap_or("")).trim_end().to_string());
            }
            if !details.is_empty() {
                write!(f, " ({})", details.join(", "))?;
            }
        }
        if self.records.is_empty() {
            f.write_str("(no records)")?;
        }
        Ok(())
    }
}

/// The outcome kinds after which [`Journal::begin`](super::Journal::begin) accepts the same move again ([`Outcome::allows_resend`]).
#[cfg_attr(not(any(feature = "redis", feature = "postgres")), allow(dead_code))] // the server-side journals' scripts read it
pub(crate) const RESENDABLE: [&str; 3] = ["refused_before_sending", "refused_by_vandar", "proven_not_sent"];

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryState {
    /// Written ahead by the application ([`Journal::record`](super::Journal::record)); never sent.
    Staged,
    /// The client began sending it and recorded no outcome (it may be in flight, or its process
    /// died): in doubt until its lookup proves it.
    Sending,
    /// Sent, and its fate is not proven ([`Outcome::Indeterminate`]).
    InDoubt,
    /// An outcome closed it.
    Closed,
}

impl std::fmt::Display for EntryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EntryState::Staged => "staged",
            EntryState::Sending => "being sent or in doubt (no outcome recorded)",
            EntryState::InDoubt => "in doubt",
            EntryState::Closed => "closed",
        })
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_written_as_text_by_an_earlier_version_still_reads() {
        let old = serde_json::json!({"outcome": "reconciled", "found": "transaction_list: transaction 5 (settlement 9)"});
        let Outcome::Reconciled { found } = serde_json::from_value(old).unwrap() else { panic!() };
        assert_eq!((found.lookup.as_str(), found.records.len()), ("transaction_list", 0));
        assert_eq!(found.to_string(), "transaction_list: transaction 5 (settlement 9)");
        // Written again (compaction, an operator's copy), it stays what it was.
        let again: Outcome = serde_json::from_value(serde_json::to_value(Outcome::Reconciled { found: found.clone() }).unwrap()).unwrap();
        assert_eq!(again, Outcome::Reconciled { found });
    }

    #[test]
    fn a_typed_proof_round_trips_and_reads_as_one_line() {
        let record = ProvenRecord {
            transaction_id: Some(5),
            settlement_id: Some("9".into()),
            status: Some("DONE".into()),
            amount: Some(5000),
            unit: Some("Tomans".into()),
            ..ProvenRecord::new("transaction", Some("5".into()))
        };
        let proof = Proof::new("transaction_list", vec![record]);
        let stored = serde_json::to_value(Outcome::Reconciled { found: proof.clone() }).unwrap();
        assert_eq!(stored["found"]["records"][0]["settlement_id"], "9");
        assert!(stored["found"].get("text").is_none());
        assert_eq!(serde_json::from_value::<Outcome>(stored).unwrap(), Outcome::Reconciled { found: proof.clone() });
        assert_eq!(proof.to_string(), "transaction_list: transaction 5 (settlement 9, DONE, 5000 Tomans)");
        // A proof of another shape is refused, not read as text.
        assert!(serde_json::from_value::<Outcome>(serde_json::json!({"outcome": "reconciled", "found": 7})).is_err());
    }
}
