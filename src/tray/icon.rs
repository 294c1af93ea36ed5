//! The tray icon's pixels: RGBA drawn at run time with anti-aliased geometry, no image files, one icon per
//! [`TrayState`] (which state to show is the pure view's business, [`super::view`]).
//!
//! The icon colours are a fixed palette tuned for panels, not the LED colours of the config (those are tuned
//! for LEDs: `disabled` is almost black, for instance).

use super::view::TrayState;

/// The icon palette.
impl TrayState {
    /// The disc colour of the icon (R, G, B).
    pub fn color(self) -> [u8; 3] {
        match self {
            TrayState::NoJobs => [0x8c, 0x8c, 0x8c],
            TrayState::Success => [0x2e, 0xa0, 0x43],
            TrayState::Building => [0x1f, 0x6f, 0xeb],
            TrayState::Unreachable => [0x82, 0x50, 0xdf],
            TrayState::Unstable => [0xf0, 0xa5, 0x00],
            TrayState::Failure => [0xd9, 0x30, 0x25],
        }
    }

    /// The glyph colour: white, except dark on the light amber disc.
    fn glyph_color(self) -> [u8; 3] {
        match self {
            TrayState::Unstable => [0x20, 0x20, 0x20],
            _ => [0xff, 0xff, 0xff],
        }
    }
}

