//! How the SQLite store keeps the two large things it holds for every appeal: the current state
//! (`appeals.state`) and each event of the history (`events.body`).
//!
//! Both are JSON, and most of their bytes are the same keys and codes from one appeal to the next,
//! so each is kept as a zstd frame compressed against a dictionary trained on the platform's own
//! JSON (`crates/bihuan-store/dict`, made by `bihuan storage train`): an appeal's state of about
//! 2,000 bytes takes about 300, an event of about 360 takes about 65. The blob's first byte names
//! how it was written:
//!
//! | byte | what follows |
//! |---|---|
//! | 1 | an appeal state, zstd against `state-1.zdict` |
//! | 2 | an event record, zstd against `event-1.zdict` |
//!
//! A dictionary, once a row was written with it, is kept for ever: a new dictionary takes a new
//! byte. Rows written before this layout are JSON text and are read as they are (`bihuan storage
//! compact` rewrites them); the JSON inside a frame is byte for byte what the text was, so an
//! archive (`bihuan backup`) holds the same JSON either way.

use std::cell::RefCell;
use std::sync::LazyLock;

use bihuan_domain::lifecycle::{Appeal, EventRecord};
use rusqlite::types::ValueRef;
use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

use crate::{Result, StoreError};

/// The compression level: 3 is zstd's default; higher levels saved about a tenth more on the demo's
/// states at several times the cost of every write.
const LEVEL: i32 = 3;

/// The largest JSON a frame may claim to hold (far above any appeal): a damaged or hostile frame
/// cannot make a read allocate more.
const MAX_JSON: usize = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    State,
    Event,
}

impl Shape {
    /// The shape a table's column is kept in, if it is kept compressed.
    pub(crate) fn of(table: &str, column: &str) -> Option<Shape> {
        match (table, column) {
            ("appeals", "state") => Some(Shape::State),
            ("events", "body") => Some(Shape::Event),
            _ => None,
        }
    }

    fn byte(self) -> u8 {
        match self {
            Shape::State => 1,
            Shape::Event => 2,
        }
    }
}

pub(crate) static STATE_DICT: &[u8] = include_bytes!("../../dict/state-1.zdict");
pub(crate) static EVENT_DICT: &[u8] = include_bytes!("../../dict/event-1.zdict");

static ENCODE: LazyLock<[EncoderDictionary<'static>; 2]> = LazyLock::new(|| {
    [
        EncoderDictionary::copy(STATE_DICT, LEVEL),
        EncoderDictionary::copy(EVENT_DICT, LEVEL),
    ]
});
static DECODE: LazyLock<[DecoderDictionary<'static>; 2]> = LazyLock::new(|| {
    [
        DecoderDictionary::copy(STATE_DICT),
        DecoderDictionary::copy(EVENT_DICT),
    ]
});

