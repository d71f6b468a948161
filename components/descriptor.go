package components

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/jsontext"
)

// maxDescriptorDepth keeps descriptors to the shape component.json has and
// far from Postgres' jsonb nesting limits.
const maxDescriptorDepth = 32

// Descriptor is the part of component.json oauthd reads.
type Descriptor struct {
	UseOAuthClient bool
	// OAuth2 is the oauth2 block, read at the top level (elastic.io's OAuth
	// clients management docs) or under credentials (where elastic.io's
	// component.json files keep it); nil when there is none.
	OAuth2 *OAuth2Block
	// EnvVars are the names the envVars object declares, sorted.
	EnvVars []string
}

// ParseDescriptor validates a component.json document. Every field is
// optional; the ones present must have the documented types. It reports
// every problem at once, each at its own pointer under descriptor.
func ParseDescriptor(raw json.RawMessage, global bool) (Descriptor, fault.Problems) {
	var ps fault.Problems
	var d Descriptor
	if len(raw) == 0 {
		return d, nil
	}
	// Go would quietly turn bad UTF-8 and lone surrogate escapes into
	// U+FFFD; the raw text is what is stored, and jsonb refuses both.
	if !utf8.Valid(raw) || hasLoneSurrogate(raw) {
		ps.Add(fault.InvalidAttribute("descriptor", "invalid_string", "descriptor must be valid UTF-8 without lone surrogate escapes such as \\ud800"))
		return d, ps
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		ps.Add(fault.InvalidAttribute("descriptor", "invalid_descriptor", "descriptor must be a JSON object"))
		return d, ps
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		ps.Add(fault.InvalidAttribute("descriptor", "invalid_descriptor", "descriptor must be one JSON object with nothing after it"))
		return d, ps
	}
	top, ok := doc.(map[string]any)
	if !ok {
		ps.Add(fault.InvalidAttribute("descriptor", "invalid_descriptor", "descriptor must be a JSON object"))
		return d, ps
	}
	checkValues(&ps, "descriptor", doc, 0)
	if len(ps) > 0 {
		return d, ps
	}
	if v, ok := top["useOAuthClient"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			ps.Add(fault.InvalidAttribute("descriptor/useOAuthClient", "wrong_type", "descriptor.useOAuthClient must be true or false"))
		}
		d.UseOAuthClient = b
	}
	if v, ok := top["envVars"]; ok {
		d.EnvVars = checkEnvVars(&ps, v)
	}
	d.OAuth2 = readOAuth2(&ps, top, d.EnvVars, global)
	if d.UseOAuthClient && len(ps) == 0 {
		if _, p := d.Link(); p != nil {
			ps.Add(p)
		}
	}
	return d, ps
}

// checkValues rejects what jsonb cannot store or what would make the
// descriptor unreasonable: NUL characters, numbers out of range, deep nesting.
func checkValues(ps *fault.Problems, path string, v any, depth int) {
	if depth > maxDescriptorDepth {
		ps.Add(fault.InvalidAttribute("descriptor", "too_deep", fmt.Sprintf("descriptor nests deeper than %d levels", maxDescriptorDepth)))
		return
	}
	switch x := v.(type) {
	case string:
		if strings.ContainsRune(x, 0) || !utf8.ValidString(x) {
			ps.Add(fault.InvalidAttribute(path, "invalid_string", strings.ReplaceAll(path, "/", ".")+" must be valid UTF-8 without NUL characters"))
		}
	case json.Number:
		if !storableNumber(string(x)) {
			ps.Add(fault.InvalidAttribute(path, "number_out_of_range", strings.ReplaceAll(path, "/", ".")+" is a number out of range"))
		}
	case map[string]any:
		for k, child := range x {
			if strings.ContainsRune(k, 0) || !utf8.ValidString(k) {
				ps.Add(fault.InvalidAttribute(path, "invalid_key", strings.ReplaceAll(path, "/", ".")+" has a key with a NUL character"))
				continue
			}
			checkValues(ps, path+"/"+escapePointer(k), child, depth+1)
		}
	case []any:
		for i, child := range x {
			checkValues(ps, path+"/"+strconv.Itoa(i), child, depth+1)
		}
	}
}

// Bounds on descriptor numbers: a float64 reads them, and Postgres' numeric
// (under jsonb) refuses exponents far outside these, e.g. 1e-100000.
const (
	maxNumberLength   = 100
	maxNumberExponent = 1000
)

// storableNumber reports whether a JSON number is finite as a float64 and
// small enough in length and exponent for jsonb.
func storableNumber(s string) bool {
	if len(s) > maxNumberLength {
		return false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(s[i+1:])
		if err != nil || exp > maxNumberExponent || exp < -maxNumberExponent {
			return false
		}
	}
	return true
}

// hasLoneSurrogate reports whether JSON text holds a \u escape of a UTF-16
// surrogate that is not part of a high-low pair.
func hasLoneSurrogate(raw []byte) bool {
	at, _ := jsontext.LoneSurrogate(raw)
	return at >= 0
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// checkEnvVars validates the envVars object and returns the names it
// declares, sorted.
func checkEnvVars(ps *fault.Problems, v any) []string {
	vars, ok := v.(map[string]any)
	if !ok {
		ps.Add(fault.InvalidAttribute("descriptor/envVars", "wrong_type", "descriptor.envVars must be an object of variable name to definition"))
		return nil
	}
	names := slices.Sorted(maps.Keys(vars))
	for name, def := range vars {
		path := "descriptor/envVars/" + escapePointer(name)
		obj, ok := def.(map[string]any)
		if !ok {
			ps.Add(fault.InvalidAttribute(path, "wrong_type", "descriptor.envVars."+name+" must be an object such as {\"required\":true,\"description\":\"...\"}"))
			continue
		}
		if r, ok := obj["required"]; ok {
			if _, isBool := r.(bool); !isBool {
				ps.Add(fault.InvalidAttribute(path+"/required", "wrong_type", "descriptor.envVars."+name+".required must be true or false"))
			}
		}
		if d, ok := obj["description"]; ok {
			if _, isStr := d.(string); !isStr {
				ps.Add(fault.InvalidAttribute(path+"/description", "wrong_type", "descriptor.envVars."+name+".description must be a string"))
			}
		}
	}
	return names
}
