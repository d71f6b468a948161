package apitest

import (
	"bytes"
	"net/url"

	"golang.org/x/net/html"
)

// Form is one HTML form of a page, as a browser would post it back: where
// it posts, the values of its named inputs (hidden ones included), and its
// submit buttons' name=value pairs.
type Form struct {
	Action  string
	Values  url.Values
	Buttons map[string][]string
}

// Forms parses the forms of an HTML page.
func Forms(page []byte) ([]Form, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, err
	}
	return FormsOf(doc), nil
}

// FormsOf lists the forms of a parsed page.
func FormsOf(doc *html.Node) []Form {
	var out []Form
	var cur *Form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				out = append(out, Form{Action: attr(n, "action"), Values: url.Values{}, Buttons: map[string][]string{}})
				cur = &out[len(out)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input":
				if cur != nil && attr(n, "name") != "" {
					cur.Values.Add(attr(n, "name"), attr(n, "value"))
				}
			case "button":
				if cur != nil && attr(n, "name") != "" {
					cur.Buttons[attr(n, "name")] = append(cur.Buttons[attr(n, "name")], attr(n, "value"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if doc != nil {
		walk(doc)
	}
	return out
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}
