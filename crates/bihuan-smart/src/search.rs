//! Full-text search: a tantivy index of each appeal's text (title, content, address, replies,
//! comments) with a jieba tokenizer. The index is derived data: it is rebuilt from the store by a
//! command, and kept current by feeding it changed appeals. The last event applied is written
//! into each commit, so a restarted server continues where it stopped.

use std::path::Path;
use std::sync::Mutex;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::Column;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{Token, TokenStream, Tokenizer as TantivyTokenizer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::text::{normalise, Tokenizer};

const TOKENIZER: &str = "bihuan_zh";

/// jieba in tantivy: search-mode words (long words and the words inside them), lower-cased and
/// width-folded.
#[derive(Clone)]
struct Zh(Tokenizer);

struct ZhStream {
    tokens: Vec<Token>,
    at: usize,
}

impl TantivyTokenizer for Zh {
    type TokenStream<'a> = ZhStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> ZhStream {
        // Normalisation keeps byte lengths for everything but full-width forms; offsets are only
        // used for highlighting, which we do not do, so the normalised offsets are kept.
        let norm = normalise(text);
        let mut tokens: Vec<Token> = Vec::new();
        let mut push = |w: &str, from: usize, to: usize| {
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position: tokens.len(),
                text: w.to_string(),
                position_length: 1,
            })
        };
        for (w, from, to) in self.0.search_tokens(&norm) {
            push(w, from, to);
        }
        // Every pair of adjacent Chinese characters too: jieba sometimes cuts across the words
        // a citizen searches for ("人民路路灯" → 人民/路路/灯), bigrams never miss them.
        let cs: Vec<(usize, char)> = norm.char_indices().collect();
        for w in cs.windows(2) {
            if is_cjk(w[0].1) && is_cjk(w[1].1) {
                let to = w[1].0 + w[1].1.len_utf8();
                push(&norm[w[0].0..to], w[0].0, to);
            }
        }
        ZhStream { tokens, at: 0 }
    }
}

impl TokenStream for ZhStream {
    fn advance(&mut self) -> bool {
        if self.at < self.tokens.len() {
            self.at += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.at - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.at - 1]
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("搜索索引出错: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("搜索索引目录无法打开: {0}")]
    Dir(String),
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{2FFFF}')
}

/// Collects the appeal id of every match, unscored: cheaper than a top-k heap when a word
/// matches most of the index.
struct Ids;

struct SegmentIds {
    column: Column<u64>,
    ids: Vec<u64>,
}

impl Collector for Ids {
    type Fruit = Vec<u64>;
    type Child = SegmentIds;
    fn for_segment(&self, _: u32, segment: &tantivy::SegmentReader) -> tantivy::Result<SegmentIds> {
        Ok(SegmentIds {
            column: segment.fast_fields().u64("id")?,
            ids: Vec::new(),
        })
    }
    fn requires_scoring(&self) -> bool {
        false
    }
    fn merge_fruits(&self, parts: Vec<Vec<u64>>) -> tantivy::Result<Vec<u64>> {
        Ok(parts.concat())
    }
}

impl SegmentCollector for SegmentIds {
    type Fruit = Vec<u64>;
    fn collect(&mut self, doc: u32, _: tantivy::Score) {
        if let Some(id) = self.column.first(doc) {
            self.ids.push(id);
        }
    }
    fn harvest(self) -> Vec<u64> {
        self.ids
    }
}

/// The search index of one server.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    tokenizer: Tokenizer,
    id: Field,
    text: Field,
}

/// Matches of a search, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Hits {
    pub ids: Vec<u64>,
    /// All matches, also those beyond the limit.
    pub total: usize,
}

fn schema() -> (Schema, Field, Field) {
    let mut b = Schema::builder();
    let id = b.add_u64_field(
        "id",
        // Indexed (to replace a document) and fast (to collect matches); not stored: nothing
        // reads documents back, and a stored copy cost a serialisation and a compression per
        // indexed appeal.
        NumericOptions::default().set_indexed().set_fast(),
    );
    let text = b.add_text_field(
        "text",
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(TOKENIZER)
                .set_index_option(IndexRecordOption::WithFreqs),
        ),
    );
    (b.build(), id, text)
}

