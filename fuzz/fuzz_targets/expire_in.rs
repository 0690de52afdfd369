//! GitLab's `expire_in` grammar: any text parses or is refused, never panics, and a
//! duration it accepts is longer than zero.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(Some(d)) = arca_core::expire_in::parse(s) {
        assert!(!d.is_zero(), "{s:?} gave zero");
    }
});
