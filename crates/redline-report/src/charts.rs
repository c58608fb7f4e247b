//! Inline SVG charts for the HTML card: no scripts, no fonts to fetch, no network. Every piece of
//! text placed in a chart passes through [`esc`], since labels can come from eval files, dataset
//! fields and model ids.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::card::{CategoryRow, Comparison, IndicatorRow, TechniqueRow};

/// XML text and attribute escaping. Hand-written because it is five replacements and the SVG is
/// assembled with `write!`, not through the template engine.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Colours from "lowest level" to "highest level"; a range under review is hatched grey.
const LEVEL_COLOURS: [&str; 5] = ["#2e7d32", "#f9a825", "#ef6c00", "#c62828", "#6a1b9a"];

fn level_colour(index: usize, levels: usize) -> &'static str {
    if levels <= 1 {
        return LEVEL_COLOURS[0];
    }
    // Spread the framework's levels over the palette so the top level is always the darkest.
    let slot = index * (LEVEL_COLOURS.len() - 1) / (levels - 1);
    LEVEL_COLOURS[slot.min(LEVEL_COLOURS.len() - 1)]
}

/// Categories × {pre, post}, each cell coloured by its level.
pub fn scorecard_heatmap(rows: &[CategoryRow], levels: &[String]) -> String {
    let (label_w, cell_w, cell_h) = (280.0, 150.0, 30.0);
    let width = label_w + 2.0 * cell_w + 10.0;
    let height = 30.0 + cell_h * rows.len() as f64 + 34.0;
    let mut s = svg_open(
        width,
        height,
        "Scorecard heat-map: each category's level before and after mitigation",
    );
    for (i, head) in ["Pre-mitigation", "Post-mitigation"].iter().enumerate() {
        let x = label_w + cell_w * i as f64 + cell_w / 2.0;
        let _ = write!(
            s,
            r#"<text x="{x}" y="20" text-anchor="middle" class="h">{head}</text>"#
        );
    }
    for (r, row) in rows.iter().enumerate() {
        let y = 30.0 + cell_h * r as f64;
        let name = if row.research {
            format!("{} (research)", row.name)
        } else {
            row.name.clone()
        };
        let _ = write!(s, r#"<text x="4" y="{}">{}</text>"#, y + 20.0, esc(&name));
        for (c, cell) in [&row.pre, &row.post].into_iter().enumerate() {
            let x = label_w + cell_w * c as f64;
            let fill = if cell.settled {
                level_colour(cell.low, levels.len())
            } else {
                "url(#review)"
            };
            let _ = write!(
                s,
                r##"<rect x="{x}" y="{y}" width="{}" height="{}" fill="{fill}" stroke="#fff"><title>{}</title></rect><text x="{}" y="{}" text-anchor="middle" class="cell">{}</text>"##,
                cell_w - 2.0,
                cell_h - 2.0,
                esc(&format!("{}: {}", row.name, cell.label)),
                x + cell_w / 2.0,
                y + 20.0,
                esc(&cell.label)
            );
        }
    }
    // Legend.
    let y = 30.0 + cell_h * rows.len() as f64 + 8.0;
    let mut x = 4.0;
    for (i, name) in levels.iter().enumerate() {
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{y}" width="14" height="14" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            level_colour(i, levels.len()),
            x + 18.0,
            y + 12.0,
            esc(name)
        );
        x += 30.0 + 8.0 * name.chars().count() as f64;
    }
    let _ = write!(
        s,
        r#"<rect x="{x}" y="{y}" width="14" height="14" fill="url(#review)"/><text x="{}" y="{}">needs review</text>"#,
        x + 18.0,
        y + 12.0
    );
    s.push_str("</svg>");
    s
}

