package jsonw_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/oauthd/oauthd/internal/jsonw"
)

var tricky = []string{
	"", "plain", `quote " and backslash \`, "new\nline\r\ttab\b\f", "\x00\x01\x1f\x7f", "<script>&amp;</script>",
	"\u2028\u2029", "héllo wörld ✓ 😀", "bad \xff utf-8 \xc3", "\xed\xa0\x80 surrogate half", "/slash/",
}

// Every string comes out as encoding/json writes it, byte for byte, and
// decodes back to what encoding/json decodes from its own output.
func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	for _, s := range tricky {
		want, _ := json.Marshal(s)
		got := jsonw.AppendString(nil, s)
		if string(got) != string(want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil || (utf8.ValidString(s) && back != s) {
			t.Errorf("%q: decodes to %q (%v)", s, back, err)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range tricky {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := jsonw.AppendString(nil, s); string(got) != string(want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
	})
}

func TestObject(t *testing.T) {
	o := jsonw.Open([]byte("x"))
	o.Bool("active", true)
	o.String("scope", "a b")
	o.Int("exp", -12)
	o.Strings("aud", []string{"u", `"v"`})
	o.Strings("none", nil)
	got := string(o.Close())
	if want := `x{"active":true,"scope":"a b","exp":-12,"aud":["u","\"v\""],"none":[]}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}
