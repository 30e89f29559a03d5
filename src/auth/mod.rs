//! Users, roles and permissions, enforced here in the core: an action that needs a manager takes
//! an [`Approval`], and an `Approval` can only be made by [`approve`] from a user whose role holds
//! the permission and whose PIN was checked. A screen cannot forge one.
//!
//! PINs are kept only as argon2id hashes (PHC strings). The users live in the ledger
//! (`ledger/users.rs`, with the lockout after five wrong PINs); `admin` changes them; training mode
//! has two demo users.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Params, Version};
use password_hash::rand_core::OsRng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Cashier,
    Manager,
    Installer,
}

impl Role {
    pub fn key(self) -> &'static str {
        match self {
            Role::Cashier => "auth.role.cashier",
            Role::Manager => "auth.role.manager",
            Role::Installer => "auth.role.installer",
        }
    }
}

/// What a role may do beyond ringing up sales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Void a cart line worth more than the store's threshold.
    VoidLine,
    /// Pay a refund out in cash instead of to the original tender.
    CashRefund,
    /// A refund worth more than the store's refund limit (the demo store: every refund).
    Refund,
    PriceOverride,
    /// A discount above the store's limit (percent).
    Discount,
    /// Open the drawer without a sale.
    NoSale,
    /// Settlement: X and Z reports, drawer counts, cash in and out.
    Settlement,
    /// Add and edit products and prices, import the catalog.
    Catalog,
    /// Add users, change their PINs and roles, remove them.
    Users,
    /// The store's settings and devices (the setup wizard).
    Settings,
}

/// The one table of who may do what.
const PERMISSIONS: &[(Permission, &[Role])] = &[
    (Permission::VoidLine, &[Role::Manager, Role::Installer]),
    (Permission::CashRefund, &[Role::Manager, Role::Installer]),
    (Permission::Refund, &[Role::Manager, Role::Installer]),
    (Permission::PriceOverride, &[Role::Manager, Role::Installer]),
    (Permission::Discount, &[Role::Manager, Role::Installer]),
    (Permission::NoSale, &[Role::Manager, Role::Installer]),
    (Permission::Settlement, &[Role::Manager, Role::Installer]),
    (Permission::Catalog, &[Role::Manager, Role::Installer]),
    (Permission::Users, &[Role::Manager, Role::Installer]),
    (Permission::Settings, &[Role::Installer]),
];

impl Role {
    pub fn may(self, permission: Permission) -> bool {
        PERMISSIONS.iter().any(|(p, roles)| *p == permission && roles.contains(&self))
    }

    /// Everything this role may do beyond ringing up sales, in the table's order.
    pub fn permissions(self) -> Vec<Permission> {
        PERMISSIONS.iter().filter(|(_, roles)| roles.contains(&self)).map(|(p, _)| *p).collect()
    }
}

impl Permission {
    /// Its name's locale key.
    pub fn key(self) -> String {
        format!("auth.permission.{self:?}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// argon2id, PHC string format.
    pin_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("wrong PIN")]
    WrongPin,
    #[error("a PIN has 4 to 8 digits")]
    BadPin,
    #[error("{user} may not do this")]
    NotPermitted { user: String },
    #[error("unknown user")]
    UnknownUser,
    #[error("locked after too many wrong PINs until {0}")]
    Locked(String),
}

impl AuthError {
    pub fn localized(&self, locale: &str) -> String {
        use rust_i18n::t;
        match self {
            AuthError::WrongPin => t!("error.auth.wrong_pin", locale = locale),
            AuthError::BadPin => t!("error.auth.bad_pin", locale = locale),
            AuthError::NotPermitted { user } => t!("error.auth.not_permitted", locale = locale, user = user),
            AuthError::UnknownUser => t!("error.auth.unknown_user", locale = locale),
            AuthError::Locked(until) => t!("error.auth.locked", locale = locale, until = until),
        }
        .into_owned()
    }
}

/// A PIN has 4 to 8 digits.
/// The fewest digits a manager's or an installer's PIN has: their approvals move money and change
/// the store, so their PINs must resist more than a few guesses (a cashier's may have 4).
pub const APPROVER_PIN_DIGITS: usize = 6;

/// Why a PIN will not do for a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinProblem {
    /// Not 4 to 8 digits.
    Format,
    /// A manager's or installer's PIN under `APPROVER_PIN_DIGITS` digits.
    TooShort,
    /// On the list of PINs anyone tries first.
    Weak,
}

