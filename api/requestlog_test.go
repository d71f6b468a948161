package api_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
)

// At the default level (info), the token endpoint's and introspection's
// successful requests are counted into one "requests" line a second per
// route, not a line each; their failures keep a "request" line each with
// the request id, and so does every request elsewhere. Nothing secret
// reaches either kind of line.
func TestTokenAndIntrospectionSuccessesSummarized(t *testing.T) {
	e := apitest.New(t, apitest.WithLogLevel(slog.LevelInfo))
	tid := newTenant(t, e)
	cl := apitest.MachineClient(t, e, tid, "viewer")
	form := cl.PostCreds(url.Values{"grant_type": {"client_credentials"}}).Encode()
	post := func(path, body, rid string) apitest.OAuthAnswer {
		return apitest.PostOAuth(t, e, path, "application/x-www-form-urlencoded", strings.NewReader(body),
			map[string]string{"X-Request-Id": rid})
	}
	var token string
	for i := 0; i < 3; i++ {
		a := post("/oauth/token", form, fmt.Sprintf("tok-ok-%d", i))
		if a.Status != http.StatusOK {
			t.Fatalf("token: %d %s", a.Status, a.Raw)
		}
		token = a.Str("access_token")
	}
	in := post("/oauth/introspect", cl.PostCreds(url.Values{"token": {token}}).Encode(), "intro-ok")
	if in.Status != http.StatusOK || in.JSON["active"] != true {
		t.Fatalf("introspect: %d %s", in.Status, in.Raw)
	}
	post("/oauth/token", strings.Replace(form, "client_secret=", "client_secret=x", 1), "tok-bad").ExpectError(t, http.StatusUnauthorized, "invalid_client")
	post("/oauth/token", "grant_type=password", "tok-unsupported").ExpectError(t, http.StatusBadRequest, "unsupported_grant_type")
	e.Do(apitest.Request{Method: http.MethodGet, Path: "/healthz", Header: http.Header{"X-Request-Id": {"health-ok"}}}).ExpectStatus(t, http.StatusOK)

	counted := map[string]float64{}
	var lines map[string]map[string]any
	apitest.Eventually(t, 10*time.Second, func() error {
		counted, lines = map[string]float64{}, map[string]map[string]any{}
		for _, m := range opsLogLines(t, e) {
			switch m["msg"] {
			case "requests":
				if m["level"] != "INFO" || m["method"] != "POST" || m["status"] != "2xx" {
					t.Fatalf("summary line %v", m)
				}
				n, _ := m["count"].(float64)
				counted[m["route"].(string)] += n
			case "request":
				if rid, _ := m["request_id"].(string); rid != "" {
					lines[rid] = m
				}
			}
		}
		if counted["/oauth/token"] != 3 || counted["/oauth/introspect"] != 1 || lines["health-ok"] == nil {
			return fmt.Errorf("summaries so far %v, request lines %d:\n%s", counted, len(lines), e.Logs.String())
		}
		return nil
	})
	for _, rid := range []string{"tok-ok-0", "tok-ok-1", "tok-ok-2", "intro-ok"} {
		if lines[rid] != nil {
			t.Errorf("successful request %s has a line of its own: %v", rid, lines[rid])
		}
	}
	for rid, status := range map[string]float64{"tok-bad": 401, "tok-unsupported": 400, "health-ok": 200} {
		if m := lines[rid]; m == nil || m["status"] != status {
			t.Errorf("request %s: line %v, want one with status %v", rid, m, status)
		}
	}
	if lines["tok-bad"]["route"] != "/oauth/token" {
		t.Errorf("failed token request's line %v", lines["tok-bad"])
	}
	if logs := e.Logs.String(); strings.Contains(logs, cl.Secret) || strings.Contains(logs, token) {
		t.Error("a secret or a token reached the logs")
	}
}
