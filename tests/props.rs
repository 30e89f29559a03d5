//! Property tests for money and tax: the figures add up under the stated rounding rule
//! (see `sale::tax`), change is tendered minus due, refunds never exceed the original.

use proptest::prelude::*;
use rust_decimal::Decimal;
use till::catalog::{Product, SoldBy};
use till::money::{Currency, MAX_MINOR, Money};
use till::sale::tax::{allocate, div_half_up, rate_ppm};
use till::sale::{Discount, OriginalLine, OriginalSale, Sale, SaleError, SaleSettings, SaleState, TaxClass};

fn settings(include: bool, rounding: Option<Decimal>) -> SaleSettings {
    SaleSettings {
        currency: Currency::CNY,
        prices_include_tax: include,
        cash_rounding: rounding,
        tax_classes: vec![
            TaxClass::new("A", Decimal::new(13, 2)).unwrap(),
            TaxClass::new("B", Decimal::new(9, 2)).unwrap(),
            TaxClass::new("C", Decimal::new(6, 2)).unwrap(),
            TaxClass::new("Z", Decimal::ZERO).unwrap(),
        ],
    }
}

#[derive(Debug, Clone)]
struct LineSpec {
    price_minor: i64,
    qty: i64,
    weighed: bool,
    class: usize,
    discount_pct: Option<u32>,
}

fn line_spec() -> impl Strategy<Value = LineSpec> {
    (0i64..500_000, 1i64..5_000, any::<bool>(), 0usize..4, prop::option::weighted(0.3, 1u32..=10_000)).prop_map(
        |(price_minor, qty, weighed, class, discount_pct)| LineSpec { price_minor, qty, weighed, class, discount_pct },
    )
}