impl SearchIndex {
    /// Opens (or creates) the index in `dir`; `None` keeps it in memory.
    pub fn open(dir: Option<&Path>, tokenizer: Tokenizer) -> Result<SearchIndex, SearchError> {
        let (schema, id, text) = schema();
        let index = match dir {
            None => Index::create_in_ram(schema),
            Some(d) => {
                std::fs::create_dir_all(d)
                    .map_err(|e| SearchError::Dir(format!("{}: {e}", d.display())))?;
                let mmap = tantivy::directory::MmapDirectory::open(d)
                    .map_err(|e| SearchError::Dir(format!("{}: {e}", d.display())))?;
                match Index::open_or_create(mmap.clone(), schema.clone()) {
                    // An index written by another version of this schema: it is derived data,
                    // so start an empty one (watermark 0) and let the feed rebuild it from the
                    // store. Without its meta file tantivy no longer sees the old index, and
                    // removes the old segment files at the first commit.
                    Err(tantivy::TantivyError::SchemaError(why)) => {
                        tracing::warn!(dir = %d.display(), %why, "search index has an older layout; rebuilding it from the store");
                        std::fs::remove_file(d.join("meta.json"))
                            .map_err(|e| SearchError::Dir(format!("{}: {e}", d.display())))?;
                        Index::create(mmap, schema, tantivy::IndexSettings::default())?
                    }
                    other => other?,
                }
            }
        };
        index
            .tokenizers()
            .register(TOKENIZER, Zh(tokenizer.clone()));
        let writer = index.writer_with_num_threads(1, 64_000_000)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(SearchIndex {
            index,
            reader,
            writer: Mutex::new(writer),
            tokenizer,
            id,
            text,
        })
    }

