//! Sizes and colours of the counter: touch targets of at least 44 px, text readable at arm's
//! length, one colour per meaning (go, stop, warning, training).

use iced::widget::{Button, button, container, text};
use iced::{Background, Border, Color, Length, Theme};

use super::Message;
use crate::money::Money;

/// The smallest height of anything to touch.
pub const TOUCH: f32 = 48.0;
pub const TEXT: u32 = 18;
pub const SMALL: u32 = 15;
pub const LARGE: u32 = 28;
pub const HUGE: u32 = 44;

pub const GO: Color = Color::from_rgb(0.11, 0.53, 0.27);
pub const STOP: Color = Color::from_rgb(0.75, 0.16, 0.13);
pub const WARN: Color = Color::from_rgb(0.88, 0.42, 0.0);
pub const INK: Color = Color::from_rgb(0.13, 0.13, 0.15);
pub const MUTED: Color = Color::from_rgb(0.42, 0.42, 0.46);
pub const SELECTED: Color = Color::from_rgb(0.86, 0.92, 1.0);
pub const PANEL: Color = Color::from_rgb(0.96, 0.96, 0.97);
pub const PAPER: Color = Color::from_rgb(0.98, 0.98, 0.96);

/// An amount as the counter shows it: the currency's sign, thousands grouped, the minor units.
pub fn money(m: Money) -> String {
    crate::locale_fmt::amount(m)
}

fn filled(color: Color) -> impl Fn(&Theme, button::Status) -> button::Style {
    move |_, status| {
        let alpha = match status {
            button::Status::Disabled => 0.35,
            button::Status::Hovered => 0.88,
            _ => 1.0,
        };
        button::Style {
            background: Some(Background::Color(Color { a: alpha, ..color })),
            text_color: Color::WHITE,
            border: Border { radius: 6.0.into(), ..Border::default() },
            ..button::Style::default()
        }
    }
}

/// A plain action button (a keyboard shortcut shown in its label).
pub fn action<'a>(label: String, on_press: Option<Message>) -> Button<'a, Message> {
    button(text(label).size(SMALL).center().width(Length::Fill))
        .padding([6, 8])
        .height(Length::Fixed(TOUCH))
        .width(Length::Fill)
        .on_press_maybe(on_press)
}

pub fn primary<'a>(label: String, on_press: Option<Message>) -> Button<'a, Message> {
    button(text(label).size(LARGE).center().width(Length::Fill))
        .padding([8, 16])
        .height(Length::Fixed(TOUCH + 16.0))
        .width(Length::Fill)
        .style(filled(GO))
        .on_press_maybe(on_press)
}

/// The go button in a row of actions (F12 Pay): as wide as its neighbours, its label whole.
pub fn go<'a>(label: String, on_press: Option<Message>) -> Button<'a, Message> {
    button(text(label).size(TEXT).center().width(Length::Fill))
        .padding([6, 8])
        .height(Length::Fixed(TOUCH))
        .width(Length::Fill)
        .style(filled(GO))
        .on_press_maybe(on_press)
}

/// An action button the arrow keys walked to: marked as a selected line is.
pub fn selected_action(_: &Theme, status: button::Status) -> button::Style {
    let background = if status == button::Status::Hovered { Color::from_rgb(0.78, 0.86, 0.98) } else { SELECTED };
    button::Style {
        background: Some(Background::Color(background)),
        text_color: INK,
        border: Border { color: Color::from_rgb(0.30, 0.40, 0.85), width: 2.0, radius: 4.0.into() },
        ..button::Style::default()
    }
}

/// A product's quick key: white and bordered like a key to press, not grey like a disabled one.
pub fn key_style(_: &Theme, status: button::Status) -> button::Style {
    let background = match status {
        button::Status::Hovered => SELECTED,
        button::Status::Pressed => Color::from_rgb(0.78, 0.86, 0.98),
        _ => Color::WHITE,
    };
    button::Style {
        background: Some(Background::Color(background)),
        text_color: INK,
        border: Border { color: Color::from_rgb(0.55, 0.62, 0.75), width: 1.0, radius: 6.0.into() },
        ..button::Style::default()
    }
}

pub fn danger<'a>(label: String, on_press: Option<Message>) -> Button<'a, Message> {
    button(text(label).size(TEXT).center().width(Length::Fill))
        .padding([8, 16])
        .height(Length::Fixed(TOUCH))
        .width(Length::Fill)
        .style(filled(STOP))
        .on_press_maybe(on_press)
}

/// A quiet button for list rows (a cart line, a search hit); highlighted when selected.
pub fn row_button<'a>(
    content: impl Into<iced::Element<'a, Message>>,
    selected: bool,
    on_press: Message,
) -> Button<'a, Message> {
    button(content)
        .padding([6, 8])
        .width(Length::Fill)
        .style(move |theme: &Theme, status| {
            let base = button::text(theme, status);
            let background = if selected {
                Some(Background::Color(SELECTED))
            } else if status == button::Status::Hovered {
                Some(Background::Color(PANEL))
            } else {
                None
            };
            button::Style { background, text_color: INK, ..base }
        })
        .on_press(on_press)
}

pub fn panel(color: Color) -> impl Fn(&Theme) -> container::Style {
    move |_| container::Style {
        background: Some(Background::Color(color)),
        border: Border { color: Color::from_rgb(0.85, 0.85, 0.87), width: 1.0, radius: 6.0.into() },
        ..container::Style::default()
    }
}

pub fn band(color: Color) -> impl Fn(&Theme) -> container::Style {
    move |_| container::Style {
        background: Some(Background::Color(color)),
        text_color: Some(Color::WHITE),
        ..container::Style::default()
    }
}
