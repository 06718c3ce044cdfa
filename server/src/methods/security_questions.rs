//! Security questions: three questions from the policy's list, with answers
//! folded (case, spacing, look-alikes) and kept only as argon2id hashes.
//! They never stand alone and never serve administrators (see
//! [`super::gates`]).

use sspr_proto::security_info::{QuestionAnswer, fold_answer};

use crate::AppState;
use crate::error::ApiError;
use crate::secret::Secret;

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
    tx: &mut sqlx::AnyConnection,
    method_id: &str,
    answers: &[QuestionAnswer],
    hashes: &[String],
) -> Result<(), ApiError> {
    for (i, (a, h)) in answers.iter().zip(hashes).enumerate() {
        sqlx::query(
            "INSERT INTO security_answers (method_id, position, question, answer_hash) VALUES ($1, $2, $3, $4)",
        )
        .bind(method_id)
        .bind(i as i64)
        .bind(&a.question)
        .bind(h)
        .execute(&mut *tx)
        .await
        .map_err(ApiError::internal)?;
    }
    Ok(())
}

/// The user's questions, in the order they answer them.
pub async fn questions_of(state: &AppState, user_id: &str) -> Result<Vec<String>, ApiError> {
    sqlx::query_scalar(
        "SELECT a.question FROM security_answers a JOIN auth_methods m ON m.id = a.method_id \
         WHERE m.user_id = $1 ORDER BY a.position",
    )
    .bind(user_id)
    .fetch_all(state.store.pool())
    .await
    .map_err(ApiError::internal)
}

/// Checks every answer (all are hashed, right or wrong, so timing says
/// nothing about which one failed). With no user, burns the same work.
pub async fn verify_answers(
    state: &AppState,
    user_id: Option<&str>,
    answers: &[String],
) -> Result<bool, ApiError> {
    let hashes: Vec<String> = sqlx::query_scalar(
        "SELECT a.answer_hash FROM security_answers a JOIN auth_methods m ON m.id = a.method_id \
         WHERE m.user_id = $1 ORDER BY a.position",
    )
    .bind(user_id.unwrap_or("-"))
    .fetch_all(state.store.pool())
    .await
    .map_err(ApiError::internal)?;
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
