//! Administration below the screen: the till's users and its catalog. Every change takes an
//! `auth::Approval` that covers it (users: `Permission::Users`; products: `Permission::Catalog`),
//! so the rules hold whatever a screen shows; only an installer's approval touches an installer,
//! and the last installer cannot be removed. Each change is a journal entry.

use chrono::Utc;
use rust_i18n::t;

use crate::auth::{self, Approval, Permission, Role, User};
use crate::catalog::Product;
use crate::catalog::import::{self, ImportError};
use crate::config::StoreSettings;
use crate::ledger::{Ledger, LedgerError};

/// The first installer, as the wizard takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub pin: String,
    pub pin_again: String,
}

/// What is wrong with a user being added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserError {
    NoId,
    NoName,
    BadPin,
    /// A manager's or installer's PIN with fewer than six digits.
    ShortPin,
    /// A PIN anyone would try first.
    WeakPin,
    PinsDiffer,
    /// The id is taken by another user.
    Taken,
}

impl UserError {
    pub fn localized(self, locale: &str) -> String {
        let key = match self {
            UserError::NoId => "users.error.no_id",
            UserError::NoName => "users.error.no_name",
            UserError::BadPin => "users.error.bad_pin",
            UserError::ShortPin => "users.error.short_pin",
            UserError::WeakPin => "users.error.weak_pin",
            UserError::PinsDiffer => "users.error.pins_differ",
            UserError::Taken => "users.error.taken",
        };
        t!(key, locale = locale).into_owned()
    }
}

/// Checks what was typed for a new user (fast: no hashing).
pub fn check_new_user(new: &NewUser) -> Result<(), UserError> {
    let id = new.id.trim();
    if id.is_empty() || id.chars().any(char::is_whitespace) {
        return Err(UserError::NoId);
    }
    if new.name.trim().is_empty() {
        return Err(UserError::NoName);
    }
    match auth::pin_problem(new.role, &new.pin) {
        Some(auth::PinProblem::Format) => return Err(UserError::BadPin),
        Some(auth::PinProblem::TooShort) => return Err(UserError::ShortPin),
        Some(auth::PinProblem::Weak) => return Err(UserError::WeakPin),
        None => {}
    }
    if new.pin != new.pin_again {
        return Err(UserError::PinsDiffer);
    }
    Ok(())
}

/// Checks a new user and hashes their PIN (slow on purpose: off the screen's loop).
pub fn make_user(new: &NewUser, existing: &[User]) -> Result<User, UserError> {
    check_new_user(new)?;
    if existing.iter().any(|u| u.id == new.id.trim()) {
        return Err(UserError::Taken);
    }
    let hash = auth::hash_pin(&new.pin).map_err(|_| UserError::BadPin)?;
    Ok(User::new(new.id.trim(), new.name.trim(), new.role, hash))
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("not permitted")]
    NotPermitted,
    #[error("user: {0:?}")]
    User(UserError),
    #[error("the last installer")]
    LastInstaller,
    #[error("no such user")]
    NoSuchUser,
    #[error("product")]
    Product(Vec<ImportError>),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl AdminError {
    pub fn localized(&self, locale: &str) -> String {
        match self {
            AdminError::NotPermitted => t!("users.error.not_permitted", locale = locale).into_owned(),
            AdminError::User(e) => e.localized(locale),
            AdminError::LastInstaller => t!("users.error.last_installer", locale = locale).into_owned(),
            AdminError::NoSuchUser => t!("users.error.no_such_user", locale = locale).into_owned(),
            // Named by the form's labels ("Price: …"), not the CSV's column names.
            AdminError::Product(errors) => errors
                .iter()
                .map(|e| {
                    let label = match e.column.as_str() {
                        "sku" => "Sku",
                        "barcodes" => "Barcodes",
                        "name_zh" => "NameZh",
                        "name_en" => "NameEn",
                        "price" => "Price",
                        "tax_class" => "TaxClass",
                        "category" => "Category",
                        "quick_key" => "QuickKey",
                        "sold_by" => "SoldBy",
                        _ => return e.in_field(locale),
                    };
                    let key = format!("products.field.{label}");
                    let label = t!(&key, locale = locale).into_owned();
                    format!("{}: {}", crate::locale_fmt::label_name(&label), e.reason(locale))
                })
                .collect::<Vec<_>>()
                .join("\n"),
            AdminError::Ledger(e) => e.localized(locale),
        }
    }
}