/// The icon of `state`: `size`×`size` RGBA, row-major, straight (not premultiplied) alpha.
///
/// A filled disc of the state colour with a dark outline ring (readable on light and dark panels), and one
/// glyph per state: check (success), "!" (unstable), cross (failure), a circular arrow (building), "?"
/// (unreachable), a dash (no jobs). Outside the disc the icon is transparent. Anti-aliased by analytic
/// coverage of signed distances; strokes never get thinner than ~1.5 px so the glyph reads at 16 px.
pub fn render_icon(state: TrayState, size: u32) -> Vec<u8> {
    let size = size.max(1);
    let n = size as usize;
    let mut out = vec![0u8; n * n * 4];
    let half = f64::from(size) / 2.0;
    // Unit coordinates: the disc has radius 1, centred; y grows downwards.
    let radius_px = (half - 0.5).max(0.5);
    let px = 1.0 / radius_px; // one pixel in unit lengths
    let ring = (0.1f64).max(1.3 * px);
    let stroke = (0.2f64).max(1.5 * px);
    let glyph = Glyph::of(state, stroke);
    let outline = [0x1c, 0x1c, 0x1c];
    let fill = state.color();
    let ink = state.glyph_color();
    for y in 0..n {
        for x in 0..n {
            let ux = (x as f64 + 0.5 - half) / radius_px;
            let uy = (y as f64 + 0.5 - half) / radius_px;
            let d_disc = (ux * ux + uy * uy).sqrt() - 1.0;
            let mut pixel = [0.0f64; 4];
            over(&mut pixel, outline, coverage(d_disc, px));
            over(&mut pixel, fill, coverage(d_disc + ring, px));
            over(&mut pixel, ink, coverage(glyph.distance(ux, uy), px));
            let i = (y * n + x) * 4;
            let a = pixel[3];
            for c in 0..3 {
                let v = if a > 0.0 { pixel[c] / a } else { 0.0 };
                out[i + c] = (v * 255.0).round().clamp(0.0, 255.0) as u8;
            }
            out[i + 3] = (a * 255.0).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// The sizes of the application icon in the packages (`assets/icons/hicolor/<N>x<N>/apps/ledtogo.png`).
pub const APP_ICON_SIZES: [u32; 8] = [16, 22, 24, 32, 48, 64, 128, 256];

/// The application icon (menus, the autostart entry, the macOS bundle): the tray icon of a green build, so
/// the app and its tray icon look alike. `size`×`size` RGBA like [`render_icon`].
pub fn app_icon(size: u32) -> Vec<u8> {
    render_icon(TrayState::Success, size)
}

/// Share of a pixel covered by a shape with signed distance `d` (negative inside) at its centre.
fn coverage(d: f64, px: f64) -> f64 {
    (0.5 - d / px).clamp(0.0, 1.0)
}

/// Porter-Duff "over" onto a premultiplied pixel.
fn over(dst: &mut [f64; 4], color: [u8; 3], alpha: f64) {
    if alpha <= 0.0 {
        return;
    }
    for c in 0..3 {
        dst[c] = f64::from(color[c]) / 255.0 * alpha + dst[c] * (1.0 - alpha);
    }
    dst[3] = alpha + dst[3] * (1.0 - alpha);
}

/// A glyph as a union of primitives, in unit coordinates.
struct Glyph {
    parts: Vec<Shape>,
}

enum Shape {
    /// A stroked segment with round caps.
    Segment {
        a: (f64, f64),
        b: (f64, f64),
        half_width: f64,
    },
    Dot {
        c: (f64, f64),
        r: f64,
    },
    /// A stroked arc of a circle, from angle `from` sweeping `sweep` radians (clockwise on screen).
    Arc {
        c: (f64, f64),
        r: f64,
        from: f64,
        sweep: f64,
        half_width: f64,
    },
    Triangle {
        p: [(f64, f64); 3],
    },
}

impl Glyph {
    fn of(state: TrayState, stroke: f64) -> Glyph {
        let hw = stroke / 2.0;
        let seg = |a, b| Shape::Segment {
            a,
            b,
            half_width: hw,
        };
        use std::f64::consts::PI;
        let parts = match state {
            TrayState::Success => vec![
                seg((-0.42, 0.02), (-0.12, 0.32)),
                seg((-0.12, 0.32), (0.44, -0.3)),
            ],
            TrayState::Failure => vec![
                seg((-0.34, -0.34), (0.34, 0.34)),
                seg((-0.34, 0.34), (0.34, -0.34)),
            ],
            TrayState::Unstable => vec![
                seg((0.0, -0.5), (0.0, 0.1)),
                Shape::Dot {
                    c: (0.0, 0.42),
                    r: hw * 1.15,
                },
            ],
            TrayState::Building => {
                let r = 0.42;
                let from = -PI / 2.0 + 0.45; // just right of the top
                let sweep = 1.55 * PI;
                let end = from + sweep;
                let (ex, ey) = (r * end.cos(), r * end.sin());
                // Tangent (clockwise on screen) and outward normal at the arc's end.
                let (tx, ty) = (-end.sin(), end.cos());
                let (nx, ny) = (end.cos(), end.sin());
                let head = 0.26;
                vec![
                    Shape::Arc {
                        c: (0.0, 0.0),
                        r,
                        from,
                        sweep,
                        half_width: hw,
                    },
                    Shape::Triangle {
                        p: [
                            (ex + nx * head, ey + ny * head),
                            (ex - nx * head, ey - ny * head),
                            (ex + tx * head * 1.1, ey + ty * head * 1.1),
                        ],
                    },
                ]
            }
            TrayState::Unreachable => vec![
                Shape::Arc {
                    c: (0.0, -0.2),
                    r: 0.25,
                    from: PI,
                    sweep: 1.5 * PI,
                    half_width: hw,
                },
                seg((0.0, 0.05), (0.0, 0.12)),
                Shape::Dot {
                    c: (0.0, 0.44),
                    r: hw * 1.15,
                },
            ],
            TrayState::NoJobs => vec![seg((-0.4, 0.0), (0.4, 0.0))],
        };
        Glyph { parts }
    }

    fn distance(&self, x: f64, y: f64) -> f64 {
        self.parts
            .iter()
            .map(|s| s.distance(x, y))
            .fold(f64::INFINITY, f64::min)
    }
}

impl Shape {
    fn distance(&self, x: f64, y: f64) -> f64 {
        match *self {
            Shape::Segment { a, b, half_width } => segment_distance((x, y), a, b) - half_width,
            Shape::Dot { c, r } => ((x - c.0).powi(2) + (y - c.1).powi(2)).sqrt() - r,
            Shape::Arc {
                c,
                r,
                from,
                sweep,
                half_width,
            } => {
                let (dx, dy) = (x - c.0, y - c.1);
                let angle = dy.atan2(dx);
                let rel = (angle - from).rem_euclid(std::f64::consts::TAU);
                if rel <= sweep {
                    ((dx * dx + dy * dy).sqrt() - r).abs() - half_width
                } else {
                    let end = |t: f64| (c.0 + r * t.cos(), c.1 + r * t.sin());
                    let (s, e) = (end(from), end(from + sweep));
                    let ds = ((x - s.0).powi(2) + (y - s.1).powi(2)).sqrt();
                    let de = ((x - e.0).powi(2) + (y - e.1).powi(2)).sqrt();
                    ds.min(de) - half_width
                }
            }
            Shape::Triangle { p } => triangle_distance((x, y), p),
        }
    }
}

fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (abx, aby) = (b.0 - a.0, b.1 - a.1);
    let (apx, apy) = (p.0 - a.0, p.1 - a.1);
    let len2 = abx * abx + aby * aby;
    let t = if len2 > 0.0 {
        ((apx * abx + apy * aby) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    ((apx - t * abx).powi(2) + (apy - t * aby).powi(2)).sqrt()
}

/// Signed distance to a filled triangle (negative inside).
fn triangle_distance(p: (f64, f64), t: [(f64, f64); 3]) -> f64 {
    let edge = |i: usize| (t[i], t[(i + 1) % 3]);
    let outside_dist = (0..3)
        .map(|i| {
            let (a, b) = edge(i);
            segment_distance(p, a, b)
        })
        .fold(f64::INFINITY, f64::min);
    let cross =
        |a: (f64, f64), b: (f64, f64)| (b.0 - a.0) * (p.1 - a.1) - (b.1 - a.1) * (p.0 - a.0);
    let signs: Vec<f64> = (0..3)
        .map(|i| {
            let (a, b) = edge(i);
            cross(a, b)
        })
        .collect();
    let inside = signs.iter().all(|s| *s >= 0.0) || signs.iter().all(|s| *s <= 0.0);
    if inside { -outside_dist } else { outside_dist }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::BTreeMap;

    // ---- icons ----------------------------------------------------------------------------------

    /// The most common colour among opaque pixels, in 32-level buckets (bucket centres).
    fn dominant(rgba: &[u8]) -> [u8; 3] {
        let mut counts: BTreeMap<[u8; 3], usize> = BTreeMap::new();
        for p in rgba.chunks_exact(4).filter(|p| p[3] == 255) {
            *counts.entry([p[0] >> 5, p[1] >> 5, p[2] >> 5]).or_default() += 1;
        }
        let (bucket, _) = counts.into_iter().max_by_key(|(_, n)| *n).unwrap();
        bucket.map(|b| (b << 5) + 16)
    }

    fn close(a: [u8; 3], b: [u8; 3]) -> bool {
        a.iter()
            .zip(b)
            .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= 24)
    }

    fn dist(a: [u8; 3], b: [u8; 3]) -> i32 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (i32::from(*x) - i32::from(y)).abs())
            .sum()
    }

    /// Writes every icon as PAM files for eyeballing: `cargo test --lib dump_icons -- --ignored`, then
    /// `convert x.pam x.png`.
    #[test]
    #[ignore = "writes files for a human to look at"]
    fn dump_icons() {
        let dir = std::env::temp_dir().join("ledtogo-tray-icons");
        std::fs::create_dir_all(&dir).unwrap();
        for size in [16, 22, 32, 64] {
            for s in TrayState::ALL {
                let img = render_icon(s, size);
                let mut out = format!(
                    "P7\nWIDTH {size}\nHEIGHT {size}\nDEPTH 4\nMAXVAL 255\nTUPLTYPE RGB_ALPHA\nENDHDR\n"
                )
                .into_bytes();
                out.extend_from_slice(&img);
                let name = s.label().replace(' ', "-");
                std::fs::write(dir.join(format!("{name}-{size}.pam")), out).unwrap();
            }
        }
    }

    /// Rough hue family of a colour, to check "green is green" independent of the palette details.
    fn family(c: [u8; 3]) -> &'static str {
        let [r, g, b] = c.map(i32::from);
        let max = r.max(g).max(b);
        let min = r.min(g).min(b);
        if max - min < 30 {
            "grey"
        } else if g == max && g > r + 40 && g > b + 40 {
            "green"
        } else if r == max && g > 120 && b < 80 {
            "amber"
        } else if r == max && g < 90 && b < 90 {
            "red"
        } else if b == max && r < 100 {
            "blue"
        } else if b == max && r >= 100 {
            "violet"
        } else {
            "other"
        }
    }

    #[test]
    fn each_state_icon_is_dominated_by_its_colour_at_every_size() {
        let expected = [
            (TrayState::Success, "green"),
            (TrayState::Unstable, "amber"),
            (TrayState::Failure, "red"),
            (TrayState::Building, "blue"),
            (TrayState::Unreachable, "violet"),
            (TrayState::NoJobs, "grey"),
        ];
        for size in [16, 22, 24, 32, 64] {
            for (state, fam) in expected {
                let img = render_icon(state, size);
                assert_eq!(img.len(), (size * size * 4) as usize);
                let d = dominant(&img);
                assert!(
                    close(d, state.color()),
                    "{state:?} at {size}px: dominant {d:?}, colour {:?}",
                    state.color()
                );
                assert_eq!(family(d), fam, "{state:?} at {size}px: {d:?}");
            }
        }
    }

    #[test]
    fn icons_are_round_anti_aliased_and_have_a_dark_outline() {
        for size in [16, 32, 64] {
            let n = size as usize;
            for state in TrayState::ALL {
                let img = render_icon(state, size);
                let alpha = |x: usize, y: usize| img[(y * n + x) * 4 + 3];
                for (x, y) in [(0, 0), (n - 1, 0), (0, n - 1), (n - 1, n - 1)] {
                    assert_eq!(alpha(x, y), 0, "{state:?} {size}px corner ({x},{y})");
                }
                assert_eq!(alpha(n / 2, n / 2), 255, "centre is opaque");
                assert!(
                    img.chunks_exact(4).any(|p| p[3] > 0 && p[3] < 255),
                    "edges are anti-aliased"
                );
                // Walking in from the left on the middle row, the first opaque pixels are the outline: one
                // of the first two is dark.
                let row = n / 2;
                let x = (0..n).find(|&x| alpha(x, row) == 255).unwrap();
                let darkest = (x..x + 2)
                    .map(|x| {
                        let i = (row * n + x) * 4;
                        img[i..i + 3].iter().copied().max().unwrap()
                    })
                    .min()
                    .unwrap();
                assert!(darkest < 0x50, "{state:?} {size}px outline {darkest}");
            }
        }
    }

    #[test]
    fn every_pair_of_state_icons_differs_clearly_even_at_16px() {
        for size in [16, 32] {
            let icons: Vec<(TrayState, Vec<u8>)> = TrayState::ALL
                .iter()
                .map(|&s| (s, render_icon(s, size)))
                .collect();
            for (i, (a, ia)) in icons.iter().enumerate() {
                for (b, ib) in &icons[i + 1..] {
                    let differing = ia
                        .chunks_exact(4)
                        .zip(ib.chunks_exact(4))
                        .filter(|(p, q)| {
                            p.iter()
                                .zip(q.iter())
                                .any(|(x, y)| (i32::from(*x) - i32::from(*y)).abs() > 40)
                        })
                        .count();
                    assert!(
                        differing * 4 > (size * size) as usize,
                        "{a:?} vs {b:?} at {size}px: only {differing} pixels differ"
                    );
                }
            }
        }
    }

    #[test]
    fn glyphs_differ_in_shape_not_only_in_colour() {
        // Compare the glyph masks (pixels close to the glyph colour) of each pair at 16 px.
        let size = 16;
        let mask = |s: TrayState| -> Vec<bool> {
            let ink = s.glyph_color();
            render_icon(s, size)
                .chunks_exact(4)
                .map(|p| {
                    p[3] == 255
                        && dist([p[0], p[1], p[2]], ink) < dist([p[0], p[1], p[2]], s.color())
                })
                .collect()
        };
        let masks: Vec<(TrayState, Vec<bool>)> =
            TrayState::ALL.iter().map(|&s| (s, mask(s))).collect();
        for (i, (a, ma)) in masks.iter().enumerate() {
            assert!(
                ma.iter().filter(|m| **m).count() >= 6,
                "{a:?} glyph visible"
            );
            for (b, mb) in &masks[i + 1..] {
                let diff = ma.iter().zip(mb).filter(|(x, y)| x != y).count();
                assert!(diff >= 6, "{a:?} vs {b:?}: glyphs differ in {diff} pixels");
            }
        }
    }

    #[test]
    fn odd_sizes_do_not_panic() {
        for size in [0, 1, 2, 3, 7, 15] {
            let img = render_icon(TrayState::Failure, size);
            assert_eq!(img.len(), (size.max(1) * size.max(1) * 4) as usize);
        }
    }
}