/// Whether `pin` will do for a user of `role`: 4–8 digits; for managers and installers at least
/// six, and none anyone would try first: one digit repeated, a run up or down (123456, 987654),
/// a short pattern repeated (121212, 123123, 112233's pairs), or a common choice.
pub fn pin_problem(role: Role, pin: &str) -> Option<PinProblem> {
    if !valid_pin(pin) {
        return Some(PinProblem::Format);
    }
    if role == Role::Cashier {
        return None;
    }
    if pin.len() < APPROVER_PIN_DIGITS {
        return Some(PinProblem::TooShort);
    }
    let d: Vec<i32> = pin.bytes().map(|b| i32::from(b - b'0')).collect();
    let steps: Vec<i32> = d.windows(2).map(|w| (w[1] - w[0]).rem_euclid(10)).collect();
    let run = steps.iter().all(|s| *s == steps[0]) && matches!(steps[0], 0 | 1 | 9);
    let repeats = (1..=pin.len() / 2)
        .any(|k| pin.len().is_multiple_of(k) && pin.as_bytes().chunks(k).all(|c| c == &pin.as_bytes()[..k]));
    let pairs = pin.as_bytes().chunks(2).all(|c| c.len() == 2 && c[0] == c[1]);
    const COMMON: &[&str] = &[
        "123321", "654321", "147258", "159357", "147852", "258369", "520520", "520131", "131420", "888888", "168168",
        "666888", "123654", "112233", "121314", "101010", "202020", "123000", "100000", "999999", "123789", "12345678",
        "87654321", "11223344", "12341234", "88888888", "66666666", "20202020",
    ];
    (run || repeats || pairs || COMMON.contains(&pin)).then_some(PinProblem::Weak)
}

