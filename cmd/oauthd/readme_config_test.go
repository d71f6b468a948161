package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/internal/config"
)

// readmeConfigRow is a row of the README's configuration table:
// | `OAUTHD_NAME` | default | meaning |.
var readmeConfigRow = regexp.MustCompile("^\\| `(OAUTHD_[A-Z_]+)` \\| ([^|]+) \\| (.+) \\|$")

// TestReadmeConfigurationTable: the README's configuration table has a row
// for every variable `oauthd serve --help` lists (config.Variables), and
// for no other OAUTHD_ variable, each once, with the default serve --help
// shows; a variable without a default says so ("empty", "—" when required,
// `false` for a switch) or, when --help names a computed default, names it.
func TestReadmeConfigurationTable(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(raw), "\n## Configuration\n")
	if !found {
		t.Fatal("the README has no ## Configuration section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	rows := map[string]string{}
	for _, l := range strings.Split(section, "\n") {
		m := readmeConfigRow.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if _, twice := rows[m[1]]; twice {
			t.Errorf("%s has two rows in the README's configuration table", m[1])
		}
		rows[m[1]] = strings.TrimSpace(m[2])
	}
	known := map[string]bool{}
	for _, v := range config.Variables() {
		known[v.Name] = true
		def, ok := rows[v.Name]
		switch {
		case !ok:
			t.Errorf("%s (in serve --help) has no row in the README's configuration table", v.Name)
		case v.Default != "":
			if !strings.HasPrefix(def, "`"+v.Default+"`") {
				t.Errorf("%s: the README's default is %q, serve --help's is %s", v.Name, def, v.Default)
			}
		case strings.Contains(v.Help, "default "):
			if def == "" || strings.HasPrefix(def, "empty") || strings.HasPrefix(def, "—") {
				t.Errorf("%s: serve --help names a computed default (%q), the README's says %q", v.Name, v.Help, def)
			}
		case !strings.HasPrefix(def, "empty") && !strings.HasPrefix(def, "— (required)") && !strings.HasPrefix(def, "`false`"):
			t.Errorf("%s has no default in serve --help, but the README's is %q", v.Name, def)
		}
	}
	for name := range rows {
		if !known[name] {
			t.Errorf("the README's configuration table has %s, which oauthd does not read", name)
		}
	}
}

// docsVariable and docsMetric find the configuration variables and the
// metrics the documentation names.
var (
	docsVariable = regexp.MustCompile(`\bOAUTHD_[A-Z][A-Z_]*[A-Z]\b`)
	docsMetric   = regexp.MustCompile(`\boauthd_[a-z_]+_(?:total|seconds|queued)\b`)
)

// TestDocsNameOnlyWhatExists: every OAUTHD_ variable the README and docs/
// name is one oauthd reads (serve --help lists it) or one of the tests'
// (OAUTHD_TEST_…), and every oauthd_… metric they name is a name the code
// registers (a string literal in a non-test Go file), so neither outlives
// a rename or a removal.
func TestDocsNameOnlyWhatExists(t *testing.T) {
	root := filepath.Join("..", "..")
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, filepath.Join(root, "README.md"))
	known := map[string]bool{}
	for _, v := range config.Variables() {
		known[v.Name] = true
	}
	var source strings.Builder
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			source.Write(raw)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code := source.String()
	metrics := 0
	for _, doc := range docs {
		raw, err := os.ReadFile(doc)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(doc)
		for _, v := range docsVariable.FindAllString(string(raw), -1) {
			if !known[v] && !strings.HasPrefix(v, "OAUTHD_TEST_") {
				t.Errorf("%s names %s, which oauthd does not read", name, v)
			}
		}
		for _, m := range docsMetric.FindAllString(string(raw), -1) {
			metrics++
			if !strings.Contains(code, `"`+m+`"`) {
				t.Errorf("%s names the metric %s, which no code registers", name, m)
			}
		}
	}
	if metrics == 0 {
		t.Fatal("the docs name no metric; the pattern is wrong")
	}
}
