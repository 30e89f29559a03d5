//! The bundled CJK font (WenQuanYi Micro Hei, Apache-2.0, licence in `assets/fonts/`): iced's
//! default font has no Chinese glyphs, and the printer emulator draws receipts with it too.

pub const CJK_FONT_BYTES: &[u8] = include_bytes!("../assets/fonts/wqy-microhei.ttc");
/// Its family name, for the GUI.
pub const CJK_FONT_NAME: &str = "WenQuanYi Micro Hei";
