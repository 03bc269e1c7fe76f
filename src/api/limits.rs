//! Query-shape limits async-graphql does not have, checked right after parsing and before
//! validation: a cap on field selections (aliases included) per document, and at most one
//! password-hashing mutation (register, login, changePassword) per operation, so that one
//! request cannot queue hundreds of argon2 hashes behind aliases.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, OperationType, Selection, SelectionSet};
use async_graphql::{ServerError, ServerResult, Variables};

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

fn count(set: &SelectionSet, total: &mut usize, limit: usize) {
    for item in &set.items {
        if *total > limit {
            return;
        }
        match &item.node {
            Selection::Field(field) => {
                *total += 1;
                count(&field.node.selection_set.node, total, limit);
            }
            Selection::InlineFragment(fragment) => {
                count(&fragment.node.selection_set.node, total, limit)
            }
            Selection::FragmentSpread(_) => *total += 1,
        }
    }
}

const HASHING_MUTATIONS: [&str; 3] = ["register", "login", "changePassword"];

/// Root fields of a mutation that hash a password, following fragments at the root.
fn hashing_fields(doc: &ExecutableDocument, set: &SelectionSet, depth: usize) -> usize {
    if depth > 8 {
        return 0;
    }
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) => {
                usize::from(HASHING_MUTATIONS.contains(&f.node.name.node.as_str()))
            }
            Selection::InlineFragment(f) => {
                hashing_fields(doc, &f.node.selection_set.node, depth + 1)
            }
            Selection::FragmentSpread(spread) => doc
                .fragments
                .get(&spread.node.fragment_name.node)
                .map_or(0, |f| {
                    hashing_fields(doc, &f.node.selection_set.node, depth + 1)
                }),
        })
        .sum()
}

#[async_trait::async_trait]
impl Extension for FieldLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let mut total = 0;
        for (_, op) in doc.operations.iter() {
            count(&op.node.selection_set.node, &mut total, self.max_fields);
        }
        for fragment in doc.fragments.values() {
            count(
                &fragment.node.selection_set.node,
                &mut total,
                self.max_fields,
            );
        }
        // Only one operation of a document runs, so the most any one of them asks for.
        let hashing = doc
            .operations
            .iter()
            .filter(|(_, op)| op.node.ty == OperationType::Mutation)
            .map(|(_, op)| hashing_fields(&doc, &op.node.selection_set.node, 0))
            .max()
            .unwrap_or(0);
        if hashing > 1 {
            return Err(ServerError::new(
                "an operation may run at most one of register, login and changePassword",
                None,
            ));
        }
        if total > self.max_fields {
            return Err(ServerError::new(
                format!(
                    "query selects too many fields (more than {}); split it into smaller queries",
                    self.max_fields
                ),
                None,
            ));
        }
        Ok(doc)
    }
}
