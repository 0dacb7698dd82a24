//! The spec's one list of money moves (`x-vandar-money-move`), written by build.rs: which body
//! field identifies each move, and which documented lookup finds it again. The transport reads it
//! to journal every money move (raw generated calls included), the money moves and recovery to
//! know where to look.
#[allow(dead_code)] // every field is read by some feature set
mod marks {
    include!(concat!(env!("OUT_DIR"), "/money_moves.rs"));
}

pub(crate) use marks::MoneyMove;

/// The spec's mark on `operation`, when it moves money.
pub(crate) fn mark(operation: &str) -> Option<&'static MoneyMove> {
    marks::MONEY_MOVES.iter().find(|m| m.operation == operation)
}
