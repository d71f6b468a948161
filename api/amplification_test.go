package api_test

// One request must cost a bounded amount, whatever its shape: the answer
// lists at most 20 error objects and one that counts the rest, echoes
// names cut short, and the body's shape is bounded before it is decoded
// into maps. Each case sends a body of nearly the 1 MiB limit.

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

const nearlyOneMiB = 1<<20 - 1024

// membersBody is an api-client create document whose attributes object
// holds as many members made by member(i) as fit in nearly 1 MiB, at most
// most.
func membersBody(most int, member func(i int) string) string {
	var b strings.Builder
	b.WriteString(`{"data":{"type":"api-client","attributes":{`)
	for i := 0; i < most; i++ {
		m := member(i)
		if b.Len()+len(m)+8 > nearlyOneMiB {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m)
	}
	b.WriteString(`}}}`)
	return b.String()
}

// listBody is a member create document whose roles list fills nearly
// 1 MiB with unknown role names of n bytes each (at most 1,000 of them).
func listBody(n int) string {
	var b strings.Builder
	b.WriteString(`{"data":{"type":"member","relationships":{"user":{"data":{"type":"user","id":"00000000-0000-4000-8000-000000000000"}}},` +
		`"attributes":{"permissions":[],"roles":[`)
	for i := 0; b.Len()+n+16 < nearlyOneMiB && i < 1000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"%0*d"`, n, i)
	}
	b.WriteString(`]}}}`)
	return b.String()
}

// allocated is how many bytes the process allocated while do ran, and how
// much more heap it keeps live afterwards (after a collection).
func allocated(do func()) (alloc, kept uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	do()
	runtime.GC()
	runtime.ReadMemStats(&after)
	kept = 0
	if after.HeapAlloc > before.HeapAlloc {
		kept = after.HeapAlloc - before.HeapAlloc
	}
	return after.TotalAlloc - before.TotalAlloc, kept
}

func TestErrorAnswersStaySmall(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cases := []struct {
		name    string
		path    string
		body    string
		status  int
		code    string
		objects int // error objects expected, the more_errors one included
	}{
		// The attack as it was seen: ~90,000 unknown attributes.
		{"90,000 unknown attributes", "/api-clients", membersBody(1<<20, func(i int) string { return fmt.Sprintf(`"a%06d":1`, i) }),
			http.StatusBadRequest, "too_many_members", 1},
		// As many as the shape allows, with names of 1,000 bytes.
		{"1,000 unknown attributes with long names", "/api-clients", membersBody(1000, func(i int) string {
			return fmt.Sprintf(`"%0998d":1`, i)
		}), http.StatusBadRequest, "unknown_attribute", 21},
		{"1,000 unknown roles with long names", "/members", listBody(1000), http.StatusUnprocessableEntity, "unknown_role", 21},
		{"a list beyond the shape's bound", "/members", strings.Replace(listBody(8), `"roles":[`, `"roles":[`+strings.Repeat(`"r",`, 1000), 1),
			http.StatusBadRequest, "too_many_members", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.For(t)
			if len(c.body) >= 1<<20 {
				t.Fatalf("body of %d bytes is over the limit", len(c.body))
			}
			var r *apitest.Response
			alloc, kept := allocated(func() { r = e.Post(tenantPath(tid, c.path), &e.Super, c.body) })
			errs := r.Errors(t)
			expectError(t, r, c.status, c.code, "")
			if len(errs) != c.objects {
				t.Errorf("%d error objects, want %d", len(errs), c.objects)
			}
			if c.objects > 1 {
				last := errs[len(errs)-1]
				meta, _ := last["meta"].(map[string]any)
				if last["code"] != "more_errors" || meta["more"] == nil || meta["more"].(float64) < 900 {
					t.Errorf("last error object %v, want more_errors counting the rest", last)
				}
			}
			// A body of 1 MiB: the answer stays under 16 KiB, the request
			// allocates (server and test client together) under 48 MiB,
			// and no memory stays behind.
			if len(r.Body) > 16<<10 {
				t.Errorf("answer of %d bytes", len(r.Body))
			}
			if alloc > 48<<20 {
				t.Errorf("the request allocated %d MiB", alloc>>20)
			}
			if kept > 8<<20 {
				t.Errorf("%d MiB more heap kept after the request", kept>>20)
			}
			t.Logf("body %d bytes: answer %d bytes, %d error objects, %.1f MiB allocated, %.1f MiB kept",
				len(c.body), len(r.Body), len(errs), float64(alloc)/(1<<20), float64(kept)/(1<<20))
		})
	}
}

// Duplicate member names are refused (parsers disagree on which wins),
// naming the member, escapes decoded ("\u0061" is "a").
func TestDuplicateMembersRefused(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	path := tenantPath(tid, "/api-clients")
	for _, c := range []struct{ body, pointer string }{
		{`{"data":{"type":"api-client","attributes":{"name":"a","name":"b"}}}`, "/data/attributes/name"},
		{`{"data":{"type":"api-client","attributes":{"roles":["viewer"],"rol\u0065s":["owner"]}}}`, "/data/attributes/roles"},
		{`{"data":{"type":"api-client"},"data":{"type":"api-client"}}`, "/data"},
		{`{"data":{"type":"api-client","attributes":{"a/b":1,"a/b":2}}}`, "/data/attributes/a~1b"},
	} {
		r := e.Post(path, &e.Super, c.body)
		o := expectError(t, r, http.StatusBadRequest, "duplicate_member", c.pointer)
		if d, _ := o["detail"].(string); !strings.Contains(d, "twice") {
			t.Errorf("detail %q", d)
		}
	}
}
