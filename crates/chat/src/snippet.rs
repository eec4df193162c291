//! The short excerpt of a message shown under a search result.

/// Longest excerpt, in characters (without the ellipses).
pub const SNIPPET_CHARS: usize = 160;
/// How much text comes before the first match.
const LEAD_CHARS: usize = 40;
/// How far a cut may move to fall between words instead of inside one.
const WORD_SLACK: usize = 15;

/// A plain-text excerpt of `text` around the earliest of `words` (case-insensitive), its
/// whitespace collapsed to single spaces, cut between words where one is near, with `…` on each
/// side that was cut. Without a match (the database folds case a little differently), the start.
pub fn snippet(text: &str, words: &[String]) -> String {
    let flat: Vec<char> = text.split_whitespace().collect::<Vec<_>>().join(" ").chars().collect();
    let folded: Vec<char> = flat.iter().map(|c| fold(*c)).collect();
    let found = words
        .iter()
        .filter_map(|w| {
            let w: Vec<char> = w.chars().map(fold).collect();
            (!w.is_empty()).then(|| folded.windows(w.len()).position(|window| window == w.as_slice()))?
        })
        .min();
    // Some context before the match, more when the text ends soon after it.
    let mut start =
        found.map_or(0, |at| at.saturating_sub(LEAD_CHARS)).min(flat.len().saturating_sub(SNIPPET_CHARS));
    if start > 0 {
        // Start after a space if one is close, so the excerpt opens on a whole word.
        if let Some(space) = flat[start..flat.len().min(start + WORD_SLACK)].iter().position(|c| *c == ' ') {
            start += space + 1;
        }
    }
    let mut end = flat.len().min(start + SNIPPET_CHARS);
    if end < flat.len()
        && let Some(space) =
            flat[end.saturating_sub(WORD_SLACK).max(start)..end].iter().rposition(|c| *c == ' ')
    {
        end = end.saturating_sub(WORD_SLACK).max(start) + space;
    }
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&flat[start..end]);
    if end < flat.len() {
        out.push('…');
    }
    out
}

/// One character's lower case, keeping one character for one (so positions line up).
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_short_message_is_whole_with_its_whitespace_collapsed() {
        assert_eq!(
            snippet("The  capital\nof France\tis Paris.", &words(&["paris"])),
            "The capital of France is Paris."
        );
    }

    #[test]
    fn a_message_that_fits_is_whole_wherever_the_match_is() {
        let text = format!("{} and at the very end: NEEDLE", "word ".repeat(25));
        assert_eq!(
            snippet(&text, &words(&["needle"])),
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }

    #[test]
    fn near_the_end_the_excerpt_reaches_back() {
        let text = format!("{} the needle", "word ".repeat(100));
        let s = snippet(&text, &words(&["needle"]));
        assert!(s.starts_with('…') && s.ends_with("the needle"), "{s}");
        assert!(s.chars().count() > 150, "{s}");
    }

    #[test]
    fn a_long_message_is_cut_around_the_first_match_between_words() {
        let before = "alpha ".repeat(50);
        let after = " omega".repeat(50);
        let text = format!("{before}The NEEDLE is here{after}");
        let s = snippet(&text, &words(&["needle"]));
        assert!(s.starts_with("…alpha"), "{s}");
        assert!(s.ends_with("omega…"), "{s}");
        assert!(s.contains("The NEEDLE is here"));
        let body = s.trim_matches('…');
        assert!(body.chars().count() <= SNIPPET_CHARS);
        assert!(!body.starts_with(' ') && !body.ends_with(' '));
        // The match sits near the start, after a little context.
        let at = s.find("NEEDLE").unwrap();
        assert!((20..=60).contains(&s[..at].chars().count()), "{s}");
    }

    #[test]
    fn the_earliest_of_several_words_leads() {
        let text = format!("{} first {} second", "x ".repeat(100), "y ".repeat(100));
        let s = snippet(&text, &words(&["second", "first"]));
        assert!(s.contains("first"), "{s}");
    }

    #[test]
    fn without_a_match_the_start_is_shown() {
        let text = "word ".repeat(100);
        let s = snippet(&text, &words(&["absent"]));
        assert!(s.starts_with("word") && s.ends_with('…'));
    }

    #[test]
    fn characters_are_not_bytes() {
        let text = format!("{}Grüße aus Köln{}", "é".repeat(100), "ß".repeat(300));
        let s = snippet(&text, &words(&["KÖLN"]));
        assert!(s.contains("Köln"), "{s}");
        assert!(s.chars().count() <= SNIPPET_CHARS + 2);
    }
}
