package authserver_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/authserver"
)

func TestAccessClaimsJSONNames(t *testing.T) {
	c := claims()
	c.NotBefore = c.IssuedAt
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := []string{"aud", "client_id", "exp", "gid", "iat", "iss", "jti", "nbf", "scope", "sub", "tid", "uid"}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("claim names = %v, want %v", got, want)
	}
	if aud, ok := m["aud"].([]any); !ok || len(aud) != 1 || aud[0] != issuer {
		t.Fatalf("aud = %#v, want [issuer]", m["aud"])
	}
	if m["exp"] != float64(c.Expiry) || m["client_id"] != c.ClientID || m["scope"] != c.Scope || m["tid"] != c.TenantID {
		t.Fatalf("claims = %s", b)
	}

	// A client-credentials token has no grant, user or nbf: they are omitted.
	cc := authserver.AccessClaims{Issuer: issuer, Subject: "o2c_x", Audience: []string{issuer}, Expiry: 2, IssuedAt: 1,
		JTI: authserver.NewJTI(), ClientID: "o2c_x", Scope: "", TenantID: "t"}
	b, _ = json.Marshal(cc)
	m = map[string]any{}
	_ = json.Unmarshal(b, &m)
	for _, absent := range []string{"gid", "uid", "nbf"} {
		if _, ok := m[absent]; ok {
			t.Errorf("%s present in %s", absent, b)
		}
	}
	for _, present := range []string{"scope", "tid", "client_id", "jti", "iat"} {
		if _, ok := m[present]; !ok {
			t.Errorf("%s missing from %s", present, b)
		}
	}
}

func TestAccessClaimsUnmarshal(t *testing.T) {
	c := claims()
	b, _ := json.Marshal(c)
	var back authserver.AccessClaims
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip\n got %+v\nwant %+v", back, c)
	}
	// RFC 7519 allows aud as a single string.
	if err := json.Unmarshal([]byte(`{"aud":"https://a.test","sub":"s","exp":5}`), &back); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back.Audience, []string{"https://a.test"}) || back.Subject != "s" || back.Expiry != 5 || back.Issuer != "" {
		t.Fatalf("string aud: %+v", back)
	}
	if !back.HasAudience("https://a.test") || back.HasAudience("https://b.test") {
		t.Fatal("HasAudience")
	}
	for _, bad := range []string{`{"aud":5}`, `{"exp":"soon"}`, `[]`, `{`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestIssuedAtMillis(t *testing.T) {
	// RFC 9562 Appendix A.6 example: 2022-02-22T19:22:22Z.
	rfc := authserver.AccessClaims{JTI: "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"}
	if got, want := rfc.IssuedAtMillis(), time.Date(2022, 2, 22, 19, 22, 22, 0, time.UTC).UnixMilli(); got != want {
		t.Fatalf("IssuedAtMillis = %d, want %d", got, want)
	}

	before := time.Now().UnixMilli()
	jti := authserver.NewJTI()
	after := time.Now().UnixMilli()
	id, err := uuid.Parse(jti)
	if err != nil || id.Version() != 7 || id.Variant() != uuid.RFC4122 {
		t.Fatalf("NewJTI = %q: not a UUIDv7 (%v)", jti, err)
	}
	if ms := (authserver.AccessClaims{JTI: jti}).IssuedAtMillis(); ms < before || ms > after {
		t.Fatalf("IssuedAtMillis = %d, want within [%d, %d]", ms, before, after)
	}
	if a, b := authserver.NewJTI(), authserver.NewJTI(); a == b {
		t.Fatal("NewJTI repeats")
	}

	for _, jti := range []string{"", "nonsense", uuid.NewString() /* v4 */} {
		if ms := (authserver.AccessClaims{JTI: jti}).IssuedAtMillis(); ms != 0 {
			t.Errorf("IssuedAtMillis(%q) = %d, want 0", jti, ms)
		}
	}
}

func FuzzAccessClaimsUnmarshal(f *testing.F) {
	b, _ := json.Marshal(claims())
	f.Add(b)
	f.Add([]byte(`{"aud":"x"}`))
	f.Add([]byte(`{"aud":null,"exp":1e99}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var c authserver.AccessClaims
		if err := json.Unmarshal(data, &c); err != nil {
			return
		}
		again, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back authserver.AccessClaims
		if err := json.Unmarshal(again, &back); err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("re-encoding %s changed the claims: %s (%v)", data, again, err)
		}
	})
}
