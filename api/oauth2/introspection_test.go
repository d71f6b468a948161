package oauth2

import (
	"encoding/json"
	"io"
	"reflect"
	"testing"
)

// introspectionAnswers are answers of every kind, strings that need
// escaping among them.
var introspectionAnswers = map[string]*introspection{
	"inactive": {Active: false},
	"client credentials": {Active: true, Scope: "role:viewer", ClientID: "o2c_abcdefghijklmnopqrstuvwx", Sub: "o2c_abcdefghijklmnopqrstuvwx",
		Exp: 1765000000, Iat: 1764996400, Iss: "https://auth.example.com", Aud: []string{"https://auth.example.com"},
		JTI: "0190f0e2-0000-7000-8000-000000000001", TokenType: "Bearer", TenantID: "0190f0e2-0000-7000-8000-0000000000aa"},
	"user token": {Active: true, Scope: "tenants.flows.get tenants.flows.edit offline_access", ClientID: "o2c_web",
		Sub: "0190f0e2-0000-7000-8000-000000000042", Exp: 1765000000, Iat: 1764999100, Iss: "http://127.0.0.1:8080",
		Aud: []string{"http://127.0.0.1:8080", "https://api.example.com"}, JTI: "0190f0e2-0000-7000-8000-000000000002",
		TokenType: "Bearer", TenantID: "0190f0e2-0000-7000-8000-0000000000bb"},
	"needs escaping": {Active: true, Scope: "quote\" back\\slash <b>&amp; \u2028 ünï \x01\t\n", ClientID: "o2c_\"x\"",
		Sub: "sub/with/slashes", Exp: 1, Iat: -1, Iss: "https://auth.example.com/?a=1&b=<2>", Aud: []string{"", "\"", "\\"},
		JTI: "jti", TokenType: "Bearer", TenantID: "t\u00e9n"},
	"empty audience list": {Active: true, Scope: "s", Aud: []string{}},
}

// The hand-written answer is valid JSON holding exactly the RFC 7662
// members encoding/json wrote before, with the same values.
func TestIntrospectionAnswerMatchesEncodingJSON(t *testing.T) {
	for name, in := range introspectionAnswers {
		t.Run(name, func(t *testing.T) {
			got := in.appendJSON(nil)
			if !json.Valid(got) {
				t.Fatalf("not JSON: %s", got)
			}
			old, err := json.Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(old) {
				t.Errorf("bytes differ:\n got %s\nwant %s", got, old)
			}
			var gm, om map[string]any
			if err := json.Unmarshal(got, &gm); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(old, &om); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(gm, om) {
				t.Fatalf("decoded %v, before %v", gm, om)
			}
		})
	}
}

// BenchmarkIntrospectionAnswer encodes an active client-credentials answer
// as echo's c.JSON did (a json.Encoder on the response; before) and by
// hand (now), and, for comparison, with json.Marshal.
func BenchmarkIntrospectionAnswer(b *testing.B) {
	in := introspectionAnswers["client credentials"]
	b.Run("encoder=echo-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := json.NewEncoder(io.Discard).Encode(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoder=json-marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoder=hand-written", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bp := answerBuffers.Get().(*[]byte)
			*bp = in.appendJSON((*bp)[:0])
			answerBuffers.Put(bp)
		}
	})
}

// The token endpoint's answer is written by hand too: the same bytes as
// encoding/json's, with and without a refresh token.
func TestTokenAnswerMatchesEncodingJSON(t *testing.T) {
	for _, r := range []tokenResponse{
		{AccessToken: "eyJ.a.b", TokenType: "Bearer", ExpiresIn: 3600, Scope: "role:viewer", Actor: "o2c_x"},
		{AccessToken: "eyJ.c.d", TokenType: "Bearer", ExpiresIn: 300, Scope: "a \"b\" <c>", RefreshToken: "rt_1", Actor: "o2c_\u2028"},
		{TokenType: "Bearer"},
	} {
		old, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.appendJSON(nil); string(got) != string(old) || !json.Valid(got) {
			t.Errorf("got %s, want %s", got, old)
		}
	}
}
