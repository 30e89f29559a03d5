//! Receipts laid out for each printer profile (generic 58 and 80 mm, the Epson TM-T88's 42
//! columns, a POS-58 without QR or barcode commands) in zh-CN and en, from a sale posted to a
//! real ledger, against golden text files (`tests/golden/*.txt`, looked at by a person). Set
//! `TILL_BLESS=1` to rewrite them after a deliberate change, and look again.

use chrono::Utc;
use rust_decimal::Decimal;
use till::config::StoreSettings;
use till::ledger::{CardSlipFacts, Ledger, PostContext};
use till::money::Money;
use till::printer::emulator::{Decoder, Event, PaperItem};
use till::printer::escpos::encode;
use till::printer::layout::{Document, layout, width_in};
use till::printer::profile::{Hanzi, Profile};
use till::printer::receipt::Receipt;
use till::sale::{CardPayment, Discount, Sale};

fn posted_sale() -> till::ledger::records::SaleRecord {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&dir.path().join("ledger.db"), &store.register, store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let cny = |s: &str| Money::parse(s, store.currency).unwrap();
    let mut sale = Sale::new(store.sale_settings());
    sale.add_product(catalog.by_sku("DRK001").unwrap(), Decimal::from(2)).unwrap();
    sale.add_product(catalog.by_sku("FRU001").unwrap(), Decimal::new(1235, 3)).unwrap();
    let chips = sale.add_product(catalog.by_sku("SNK001").unwrap(), Decimal::ONE).unwrap();
    sale.set_line_discount(chips, Some(Discount::Percent(Decimal::from(10)))).unwrap();
    sale.add_product(catalog.by_sku("DLY004").unwrap(), Decimal::ONE).unwrap();
    sale.begin_payment().unwrap();
    let card = CardPayment {
        masked_pan: "474843******7743".into(),
        card_name: "VISA".into(),
        receipt_no: 17,
        trace: 42,
        terminal_id: "52500038".into(),
        aid: "A0000000".into(),
    };
    sale.tender_card(cny("20.00"), card).unwrap();
    sale.tender_cash(cny("50")).unwrap();
    let ctx = PostContext { cashier: "张三".into(), training: false };
    let posted = ledger.post_sale(&mut sale, &ctx, Utc::now()).unwrap();
    let mut record = ledger.sale_by_receipt(posted.receipt_no).unwrap();
    // A fixed instant, so the golden files do not change with the clock (shown in local time).
    record.completed_at = "2026-11-27T06:30:00.000Z".into();
    record
}

