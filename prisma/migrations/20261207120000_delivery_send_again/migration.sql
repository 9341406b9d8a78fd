-- "Send again" (POST /v1/tasks/:id/deliveries/:delivery_id/retry): an attempt a person asked for,
-- as opposed to the service's own retries. Who asked, as the audit log names actors; both null for
-- an automatic attempt.
ALTER TABLE delivery_attempts ADD COLUMN requested_by_type actor_type;
ALTER TABLE delivery_attempts ADD COLUMN requested_by_id text;
