package connections

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestBackoffDoublesToAnHour(t *testing.T) {
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute,
		16 * time.Minute, 32 * time.Minute, time.Hour, time.Hour}
	for i, w := range want {
		if got := backoff(i + 1); got != w {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w)
		}
	}
	if backoff(1000) != time.Hour || backoff(0) != firstBackoff {
		t.Errorf("backoff at the edges: %v %v", backoff(1000), backoff(0))
	}
}

func TestClassify(t *testing.T) {
	retrieve := func(status int, code, desc string) error {
		return &oauth2.RetrieveError{Response: &http.Response{StatusCode: status}, ErrorCode: code, ErrorDescription: desc,
			Body: []byte(`{"access_token":"must-not-show"}`)}
	}
	for _, c := range []struct {
		name      string
		err       error
		permanent bool
		says      string
	}{
		{"invalid_grant", retrieve(400, "invalid_grant", "expired"), true, "HTTP 400 invalid_grant: expired"},
		{"invalid_client", retrieve(401, "invalid_client", ""), true, "HTTP 401 invalid_client"},
		{"other 4xx", retrieve(400, "invalid_scope", ""), false, "invalid_scope"},
		{"5xx without a body", retrieve(503, "", ""), false, "HTTP 503"},
		{"timeout", context.DeadlineExceeded, false, "did not answer in time"},
		{"network", errors.New("dial tcp: connection refused\nbody"), false, "connection refused"},
		{"control characters", retrieve(400, "invalid_grant", "a\x00b\nc"), true, "a b c"},
	} {
		pe := classify(c.err)
		if pe.permanent != c.permanent || !strings.Contains(pe.text, c.says) || strings.Contains(pe.text, "must-not-show") || strings.Contains(pe.text, "body") {
			t.Errorf("%s: classify = %+v", c.name, pe)
		}
	}
	long := classify(retrieve(400, "invalid_grant", strings.Repeat("é", 500)))
	if len(long.text) > maxProviderText+len("…") {
		t.Errorf("provider text not clipped: %d bytes", len(long.text))
	}
}
