package webhooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/jobs"
)

// The job kinds of this package.
const (
	fanOutKind  = "webhooks.fan_out"
	deliverKind = "webhooks.deliver"
	purgeKind   = "webhooks.purge_deliveries"
)

// Delivery rules (documented in openapi.yaml and the README).
const (
	// RetryFor is how long an event is retried before it is given up.
	RetryFor = 24 * time.Hour
	// DisableAfter is how long a webhook may keep failing (no delivery
	// succeeding) before oauthd switches it off.
	DisableAfter = 24 * time.Hour
	// DeliveryLogRetention is how long the delivery log is kept.
	DeliveryLogRetention = 30 * 24 * time.Hour
	// maxAttempts only bounds a runaway; RetryFor ends retries first.
	maxAttempts = 100
)

// retrySchedule is the pause after each failed attempt: the first retry
// within 30 s, then growing, so the attempts span RetryFor (15 s, 1 min,
// 5 min, 15 min, 30 min, 1 h, 2 h, then every 4 h: 17 attempts in 24 h).
var retrySchedule = []time.Duration{15 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour}

// Backoff is the pause after failed attempt n (from 1), with up to 10%
// jitter so a receiver coming back is not hit by every retry at once.
func Backoff(attempt int) time.Duration {
	d := retrySchedule[min(attempt, len(retrySchedule))-1]
	return d + time.Duration(float64(d)*0.1*rand.Float64())
}

// AuditLog records audit events and reads the ones to publish.
type AuditLog interface {
	Recorder
	Get(ctx context.Context, tenantID, id uuid.UUID) (*audit.Event, error)
}

// Dispatcher runs the fan-out and delivery jobs.
type Dispatcher struct {
	tx      Transactor
	store   *Store
	audit   AuditLog
	sealer  Sealer
	client  *http.Client
	queue   *jobs.Queue
	timeout time.Duration
}

// DispatcherOptions tune deliveries; zero values take the defaults.
type DispatcherOptions struct {
	// Timeout bounds one delivery (default 10 s); a receiver that takes
	// longer has failed that attempt.
	Timeout time.Duration
}

// NewDispatcher registers the job kinds on queue. client is the outbound
// client (it applies the address rule at connect time).
func NewDispatcher(tx Transactor, store *Store, audit AuditLog, sealer Sealer, client *http.Client, queue *jobs.Queue, o DispatcherOptions) *Dispatcher {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	d := &Dispatcher{tx: tx, store: store, audit: audit, sealer: sealer, client: client, queue: queue, timeout: o.Timeout}
	queue.Register(jobs.Handler{Kind: fanOutKind, Run: d.fanOut, Timeout: time.Minute})
	queue.Register(jobs.Handler{Kind: deliverKind, Run: d.deliver, MaxAttempts: maxAttempts, Backoff: Backoff, Bulk: true,
		Timeout: o.Timeout + 5*time.Second})
	queue.Register(jobs.Handler{Kind: purgeKind, Run: d.purge, MaxAttempts: 3, Timeout: 5 * time.Minute})
	queue.Every(jobs.Schedule{Name: purgeKind, Kind: purgeKind, Every: time.Hour, First: time.Hour})
	return d
}

// deliveryJob is a delivery job's payload: the event exactly as it is sent.
type deliveryJob struct {
	TenantID  uuid.UUID       `json:"tenant_id"`
	WebhookID uuid.UUID       `json:"webhook_id"`
	EventID   uuid.UUID       `json:"event_id"`
	EventType string          `json:"event_type"`
	Event     json.RawMessage `json:"event"`
}

