package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// otherDatabases matches the import and module paths of database drivers
// other than PostgreSQL's: MySQL (go-sql-driver/mysql, ziutek/mymysql,
// gorm.io/driver/mysql), SQL Server (microsoft/go-mssqldb,
// gorm.io/driver/sqlserver) and SQLite (mattn/go-sqlite3, modernc.org/sqlite,
// gorm.io/driver/sqlite). goose and gorm both list them as dependencies of
// their own tests; none may reach the binary.
var otherDatabases = regexp.MustCompile(`(?i)mysql|sqlserver|mssql|sqlite`)

// TestBinaryLinksPostgresOnly: every package the oauthd binary is built
// from (`go list -deps`, the set `go version -m` reports modules of) and
// every module go.mod requires is free of MySQL, SQL Server and SQLite
// drivers, so none of their code ships or runs.
func TestBinaryLinksPostgresOnly(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the binary's packages: %v", err)
	}
	cmd := exec.Command(goTool, "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}", ".")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	postgres := false
	for _, l := range lines {
		if otherDatabases.MatchString(l) {
			t.Errorf("the binary links %s", l)
		}
		postgres = postgres || strings.HasPrefix(l, "github.com/jackc/pgx/v5/stdlib ")
	}
	if len(lines) < 100 || !postgres {
		t.Fatalf("go list -deps named %d packages without pgx's database/sql driver; the listing is not the binary's", len(lines))
	}

	raw, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "//") && otherDatabases.MatchString(l) {
			t.Errorf("go.mod requires %q", strings.TrimSpace(l))
		}
	}
}
