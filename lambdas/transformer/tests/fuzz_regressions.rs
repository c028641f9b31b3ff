//! Replays the fuzz inputs kept under `tests/fuzz_regressions/transformer_record/` through the
//! fuzz target's own property checks (`fuzz/src`, included by path), on stable and without the
//! fuzzer. `scripts/fuzz` finds new ones.

#[path = "../../../fuzz/src/json_text.rs"]
mod json_text;
#[path = "../../../fuzz/src/replay.rs"]
mod replay;
#[path = "../../../fuzz/src/transformer_record.rs"]
mod transformer_record;

#[test]
fn transformer_record_inputs_keep_their_properties() {
    replay::replay(
        env!("CARGO_MANIFEST_DIR"),
        "transformer_record",
        transformer_record::check,
    );
}