// fanOut enqueues one delivery per webhook subscribed to the event, in
// each webhook's lane. Fan-outs of a tenant run one at a time in event
// order, so each webhook's lane receives its events in that order.
func (d *Dispatcher) fanOut(ctx context.Context, j *jobs.Job) error {
	var p fanOutJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	ev := p.Event
	if p.AuditEventID != nil {
		a, err := d.audit.Get(ctx, p.TenantID, *p.AuditEventID)
		if errors.Is(err, audit.ErrNotFound) {
			return jobs.Cancel(err) // its tenant was deleted, or the retention took it
		}
		if err != nil {
			return err
		}
		var ok bool
		if ev, ok, err = fromAudit(a); err != nil || !ok {
			return err // an action without an event type is not published
		}
	}
	if ev == nil {
		return jobs.Cancel(errors.New("a fan-out job without an event"))
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return jobs.Cancel(fmt.Errorf("encode event: %w", err))
	}
	hooks, err := d.store.activeFor(ctx, ev.TenantID)
	if err != nil {
		return err
	}
	var batch []jobs.LaneJob
	for _, h := range hooks {
		if Matches(h.Events, ev.Type) {
			batch = append(batch, jobs.LaneJob{Lane: "webhook:" + h.ID.String(),
				Payload: deliveryJob{TenantID: ev.TenantID, WebhookID: h.ID, EventID: ev.ID, EventType: ev.Type, Event: body}})
		}
	}
	// The deliveries are enqueued in the transaction that marks this
	// fan-out done: a fan-out that dies half-way enqueued nothing.
	j.OnSuccess(func(ctx context.Context) error { return d.queue.EnqueueInLanes(ctx, deliverKind, batch) })
	return nil
}

// deliver POSTs one event to one webhook and logs the attempt. A failure
// is retried (Backoff) until RetryFor has passed since the event; a
// webhook failing for DisableAfter is switched off.
func (d *Dispatcher) deliver(ctx context.Context, j *jobs.Job) error {
	var p deliveryJob
	if err := j.Decode(&p); err != nil {
		return err
	}
	now := d.queue.Clock().Now()
	w, rows, err := d.store.forDelivery(ctx, p.TenantID, p.WebhookID, now)
	if errors.Is(err, ErrNotFound) {
		return jobs.Cancel(errors.New("the webhook was deleted"))
	}
	if err != nil {
		return err
	}
	if !w.Active {
		j.OnSuccess(func(ctx context.Context) error {
			return d.log(ctx, w, p, j.Attempt, now, nil, "not sent: the webhook is inactive", 0)
		})
		return nil
	}
	secrets, err := d.openSecrets(rows)
	if err != nil {
		return err
	}
	status, elapsed, sendErr := d.send(ctx, w, p, j.Attempt, Sign(now, p.Event, secrets...))
	if sendErr == nil {
		// The log line and the end of a failure run commit with the job.
		j.OnSuccess(func(ctx context.Context) error { return d.succeeded(ctx, w, p, j.Attempt, now, status, elapsed) })
		return nil
	}
	return d.failed(ctx, w, p, j, now, status, sendErr, elapsed)
}

// openSecrets opens the webhook's live secrets (newest first).
func (d *Dispatcher) openSecrets(rows []secretRow) ([]string, error) {
	if len(rows) == 0 {
		return nil, errors.New("the webhook has no live signing secret")
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		plain, err := d.sealer.Open(r.Sealed, r.KeyID, secretAAD(r.TenantID, r.WebhookID, r.ID))
		if err != nil {
			return nil, jobs.Cancel(fmt.Errorf("open webhook secret %s: %w", r.ID, err))
		}
		out[i] = string(plain)
	}
	return out, nil
}

// send makes the POST; any 2xx is success.
func (d *Dispatcher) send(ctx context.Context, w *Webhook, p deliveryJob, attempt int, signature string) (*int, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(p.Event))
	if err != nil {
		return nil, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "oauthd-webhooks/1")
	req.Header.Set(SignatureHeader, signature)
	req.Header.Set("Oauthd-Event-Id", p.EventID.String())
	req.Header.Set("Oauthd-Event-Type", p.EventType)
	req.Header.Set("Oauthd-Delivery-Attempt", strconv.Itoa(attempt))
	start := time.Now()
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, time.Since(start), describeSendError(err, d.timeout)
	}
	// Drain a little so the connection can be reused; the body is not kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	elapsed := time.Since(start)
	code := resp.StatusCode
	if code < 200 || code > 299 {
		return &code, elapsed, fmt.Errorf("the receiver answered %d", code)
	}
	return &code, elapsed, nil
}

