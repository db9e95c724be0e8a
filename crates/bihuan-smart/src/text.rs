//! Chinese tokenisation with the county's own vocabulary.

use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;

/// Words and characters of a text, after normalisation. Cheap to clone (the dictionary is shared).
#[derive(Clone)]
pub struct Tokenizer {
    jieba: Arc<Jieba>,
    /// How many county words were added to the standard dictionary.
    pub added: usize,
}

fn base() -> &'static Jieba {
    static BASE: OnceLock<Jieba> = OnceLock::new();
    BASE.get_or_init(Jieba::new)
}

impl Default for Tokenizer {
    fn default() -> Self {
        Tokenizer::new(std::iter::empty::<&str>())
    }
}

impl Tokenizer {
    /// The standard dictionary extended with `words` (unit names and aliases, place names,
    /// category names), so that "云溪镇" or "县住建局" stays one token.
    pub fn new<S: AsRef<str>>(words: impl IntoIterator<Item = S>) -> Tokenizer {
        let mut jieba = base().clone();
        let mut added = 0;
        for w in words {
            let w = normalise(w.as_ref());
            let w = w.trim();
            if w.chars().count() >= 2 && !jieba.has_word(w) {
                // A high frequency so the whole name wins over its parts.
                jieba.add_word(w, Some(50_000), None);
                added += 1;
            }
        }
        Tokenizer {
            jieba: Arc::new(jieba),
            added,
        }
    }

    /// The words of an already normalised text, without punctuation and spaces.
    pub fn words<'a>(&self, normalised: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        self.each_word(normalised, |w| out.push(w));
        out
    }

    /// Calls `f` for every word of an already normalised text, skipping punctuation and spaces.
    pub fn each_word<'a>(&self, normalised: &'a str, mut f: impl FnMut(&'a str)) {
        for t in self.jieba.cut(normalised, true) {
            if t.word.chars().any(is_word_char) {
                f(t.word);
            }
        }
    }

    /// Words for a search index: as [`Tokenizer::words`], plus the shorter words inside long
    /// ones (jieba's search mode), with their byte offsets.
    pub fn search_tokens<'a>(&self, normalised: &'a str) -> Vec<(&'a str, usize, usize)> {
        self.jieba
            .cut_for_search(normalised, true)
            .into_iter()
            .filter(|t| t.word.chars().any(is_word_char))
            .map(|t| (t.word, t.byte_start, t.byte_end))
            .collect()
    }
}

/// A letter, digit or CJK character: what can be part of a word.
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric();
    }
    // The common CJK block first: `is_alphanumeric` is slow outside ASCII.
    matches!(c, '\u{4E00}'..='\u{9FFF}') || c.is_alphanumeric()
}

/// Full-width ASCII to half-width, ideographic space to space, lower case. Applied to training
/// text, to every text classified and to search queries alike.
pub fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        if c.is_ascii_uppercase() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The names a county adds to the dictionary: every unit's name and aliases, the short form of
/// each (without 镇/乡/街道/村/社区/网格/县), and category names.
pub fn county_words(
    org: &bihuan_domain::org::Org,
    categories: &bihuan_domain::category::CategoryTree,
) -> Vec<String> {
    let mut words = Vec::new();
    for u in org.units() {
        for name in std::iter::once(&u.name).chain(u.aliases.iter()) {
            words.push(name.clone());
            if let Some(short) = crate::place::short_form(name) {
                words.push(short.to_string());
            }
        }
    }
    for c in categories.iter() {
        words.push(c.name.clone());
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn county_names_stay_whole() {
        let plain = Tokenizer::default();
        let text = normalise("桃源镇杨柳村路灯不亮");
        let before = plain.words(&text);
        assert!(!before.contains(&"杨柳村"), "{before:?}");
        let t = Tokenizer::new(["杨柳村", "桃源镇"]);
        assert_eq!(t.added, 2);
        let after = t.words(&text);
        assert!(after.contains(&"杨柳村"), "{after:?}");
        assert!(after.contains(&"桃源镇"), "{after:?}");
    }

    #[test]
    fn normalise_folds_width_and_case() {
        assert_eq!(normalise("ＡＢＣ１２３　x"), "abc123 x");
        let t = Tokenizer::default();
        assert_eq!(t.words(&normalise("，。！ ？")), Vec::<&str>::new());
    }
}
