//! "Did you mean": the closest known word to a typo. A small edit distance (typos, not synonyms)
//! so `frist_name` finds `first_name` but `zip` does not find `id`.

/// The candidate closest to `word`, if it is close enough to be a likely typo of it.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// The candidate nearest to a path, within half its length: paths are long and share their
/// start, so a wrong segment or two still finds the path meant, and an unrelated one nothing.
pub fn nearest<'a>(path: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = path.chars().count() / 2;
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(path, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

/// ` (did you mean `x`?)` when a candidate is close to `word`, else nothing.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match closest(word, candidates) {
        Some(c) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_find_their_word_and_unrelated_words_find_nothing() {
        let fields = ["id", "first_name", "last_name", "email", "phone"];
        assert_eq!(closest("frist_name", fields), Some("first_name"));
        assert_eq!(closest("emial", fields), Some("email"));
        assert_eq!(closest("zip", fields), None);
        assert_eq!(did_you_mean("phoen", fields), " (did you mean `phone`?)");
        assert_eq!(did_you_mean("postcode", fields), "");
    }

    #[test]
    fn nearest_finds_a_path_with_a_wrong_segment_and_not_an_unrelated_one() {
        let known = ["$.appointment.practitioner", "$.email"];
        assert_eq!(nearest("$.appointment.practitionr", known), Some(known[0]));
        assert_eq!(nearest("$.apointment.practioner", known), Some(known[0]));
        assert_eq!(nearest("$.phone", known), None);
    }
}
