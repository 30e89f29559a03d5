use std::sync::Arc;

use rust_decimal::dec;

use super::*;
use crate::auth::{DEMO_CASHIER_PIN, DEMO_MANAGER_PIN, approve, demo_users};

fn counter() -> Counter {
    let store = StoreSettings { void_approval_over: dec!(20), ..StoreSettings::demo() };
    let catalog = Arc::new(crate::demo::demo_catalog(&store).unwrap());
    Counter::new(store, catalog)
}

#[test]
fn a_discount_above_the_limit_needs_a_manager_even_through_the_core() {
    let mut c = counter();
    c.enter("DRK003").unwrap();
    c.discount("10", false, None).unwrap(); // the demo store's limit: 10 %
    assert_eq!(c.discount("30", true, None), Err(CounterError::NeedsApproval(Permission::Discount)));
    let users = demo_users();
    let other = approve(&users[1], DEMO_MANAGER_PIN, Permission::VoidLine).unwrap();
    assert_eq!(c.discount("30", true, Some(&other)), Err(CounterError::NeedsApproval(Permission::Discount)));
    let ok = approve(&users[1], DEMO_MANAGER_PIN, Permission::Discount).unwrap();
    c.discount("30", true, Some(&ok)).unwrap();
    // 3.50 less 10 % is 3.15; 30 % of that is 0.945, a discount rounded half-up to 0.95.
    assert_eq!(c.sale().totals().total.minor(), 220);
}

#[test]
fn scans_skus_and_counts_make_lines() {
    let mut c = counter();
    assert_eq!(c.enter("6912345000376").unwrap(), Entered::Line(0));
    assert_eq!(c.enter("3*DRK003").unwrap(), Entered::Line(1));
    assert_eq!(c.sale().lines()[1].quantity, dec!(3));
    assert_eq!(c.sale().totals().total.to_string(), "12.50");
    assert_eq!(c.enter("R1-00000007").unwrap(), Entered::Receipt(7));
    assert!(matches!(c.enter("6912345000375"), Err(CounterError::Lookup(_))));
    assert!(matches!(c.enter("NOPE"), Err(CounterError::Lookup(_))));
    assert_eq!(c.sale().lines().len(), 2, "a bad entry changes nothing");
}

#[test]
fn voiding_an_expensive_line_needs_a_manager_even_through_the_core() {
    let mut c = counter();
    c.enter("10*DRK003").unwrap(); // 35.00, over the 20.00 threshold
    assert!(c.void_needs_approval());
    assert_eq!(c.void_line(None), Err(CounterError::NeedsApproval(Permission::VoidLine)));
    let users = demo_users();
    let wrong = approve(&users[1], DEMO_MANAGER_PIN, Permission::NoSale).unwrap();
    assert_eq!(c.void_line(Some(&wrong)), Err(CounterError::NeedsApproval(Permission::VoidLine)));
    assert!(approve(&users[0], DEMO_CASHIER_PIN, Permission::VoidLine).is_err(), "a cashier cannot approve");
    let ok = approve(&users[1], DEMO_MANAGER_PIN, Permission::VoidLine).unwrap();
    c.void_line(Some(&ok)).unwrap();
    assert!(c.sale().lines().is_empty());
    // A cheap line goes without asking.
    c.enter("DRK001").unwrap();
    c.void_line(None).unwrap();
}

#[test]
fn park_and_resume_keep_the_cart() {
    let mut c = counter();
    c.enter("2*DRK001").unwrap();
    c.park().unwrap();
    assert!(c.sale().lines().is_empty());
    c.enter("DRK003").unwrap();
    assert_eq!(c.resume(0), Err(CounterError::CartNotEmpty));
    c.void_sale(None).unwrap();
    c.resume(0).unwrap();
    assert_eq!(c.sale().totals().total.to_string(), "4.00");
    assert!(c.parked().is_empty());
    c.void_sale(None).unwrap();
    assert_eq!(c.resume(0), Err(CounterError::NoParkedSale(1)));
}

#[test]
fn cash_pays_and_the_next_sale_starts() {
    let mut c = counter();
    c.enter("DRK003").unwrap();
    c.begin_payment().unwrap();
    assert!(matches!(c.tender_cash("abc"), Err(CounterError::Money(_))));
    assert_eq!(c.tender_cash("10").unwrap().to_string(), "6.50");
    let (paid, _) = c.take_paid().unwrap();
    assert_eq!(paid.state(), SaleState::Paid);
    assert!(c.sale().lines().is_empty() && c.sale().state() == SaleState::Open);
}

#[test]
fn quantity_price_and_discount_edit_the_selected_line() {
    let mut c = counter();
    c.enter("DRK003").unwrap();
    c.set_quantity("4", None).unwrap();
    assert!(matches!(c.set_quantity("four", None), Err(CounterError::BadQuantity(_))));
    assert_eq!(c.override_price("3.00", None), Err(CounterError::NeedsApproval(Permission::PriceOverride)));
    c.discount("10", false, None).unwrap();
    assert_eq!(c.sale().totals().total.to_string(), "12.60");
    c.select(None);
    assert_eq!(c.set_quantity("2", None), Err(CounterError::NoLineSelected));
}
