//! Shared set-up for the benchmarks: a synthetic 300,000-product catalog and fixtures.
#![allow(dead_code)]

use rust_decimal::Decimal;
use till::catalog::{Catalog, EmbeddedRule, Product, SoldBy, barcode};
use till::money::{Currency, Money};
use till::simulate::Rng;

const ZH: &[&str] = &[
    "农夫",
    "山泉",
    "可乐",
    "绿茶",
    "牛奶",
    "酸奶",
    "面包",
    "饼干",
    "薯片",
    "巧克力",
    "方便面",
    "火腿肠",
    "苹果",
    "香蕉",
    "橙汁",
    "咖啡",
    "啤酒",
    "白酒",
    "牙膏",
    "洗发水",
    "纸巾",
    "电池",
    "大米",
    "酱油",
    "鸡精",
    "水饺",
    "汤圆",
    "雪糕",
];
const EN: &[&str] = &[
    "spring",
    "water",
    "cola",
    "green",
    "tea",
    "milk",
    "yogurt",
    "bread",
    "biscuit",
    "chips",
    "chocolate",
    "noodles",
    "sausage",
    "apple",
    "banana",
    "orange",
    "juice",
    "coffee",
    "beer",
    "liquor",
    "toothpaste",
    "shampoo",
    "tissue",
    "battery",
    "rice",
    "soy",
    "sauce",
    "dumplings",
    "ice",
    "cream",
    "family",
    "pack",
    "mini",
    "classic",
    "spicy",
];

pub fn word<'a>(rng: &mut Rng, words: &'a [&'a str]) -> &'a str {
    words[rng.range(0, words.len() as u64 - 1) as usize]
}

/// `n` products with unique EAN-13 codes (690…), names of 3 words in each language and a size.
pub fn synthetic_products(n: usize, seed: u64) -> Vec<Product> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let size = rng.range(1, 2000);
            Product {
                sku: format!("S{i:07}").into(),
                barcodes: vec![barcode::with_check_digit(&format!("690{i:09}")).unwrap().into()],
                name_zh: format!("{}{}{} {size}g", word(&mut rng, ZH), word(&mut rng, ZH), word(&mut rng, ZH)).into(),
                name_en: format!("{} {} {} {size}g", word(&mut rng, EN), word(&mut rng, EN), word(&mut rng, EN)).into(),
                price: Money::from_minor(rng.range(50, 50_000) as i64, Currency::CNY).unwrap(),
                tax_class: "A".into(),
                category: format!("c{}", i % 40).into(),
                quick_key: None,
                sold_by: if i % 20 == 0 { SoldBy::Weight } else { SoldBy::Piece },
            }
        })
        .collect()
}

pub fn synthetic_catalog(n: usize) -> Catalog {
    Catalog::new(Currency::CNY, synthetic_products(n, 42), EmbeddedRule::defaults())
}

/// Queries a cashier might type: one or two words in either language, some that match nothing.
pub fn queries(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| match i % 5 {
            0 => word(&mut rng, EN).to_string(),
            1 => format!("{} {}", word(&mut rng, EN), word(&mut rng, EN)),
            2 => word(&mut rng, ZH).to_string(),
            3 => format!("{}{}", word(&mut rng, ZH), word(&mut rng, ZH)),
            _ => format!("zz{}", rng.range(0, 9999)),
        })
        .collect()
}

/// The p-th percentile (0–100) of sorted durations in nanoseconds.
pub fn percentile(sorted_ns: &[u128], p: f64) -> u128 {
    let idx = ((sorted_ns.len() as f64 - 1.0) * p / 100.0).round() as usize;
    sorted_ns[idx]
}

pub fn qty(milli: i64) -> Decimal {
    Decimal::new(milli, 3)
}

/// A ledger of `n` random cash sales, each through a sale in progress as at the counter (three
/// entries a sale), built once and kept on a tmpfs where there is one: what a till that was
/// offline for a while has to ship.
pub fn counter_sales_ledger(n: u32) -> std::path::PathBuf {
    use till::config::StoreSettings;
    use till::ledger::{Ledger, PostContext};
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        std::path::PathBuf::from("/dev/shm/till-bench")
    } else {
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("till-bench")
    };
    let dir = base.join(format!("counter-sales-{n}-v1"));
    let path = dir.join("ledger.db");
    if dir.join("complete").exists() {
        return path;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&path, "R1", store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut rng = Rng::new(u64::from(n));
    let ctx = PostContext { cashier: "bench".into(), training: false };
    for _ in 0..n {
        let mut sale = till::simulate::random_paid_sale(&catalog, &store.sale_settings(), &mut rng).unwrap();
        let id = ledger.save_in_progress(None, "bench", &sale, chrono::Utc::now()).unwrap();
        ledger.post_in_progress(id, &mut sale, &ctx, chrono::Utc::now()).unwrap();
    }
    std::fs::write(dir.join("complete"), "").unwrap();
    path
}
