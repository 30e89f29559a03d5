//! Driving the till's window headless, shared by the GUI tests: the jobs a message starts are
//! drained as iced would run them (each message they send handled in turn), and clicks and
//! keystrokes go through `iced_test`'s simulator on the view of the moment.

// Each test crate that includes this module uses a part of it.
#![allow(dead_code)]

pub mod peer;

use iced::futures::executor::block_on_stream;
use iced::keyboard::key::Named;
use iced::widget::Id;
use iced_test::simulator::Simulator;
use till::ui::{Job, Message, Till};

pub fn view(till: &Till) -> Simulator<'_, Message> {
    Simulator::with_size(iced::Settings::default(), (1024.0, 768.0), till.view())
}

/// The till's view in a window of this size (an 800×600 counter screen, say).
pub fn view_at(till: &Till, width: f32, height: f32) -> Simulator<'_, Message> {
    Simulator::with_size(iced::Settings::default(), (width, height), till.view())
}

/// Where a text is drawn in a window of this size, if it is.
pub fn bounds_at(till: &Till, width: f32, height: f32, text: &str) -> Option<iced::Rectangle> {
    view_at(till, width, height).find(text).ok().map(|t| t.bounds())
}

/// Applies a message and everything the jobs it started send back.
pub fn send(till: &mut Till, message: Message) {
    let jobs = till.handle(message);
    drain(till, jobs);
}

pub fn drain(till: &mut Till, jobs: Vec<Job>) {
    for job in jobs {
        for message in block_on_stream(job) {
            send(till, message);
        }
    }
}

/// What the simulator produced, applied one message after another.
fn apply(till: &mut Till, act: impl FnOnce(&mut Simulator<'_, Message>)) -> usize {
    let messages: Vec<Message> = {
        let mut ui = view(till);
        act(&mut ui);
        ui.into_messages().collect()
    };
    let n = messages.len();
    for m in messages {
        send(till, m);
    }
    n
}

pub fn click(till: &mut Till, label: &str) {
    let n = apply(till, |ui| {
        ui.click(label).unwrap_or_else(|e| panic!("no {label:?} to click: {e:?}"));
    });
    assert!(n > 0, "{label:?} did nothing");
}

/// Types into a field key by key, as a keyboard (or a keyboard-wedge scanner) does.
pub fn type_into(till: &mut Till, field: &'static str, text: &str) {
    for ch in text.chars() {
        apply(till, |ui| {
            ui.click(Id::new(field)).unwrap_or_else(|e| panic!("no field {field}: {e:?}"));
            ui.typewrite(&ch.to_string());
        });
    }
}

/// Types into a field, then presses Enter.
pub fn enter(till: &mut Till, field: &'static str, text: &str) {
    type_into(till, field, text);
    apply(till, |ui| {
        ui.click(Id::new(field)).unwrap();
        ui.tap_key(iced::keyboard::Key::Named(Named::Enter));
    });
}

pub fn sees(till: &Till, text: &str) -> bool {
    view(till).find(text).is_ok()
}

/// A test's hold on the till: the steps above as methods.
pub trait Driver {
    fn till(&self) -> &Till;
    fn till_mut(&mut self) -> &mut Till;

    fn send(&mut self, message: Message) {
        send(self.till_mut(), message);
    }

    fn drain(&mut self, jobs: Vec<Job>) {
        drain(self.till_mut(), jobs);
    }

    fn click(&mut self, label: &str) {
        click(self.till_mut(), label);
    }

    fn type_into(&mut self, field: &'static str, text: &str) {
        type_into(self.till_mut(), field, text);
    }

    fn enter(&mut self, field: &'static str, text: &str) {
        enter(self.till_mut(), field, text);
    }

    fn sees(&self, text: &str) -> bool {
        sees(self.till(), text)
    }
}
