// Package fault is the error vocabulary the domain packages share: a Problem
// has a kind (what went wrong, which the API turns into a status), a stable
// code, a sentence for people, and where in the request it lies. Domains
// return Problems; they never pick HTTP statuses.
package fault

import (
	"errors"
	"strings"
)

// Kind classifies a problem.
type Kind int

// The kinds of problem.
const (
	Invalid   Kind = iota + 1 // the request is well-formed but breaks a rule
	NotFound                  // the thing named does not exist for this caller
	Conflict                  // the request clashes with the current state
	Forbidden                 // the caller may see the thing but not do this
	Malformed                 // the request cannot be understood
	// Unavailable: the thing cannot be done now but may be later
	// (RetryAfter says when); nothing about the request is wrong.
	Unavailable
)

// Problem is one thing wrong with a request.
type Problem struct {
	Kind   Kind
	Code   string
	Detail string
	// Attribute names the attribute at fault, Relationship the relationship
	// (with an index for to-many ones: "components/2"); at most one is set.
	Attribute    string
	Relationship string
	// Parameter names the query parameter at fault.
	Parameter string
	Meta      map[string]any
	// RetryAfter is when an Unavailable problem may clear, in whole
	// seconds from now (at least 1).
	RetryAfter int
}

func (p *Problem) Error() string { return p.Code + ": " + p.Detail }

// With returns a copy of p with a different detail, so a sentinel can carry
// the specifics of one occurrence and still match errors.Is via Is.
func (p *Problem) With(detail string) *Problem {
	c := *p
	c.Detail = detail
	c.Meta = nil
	return &c
}

// Is matches problems by code, so copies made by With match their sentinel.
func (p *Problem) Is(target error) bool {
	var t *Problem
	if errors.As(target, &t) {
		return t.Code == p.Code
	}
	return false
}

// Problems is every problem found in one request, reported at once.
type Problems []*Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// Unwrap exposes each problem, so errors.Is finds a sentinel in a list.
func (ps Problems) Unwrap() []error {
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// Err returns nil when there are no problems.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// Add appends a problem.
func (ps *Problems) Add(p *Problem) { *ps = append(*ps, p) }

// InvalidAttribute is a rule broken by one attribute's value.
func InvalidAttribute(attr, code, detail string) *Problem {
	return &Problem{Kind: Invalid, Code: code, Detail: detail, Attribute: attr}
}

// InvalidRelationship is a rule broken by one relationship.
func InvalidRelationship(rel, code, detail string) *Problem {
	return &Problem{Kind: Invalid, Code: code, Detail: detail, Relationship: rel}
}

// New is a problem with no position in the request.
func New(kind Kind, code, detail string) *Problem {
	return &Problem{Kind: kind, Code: code, Detail: detail}
}

// List flattens err into its problems; ok is false when err is not made of
// problems (an internal error).
func List(err error) (Problems, bool) {
	var ps Problems
	if errors.As(err, &ps) {
		return ps, true
	}
	var p *Problem
	if errors.As(err, &p) {
		return Problems{p}, true
	}
	return nil, false
}

// maxEchoed bounds a name or value echoed back in a problem's detail: a
// request may send a long one, and the answer must not grow with it.
const maxEchoed = 64

// Short is s cut to at most 64 bytes on a rune boundary, the cut marked
// with "…": the one rule for text a problem echoes from the request.
func Short(s string) string {
	if len(s) <= maxEchoed {
		return s
	}
	cut := maxEchoed
	for cut > 0 && s[cut]&0xC0 == 0x80 { // not the first byte of a rune
		cut--
	}
	return s[:cut] + "…"
}
