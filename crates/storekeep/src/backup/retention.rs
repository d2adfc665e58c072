//! The retention policy of `storekeep backup prune`, as a pure function of
//! the backups' times and the clock.
//!
//! A policy is a list of rules `EVERY:FOR` (`15m:1d,1h:7d,1d:30d`): for
//! each rule, time is cut into slots of EVERY (counted from the Unix
//! epoch, UTC), and of the backups at most FOR old the newest in each slot
//! is kept. The newest backup of all is always kept. A backup no rule
//! keeps is pruned, so nothing older than the longest FOR survives except
//! the newest.

use std::collections::HashMap;

/// One rule: keep one backup per `every` seconds for `span` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub every: i64,
    pub span: i64,
}

/// A duration such as `90s`, `15m`, `1h`, `7d` or `4w`, in seconds.
pub fn parse_duration(raw: &str) -> Result<i64, String> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{raw}' has no unit (s, m, h, d or w)"))?;
    let (n, unit) = raw.split_at(split);
    let n: i64 = n
        .parse()
        .ok()
        .filter(|n| *n > 0 && *n <= 100_000)
        .ok_or_else(|| format!("'{raw}' is not a positive number followed by a unit"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        other => return Err(format!("'{other}' is not a unit (s, m, h, d or w)")),
    };
    Ok(n * unit)
}

/// `EVERY:FOR,…`, each EVERY no longer than its FOR.
pub fn parse_policy(value: &str) -> Result<Vec<Rule>, String> {
    let mut rules = Vec::new();
    for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (every, span) = part
            .split_once(':')
            .ok_or_else(|| format!("'{part}' is not EVERY:FOR, such as 1h:7d"))?;
        let rule = Rule {
            every: parse_duration(every)?,
            span: parse_duration(span)?,
        };
        if rule.every > rule.span {
            return Err(format!("in '{part}' EVERY is longer than FOR"));
        }
        rules.push(rule);
    }
    if rules.is_empty() {
        return Err("names no rule (EVERY:FOR, such as 1h:7d)".into());
    }
    Ok(rules)
}