// describeSendError says why a delivery got no answer. net/http names the
// URL whole in its errors, and a receiver's URL often carries its
// credential in the query: the text names it as the audit trail does
// (RedactURL), since it goes to the delivery log, the reason a webhook is
// switched off (and so the audit trail and the webhook.disabled event
// other receivers get), the job's last error and the log.
func describeSendError(err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %s", timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: RedactURL(ue.URL), Err: ue.Err}
	}
	return fmt.Errorf("the request failed: %w", err)
}

func (d *Dispatcher) succeeded(ctx context.Context, w *Webhook, p deliveryJob, attempt int, now time.Time, status *int, elapsed time.Duration) error {
	if err := d.log(ctx, w, p, attempt, now, status, "", elapsed); err != nil {
		return err
	}
	if w.FailingSince == nil {
		return nil
	}
	return d.store.webhooks(ctx, w.TenantID).Where("id = ?", w.ID).Update("failing_since", nil).Error
}

// failed logs the attempt and decides: retry, give up on this event, or
// switch the webhook off (with a webhook.disabled event and the reason).
func (d *Dispatcher) failed(ctx context.Context, w *Webhook, p deliveryJob, j *jobs.Job, now time.Time, status *int, sendErr error, elapsed time.Duration) error {
	var disabled bool
	err := d.tx.InTx(ctx, func(ctx context.Context) error {
		if err := d.log(ctx, w, p, j.Attempt, now, status, sendErr.Error(), elapsed); err != nil {
			return err
		}
		locked, err := d.store.get(ctx, w.TenantID, w.ID, true)
		if err != nil {
			return err
		}
		if locked.FailingSince == nil {
			locked.FailingSince = &now
		}
		if locked.Active && now.Sub(*locked.FailingSince) >= DisableAfter {
			reason := fmt.Sprintf("deliveries failed for %s (since %s); last error: %s",
				DisableAfter, locked.FailingSince.UTC().Format(time.RFC3339), sendErr)
			locked.Active, locked.DisabledReason, locked.DisabledAt = false, &reason, &now
			disabled = true
			if err := d.audit.Record(ctx, w.TenantID, "webhook.disable", resourceType, w.ID.String(),
				map[string]any{"url": RedactURL(w.URL), "reason": reason}); err != nil {
				return err
			}
		}
		return d.store.save(ctx, locked)
	})
	switch {
	case err != nil:
		return err
	case disabled:
		return jobs.Cancel(fmt.Errorf("webhook disabled after failing for %s: %w", DisableAfter, sendErr))
	case now.Sub(j.CreatedAt) >= RetryFor:
		return jobs.Cancel(fmt.Errorf("given up after %s: %w", RetryFor, sendErr))
	}
	return sendErr
}

// log writes one line of the delivery log.
func (d *Dispatcher) log(ctx context.Context, w *Webhook, p deliveryJob, attempt int, now time.Time, status *int, errText string, elapsed time.Duration) error {
	row := &Delivery{TenantID: w.TenantID, WebhookID: w.ID, ID: uuid.New(), EventID: p.EventID, EventType: p.EventType,
		Attempt: attempt, Success: errText == "", StatusCode: status, DurationMS: int(elapsed.Milliseconds()), CreatedAt: now}
	if errText != "" {
		row.Error = &errText
	}
	if err := d.store.recordDelivery(ctx, row); err != nil {
		return fmt.Errorf("log delivery: %w", err)
	}
	return nil
}

func (d *Dispatcher) purge(ctx context.Context, _ *jobs.Job) error {
	cutoff := d.queue.Clock().Now().Add(-DeliveryLogRetention)
	return d.store.db.Conn(ctx).Exec(`DELETE FROM webhook_deliveries WHERE created_at < ?`, cutoff).Error
}