/// One bar per indicator and state with its interval as a whisker and each threshold as a line.
pub fn indicator_bars(rows: &[IndicatorRow]) -> String {
    let measured: Vec<&IndicatorRow> = rows.iter().filter(|r| r.value.is_some()).collect();
    let top = measured
        .iter()
        .flat_map(|r| {
            let t = r.checks.iter().map(|c| c.threshold);
            t.chain(r.ci_high).chain(r.value)
        })
        .fold(1.0_f64, f64::max);
    let (label_w, plot_w, row_h) = (340.0, 400.0, 26.0);
    let height = 20.0 + row_h * measured.len() as f64 + 24.0;
    let mut s = svg_open(
        label_w + plot_w + 30.0,
        height,
        "Indicator values with confidence intervals and threshold lines",
    );
    let scale = |v: f64| label_w + plot_w * (v / top).clamp(0.0, 1.0);
    for (i, r) in measured.iter().enumerate() {
        let y = 20.0 + row_h * i as f64;
        let (Some(v), lo, hi) = (r.value, r.ci_low.unwrap_or(0.0), r.ci_high.unwrap_or(0.0)) else {
            continue;
        };
        let fill = if r.state == "pre" { "#90a4ae" } else { "#1565c0" };
        let _ = write!(
            s,
            r#"<text x="4" y="{}">{}</text><rect x="{label_w}" y="{}" width="{:.1}" height="14" fill="{fill}"><title>{}</title></rect>"#,
            y + 12.0,
            esc(&format!("{} · {} ({})", r.id, r.metric, r.state)),
            y + 1.0,
            scale(v) - label_w,
            esc(&format!("{v:.3} [{lo:.3}, {hi:.3}] n={}", r.n.unwrap_or(0)))
        );
        let _ = write!(
            s,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{}" y2="{}" stroke="#000" class="ci"/>"##,
            scale(lo),
            scale(hi),
            y + 8.0,
            y + 8.0
        );
        for c in &r.checks {
            let x = scale(c.threshold);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" x2="{x:.1}" y1="{}" y2="{}" stroke="#c62828" stroke-dasharray="3,2" class="threshold"><title>{}</title></line>"##,
                y - 2.0,
                y + 18.0,
                esc(&format!("{} threshold {}", c.level, c.threshold))
            );
        }
    }
    axis(&mut s, label_w, plot_w, 20.0 + row_h * measured.len() as f64, top);
    s.push_str("</svg>");
    s
}

/// Attack success rate per jailbreak technique, one bar per technique and state.
pub fn technique_bars(rows: &[TechniqueRow]) -> String {
    let (label_w, plot_w, row_h) = (260.0, 400.0, 22.0);
    let height = 20.0 + row_h * rows.len() as f64 + 24.0;
    let mut s = svg_open(
        label_w + plot_w + 30.0,
        height,
        "Jailbreak success rate by technique",
    );
    for (i, r) in rows.iter().enumerate() {
        let y = 20.0 + row_h * i as f64;
        let fill = if r.state == "pre" { "#ef9a9a" } else { "#c62828" };
        let _ = write!(
            s,
            r#"<text x="4" y="{}">{}</text><rect x="{label_w}" y="{}" width="{:.1}" height="12" fill="{fill}" class="technique"><title>{}</title></rect>"#,
            y + 11.0,
            esc(&format!("{} ({})", r.technique, r.state)),
            y + 1.0,
            plot_w * r.success_rate.clamp(0.0, 1.0),
            esc(&format!(
                "{:.3} [{:.3}, {:.3}] n={}",
                r.success_rate, r.ci_low, r.ci_high, r.n
            ))
        );
        let _ = write!(
            s,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{}" y2="{}" stroke="#000"/>"##,
            label_w + plot_w * r.ci_low.clamp(0.0, 1.0),
            label_w + plot_w * r.ci_high.clamp(0.0, 1.0),
            y + 7.0,
            y + 7.0
        );
    }
    axis(&mut s, label_w, plot_w, 20.0 + row_h * rows.len() as f64, 1.0);
    s.push_str("</svg>");
    s
}

