-- +goose Up
-- The one definition of enqueuing a job into a lane (internal/jobs calls it,
-- and so can a trigger that enqueues in the transaction of the row it fires
-- on). Upserting the lane row counts the job in and locks the row until the
-- enqueuing transaction ends, so lane order is commit order: the first
-- unfinished job of a lane is pending, the others wait for their turn.
-- +goose StatementBegin
CREATE FUNCTION oauthd_enqueue_in_lane(p_kind text, p_payload jsonb, p_lane text, p_max_attempts integer,
                                       p_run_at timestamptz, p_created_at timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    l job_lanes;
    job_id bigint;
BEGIN
    INSERT INTO job_lanes AS jl (lane, unfinished, last_seq) VALUES (p_lane, 1, 1)
    ON CONFLICT (lane) DO UPDATE SET unfinished = jl.unfinished + 1, last_seq = jl.last_seq + 1
    RETURNING * INTO l;
    INSERT INTO jobs (kind, payload, state, lane, lane_seq, max_attempts, run_at, created_at)
    VALUES (p_kind, p_payload, CASE WHEN l.unfinished = 1 THEN 'pending' ELSE 'waiting' END, p_lane, l.last_seq,
            p_max_attempts, p_run_at, p_created_at)
    RETURNING id INTO job_id;
    PERFORM pg_notify('oauthd_jobs', p_kind);
    RETURN job_id;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION oauthd_enqueue_in_lane(text, jsonb, text, integer, timestamptz, timestamptz);
