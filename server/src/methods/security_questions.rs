//! Security questions: three questions from the policy's list, with answers
//! folded (case, spacing, look-alikes) and kept only as argon2id hashes.
//! They never stand alone and never serve administrators (see
//! [`super::gates`]).

use sspr_policy::answers::fold_answer;
use sspr_proto::reset::MethodKind;
use sspr_proto::security_info::QuestionAnswer;

use super::{Challenge, Enrolment, Method, Proof, ProofAt};
use crate::AppState;
use crate::config::PolicyConfig;
use crate::error::ApiError;
use crate::ports::{Change, MethodStore};
use crate::secret::Secret;

#[derive(Debug)]
pub struct SecurityQuestions;

#[async_trait::async_trait]
impl Method for SecurityQuestions {
    fn kind(&self) -> MethodKind {
        MethodKind::SecurityQuestions
    }
    fn name(&self) -> &'static str {
        "security_questions"
    }
    fn available(&self, policy: &PolicyConfig) -> bool {
        policy.security_questions
    }
    fn proves_alone(&self) -> bool {
        false
    }
    fn for_administrators(&self) -> bool {
        false
    }
    fn limit(&self) -> usize {
        1
    }
    /// Questions 30 %, on two-gate policies only.
    fn decoy_count(&self, byte: u8, gates: u8) -> usize {
        usize::from(gates >= 2 && byte < 77)
    }
    fn challenge(&self) -> Challenge {
        Challenge::AskQuestions
    }
    /// All answers right. A decoy's answers are hashed all the same.
    async fn verify(
        &self,
        state: &AppState,
        at: &ProofAt<'_>,
        proof: &Proof<'_>,
    ) -> Result<bool, ApiError> {
        match proof {
            Proof::Answers(answers) => verify_answers(state, at.user_id, answers).await,
            Proof::Code(_) | Proof::Passkey { .. } => Ok(false),
        }
    }
    fn enrolment(&self) -> Enrolment {
        Enrolment::Set
    }
    fn added_key(&self) -> crate::i18n::Key {
        crate::key!("change.added.questions")
    }
    fn removed_key(&self) -> crate::i18n::Key {
        crate::key!("change.removed.questions")
    }
}

/// The hashes of `answers`, in their order.
pub async fn hash_answers(
    state: &AppState,
    answers: &[QuestionAnswer],
) -> Result<Vec<String>, ApiError> {
    let mut hashes = Vec::with_capacity(answers.len());
    for a in answers {
        let folded = Secret::new(fold_answer(&a.answer));
        hashes.push(
            crate::directory::builtin::hash_password(
                &state.hashes,
                &folded,
                state.entropy.as_ref(),
            )
            .await?,
        );
    }
    Ok(hashes)
}

/// Stores a set's questions and answer hashes for the method row
/// `method_id`, on the caller's transaction.
pub async fn set(
    change: &mut Change,
    state: &AppState,
    method_id: &str,
    answers: &[QuestionAnswer],
    hashes: &[String],
) -> Result<(), ApiError> {
    let rows: Vec<(&str, &str)> = answers
        .iter()
        .zip(hashes)
        .map(|(a, h)| (a.question.as_str(), h.as_str()))
        .collect();
    state.store.store_answers(change, method_id, &rows).await?;
    Ok(())
}

/// The user's questions, in the order they answer them.
pub async fn questions_of(state: &AppState, user_id: &str) -> Result<Vec<String>, ApiError> {
    Ok(state.store.questions_of(user_id).await?)
}

/// Checks every answer (all are hashed, right or wrong, so timing says
/// nothing about which one failed). With no user, burns the same work.
pub async fn verify_answers(
    state: &AppState,
    user_id: Option<&str>,
    answers: &[String],
) -> Result<bool, ApiError> {
    let hashes = state.store.answer_hashes_of(user_id.unwrap_or("-")).await?;
    let real = hashes.len() == answers.len() && !hashes.is_empty();
    let mut all = real;
    for (i, a) in answers.iter().enumerate() {
        let folded = Secret::new(fold_answer(a));
        let ok = match hashes.get(i) {
            Some(h) => state.hashes.verify(h, &folded).await?,
            None => {
                state.hashes.burn(&folded).await?;
                false
            }
        };
        all &= ok;
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn questions_never_stand_alone_nor_serve_administrators() {
        assert!(!SecurityQuestions.proves_alone());
        assert!(!SecurityQuestions.for_administrators());
        assert_eq!(SecurityQuestions.decoy_count(0, 1), 0);
        assert_eq!(SecurityQuestions.decoy_count(0, 2), 1);
        assert_eq!(SecurityQuestions.decoy_count(77, 2), 0);
        assert_eq!(SecurityQuestions.challenge(), Challenge::AskQuestions);
    }
}
