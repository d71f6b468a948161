-- +goose Up
-- A webhook's unfinished delivery jobs, for the console's delivery log
-- (the next attempt of each event): found by lane without reading the
-- lane's finished jobs.
CREATE INDEX jobs_lane_unfinished ON jobs (lane, lane_seq) WHERE state IN ('pending', 'waiting', 'running');

-- +goose Down
DROP INDEX jobs_lane_unfinished;
