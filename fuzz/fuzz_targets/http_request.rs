#![no_main]

// The entry point is shared with tests/fuzz_corpus.rs, which replays the corpus on stable.
#[path = "../entry.rs"]
mod entry;

libfuzzer_sys::fuzz_target!(|data: &[u8]| entry::http_request(data));
