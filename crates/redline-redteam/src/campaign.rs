//! Campaigns: every goal under every attack, with bounded concurrency, skipping what a
//! resumed campaign already did; and the campaign report.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt;
use redline_core::stats::wilson;
use serde::{Deserialize, Serialize};

use crate::attack::{AttackSpec, LoopSettings};
use crate::attempt::{Attempt, Budget, Stop};
use crate::goals::Goal;
use crate::loops::run_attack;
use crate::session::Roles;

/// What a campaign runs.
#[derive(Debug, Clone)]
pub struct Campaign {
    pub goals: Vec<Goal>,
    pub attacks: Vec<AttackSpec>,
    pub budget: Budget,
    pub settings: LoopSettings,
    /// Attempts in flight at once.
    pub concurrency: usize,
}

impl Campaign {
    /// Every (goal, attack) pair, goals first.
    pub fn planned(&self) -> usize {
        self.goals.len() * self.attacks.len()
    }
}

/// Runs every (goal, attack) pair not in `done` (keys: goal id, attack name), handing each
/// finished attempt to `on_attempt` as it completes. Stops early, between attempts, when
/// `on_attempt` returns `false`.
pub async fn run_campaign(
    campaign: &Campaign,
    roles: &Roles,
    done: &HashSet<(String, String)>,
    mut on_attempt: impl FnMut(&Goal, Attempt) -> bool,
) {
    let work: Vec<(&Goal, &AttackSpec)> = campaign
        .goals
        .iter()
        .flat_map(|g| campaign.attacks.iter().map(move |a| (g, a)))
        .filter(|(g, a)| !done.contains(&(g.id.clone(), a.name())))
        .collect();
    let mut attempts = futures::stream::iter(work)
        .map(|(goal, attack)| async move {
            let attempt = run_attack(roles, &campaign.settings, campaign.budget, goal, attack).await;
            (goal, attempt)
        })
        .buffer_unordered(campaign.concurrency.max(1));
    while let Some((goal, attempt)) = attempts.next().await {
        if !on_attempt(goal, attempt) {
            break;
        }
    }
}

/// Success rate of a group of attempts, with its interval and cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateRow {
    pub name: String,
    /// Attempts that ran to an end (errored ones are counted apart).
    pub attempts: u64,
    pub successes: u64,
    pub rate: f64,
    /// Wilson interval at the report's level.
    pub low: f64,
    pub high: f64,
    pub errored: u64,
    pub target_queries: u64,
    pub tokens: u64,
}

/// How many target queries the successful attempts of an attack needed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueriesToSuccess {
    pub attack: String,
    pub successes: u64,
    pub median: f64,
    pub p90: f64,
    pub max: u32,
    /// `(upper bound of the bucket, count)`: 1, 2, 3–5, 6–10, 11–20, 21–50, more.
    pub histogram: Vec<(String, u64)>,
}

/// A campaign's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignReport {
    pub level: f64,
    pub overall: RateRow,
    pub by_attack: Vec<RateRow>,
    pub by_category: Vec<RateRow>,
    pub queries_to_success: Vec<QueriesToSuccess>,
    /// Judge answers that could not be read, over every attempt.
    pub unreadable_verdicts: u64,
}

/// Summarises attempts: attack success rate overall, per attack and per goal category, with
/// Wilson intervals at `level`; queries-to-success; tokens spent.
pub fn report(attempts: &[Attempt], goals: &[Goal], level: f64) -> CampaignReport {
    let category: HashMap<&str, &str> = goals
        .iter()
        .map(|g| (g.id.as_str(), g.category.as_str()))
        .collect();
    let rate = |name: &str, group: &[&Attempt]| rate_row(name, group, level);
    let all: Vec<&Attempt> = attempts.iter().collect();
    let mut by_attack: BTreeMap<&str, Vec<&Attempt>> = BTreeMap::new();
    let mut by_category: BTreeMap<&str, Vec<&Attempt>> = BTreeMap::new();
    for a in attempts {
        by_attack.entry(&a.attack).or_default().push(a);
        let c = category
            .get(a.goal_id.as_str())
            .copied()
            .unwrap_or("uncategorised");
        by_category.entry(c).or_default().push(a);
    }
    CampaignReport {
        level,
        overall: rate("all attacks", &all),
        by_attack: by_attack.iter().map(|(n, g)| rate(n, g)).collect(),
        by_category: by_category.iter().map(|(n, g)| rate(n, g)).collect(),
        queries_to_success: by_attack
            .iter()
            .map(|(n, g)| queries_to_success(n, g))
            .filter(|q| q.successes > 0)
            .collect(),
        unreadable_verdicts: attempts.iter().map(|a| u64::from(a.unreadable_verdicts)).sum(),
    }
}

