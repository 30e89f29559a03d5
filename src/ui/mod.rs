//! The counter's GUI (iced). For now the start screen: the till's name, training mode, the open
//! business day and the catalog; in training mode a test page on the emulated printer, shown as
//! it came out. The sale screens come with the counter issue.

pub mod training;

use std::path::PathBuf;
use std::process::ExitCode;

use std::sync::Arc;

use iced::widget::{button, column, container, scrollable, text};
use iced::{Alignment, Color, Element, Font, Length, Task};

use crate::config::{self, StoreSettings};
use crate::ledger::Ledger;

use crate::fonts::CJK_FONT_BYTES;
pub const CJK_FONT: Font = Font::with_name(crate::fonts::CJK_FONT_NAME);

/// What the start screen shows, read from the ledger at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartInfo {
    pub store_name: String,
    pub training: bool,
    /// (day number, business date) of the open day.
    pub day: Option<(i64, String)>,
    pub products: usize,
    pub error: Option<String>,
}

pub struct Till {
    locale: String,
    info: StartInfo,
    /// Training mode's emulated printer.
    printer: Option<Arc<training::TrainingPrinter>>,
    /// What the last print came out as, or why it did not.
    printout: Option<Result<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    PrintTestPage,
    Printed(Result<String, String>),
}

impl Till {
    pub fn new(locale: &str, info: StartInfo, printer: Option<Arc<training::TrainingPrinter>>) -> Till {
        Till { locale: locale.to_string(), info, printer, printout: None }
    }

    /// What the printout panel shows now.
    pub fn printout(&self) -> Option<&Result<String, String>> {
        self.printout.as_ref()
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::PrintTestPage => match &self.printer {
                // The printer's line is slow and may block: the job runs off the update loop.
                Some(printer) => {
                    let (printer, locale) = (printer.clone(), self.locale.clone());
                    Task::perform(async move { printer.test_page(&locale) }, Message::Printed)
                }
                None => Task::none(),
            },
            Message::Printed(result) => {
                self.printout = Some(result);
                Task::none()
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let l = self.locale.as_str();
        let mut col = column![
            text(rust_i18n::t!("ui.app_name", locale = l).into_owned()).size(48),
            text(self.info.store_name.clone()).size(24),
        ]
        .spacing(16)
        .align_x(Alignment::Center);
        let day = match &self.info.day {
            Some((no, date)) => rust_i18n::t!("ui.day_open", locale = l, day = no, date = date),
            None => rust_i18n::t!("ui.no_day_open", locale = l),
        };
        col = col
            .push(text(day.into_owned()).size(24))
            .push(text(rust_i18n::t!("ui.catalog_size", locale = l, count = self.info.products).into_owned()).size(20));
        if let Some(e) = &self.info.error {
            col = col.push(text(e.clone()).size(20));
        }
        if self.printer.is_some() {
            col = col.push(
                button(text(rust_i18n::t!("ui.print_test_page", locale = l).into_owned()).size(20))
                    .padding([12, 24])
                    .on_press(Message::PrintTestPage),
            );
        }
        match &self.printout {
            Some(Ok(paper)) => {
                let receipt = container(scrollable(text(paper.clone()).size(14)).height(Length::Fixed(260.0)))
                    .padding(12)
                    .style(|_| container::Style {
                        background: Some(Color::from_rgb8(0xFA, 0xFA, 0xF5).into()),
                        border: iced::Border {
                            color: Color::from_rgb8(0xCC, 0xCC, 0xCC),
                            width: 1.0,
                            radius: 4.0.into(),
                        },
                        ..container::Style::default()
                    });
                col =
                    col.push(text(rust_i18n::t!("ui.printed_heading", locale = l).into_owned()).size(16)).push(receipt);
            }
            Some(Err(key)) => {
                let reason = rust_i18n::t!(key.as_str(), locale = l).into_owned();
                col =
                    col.push(text(rust_i18n::t!("ui.not_printed", locale = l, reason = reason).into_owned()).size(18));
            }
            None => {}
        }
        let body = container(col).center(Length::Fill);
        if !self.info.training {
            return body.into();
        }
        // Training mode is never mistaken for the real till: a banner across the top.
        let banner = container(text(rust_i18n::t!("ui.training_banner", locale = l).into_owned()).size(24))
            .padding(12)
            .width(Length::Fill)
            .center_x(Length::Fill)
            .style(|_| container::Style {
                background: Some(Color::from_rgb8(0xE0, 0x6C, 0x00).into()),
                text_color: Some(Color::WHITE),
                ..container::Style::default()
            });
        column![banner, body].into()
    }
}

/// Reads what the start screen needs; seeds the demo catalog in training mode.
pub fn start_info(data_dir: &std::path::Path, store: &StoreSettings, training: bool, locale: &str) -> StartInfo {
    let mut info = StartInfo { store_name: store.store_name.clone(), training, day: None, products: 0, error: None };
    let opened = Ledger::open(&config::ledger_path(data_dir), &store.register, store.currency);
    match opened {
        Err(e) => info.error = Some(e.localized(locale)),
        Ok(mut ledger) => {
            match crate::demo::load_catalog(&mut ledger, store, training) {
                Ok(c) => info.products = c.len(),
                Err(e) => info.error = Some(e.to_string()),
            }
            match ledger.current_day() {
                Ok(day) => info.day = day.map(|d| (d.day_no, d.business_date.to_string())),
                Err(e) => info.error = Some(e.localized(locale)),
            }
        }
    }
    info
}

/// Opens the window. The screen's language is `--lang` if given, else the store's setting.
pub fn run(data_dir: PathBuf, store: StoreSettings, requested_locale: Option<&str>) -> ExitCode {
    let locale = requested_locale.map_or_else(|| store.screen_locale.clone(), |l| config::pick_locale(Some(l)));
    let info = start_info(&data_dir, &store, true, &locale);
    // Training mode prints on the emulator, in process.
    let printer = training::TrainingPrinter::start(store.paper_columns).ok().map(Arc::new);
    let result = iced::application(move || Till::new(&locale, info.clone(), printer.clone()), Till::update, Till::view)
        .title(|_: &Till| String::from("till 收银台"))
        .font(CJK_FONT_BYTES)
        .default_font(CJK_FONT)
        .window_size((1024.0, 768.0))
        .run();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
