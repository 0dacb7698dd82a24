#![allow(dead_code)]
//! A client on the mock with a file journal, whose recovery takes entries of any age: what a
//! restarted process would be, for tests that recover at once.
use std::path::Path;
use std::time::Duration;

use vandar::journal::FileJournal;
use vandar::money::RecoveryOptions;
use vandar::mock::MockVandar;

pub fn journaled_client(mock: &MockVandar, journal: &Path) -> vandar::Client {
    let recovery = RecoveryOptions::default().min_age(Duration::ZERO);
    mock.client_builder().journal(FileJournal::open(journal).unwrap()).recovery(recovery).build().unwrap()
}
