//! The zip reader and arca's central-directory checks on arbitrary bytes: never a panic,
//! and an archive the checks accept expands to at most about 1,032 times its size, with
//! entry names that cannot escape.
#![no_main]

use std::io::Cursor;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(archive) = zip::ZipArchive::new(Cursor::new(data)) else { return };
    if arca_core::zipcheck::check(&archive).is_err() {
        return;
    }
    let mut expanded: u128 = 0;
    for i in 0..archive.len() {
        let entry = archive.by_index_data(i).expect("checked entries are readable");
        let name = entry.name().expect("checked names decode");
        assert!(!name.starts_with('/') && name.split(['/', '\\']).all(|seg| seg != ".."), "{name:?}");
        expanded += u128::from(entry.size());
    }
    let bound = data.len() as u128 * 1032 + archive.len() as u128 * 1024;
    assert!(expanded <= bound, "{expanded} bytes from a {}-byte archive", data.len());
});
