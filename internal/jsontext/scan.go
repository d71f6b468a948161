package jsontext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oauthd/oauthd/internal/fault"
)

// Limits bound what one request document may hold, so that the work and
// memory spent on it are bounded before anything decodes it into maps.
type Limits struct {
	// Depth is the deepest nesting of objects and arrays.
	Depth int
	// Members is the most members one object, or elements one array, may
	// hold.
	Members int
}

// Issue is the first thing wrong with a document: where (a JSON pointer,
// RFC 6901), a stable code and a sentence.
type Issue struct {
	Pointer string
	Code    string
	Detail  string
}

// Check walks a document that json.Valid accepts, in one pass that
// allocates only for the member names of the objects still open, and
// returns the first issue: nesting deeper than lim.Depth, a container
// larger than lim.Members, a member name given twice in one object (JSON
// parsers disagree on which wins; RFC 8259 §4 says names SHOULD be
// unique), or a string that is not UTF-8 or holds a lone UTF-16 surrogate
// escape (Go would silently rewrite it; RFC 7493 forbids it). Nil when
// there is none.
func Check(doc []byte, lim Limits) *Issue {
	w := walker{doc: doc, lim: lim}
	return w.run()
}

type frame struct {
	object  bool
	wantKey bool
	key     string // the current member's name (objects)
	count   int    // members or elements so far
	names   map[string]struct{}
}

type walker struct {
	doc   []byte
	lim   Limits
	stack []*frame
}

// pointer is the JSON pointer of the current position; withLast includes
// the innermost frame's member or element.
func (w *walker) pointer(withLast bool) string {
	var b strings.Builder
	for i, f := range w.stack {
		if i == len(w.stack)-1 && !withLast {
			break
		}
		b.WriteByte('/')
		if f.object {
			b.WriteString(PointerToken(f.key))
		} else {
			b.WriteString(strconv.Itoa(f.count - 1))
		}
	}
	return b.String()
}

// PointerToken escapes a member name for a JSON pointer (RFC 6901 §3).
func PointerToken(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
}

// value notes that a value starts: in an array, one more element.
func (w *walker) value() *Issue {
	if len(w.stack) == 0 {
		return nil
	}
	top := w.stack[len(w.stack)-1]
	if top.object {
		return nil
	}
	top.count++
	if top.count > w.lim.Members {
		top.count-- // the pointer names the array itself
		return &Issue{Pointer: w.pointer(false), Code: "too_many_members",
			Detail: fmt.Sprintf("an array in a request may hold at most %d elements", w.lim.Members)}
	}
	return nil
}

func (w *walker) run() *Issue {
	doc := w.doc
	for i := 0; i < len(doc); {
		switch c := doc[i]; c {
		case ' ', '\t', '\n', '\r', ':':
			i++
		case ',':
			if top := w.stack[len(w.stack)-1]; top.object {
				top.wantKey = true
			}
			i++
		case '{', '[':
			if is := w.value(); is != nil {
				return is
			}
			if len(w.stack) >= w.lim.Depth {
				return &Issue{Pointer: w.pointer(true), Code: "too_deep",
					Detail: fmt.Sprintf("a request document may nest objects and arrays at most %d deep", w.lim.Depth)}
			}
			f := &frame{object: c == '{', wantKey: c == '{'}
			if f.object {
				f.names = map[string]struct{}{}
			}
			w.stack = append(w.stack, f)
			i++
		case '}', ']':
			w.stack = w.stack[:len(w.stack)-1]
			i++
		case '"':
			end := stringEnd(doc, i)
			if is := w.str(doc[i : end+1]); is != nil {
				return is
			}
			i = end + 1
		default: // a number, true, false or null
			if is := w.value(); is != nil {
				return is
			}
			for i < len(doc) && bytes.IndexByte([]byte(",]} \t\n\r"), doc[i]) < 0 {
				i++
			}
		}
	}
	return nil
}

// str handles one string token (quotes included): a member name or a value.
func (w *walker) str(raw []byte) *Issue {
	var top *frame
	if len(w.stack) > 0 {
		top = w.stack[len(w.stack)-1]
	}
	isKey := top != nil && top.object && top.wantKey
	if !isKey {
		if is := w.value(); is != nil {
			return is
		}
	}
	if problem := textProblem(raw); problem != "" {
		where := w.pointer(!isKey) // a bad name: the object that holds it
		return &Issue{Pointer: where, Code: "invalid_text", Detail: "the string at " + strconv.Quote(display(where)) + " " + problem}
	}
	if !isKey {
		return nil
	}
	name := memberName(raw)
	top.wantKey = false
	top.key = name
	if _, dup := top.names[name]; dup {
		return &Issue{Pointer: w.pointer(true), Code: "duplicate_member",
			Detail: fmt.Sprintf("member %q is given twice in one object; give each member once", fault.Short(name))}
	}
	top.count++
	if top.count > w.lim.Members {
		return &Issue{Pointer: w.pointer(false), Code: "too_many_members",
			Detail: fmt.Sprintf("an object in a request may hold at most %d members", w.lim.Members)}
	}
	top.names[name] = struct{}{}
	return nil
}

// stringEnd is the index of the quote that closes the string opened at
// start (the document is valid JSON).
func stringEnd(doc []byte, start int) int {
	for i := start + 1; i < len(doc); i++ {
		switch doc[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return len(doc) - 1
}

// memberName is a member name as JSON means it: escapes decoded, so "a"
// and "\u0061" are the same name.
func memberName(raw []byte) string {
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner)
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(inner)
	}
	return s
}

func display(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// textProblem says what is wrong with the raw bytes of one JSON string
// token, or "" when nothing is.
func textProblem(raw []byte) string {
	if !utf8.Valid(raw) {
		return "is not valid UTF-8"
	}
	at, high := LoneSurrogate(raw)
	switch {
	case at < 0:
		return ""
	case high:
		return "holds a lone high surrogate escape (\\u" + string(raw[at+2:at+6]) + ")"
	}
	return "holds a lone low surrogate escape (\\u" + string(raw[at+2:at+6]) + ")"
}
