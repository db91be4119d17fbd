//! Charts as SVG files: hit ratio against cache size, one line per policy
//! ([`write_svg`]), and any set of lines ([`write_lines_svg`]: disk reads per
//! lookup by size on store traces, AC-Key's split over a trace).

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

/// One line of a [`write_lines_svg`] chart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// Its legend.
    pub name: String,
    /// Points in x order.
    pub points: Vec<(f64, f64)>,
    /// Dashed (targets) rather than solid (measured values).
    pub dashed: bool,
    /// A dot at every point (few points, as in a size sweep).
    pub markers: bool,
}

/// A chart of the labelled vertical marks (phase boundaries) and lines.
pub struct Chart<'a> {
    /// Title.
    pub title: &'a str,
    /// X axis label.
    pub x_desc: &'a str,
    /// Y axis label.
    pub y_desc: &'a str,
    /// Whether x goes on a logarithmic axis.
    pub log_x: bool,
    /// Vertical lines at these x, labelled.
    pub marks: &'a [(f64, String)],
    /// The lines.
    pub series: &'a [Series],
}

/// Writes `chart` to `out` as SVG.
pub fn write_lines_svg(out: &Path, chart: &Chart<'_>) -> Result<(), PlotError> {
    let xs = || {
        chart
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
    };
    let x_min = xs().fold(f64::INFINITY, f64::min);
    let x_max = xs().fold(f64::NEG_INFINITY, f64::max);
    if !x_min.is_finite() {
        return Err(PlotError("nothing to plot".into()));
    }
    if chart.log_x {
        let lo = x_min.max(1e-9);
        draw_lines(out, chart, (lo / 1.2..x_max.max(lo) * 1.2).log_scale())
    } else {
        draw_lines(out, chart, x_min.min(0.0)..x_max.max(x_min + 1.0) * 1.02)
    }
}

fn draw_lines<X>(out: &Path, c: &Chart<'_>, x_range: X) -> Result<(), PlotError>
where
    X: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
{
    let y_max = c
        .series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0f64, f64::max)
        .max(1e-9)
        * 1.1;
    let root = SVGBackend::new(out, (900, 600)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(c.title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range, 0f64..y_max)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(c.x_desc)
        .x_labels(8)
        .x_label_formatter(&|x| human(*x))
        .y_desc(c.y_desc)
        .y_label_formatter(&|y| {
            if y_max >= 1000.0 {
                format!("{y:.0}")
            } else {
                format!("{y:.2}")
            }
        })
        .draw()
        .map_err(err)?;
    for (x, label) in c.marks {
        let grey = RGBColor(120, 120, 120);
        chart
            .draw_series(LineSeries::new(
                [(*x, 0.0), (*x, y_max)],
                grey.stroke_width(1),
            ))
            .map_err(err)?;
        chart
            .draw_series([Text::new(
                label.clone(),
                (*x, y_max * 0.97),
                ("sans-serif", 14).into_font().color(&grey),
            )])
            .map_err(err)?;
    }
    for (i, s) in c.series.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let style = color.stroke_width(2);
        let drawn = if s.dashed {
            chart.draw_series(DashedLineSeries::new(s.points.iter().copied(), 6, 4, style))
        } else {
            chart.draw_series(LineSeries::new(s.points.iter().copied(), style))
        };
        drawn
            .map_err(err)?
            .label(s.name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        if s.markers {
            chart
                .draw_series(
                    s.points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
                )
                .map_err(err)?;
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.8))
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// `1500000` as `1.5M`: a log axis has many ticks, and long numbers overlap.
fn human(x: f64) -> String {
    let (v, unit) = match x.abs() {
        a if a >= 1e9 => (x / 1e9, "G"),
        a if a >= 1e6 => (x / 1e6, "M"),
        a if a >= 1e3 => (x / 1e3, "k"),
        _ => (x, ""),
    };
    let s = format!("{v:.1}");
    format!("{}{unit}", s.strip_suffix(".0").unwrap_or(&s))
}
