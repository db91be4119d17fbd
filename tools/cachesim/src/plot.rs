//! Hit ratio against cache size, one line per policy, as an SVG file.

use std::fmt;
use std::path::Path;

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use crate::{SimPolicy, SimResult};

/// Why the plot could not be drawn.
#[derive(Debug)]
pub struct PlotError(pub String);

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "drawing the plot: {}", self.0)
    }
}

impl std::error::Error for PlotError {}

fn err(e: impl fmt::Display) -> PlotError {
    PlotError(e.to_string())
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Writes `results` (any order) to `out` as an SVG chart titled `title`.
/// Sizes spanning more than a decade go on a logarithmic axis, where cache
/// curves are usually read.
pub fn write_svg(
    out: &Path,
    title: &str,
    unit: &str,
    results: &[SimResult],
) -> Result<(), PlotError> {
    let min_size = results.iter().map(|r| r.size).min().unwrap_or(1).max(1) as f64;
    let max_size = results.iter().map(|r| r.size).max().unwrap_or(1).max(1) as f64;
    if max_size / min_size >= 10.0 {
        let x = (min_size / 1.2..max_size * 1.2).log_scale();
        draw(
            out,
            title,
            &format!("cache size ({unit}, log scale)"),
            results,
            x,
        )
    } else {
        let x = 0f64..max_size * 1.05;
        draw(out, title, &format!("cache size ({unit})"), results, x)
    }
}

fn draw<X>(
    out: &Path,
    title: &str,
    x_desc: &str,
    results: &[SimResult],
    x_range: X,
) -> Result<(), PlotError>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let mut policies: Vec<SimPolicy> = Vec::new();
    for r in results {
        if !policies.contains(&r.policy) {
            policies.push(r.policy);
        }
    }
    let max_ratio = results
        .iter()
        .map(|r| r.hit_ratio())
        .fold(0.0f64, f64::max)
        .max(0.01);
    let root = SVGBackend::new(out, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, 0f64..(max_ratio * 1.1).min(1.0))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("hit ratio")
        .draw()
        .map_err(err)?;
    let n = policies.len() as u32;
    for (i, policy) in policies.iter().enumerate() {
        let mut points: Vec<(f64, f64)> = results
            .iter()
            .filter(|r| r.policy == *policy)
            .map(|r| (r.size as f64, r.hit_ratio()))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let color = COLORS[i % COLORS.len()];
        // Earlier series are drawn wider so that identical curves (AC-Key's
        // block part is LRU on a block trace) stay visible under later ones.
        let width = 2 + (n - 1 - i as u32);
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(width),
            ))
            .map_err(err)?
            .label(policy.to_string())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(
                points
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
            )
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
