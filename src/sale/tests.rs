use rust_decimal::dec;

use super::*;
use crate::catalog::{Product, SoldBy};

fn settings(include: bool, rounding: Option<Decimal>) -> SaleSettings {
    SaleSettings {
        currency: Currency::CNY,
        prices_include_tax: include,
        cash_rounding: rounding,
        tax_classes: vec![TaxClass::new("A", dec!(0.13)).unwrap(), TaxClass::new("B", dec!(0.09)).unwrap()],
    }
}

fn money(s: &str) -> Money {
    Money::parse(s, Currency::CNY).unwrap()
}

fn product(sku: &str, price: &str, class: &str, sold_by: SoldBy) -> Product {
    Product {
        sku: sku.into(),
        barcodes: vec![],
        name_zh: format!("商品{sku}").into(),
        name_en: format!("Item {sku}").into(),
        price: money(price),
        tax_class: class.into(),
        category: "x".into(),
        quick_key: None,
        sold_by,
    }
}

#[test]
fn tax_included_breakdown() {
    let mut s = Sale::new(settings(true, None));
    s.add_product(&product("1", "11.30", "A", SoldBy::Piece), dec!(1)).unwrap();
    s.add_product(&product("2", "10.90", "B", SoldBy::Piece), dec!(2)).unwrap();
    let t = s.totals();
    assert_eq!(t.total, money("33.10"));
    assert_eq!(t.taxes[0].tax, money("1.30"));
    assert_eq!(t.taxes[0].net, money("10.00"));
    assert_eq!(t.taxes[1].tax, money("1.80"));
    assert_eq!(t.tax, money("3.10"));
}

#[test]
fn tax_excluded_adds_tax_once_per_rate() {
    let mut s = Sale::new(settings(false, None));
    // Three lines of 0.05 at 13 %: per line 0.0065 would round to 0.01 each (0.03),
    // once per rate 0.15 × 0.13 = 0.0195 → 0.02.
    for sku in ["1", "2", "3"] {
        s.add_product(&product(sku, "0.05", "A", SoldBy::Piece), dec!(1)).unwrap();
    }
    let t = s.totals();
    assert_eq!(t.tax, money("0.02"));
    assert_eq!(t.total, money("0.17"));
    let line_taxes: i64 = t.lines.iter().map(|l| l.tax.minor()).sum();
    assert_eq!(line_taxes, 2);
}

#[test]
fn weighed_goods_and_discounts() {
    let mut s = Sale::new(settings(true, None));
    let apples = product("F", "12.80", "B", SoldBy::Weight);
    s.add_product(&apples, dec!(1.235)).unwrap(); // 15.808 → 15.81
    assert_eq!(s.totals().total, money("15.81"));
    s.set_line_discount(0, Some(Discount::Percent(dec!(10)))).unwrap(); // 1.581 → 1.58
    assert_eq!(s.totals().total, money("14.23"));
    s.add_product(&product("1", "5.00", "A", SoldBy::Piece), dec!(3)).unwrap();
    s.set_sale_discount(Some(Discount::Amount(money("2.00")))).unwrap();
    let t = s.totals();
    assert_eq!(t.total, money("27.23"));
    let shares: i64 = t.lines.iter().map(|l| l.sale_discount.minor()).sum();
    assert_eq!(shares, 200);
    assert_eq!(t.discount, money("3.58"));
    assert_eq!(s.set_sale_discount(Some(Discount::Amount(money("100")))), Err(SaleError::DiscountTooLarge));
    assert_eq!(s.set_line_discount(0, Some(Discount::Percent(dec!(101)))), Err(SaleError::BadDiscountPercent));
}

#[test]
fn quantities_are_checked() {
    let mut s = Sale::new(settings(true, None));
    let p = product("1", "1.00", "A", SoldBy::Piece);
    let w = product("2", "1.00", "A", SoldBy::Weight);
    assert_eq!(s.add_product(&p, dec!(0)), Err(SaleError::QuantityNotPositive));
    assert_eq!(s.add_product(&p, dec!(-1)), Err(SaleError::QuantityNotPositive));
    assert_eq!(s.add_product(&p, dec!(1.5)), Err(SaleError::FractionalPieces));
    assert_eq!(s.add_product(&p, dec!(10000)), Err(SaleError::QuantityTooLarge));
    assert_eq!(s.add_product(&w, dec!(0.0005)), Err(SaleError::QuantityTooPrecise));
    assert!(s.add_product(&w, dec!(0.005)).is_ok());
    let dear = product("3", "9999999999.99", "A", SoldBy::Piece);
    assert_eq!(s.add_product(&dear, dec!(2)), Err(SaleError::TotalOutOfRange));
    assert_eq!(s.lines().len(), 1, "a refused line leaves the cart as it was");
    let unknown = product("4", "1.00", "Z", SoldBy::Piece);
    assert_eq!(s.add_product(&unknown, dec!(1)), Err(SaleError::UnknownTaxClass("Z".into())));
}