/// One line per (state, eval, scorer) through each generation's value: the earlier
/// assessments in the order given, then this one.
pub fn trend_lines(rows: &[Comparison]) -> String {
    const THIS: &str = "this assessment";
    let mut generations: Vec<String> = Vec::new();
    for c in rows {
        let short: String = c.baseline_assessment.chars().take(8).collect();
        if !generations.contains(&short) {
            generations.push(short);
        }
    }
    generations.push(THIS.to_string());
    let mut series: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for c in rows {
        let points = series
            .entry(format!("{} {} ({})", c.eval, c.scorer, c.state))
            .or_default();
        points.push((c.baseline_assessment.chars().take(8).collect(), c.baseline_value));
        if !points.iter().any(|(g, _)| g == THIS) {
            points.push((THIS.to_string(), c.value));
        }
    }
    for points in series.values_mut() {
        points.sort_by_key(|(g, _)| generations.iter().position(|x| x == g));
    }
    let (left, plot_w, plot_h) = (50.0, 420.0, 200.0);
    let legend_h = 16.0 * series.len() as f64;
    let mut s = svg_open(
        left + plot_w + 40.0,
        plot_h + 60.0 + legend_h,
        "Metrics across model generations",
    );
    let step = if generations.len() > 1 {
        plot_w / (generations.len() - 1) as f64
    } else {
        0.0
    };
    let x_of = |m: &str| left + step * generations.iter().position(|g| g == m).unwrap_or(0) as f64;
    let y_of = |v: f64| 10.0 + plot_h * (1.0 - v.clamp(0.0, 1.0));
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{left}" y1="10" y2="{}" stroke="#555"/><text x="{}" y="14" text-anchor="end">1.0</text><text x="{}" y="{}" text-anchor="end">0.0</text>"##,
        10.0 + plot_h,
        left - 4.0,
        left - 4.0,
        10.0 + plot_h
    );
    for (i, g) in generations.iter().enumerate() {
        // The outermost labels hang inwards so the plot's edges don't clip them.
        let anchor = match i {
            0 if generations.len() > 1 => "start",
            i if i + 1 == generations.len() && i > 0 => "end",
            _ => "middle",
        };
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="{anchor}" class="small">{}</text>"#,
            x_of(g),
            plot_h + 28.0,
            esc(g)
        );
    }
    for (i, (name, points)) in series.iter().enumerate() {
        let colour = ["#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f"][i % 6];
        let path: Vec<String> = points
            .iter()
            .map(|(m, v)| format!("{:.1},{:.1}", x_of(m), y_of(*v)))
            .collect();
        let _ = write!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2" class="trend"/>"#,
            path.join(" ")
        );
        for (m, v) in points {
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"><title>{}</title></circle>"#,
                x_of(m),
                y_of(*v),
                esc(&format!("{name}: {m} {v:.3}"))
            );
        }
        let y = plot_h + 48.0 + 16.0 * i as f64;
        let _ = write!(
            s,
            r#"<rect x="{left}" y="{}" width="12" height="4" fill="{colour}"/><text x="{}" y="{}">{}</text>"#,
            y - 4.0,
            left + 18.0,
            y,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

fn svg_open(width: f64, height: f64, title: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>{}</title><defs><pattern id="review" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#bdbdbd"/><path d="M0,6 L6,0" stroke="#757575"/></pattern></defs>"##,
        esc(title)
    )
}

fn axis(s: &mut String, left: f64, width: f64, y: f64, top: f64) {
    let _ = write!(
        s,
        r##"<line x1="{left}" x2="{}" y1="{y}" y2="{y}" stroke="#555"/><text x="{left}" y="{}" class="small">0</text><text x="{}" y="{}" text-anchor="end" class="small">{top:.2}</text>"##,
        left + width,
        y + 14.0,
        left + width,
        y + 14.0
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_labels() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn top_level_is_the_darkest_colour_whatever_the_number_of_levels() {
        for n in 2..=6 {
            assert_eq!(level_colour(n - 1, n), LEVEL_COLOURS[4]);
            assert_eq!(level_colour(0, n), LEVEL_COLOURS[0]);
        }
    }

    #[test]
    fn technique_chart_escapes_hostile_names() {
        let svg = technique_bars(&[TechniqueRow {
            state: "pre".into(),
            eval: "jb@1".into(),
            technique: "<img src=x onerror=alert(1)>".into(),
            success_rate: 0.5,
            n: 10,
            ci_low: 0.2,
            ci_high: 0.8,
        }]);
        assert!(!svg.contains("<img"));
        assert!(svg.contains("&lt;img"));
    }
}