/// Which of the backups taken at `times` (Unix seconds, any order) the
/// policy keeps at `now`: `true` at the index of each one kept.
pub fn keep(policy: &[Rule], times: &[i64], now: i64) -> Vec<bool> {
    let mut kept = vec![false; times.len()];
    // The newest of all (the first of equals).
    if let Some((i, _)) = times
        .iter()
        .enumerate()
        .max_by_key(|(i, t)| (**t, std::cmp::Reverse(*i)))
    {
        kept[i] = true;
    }
    for rule in policy {
        let mut newest_in_slot: HashMap<i64, usize> = HashMap::new();
        for (i, &t) in times.iter().enumerate() {
            if now - t > rule.span {
                continue;
            }
            let slot = t.div_euclid(rule.every);
            let entry = newest_in_slot.entry(slot).or_insert(i);
            if t > times[*entry] {
                *entry = i;
            }
        }
        for i in newest_in_slot.into_values() {
            kept[i] = true;
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MIN: i64 = 60;
    const HOUR: i64 = 3600;
    const DAY: i64 = 86_400;

    fn default_policy() -> Vec<Rule> {
        parse_policy(crate::config::DEFAULT_KEEP).unwrap()
    }

    #[test]
    fn policies_parse_and_bad_ones_are_explained() {
        assert_eq!(
            parse_policy("15m:1d, 1h:7d").unwrap(),
            vec![
                Rule {
                    every: 15 * MIN,
                    span: DAY
                },
                Rule {
                    every: HOUR,
                    span: 7 * DAY
                }
            ]
        );
        assert_eq!(parse_policy("1d:4w").unwrap()[0].span, 28 * DAY);
        for bad in ["", "1h", "1h:", "0m:1d", "1x:1d", "1d:1h", "m:1d", "-1m:1d"] {
            assert!(parse_policy(bad).is_err(), "{bad}");
        }
    }

    /// A backup every 5 minutes for 40 days, pruned after each one as a
    /// scheduler would: what survives is one per 15 minutes of the last
    /// day, one per hour of the last week and one per day of the last
    /// month, exactly.
    #[test]
    fn a_simulated_clock_keeps_exactly_the_policy() {
        let policy = default_policy();
        let start = 1_700_000_000 - 1_700_000_000 % DAY;
        let mut times: Vec<i64> = Vec::new();
        let mut now = start;
        while now < start + 40 * DAY {
            times.push(now);
            let kept = keep(&policy, &times, now);
            times = times
                .iter()
                .zip(kept)
                .filter_map(|(t, k)| k.then_some(*t))
                .collect();
            now += 5 * MIN;
        }
        let now = times.iter().copied().max().unwrap();
        // The slots each rule covers: those whose newest backup is at most
        // FOR old; every slot had backups, so each holds exactly one.
        let mut expected: Vec<i64> = Vec::new();
        for rule in &policy {
            for &t in &times {
                let same_slot_newer = times
                    .iter()
                    .any(|&u| u > t && u.div_euclid(rule.every) == t.div_euclid(rule.every));
                if now - t <= rule.span && !same_slot_newer && !expected.contains(&t) {
                    expected.push(t);
                }
            }
        }
        expected.sort_unstable();
        assert_eq!(times, expected);
        let in_last = |span: i64| times.iter().filter(|t| now - **t <= span).count();
        // 96 quarter hours in a day (the newest counted once).
        assert_eq!(in_last(DAY) as i64, DAY / (15 * MIN) + 1);
        // The week: 24 × 7 hours, of which the last day's are quarter hours.
        assert_eq!(
            times
                .iter()
                .filter(|t| now - **t > DAY && now - **t <= 7 * DAY)
                .count(),
            24 * 6
        );
        // The month: a day each beyond the week.
        assert_eq!(times.iter().filter(|t| now - **t > 7 * DAY).count(), 30 - 7);
        assert!(times.iter().all(|t| now - t <= 30 * DAY));
    }

    #[test]
    fn the_newest_is_kept_even_past_every_rule() {
        let policy = parse_policy("1h:1d").unwrap();
        assert_eq!(
            keep(&policy, &[0, 10, 20], 100 * DAY),
            vec![false, false, true]
        );
        assert!(keep(&policy, &[], 0).is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever the times: the newest is kept; every kept backup is the
        /// newest of its slot under a rule whose span it is within (or the
        /// newest overall); every slot of every rule with a backup in span
        /// keeps its newest.
        #[test]
        fn keep_follows_its_definition(
            times in proptest::collection::vec(0i64..60 * DAY, 0..60),
            now_after in 0i64..10 * DAY,
        ) {
            let policy = default_policy();
            let now = times.iter().copied().max().unwrap_or(0) + now_after;
            let kept = keep(&policy, &times, now);
            if let Some(newest) = times.iter().copied().max() {
                prop_assert!(times.iter().zip(&kept).any(|(t, k)| *k && *t == newest));
            }
            for (i, &t) in times.iter().enumerate() {
                let justified = |rule: &Rule| now - t <= rule.span
                    && !times.iter().any(|&u| u > t && u.div_euclid(rule.every) == t.div_euclid(rule.every));
                let newest = times.iter().all(|&u| u <= t);
                if kept[i] {
                    prop_assert!(newest || policy.iter().any(justified));
                }
            }
            for rule in &policy {
                let slots: std::collections::HashSet<i64> = times
                    .iter()
                    .filter(|t| now - **t <= rule.span)
                    .map(|t| t.div_euclid(rule.every))
                    .collect();
                for slot in slots {
                    let newest = times
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| now - **t <= rule.span && t.div_euclid(rule.every) == slot)
                        .max_by_key(|(i, t)| (**t, std::cmp::Reverse(*i)))
                        .map(|(i, _)| i)
                        .unwrap();
                    prop_assert!(kept[newest], "the newest of a slot in span is kept");
                }
            }
        }
    }
}