/// Lays the sale out for a printer model, compares it with its golden file, and decodes the
/// bytes back with the emulator playing that model.
fn check(locale: &str, model: &str, copy: bool) {
    let profile = Profile::by_id(model).unwrap();
    let columns = profile.columns;
    let store = StoreSettings { printer_model: profile, ..StoreSettings::demo() };
    let mut receipt = Receipt::from_sale(&posted_sale(), &store, locale, copy);
    // The ledger's anchor for the sale, as `print_queue` sets it from the sale's entry.
    receipt.anchor = Some("100423:3f9a0c1d5e7b2a46".into());
    let doc = layout(&receipt, profile);
    let text = doc.to_text();
    assert!(text.contains("100423:3f9a0c1d5e7b2a46"), "the receipt shows its anchor");
    for line in text.lines() {
        // Measured as the printer counts: in Chinese mode every non-ASCII character is two columns.
        assert!(width_in(line, doc.line_is_chinese(line)) <= columns, "too wide for {columns} columns: {line:?}");
    }
    // The time line follows the machine's zone: golden files keep it as a placeholder.
    let local = chrono::DateTime::parse_from_rfc3339("2026-11-27T06:30:00Z")
        .unwrap()
        .with_timezone(&chrono::Local)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let shown = text.replace(&local, "YYYY-MM-DD HH:MM:SS");
    let name = format!("receipt-{locale}-{model}{}.txt", if copy { "-copy" } else { "" });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(&name);
    if std::env::var("TILL_BLESS").is_ok() {
        std::fs::write(&path, &shown).unwrap();
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{name} missing: run with TILL_BLESS=1"));
    assert_eq!(shown, golden, "{name}");

    // The ESC/POS bytes, decoded back by the emulator playing the same model, show exactly the
    // laid-out text: nothing wrapped, nothing misprinted, nothing it lacks sent.
    let chinese = locale.starts_with("zh");
    let bytes = encode(&doc).unwrap();
    let mut printer = Decoder::new(profile);
    printer.feed(&bytes);
    assert_eq!(printer.text, text, "{name} as printed");
    assert_eq!(printer.misprinted, 0, "{name}: codes the model's charset lacks");
    assert!(printer.outside_gb2312.is_empty() || profile.hanzi != Hanzi::Gb2312);
    assert!(!printer.events.iter().any(|e| matches!(e, Event::Unsupported(_))), "{name}: {:?}", printer.events);
    // The QR code carries the receipt id, as a phone reads it: printed by the printer's QR
    // command, or drawn as a raster image where it has none (read back by another library).
    assert!(printer.text.contains(&format!("[QR {}]", receipt.code)), "{name}: the QR code carries the receipt id");
    if !profile.qr {
        assert!(printer.items.iter().any(|i| matches!(i, PaperItem::Image { .. })), "{name}: drawn as an image");
        assert!(!bytes.windows(3).any(|w| w == [0x1D, 0x28, 0x6B]), "{name}: no GS ( k");
    }
    let end = if profile.cutter { Event::Cut } else { Event::TearOff };
    assert_eq!(printer.events.iter().filter(|e| **e == end).count(), 1);
    // What a person looks at: the printed receipt as a picture.
    // Drawn with the time line as its placeholder, so the picture is the same in every zone.
    let items: Vec<PaperItem> = printer
        .items
        .iter()
        .map(|item| match item {
            PaperItem::Text { text, centered, right, double, bold, chinese } => PaperItem::Text {
                text: text.replace(&local, "YYYY-MM-DD HH:MM:SS"),
                centered: *centered,
                right: *right,
                double: *double,
                bold: *bold,
                chinese: *chinese,
            },
            other => other.clone(),
        })
        .collect();
    let png = till::printer::render::render_png(&items, columns).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]) as usize;
    assert_eq!(width, columns * 12 + 24);
    let picture = path.with_extension("png");
    if std::env::var("TILL_BLESS").is_ok() {
        std::fs::write(&picture, &png).unwrap();
    }
    // The picture is drawn from the items, not the text: compared too (the renderer is ours
    // and deterministic).
    let golden =
        std::fs::read(&picture).unwrap_or_else(|_| panic!("{} missing: run with TILL_BLESS=1", picture.display()));
    assert!(golden == png, "{} differs from what prints now (look, then TILL_BLESS=1)", picture.display());
    if chinese {
        let (title, _, _) = encoding_rs::GB18030.encode("销售小票");
        assert!(bytes.windows(title.len()).any(|w| w == &title[..]), "GB18030 in the bytes");
    }
}

#[test]
fn zh_cn_generic_58() {
    check("zh-CN", "generic-58", false);
}

#[test]
fn zh_cn_generic_80() {
    check("zh-CN", "generic-80", false);
}

#[test]
fn en_generic_58() {
    check("en", "generic-58", false);
}

#[test]
fn en_generic_80_copy() {
    check("en", "generic-80", true);
}

#[test]
fn zh_cn_epson_tm_t88_42_columns() {
    check("zh-CN", "epson-tm-t88", false);
}

#[test]
fn en_epson_tm_t88_42_columns() {
    check("en", "epson-tm-t88", false);
}

#[test]
fn zh_cn_pos_58_without_qr_or_barcode() {
    check("zh-CN", "pos-58", false);
}