    /// The last event applied, as written with the last commit (0 for a new index).
    pub fn watermark(&self) -> u64 {
        self.index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Replaces an appeal's text (not visible until [`SearchIndex::commit`]).
    pub fn put(&self, id: u64, text: &str) -> Result<(), SearchError> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.delete_term(Term::from_field_u64(self.id, id));
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.id, id);
        doc.add_text(self.text, text);
        w.add_document(doc)?;
        Ok(())
    }

    /// Removes everything (for a rebuild).
    pub fn clear(&self) -> Result<(), SearchError> {
        let w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        w.delete_all_documents()?;
        Ok(())
    }

    /// Makes the changes visible and durable, recording the last event applied.
    pub fn commit(&self, watermark: u64) -> Result<(), SearchError> {
        let mut w = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let mut prepared = w.prepare_commit()?;
        prepared.set_payload(&watermark.to_string());
        prepared.commit()?;
        drop(w);
        self.reader.reload()?;
        Ok(())
    }

    pub fn documents(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// The terms a query must all match: each run of Chinese characters as its character
    /// bigrams (one character alone as itself), other words (letters, digits) as jieba cuts them.
    pub fn words(&self, query: &str) -> Vec<String> {
        let norm = normalise(query);
        let mut terms: Vec<String> = Vec::new();
        let mut run: Vec<char> = Vec::new();
        let mut other = String::new();
        let flush_run = |run: &mut Vec<char>, terms: &mut Vec<String>| {
            match run.len() {
                0 => {}
                1 => terms.push(run[0].to_string()),
                _ => terms.extend(run.windows(2).map(|p| p.iter().collect::<String>())),
            }
            run.clear();
        };
        for c in norm.chars() {
            if is_cjk(c) {
                run.push(c);
                other.push(' ');
            } else {
                flush_run(&mut run, &mut terms);
                other.push(c);
            }
        }
        flush_run(&mut run, &mut terms);
        terms.extend(self.tokenizer.words(&other).into_iter().map(str::to_string));
        terms.sort();
        terms.dedup();
        terms
    }

    /// Appeals whose text has every word of the query, newest first, at most `limit`.
    pub fn search(&self, query: &str, limit: usize) -> Result<Hits, SearchError> {
        let words = self.words(query);
        if words.is_empty() {
            return Ok(Hits {
                ids: Vec::new(),
                total: 0,
            });
        }
        let clauses: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .map(|w| {
                let q: Box<dyn Query> = Box::new(TermQuery::new(
                    Term::from_field_text(self.text, w),
                    IndexRecordOption::Basic,
                ));
                (Occur::Must, q)
            })
            .collect();
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let mut ids = searcher.search(&query, &Ids)?;
        let total = ids.len();
        // The newest `limit`: a linear selection, then a sort of just those.
        if ids.len() > limit {
            ids.select_nth_unstable_by(limit, |a, b| b.cmp(a));
            ids.truncate(limit);
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(Hits { ids, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_of_another_layout_is_started_over() {
        let dir = std::env::temp_dir().join(format!("bihuan-search-layout-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        {
            // The first layout: the id was also stored.
            let mut b = Schema::builder();
            let id = b.add_u64_field(
                "id",
                NumericOptions::default()
                    .set_indexed()
                    .set_fast()
                    .set_stored(),
            );
            let text = b.add_text_field("text", tantivy::schema::TEXT);
            let mmap = tantivy::directory::MmapDirectory::open(&dir).unwrap();
            let old = Index::open_or_create(mmap, b.build()).unwrap();
            let mut w: IndexWriter = old.writer_with_num_threads(1, 15_000_000).unwrap();
            let mut doc = TantivyDocument::default();
            doc.add_u64(id, 7);
            doc.add_text(text, "old");
            w.add_document(doc).unwrap();
            let mut p = w.prepare_commit().unwrap();
            p.set_payload("99");
            p.commit().unwrap();
        }
        let idx = SearchIndex::open(Some(&dir), Tokenizer::new(["桃源镇"])).unwrap();
        // Empty, so the feed starts from the beginning.
        assert_eq!((idx.watermark(), idx.documents()), (0, 0));
        idx.put(1, "桃源镇人民路路灯不亮").unwrap();
        idx.commit(5).unwrap();
        drop(idx);
        let idx = SearchIndex::open(Some(&dir), Tokenizer::new(["桃源镇"])).unwrap();
        assert_eq!(idx.watermark(), 5);
        assert_eq!(idx.search("路灯", 10).unwrap().ids, vec![1]);
        drop(idx);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn finds_by_every_word_newest_first_and_survives_reopen() {
        let dir = std::env::temp_dir().join(format!("bihuan-search-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let idx = SearchIndex::open(Some(&dir), Tokenizer::new(["桃源镇"])).unwrap();
            assert_eq!(idx.watermark(), 0);
            idx.put(1, "桃源镇人民路路灯不亮").unwrap();
            idx.put(2, "人民路自来水管爆裂").unwrap();
            idx.put(3, "桃源镇中学门口路灯坏了").unwrap();
            idx.commit(42).unwrap();
            let h = idx.search("路灯", 10).unwrap();
            assert_eq!(h.ids, vec![3, 1]);
            assert_eq!(idx.search("桃源镇 路灯", 10).unwrap().ids, vec![3, 1]);
            assert_eq!(idx.search("人民路 路灯", 10).unwrap().ids, vec![1]);
            let h = idx.search("路灯", 1).unwrap();
            assert_eq!((h.ids.len(), h.total), (1, 2));
            assert!(idx.search("，。", 10).unwrap().ids.is_empty());
            // Replacing a document: the old text no longer matches.
            idx.put(1, "已修复").unwrap();
            idx.commit(43).unwrap();
            assert_eq!(idx.search("路灯", 10).unwrap().ids, vec![3]);
            assert_eq!(idx.documents(), 3);
        }
        let idx = SearchIndex::open(Some(&dir), Tokenizer::new(["桃源镇"])).unwrap();
        assert_eq!(idx.watermark(), 43);
        assert_eq!(idx.search("路灯", 10).unwrap().ids, vec![3]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
