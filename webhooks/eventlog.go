package webhooks

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// EventDelivery is where one event stands with one webhook: the attempts
// logged so far and, while its delivery is queued or being retried, what
// comes next. It is the delivery log read by event (the console's), where
// Deliveries is the log of every attempt (the API's).
type EventDelivery struct {
	EventID   uuid.UUID
	EventType string
	// Attempts is how many attempts were logged.
	Attempts int
	// Since is the event's first attempt, or when its delivery was queued.
	Since time.Time
	// The last attempt's time, HTTP status (nil when no answer came) and
	// error (nil when it succeeded).
	LastAttemptAt *time.Time
	LastStatus    *int
	LastError     *string
	// DeliveredAt is the first successful attempt.
	DeliveredAt *time.Time
	// Next is what comes next: NextNone (finished: delivered, given up,
	// or not sent), NextQueued (behind the webhook's earlier events, which
	// are delivered in order), NextDue (at NextAttemptAt) or NextRunning.
	Next          string
	NextAttemptAt *time.Time
}

// The values of EventDelivery.Next.
const (
	NextNone    = ""
	NextQueued  = "queued"
	NextDue     = "due"
	NextRunning = "running"
)

// jobStates maps the queue's states of an unfinished delivery job to Next.
var jobStates = map[string]string{"waiting": NextQueued, "pending": NextDue, "running": NextRunning}

// EventLog returns a page (number from 1, size) of a webhook's events,
// newest first: each event's attempts from the delivery log, joined with
// its delivery job while that is unfinished (an event not yet tried shows
// only the job), so the next attempt is the queue's own schedule.
func (s *Service) EventLog(ctx context.Context, tenantID, webhookID uuid.UUID, number, size int) ([]EventDelivery, int64, error) {
	if _, err := s.store.get(ctx, tenantID, webhookID, false); err != nil {
		return nil, 0, fmt.Errorf("webhook event log: %w", err)
	}
	out, total, err := s.store.eventLog(ctx, tenantID, webhookID, number, size)
	if err != nil {
		return nil, 0, fmt.Errorf("webhook event log: %w", err)
	}
	return out, total, nil
}

type eventLogRow struct {
	EventID       uuid.UUID
	EventType     string
	Attempts      int
	Since         time.Time
	LastAttemptAt *time.Time
	LastStatus    *int
	LastError     *string
	DeliveredAt   *time.Time
	State         string
	NextAt        *time.Time
	Total         int64
}

// eventLog reads the log by event. The unfinished delivery jobs of the
// webhook are those of its lane (webhook:<id>, see fanOut) that are not
// done; jobs_lane_unfinished indexes them.
func (s *Store) eventLog(ctx context.Context, tenantID, webhookID uuid.UUID, number, size int) ([]EventDelivery, int64, error) {
	var rows []eventLogRow
	err := s.db.Conn(ctx).Raw(`
		WITH attempts AS (
			SELECT event_id, max(event_type) AS event_type, count(*) AS attempts,
			       min(created_at) AS first_at, max(created_at) AS last_at,
			       min(created_at) FILTER (WHERE success) AS delivered_at,
			       (array_agg(status_code ORDER BY created_at DESC, attempt DESC))[1] AS last_status,
			       (array_agg(error ORDER BY created_at DESC, attempt DESC))[1] AS last_error
			FROM webhook_deliveries
			WHERE tenant_id = @tenant AND webhook_id = @webhook
			GROUP BY event_id
		), unfinished AS (
			SELECT DISTINCT ON (event_id) (payload->>'event_id')::uuid AS event_id, payload->>'event_type' AS event_type,
			       state, run_at, created_at
			FROM jobs
			WHERE kind = @kind AND lane = @lane AND state IN ('pending', 'waiting', 'running')
			  AND payload->>'tenant_id' = @tenantText
			ORDER BY (payload->>'event_id')::uuid, lane_seq
		), events AS (
			SELECT coalesce(a.event_id, u.event_id) AS event_id, coalesce(a.event_type, u.event_type) AS event_type,
			       coalesce(a.attempts, 0) AS attempts, coalesce(a.first_at, u.created_at) AS since,
			       a.last_at AS last_attempt_at, a.last_status, a.last_error, a.delivered_at,
			       coalesce(u.state, '') AS state, u.run_at AS next_at
			FROM attempts a FULL JOIN unfinished u ON u.event_id = a.event_id
		)
		SELECT *, count(*) OVER () AS total FROM events
		ORDER BY since DESC, event_id DESC
		LIMIT @limit OFFSET @offset`,
		map[string]any{"tenant": tenantID, "webhook": webhookID, "kind": deliverKind, "lane": "webhook:" + webhookID.String(),
			"tenantText": tenantID.String(), "limit": size, "offset": (number - 1) * size}).Scan(&rows).Error
	if err != nil {
		return nil, 0, err
	}
	var total int64
	out := make([]EventDelivery, len(rows))
	for i, r := range rows {
		total = r.Total
		out[i] = EventDelivery{EventID: r.EventID, EventType: r.EventType, Attempts: r.Attempts, Since: r.Since,
			LastAttemptAt: r.LastAttemptAt, LastStatus: r.LastStatus, LastError: r.LastError, DeliveredAt: r.DeliveredAt,
			Next: jobStates[r.State]}
		if out[i].Next == NextDue {
			out[i].NextAttemptAt = r.NextAt
		}
	}
	if len(rows) == 0 && number > 1 {
		// Past the end: the total is still wanted for the pager.
		if err := s.db.Conn(ctx).Raw(`SELECT count(DISTINCT event_id) FROM webhook_deliveries WHERE tenant_id = ? AND webhook_id = ?`,
			tenantID, webhookID).Scan(&total).Error; err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}
