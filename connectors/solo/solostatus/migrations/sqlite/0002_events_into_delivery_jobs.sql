-- 0002: webhook events join the one delivery queue, as jobs of the
-- worker flow 'solo/webhook' (delivery line 0003 gave delivery_jobs the
-- data column they need): the event type is the job's kind
-- (resource_type), its key (resource_id) Solo's event id or else the
-- payload's hash, and its data the event as JSON. A pending or failed
-- event is pending, due when it was, with its attempts and last error;
-- an unknown or dead one is a dead letter for replay (an unknown one
-- with the reason the code gives it); a handled one is delivered, so
-- that Solo sending it again is still a replay. Then the table, with its
-- own retry columns, is dropped.
INSERT INTO delivery_jobs
    (flow, resource_type, resource_id, version, state, attempts, retry_base, run_at, lease_until, last_error, created_at, updated_at, data)
SELECT 'solo/webhook', type,
    CASE WHEN event_id <> '' THEN 'event:' || event_id ELSE 'sha256:' || hash END,
    1,
    CASE state WHEN 'done' THEN 'delivered' WHEN 'pending' THEN 'pending' WHEN 'failed' THEN 'pending' ELSE 'dlq' END,
    attempts, 0,
    CASE WHEN state IN ('pending', 'failed') THEN next_at ELSE 0 END,
    0,
    CASE WHEN state = 'unknown' THEN 'permanent failure: unknown id: unknown to the bridge' ELSE last_error END,
    received_at, received_at,
    json_object('id', event_id, 'type', type, 'object_id', object_id)
FROM solo_webhook_events WHERE true
ON CONFLICT DO NOTHING;
DROP TABLE solo_webhook_events;
