package ceiling_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthd/oauthd/cmd/oauthd-bench/ceiling"
)

// The ceiling is a real token endpoint: the right client gets an ES256 JWT
// that go-jose verifies with its key, a wrong secret gets 401.
func TestCeilingIssuesVerifiableTokens(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ceiling.Handler("o2c_bench", "s3cret", "http://127.0.0.1", "tenant-1", key))
	defer srv.Close()
	post := func(secret string) *http.Response {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(url.QueryEscape("o2c_bench"), url.QueryEscape(secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := post("s3cret")
	var body struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK || body.TokenType != "Bearer" {
		t.Fatalf("token: %d %+v %v", resp.StatusCode, body, err)
	}
	_ = resp.Body.Close()
	jws, err := jose.ParseSignedCompact(body.AccessToken, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := jws.Verify(&key.PublicKey)
	if err != nil {
		t.Fatalf("the ceiling's token does not verify: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil || claims["client_id"] != "o2c_bench" || claims["iss"] != "http://127.0.0.1" {
		t.Fatalf("claims %s", payload)
	}
	if resp := post("wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d", resp.StatusCode)
	}
}