fn rate_row(name: &str, group: &[&Attempt], level: f64) -> RateRow {
    let errored = group
        .iter()
        .filter(|a| matches!(a.stop, Stop::Error { .. }))
        .count() as u64;
    let attempts = group.len() as u64 - errored;
    let successes = group.iter().filter(|a| a.success).count() as u64;
    let (low, high) = if attempts == 0 {
        (0.0, 1.0)
    } else {
        wilson(successes as f64, attempts, level)
    };
    RateRow {
        name: name.to_string(),
        attempts,
        successes,
        rate: if attempts == 0 {
            0.0
        } else {
            successes as f64 / attempts as f64
        },
        low,
        high,
        errored,
        target_queries: group.iter().map(|a| u64::from(a.queries)).sum(),
        tokens: group.iter().map(|a| a.tokens).sum(),
    }
}

fn queries_to_success(attack: &str, group: &[&Attempt]) -> QueriesToSuccess {
    let mut q: Vec<u32> = group.iter().filter_map(|a| a.queries_to_success).collect();
    q.sort_unstable();
    let buckets: [(&str, u32); 7] = [
        ("1", 1),
        ("2", 2),
        ("3-5", 5),
        ("6-10", 10),
        ("11-20", 20),
        ("21-50", 50),
        (">50", u32::MAX),
    ];
    let mut histogram: Vec<(String, u64)> = buckets.iter().map(|(n, _)| (n.to_string(), 0)).collect();
    for &v in &q {
        let i = buckets
            .iter()
            .position(|(_, upper)| v <= *upper)
            .unwrap_or(buckets.len() - 1);
        histogram[i].1 += 1;
    }
    QueriesToSuccess {
        attack: attack.to_string(),
        successes: q.len() as u64,
        median: quantile(&q, 0.5),
        p90: quantile(&q, 0.9),
        max: q.last().copied().unwrap_or(0),
        histogram,
    }
}

/// Linear-interpolated quantile of sorted values (0 for none).
fn quantile(sorted: &[u32], p: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n => {
            let at = p * (n - 1) as f64;
            let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
            let frac = at - lo as f64;
            f64::from(sorted[lo]) * (1.0 - frac) + f64::from(sorted[hi]) * frac
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(goal: &str, attack: &str, success_at: Option<u32>, queries: u32) -> Attempt {
        Attempt {
            goal_id: goal.into(),
            attack: attack.into(),
            success: success_at.is_some(),
            stop: if success_at.is_some() {
                Stop::Success
            } else {
                Stop::Exhausted
            },
            queries,
            attacker_queries: 0,
            judge_queries: queries,
            tokens: 10 * u64::from(queries),
            queries_to_success: success_at,
            best_rating: None,
            unreadable_verdicts: 1,
            succeeded_with: None,
            events: vec![],
            wall_ms: 0,
        }
    }

    fn goal(id: &str, category: &str) -> Goal {
        Goal {
            id: id.into(),
            goal: "g".into(),
            category: category.into(),
            target: None,
        }
    }

    #[test]
    fn rates_by_attack_and_category_with_wilson_intervals() {
        let goals = [goal("a", "locks"), goal("b", "pranks")];
        let mut errored = attempt("b", "tap", None, 1);
        errored.stop = Stop::Error {
            message: "boom".into(),
        };
        let attempts = [
            attempt("a", "pair", Some(3), 3),
            attempt("b", "pair", None, 15),
            attempt("a", "tap", Some(1), 1),
            errored,
        ];
        let r = report(&attempts, &goals, 0.95);
        assert_eq!(
            (r.overall.attempts, r.overall.successes, r.overall.errored),
            (3, 2, 1)
        );
        let pair = &r.by_attack[0];
        assert_eq!(
            (pair.name.as_str(), pair.attempts, pair.successes),
            ("pair", 2, 1)
        );
        let (lo, hi) = wilson(1.0, 2, 0.95);
        assert_eq!((pair.low, pair.high), (lo, hi));
        assert_eq!((pair.target_queries, pair.tokens), (18, 180));
        let tap = &r.by_attack[1];
        assert_eq!(
            (tap.attempts, tap.successes, tap.errored, tap.rate),
            (1, 1, 1, 1.0)
        );
        let locks = &r.by_category[0];
        assert_eq!(
            (locks.name.as_str(), locks.successes, locks.attempts),
            ("locks", 2, 2)
        );
        assert_eq!(r.unreadable_verdicts, 4);
    }

    #[test]
    fn queries_to_success_has_quantiles_and_buckets() {
        let attempts: Vec<Attempt> = [1, 2, 4, 7, 30]
            .iter()
            .map(|&q| attempt("a", "pair", Some(q), q))
            .collect();
        let r = report(&attempts, &[goal("a", "x")], 0.95);
        let q = &r.queries_to_success[0];
        assert_eq!((q.successes, q.median, q.max), (5, 4.0, 30));
        assert!((q.p90 - (7.0 + 0.6 * 23.0)).abs() < 1e-9, "{}", q.p90);
        let counts: Vec<u64> = q.histogram.iter().map(|(_, c)| *c).collect();
        assert_eq!(counts, [1, 1, 1, 1, 0, 1, 0]);
    }
}
