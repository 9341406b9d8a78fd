-- A delivery that still fails after the quick round (the sidecar's redeliveries, seconds apart)
-- waits for a later attempt, minutes to hours ahead (#core/channels.ts RetryPlan): when it is due.
ALTER TABLE notification_deliveries ADD COLUMN next_attempt_at timestamptz(3);
