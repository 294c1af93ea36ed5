//! The application icons in `assets/icons/hicolor/` (packaged for menus and the autostart entry) are the
//! tray icon's drawing at each size: regenerate them with `./dev icons` when the drawing changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use ledtogo::tray::icon::{APP_ICON_SIZES, app_icon};

#[test]
fn the_packaged_app_icons_are_the_tray_icons_drawing_at_every_hicolor_size() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/icons/hicolor");
    for size in APP_ICON_SIZES {
        let path = root.join(format!("{size}x{size}/apps/ledtogo.png"));
        let file = File::open(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run `./dev icons` to draw the icons",
                path.display()
            )
        });
        let mut reader = png::Decoder::new(BufReader::new(file)).read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(
            (info.width, info.height),
            (size, size),
            "{}",
            path.display()
        );
        assert_eq!(info.color_type, png::ColorType::Rgba, "{}", path.display());
        let drawn = app_icon(size);
        assert_eq!(pixels.len(), drawn.len(), "{}", path.display());
        // One step of rounding apart at most (floating point may differ between machines).
        let worst = pixels
            .iter()
            .zip(&drawn)
            .map(|(a, b)| a.abs_diff(*b))
            .max()
            .unwrap_or(0);
        assert!(
            worst <= 2,
            "{} differs from the drawing by {worst}; run `./dev icons`",
            path.display()
        );
    }
}
