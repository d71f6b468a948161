package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/metrics"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	return rec.Body.String()
}

func TestCacheLookups(t *testing.T) {
	m := metrics.New()
	var s bounded.Stats
	s.Record(true)
	s.Record(true)
	s.Record(false)
	m.WatchCaches(map[string]*bounded.Stats{"things": &s, "disabled": nil})
	body := scrape(t, m)
	for _, want := range []string{
		`oauthd_cache_lookups_total{cache="things",result="hit"} 2`,
		`oauthd_cache_lookups_total{cache="things",result="miss"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, `cache="disabled"`) {
		t.Error("a disabled cache is exposed")
	}
}

// A nil *Metrics records nothing and does not panic.
func TestNilRecordsNothing(t *testing.T) {
	var m *metrics.Metrics
	m.TokenIssued("client_credentials")
	m.AuthFailed(metrics.AuthClient)
	m.Request("GET", "/", 200, 0)
}
