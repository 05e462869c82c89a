//! Every field of the official SDK's conversation-detail models has a column, or a child table
//! that takes it apart. The field lists are a fixture extracted from the SDK
//! (scripts/sdk_fields.py); a field with no home fails the test, naming it.

use genesys_loader::schema::{Catalog, Source};

/// The query endpoint's models are subsets of the job models the tables are declared for.
fn table_model(model: &str) -> &str {
    match model {
        "AnalyticsConversationWithoutAttributes" => "AnalyticsConversation",
        "AnalyticsParticipantWithoutAttributes" => "AnalyticsParticipant",
        // Aggregate stats are flattened into each row of the aggregates table.
        "StatisticalSummary" => "ConversationAggregateDataContainer",
        // The search serves the same evaluation as the single read, and the evaluations
        // dataset flattens the scoring set (`answers`) into the evaluation's row.
        "EvaluationSearchItemResponse" | "EvaluationScoringSet" => "EvaluationResponse",
        other => other,
    }
}

#[test]
fn every_sdk_model_field_has_a_column_or_a_child_table() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/sdk_models.json")).expect("fixture");
    let catalog = Catalog::builtin();
    let (mut total, mut covered) = (0, 0);
    let mut missing = Vec::new();
    for (model, fields) in fixture["models"].as_object().unwrap() {
        let tables: Vec<_> = catalog
            .tables()
            .iter()
            .filter(|t| t.model == table_model(model))
            .collect();
        assert!(!tables.is_empty(), "no table is made from {model}");
        for f in fields.as_array().unwrap() {
            let name = f["name"].as_str().unwrap();
            total += 1;
            let as_column = tables.iter().any(|t| {
                t.columns
                    .iter()
                    .any(|c| c.source == Source::Field(name.to_string()))
            });
            let as_child = tables.iter().any(|t| {
                catalog.tables().iter().any(|child| {
                    child
                        .path
                        .strip_prefix(&format!("{}.", t.path))
                        .is_some_and(|rest| rest.trim_end_matches("[]") == name)
                })
            });
            // Nested annotations are flattened into rows of the same table, each naming its
            // parent (`parent_annotation_id`).
            // The scoring set (`answers`) is flattened into the evaluation's own row, its
            // fields checked as EvaluationScoringSet's.
            let flattened = (model == "Annotation" && name == "annotations")
                || (table_model(model) == "EvaluationResponse" && name == "answers");
            if as_column || as_child || flattened {
                covered += 1;
            } else {
                missing.push(format!("{model}.{name}"));
            }
        }
    }
    println!("SDK model fields covered: {covered}/{total}");
    assert!(missing.is_empty(), "fields with no column: {missing:?}");
}
