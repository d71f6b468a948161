-- +goose Up
-- Budgets of failed attempts (client authentication, sign-in, device user
-- codes), shared by every instance: one row per budget key, a token bucket
-- spent and refilled by single INSERT ... ON CONFLICT statements, so
-- concurrent attempts on any instance cannot overspend it. Keys are
-- SHA-256 digests (no emails or addresses kept); rows untouched for an
-- hour are full again and purged.
CREATE TABLE failure_budgets (
    key        text PRIMARY KEY,
    burst      double precision NOT NULL,
    per_second double precision NOT NULL,
    tokens     double precision NOT NULL,
    taken      boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX failure_budgets_updated_at ON failure_budgets (updated_at);

-- +goose Down
DROP TABLE failure_budgets;
