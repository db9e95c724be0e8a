//! Smart dispatch: what helps the centre send each appeal to the right unit the first time and
//! see that ten people reported the same broken pipe.
//!
//! - [`text`]: Chinese tokenisation (jieba) with the county's own unit, place and category names.
//! - [`classify`]: a linear classifier (word and character n-gram TF-IDF, one-vs-rest linear SVM
//!   trained by dual coordinate descent) learned from the county's closed appeals.
//! - [`place`]: address text → township, village and grid by names and aliases.
//! - [`route`]: the dispatch catalogue (派单目录) and how its rules, the place and the classifier
//!   combine into ranked suggestions with a confidence.
//! - [`dedup`]: near-duplicate detection by MinHash over character shingles.
//! - [`search`]: a tantivy full-text index with a jieba tokenizer.
//! - [`eval`]: cross-validation and duplicate evaluation used by `bihuan eval`.
//!
//! Everything but [`search`] is pure: no I/O, no clock.

pub mod classify;
pub mod dedup;
pub mod eval;
pub mod place;
pub mod route;
pub mod search;
pub mod text;
