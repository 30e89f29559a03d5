//! Sign-in (签到): the cashier picks their name and enters their PIN.

use iced::widget::{column, container, scrollable, text, text_input};
use iced::{Alignment, Color, Element, Length};

use super::theme::{self, LARGE, TEXT};
use super::{Message, PIN_FIELD, Till, t};

pub fn view(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let mut users = column![].spacing(10);
    for (i, user) in till.users.iter().enumerate() {
        let label =
            column![text(user.name.clone()).size(LARGE), text(t(user.role.key(), l)).size(TEXT).color(theme::MUTED)];
        users = users.push(
            theme::row_button(label, till.picked_user == Some(i), Message::PickUser(i)).height(Length::Fixed(56.0)),
        );
    }
    let pin = text_input(&t("counter.pin", l), &till.pin)
        .id(PIN_FIELD)
        .secure(true)
        .size(LARGE)
        .padding(12)
        .on_input(Message::PinChanged)
        .on_submit(Message::SignIn);
    let sign_in = theme::primary(
        t("counter.sign_in", l),
        (till.picked_user.is_some() && !till.checking_pin).then_some(Message::SignIn),
    );
    let mut form = column![
        text(t("counter.sign_in_title", l)).size(theme::HUGE),
        text(t("counter.sign_in_keys", l)).size(TEXT).color(theme::MUTED),
        // Many users scroll in their own box: the PIN field stays in sight.
        container(scrollable(users)).max_height(240.0),
        pin,
        sign_in
    ];
    // A till not set up yet runs training; the installer starts the wizard from here.
    if till.training && till.place.is_some() {
        form = form.push(theme::action(t("wizard.open", l), Some(Message::OpenSetup)));
    }
    // On a short screen the whole form scrolls rather than losing its last button.
    scrollable(
        container(
            container(form.spacing(10).align_x(Alignment::Center).width(Length::Fixed(440.0)))
                .padding(16)
                .style(theme::panel(Color::WHITE)),
        )
        .center_x(Length::Fill),
    )
    .into()
}
