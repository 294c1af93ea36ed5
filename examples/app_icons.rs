//! Writes the application icon in every hicolor size into `assets/icons/hicolor/<N>x<N>/apps/ledtogo.png`
//! (drawn by the tray icon's code, `ledtogo::tray::icon::app_icon`). Run by `./dev icons`; the packages and
//! the macOS bundle take the files from there, and `tests/app_icons.rs` fails when they drift from the code.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ledtogo::tray::icon::{APP_ICON_SIZES, app_icon};

fn main() -> Result<()> {
    let root = std::env::args_os().nth(1).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/icons/hicolor"),
        PathBuf::from,
    );
    for size in APP_ICON_SIZES {
        let dir = root.join(format!("{size}x{size}/apps"));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("ledtogo.png");
        write_png(&path, size, &app_icon(size))
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// `rgba` (`size`×`size`, straight alpha) as an 8-bit RGBA PNG at `path`.
fn write_png(path: &Path, size: u32, rgba: &[u8]) -> Result<()> {
    let mut encoder = png::Encoder::new(BufWriter::new(File::create(path)?), size, size);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgba)?;
    writer.finish()?;
    Ok(())
}
