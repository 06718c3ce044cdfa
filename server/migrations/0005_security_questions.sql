-- Security questions (off unless policy.security_questions): the question
-- text in clear, the folded answer only as an argon2id hash.
CREATE TABLE security_answers (
    method_id   TEXT NOT NULL REFERENCES auth_methods (id) ON DELETE CASCADE,
    position    BIGINT NOT NULL,
    question    TEXT NOT NULL,
    answer_hash TEXT NOT NULL,
    PRIMARY KEY (method_id, position)
);
