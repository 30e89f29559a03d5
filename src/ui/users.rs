//! The till's users (manager's screen → Users): who may sign in, with which role; a new user, a
//! changed PIN or role, a user removed. Opened with a manager's or installer's PIN; the rules
//! (who may touch whom, never the last installer) are `admin`'s, below this screen. The PIN is
//! hashed on the ledger's worker.

use iced::widget::{column, container, row, scrollable, text, text_input};
use iced::{Alignment, Color, Element, Length};

use super::theme::{self, LARGE, SMALL, TEXT};
use super::{Job, Message, Screen, Till, t, workers};
use crate::admin::{self, NewUser};
use crate::auth::{Approval, Role, User};

/// The field that has the keyboard when the screen opens.
pub const FIELD: &str = "users-name";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Id,
    Pin,
    PinAgain,
}

#[derive(Debug, Clone)]
pub enum Msg {
    Pick(usize),
    New,
    Edit(Field, String),
    Role(Role),
    Save,
    Remove(String),
    Done(Result<Vec<User>, String>),
    /// Escape: one step back — a half-filled form is emptied first, then the screen closes.
    Back,
    Close,
}

pub struct State {
    pub approval: Approval,
    pub form: NewUser,
    /// The id of the user being changed; `None`: a new one.
    pub editing: Option<String>,
    pub busy: bool,
}

fn empty() -> NewUser {
    NewUser {
        id: String::new(),
        name: String::new(),
        role: Role::Cashier,
        pin: String::new(),
        pin_again: String::new(),
    }
}

pub fn open(till: &mut Till, approval: Approval) {
    till.users_admin = Some(State { approval, form: empty(), editing: None, busy: false });
    till.screen = Screen::Users;
    till.clear_notice();
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    let l = till.locale.clone();
    let Some(state) = till.users_admin.as_mut() else { return Vec::new() };
    match msg {
        Msg::Pick(i) => {
            if let Some(u) = till.users.get(i) {
                state.form = NewUser { id: u.id.clone(), name: u.name.clone(), role: u.role, ..empty() };
                state.editing = Some(u.id.clone());
            }
        }
        Msg::New => {
            state.form = empty();
            state.editing = None;
        }
        Msg::Edit(field, value) => {
            let digits = |v: String| v.chars().filter(char::is_ascii_digit).take(8).collect::<String>();
            match field {
                Field::Name => state.form.name = value,
                Field::Id => {
                    if state.editing.is_none() {
                        state.form.id = value;
                    }
                }
                Field::Pin => state.form.pin = digits(value),
                Field::PinAgain => state.form.pin_again = digits(value),
            }
        }
        Msg::Role(role) => state.form.role = role,
        Msg::Save => {
            if state.busy {
                return Vec::new();
            }
            // A change with no PIN typed keeps the PIN; a new user needs one.
            let keeps_pin = state.editing.is_some() && state.form.pin.is_empty() && state.form.pin_again.is_empty();
            let problem = if keeps_pin {
                state.form.name.trim().is_empty().then_some(admin::UserError::NoName)
            } else {
                admin::check_new_user(&state.form).err()
            };
            if let Some(e) = problem {
                till.error(e.localized(&l));
                return Vec::new();
            }
            state.busy = true;
            let (form, replace, approval) = (state.form.clone(), state.editing.is_some(), state.approval.clone());
            return vec![till.devices.ledger.call(move |ledger| {
                let mut ledger = workers::lock(ledger);
                let saved = admin::save_user(&mut ledger, &form, replace, &approval)
                    .map_err(|e| e.localized(&l))
                    .and_then(|_| ledger.users().map_err(|e| e.localized(&l)));
                Message::Users(Msg::Done(saved))
            })];
        }
        Msg::Remove(id) => {
            if state.busy {
                return Vec::new();
            }
            if till.counter.cashier().is_some_and(|c| c.id == id) {
                till.error(t("users.error.yourself", &l));
                return Vec::new();
            }
            state.busy = true;
            let approval = state.approval.clone();
            return vec![till.devices.ledger.call(move |ledger| {
                let mut ledger = workers::lock(ledger);
                let removed = admin::remove_user(&mut ledger, &id, &approval)
                    .map_err(|e| e.localized(&l))
                    .and_then(|()| ledger.users().map_err(|e| e.localized(&l)));
                Message::Users(Msg::Done(removed))
            })];
        }
        Msg::Done(result) => {
            state.busy = false;
            match result {
                Ok(users) => {
                    state.form = empty();
                    state.editing = None;
                    till.users = users;
                    till.info(t("users.saved", &l));
                }
                Err(e) => till.error(e),
            }
        }
        Msg::Back => {
            let Some(state) = till.users_admin.as_mut() else { return Vec::new() };
            if state.busy {
                return Vec::new();
            }
            if state.form != empty() || state.editing.is_some() {
                state.form = empty();
                state.editing = None;
            } else {
                return update(till, Msg::Close);
            }
        }
        Msg::Close => {
            till.users_admin = None;
            till.screen = if till.manager.is_some() { Screen::Manager } else { Screen::Sale };
        }
    }
    Vec::new()
}