#[test]
fn en_pos_58_without_qr_or_barcode() {
    check("en", "pos-58", false);
}

#[test]
fn every_profile_lays_every_receipt_within_its_columns() {
    // The rule of item 1 for every model, both languages: no line wider than the paper, and the
    // emulator playing the model prints the bytes back as laid out.
    for profile in till::printer::profile::PROFILES {
        for locale in ["zh-CN", "en"] {
            let store = StoreSettings { printer_model: profile, ..StoreSettings::demo() };
            let doc = layout(&Receipt::from_sale(&posted_sale(), &store, locale, false), profile);
            let text = doc.to_text();
            for line in text.lines() {
                assert!(width_in(line, doc.line_is_chinese(line)) <= profile.columns, "{}: {line:?}", profile.id);
            }
            let mut printer = Decoder::new(profile);
            printer.feed(&encode(&doc).unwrap());
            assert_eq!(printer.text, text, "{} {locale}", profile.id);
        }
    }
}

#[test]
fn an_english_receipt_prints_the_chinese_part_of_the_store_name() {
    let profile = Profile::generic_80();
    let store = StoreSettings::demo();
    let doc = layout(&Receipt::from_sale(&posted_sale(), &store, "en", false), profile);
    let bytes = encode(&doc).unwrap();
    let mut printer = Decoder::new(profile);
    printer.feed(&bytes);
    assert!(printer.text.contains("Demo Convenience Store 示例便利店"), "{}", printer.text);
    assert!(!printer.text.contains("?????"), "{}", printer.text);
    // The line goes in Chinese mode and the mode goes back for the next.
    let (hanzi, _, _) = encoding_rs::GB18030.encode("示例便利店");
    let at = bytes.windows(hanzi.len()).position(|w| w == &hanzi[..]).unwrap();
    let on = bytes[..at].windows(2).rposition(|w| w == [0x1C, 0x26]).unwrap();
    assert!(bytes[on..at].windows(2).all(|w| w != [0x1C, 0x2E]));
    assert!(bytes[at..].windows(2).any(|w| w == [0x1C, 0x2E]), "Chinese mode off again");
}

#[test]
fn a_four_byte_code_on_gbk_firmware_prints_as_garbage_in_the_emulator() {
    // What the till never sends any more: ¥ as GB18030's four bytes (81 30 84 36).
    let mut gbk = Decoder::new(Profile::generic_80());
    let mut bytes = vec![0x1B, 0x40, 0x1C, 0x26];
    bytes.extend_from_slice(&encoding_rs::GB18030.encode("合计 ¥5").0);
    bytes.push(0x0A);
    gbk.feed(&bytes);
    assert_eq!(gbk.misprinted, 2, "{}", gbk.text);
    assert!(gbk.text.contains('\u{FFFD}'), "{}", gbk.text);
    let mut gb18030 = Decoder::new(Profile::by_id("epson-tm-t88").unwrap());
    gb18030.feed(&bytes);
    assert_eq!(gb18030.text, "合计 ¥5\n");
    // € (A2E3 in GB18030) is blank on a GB2312 font.
    let mut gb2312 = Decoder::new(Profile::by_id("pos-58").unwrap());
    let mut bytes = vec![0x1C, 0x26];
    bytes.extend_from_slice(&encoding_rs::GB18030.encode("5€").0);
    bytes.push(0x0A);
    gb2312.feed(&bytes);
    assert_eq!((gb2312.text.as_str(), gb2312.misprinted), ("5  \n", 1));
}

#[test]
fn an_over_wide_line_wraps_on_the_emulated_printer() {
    // 49 characters on a 48-column printer and 43 on the TM-T88's 42: the last wraps.
    for (model, columns) in [("generic-80", 48), ("epson-tm-t88", 42)] {
        let mut printer = Decoder::new(Profile::by_id(model).unwrap());
        let mut bytes = "x".repeat(columns + 1).into_bytes();
        bytes.push(0x0A);
        printer.feed(&bytes);
        assert_eq!(printer.text, format!("{}\nx\n", "x".repeat(columns)), "{model}");
    }
}

