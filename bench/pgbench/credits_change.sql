-- One balance change of +/-1 credit on user :uid, statement for statement what
-- credits_service.grant/charge sends through credits_service.run() (asyncpg, prepared):
-- the same BEGIN, lock_timeout, savepoint around the row lock, idempotency lookup under the
-- lock, UPDATE and ledger INSERT ... RETURNING, with the new balance computed by the client
-- from the locked balance, as credits/service.py _write() does. Only `updated_at` differs:
-- now() here, a timestamp parameter from Python in the product.
-- Set :uid with `-D uid=...`, or prepend a line that \gsets it (bench/credits_contention.py).
\set amount 2 * random(0, 1) - 1
\set key random(1, 9223372036854775806)
BEGIN ISOLATION LEVEL READ COMMITTED;
SET LOCAL lock_timeout = 5000;
SAVEPOINT sa_savepoint_1;
SELECT users.credits_balance FROM users WHERE users.id = :uid::UUID FOR NO KEY UPDATE \gset
RELEASE SAVEPOINT sa_savepoint_1;
SELECT credit_transactions.id, credit_transactions.user_id, credit_transactions.amount, credit_transactions.balance_after, credit_transactions.kind, credit_transactions.reference_type, credit_transactions.reference_id, credit_transactions.idempotency_key, credit_transactions.created_at FROM credit_transactions WHERE credit_transactions.user_id = :uid::UUID AND credit_transactions.idempotency_key = :key::VARCHAR;
\set after :credits_balance + :amount
UPDATE users SET credits_balance = :after::INTEGER, updated_at = now() WHERE users.id = :uid::UUID;
INSERT INTO credit_transactions (user_id, amount, balance_after, kind, reference_type, reference_id, idempotency_key) VALUES (:uid::UUID, :amount::INTEGER, :after::INTEGER, CASE WHEN :amount::INTEGER > 0 THEN 'admin_grant' ELSE 'insight_charge' END, NULL, NULL, :key::VARCHAR) RETURNING credit_transactions.id, credit_transactions.created_at;
COMMIT;
