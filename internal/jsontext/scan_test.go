package jsontext_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/internal/jsontext"
)

func TestCheck(t *testing.T) {
	lim := jsontext.Limits{Depth: 4, Members: 3}
	for _, c := range []struct {
		doc, pointer, code string
	}{
		{`{"a":1,"b":[1,2,3],"c":{"d":"e"}}`, "", ""},
		{`{"a":1,"a":2}`, "/a", "duplicate_member"},
		{`{"a":{"x":1},"b":{"x":1}}`, "", ""}, // the same name in two objects
		{`{"a":{"b":1,"\u0062":2}}`, "/a/b", "duplicate_member"},
		{`{"a/b":1,"a/b":1}`, "/a~1b", "duplicate_member"},
		{`{"a":1,"b":2,"c":3,"d":4}`, "", "too_many_members"},
		{`{"a":[1,2,3,4]}`, "/a", "too_many_members"},
		{`{"a":[[],[],[],{}]}`, "/a", "too_many_members"},
		{`{"a":[[{"b":[]}]]}`, "/a/0/0/b", "too_deep"},
		{`{"a":"x\ud800"}`, "/a", "invalid_text"},
		{"{\"a\":[\"ok\",\"\xff\"]}", "/a/1", "invalid_text"},
		{`{"a\udc00":1}`, "", "invalid_text"},
		{`{"s":"a \" , ] } \\"}`, "", ""}, // delimiters inside strings
		{`[1,true,null,"x"]`, "", "too_many_members"},
	} {
		if !json.Valid([]byte(c.doc)) && !strings.Contains(c.doc, "\xff") {
			t.Fatalf("test document %s is not JSON", c.doc)
		}
		is := jsontext.Check([]byte(c.doc), lim)
		switch {
		case c.code == "" && is != nil:
			t.Errorf("%s: %+v, want nothing", c.doc, is)
		case c.code != "" && (is == nil || is.Code != c.code || is.Pointer != c.pointer):
			t.Errorf("%s: %+v, want %s at %q", c.doc, is, c.code, c.pointer)
		}
	}
}
