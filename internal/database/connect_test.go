package database

import (
	"testing"
	"time"
)

func TestWithConnectTimeout(t *testing.T) {
	cases := map[string]string{
		"postgres://u@h:5432/db?sslmode=disable":                      "postgres://u@h:5432/db?connect_timeout=5&sslmode=disable",
		"postgresql://u@h/db":                                         "postgresql://u@h/db?connect_timeout=5",
		"postgres://u@h/db?connect_timeout=30":                        "postgres://u@h/db?connect_timeout=30",
		"host=h user=u dbname=db":                                     "host=h user=u dbname=db connect_timeout=5",
		"host=h connect_timeout=9":                                    "host=h connect_timeout=9",
		"postgres://u:p%40ss@h/db?sslmode=disable&application_name=x": "postgres://u:p%40ss@h/db?application_name=x&connect_timeout=5&sslmode=disable",
	}
	for in, want := range cases {
		if got := withConnectTimeout(in, 5*time.Second); got != want {
			t.Errorf("withConnectTimeout(%q) = %q, want %q", in, got, want)
		}
	}
}