/// One compressor and decompressor per shape and thread (a zstd context is costly to make and
/// not shareable).
struct Contexts {
    compress: [Compressor<'static>; 2],
    decompress: [Decompressor<'static>; 2],
}

fn contexts() -> std::io::Result<Contexts> {
    let c = |d: &'static EncoderDictionary<'static>| -> std::io::Result<Compressor<'static>> {
        let mut c = Compressor::with_prepared_dictionary(d)?;
        // The row already says which dictionary; the frame need not say it again, nor carry a
        // checksum (SQLite's pages are what a damaged disk breaks, and a frame that does not
        // decode is refused).
        c.include_dictid(false)?;
        c.include_checksum(false)?;
        c.include_contentsize(true)?;
        Ok(c)
    };
    let d = |d: &'static DecoderDictionary<'static>| Decompressor::with_prepared_dictionary(d);
    Ok(Contexts {
        compress: [c(&ENCODE[0])?, c(&ENCODE[1])?],
        decompress: [d(&DECODE[0])?, d(&DECODE[1])?],
    })
}

thread_local! {
    static CONTEXTS: RefCell<Option<Contexts>> = const { RefCell::new(None) };
}

fn with_contexts<T>(f: impl FnOnce(&mut Contexts) -> std::io::Result<T>) -> Result<T> {
    CONTEXTS
        .with(|cell| {
            let mut cell = cell.borrow_mut();
            if cell.is_none() {
                *cell = Some(contexts()?);
            }
            f(cell.as_mut().expect("made above"))
        })
        .map_err(|e| StoreError::Internal(format!("compression: {e}")))
}

/// The stored blob of `json` in `shape`.
pub(crate) fn encode(shape: Shape, json: &[u8]) -> Result<Vec<u8>> {
    let i = shape.byte() as usize - 1;
    with_contexts(|c| {
        let mut out = Vec::with_capacity(json.len() / 4 + 16);
        out.push(shape.byte());
        let frame = c.compress[i].compress(json)?;
        out.extend_from_slice(&frame);
        Ok(out)
    })
}

/// The JSON a stored blob holds, checked to be of `shape`.
pub(crate) fn decode(shape: Shape, blob: &[u8]) -> Result<Vec<u8>> {
    let Some((&byte, frame)) = blob.split_first() else {
        return Err(StoreError::Internal("an empty stored value".into()));
    };
    if byte != shape.byte() {
        return Err(StoreError::Internal(format!(
            "a stored value written as {byte}, read as {shape:?}: written by a newer version?"
        )));
    }
    let size = zstd::zstd_safe::get_frame_content_size(frame)
        .ok()
        .flatten()
        .filter(|n| *n as usize <= MAX_JSON)
        .ok_or_else(|| StoreError::Internal("a stored value that does not decode".into()))?;
    let i = byte as usize - 1;
    with_contexts(|c| c.decompress[i].decompress(frame, size as usize))
}

/// The JSON of a column as stored: text (before compact storage) or a blob.
pub(crate) fn json_of(shape: Shape, v: ValueRef<'_>) -> Result<Vec<u8>> {
    match v {
        ValueRef::Text(t) => Ok(t.to_vec()),
        ValueRef::Blob(b) => decode(shape, b),
        _ => Err(StoreError::Internal(format!(
            "a stored {shape:?} that is neither text nor a blob"
        ))),
    }
}

pub(crate) fn state_of(v: ValueRef<'_>) -> Result<Appeal> {
    match v {
        ValueRef::Text(t) => Ok(serde_json::from_slice(t)?),
        other => Ok(serde_json::from_slice(&json_of(Shape::State, other)?)?),
    }
}

pub(crate) fn event_of(v: ValueRef<'_>) -> Result<EventRecord> {
    match v {
        ValueRef::Text(t) => Ok(serde_json::from_slice(t)?),
        other => Ok(serde_json::from_slice(&json_of(Shape::Event, other)?)?),
    }
}

pub(crate) fn state_blob(a: &Appeal) -> Result<Vec<u8>> {
    // Empty fields left out: less to compress (see `Appeal::to_stored_json`).
    encode(Shape::State, a.to_stored_json()?.as_bytes())
}

pub(crate) fn event_blob(r: &EventRecord) -> Result<Vec<u8>> {
    encode(Shape::Event, &serde_json::to_vec(r)?)
}

/// Trains the two dictionaries from sample JSON (states, events), `size` bytes each at most.
pub fn train(states: &[Vec<u8>], events: &[Vec<u8>], size: usize) -> Result<(Vec<u8>, Vec<u8>)> {
    let t = |s: &[Vec<u8>]| {
        zstd::dict::from_samples(s, size)
            .map_err(|e| StoreError::Internal(format!("training a dictionary: {e}")))
    };
    Ok((t(states)?, t(events)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_reads_back_as_the_same_json_and_refuses_the_wrong_shape() {
        let json = br#"{"id":7,"number":"202601000007","status":"registered"}"#;
        let blob = encode(Shape::State, json).unwrap();
        assert_eq!(blob[0], 1);
        assert_eq!(decode(Shape::State, &blob).unwrap(), json);
        assert!(decode(Shape::Event, &blob).is_err());
        assert!(decode(Shape::State, &blob[..blob.len() - 1]).is_err());
        assert!(decode(Shape::State, &[]).is_err());
        assert_eq!(
            json_of(Shape::State, ValueRef::Text(json)).unwrap(),
            json.to_vec()
        );
    }
}
