//! Every message key exists in both locale files, and every key the code uses exists.

use std::collections::BTreeSet;

/// Flattens the nested YAML of a locale file into dotted keys (the files use plain two-space
/// indentation and `key: "value"` lines only).
fn keys(text: &str) -> BTreeSet<String> {
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with("_version") {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let (key, value) = trimmed.split_once(':').expect("key: value");
        let key = key.trim_matches('"');
        while path.last().is_some_and(|(i, _)| *i >= indent) {
            path.pop();
        }
        let full = path.iter().map(|(_, k)| k.as_str()).chain([key]).collect::<Vec<_>>().join(".");
        if value.trim().is_empty() {
            path.push((indent, key.to_string()));
        } else {
            out.insert(full);
        }
    }
    out
}

#[test]
fn both_locales_have_the_same_keys() {
    let en = keys(include_str!("../locales/en.yml"));
    let zh = keys(include_str!("../locales/zh-CN.yml"));
    let only_en: Vec<_> = en.difference(&zh).collect();
    let only_zh: Vec<_> = zh.difference(&en).collect();
    assert!(only_en.is_empty() && only_zh.is_empty(), "missing in zh-CN: {only_en:?}; missing in en: {only_zh:?}");
    assert!(en.len() > 90, "{} keys", en.len());
}

#[test]
fn every_key_used_in_the_code_exists() {
    let en = keys(include_str!("../locales/en.yml"));
    let mut missing = Vec::new();
    for entry in walk(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))) {
        let source = std::fs::read_to_string(&entry).unwrap();
        for (i, _) in source.match_indices("t!(\"") {
            // `t!(` itself, not the end of `format!(` or `print!(`.
            if source[..i].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let rest = &source[i + 4..];
            let key = &rest[..rest.find('"').unwrap()];
            if !en.contains(key) {
                missing.push(format!("{}: {key}", entry.display()));
            }
        }
    }
    assert!(missing.is_empty(), "{missing:#?}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