fn build(specs: &[LineSpec], include: bool, sale_pct: Option<u32>, rounding: Option<Decimal>) -> Sale {
    let s = settings(include, rounding);
    let mut sale = Sale::new(s.clone());
    for (i, spec) in specs.iter().enumerate() {
        let product = Product {
            sku: format!("P{i}").into(),
            barcodes: vec![],
            name_zh: "商品".into(),
            name_en: "Item".into(),
            price: Money::from_minor(spec.price_minor, Currency::CNY).unwrap(),
            tax_class: s.tax_classes[spec.class].code.clone().into(),
            category: "x".into(),
            quick_key: None,
            sold_by: if spec.weighed { SoldBy::Weight } else { SoldBy::Piece },
        };
        // Weighed: qty thousandths of a kg; pieces: 1–50.
        let qty = if spec.weighed { Decimal::new(spec.qty, 3) } else { Decimal::from(spec.qty % 50 + 1) };
        let line = sale.add_product(&product, qty).unwrap();
        if let Some(bp) = spec.discount_pct {
            sale.set_line_discount(line, Some(Discount::Percent(Decimal::new(i64::from(bp), 2)))).unwrap();
        }
    }
    if let Some(bp) = sale_pct {
        sale.set_sale_discount(Some(Discount::Percent(Decimal::new(i64::from(bp), 2)))).unwrap();
    }
    sale
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn money_parse_display_round_trip(minor in -MAX_MINOR..=MAX_MINOR) {
        let m = Money::from_minor(minor, Currency::CNY).unwrap();
        prop_assert_eq!(Money::parse(&m.to_string(), Currency::CNY).unwrap(), m);
        prop_assert_eq!(m.minor(), minor);
    }

    #[test]
    fn rounding_is_half_up_and_within_half_a_unit(raw in -10_000_000_000i64..10_000_000_000, scale in 0u32..6) {
        let value = Decimal::new(raw, scale + 2);
        let m = Money::new(value, Currency::CNY).unwrap();
        let diff = (m.amount() - value).abs();
        prop_assert!(diff <= Decimal::new(5, 3));
        if diff == Decimal::new(5, 3) {
            // A tie goes away from zero.
            prop_assert!(m.amount().abs() > value.abs());
        }
    }

    #[test]
    fn allocation_is_exact_and_proportional(total in -1_000_000i64..1_000_000, weights in prop::collection::vec(0i64..100_000, 1..30)) {
        let parts = allocate(total, &weights);
        let sum: i64 = weights.iter().sum();
        if sum == 0 {
            prop_assert!(parts.iter().all(|p| *p == 0));
        } else {
            prop_assert_eq!(parts.iter().sum::<i64>(), total);
            for (p, w) in parts.iter().zip(&weights) {
                let exact = i128::from(total) * i128::from(*w);
                // Each part is the exact share rounded down or up: |p·sum − total·w| < sum.
                prop_assert!((i128::from(*p) * i128::from(sum) - exact).abs() < i128::from(sum));
            }
        }
    }

    #[test]
    fn totals_add_up_under_the_rounding_rule(
        specs in prop::collection::vec(line_spec(), 1..40),
        include in any::<bool>(),
        sale_pct in prop::option::weighted(0.3, 1u32..=10_000),
    ) {
        let sale = build(&specs, include, sale_pct, None);
        let t = sale.totals();
        let amounts: i64 = t.lines.iter().map(|l| l.amount.minor()).sum();
        let gross: i64 = t.lines.iter().map(|l| l.gross.minor()).sum();
        let discounts: i64 = t.lines.iter().map(|l| l.line_discount.minor() + l.sale_discount.minor()).sum();
        prop_assert_eq!(gross, t.gross.minor());
        prop_assert_eq!(discounts, t.discount.minor());
        prop_assert_eq!(gross - discounts, amounts);
        // Line taxes add up to each rate's tax, rate taxes to the sale's tax.
        let line_tax: i64 = t.lines.iter().map(|l| l.tax.minor()).sum();
        let rate_tax: i64 = t.taxes.iter().map(|r| r.tax.minor()).sum();
        prop_assert_eq!(line_tax, t.tax.minor());
        prop_assert_eq!(rate_tax, t.tax.minor());
        for r in &t.taxes {
            let ppm = i128::from(rate_ppm(r.rate).unwrap());
            let base = i128::from(r.base.minor());
            let expected = if include { div_half_up(base * ppm, 1_000_000 + ppm) } else { div_half_up(base * ppm, 1_000_000) };
            prop_assert_eq!(i128::from(r.tax.minor()), expected, "rate {}", r.rate);
            prop_assert_eq!(r.net.minor() + r.tax.minor(), r.gross.minor());
        }
        let expected_total = if include { amounts } else { amounts + t.tax.minor() };
        prop_assert_eq!(t.total.minor(), expected_total);
    }

    #[test]
    fn change_equals_tendered_minus_due(
        specs in prop::collection::vec(line_spec(), 1..10),
        extra in 0i64..100_000,
        step in prop::sample::select(vec![None, Some(Decimal::new(5, 2)), Some(Decimal::new(10, 2)), Some(Decimal::ONE)]),
    ) {
        let mut sale = build(&specs, true, None, step);
        sale.begin_payment().unwrap();
        if sale.state() == SaleState::Paid {
            return Ok(());
        }
        let due = sale.cash_due();
        let given = Money::from_minor(due.minor() + extra, Currency::CNY).unwrap();
        let change = sale.tender_cash(given).unwrap();
        prop_assert_eq!(change.minor(), given.minor() - due.minor());
        prop_assert_eq!(sale.state(), SaleState::Paid);
        // What was paid is the total plus the cash rounding, and the rounding is less than a step.
        let paid: i64 = sale.tenders().iter().map(|t| t.amount.minor()).sum();
        prop_assert_eq!(paid, sale.totals().total.minor() + sale.rounding().minor());
        if let Some(step) = step {
            prop_assert!(sale.rounding().amount().abs() * Decimal::from(2) <= step);
        } else {
            prop_assert!(sale.rounding().is_zero());
        }
    }

    #[test]
    fn split_tenders_never_overpay(specs in prop::collection::vec(line_spec(), 1..10), parts in prop::collection::vec(1i64..50_000, 1..6)) {
        let mut sale = build(&specs, true, None, None);
        sale.begin_payment().unwrap();
        for p in parts {
            if sale.state() == SaleState::Paid { break; }
            let amount = Money::from_minor(p, Currency::CNY).unwrap();
            let remaining = sale.remaining();
            let result = sale.tender_external(till::sale::ExternalMethod::ScanCode, "ref", amount);
            if p > remaining.minor() {
                prop_assert!(matches!(result, Err(SaleError::TenderExceedsDue { .. })), "{:?}", result);
            } else {
                prop_assert!(result.is_ok());
            }
            prop_assert!(!sale.remaining().is_negative());
        }
    }

    #[test]
    fn refunds_never_exceed_the_original(
        sold_qty in 1i64..20,
        amount in 0i64..1_000_000,
        asks in prop::collection::vec(1i64..8, 1..12),
    ) {
        let mut original = OriginalSale {
            receipt_no: 1,
            lines: vec![OriginalLine {
                line_no: 1,
                sku: "P".into(),
                name_zh: "商品".into(),
                name_en: "Item".into(),
                quantity: Decimal::from(sold_qty),
                unit_price: Money::from_minor(amount / sold_qty, Currency::CNY).unwrap(),
                amount: Money::from_minor(amount, Currency::CNY).unwrap(),
                tax_class: "A".into(),
                tax_rate: Decimal::new(13, 2),
                sold_by: SoldBy::Piece,
                refunded_quantity: Decimal::ZERO,
                refunded_amount: Money::zero(Currency::CNY),
            }],
        };
        // A series of refunds, each against the original as the ledger would then report it.
        for ask in asks {
            let mut refund = Sale::new_refund(settings(true, None), &original);
            let left = original.lines[0].quantity - original.lines[0].refunded_quantity;
            match refund.add_refund_line(&original, 1, Decimal::from(ask)) {
                Ok(_) => {
                    prop_assert!(Decimal::from(ask) <= left);
                    let back = -refund.totals().total.minor();
                    prop_assert!(back >= 0);
                    let line = &mut original.lines[0];
                    line.refunded_quantity += Decimal::from(ask);
                    line.refunded_amount = Money::from_minor(line.refunded_amount.minor() + back, Currency::CNY).unwrap();
                }
                Err(SaleError::RefundExceedsOriginal { .. }) => prop_assert!(Decimal::from(ask) > left),
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
            let line = &original.lines[0];
            prop_assert!(line.refunded_quantity <= line.quantity);
            prop_assert!(line.refunded_amount.minor() <= line.amount.minor());
            if line.refunded_quantity == line.quantity {
                // Returning everything gives back exactly what was paid.
                prop_assert_eq!(line.refunded_amount.minor(), line.amount.minor());
            }
        }
    }

    #[test]
    fn money_parse_never_panics(text in "\\PC{0,30}") {
        let _ = Money::parse(&text, Currency::CNY);
        let _ = till::catalog::Gtin::parse(&text);
    }
}
