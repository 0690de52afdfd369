//! The archive index reader (`zipindex`): any bytes, as a damaged index object would be,
//! never panic; and an index built from entries finds each of them again.
#![no_main]

use arca_core::zipindex::{self, Entry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pages) = zipindex::pages(data) {
        let name = std::str::from_utf8(data.get(..8).unwrap_or(data)).unwrap_or("x");
        if let Some(page) = zipindex::page_for(&pages, name) {
            let start = (page.offset as usize).min(data.len());
            let end = start.saturating_add(page.len as usize).min(data.len());
            let _ = zipindex::find(&data[start..end], name);
        }
    }
    let _ = zipindex::find(data, "a");

    // Names from the input, each found again through the index built from them.
    let names: Vec<String> = data
        .split(|b| *b == b'/')
        .filter_map(|n| std::str::from_utf8(n).ok())
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .collect();
    let entries: Vec<Entry> = names
        .iter()
        .enumerate()
        .map(|(i, n)| Entry {
            name: n.clone(),
            header_offset: i as u64,
            compressed_size: 1,
            size: 1,
            method: 0,
            crc32: 0,
        })
        .collect();
    let index = zipindex::encode(entries);
    let pages = zipindex::pages(&index).expect("an index we wrote parses");
    for n in &names {
        let page = zipindex::page_for(&pages, n).expect("a page for every name");
        let bytes = &index[page.offset as usize..(page.offset + u64::from(page.len)) as usize];
        assert!(zipindex::find(bytes, n).expect("page parses").is_some(), "{n:?} lost");
    }
});
