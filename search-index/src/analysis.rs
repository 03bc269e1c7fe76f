//! Text analysis: NFKC normalisation and the three ways titles and descriptions are
//! indexed.
//!
//! - `cjk`: lowercased words for Latin-like scripts; for Chinese, Japanese and Korean
//!   runs every character (unigram) and every pair of neighbours (bigram), so any two
//!   characters inside an unbroken run of any length are found, whatever a dictionary
//!   thinks the words are; emoji are single tokens. Phrases and highlights use it.
//! - `zh`: jieba's search-mode segmentation, which ranks real Chinese words higher.
//! - `en`: lowercased words with the English stemmer ("running" finds "runs").

use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, TextAnalyzer, Token,
    TokenStream, Tokenizer,
};
use unicode_normalization::UnicodeNormalization;

pub const CJK: &str = "rg_cjk";
pub const ZH: &str = "rg_zh";
pub const EN: &str = "rg_en";
/// Longest token kept, in bytes; longer runs of letters are not words anyone types.
const MAX_TOKEN_BYTES: usize = 64;

/// NFKC, the normal form the index and every query are analysed in: full-width Latin
/// becomes ASCII, half-width katakana becomes full-width, NFD becomes composed.
pub fn normalize(text: &str) -> String {
    text.nfkc().collect()
}

/// Case- and width-insensitive key for exact tags and categories.
pub fn label_key(label: &str) -> String {
    normalize(label.trim()).to_lowercase()
}

pub(crate) fn register(manager: &tantivy::tokenizer::TokenizerManager) {
    manager.register(CJK, TextAnalyzer::from(CjkTokenizer));
    manager.register(
        ZH,
        TextAnalyzer::builder(tantivy_jieba::JiebaTokenizer::new())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(LowerCaser)
            .build(),
    );
    manager.register(
        EN,
        TextAnalyzer::builder(SimpleTokenizer::default())
            .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
            .filter(LowerCaser)
            .filter(Stemmer::new(Language::English))
            .build(),
    );
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CharClass {
    /// Han, kana, hangul: no spaces between words.
    Cjk,
    /// Letters and digits of scripts that separate words with spaces.
    Word,
    Emoji,
    /// Joiners and variation selectors: part of the emoji or word around them.
    Joiner,
    Separator,
}

pub(crate) fn classify(c: char) -> CharClass {
    let u = c as u32;
    match u {
        0x3040..=0x30FF // hiragana, katakana
        | 0x31F0..=0x31FF // katakana extensions
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified
        | 0xF900..=0xFAFF // CJK compatibility
        | 0xAC00..=0xD7AF // hangul syllables
        | 0x1100..=0x11FF // hangul jamo
        | 0x3130..=0x318F // hangul compatibility jamo
        | 0x20000..=0x3134F => CharClass::Cjk, // extensions B..H
        0x200D | 0xFE0E | 0xFE0F | 0x1F3FB..=0x1F3FF => CharClass::Joiner,
        0x2600..=0x27BF | 0x1F000..=0x1FAFF => CharClass::Emoji,
        _ if c.is_alphanumeric() => CharClass::Word,
        _ => CharClass::Separator,
    }
}

/// A piece of text as the cjk analyser sees it, with its byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// A lowercased word of a spaced script.
    Word(String, usize, usize),
    /// An unbroken run of CJK characters: the characters and their byte offsets.
    Cjk(Vec<(char, usize, usize)>),
    Emoji(String, usize, usize),
}

/// Splits text into words, CJK runs and emoji.
pub(crate) fn pieces(text: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        match classify(c) {
            CharClass::Word => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, n)) = chars.peek() {
                    if classify(n) != CharClass::Word {
                        break;
                    }
                    end = i + n.len_utf8();
                    chars.next();
                }
                let word = &text[start..end];
                if word.len() <= MAX_TOKEN_BYTES {
                    out.push(Piece::Word(word.to_lowercase(), start, end));
                }
            }
            CharClass::Cjk => {
                let mut run = vec![(c, start, start + c.len_utf8())];
                while let Some(&(i, n)) = chars.peek() {
                    if classify(n) != CharClass::Cjk {
                        break;
                    }
                    run.push((n, i, i + n.len_utf8()));
                    chars.next();
                }
                out.push(Piece::Cjk(run));
            }
            CharClass::Emoji => {
                let mut end = start + c.len_utf8();
                while let Some(&(i, n)) = chars.peek() {
                    if classify(n) != CharClass::Joiner {
                        break;
                    }
                    end = i + n.len_utf8();
                    chars.next();
                }
                // The emoji itself, without skin tones and presentation selectors.
                out.push(Piece::Emoji(c.to_string(), start, end));
            }
            CharClass::Joiner | CharClass::Separator => {}
        }
    }
    out
}

