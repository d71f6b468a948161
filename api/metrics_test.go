package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// metricValue is the value of the series line that starts with series
// (name and labels exactly as exposed), or -1 when there is none.
func metricValue(t *testing.T, body, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatalf("%s: %v", series, err)
	}
	return v
}

// TestMetricsWorthScraping: what an operator watches is exposed and moves
// with what happens: the runtime, the process and the database pool;
// tokens issued by grant type; failed authentications by method; cache
// lookups; and /metrics is not on the API's listener.
func TestMetricsWorthScraping(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	m := apitest.MachineClient(t, e, tid, "viewer")
	token := apitest.ClientCredentialsToken(t, e, m)
	apitest.ClientCredentialsToken(t, e, m)
	for range 2 { // the second use of the token finds it verified
		apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), token, nil).ExpectStatus(t, http.StatusOK)
	}
	wrong := m
	wrong.Secret = "not-the-secret"
	apitest.PostForm(t, e, "/oauth/token", wrong.PostCreds(url.Values{"grant_type": {"client_credentials"}})).
		ExpectError(t, http.StatusUnauthorized, "invalid_client")
	e.Get("/v2/tenants", &apitest.Creds{Email: e.Super.Email, Key: "wrong-" + e.Super.Key}).ExpectStatus(t, http.StatusUnauthorized)
	apitest.Bearer(t, e, http.MethodGet, "/v2/tenants", "not.a.token", nil).ExpectStatus(t, http.StatusUnauthorized)

	body := e.Metrics()
	for series, want := range map[string]float64{
		`oauthd_tokens_issued_total{grant_type="client_credentials"}`:             2,
		`oauthd_authentication_failures_total{method="client"}`:                   1,
		`oauthd_authentication_failures_total{method="api_key"}`:                  1,
		`oauthd_authentication_failures_total{method="bearer"}`:                   1,
		`oauthd_cache_lookups_total{cache="verified_access_tokens",result="hit"}`: 1,
	} {
		if got := metricValue(t, body, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	for _, series := range []string{
		`go_goroutines`,
		`process_resident_memory_bytes`,
		`go_sql_max_open_connections{db_name="oauthd"}`,
		`go_sql_in_use_connections{db_name="oauthd"}`,
		`oauthd_cache_lookups_total{cache="verified_access_tokens",result="miss"}`,
		`oauthd_cache_lookups_total{cache="token_states",result="miss"}`,
		`oauthd_cache_lookups_total{cache="api_client_credentials",result="miss"}`,
		`oauthd_cache_lookups_total{cache="verified_client_secrets",result="miss"}`,
	} {
		if got := metricValue(t, body, series); got < 0 {
			t.Errorf("no series %s", series)
		}
	}
	if got := metricValue(t, body, `go_sql_max_open_connections{db_name="oauthd"}`); got != 50 {
		t.Errorf("pool size %v, want the 50 the test environment configures", got)
	}
	// Not on the public listener.
	e.Get("/metrics", nil).ExpectStatus(t, http.StatusNotFound)
}
