//! The card as HTML (one self-contained file), Markdown and JSON, from templates compiled into
//! the binary.

use minijinja::value::Value;
use minijinja::{AutoEscape, Environment};

use crate::card::Card;
use crate::charts;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("rendering the {format} card: {source}")]
    Template {
        format: &'static str,
        #[source]
        source: minijinja::Error,
    },
    #[error("serialising the JSON card: {0}")]
    Json(#[from] serde_json::Error),
}

/// The three renderings the CLI offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Markdown,
    Json,
}

impl Format {
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Markdown => "md",
            Format::Json => "json",
        }
    }
}

pub fn render(card: &Card, format: Format) -> Result<String, RenderError> {
    match format {
        Format::Html => render_html(card),
        Format::Markdown => render_markdown(card),
        Format::Json => Ok(serde_json::to_string_pretty(card)? + "\n"),
    }
}

/// Every value from the card is escaped by the engine (auto-escape is on for the whole template);
/// only the SVG charts, which [`charts`] builds with their own escaping, are marked safe.
pub fn render_html(card: &Card) -> Result<String, RenderError> {
    let mut env = environment();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    add(
        &mut env,
        "card.html",
        include_str!("../templates/card.html.j2"),
        "HTML",
    )?;
    let charts = minijinja::context! {
        heatmap => Value::from_safe_string(charts::scorecard_heatmap(&card.scorecard, &card.assessment.levels)),
        indicators => Value::from_safe_string(charts::indicator_bars(&card.indicators)),
        techniques => (!card.jailbreaks.is_empty()).then(|| Value::from_safe_string(charts::technique_bars(&card.jailbreaks))),
        trends => (!card.comparisons.is_empty()).then(|| Value::from_safe_string(charts::trend_lines(&card.comparisons))),
    };
    let tmpl = env
        .get_template("card.html")
        .map_err(|e| template_error("HTML", e))?;
    tmpl.render(minijinja::context! { card => Value::from_serialize(card), charts => charts })
        .map_err(|e| template_error("HTML", e))
}

pub fn render_markdown(card: &Card) -> Result<String, RenderError> {
    let mut env = environment();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    add(
        &mut env,
        "card.md",
        include_str!("../templates/card.md.j2"),
        "Markdown",
    )?;
    let tmpl = env
        .get_template("card.md")
        .map_err(|e| template_error("Markdown", e))?;
    tmpl.render(minijinja::context! { card => Value::from_serialize(card) })
        .map_err(|e| template_error("Markdown", e))
}

fn add(
    env: &mut Environment<'static>,
    name: &'static str,
    src: &'static str,
    format: &'static str,
) -> Result<(), RenderError> {
    env.add_template(name, src).map_err(|e| template_error(format, e))
}

fn template_error(format: &'static str, source: minijinja::Error) -> RenderError {
    RenderError::Template { format, source }
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_filter("num", num);
    env.add_filter("pct", pct);
    env.add_filter("cell", md_cell);
    env.add_filter("fenced", md_fenced);
    env.add_filter("signed", signed);
    env
}

/// Three decimals, or "n/a" for a missing number.
fn num(v: Value) -> String {
    match f64::try_from(v.clone()) {
        Ok(x) if !v.is_none() && !v.is_undefined() => format!("{x:.3}"),
        _ => "n/a".to_string(),
    }
}

fn signed(v: Value) -> String {
    match f64::try_from(v.clone()) {
        Ok(x) if !v.is_none() && !v.is_undefined() => format!("{x:+.3}"),
        _ => "n/a".to_string(),
    }
}

fn pct(v: Value) -> String {
    match f64::try_from(v.clone()) {
        Ok(x) if !v.is_none() && !v.is_undefined() => format!("{:.1}%", 100.0 * x),
        _ => "n/a".to_string(),
    }
}

/// Text safe inside a Markdown table cell: no HTML a renderer would interpret, no column breaks,
/// one line.
pub fn md_cell(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace(['\r', '\n'], " ")
}

/// Untrusted text as a fenced code block whose fence is longer than any backtick run inside it,
/// so the text can neither close the block nor be read as Markdown or HTML.
pub fn md_fenced(s: &str) -> String {
    let longest = s.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    format!("{fence}text\n{}\n{fence}", s.trim_end_matches(['\r', '\n']))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fence_outlasts_the_text_inside_it() {
        let hostile = "```\n</pre><script>alert(1)</script>\n````";
        let block = md_fenced(hostile);
        assert!(block.starts_with("`````text\n"), "{block}");
        assert!(block.ends_with("\n`````"));
    }

    #[test]
    fn table_cells_carry_no_markup() {
        assert_eq!(md_cell("a|b <b>x</b>\nc"), "a\\|b &lt;b&gt;x&lt;/b&gt; c");
    }
}
