-- +goose Up
-- The durable job queue (internal/jobs). Jobs are rows written in the
-- caller's transaction (an outbox: a rolled-back change enqueues nothing)
-- and claimed by every instance's workers with FOR UPDATE SKIP LOCKED.
CREATE TABLE jobs (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    -- pending: due at run_at; waiting: behind an earlier job of its lane;
    -- running: claimed until locked_until (a dead worker's lease runs out
    -- and the job is claimed again); done, failed: finished.
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'waiting', 'running', 'done', 'failed')),
    -- A job with a unique key is not queued twice while one with the same
    -- kind and key is still pending or waiting.
    unique_key   text,
    -- Jobs sharing a lane run one at a time, in lane_seq order.
    lane         text,
    lane_seq     bigint,
    attempt      integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL CHECK (max_attempts > 0),
    run_at       timestamptz NOT NULL,
    locked_until timestamptz,
    locked_by    text,
    last_error   text,
    created_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    CHECK (unique_key IS NULL OR lane IS NULL),
    CHECK ((lane IS NULL) = (lane_seq IS NULL))
);
CREATE UNIQUE INDEX jobs_unique_queued ON jobs (kind, unique_key)
    WHERE unique_key IS NOT NULL AND state IN ('pending', 'waiting');
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'pending';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE state = 'running';
CREATE INDEX jobs_lane_waiting ON jobs (lane, lane_seq) WHERE state = 'waiting';
CREATE INDEX jobs_finished ON jobs (finished_at) WHERE state IN ('done', 'failed');

-- One row per lane: how many of its jobs are unfinished, and the last
-- sequence number handed out. Enqueuing into a lane locks its row until the
-- enqueuing transaction ends, so lane order is commit order.
CREATE TABLE job_lanes (
    lane       text PRIMARY KEY,
    unfinished integer NOT NULL CHECK (unfinished >= 0),
    last_seq   bigint NOT NULL
);

-- Periodic jobs: a row per schedule; the instance that claims a due row
-- (SKIP LOCKED) enqueues that run and moves next_run_at on.
CREATE TABLE job_schedules (
    name        text PRIMARY KEY,
    next_run_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE job_schedules;
DROP TABLE job_lanes;
DROP TABLE jobs;
