//! The X and Z reports as a PDF for the office: A4, the bundled CJK font embedded (krilla keeps
//! only the glyphs used), the same rows as the paper report, and a bar chart of sales by hour.

use ab_glyph::{Font as _, FontRef, ScaleFont as _};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::page::PageSettings;
use krilla::paint::Fill;
use krilla::surface::Surface;
use krilla::text::{Font, TextDirection};

use super::Report;
use super::output::rows;

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 50.0;
const LINE: f32 = 15.0;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the bundled font cannot be read")]
    Font,
    #[error("the PDF cannot be written: {0}")]
    Write(String),
}

/// Text width in points, measured with the same font the PDF embeds.
struct Measure<'a>(FontRef<'a>);

impl Measure<'_> {
    fn width(&self, text: &str, size: f32) -> f32 {
        let scaled = self.0.as_scaled(ab_glyph::PxScale::from(size));
        text.chars().map(|c| scaled.h_advance(self.0.glyph_id(c))).sum()
    }
}

struct Writer<'a> {
    font: Font,
    measure: Measure<'a>,
    y: f32,
}

impl Writer<'_> {
    fn text(&self, surface: &mut Surface<'_>, x: f32, text: &str, size: f32, color: rgb::Color) {
        surface.set_fill(Some(Fill { paint: color.into(), ..Fill::default() }));
        surface.draw_text(Point::from_xy(x, self.y), self.font.clone(), size, text, false, TextDirection::Auto);
    }

    fn right(&self, surface: &mut Surface<'_>, right_edge: f32, text: &str, size: f32, color: rgb::Color) {
        let x = right_edge - self.measure.width(text, size);
        self.text(surface, x, text, size, color);
    }
}

fn rect(surface: &mut Surface<'_>, x: f32, y: f32, w: f32, h: f32, color: rgb::Color) {
    let mut path = PathBuilder::new();
    if let Some(r) = Rect::from_xywh(x, y, w.max(0.1), h.max(0.1)) {
        path.push_rect(r);
    }
    if let Some(p) = path.finish() {
        surface.set_fill(Some(Fill { paint: color.into(), ..Fill::default() }));
        surface.draw_path(&p);
    }
}

