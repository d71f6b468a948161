package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/jsontext"
)

// resourceDoc is a request resource decoded strictly: the type checked, the
// attribute and relationship names known, each value still raw so that its
// own type error can name its own pointer.
type resourceDoc struct {
	Type          string
	ID            *string
	attributes    map[string]json.RawMessage
	relationships map[string]json.RawMessage
	problems      fault.Problems // malformed values found while reading
}

// schema says what a resource type accepts in a request.
type schema struct {
	Type          string
	Attributes    []string
	Relationships []string
}

// malformed is a 400 at pointer; "" (the whole document) has no source,
// as an empty source object would name nothing.
func malformed(pointer, code, detail string) *apiError {
	return pointerError(http.StatusBadRequest, pointer, code, detail)
}

// documentLimits bound a request document before it is decoded into maps
// (a component descriptor has its own, tighter depth rule, a 422):
// no JSON:API document of this API comes near them, and within them a
// 1 MiB body costs a bounded amount of work and memory however it is
// shaped (the error answer is capped too, see capObjects).
var documentLimits = jsontext.Limits{Depth: 64, Members: 1000}

// decodeDocument reads a JSON:API request document holding one resource of
// the schema's type. It reports, at once, every unknown member; a wrong type
// is a 409 naming the expected type.
func decodeDocument(body []byte, s schema) (*resourceDoc, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, malformed("", "body_required", "the request needs a JSON:API document with a data member")
	}
	// Syntax first, without building anything: a RawMessage is one copy.
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, malformed("", "invalid_json", "the body is not a JSON object: "+jsonErrorText(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed("", "trailing_data", "the body has data after the JSON document")
	}
	if kind := jsonKind(raw); kind != "object" {
		return nil, malformed("", "invalid_json", "the body must be a JSON object, not "+kind)
	}
	if is := jsontext.Check(raw, documentLimits); is != nil {
		return nil, malformed(is.Pointer, is.Code, is.Detail)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, malformed("", "invalid_json", "the body is not a JSON object: "+jsonErrorText(err))
	}
	var e apiError
	for k := range top {
		if k != "data" && k != "meta" && k != "jsonapi" {
			e.add(badMember("/"+jsontext.PointerToken(fault.Short(k)), "unknown_member", fmt.Sprintf("%q is not a member this API accepts at the top level", fault.Short(k))))
		}
	}
	rawData, ok := top["data"]
	if !ok || isNull(rawData) {
		e.add(badMember("/data", "data_required", "the document needs a data member holding one resource object"))
		e.status = http.StatusBadRequest
		return nil, &e
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(rawData, &data); err != nil {
		e.add(badMember("/data", "invalid_data", "data must be a resource object"))
		e.status = http.StatusBadRequest
		return nil, &e
	}
	doc := &resourceDoc{}
	for k, v := range data {
		switch k {
		case "type":
			if json.Unmarshal(v, &doc.Type) != nil {
				e.add(badMember("/data/type", "wrong_type", "type must be a string"))
			}
		case "id":
			var id string
			if json.Unmarshal(v, &id) != nil {
				e.add(badMember("/data/id", "wrong_type", "id must be a string"))
			}
			doc.ID = &id
		case "attributes":
			if json.Unmarshal(v, &doc.attributes) != nil || isNull(v) {
				e.add(badMember("/data/attributes", "wrong_type", "attributes must be an object"))
			}
		case "relationships":
			if json.Unmarshal(v, &doc.relationships) != nil || isNull(v) {
				e.add(badMember("/data/relationships", "wrong_type", "relationships must be an object"))
			}
		case "meta", "links":
		default:
			e.add(badMember("/data/"+jsontext.PointerToken(fault.Short(k)), "unknown_member", fmt.Sprintf("%q is not a member of a resource object", fault.Short(k))))
		}
	}
	if _, ok := data["type"]; !ok {
		e.add(badMember("/data/type", "type_required", fmt.Sprintf("data.type is required and must be %q", s.Type)))
	}
	for k := range doc.attributes {
		if !slices.Contains(s.Attributes, k) {
			e.add(badMember("/data/attributes/"+jsontext.PointerToken(fault.Short(k)), "unknown_attribute",
				fmt.Sprintf("%q is not an attribute of %s; accepted: %s", fault.Short(k), s.Type, listOrNone(s.Attributes))))
		}
	}
	for k := range doc.relationships {
		if !slices.Contains(s.Relationships, k) {
			e.add(badMember("/data/relationships/"+jsontext.PointerToken(fault.Short(k)), "unknown_relationship",
				fmt.Sprintf("%q is not a relationship of %s; accepted: %s", fault.Short(k), s.Type, listOrNone(s.Relationships))))
		}
	}
	if len(e.objects) > 0 {
		e.status = http.StatusBadRequest
		return nil, &e
	}
	if doc.Type != s.Type {
		return nil, pointerError(http.StatusConflict, "/data/type", "type_mismatch",
			fmt.Sprintf("type is %q but this endpoint takes %q", fault.Short(doc.Type), s.Type))
	}
	return doc, nil
}

func badMember(pointer, code, detail string) errorObject {
	return errorObject{Status: "400", Code: code, Title: http.StatusText(http.StatusBadRequest), Detail: detail,
		Source: &errorSource{Pointer: pointer}}
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "expected an object, found " + te.Value
	}
	return err.Error()
}

