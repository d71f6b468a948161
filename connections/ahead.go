package connections

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/jobs"
)

// Refreshing ahead of expiry, from the durable queue, so callers of
// access-token rarely wait for the provider: a periodic scan (once a
// minute across all instances) enqueues one refresh job per connection
// whose token expires within RefreshAhead, unique per connection; the job
// refreshes under the same row lock as every other refresh. A failed
// refresh is recorded on the connection (its backoff decides the next
// attempt), so the job itself always succeeds.

// RefreshAhead is how long before expiry the background job refreshes.
const RefreshAhead = 10 * time.Minute

// The job kinds and the schedule.
const (
	JobScanDue = "connections.scan_due"
	JobRefresh = "connections.refresh"
	scanEvery  = time.Minute
	// scanBatch bounds one scan; the next scan takes the rest.
	scanBatch = 1000
)

// refreshJob is the payload of a refresh job.
type refreshJob struct {
	TenantID uuid.UUID `json:"tenant_id"`
	ID       uuid.UUID `json:"connection_id"`
}

// RegisterJobs adds the scan and the refresh to the queue.
func (s *Service) RegisterJobs(q *jobs.Queue) {
	s.queue = q
	q.Register(jobs.Handler{Kind: JobScanDue, MaxAttempts: 3, Run: func(ctx context.Context, _ *jobs.Job) error {
		_, err := s.EnqueueDue(ctx)
		return err
	}})
	q.Register(jobs.Handler{Kind: JobRefresh, MaxAttempts: 3, Timeout: 2*s.opts.ProviderTimeout + 30*time.Second,
		Run: func(ctx context.Context, j *jobs.Job) error {
			var p refreshJob
			if err := j.Decode(&p); err != nil {
				return err
			}
			return s.refreshAhead(ctx, p.TenantID, p.ID)
		}})
	// The first scan a period after start: a new database has nothing due.
	q.Every(jobs.Schedule{Name: JobScanDue, Kind: JobScanDue, Every: scanEvery, First: scanEvery})
}

// EnqueueDue enqueues a refresh for each ready connection whose token
// expires within RefreshAhead and that is not in backoff; it returns how
// many it found.
func (s *Service) EnqueueDue(ctx context.Context) (int, error) {
	now := s.now()
	due, err := s.store.due(ctx, now.Add(RefreshAhead), now, scanBatch)
	if err != nil {
		return 0, fmt.Errorf("scan due connections: %w", err)
	}
	for _, c := range due {
		if _, err := s.queue.Enqueue(ctx, jobs.Spec{Kind: JobRefresh, UniqueKey: c.TenantID.String() + "/" + c.ID.String(),
			Payload: refreshJob{TenantID: c.TenantID, ID: c.ID}}); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}

// refreshAhead refreshes one connection if its token still expires within
// RefreshAhead (a caller may have refreshed it meanwhile).
func (s *Service) refreshAhead(ctx context.Context, tenantID, id uuid.UUID) error {
	c, err := s.store.get(ctx, tenantID, id, false)
	if err != nil || usable(c) != nil || c.validFor(s.now(), RefreshAhead) {
		return nil // gone, unusable or fresh: nothing to do
	}
	_, err = s.shared(ctx, tenantID, id, ahead)
	if providerOutcome(err) || err != nil && isProblem(err) {
		return nil // recorded on the connection
	}
	return err
}