/// The report as PDF bytes, in `locale`; `progress` hears the share done (0–1) page by page.
pub fn pdf(
    report: &Report,
    store_name: &str,
    locale: &str,
    progress: &mut dyn FnMut(f32),
) -> Result<Vec<u8>, PdfError> {
    let bytes: &'static [u8] = crate::fonts::CJK_FONT_BYTES;
    let font = Font::new(bytes.into(), 0).ok_or(PdfError::Font)?;
    let measure = Measure(FontRef::try_from_slice_and_index(bytes, 0).map_err(|_| PdfError::Font)?);
    let ink = rgb::Color::new(0x22, 0x22, 0x26);
    let muted = rgb::Color::new(0x6b, 0x6b, 0x75);
    let accent = rgb::Color::new(0x1c, 0x87, 0x45);
    let all = rows(report, locale);
    let title = match &report.close {
        Some(z) => rust_i18n::t!("report.title_z", locale = locale, z = z.z_no).into_owned(),
        None => rust_i18n::t!("report.title_x", locale = locale).into_owned(),
    };
    let days = if report.first_day == report.last_day {
        rust_i18n::t!("report.day", locale = locale, day = report.first_day, date = report.dates.0).into_owned()
    } else {
        rust_i18n::t!("report.days", locale = locale, from = report.dates.0, to = report.dates.1).into_owned()
    };

    let mut document = Document::new();
    let mut next = 0;
    let mut first_page = true;
    while first_page || next < all.len() {
        let mut page = document.start_page_with(PageSettings::from_wh(WIDTH, HEIGHT).ok_or(PdfError::Font)?);
        let mut surface = page.surface();
        let mut w = Writer { font: font.clone(), measure: Measure(measure.0.clone()), y: MARGIN + 20.0 };
        if first_page {
            w.text(&mut surface, MARGIN, &title, 22.0, ink);
            w.y += 22.0;
            w.text(&mut surface, MARGIN, store_name, 12.0, ink);
            w.y += LINE;
            if report.training {
                w.text(&mut surface, MARGIN, &rust_i18n::t!("report.training", locale = locale), 12.0, accent);
                w.y += LINE;
            }
            w.text(&mut surface, MARGIN, &days, 11.0, muted);
            w.y += LINE;
            let printed = crate::locale_fmt::date_time(report.printed_at.with_timezone(&chrono::Local), locale);
            w.text(&mut surface, MARGIN, &printed, 11.0, muted);
            w.y += LINE * 1.5;
            chart(&mut surface, &mut w, report, locale);
        }
        let mut section = if next > 0 { all[next - 1].section } else { "" };
        while next < all.len() && w.y < HEIGHT - MARGIN {
            let row = &all[next];
            if row.section != section {
                section = row.section;
                w.y += LINE * 0.6;
                rect(&mut surface, MARGIN, w.y - 11.0, WIDTH - 2.0 * MARGIN, 0.6, muted);
                w.y += 4.0;
                let key = format!("report.section.{section}");
                let heading = rust_i18n::t!(&key, locale = locale).into_owned();
                w.text(&mut surface, MARGIN, &heading, 12.0, accent);
                w.y += LINE;
            }
            w.text(&mut surface, MARGIN, &row.label, 10.0, ink);
            if let Some(n) = row.count {
                w.right(&mut surface, WIDTH - MARGIN - 110.0, &n.to_string(), 10.0, muted);
            }
            if let Some(a) = row.amount {
                w.right(&mut surface, WIDTH - MARGIN, &report.money(a).to_string(), 10.0, ink);
            }
            w.y += LINE;
            next += 1;
        }
        surface.finish();
        page.finish();
        first_page = false;
        progress(if all.is_empty() { 1.0 } else { next as f32 / all.len() as f32 });
    }
    document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

/// A plain report as PDF: a title, then (heading, rows) sections of label and value — the store's
/// day at the head office.
pub fn rows_pdf(title: &str, sections: &[(String, Vec<(String, String)>)]) -> Result<Vec<u8>, PdfError> {
    let bytes: &'static [u8] = crate::fonts::CJK_FONT_BYTES;
    let font = Font::new(bytes.into(), 0).ok_or(PdfError::Font)?;
    let ink = rgb::Color::new(0x22, 0x22, 0x26);
    let muted = rgb::Color::new(0x6b, 0x6b, 0x75);
    let accent = rgb::Color::new(0x1c, 0x87, 0x45);
    let lines: Vec<(Option<&str>, &str, &str)> = sections
        .iter()
        .flat_map(|(heading, rows)| {
            std::iter::once((Some(heading.as_str()), "", ""))
                .chain(rows.iter().map(|(l, v)| (None, l.as_str(), v.as_str())))
        })
        .collect();
    let mut document = Document::new();
    let mut next = 0;
    while next == 0 || next < lines.len() {
        let mut page = document.start_page_with(PageSettings::from_wh(WIDTH, HEIGHT).ok_or(PdfError::Font)?);
        let mut surface = page.surface();
        let measure = Measure(FontRef::try_from_slice_and_index(bytes, 0).map_err(|_| PdfError::Font)?);
        let mut w = Writer { font: font.clone(), measure, y: MARGIN + 20.0 };
        if next == 0 {
            w.text(&mut surface, MARGIN, title, 20.0, ink);
            w.y += LINE * 2.0;
        }
        while next < lines.len() && w.y < HEIGHT - MARGIN {
            match lines[next] {
                (Some(heading), _, _) => {
                    w.y += LINE * 0.6;
                    rect(&mut surface, MARGIN, w.y - 11.0, WIDTH - 2.0 * MARGIN, 0.6, muted);
                    w.y += 4.0;
                    w.text(&mut surface, MARGIN, heading, 12.0, accent);
                }
                (None, label, value) => {
                    w.text(&mut surface, MARGIN, label, 10.0, ink);
                    w.right(&mut surface, WIDTH - MARGIN, value, 10.0, ink);
                }
            }
            w.y += LINE;
            next += 1;
        }
        surface.finish();
        page.finish();
        if lines.is_empty() {
            break;
        }
    }
    document.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

/// Sales by hour as bars, the busiest hour full height, hours marked every three.
fn chart(surface: &mut Surface<'_>, w: &mut Writer<'_>, report: &Report, locale: &str) {
    let hours = &report.figures.by_hour;
    let max = hours.iter().map(|h| h.1).max().unwrap_or(0).max(1);
    let (left, width, height) = (MARGIN, WIDTH - 2.0 * MARGIN, 120.0);
    w.text(
        surface,
        left,
        &rust_i18n::t!("report.section.hours", locale = locale),
        12.0,
        rgb::Color::new(0x1c, 0x87, 0x45),
    );
    w.y += 8.0;
    let top = w.y;
    let bottom = top + height;
    let slot = width / 24.0;
    for (hour, (_, amount)) in hours.iter().enumerate() {
        let h = (amount.max(&0) * 1000 / max) as f32 / 1000.0 * height;
        rect(surface, left + hour as f32 * slot + 2.0, bottom - h, slot - 4.0, h, rgb::Color::new(0x5b, 0x8d, 0xd9));
    }
    rect(surface, left, bottom, width, 0.8, rgb::Color::new(0x22, 0x22, 0x26));
    w.y = bottom + 12.0;
    for hour in (0..24).step_by(3) {
        w.text(surface, left + hour as f32 * slot, &format!("{hour:02}"), 8.0, rgb::Color::new(0x6b, 0x6b, 0x75));
    }
    w.y = top + 6.0;
    w.right(surface, left + width, &report.money(max).to_string(), 8.0, rgb::Color::new(0x6b, 0x6b, 0x75));
    w.y = bottom + 30.0;
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bundled_font_opens_for_the_pdf() {
        let bytes: &'static [u8] = crate::fonts::CJK_FONT_BYTES;
        assert!(krilla::text::Font::new(bytes.into(), 0).is_some());
    }
}