#[test]
fn cash_with_change_and_rounding() {
    let mut s = Sale::new(settings(true, Some(dec!(0.10))));
    s.add_product(&product("1", "12.37", "A", SoldBy::Piece), dec!(1)).unwrap();
    s.begin_payment().unwrap();
    assert_eq!(s.cash_due(), money("12.40"));
    let change = s.tender_cash(money("20")).unwrap();
    assert_eq!(change, money("7.60"));
    assert_eq!(s.rounding(), money("0.03"));
    assert_eq!(s.state(), SaleState::Paid);
    s.complete().unwrap();
    assert_eq!(s.state(), SaleState::Completed);
}

#[test]
fn split_tender_card_then_cash() {
    let mut s = Sale::new(settings(true, None));
    s.add_product(&product("1", "50.00", "A", SoldBy::Piece), dec!(1)).unwrap();
    s.begin_payment().unwrap();
    let card = CardPayment { masked_pan: "474843******7743".into(), ..Default::default() };
    assert!(matches!(s.tender_card(money("60"), card.clone()), Err(SaleError::TenderExceedsDue { .. })));
    s.tender_card(money("30"), card).unwrap();
    assert_eq!(s.remaining(), money("20.00"));
    assert_eq!(s.remove_tender(0), Err(SaleError::CardNeedsReversal));
    assert!(matches!(s.void(), Err(SaleError::IllegalTransition { .. })));
    assert_eq!(s.tender_cash(money("10")).unwrap(), money("0"));
    assert_eq!(s.state(), SaleState::Tendering);
    s.tender_external(ExternalMethod::ScanCode, "4200001234202611270000", money("10")).unwrap();
    assert_eq!(s.state(), SaleState::Paid);
    let full = CardPayment { masked_pan: "4748430000007743".into(), ..Default::default() };
    assert_eq!(full.validate(), Err(SaleError::FullPan));
}

#[test]
fn illegal_transitions_are_refused() {
    let mut s = Sale::new(settings(true, None));
    assert_eq!(s.begin_payment(), Err(SaleError::Empty));
    assert_eq!(s.complete(), Err(SaleError::IllegalTransition { from: SaleState::Open, action: Action::Complete }));
    s.add_product(&product("1", "1.00", "A", SoldBy::Piece), dec!(1)).unwrap();
    s.park().unwrap();
    assert!(matches!(
        s.add_product(&product("1", "1.00", "A", SoldBy::Piece), dec!(1)),
        Err(SaleError::IllegalTransition { .. })
    ));
    s.resume().unwrap();
    s.begin_payment().unwrap();
    assert!(matches!(s.park(), Err(SaleError::IllegalTransition { .. })));
    s.back_to_cart().unwrap();
    s.void().unwrap();
    assert!(matches!(s.resume(), Err(SaleError::IllegalTransition { .. })));
}

#[test]
fn refunds_are_bounded_by_the_original() {
    let original = OriginalSale {
        receipt_no: 7,
        lines: vec![OriginalLine {
            line_no: 1,
            sku: "1".into(),
            name_zh: "水".into(),
            name_en: "Water".into(),
            quantity: dec!(3),
            unit_price: money("1.00"),
            amount: money("2.00"),
            tax_class: "A".into(),
            tax_rate: dec!(0.13),
            sold_by: SoldBy::Piece,
            refunded_quantity: dec!(1),
            refunded_amount: money("0.67"),
        }],
    };
    let mut r = Sale::new_refund(settings(true, None), &original);
    assert!(matches!(r.add_refund_line(&original, 1, dec!(3)), Err(SaleError::RefundExceedsOriginal { .. })));
    r.add_refund_line(&original, 1, dec!(1)).unwrap();
    r.add_refund_line(&original, 1, dec!(1)).unwrap();
    assert!(matches!(r.add_refund_line(&original, 1, dec!(1)), Err(SaleError::RefundExceedsOriginal { .. })));
    assert_eq!(r.totals().total, money("-1.33"));
    r.begin_payment().unwrap();
    r.tender_cash(money("0")).unwrap();
    assert_eq!(r.state(), SaleState::Paid);
    assert_eq!(r.tenders()[0].amount, money("-1.33"));
    assert!(matches!(
        r.add_product(&product("1", "1.00", "A", SoldBy::Piece), dec!(1)),
        Err(SaleError::IllegalTransition { .. })
    ));
}
