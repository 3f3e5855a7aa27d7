//! Exports of stored captures, pure functions of the records: [`curl`] (a byte-exact command)
//! and [`har`] (HTTP Archive 1.2). Writing files is the `export` subcommand's job.

pub mod curl;
pub mod har;
