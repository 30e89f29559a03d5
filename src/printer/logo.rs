//! The store's logo on its receipts: a PNG file read once with the settings, then drawn for each
//! printer as a one-bit raster image (GS v 0), fitted to the profile's dots and centred in them.
//! Printers without raster images (none of our profiles today) print no logo.

use std::io::Cursor;

/// The largest logo read (bigger files are refused, not shrunk from megapixels at each sale).
const MAX_SIDE: u32 = 2048;
/// The tallest logo printed, in dots (about 3 cm at 203 dpi).
const MAX_DOTS_HIGH: usize = 240;

/// A logo as gray levels (0 black … 255 white), composed over white paper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logo {
    pub width: usize,
    pub height: usize,
    luma: Vec<u8>,
}

/// A one-bit image for GS v 0: `width` dots (a multiple of 8) by `height` rows, the first bit of
/// each byte the leftmost dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    pub bits: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoError {
    #[error("not a PNG image the till can read: {0}")]
    Unreadable(String),
    #[error("{0}×{1} pixels: a logo is at most {MAX_SIDE}×{MAX_SIDE}")]
    TooLarge(u32, u32),
}

impl Logo {
    /// Reads a PNG (gray, RGB, palette, with or without alpha, 1 to 16 bits).
    pub fn from_png(bytes: &[u8]) -> Result<Logo, LogoError> {
        let unreadable = |e: png::DecodingError| LogoError::Unreadable(e.to_string());
        let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), png::Limits { bytes: 32 << 20 });
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().map_err(unreadable)?;
        let (width, height) = (reader.info().width, reader.info().height);
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(LogoError::TooLarge(width, height));
        }
        let size = reader.output_buffer_size().ok_or_else(|| LogoError::Unreadable("too large".into()))?;
        let mut buffer = vec![0; size];
        let frame = reader.next_frame(&mut buffer).map_err(unreadable)?;
        let channels = frame.color_type.samples();
        let (width, height) = (frame.width as usize, frame.height as usize);
        let mut luma = Vec::with_capacity(width * height);
        for y in 0..height {
            let row = &buffer[y * frame.line_size..];
            for x in 0..width {
                let px = &row[x * channels..x * channels + channels];
                let (gray, alpha) = match px {
                    [g] => (u32::from(*g), 255),
                    [g, a] => (u32::from(*g), u32::from(*a)),
                    [r, g, b] => ((u32::from(*r) * 299 + u32::from(*g) * 587 + u32::from(*b) * 114) / 1000, 255),
                    [r, g, b, a] => {
                        ((u32::from(*r) * 299 + u32::from(*g) * 587 + u32::from(*b) * 114) / 1000, u32::from(*a))
                    }
                    _ => (255, 255),
                };
                // Over white paper: what is transparent does not print.
                luma.push(((gray * alpha + 255 * (255 - alpha)) / 255) as u8);
            }
        }
        Ok(Logo { width, height, luma })
    }

    /// The logo for a printer `dots` wide: shrunk (never enlarged) to fit the width and
    /// `MAX_DOTS_HIGH`, dark below half gray, centred across the dots.
    pub fn raster(&self, dots: usize) -> Raster {
        let row_bytes = dots.div_ceil(8);
        let scale = (self.width as f64 / dots as f64).max(self.height as f64 / MAX_DOTS_HIGH as f64).max(1.0);
        let width = ((self.width as f64 / scale) as usize).clamp(1, dots);
        let height = ((self.height as f64 / scale) as usize).max(1);
        let left = (dots - width) / 2;
        let mut bits = vec![0u8; row_bytes * height];
        for y in 0..height {
            let sy = ((y as f64 * scale) as usize).min(self.height - 1);
            for x in 0..width {
                let sx = ((x as f64 * scale) as usize).min(self.width - 1);
                if self.luma[sy * self.width + sx] < 128 {
                    let dot = left + x;
                    bits[y * row_bytes + dot / 8] |= 0x80 >> (dot % 8);
                }
            }
        }
        Raster { width: row_bytes * 8, height, bits }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A PNG of `width`×`height` in RGBA: a black box with a transparent margin of `margin`.
    pub(crate) fn boxed_png(width: u32, height: u32, margin: u32) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            let mut writer = encoder.write_header().unwrap();
            let mut data = Vec::new();
            for y in 0..height {
                for x in 0..width {
                    let inside = x >= margin && y >= margin && x < width - margin && y < height - margin;
                    data.extend_from_slice(if inside { &[0, 0, 0, 255] } else { &[0, 0, 0, 0] });
                }
            }
            writer.write_image_data(&data).unwrap();
        }
        out
    }

    #[test]
    fn a_logo_is_fitted_centred_and_transparent_where_it_is() {
        let logo = Logo::from_png(&boxed_png(800, 200, 40)).unwrap();
        let raster = logo.raster(384);
        // 800 wide onto 384 dots: halved and a bit, never wider than the paper.
        assert_eq!(raster.width, 384);
        assert!(raster.height <= 200 && raster.height >= 90, "{}", raster.height);
        let dark = |x: usize, y: usize| raster.bits[y * 48 + x / 8] & (0x80 >> (x % 8)) != 0;
        let middle = raster.height / 2;
        assert!(dark(192, middle), "the box prints");
        assert!(!dark(10, middle) && !dark(375, middle), "the transparent margin does not");
        assert!(!dark(192, 1), "nor above the box");
        // A small logo is not enlarged.
        assert_eq!(Logo::from_png(&boxed_png(64, 32, 4)).unwrap().raster(576).height, 32);
    }

    #[test]
    fn what_is_not_a_png_is_refused() {
        assert!(matches!(Logo::from_png(b"GIF89a...."), Err(LogoError::Unreadable(_))));
        assert!(matches!(Logo::from_png(&[]), Err(LogoError::Unreadable(_))));
        assert!(matches!(Logo::from_png(&boxed_png(3000, 10, 1)), Err(LogoError::TooLarge(3000, 10))));
    }
}
