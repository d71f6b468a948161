package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"

	"github.com/google/uuid"
)

// The connection scenario: POST .../connections/{id}/access-token on a
// ready connection whose token is fresh (the cached path: one read, one
// decryption, one audit record). The connection is made for real: a fake
// provider on loopback (the server runs with OAUTHD_OUTBOUND_ALLOW_PRIVATE)
// answers the authorization and the code exchange, and the bench plays the
// browser through oauthd's /connect pages.

// fakeProvider answers /authorize by sending the browser back to oauthd's
// callback and /token with a day-long access token and a refresh token.
type fakeProvider struct {
	url      string
	listener net.Listener
}

func startFakeProvider(oauthdBase string) (*fakeProvider, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		// oauthd's issuer in the bench has no port; the callback is sent
		// to where the server really listens.
		back := oauthdBase + "/connect/callback?" + url.Values{"code": {"bench-code"}, "state": {r.URL.Query().Get("state")}}.Encode()
		http.Redirect(w, r, back, http.StatusFound)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": randomToken(600), "token_type": "Bearer",
			"expires_in": 86400, "refresh_token": randomToken(32), "scope": "read"})
	})
	go func() { _ = http.Serve(l, mux) }()
	return &fakeProvider{url: "http://" + l.Addr().String(), listener: l}, nil
}

func (p *fakeProvider) close() { _ = p.listener.Close() }

func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}

// setupConnection makes a ready connection in the target tenant as the
// caller: a component reaching the fake provider, the tenant's OAuth
// client for it, the connection, and the browser dance.
func setupConnection(base string, caller creds, tenantID uuid.UUID) (string, *fakeProvider, error) {
	p, err := startFakeProvider(base)
	if err != nil {
		return "", nil, err
	}
	hc := newHTTPClient(1)
	defer hc.CloseIdleConnections()
	tpath := base + "/v2/tenants/" + tenantID.String()
	create := func(what, path, body string) (string, string, error) {
		status, out, err := call(hc, http.MethodPost, tpath+path, caller.header(), []byte(body))
		if err != nil || status != http.StatusCreated {
			return "", "", httpFailure("create "+what, status, out, err)
		}
		var doc struct {
			Data struct {
				ID         string
				Attributes map[string]any
			}
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			return "", "", err
		}
		link, _ := doc.Data.Attributes["authorize_url"].(string)
		return doc.Data.ID, link, nil
	}
	cid, _, err := create("component", "/components", `{"data":{"type":"component","attributes":{"name":"bench-provider","descriptor":`+
		`{"useOAuthClient":true,"oauth2":{"auth_uri":"`+p.url+`/authorize","token_uri":"`+p.url+`/token","scopes":["read"]}}}}}`)
	if err != nil {
		return "", p, err
	}
	if _, _, err := create("oauth client", "/oauth-clients", `{"data":{"type":"oauth-client","attributes":{"client_id":"bench-id",`+
		`"client_secret":"bench-secret-0123456789"},"relationships":{"component":{"data":{"type":"component","id":"`+cid+`"}}}}}`); err != nil {
		return "", p, err
	}
	id, link, err := create("connection", "/connections", `{"data":{"type":"connection","attributes":{"name":"bench"},`+
		`"relationships":{"component":{"data":{"type":"component","id":"`+cid+`"}}}}}`)
	if err != nil {
		return "", p, err
	}
	// The browser: authorize_url (its path, on the real address), the
	// provider, and back to the callback page.
	u, err := url.Parse(link)
	if err != nil {
		return "", p, err
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	res, err := browser.Get(base + u.Path)
	if err != nil {
		return "", p, err
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/connect/callback" {
		return "", p, fmt.Errorf("the connection dance ended with %d at %s", res.StatusCode, res.Request.URL)
	}
	status, out, err := call(hc, http.MethodPost, tpath+"/connections/"+id+"/access-token", caller.header(), nil)
	if err != nil || status != http.StatusOK || !strings.Contains(string(out), `"access_token":"`) {
		return "", p, httpFailure("access-token", status, out, err)
	}
	return id, p, nil
}
