//! Query-shape limits async-graphql does not have, checked right after parsing and before
//! async-graphql walks the document (its own parse step already follows every fragment
//! spread), for every transport (the prepare hook runs for `/graphql`, GET, SSE,
//! multipart/mixed and WebSocket subscribe alike):
//! - a cap on field selections as the document expands: every field counts (aliases and
//!   `__typename` included), and a fragment spread counts everything its fragment selects,
//!   so fragments that spread fragments cannot multiply work behind a small document. Each
//!   fragment is measured once (memoised), so the check is linear in the document's size;
//! - a cap on arguments per field (`__typename(a:1 b:2 ...)` with thousands of them);
//! - at most one password-hashing mutation (register, login, changePassword) per
//!   operation, so that one request cannot queue hundreds of argon2 hashes behind aliases.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest,
};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{Request, ServerError, ServerResult};

/// No field of the schema takes more; a document with more is refused before validation.
pub const MAX_ARGUMENTS: usize = 16;
/// Fragments spreading fragments deeper than this are refused (validation would refuse
/// most such chains too, but only after walking them).
const MAX_FRAGMENT_NESTING: usize = 64;

pub struct FieldLimit {
    pub max_fields: usize,
}

impl ExtensionFactory for FieldLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(FieldLimitExtension {
            max_fields: self.max_fields,
        })
    }
}

struct FieldLimitExtension {
    max_fields: usize,
}

/// Why a document was refused before validation.
#[derive(Debug, PartialEq, Eq)]
enum Shape {
    TooManyArguments,
    TooDeep,
}

/// Measures selection sets as they expand: fields are counted with everything their
/// fragments select, each fragment measured once.
struct Expansion<'a> {
    doc: &'a ExecutableDocument,
    /// Expanded size of each fragment already measured; `None` while it is being measured
    /// (a cycle, which validation reports; it adds nothing here).
    fragments: HashMap<&'a str, Option<u64>>,
}

impl<'a> Expansion<'a> {
    fn new(doc: &'a ExecutableDocument) -> Self {
        Self {
            doc,
            fragments: HashMap::new(),
        }
    }

    /// The number of fields `set` selects once every fragment spread is expanded
    /// (saturating, so a bomb reads as `u64::MAX` instead of overflowing).
    fn size(&mut self, set: &'a SelectionSet, nesting: usize) -> Result<u64, Shape> {
        if nesting > MAX_FRAGMENT_NESTING {
            return Err(Shape::TooDeep);
        }
        let mut total = 0u64;
        for item in &set.items {
            let add = match &item.node {
                Selection::Field(field) => {
                    if field.node.arguments.len() > MAX_ARGUMENTS {
                        return Err(Shape::TooManyArguments);
                    }
                    1u64.saturating_add(self.size(&field.node.selection_set.node, nesting + 1)?)
                }
                Selection::InlineFragment(fragment) => {
                    self.size(&fragment.node.selection_set.node, nesting + 1)?
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    match self.fragments.get(name) {
                        Some(Some(size)) => *size,
                        Some(None) => 0,
                        None => match self.doc.fragments.get(&spread.node.fragment_name.node) {
                            None => 0,
                            Some(fragment) => {
                                self.fragments.insert(name, None);
                                let size =
                                    self.size(&fragment.node.selection_set.node, nesting + 1)?;
                                self.fragments.insert(name, Some(size));
                                size
                            }
                        },
                    }
                }
            };
            total = total.saturating_add(add);
        }
        Ok(total)
    }
}

const HASHING_MUTATIONS: [&str; 3] = ["register", "login", "changePassword"];

/// Root fields of a mutation that hash a password, following fragments at the root (each
/// fragment counted once, saturating, so fragment fan-out cannot make this walk explode).
fn hashing_fields<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    memo: &mut HashMap<&'a str, usize>,
    depth: usize,
) -> usize {
    if depth > MAX_FRAGMENT_NESTING {
        return 0;
    }
    let mut total = 0usize;
    for item in &set.items {
        let add = match &item.node {
            Selection::Field(f) => {
                usize::from(HASHING_MUTATIONS.contains(&f.node.name.node.as_str()))
            }
            Selection::InlineFragment(f) => {
                hashing_fields(doc, &f.node.selection_set.node, memo, depth + 1)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.as_str();
                match memo.get(name) {
                    Some(n) => *n,
                    None => {
                        memo.insert(name, 0);
                        let n = doc
                            .fragments
                            .get(&spread.node.fragment_name.node)
                            .map_or(0, |f| {
                                hashing_fields(doc, &f.node.selection_set.node, memo, depth + 1)
                            });
                        memo.insert(name, n);
                        n
                    }
                }
            }
        };
        total = total.saturating_add(add);
    }
    total
}

/// The most password-hashing mutations any one operation of `doc` runs.
fn hashing_mutations(doc: &ExecutableDocument) -> usize {
    doc.operations
        .iter()
        .filter(|(_, op)| op.node.ty == OperationType::Mutation)
        .map(|(_, op)| hashing_fields(doc, &op.node.selection_set.node, &mut HashMap::new(), 0))
        .max()
        .unwrap_or(0)
}

/// Password-hashing mutations in a whole batch, counted before any of it runs: a batch may
/// run at most one, like a single operation. Documents that do not parse count nothing
/// (the executor reports them).
pub(crate) fn batch_hashing_mutations<'a>(queries: impl Iterator<Item = &'a str>) -> usize {
    queries
        .filter_map(|q| async_graphql::parser::parse_query(q).ok())
        .map(|doc| hashing_mutations(&doc))
        .fold(0, usize::saturating_add)
}

/// Why `doc` is refused, if it is: measured without expanding anything.
pub(crate) fn refusal(doc: &ExecutableDocument, max_fields: usize) -> Option<String> {
    // Validation walks every operation with its fragments expanded, so every operation
    // counts (a document of thousands of small operations is as costly as one large one);
    // fragments no operation spreads are walked on their own.
    let mut expansion = Expansion::new(doc);
    let mut total = 0u64;
    let shape = (|| {
        for (_, op) in doc.operations.iter() {
            total = total.saturating_add(expansion.size(&op.node.selection_set.node, 0)?);
        }
        for (name, fragment) in doc.fragments.iter() {
            if !expansion.fragments.contains_key(name.as_str()) {
                total = total.saturating_add(expansion.size(&fragment.node.selection_set.node, 0)?);
            }
        }
        Ok(())
    })();
    match shape {
        Ok(()) => {}
        Err(Shape::TooManyArguments) => {
            return Some(format!(
                "a field may take at most {MAX_ARGUMENTS} arguments"
            ))
        }
        Err(Shape::TooDeep) => {
            return Some(format!(
                "selections and fragments nest more than {MAX_FRAGMENT_NESTING} levels deep"
            ))
        }
    }
    if hashing_mutations(doc) > 1 {
        return Some(
            "an operation may run at most one of register, login and changePassword".into(),
        );
    }
    (total > max_fields as u64).then(|| {
        format!(
            "query selects too many fields (more than {max_fields}, counting every field each fragment spread brings in); split it into smaller queries"
        )
    })
}

#[async_trait::async_trait]
impl Extension for FieldLimitExtension {
    /// Runs before anything of async-graphql walks the document: its parse step already
    /// follows every fragment spread (the recursive-depth check), so the measure must come
    /// first. The document parsed here is handed on, so it is parsed once.
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        mut request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        if let Some(message) = refusal(request.parsed_query()?, self.max_fields) {
            return Err(ServerError::new(message, None));
        }
        next.run(ctx, request).await
    }
}
