//! How security-question answers compare on the server: after NFKC, so
//! look-alike forms match, then without case or extra spacing.

use sspr_proto::security_info::{
    QuestionAnswer, check_answers as check_folded, fold_case_and_spacing,
};

use crate::normalise::normalise;

/// How answers compare: case, spacing and look-alike forms do not matter.
pub fn fold_answer(answer: &str) -> String {
    fold_case_and_spacing(&normalise(answer))
}

/// Checks a registration as the server enforces it: exactly three different
/// questions from `offered`, answers of 3 to 40 characters after
/// [`fold_answer`], no answer used twice. Returns the index of the first bad
/// answer and why (a catalog key).
pub fn check_answers(
    offered: &[String],
    answers: &[QuestionAnswer],
) -> Result<(), (usize, &'static str)> {
    check_folded(offered, answers, fold_answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_three_different_questions_and_answers_of_3_to_40() {
        let offered: Vec<String> = ["A?", "B?", "C?", "D?"].map(String::from).to_vec();
        let qa = |q: &str, a: &str| QuestionAnswer {
            question: q.into(),
            answer: a.into(),
        };
        assert!(
            check_answers(
                &offered,
                &[qa("A?", "red"), qa("B?", "Paris"), qa("C?", "rex")]
            )
            .is_ok()
        );
        assert_eq!(
            check_answers(&offered, &[qa("A?", "red")]).unwrap_err().0,
            1
        );
        assert_eq!(
            check_answers(
                &offered,
                &[qa("A?", "red"), qa("A?", "blue"), qa("C?", "rex")]
            )
            .unwrap_err()
            .0,
            1
        );
        assert_eq!(
            check_answers(
                &offered,
                &[qa("A?", "red"), qa("Z?", "blue"), qa("C?", "rex")]
            )
            .unwrap_err()
            .0,
            1
        );
        assert_eq!(
            check_answers(
                &offered,
                &[qa("A?", "red"), qa("B?", "no"), qa("C?", "rex")]
            )
            .unwrap_err()
            .0,
            1
        );
        assert_eq!(
            check_answers(
                &offered,
                &[
                    qa("A?", "red"),
                    qa("B?", "x".repeat(41).as_str()),
                    qa("C?", "rex")
                ]
            )
            .unwrap_err()
            .0,
            1
        );
        assert_eq!(
            check_answers(
                &offered,
                &[qa("A?", "Red"), qa("B?", "blue"), qa("C?", " red ")]
            )
            .unwrap_err()
            .0,
            2
        );
        assert_eq!(fold_answer("  New   York "), "new york");
    }
}
