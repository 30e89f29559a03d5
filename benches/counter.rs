//! A scan to the updated cart on screen (target: under 16 ms, one frame) with a 300,000-product
//! catalog: the scan field's Enter through `Till::handle` (catalog look-up, cart, totals), then the
//! whole screen built, laid out, drawn and rasterized by tiny-skia at 1024×768 the way the window
//! does it (widget tree and text kept between frames, as iced's runtime keeps them). The p99 is
//! printed at the end. Then the same again while the head office's shipper is busy the whole time
//! (a week of sales shipped again and again to a PostgreSQL on the same machine): the counter's
//! latency must not change.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use iced::futures::executor::block_on;
use iced::mouse::Cursor;
use iced::{Color, Event, Pixels, Size, Theme};
use iced_test::core::clipboard;
use iced_test::core::renderer::Headless;
use iced_test::core::renderer::Style;
use iced_test::runtime::user_interface::{Cache, UserInterface};
use iced_test::simulator::Simulator;
use till::auth::demo_users;
use till::config::StoreSettings;
use till::counter::Counter;
use till::simulate::Rng;
use till::ui::{CJK_FONT, Devices, Message, Till};

#[path = "../tests/pg/mod.rs"]
mod pg;
mod support;

const PRODUCTS: usize = 300_000;

/// One frame as the window makes it: the view built, diffed against the kept widget tree (its
/// text paragraphs reused), laid out, drawn and rasterized by tiny-skia at 1024×768.
struct Window {
    renderer: iced::Renderer,
    cache: Cache,
}

impl Window {
    fn new() -> Window {
        // The first simulator loads the bundled CJK font into the font system, as the app does.
        drop(Simulator::<(), Theme, iced::Renderer>::with_size(
            iced::Settings {
                fonts: vec![till::fonts::CJK_FONT_BYTES.into()],
                default_font: CJK_FONT,
                ..iced::Settings::default()
            },
            (1024.0, 768.0),
            iced::widget::text("字"),
        ));
        let renderer = block_on(<iced::Renderer as Headless>::new(CJK_FONT, Pixels(16.0), None)).unwrap();
        Window { renderer, cache: Cache::default() }
    }

    fn frame(&mut self, till: &Till) {
        self.frame_timed(till);
    }