/// A PIN check that honours the lockout: a locked user is refused before the PIN is looked at,
/// a wrong PIN is counted (the fifth in a row locks), a right one clears the count.
pub fn check_with_lockout(
    ledger: &mut Ledger,
    user: &User,
    check: impl FnOnce(&User) -> Result<(), auth::AuthError>,
) -> Result<(), auth::AuthError> {
    let now = Utc::now();
    let local = |t: chrono::DateTime<Utc>| t.with_timezone(&chrono::Local).format("%H:%M").to_string();
    // The check is counted before it is made (fail closed: a ledger that cannot count refuses).
    match ledger.pin_attempt(&user.id, now) {
        Ok(None) => {}
        Ok(Some(until)) => return Err(auth::AuthError::Locked(local(until))),
        Err(_) => return Err(auth::AuthError::WrongPin),
    }
    match check(user) {
        Ok(()) => {
            // Clearing the count is best effort: the check stands either way.
            let _ = ledger.pin_ok(&user.id);
            Ok(())
        }
        Err(auth::AuthError::WrongPin) => match ledger.pin_failed(&user.id, now) {
            Ok(Some(until)) => Err(auth::AuthError::Locked(local(until))),
            _ => Err(auth::AuthError::WrongPin),
        },
        Err(e) => {
            let _ = ledger.pin_ok(&user.id);
            Err(e)
        }
    }
}

/// An approval from the user with this id and PIN (the command line reads the PIN from a prompt),
/// with the lockout.
pub fn approval_of(
    ledger: &mut Ledger,
    user_id: &str,
    pin: &str,
    permission: Permission,
) -> Result<Approval, auth::AuthError> {
    let users = ledger.users().unwrap_or_default();
    let user = users.iter().find(|u| u.id == user_id).ok_or(auth::AuthError::WrongPin)?;
    let mut approval = None;
    check_with_lockout(ledger, user, |u| auth::approve(u, pin, permission).map(|a| approval = Some(a)))?;
    approval.ok_or(auth::AuthError::WrongPin)
}

fn allowed(approval: &Approval, permission: Permission, touches_installer: bool) -> Result<(), AdminError> {
    if !approval.covers(permission) || touches_installer && approval.role() != Role::Installer {
        return Err(AdminError::NotPermitted);
    }
    Ok(())
}

/// Adds a user, or (same id, `replace`) changes one's name, role and PIN.
pub fn save_user(ledger: &mut Ledger, new: &NewUser, replace: bool, approval: &Approval) -> Result<User, AdminError> {
    let users = ledger.users()?;
    let old = users.iter().find(|u| u.id == new.id.trim());
    let touches_installer = new.role == Role::Installer || old.is_some_and(|u| u.role == Role::Installer);
    allowed(approval, Permission::Users, touches_installer)?;
    let others: Vec<User> = users.iter().filter(|u| !(replace && u.id == new.id.trim())).cloned().collect();
    if replace && old.is_none() {
        return Err(AdminError::NoSuchUser);
    }
    // An installer made into something else must not leave the till without one.
    if replace
        && old.is_some_and(|u| u.role == Role::Installer)
        && new.role != Role::Installer
        && !others.iter().any(|u| u.role == Role::Installer)
    {
        return Err(AdminError::LastInstaller);
    }
    let user = match old {
        // A change of name or role with no PIN typed keeps the PIN (its hash, as it is).
        Some(old) if replace && new.pin.is_empty() && new.pin_again.is_empty() => {
            if new.name.trim().is_empty() {
                return Err(AdminError::User(UserError::NoName));
            }
            let mut user = old.clone();
            user.name = new.name.trim().to_string();
            user.role = new.role;
            user
        }
        _ => make_user(new, &others).map_err(AdminError::User)?,
    };
    ledger.save_user(&user, approval.by(), Utc::now())?;
    Ok(user)
}

/// True when the ledger has an installer: "first setup" means it has none, whatever files exist.
pub fn has_installer(ledger: &Ledger) -> Result<bool, LedgerError> {
    Ok(ledger.users()?.iter().any(|u| u.role == Role::Installer))
}

