//! The labelled clauses the embedding stage compares against (`exemplars.jsonl`): written for
//! it, or taken from the odd-id (tuning) rows of `tests/eval/fixtures/refusal/labelled.jsonl`, never
//! from its even-id (held-out) rows. Each line says which.

use serde::Deserialize;

use super::embedding::RefusalModelError;

/// One labelled clause in the exemplar file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exemplar {
    pub text: String,
    /// `true` for a clause that declines, `false` for one that answers, courtesy included.
    pub decline: bool,
    /// Where it comes from: `written`, or the id of the odd-id labelled row it was taken from.
    pub source: String,
}

/// The exemplars shipped with Redline.
pub fn shipped_exemplars() -> Result<Vec<Exemplar>, RefusalModelError> {
    include_str!("exemplars.jsonl")
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| RefusalModelError::Exemplars {
                line: i + 1,
                reason: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_exemplars_parse_and_are_not_held_out_rows() {
        let exemplars = shipped_exemplars().expect("exemplars parse");
        assert!(exemplars.iter().any(|e| e.decline) && exemplars.iter().any(|e| !e.decline));
        for e in &exemplars {
            let held_out = e
                .source
                .strip_prefix('r')
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| n % 2 == 0);
            assert!(
                e.source == "written" || (e.source.starts_with('r') && !held_out),
                "{}: {}",
                e.source,
                e.text
            );
        }
    }
}