#[derive(Clone)]
struct CjkTokenizer;

struct CjkTokenStream {
    tokens: Vec<Token>,
    next: usize,
    /// Returned before the first `advance` or after the last, instead of panicking.
    none: Token,
}

impl Tokenizer for CjkTokenizer {
    type TokenStream<'a> = CjkTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CjkTokenStream {
        let mut tokens = Vec::new();
        let mut position = 0;
        let mut push = |text: String, from: usize, to: usize, position: usize| {
            tokens.push(Token {
                offset_from: from,
                offset_to: to,
                position,
                text,
                position_length: 1,
            });
        };
        for piece in pieces(text) {
            match piece {
                Piece::Word(word, from, to) | Piece::Emoji(word, from, to) => {
                    push(word, from, to, position);
                    position += 1;
                }
                Piece::Cjk(run) => {
                    for (i, &(c, from, to)) in run.iter().enumerate() {
                        push(c.to_string(), from, to, position);
                        if let Some(&(n, _, next_to)) = run.get(i + 1) {
                            push(format!("{c}{n}"), from, next_to, position);
                        }
                        position += 1;
                    }
                }
            }
        }
        CjkTokenStream {
            tokens,
            next: 0,
            none: Token::default(),
        }
    }
}

impl TokenStream for CjkTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        self.next
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .unwrap_or(&self.none)
    }

    fn token_mut(&mut self) -> &mut Token {
        match self.next.checked_sub(1) {
            Some(i) if i < self.tokens.len() => &mut self.tokens[i],
            _ => &mut self.none,
        }
    }
}

/// The terms one query word stands for in the cjk field, as a phrase: a CJK run of two
/// or more characters becomes its bigrams in order, a single character its unigram.
pub(crate) fn cjk_run_terms(run: &[(char, usize, usize)]) -> Vec<String> {
    if run.len() == 1 {
        return vec![run[0].0.to_string()];
    }
    run.windows(2)
        .map(|w| format!("{}{}", w[0].0, w[1].0))
        .collect()
}

/// Tokens of `text` under a registered analyser, as strings.
pub(crate) fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(token) = stream.next() {
        out.push(token.text.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cjk_tokens(text: &str) -> Vec<(String, usize)> {
        let mut t = CjkTokenizer;
        let mut s = t.token_stream(text);
        let mut out = Vec::new();
        while let Some(tok) = s.next() {
            out.push((tok.text.clone(), tok.position));
        }
        out
    }

    #[test]
    fn mixed_script_text_splits_into_words_bigrams_and_emoji() {
        let toks = cjk_tokens("Rust 入門🎉OK");
        let texts: Vec<_> = toks.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["rust", "入", "入門", "門", "🎉", "ok"]);
        let positions: Vec<_> = toks.iter().map(|(_, p)| *p).collect();
        assert_eq!(positions, [0, 1, 1, 2, 3, 4]);
    }

    #[test]
    fn every_pair_inside_a_long_run_is_a_token() {
        let run: String =
            "机器学习人工智能深度神经网络自然语言处理计算机视觉数据挖掘推荐系统知识图谱强化学习"
                .chars()
                .take(40)
                .collect();
        let toks: Vec<String> = cjk_tokens(&run).into_iter().map(|(t, _)| t).collect();
        let chars: Vec<char> = run.chars().collect();
        for w in chars.windows(2) {
            assert!(toks.contains(&format!("{}{}", w[0], w[1])));
        }
    }

    #[test]
    fn nfkc_folds_width_and_composition() {
        assert_eq!(normalize("ＲＵＳＴ ｶﾀｶﾅ"), "RUST カタカナ");
        assert_eq!(normalize("Cafe\u{301}"), "Café");
        assert_eq!(label_key(" Ｍusic "), "music");
    }
}