/// The card slip (签购单) of the posted sale's card payment, with the facts a terminal reports:
/// its date and time (0D 1127, 0C 143012), turnover number 88, the acquirer's merchant number.
fn card_slip(locale: &str, refund: bool) -> (Document, String) {
    let store = StoreSettings::demo();
    let mut sale = posted_sale();
    if refund {
        sale.kind = "refund".into();
    }
    let card = sale.payments.iter().find(|p| p.kind == "card").unwrap().clone();
    let facts = CardSlipFacts {
        merchant_no: Some("455600000012345".into()),
        card_type: Some(10),
        status_kept: Some("27=00 04=000000002000 0B=000042 0C=143012 0D=1127 88=000123 3B=A0000000".into()),
        batch: 3,
    };
    let slip = Receipt::card_slip(&sale, &card, &facts, &store, locale);
    let doc = layout(&slip, Profile::generic(58));
    let text = doc.to_text();
    (doc, text)
}

#[test]
fn the_card_slip_carries_every_field_in_both_languages() {
    let (doc, zh) = card_slip("zh-CN", false);
    for (label, value) in [
        ("交易类型", "消费"),
        ("卡号", "474843******7743"),
        ("发卡行", "VISA"),
        ("收单行商户号", "455600000012345"),
        ("终端号", "52500038"),
        ("批次号", "000003"),
        ("凭证号", "000017"),
        ("流水号", "000042"),
        ("参考号", "000123"),
        ("授权码", "A0000000"),
        ("日期时间", "2026-11-27 14:30:12"),
        ("收银小票号", "1"),
    ] {
        let line = zh.lines().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("{label} missing:\n{zh}"));
        assert!(line.ends_with(value), "{line:?} should show {value}");
    }
    assert!(zh.contains("签购单") && zh.contains("商户存根") && zh.contains("持卡人签名"), "{zh}");
    assert!(zh.contains("刷卡金额 CNY") && zh.contains("20.00"), "{zh}");
    assert!(!zh.contains("农夫山泉"), "no item lines on the slip");
    let mut printer = Decoder::new(Profile::generic(58));
    printer.feed(&encode(&doc).unwrap());
    assert_eq!(printer.text, zh);
    let (_, refund) = card_slip("zh-CN", true);
    assert!(refund.lines().any(|l| l.starts_with("交易类型") && l.ends_with("退货")), "{refund}");
    assert!(refund.contains("-20.00"), "{refund}");

    let (doc, en) = card_slip("en", false);
    let lines: Vec<&str> = en.lines().collect();
    for (label, value) in [
        ("Type", "SALE"),
        ("Card no.", "474843******7743"),
        ("Issuer", "VISA"),
        ("Terminal", "52500038"),
        ("Batch no.", "000003"),
        ("Voucher no.", "000017"),
        ("Trace no.", "000042"),
        ("Reference no.", "000123"),
        ("Auth code", "A0000000"),
        ("Date/time", "2026-11-27 14:30:12"),
        ("Till receipt no.", "1"),
    ] {
        let line = lines.iter().find(|l| l.starts_with(label)).unwrap_or_else(|| panic!("{label} missing:\n{en}"));
        assert!(line.ends_with(value), "{line:?} should show {value}");
    }
    // A long label and its value on two lines (32 columns).
    let acquirer = lines.iter().position(|l| l.starts_with("Acquirer merchant no.")).unwrap();
    assert!(lines[acquirer + 1].ends_with("455600000012345"), "{en}");
    assert!(en.contains("CARD SLIP") && en.contains("MERCHANT COPY") && en.contains("SALE"), "{en}");
    // Looked at as pictures: tests/golden/card-slip-*.png.
    for (locale, doc) in [("zh-CN", card_slip("zh-CN", false).0), ("en", doc)] {
        let mut printer = Decoder::new(Profile::generic(58));
        printer.feed(&encode(&doc).unwrap());
        let png = till::printer::render::render_png(&printer.items, 32).unwrap();
        let picture =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/card-slip-{locale}.png"));
        if std::env::var("TILL_BLESS").is_ok() {
            std::fs::write(&picture, &png).unwrap();
        }
        let golden =
            std::fs::read(&picture).unwrap_or_else(|_| panic!("{} missing: run with TILL_BLESS=1", picture.display()));
        assert!(golden == png, "{} differs from what prints now (look, then TILL_BLESS=1)", picture.display());
    }
}

