//! Property test of the X report: for random days of sales, refunds, split tenders and cash
//! movements, every total equals the sum of its parts as read back sale by sale, and the cash the
//! drawer should hold follows float + cash taken + cash in − cash out.

use chrono::Utc;
use proptest::prelude::*;
use till::config::StoreSettings;
use till::ledger::{CashDirection, Ledger, PostContext};
use till::money::Money;
use till::sale::{ExternalMethod, Sale};
use till::simulate::{self, Rng};

#[derive(Debug, Clone)]
struct DaySpec {
    seed: u64,
    sales: usize,
    refunds: usize,
    split_every: usize,
    float_minor: i64,
    cash_in: Vec<i64>,
    cash_out: Vec<i64>,
}

fn day_spec() -> impl Strategy<Value = DaySpec> {
    (
        any::<u64>(),
        1usize..25,
        0usize..4,
        2usize..6,
        0i64..100_000,
        prop::collection::vec(1i64..50_000, 0..3),
        prop::collection::vec(1i64..50_000, 0..3),
    )
        .prop_map(|(seed, sales, refunds, split_every, float_minor, cash_in, cash_out)| DaySpec {
            seed,
            sales,
            refunds,
            split_every,
            float_minor,
            cash_in,
            cash_out,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn x_totals_are_the_sum_of_their_parts(spec in day_spec()) {
        let dir = tempfile::tempdir().unwrap();
        let store = StoreSettings::demo();
        let cny = store.currency;
        let mut ledger = Ledger::open(&dir.path().join("ledger.db"), "R1", cny).unwrap();
        let catalog = till::demo::load_catalog(&mut ledger, &store, true).unwrap();
        let settings = store.sale_settings();
        let now = Utc::now();
        ledger.ensure_day(Money::from_minor(spec.float_minor, cny).unwrap(), now).unwrap();
        let mut rng = Rng::new(spec.seed);
        let ctx = |n: usize| PostContext { cashier: format!("c{}", n % 3), training: false };
        for n in 0..spec.sales {
            let mut sale = simulate::random_basket(&catalog, &settings, &mut rng).unwrap();
            if n % spec.split_every == 0 {
                // Part paid by scan code, the rest in cash (the basket comes ready to pay).
                let part = Money::from_minor(sale.remaining().minor() / 2, cny).unwrap();
                if part.is_positive() {
                    sale.tender_external(ExternalMethod::ScanCode, "wx-123", part).unwrap();
                }
                let due = sale.cash_due();
                sale.tender_cash(due).unwrap();
            } else {
                simulate::pay_cash(&mut sale, &mut rng).unwrap();
            }
            ledger.post_sale(&mut sale, &ctx(n), now).unwrap();
        }
        for r in 0..spec.refunds.min(spec.sales) {
            let receipt = (r + 1) as i64;
            let original = ledger.original_sale(receipt).unwrap();
            let mut refund = Sale::new_refund(settings.clone(), &original);
            let line = &original.lines[0];
            refund.add_refund_line(&original, line.line_no, line.quantity).unwrap();
            refund.begin_payment().unwrap();
            refund.tender_cash(Money::zero(cny)).unwrap();
            ledger.post_sale(&mut refund, &ctx(r), now).unwrap();
        }
        for a in &spec.cash_in {
            ledger.post_cash_movement(CashDirection::In, Money::from_minor(*a, cny).unwrap(), "in", "m", now).unwrap();
        }
        for a in &spec.cash_out {
            ledger.post_cash_movement(CashDirection::Out, Money::from_minor(*a, cny).unwrap(), "out", "m", now).unwrap();
        }

        let f = ledger.day_figures(1, 1, false).unwrap();
        // Read back sale by sale, independently of the report's SQL.
        let (mut total, mut tax, mut cash, mut receipts, mut rounding) = (0i64, 0i64, 0i64, 0i64, 0i64);
        let mut receipt = 1;
        while let Ok(s) = ledger.sale_by_receipt(receipt) {
            total += s.total;
            tax += s.tax;
            rounding += s.rounding;
            cash += s.payments.iter().filter(|p| p.kind == "cash").map(|p| p.amount).sum::<i64>();
            receipts += 1;
            receipt += 1;
        }
        prop_assert_eq!(f.net, total);
        prop_assert_eq!(f.sales_total + f.refunds_total, f.net);
        prop_assert_eq!(f.sales_count + f.refunds_count, receipts);
        prop_assert_eq!(f.tax, tax);
        prop_assert_eq!(f.tenders.iter().map(|t| t.2).sum::<i64>(), f.net + rounding);
        prop_assert_eq!(f.tender("cash"), cash);
        prop_assert_eq!(f.cashiers.iter().map(|c| c.2).sum::<i64>(), f.net);
        prop_assert_eq!(f.cashiers.iter().map(|c| c.1).sum::<i64>(), receipts);
        prop_assert_eq!(f.by_hour.iter().map(|h| h.1).sum::<i64>(), f.net);
        prop_assert_eq!(f.taxes.iter().map(|t| t.3).sum::<i64>(), f.tax);
        // Prices include tax here: the lines' amounts are the net.
        prop_assert_eq!(f.taxes.iter().map(|t| t.2).sum::<i64>(), f.net);
        let moved = spec.cash_in.iter().sum::<i64>() - spec.cash_out.iter().sum::<i64>();
        prop_assert_eq!(f.expected_cash(), spec.float_minor + cash + moved);
    }
}
