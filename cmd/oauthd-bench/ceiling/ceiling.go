// Package ceiling is the floor oauthd's token endpoint is measured against:
// the least a client_credentials token endpoint can do and still be one.
// It parses client_secret_basic, checks the secret against a stored
// HMAC-SHA256 of it, and answers an ES256 JWT with the claims oauthd puts
// in its tokens, with net/http and the standard library only: no
// database, no request log, no metrics, no failure budgets. oauthd-bench
// runs it as a process of its own (-ceiling-serve) beside `oauthd serve`
// and reports the CPU per token request of each (make bench).
package ceiling

import (
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Handler answers POST /oauth/token for one confidential client.
func Handler(clientID, secret, issuer, tenantID string, key *ecdsa.PrivateKey) http.Handler {
	macKey := make([]byte, 32)
	_, _ = rand.Read(macKey)
	mac := func(s string) []byte { m := hmac.New(sha256.New, macKey); m.Write([]byte(s)); return m.Sum(nil) }
	stored := mac(secret) // what a database row would hold
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"ceiling","typ":"at+jwt"}`))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, sec, ok := r.BasicAuth()
		if r.Method != http.MethodPost || r.URL.Path != "/oauth/token" || !ok {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
		id, _ = url.QueryUnescape(id)
		sec, _ = url.QueryUnescape(sec)
		if id != clientID || !hmac.Equal(mac(sec), stored) {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		if r.PostFormValue("grant_type") != "client_credentials" {
			http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
			return
		}
		now := time.Now().Unix()
		claims, _ := json.Marshal(map[string]any{"iss": issuer, "sub": clientID, "aud": []string{issuer},
			"exp": now + 3600, "iat": now, "jti": uuid.Must(uuid.NewV7()).String(), "client_id": clientID,
			"scope": "role:viewer", "tid": tenantID})
		input := header + "." + base64.RawURLEncoding.EncodeToString(claims)
		digest := sha256.Sum256([]byte(input))
		rr, ss, err := ecdsa.Sign(rand.Reader, key, digest[:])
		if err != nil {
			http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
			return
		}
		sig := make([]byte, 64)
		rr.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
		body, _ := json.Marshal(map[string]any{"access_token": input + "." + base64.RawURLEncoding.EncodeToString(sig),
			"token_type": "Bearer", "expires_in": 3600, "scope": "role:viewer", "actor": clientID})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(body)
	})
}
