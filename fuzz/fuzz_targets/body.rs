#![no_main]

libfuzzer_sys::fuzz_target!(|input: &[u8]| rtstream_fuzz::body::check(input));
