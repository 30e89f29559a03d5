//! The sound of a refusal: a scan, a key or an amount the till will not take rings the display's
//! bell as well as saying why, so a cashier looking at the customer hears it. The X server's
//! bell (XWayland's on Wayland); with no X display there is nothing to ring and nothing fails.

/// Rings once, off the update loop (connecting to the display takes a moment).
pub fn ring() {
    std::thread::spawn(|| {
        use x11rb::connection::Connection;
        use x11rb::protocol::xproto::ConnectionExt;
        if let Ok((conn, _)) = x11rb::connect(None) {
            let _ = conn.bell(0);
            let _ = conn.flush();
        }
    });
}
