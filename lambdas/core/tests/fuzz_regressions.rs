//! Replays the fuzz inputs kept under `tests/fuzz_regressions/<target>/` through the fuzz
//! targets' own property checks (`fuzz/src`, included by path), on stable and without the
//! fuzzer: whatever the fuzzer once found stays fixed. `scripts/fuzz` finds new ones.

#[path = "../../../fuzz/src/body.rs"]
mod body;
#[path = "../../../fuzz/src/contract.rs"]
mod contract;
#[path = "../../../fuzz/src/envelope_schema.rs"]
mod envelope_schema;
#[path = "../../../fuzz/src/json_text.rs"]
mod json_text;
#[path = "../../../fuzz/src/replay.rs"]
mod replay;

#[test]
fn body_inputs_keep_their_properties() {
    replay::replay(env!("CARGO_MANIFEST_DIR"), "body", body::check);
}

#[test]
fn envelope_schema_inputs_keep_their_properties() {
    replay::replay(
        env!("CARGO_MANIFEST_DIR"),
        "envelope_schema",
        envelope_schema::check,
    );
}