/// The very first installer of a ledger that has none: the one user added without an approval.
/// Refused once the ledger has an installer (a deleted settings file does not make a till new).
pub fn first_installer(ledger: &mut Ledger, new: &NewUser, how: &str) -> Result<User, AdminError> {
    if has_installer(ledger)? {
        return Err(AdminError::NotPermitted);
    }
    let new = NewUser { role: Role::Installer, ..new.clone() };
    let user = make_user(&new, &ledger.users()?).map_err(AdminError::User)?;
    ledger.save_user(&user, how, Utc::now())?;
    Ok(user)
}

/// Removes a user (they can no longer sign in; their past entries stay as they are).
pub fn remove_user(ledger: &mut Ledger, id: &str, approval: &Approval) -> Result<(), AdminError> {
    let users = ledger.users()?;
    let user = users.iter().find(|u| u.id == id).ok_or(AdminError::NoSuchUser)?;
    allowed(approval, Permission::Users, user.role == Role::Installer)?;
    if user.role == Role::Installer && users.iter().filter(|u| u.role == Role::Installer).count() == 1 {
        return Err(AdminError::LastInstaller);
    }
    ledger.remove_user(id, approval.by(), Utc::now())?;
    Ok(())
}

/// A product as the manager types it (the CSV import's columns).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFields {
    pub sku: String,
    /// Zero or more codes separated by `|`.
    pub barcodes: String,
    pub name_zh: String,
    pub name_en: String,
    pub price: String,
    pub tax_class: String,
    pub category: String,
    pub quick_key: String,
    /// `piece` or `weight`.
    pub sold_by: String,
}

impl ProductFields {
    pub fn of(p: &Product) -> ProductFields {
        ProductFields {
            sku: p.sku.to_string(),
            barcodes: p.barcodes.iter().map(|b| b.as_str()).collect::<Vec<_>>().join("|"),
            name_zh: p.name_zh.to_string(),
            name_en: p.name_en.to_string(),
            price: p.price.amount().to_string(),
            tax_class: p.tax_class.to_string(),
            category: p.category.to_string(),
            quick_key: p.quick_key.map(|k| k.to_string()).unwrap_or_default(),
            sold_by: p.sold_by.as_str().to_string(),
        }
    }
}

/// Checks a product typed at the till by the import's own rules (one row of CSV), so that a
/// product saved here is one an import would take.
pub fn check_product(fields: &ProductFields, store: &StoreSettings, ledger: &Ledger) -> Result<Product, AdminError> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    let row = [
        &fields.sku,
        &fields.barcodes,
        &fields.name_zh,
        &fields.name_en,
        &fields.price,
        &fields.tax_class,
        &fields.category,
        &fields.quick_key,
        &fields.sold_by,
    ];
    let written = csv
        .write_record(import::COLUMNS)
        .and_then(|()| csv.write_record(row.iter().map(|f| f.trim())))
        .map_err(|e| e.to_string())
        .and_then(|()| csv.into_inner().map_err(|e| e.to_string()));
    let bytes = written.map_err(|e| {
        AdminError::Product(vec![ImportError {
            row: 2,
            column: String::new(),
            problem: import::ImportProblem::Unreadable(e),
        }])
    })?;
    let owner = |code: &str| ledger.barcode_owner(code).ok().flatten();
    let mut products = import::parse_csv(bytes.as_slice(), store.currency, &store.tax_class_codes(), &owner)
        .map_err(AdminError::Product)?;
    products.pop().ok_or(AdminError::Product(Vec::new()))
}

