//! Query-shape limits async-graphql does not have: a cap on field selections (aliases
//! included) per document, checked right after parsing and before validation.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
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
