//! What the emulated printer printed, as a PNG a person can look at: thermal paper 12 dots per
//! column (Font A is 12×24, a Hanzi 24×24), drawn with the bundled CJK font; QR codes drawn from
//! their data; barcodes shown as a band with their human-readable text.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

use super::emulator::PaperItem;
use super::layout::width_in;

const DOT: usize = 12;
const LINE: usize = 30;
const MARGIN: usize = 12;

struct Canvas {
    width: usize,
    height: usize,
    /// 255 = white paper, 0 = black.
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        Canvas { width, height, pixels: vec![255; width * height] }
    }

    fn darken(&mut self, x: i64, y: i64, coverage: f32) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let p = &mut self.pixels[y as usize * self.width + x as usize];
        let ink = (coverage.clamp(0.0, 1.0) * 255.0) as u8;
        *p = p.saturating_sub(ink);
    }

    fn fill(&mut self, x: usize, y: usize, w: usize, h: usize) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                self.pixels[yy * self.width + xx] = 0;
            }
        }
    }
}

/// Draws `text` from column 0 at `x`, `top`; `scale` 1 or 2 (double size).
/// Draws text as the printer does: each character in the columns it takes there (in Chinese
/// mode every non-ASCII character is a two-column glyph), not by Unicode's idea of its width.
#[allow(clippy::too_many_arguments)]
fn draw_text(
    canvas: &mut Canvas,
    font: &FontRef<'_>,
    text: &str,
    x: usize,
    top: usize,
    scale: usize,
    bold: bool,
    chinese: bool,
) {
    let px = PxScale::from((24 * scale) as f32);
    let scaled = font.as_scaled(px);
    let baseline = top as f32 + scaled.ascent();
    let mut column = 0usize;
    for c in text.chars() {
        let w = super::layout::char_columns(c, chinese);
        let gx = (x + column * DOT * scale) as f32;
        let glyph = font.glyph_id(c).with_scale_and_position(px, point(gx, baseline));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            for dx in 0..=usize::from(bold) {
                outlined.draw(|gx, gy, cov| {
                    canvas.darken(bounds.min.x as i64 + gx as i64 + dx as i64, bounds.min.y as i64 + gy as i64, cov)
                });
            }
        }
        column += w;
    }
}

/// Renders the paper's items, `columns` wide, as a grayscale PNG.
pub fn render_png(items: &[PaperItem], columns: usize) -> Result<Vec<u8>, String> {
    let font = FontRef::try_from_slice_and_index(crate::fonts::CJK_FONT_BYTES, 0).map_err(|e| e.to_string())?;
    let paper_width = columns * DOT + 2 * MARGIN;
    let qr_of = |data: &str| qrcode::QrCode::new(data.as_bytes()).ok();
    let height_of = |item: &PaperItem| match item {
        PaperItem::Text { double, .. } => LINE * if *double { 2 } else { 1 },
        PaperItem::Qr(data) => qr_of(data).map_or(LINE, |q| (q.width() + 8) * 6),
        PaperItem::Barcode(_) => 80 + LINE + 12,
        PaperItem::Image { height, .. } => *height,
        PaperItem::Cut => 24,
    };
    let height = items.iter().map(height_of).sum::<usize>() + 2 * MARGIN;
    let mut canvas = Canvas::new(paper_width, height);
    let mut y = MARGIN;
    for item in items {
        let h = height_of(item);
        match item {
            PaperItem::Text { text, centered, right, double, bold, chinese } => {
                let scale = if *double { 2 } else { 1 };
                let cols = columns / scale;
                let pad = cols.saturating_sub(width_in(text, *chinese));
                let left = if *centered {
                    pad / 2
                } else if *right {
                    pad
                } else {
                    0
                };
                let x = MARGIN + left * DOT * scale;
                draw_text(&mut canvas, &font, text, x, y, scale, *bold, *chinese);
            }
            PaperItem::Qr(data) => {
                if let Some(q) = qr_of(data) {
                    let module = 6;
                    let size = q.width();
                    let x0 = (paper_width - (size + 8) * module) / 2 + 4 * module;
                    let y0 = y + 4 * module;
                    for (i, color) in q.to_colors().iter().enumerate() {
                        if *color == qrcode::Color::Dark {
                            canvas.fill(x0 + (i % size) * module, y0 + (i / size) * module, module, module);
                        }
                    }
                }
            }
            PaperItem::Barcode(data) => {
                // A band where the printer draws the bars, and the text it carries beneath.
                let band = columns * DOT * 3 / 4;
                let x0 = (paper_width - band) / 2;
                for (i, b) in data.bytes().cycle().take(band / 3).enumerate() {
                    if (b >> (i % 7)) & 1 == 1 || i % 2 == 0 {
                        canvas.fill(x0 + i * 3, y + 6, 2, 80);
                    }
                }
                let pad = columns.saturating_sub(width_in(data, false)) / 2;
                draw_text(&mut canvas, &font, data, MARGIN + pad * DOT, y + 90, 1, false, false);
            }
            PaperItem::Image { width, height, bits } => {
                // A printer dot is a pixel here (a column is 12 dots wide, as Font A's).
                let row = width / 8;
                for dy in 0..*height {
                    for dx in 0..*width {
                        if bits.get(dy * row + dx / 8).is_some_and(|b| b & (0x80 >> (dx % 8)) != 0) {
                            canvas.fill(MARGIN + dx, y + dy, 1, 1);
                        }
                    }
                }
            }
            PaperItem::Cut => {
                for x in (0..paper_width).step_by(8) {
                    canvas.fill(x, y + 10, 4, 2);
                }
            }
        }
        y += h;
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, paper_width as u32, height as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&canvas.pixels).map_err(|e| e.to_string())?;
    }
    Ok(out)
}