pub fn valid_pin(pin: &str) -> bool {
    (4..=8).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// argon2id with OWASP's 9 MiB, 4 passes, 1 lane: as strong as the 19 MiB default, and a
/// till with a 300,000-product catalog stays inside its memory budget while a PIN is checked.
/// argon2id with 32 MiB and 4 passes: one guess costs about 60 ms on the till's machine
/// (`cargo bench --bench auth`; the target is at least 50 ms), and as much memory, which is what
/// makes guessing on graphics cards dear. Hashes name their parameters: older ones still verify.
fn hasher() -> Argon2<'static> {
    let params = Params::new(32_768, 4, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A new salted argon2id hash of a PIN.
pub fn hash_pin(pin: &str) -> Result<String, AuthError> {
    if !valid_pin(pin) {
        return Err(AuthError::BadPin);
    }
    let salt = SaltString::generate(&mut OsRng);
    hasher().hash_password(pin.as_bytes(), &salt).map(|h| h.to_string()).map_err(|_| AuthError::BadPin)
}

impl User {
    pub fn new(id: &str, name: &str, role: Role, pin_hash: String) -> User {
        User { id: id.into(), name: name.into(), role, pin_hash }
    }

    /// The PIN's hash (argon2id, PHC string), for the ledger to keep.
    pub fn pin_hash(&self) -> &str {
        &self.pin_hash
    }

    /// Checks the PIN (slowly, on purpose: run it off the screen's update loop).
    pub fn check_pin(&self, pin: &str) -> Result<(), AuthError> {
        if !valid_pin(pin) {
            return Err(AuthError::WrongPin);
        }
        let hash = PasswordHash::new(&self.pin_hash).map_err(|_| AuthError::WrongPin)?;
        // The hash names its own parameters: verify with those.
        Argon2::default().verify_password(pin.as_bytes(), &hash).map_err(|_| AuthError::WrongPin)
    }
}

/// A manager's (or installer's) yes to one permission, checked against their PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    by: String,
    role: Role,
    permission: Permission,
}

impl Approval {
    /// The name of who approved, for the audit entry.
    pub fn by(&self) -> &str {
        &self.by
    }

    pub fn permission(&self) -> Permission {
        self.permission
    }

    /// The role of who approved (only an installer's approval touches an installer).
    pub fn role(&self) -> Role {
        self.role
    }

    /// True when this approval covers `permission`.
    pub fn covers(&self, permission: Permission) -> bool {
        self.permission == permission
    }
}

/// Parses a role's name as the command line and the settings write it.
pub fn role_named(name: &str) -> Option<Role> {
    Some(match name {
        "cashier" => Role::Cashier,
        "manager" => Role::Manager,
        "installer" => Role::Installer,
        _ => return None,
    })
}

/// The only way to an [`Approval`]: a user whose role may, with their PIN.
pub fn approve(user: &User, pin: &str, permission: Permission) -> Result<Approval, AuthError> {
    user.check_pin(pin)?;
    if !user.role.may(permission) {
        return Err(AuthError::NotPermitted { user: user.name.clone() });
    }
    Ok(Approval { by: user.name.clone(), role: user.role, permission })
}

/// The PINs training mode shows on its banner.
pub const DEMO_CASHIER_PIN: &str = "1234";
pub const DEMO_MANAGER_PIN: &str = "9999";

/// Training mode's users. Their hashes are fixed so that start-up does not spend time hashing;
/// a test checks they match the PINs above.
pub fn demo_users() -> Vec<User> {
    vec![
        User::new(
            "demo-cashier",
            "王芳 Wang Fang",
            Role::Cashier,
            "$argon2id$v=19$m=9216,t=4,p=1$jdEiirANxkuGbsUnoa3jxw$0AYx6GlxJwdneWleMZQSFPKjbPYz0HC1zeQ/ngbAnFE".into(),
        ),
        User::new(
            "demo-manager",
            "李经理 Manager Li",
            Role::Manager,
            "$argon2id$v=19$m=9216,t=4,p=1$FF2yV6ImpfRF12Na7gTmFg$gdSlftDpykanrIWK3cOktM73S/vZckczhdMha/YS3L0".into(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_permission_is_in_the_table_and_has_a_name_in_both_languages() {
        for (permission, roles) in PERMISSIONS {
            assert!(!roles.contains(&Role::Cashier), "{permission:?}: a cashier approves nothing");
            assert!(roles.contains(&Role::Installer), "{permission:?}");
            for locale in ["en", "zh-CN"] {
                let key = permission.key();
                assert_ne!(rust_i18n::t!(&key, locale = locale), key, "{key} in {locale}");
            }
        }
        assert_eq!(Role::Installer.permissions().len(), PERMISSIONS.len());
        assert!(!Role::Manager.permissions().contains(&Permission::Settings));
        assert!(Role::Cashier.permissions().is_empty());
    }

    #[test]
    fn demo_hashes_match_the_demo_pins() {
        let users = demo_users();
        users[0].check_pin(DEMO_CASHIER_PIN).unwrap();
        users[1].check_pin(DEMO_MANAGER_PIN).unwrap();
        assert_eq!(users[0].check_pin(DEMO_MANAGER_PIN), Err(AuthError::WrongPin));
    }

    #[test]
    fn those_who_approve_have_six_digits_none_anyone_tries_first() {
        use PinProblem::*;
        assert_eq!(pin_problem(Role::Cashier, "1234"), None, "a cashier's may be short and plain");
        assert_eq!(pin_problem(Role::Manager, "12a456"), Some(Format));
        assert_eq!(pin_problem(Role::Manager, "13579"), Some(TooShort));
        for weak in
            ["123456", "654321", "000000", "999999", "121212", "123123", "112233", "890123", "13571357", "520520"]
        {
            assert_eq!(pin_problem(Role::Installer, weak), Some(Weak), "{weak}");
        }
        for fine in ["135790", "246813", "864213", "90817263"] {
            assert_eq!(pin_problem(Role::Manager, fine), None, "{fine}");
        }
    }

    #[test]
    fn hashes_are_salted_and_verify() {
        let (a, b) = (hash_pin("4711").unwrap(), hash_pin("4711").unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$v=19$m=32768,t=4,p=1$"), "{a}");
        let user = User::new("u", "U", Role::Cashier, a);
        user.check_pin("4711").unwrap();
        assert!(user.check_pin("4712").is_err());
        assert_eq!(hash_pin("12a4"), Err(AuthError::BadPin));
        assert_eq!(hash_pin("123"), Err(AuthError::BadPin));
    }

    #[test]
    fn only_a_permitted_role_with_the_right_pin_approves() {
        let cashier = User::new("c", "C", Role::Cashier, hash_pin("1111").unwrap());
        let manager = User::new("m", "M", Role::Manager, hash_pin("2222").unwrap());
        assert_eq!(approve(&cashier, "1111", Permission::VoidLine), Err(AuthError::NotPermitted { user: "C".into() }));
        assert_eq!(approve(&manager, "1111", Permission::VoidLine), Err(AuthError::WrongPin));
        let ok = approve(&manager, "2222", Permission::VoidLine).unwrap();
        assert!(ok.covers(Permission::VoidLine) && !ok.covers(Permission::NoSale));
    }
}
