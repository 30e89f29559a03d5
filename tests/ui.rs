//! The start screen, driven headless with iced_test: in training mode a test page goes through
//! the real printer driver to the in-process emulator, and the screen shows what came out.

use std::sync::Arc;

use iced_test::simulator;
use till::ui::training::TrainingPrinter;
use till::ui::{Message, StartInfo, Till};

fn info() -> StartInfo {
    StartInfo { store_name: "Demo Convenience Store".into(), training: true, day: None, products: 191, error: None }
}

#[test]
fn a_test_page_on_the_training_printer_is_shown_as_printed() {
    let printer = Arc::new(TrainingPrinter::start(32).unwrap());
    let mut till = Till::new("en", info(), Some(printer.clone()));

    let mut ui = simulator(till.view());
    ui.find("TRAINING — sales here are practice and kept apart").unwrap();
    ui.click("Print a test page").unwrap();
    let messages: Vec<Message> = ui.into_messages().collect();
    assert_eq!(messages, vec![Message::PrintTestPage]);

    // The task `update` returns runs the print off the update loop; here it runs inline.
    let _ = till.update(Message::PrintTestPage);
    let printed = printer.test_page("en");
    let _ = till.update(Message::Printed(printed));
    let paper = till.printout().unwrap().as_ref().unwrap().clone();
    assert!(
        paper.contains("TEST PAGE") && paper.contains("Café 12,50 € Grüße") && paper.ends_with("[CUT]\n"),
        "{paper}"
    );

    let mut ui = simulator(till.view());
    ui.find("The training printer printed:").unwrap();
}

#[test]
fn without_a_printer_there_is_no_print_button() {
    let till = Till::new("zh-CN", info(), None);
    let mut ui = simulator(till.view());
    ui.find("培训模式 — 此处的交易仅供练习，单独记账").unwrap();
    assert!(ui.find("打印测试页").is_err());
}