    fn frame_timed(&mut self, till: &Till) -> [Duration; 4] {
        let t0 = Instant::now();
        let size = Size::new(1024.0, 768.0);
        let mut ui = UserInterface::build(till.view(), size, std::mem::take(&mut self.cache), &mut self.renderer);
        let redraw = Event::Window(iced::window::Event::RedrawRequested(Instant::now()));
        let t1 = Instant::now();
        let _ = ui.update(&[redraw], Cursor::Unavailable, &mut self.renderer, &mut clipboard::Null, &mut Vec::new());
        ui.draw(&mut self.renderer, &Theme::Light, &Style { text_color: Color::BLACK }, Cursor::Unavailable);
        self.cache = ui.into_cache();
        let t2 = Instant::now();
        black_box(self.renderer.screenshot(Size::new(1024, 768), 1.0, Color::WHITE));
        let t3 = Instant::now();
        [t1 - t0, t2 - t1, t3 - t2, t3 - t0]
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    // No manager needed to void a line: each measured scan is voided again, keeping twenty lines.
    let store = StoreSettings {
        screen_locale: "zh-CN".into(),
        void_approval_over: rust_decimal::dec!(1000000),
        ..StoreSettings::demo()
    };
    let devices = Devices::training(dir.path(), &store).unwrap();
    let catalog = std::sync::Arc::new(support::synthetic_catalog(PRODUCTS));
    // Scanned goods by the piece: a weighed product's plain barcode asks for its weight first.
    let codes: Vec<String> = {
        let mut rng = Rng::new(3);
        std::iter::repeat_with(|| &catalog.products()[rng.range(0, PRODUCTS as u64 - 1) as usize])
            .filter(|p| p.sold_by == till::catalog::SoldBy::Piece)
            .take(1000)
            .map(|p| p.barcodes[0].to_string())
            .collect()
    };
    let counter = Counter::new(store, catalog);
    let mut till = Till::new("zh-CN", true, counter, demo_users(), devices);
    let _ = till.handle(Message::PickUser(0));
    let _ = till.handle(Message::SignedIn(0, Ok(())));
    // A cart of twenty lines already, as a busy customer's.
    for code in &codes[..20] {
        let _ = till.handle(Message::Sale(till::ui::sale::Msg::ScanChanged(code.clone())));
        let _ = till.handle(Message::Sale(till::ui::sale::Msg::ScanSubmitted));
    }
    let mut window = Window::new();
    window.frame(&till);

    let mut i = 20;
    let mut scan_once = |till: &mut Till| -> Duration {
        i = (i + 1) % codes.len();
        let _ = till.handle(Message::Sale(till::ui::sale::Msg::ScanChanged(codes[i].clone())));
        let started = Instant::now();
        black_box(till.handle(Message::Sale(till::ui::sale::Msg::ScanSubmitted)));
        window.frame(till);
        let took = started.elapsed();
        // Back to twenty lines, outside the measurement.
        let _ = till.handle(Message::Sale(till::ui::sale::Msg::VoidLine));
        assert_eq!(till.counter().sale().lines().len(), 20);
        took
    };
    c.bench_function("counter/scan_to_frame_300k", |b| {
        b.iter_custom(|n| (0..n).map(|_| scan_once(&mut till)).sum());
    });
    let mut samples: Vec<Duration> = (0..300).map(|_| scan_once(&mut till)).collect();
    samples.sort();
    let quiet = samples.clone();

    // The shipper busy: a thread ships a week of sales, again and again, while the cashier scans.
    let week = support::counter_sales_ledger(15_000);
    // In a store the head office is another machine: here it shares the till's two cores, so
    // its server runs at the lowest priority, as if elsewhere.
    let cluster = std::sync::Arc::new(pg::Cluster::start_elsewhere());
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let shipper = {
        let (cluster, busy) = (cluster.clone(), busy.clone());
        std::thread::spawn(move || {
            // As the counter's shipper thread does.
            till::store::ship::lower_priority();
            let mut admin = cluster.admin();
            till::store::office::init(&mut admin, "1").unwrap();
            let ledger = till::ledger::Ledger::open_read_only(&week).unwrap();
            let mut shipments = 0;
            while busy.load(std::sync::atomic::Ordering::SeqCst) {
                let mut client = cluster.fresh_register(&mut admin, &format!("s{shipments}"));
                // Stopped mid-shipment when the bench is done: an error then is the stop.
                let _ = till::store::ship::ship(&mut client, &ledger, |_, _| {});
                shipments += 1;
            }
            shipments
        })
    };
    std::thread::sleep(Duration::from_secs(2));
    c.bench_function("counter/scan_to_frame_300k_while_shipping", |b| {
        b.iter_custom(|n| (0..n).map(|_| scan_once(&mut till)).sum());
    });
    let mut shipping: Vec<Duration> = (0..300).map(|_| scan_once(&mut till)).collect();
    busy.store(false, std::sync::atomic::Ordering::SeqCst);
    let shipments = shipper.join().unwrap();
    shipping.sort();
    let mut parts = [Duration::ZERO; 4];
    for _ in 0..20 {
        for (p, t) in parts.iter_mut().zip(window.frame_timed(&till)) {
            *p += t / 20;
        }
    }
    let started = Instant::now();
    for _ in 0..100 {
        black_box(till.view());
    }
    println!("view alone: {:?}", started.elapsed() / 100);
    println!("frame: build+layout {:?}, update+draw {:?}, rasterize {:?}", parts[0], parts[1], parts[2]);
    for (what, samples) in [("quiet", &quiet), ("while shipping", &shipping)] {
        println!(
            "scan to frame, 300k catalog, 20-line cart, {what}: p50 {:?}, p99 {:?}, max {:?}",
            samples[samples.len() / 2],
            samples[samples.len() * 99 / 100],
            samples[samples.len() - 1]
        );
    }
    println!("the shipper shipped the week {shipments} times meanwhile");
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(8));
    targets = bench
}
criterion_main!(benches);
