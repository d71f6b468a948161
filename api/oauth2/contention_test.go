package oauth2_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/budget"
)

// deadlocked is a budget store each of whose statements Postgres aborted
// as a deadlock victim, as under a load test before budget rows were
// locked in one order (and as budget.Postgres still returns a second abort
// in a row).
type deadlocked struct{}

var errDeadlock = &pgconn.PgError{Severity: "ERROR", Code: "40P01", Message: "deadlock detected"}

func (deadlocked) Reserve(context.Context, []budget.Charge) (time.Duration, error) {
	return 0, fmt.Errorf("reserve failure budget: %w", errDeadlock)
}

func (deadlocked) Refund(context.Context, []budget.Charge) error {
	return fmt.Errorf("refund failure budget: %w", errDeadlock)
}

func (deadlocked) Check(context.Context, []budget.Charge) (time.Duration, error) {
	return 0, fmt.Errorf("check failure budget: %w", errDeadlock)
}

// A deadlock the store could not get past is busy, not broken: the token
// endpoint answers 503 temporarily_unavailable with Retry-After, and the
// sign-in page 503 with Retry-After, never a 500.
func TestDeadlockedBudgetIsUnavailableNotAnError(t *testing.T) {
	e := apitest.New(t, apitest.WithBudgets(deadlocked{}))
	tid := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "acme"})).ExpectStatus(t, http.StatusCreated).ID(t)

	c := apitest.MachineClient(t, e, tid, "viewer")
	// Through the client that checks answers against openapi.yaml (PostForm
	// would count any 5xx as a failure).
	resp, err := e.Client().PostForm(e.URL("/oauth/token"), c.PostCreds(url.Values{"grant_type": {"client_credentials"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var answer struct{ Error string }
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil || resp.StatusCode != http.StatusServiceUnavailable ||
		answer.Error != "temporarily_unavailable" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("token endpoint: %d %+v (%v), Retry-After %q; want 503 temporarily_unavailable with Retry-After",
			resp.StatusCode, answer, err, resp.Header.Get("Retry-After"))
	}

	createUser(t, e, "ada@acme.test")
	b := newBrowser(t, e)
	p := b.signIn(b.get(e.URL("/oauth/sign-in")), "ada@acme.test")
	expectStatus(t, p, http.StatusServiceUnavailable)
	if p.header.Get("Retry-After") == "" {
		t.Error("the sign-in page's 503 has no Retry-After")
	}
}