/// Saves a product added or edited at the till; the journal keeps who changed which price.
pub fn save_product(
    ledger: &mut Ledger,
    store: &StoreSettings,
    fields: &ProductFields,
    approval: &Approval,
) -> Result<Product, AdminError> {
    allowed(approval, Permission::Catalog, false)?;
    let product = check_product(fields, store, ledger)?;
    ledger.save_product(&product, approval.by(), Utc::now())?;
    Ok(product)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, role: Role, pin: &str) -> NewUser {
        NewUser { id: id.into(), name: id.to_uppercase(), role, pin: pin.into(), pin_again: pin.into() }
    }

    fn ledger_with(users: &[(&str, Role, &str)]) -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let mut ledger = Ledger::open(&dir.path().join("ledger.db"), "R1", crate::money::Currency::CNY).unwrap();
        for (id, role, pin) in users {
            let user = User::new(id, id, *role, auth::hash_pin(pin).unwrap());
            ledger.save_user(&user, "test", Utc::now()).unwrap();
        }
        (dir, ledger)
    }

    #[test]
    fn users_change_only_with_the_right_approval() {
        let (_dir, mut ledger) = ledger_with(&[
            ("ins", Role::Installer, "1111"),
            ("mgr", Role::Manager, "2222"),
            ("cas", Role::Cashier, "3333"),
        ]);
        let users = ledger.users().unwrap();
        let approval = |i: usize, pin: &str| auth::approve(&users[i], pin, Permission::Users);
        // A cashier cannot approve at all; a manager adds cashiers but no installer.
        assert!(approval(2, "3333").is_err());
        let manager = approval(1, "2222").unwrap();
        save_user(&mut ledger, &person("new", Role::Cashier, "4444"), false, &manager).unwrap();
        assert!(matches!(
            save_user(&mut ledger, &person("boss", Role::Installer, "5555"), false, &manager),
            Err(AdminError::NotPermitted)
        ));
        assert!(matches!(remove_user(&mut ledger, "ins", &manager), Err(AdminError::NotPermitted)));
        // An approval for another permission does not do.
        let settlement = auth::approve(&users[1], "2222", Permission::Settlement).unwrap();
        assert!(matches!(remove_user(&mut ledger, "new", &settlement), Err(AdminError::NotPermitted)));
        // Taken ids, PINs that differ, the last installer.
        assert!(matches!(
            save_user(&mut ledger, &person("new", Role::Cashier, "4444"), false, &manager),
            Err(AdminError::User(UserError::Taken))
        ));
        let installer = approval(0, "1111").unwrap();
        assert!(matches!(remove_user(&mut ledger, "ins", &installer), Err(AdminError::LastInstaller)));
        assert!(matches!(
            save_user(&mut ledger, &person("ins", Role::Manager, "1111"), true, &installer),
            Err(AdminError::LastInstaller)
        ));
        // A changed PIN works; a removed user is gone from the sign-in list; all journaled.
        save_user(&mut ledger, &person("new", Role::Cashier, "9876"), true, &manager).unwrap();
        let now = ledger.users().unwrap();
        now.iter().find(|u| u.id == "new").unwrap().check_pin("9876").unwrap();
        remove_user(&mut ledger, "new", &manager).unwrap();
        assert!(!ledger.users().unwrap().iter().any(|u| u.id == "new"));
        let report = ledger.verify().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
    }

    #[test]
    fn a_product_edited_at_the_till_follows_the_import_rules_and_is_journaled() {
        let (_dir, mut ledger) = ledger_with(&[("mgr", Role::Manager, "2222")]);
        let store = StoreSettings::demo();
        let users = ledger.users().unwrap();
        let manager = auth::approve(&users[0], "2222", Permission::Catalog).unwrap();
        let mut fields = ProductFields {
            sku: "TEA01".into(),
            barcodes: "6901234567892".into(),
            name_zh: "绿茶".into(),
            name_en: "Green tea".into(),
            price: "4.50".into(),
            tax_class: "A".into(),
            category: "Drinks".into(),
            quick_key: String::new(),
            sold_by: "piece".into(),
        };
        let bad = ProductFields { price: "4.5x".into(), tax_class: "Q".into(), ..fields.clone() };
        let Err(AdminError::Product(problems)) = save_product(&mut ledger, &store, &bad, &manager) else {
            panic!("a bad price and an unknown tax class must be refused");
        };
        let columns: Vec<&str> = problems.iter().map(|p| p.column.as_str()).collect();
        assert_eq!(columns, ["price", "tax_class"]);
        assert!(ledger.load_products().unwrap().is_empty());
        save_product(&mut ledger, &store, &fields, &manager).unwrap();
        fields.price = "4.80".into();
        let saved = save_product(&mut ledger, &store, &fields, &manager).unwrap();
        assert_eq!(saved.price.minor(), 480);
        assert_eq!(ledger.load_products().unwrap()[0].price.minor(), 480);
        let no_catalog = auth::approve(&users[0], "2222", Permission::Users).unwrap();
        assert!(matches!(save_product(&mut ledger, &store, &fields, &no_catalog), Err(AdminError::NotPermitted)));
        let report = ledger.verify().unwrap();
        assert!(report.problems.is_empty(), "{:?}", report.problems);
        assert_eq!(ProductFields::of(&saved), fields);
    }
}
