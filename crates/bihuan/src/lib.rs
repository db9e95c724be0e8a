//! The jobs behind the `bihuan` binary, as a library so that tests can run them directly.
//!
//! | module | job |
//! |---|---|
//! | [`bench`] | durable registrations per second through HTTP, beside direct SQLite inserts |
//! | [`demo`] | the demo county and a year of generated appeals |
//! | [`import`] | appeals from CSV or XLSX exports of a 12345 system, columns mapped by a config file |
//! | [`eval`] | the routing classifier and the duplicate check scored on labelled files |
//! | [`export`] | appeals to CSV (UTF-8 with BOM, so Excel opens it) |

pub mod bench;
pub mod demo;
pub mod eval;
pub mod export;
pub mod import;