#[test]
fn the_slip_of_a_voided_cart() {
    let dir = tempfile::tempdir().unwrap();
    let store = StoreSettings::demo();
    let mut ledger = Ledger::open(&dir.path().join("ledger.db"), &store.register, store.currency).unwrap();
    let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
    let mut sale = Sale::new(store.sale_settings());
    sale.add_product(catalog.by_sku("DRK003").unwrap(), Decimal::from(2)).unwrap();
    sale.void().unwrap();
    let slip = Receipt::void_slip(&sale, &store, "zh-CN", "张三", "顾客放弃购买");
    let doc = layout(&slip, Profile::generic(58));
    let text = doc.to_text();
    assert!(text.contains("作废单") && text.contains("可口可乐") && text.contains("作废原因：顾客放弃购买"), "{text}");
    assert!(text.contains("作废金额 CNY") && text.contains("7.00"), "{text}");
    assert!(!text.contains("[QR"), "nothing to scan back: {text}");
    let mut printer = Decoder::new(Profile::generic(58));
    printer.feed(&encode(&doc).unwrap());
    assert_eq!(printer.text, text);
}

#[test]
fn the_stores_logo_heads_the_receipt_on_every_printer_that_prints_images() {
    // A 300×80 logo: a black bar on white.
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, 300, 80);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        let data: Vec<u8> = (0..80 * 300).map(|i| if (20..60).contains(&(i / 300)) { 0 } else { 255 }).collect();
        writer.write_image_data(&data).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logo.png");
    std::fs::write(&path, &png).unwrap();
    let text = till::config::settings::template().replace(
        "printer_model = \"generic-80\"",
        &format!("printer_model = \"generic-80\"\nlogo = \"{}\"", path.display()),
    );
    let store = till::config::settings::parse(&text).unwrap().store;
    for profile in till::printer::profile::PROFILES {
        let store = StoreSettings { printer_model: profile, ..store.clone() };
        let doc = layout(&Receipt::from_sale(&posted_sale(), &store, "zh-CN", false), profile);
        let shown = doc.to_text();
        assert!(shown.starts_with(&format!("[IMAGE {}x80]\n", profile.dots)), "{}: {shown}", profile.id);
        let mut printer = Decoder::new(profile);
        printer.feed(&encode(&doc).unwrap());
        assert_eq!(printer.text, shown, "{}", profile.id);
        let Some(PaperItem::Image { bits, width, .. }) = printer.items.first() else { panic!("{}", profile.id) };
        let row = width / 8;
        let dark = |x: usize, y: usize| bits[y * row + x / 8] & (0x80 >> (x % 8)) != 0;
        let centre = usize::from(profile.dots) / 2;
        assert!(dark(centre, 40) && !dark(centre, 10), "{}: the bar, not the white", profile.id);
    }
    // A logo that is not a PNG is named in the settings' problems.
    std::fs::write(&path, b"not a png").unwrap();
    let problems = till::config::settings::parse(&text).unwrap_err();
    assert_eq!(problems[0].key, "store.logo");
    assert!(problems[0].localized("en").contains("logo.png"), "{}", problems[0].localized("en"));
}
