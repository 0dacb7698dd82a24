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
        /// What the lookup found: the lookup and the ids of the records proven to be the move.
        found: String,
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

/// The outcome kinds after which [`Journal::begin`](super::Journal::begin) accepts the same move again ([`Outcome::allows_resend`]).
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