func (d *resourceDoc) wrongType(attr, want string) {
	d.problems.Add(&fault.Problem{Kind: fault.Malformed, Code: "wrong_type", Detail: attr + " must be " + want, Attribute: attr})
}

// has reports whether the attribute is present (even as null).
func (d *resourceDoc) has(attr string) bool { _, ok := d.attributes[attr]; return ok }

// str reads a string attribute; nil when absent.
func (d *resourceDoc) str(attr string) *string {
	raw, ok := d.attributes[attr]
	if !ok {
		return nil
	}
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		d.wrongType(attr, "a string")
		return nil
	}
	return &s
}

// strOrEmpty reads a string attribute, "" when absent.
func (d *resourceDoc) strOrEmpty(attr string) string {
	if s := d.str(attr); s != nil {
		return *s
	}
	return ""
}

// boolean reads a boolean attribute; nil when absent.
func (d *resourceDoc) boolean(attr string) *bool {
	raw, ok := d.attributes[attr]
	if !ok {
		return nil
	}
	var b bool
	if isNull(raw) || json.Unmarshal(raw, &b) != nil {
		d.wrongType(attr, "true or false")
		return nil
	}
	return &b
}

// strings reads an array-of-strings attribute; nil when absent.
func (d *resourceDoc) strings(attr string) *[]string {
	raw, ok := d.attributes[attr]
	if !ok {
		return nil
	}
	var list []string
	if isNull(raw) || json.Unmarshal(raw, &list) != nil {
		d.wrongType(attr, "an array of strings")
		return nil
	}
	if list == nil {
		list = []string{}
	}
	return &list
}

// object reads a JSON-object attribute, raw; nil when absent.
func (d *resourceDoc) object(attr string) json.RawMessage {
	raw, ok := d.attributes[attr]
	if !ok {
		return nil
	}
	var m map[string]json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &m) != nil {
		d.wrongType(attr, "a JSON object")
		return nil
	}
	return raw
}

type linkage struct {
	Type *string `json:"type"`
	ID   *string `json:"id"`
}

// readLinkage checks one resource identifier object; it returns the id.
func (d *resourceDoc) readLinkage(raw json.RawMessage, pointer, rel, want string) (string, bool) {
	var l linkage
	if json.Unmarshal(raw, &l) != nil || l.Type == nil || l.ID == nil {
		d.problems.Add(&fault.Problem{Kind: fault.Malformed, Code: "invalid_linkage",
			Detail: fmt.Sprintf("%s must be a resource identifier {\"type\":%q,\"id\":\"...\"}", pointer, want), Relationship: rel})
		return "", false
	}
	if *l.Type != want {
		d.problems.Add(&fault.Problem{Kind: fault.Conflict, Code: "type_mismatch",
			Detail: fmt.Sprintf("type is %q but %s takes %q", *l.Type, rel, want), Relationship: rel})
		return "", false
	}
	return *l.ID, true
}

// toOne reads a to-one relationship's id; nil when the relationship is absent.
func (d *resourceDoc) toOne(rel, want string) *string {
	raw, ok := d.relationships[rel]
	if !ok {
		return nil
	}
	var obj struct {
		Data json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &obj) != nil || obj.Data == nil || isNull(obj.Data) {
		d.problems.Add(&fault.Problem{Kind: fault.Malformed, Code: "invalid_relationship",
			Detail: fmt.Sprintf("%s must be {\"data\":{\"type\":%q,\"id\":\"...\"}}", rel, want), Relationship: rel + "/"})
		return nil
	}
	id, ok := d.readLinkage(obj.Data, "relationships."+rel+".data", rel, want)
	if !ok {
		return nil
	}
	return &id
}

// toMany reads a to-many relationship's ids; nil when absent.
func (d *resourceDoc) toMany(rel, want string) *[]string {
	raw, ok := d.relationships[rel]
	if !ok {
		return nil
	}
	var obj struct {
		Data []json.RawMessage `json:"data"`
	}
	if json.Unmarshal(raw, &obj) != nil || obj.Data == nil {
		d.problems.Add(&fault.Problem{Kind: fault.Malformed, Code: "invalid_relationship",
			Detail: fmt.Sprintf("%s must be {\"data\":[{\"type\":%q,\"id\":\"...\"}, ...]}", rel, want), Relationship: rel + "/"})
		return nil
	}
	ids := make([]string, 0, len(obj.Data))
	for i, item := range obj.Data {
		if id, ok := d.readLinkage(item, "relationships."+rel+".data["+strconv.Itoa(i)+"]", rel+"/"+strconv.Itoa(i), want); ok {
			ids = append(ids, id)
		}
	}
	return &ids
}

// err returns what reading the values found wrong, nil if nothing.
func (d *resourceDoc) err() error { return d.problems.Err() }

// jsonKind names the kind of a JSON value by its first byte.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "empty"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