pub fn view(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let Some(state) = &till.users_admin else { return column![].into() };
    let mut list = column![text(t("users.title", l)).size(LARGE)].spacing(6);
    for (i, u) in till.users.iter().enumerate() {
        let label = column![
            text(u.name.clone()).size(TEXT),
            text(format!("{} · {}", u.id, t(u.role.key(), l))).size(SMALL).color(theme::MUTED)
        ];
        let picked = state.editing.as_deref() == Some(u.id.as_str());
        list = list.push(
            row![
                theme::row_button(label, picked, Message::Users(Msg::Pick(i))),
                container(theme::action(
                    t("users.remove", l),
                    (!state.busy).then_some(Message::Users(Msg::Remove(u.id.clone())))
                ))
                .width(Length::Fixed(110.0)),
            ]
            .spacing(8)
            .align_y(Alignment::Center),
        );
    }
    list = list
        .push(container(theme::action(t("users.new", l), Some(Message::Users(Msg::New)))).width(Length::Fixed(200.0)));
    let input = |label: &str, id: &'static str, value: &str, field: Field, secure: bool| {
        column![
            text(t(label, l)).size(SMALL).color(theme::MUTED),
            text_input("", value)
                .id(id)
                .secure(secure)
                .size(TEXT)
                .padding(6)
                .on_input(move |v| Message::Users(Msg::Edit(field, v)))
                // Enter in any field saves: a user is added from the keyboard.
                .on_submit(Message::Users(Msg::Save))
        ]
        .spacing(2)
    };
    let f = &state.form;
    let mut roles = row![].spacing(8);
    // Only an installer makes installers (the rule is `admin`'s; the screen offers no more).
    let roles_offered: &[Role] = if state.approval.role() == Role::Installer {
        &[Role::Cashier, Role::Manager, Role::Installer]
    } else {
        &[Role::Cashier, Role::Manager]
    };
    for &role in roles_offered {
        roles = roles.push(
            theme::row_button(text(t(role.key(), l)).size(TEXT), f.role == role, Message::Users(Msg::Role(role)))
                .width(Length::Shrink)
                .height(Length::Fixed(theme::TOUCH)),
        );
    }
    let may: Vec<String> = f.role.permissions().into_iter().map(|p| t(&p.key(), l)).collect();
    let may = if may.is_empty() { t("users.may_sell", l) } else { may.join(" · ") };
    let title = if state.editing.is_some() { t("users.change", l) } else { t("users.new", l) };
    let id: Element<'_, Message> = if state.editing.is_some() {
        column![text(t("wizard.field.UserId", l)).size(SMALL).color(theme::MUTED), text(f.id.clone()).size(TEXT)].into()
    } else {
        input("wizard.field.UserId", "users-id", &f.id, Field::Id, false).into()
    };
    let form = column![
        text(title).size(LARGE),
        input("wizard.field.UserName", FIELD, &f.name, Field::Name, false),
        id,
        text(t("users.role", l)).size(SMALL).color(theme::MUTED),
        roles,
        // A fixed height for what the role may do: Save does not move when the role changes.
        container(text(may).size(SMALL).color(theme::MUTED)).height(Length::Fixed(80.0)),
        input("wizard.field.Pin", "users-pin", &f.pin, Field::Pin, true),
        input("wizard.field.PinAgain", "users-pin-again", &f.pin_again, Field::PinAgain, true),
        theme::primary(t("users.save", l), (!state.busy).then_some(Message::Users(Msg::Save))),
    ]
    .spacing(10)
    .padding(iced::Padding { right: 12.0, ..iced::Padding::ZERO });
    // The form scrolls on a short screen; the way back stays in sight under it.
    let form = column![
        scrollable(form).height(Length::Fill),
        theme::action(t("users.back", l), Some(Message::Users(Msg::Close))),
    ]
    .spacing(8)
    .width(Length::Fixed(412.0));
    row![
        container(scrollable(list).height(Length::Fill))
            .width(Length::Fill)
            .padding(8)
            .style(theme::panel(Color::WHITE)),
        form
    ]
    .spacing(12)
    .into()
}
