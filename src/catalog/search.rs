//! Name search: every product's searchable text, lower-cased, in one string, so that a query is
//! one SIMD substring scan (memchr's memmem) instead of 300,000 small ones. The text holds the
//! SKU, both names, the barcodes and the pinyin initials of the Chinese name (农夫山泉 → nfsq),
//! which is how cashiers in China type a product they cannot scan.

use memchr::memmem;

use super::Product;

/// Separates products in the haystack; never typed into a query (queries are split on blanks).
const SEPARATOR: char = '\n';

pub(super) struct NameIndex {
    haystack: String,
    /// Byte offset where each product's text starts; ascending, one per product.
    starts: Vec<u32>,
}

impl NameIndex {
    pub(super) fn build(products: &[Product]) -> NameIndex {
        let mut haystack = String::with_capacity(products.len() * 64);
        let mut starts = Vec::with_capacity(products.len());
        for p in products {
            starts.push(haystack.len() as u32);
            for part in [p.sku.as_str(), p.name_en.as_str(), p.name_zh.as_str()] {
                push_lower(&mut haystack, part);
                haystack.push('\t');
            }
            push_initials(&mut haystack, &p.name_zh);
            haystack.push('\t');
            for code in &p.barcodes {
                haystack.push_str(code);
                haystack.push('\t');
            }
            haystack.push(SEPARATOR);
        }
        NameIndex { haystack, starts }
    }

    /// Indexes of products containing every word of `query`, in catalog order.
    pub(super) fn search(&self, query: &str, limit: usize) -> Vec<u32> {
        let query = query.to_lowercase();
        let mut words: Vec<&str> = query.split_whitespace().collect();
        if words.is_empty() || limit == 0 {
            return Vec::new();
        }
        // Scan for the longest word (fewest false starts); check the others per candidate.
        words.sort_by_key(|w| std::cmp::Reverse(w.len()));
        let (first, rest) = words.split_first().expect("words is not empty");
        let finder = memmem::Finder::new(first.as_bytes());
        let bytes = self.haystack.as_bytes();
        let mut found = Vec::new();
        let mut from = 0usize;
        while from < bytes.len() && found.len() < limit {
            let Some(pos) = finder.find(&bytes[from..]) else { break };
            let at = from + pos;
            let product = self.starts.partition_point(|&s| s as usize <= at) - 1;
            let (start, end) = self.bounds(product);
            let text = &bytes[start..end];
            if rest.iter().all(|w| memmem::find(text, w.as_bytes()).is_some()) {
                found.push(product as u32);
            }
            from = end;
        }
        found
    }

    fn bounds(&self, product: usize) -> (usize, usize) {
        let start = self.starts[product] as usize;
        let end = self.starts.get(product + 1).map_or(self.haystack.len(), |&s| s as usize);
        (start, end)
    }
}

fn push_lower(out: &mut String, text: &str) {
    for c in text.chars() {
        if c == SEPARATOR || c == '\t' {
            out.push(' ');
        } else {
            out.extend(c.to_lowercase());
        }
    }
}

/// Pinyin initials of the Hanzi, other letters and digits as they are: "农夫山泉 550ml" → "nfsq 550ml".
fn push_initials(out: &mut String, text: &str) {
    use pinyin::ToPinyin;
    for c in text.chars() {
        match c.to_pinyin() {
            Some(p) => out.push_str(p.first_letter()),
            None if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            None if c.is_whitespace() => out.push(' '),
            None => {}
        }
    }
}
