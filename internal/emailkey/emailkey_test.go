package emailkey

import "testing"

func TestOfFoldsBeyondASCII(t *testing.T) {
	same := [][]string{
		{"ÉVA@x.test", "éva@x.test", "E\u0301va@X.TEST", "e\u0301VA@x.test"},
		{"jos\u00e9@example.test", "jose\u0301@EXAMPLE.test", "JOS\u00c9@example.test"},
		{"STRASSE@x.test", "straße@x.test"},
		{"ΣΊΣΥΦΟΣ@x.test", "σίσυφος@x.test", "σίσυφοσ@x.test"},
		{"ADA@EXAMPLE.COM", "ada@example.com"},
	}
	for _, group := range same {
		want := Of(group[0])
		for _, e := range group[1:] {
			if got := Of(e); got != want {
				t.Errorf("Of(%q) = %q, want %q, the key of %q", e, got, want, group[0])
			}
		}
	}
	for _, pair := range [][2]string{{"eva@x.test", "éva@x.test"}, {"ada@example.com", "ada@example.org"}} {
		if Of(pair[0]) == Of(pair[1]) {
			t.Errorf("%q and %q have one key %q; they are different addresses", pair[0], pair[1], Of(pair[0]))
		}
	}
}
