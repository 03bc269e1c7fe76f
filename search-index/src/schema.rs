//! The index schema. Changing it means bumping [`SCHEMA_VERSION`]: servers then rebuild
//! their replica from the database by themselves.

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STORED, STRING,
};

use crate::analysis::{CJK, EN, ZH};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub id_hi: Field,
    pub id_lo: Field,
    pub title: Field,
    pub description: Field,
    pub tags: Field,
    pub categories: Field,
    pub title_cjk: Field,
    pub title_zh: Field,
    pub title_en: Field,
    pub description_cjk: Field,
    pub description_zh: Field,
    pub description_en: Field,
    pub tags_text: Field,
    pub tag: Field,
    pub category: Field,
    pub tag_facet: Field,
    pub category_facet: Field,
    pub owner: Field,
    pub listed: Field,
    pub published_at: Field,
    pub sort_time: Field,
    pub like_count: Field,
    pub view_count: Field,
}

fn analysed(tokenizer: &str, positions: bool) -> TextOptions {
    let record = if positions {
        IndexRecordOption::WithFreqsAndPositions
    } else {
        IndexRecordOption::WithFreqs
    };
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(record),
    )
}

pub(crate) fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        id_hi: b.add_u64_field("id_hi", FAST),
        id_lo: b.add_u64_field("id_lo", FAST),
        title: b.add_text_field("title", STORED),
        description: b.add_text_field("description", STORED),
        tags: b.add_text_field("tags", STORED),
        categories: b.add_text_field("categories", STORED),
        title_cjk: b.add_text_field("title_cjk", analysed(CJK, true)),
        title_zh: b.add_text_field("title_zh", analysed(ZH, false)),
        title_en: b.add_text_field("title_en", analysed(EN, false)),
        description_cjk: b.add_text_field("description_cjk", analysed(CJK, true)),
        description_zh: b.add_text_field("description_zh", analysed(ZH, false)),
        description_en: b.add_text_field("description_en", analysed(EN, false)),
        tags_text: b.add_text_field("tags_text", analysed(CJK, true)),
        tag: b.add_text_field("tag", STRING),
        category: b.add_text_field("category", STRING),
        tag_facet: b.add_facet_field("tag_facet", INDEXED),
        category_facet: b.add_facet_field("category_facet", INDEXED),
        owner: b.add_text_field("owner", STRING),
        listed: b.add_u64_field("listed", INDEXED | FAST | STORED),
        published_at: b.add_i64_field("published_at", INDEXED | FAST),
        sort_time: b.add_i64_field("sort_time", FAST),
        like_count: b.add_u64_field("like_count", FAST | STORED),
        view_count: b.add_u64_field("view_count", FAST | STORED),
    };
    (b.build(), fields)
}
