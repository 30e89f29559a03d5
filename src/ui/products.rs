//! Catalog upkeep (manager's screen → Products): find a product by name, code or SKU, change it or
//! add one (checked by the import's own rules; every save journaled with the price before and
//! after), and import a CSV file with a preview of what would change and progress while a large
//! file is read. Opened with a manager's PIN; `admin` refuses without it. The catalog in memory
//! is rebuilt on the ledger's worker and handed to the counter when it is ready.

use std::sync::Arc;

use iced::widget::{column, container, row, scrollable, text, text_input};
use iced::{Alignment, Color, Element, Length};

use super::theme::{self, LARGE, SMALL, TEXT, money};
use super::workers::{self, Handed};
use super::{Job, Message, Screen, Till, t};
use crate::admin::{self, ProductFields};
use crate::auth::Approval;
use crate::catalog::import::{self, Preview};
use crate::catalog::{Catalog, Text};

/// The field that has the keyboard when the screen opens.
pub const FIELD: &str = "products-find";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Sku,
    Barcodes,
    NameZh,
    NameEn,
    Price,
    TaxClass,
    Category,
    QuickKey,
    SoldBy,
}

impl Field {
    const ALL: [Field; 9] = [
        Field::Sku,
        Field::NameZh,
        Field::NameEn,
        Field::Price,
        Field::TaxClass,
        Field::Barcodes,
        Field::Category,
        Field::QuickKey,
        Field::SoldBy,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Field::Sku => "products-sku",
            Field::Barcodes => "products-barcodes",
            Field::NameZh => "products-name-zh",
            Field::NameEn => "products-name-en",
            Field::Price => "products-price",
            Field::TaxClass => "products-tax-class",
            Field::Category => "products-category",
            Field::QuickKey => "products-quick-key",
            Field::SoldBy => "products-sold-by",
        }
    }

    fn value(self, f: &ProductFields) -> &str {
        match self {
            Field::Sku => &f.sku,
            Field::Barcodes => &f.barcodes,
            Field::NameZh => &f.name_zh,
            Field::NameEn => &f.name_en,
            Field::Price => &f.price,
            Field::TaxClass => &f.tax_class,
            Field::Category => &f.category,
            Field::QuickKey => &f.quick_key,
            Field::SoldBy => &f.sold_by,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Msg {
    Find(String),
    Pick(String),
    /// The arrow keys over the hits (−1 up, +1 down).
    Walk(i32),
    /// Enter in the find field: the hit walked to, or the first (an exact barcode or SKU is the
    /// only one).
    PickWalked,
    New,
    Edit(Field, String),
    Save,
    Saved(Result<Handed<Arc<Catalog>>, String>),
    Path(String),
    Preview,
    Progress(f32),
    Previewed(Result<Handed<Preview>, String>),
    Import,
    /// Escape: one step back — the import's preview, else a half-filled form, else the search,
    /// else the screen.
    Back,
    Close,
}

pub struct State {
    pub approval: Approval,
    pub query: String,
    pub hits: Vec<Text>,
    /// The hit the arrows walked to.
    pub cursor: Option<usize>,
    pub form: ProductFields,
    /// The SKU of the product being changed; `None`: a new one.
    pub editing: Option<String>,
    pub path: String,
    pub progress: Option<f32>,
    pub preview: Option<Box<Preview>>,
    pub busy: bool,
}

pub fn open(till: &mut Till, approval: Approval) {
    till.products = Some(State {
        approval,
        query: String::new(),
        hits: Vec::new(),
        cursor: None,
        form: blank_form(till),
        editing: None,
        path: String::new(),
        progress: None,
        preview: None,
        busy: false,
    });
    till.screen = Screen::Products;
    till.clear_notice();
}

/// A new product's form: sold by the piece, in the store's first tax class.
fn blank_form(till: &Till) -> ProductFields {
    let sold_by = "piece".to_string();
    let tax_class = till.counter.store().tax_classes.first().map(|c| c.code.clone()).unwrap_or_default();
    ProductFields { sold_by, tax_class, ..ProductFields::default() }
}

/// Rebuilds the catalog from the ledger (on its worker) for the counter.
fn rebuild(ledger: &crate::ledger::Ledger, store: &crate::config::StoreSettings) -> Result<Arc<Catalog>, String> {
    let products = ledger.load_products().map_err(|e| e.to_string())?;
    Ok(Arc::new(Catalog::new(store.currency, products, store.embedded_barcodes.clone())))
}

pub fn update(till: &mut Till, msg: Msg) -> Vec<Job> {
    let l = till.locale.clone();
    let Some(state) = till.products.as_mut() else { return Vec::new() };
    match msg {
        Msg::Find(query) => {
            let catalog = till.counter.catalog();
            state.hits = if query.trim().is_empty() {
                Vec::new()
            } else if let Ok(p) = catalog.by_sku(query.trim()) {
                vec![p.sku.clone()]
            } else if let Ok(hit) = catalog.scan(query.trim()) {
                vec![hit.product.sku.clone()]
            } else {
                catalog.search(&query, 30).into_iter().map(|p| p.sku.clone()).collect()
            };
            state.query = query;
            state.cursor = None;
        }
        Msg::Walk(step) => {
            let last = state.hits.len().saturating_sub(1);
            state.cursor = match state.cursor {
                _ if state.hits.is_empty() => None,
                None => Some(if step < 0 { last } else { 0 }),
                Some(i) if step < 0 => Some(i.saturating_sub(1)),
                Some(i) => Some((i + 1).min(last)),
            };
        }
        Msg::PickWalked => {
            if let Some(sku) = state.hits.get(state.cursor.unwrap_or(0)).map(|s| s.to_string()) {
                return update(till, Msg::Pick(sku));
            }
        }
        Msg::Pick(sku) => {
            if let Ok(p) = till.counter.catalog().by_sku(&sku) {
                state.form = ProductFields::of(p);
                state.editing = Some(sku);
            }
        }
        Msg::New => {
            let tax_class = till.counter.store().tax_classes.first().map(|c| c.code.clone()).unwrap_or_default();
            state.form = ProductFields { sold_by: "piece".into(), tax_class, ..ProductFields::default() };
            state.editing = None;
        }
        Msg::Edit(field, value) => {
            let f = &mut state.form;
            match field {
                Field::Sku => {
                    if state.editing.is_none() {
                        f.sku = value;
                    }
                }
                Field::Barcodes => f.barcodes = value,
                Field::NameZh => f.name_zh = value,
                Field::NameEn => f.name_en = value,
                Field::Price => f.price = value,
                Field::TaxClass => f.tax_class = value.trim().to_ascii_uppercase(),
                Field::Category => f.category = value,
                Field::QuickKey => f.quick_key = value,
                Field::SoldBy => f.sold_by = value.trim().to_ascii_lowercase(),
            }
        }
        Msg::Save => {
            if state.busy {
                return Vec::new();
            }
            state.busy = true;
            let (fields, approval, store) = (state.form.clone(), state.approval.clone(), till.counter.store().clone());
            return vec![till.devices.ledger.call(move |ledger| {
                let mut ledger = workers::lock(ledger);
                let saved = admin::save_product(&mut ledger, &store, &fields, &approval)
                    .map_err(|e| e.localized(&l))
                    .and_then(|_| rebuild(&ledger, &store))
                    .map(Handed::new);
                Message::Products(Msg::Saved(saved))
            })];
        }
        Msg::Saved(result) => {
            state.busy = false;
            match result.map(|h| h.take()) {
                Ok(Some(catalog)) => {
                    let saved = state.form.sku.clone();
                    state.editing = Some(saved.clone());
                    state.hits = vec![saved.into()];
                    state.preview = None;
                    till.counter.set_catalog(catalog);
                    till.info(t("products.saved", &l));
                }
                Ok(None) => {}
                Err(e) => till.error(e),
            }
        }
        Msg::Path(path) => state.path = path,
        Msg::Preview => {
            if state.busy {
                return Vec::new();
            }
            let path = std::path::PathBuf::from(state.path.trim());
            state.busy = true;
            state.progress = Some(0.0);
            state.preview = None;
            let (store, catalog) = (till.counter.store().clone(), till.counter.catalog_arc());
            return vec![till.devices.ledger.stream(move |ledger, out| {
                let file = std::fs::File::open(&path).and_then(|f| f.metadata().map(|m| (f, m.len())));
                let (file, size) = match file {
                    Ok(f) => f,
                    Err(e) => {
                        let why = rust_i18n::t!(
                            "cli.cannot_read",
                            locale = &l,
                            file = path.display(),
                            detail = e.to_string()
                        );
                        out.send(Message::Products(Msg::Previewed(Err(why.into_owned()))));
                        return;
                    }
                };
                let reader = import::ProgressReader::new(std::io::BufReader::new(file), size, |done| {
                    out.send(Message::Products(Msg::Progress(done)))
                });
                let ledger = workers::lock(ledger);
                let owner = |code: &str| ledger.barcode_owner(code).ok().flatten();
                let checked = import::parse_csv(reader, store.currency, &store.tax_class_codes(), &owner);
                let previewed = match checked {
                    Ok(products) => Ok(Handed::new(import::preview(&catalog, products))),
                    Err(errors) => {
                        let mut lines: Vec<String> = errors.iter().take(20).map(|e| e.localized(&l)).collect();
                        lines.push(rust_i18n::t!("cli.import_refused", locale = &l, count = errors.len()).into_owned());
                        Err(lines.join("\n"))
                    }
                };
                out.send(Message::Products(Msg::Previewed(previewed)));
            })];
        }
        Msg::Progress(done) => state.progress = Some(done),
        Msg::Previewed(result) => {
            state.busy = false;
            state.progress = None;
            match result.map(|h| h.take()) {
                Ok(Some(preview)) => state.preview = Some(Box::new(preview)),
                Ok(None) => {}
                Err(e) => till.error(e),
            }
        }
        Msg::Import => {
            let Some(preview) = state.preview.take() else { return Vec::new() };
            if state.busy {
                return Vec::new();
            }
            if !state.approval.covers(crate::auth::Permission::Catalog) {
                till.error(t("users.error.not_permitted", &l));
                return Vec::new();
            }
            state.busy = true;
            let (store, source) = (till.counter.store().clone(), format!("{} (till)", state.path.trim()));
            let by = state.approval.by().to_string();
            return vec![till.devices.ledger.call(move |ledger| {
                let mut ledger = workers::lock(ledger);
                let source = format!("{source} by {by}");
                let saved = ledger
                    .save_products(&preview.products, &source, chrono::Utc::now())
                    .map_err(|e| e.localized(&l))
                    .and_then(|_| rebuild(&ledger, &store))
                    .map(Handed::new);
                Message::Products(Msg::Saved(saved))
            })];
        }
        Msg::Back => {
            let blank = blank_form(till);
            let Some(state) = till.products.as_mut() else { return Vec::new() };
            if state.busy {
                return Vec::new();
            }
            if state.preview.take().is_some() {
            } else if state.form != blank || state.editing.is_some() {
                state.form = blank;
                state.editing = None;
            } else if !state.query.is_empty() || !state.path.is_empty() {
                state.query.clear();
                state.hits.clear();
                state.path.clear();
            } else {
                return update(till, Msg::Close);
            }
        }
        Msg::Close => {
            till.products = None;
            till.screen = if till.manager.is_some() { Screen::Manager } else { Screen::Sale };
        }
    }
    Vec::new()
}

fn preview_view<'a>(p: &Preview, l: &str) -> Element<'a, Message> {
    let mut col = column![
        text(
            rust_i18n::t!(
                "products.preview",
                locale = l,
                added = p.added.len(),
                prices = p.prices.len(),
                other = p.other_changes,
                unchanged = p.unchanged
            )
            .into_owned()
        )
        .size(TEXT)
    ]
    .spacing(4);
    for (sku, name, old, new) in p.prices.iter().take(8) {
        col = col.push(text(format!("{sku}  {name}  {} → {}", money(*old), money(*new))).size(SMALL));
    }
    if p.prices.len() > 8 {
        col = col.push(text(format!("… +{}", p.prices.len() - 8)).size(SMALL).color(theme::MUTED));
    }
    col.push(theme::primary(t("products.import", l), Some(Message::Products(Msg::Import)))).into()
}

pub fn view(till: &Till) -> Element<'_, Message> {
    let l = till.locale.as_str();
    let Some(state) = &till.products else { return column![].into() };
    let catalog = till.counter.catalog();
    let mut hits = column![].spacing(4);
    for (i, sku) in state.hits.iter().enumerate() {
        let Ok(p) = catalog.by_sku(sku) else { continue };
        let label = row![
            text(format!("{}  {}", p.sku, p.name(l))).size(SMALL).width(Length::Fill),
            text(money(p.price)).size(SMALL)
        ];
        let picked = state.editing.as_deref() == Some(p.sku.as_str()) || state.cursor == Some(i);
        hits = hits.push(theme::row_button(label, picked, Message::Products(Msg::Pick(p.sku.to_string()))));
    }
    let left = column![
        text(rust_i18n::t!("products.title", locale = l, count = catalog.len()).into_owned()).size(LARGE),
        text_input(&t("products.find", l), &state.query)
            .id(FIELD)
            .size(TEXT)
            .padding(8)
            .on_input(|v| Message::Products(Msg::Find(v)))
            .on_submit(Message::Products(Msg::PickWalked)),
        scrollable(hits).height(Length::Fill),
        text(t("products.import_title", l)).size(TEXT),
        text_input(&t("products.path", l), &state.path)
            .id("products-path")
            .size(SMALL)
            .padding(6)
            .on_input(|v| Message::Products(Msg::Path(v))),
        theme::action(t("products.preview_button", l), (!state.busy).then_some(Message::Products(Msg::Preview))),
    ]
    .spacing(8);
    let mut left = left;
    if let Some(done) = state.progress {
        let percent = (done * 100.0).round();
        left =
            left.push(text(rust_i18n::t!("products.reading", locale = l, percent = percent).into_owned()).size(SMALL));
    }
    if let Some(p) = &state.preview {
        left = left.push(preview_view(p, l));
    }
    let mut form =
        column![text(if state.editing.is_some() { t("products.change", l) } else { t("products.new", l) }).size(LARGE)]
            .spacing(6);
    for field in Field::ALL {
        let label = text(t(&format!("products.field.{field:?}"), l)).size(SMALL).color(theme::MUTED);
        let value = field.value(&state.form);
        let input: Element<'_, Message> = if field == Field::Sku && state.editing.is_some() {
            text(value.to_string()).size(TEXT).into()
        } else {
            text_input("", value)
                .id(field.id())
                .size(TEXT)
                .padding(5)
                .on_input(move |v| Message::Products(Msg::Edit(field, v)))
                .into()
        };
        form = form.push(row![label.width(Length::Fixed(130.0)), input].spacing(8).align_y(Alignment::Center));
    }
    form =
        form.push(theme::primary(t("products.save", l), (!state.busy).then_some(Message::Products(Msg::Save)))).push(
            row![
                theme::action(t("products.new_button", l), Some(Message::Products(Msg::New))),
                theme::action(t("users.back", l), Some(Message::Products(Msg::Close))),
            ]
            .spacing(8),
        );
    row![
        container(left).width(Length::FillPortion(1)).height(Length::Fill).padding(8).style(theme::panel(Color::WHITE)),
        container(scrollable(form)).width(Length::Fixed(430.0)).height(Length::Fill)
    ]
    .spacing(12)
    .into()
}
