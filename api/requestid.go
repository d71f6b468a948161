package api

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// requestIDAlphabet is what an incoming X-Request-Id may hold to be kept.
const requestIDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."

func plainID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !strings.ContainsRune(requestIDAlphabet, r) {
			return false
		}
	}
	return true
}

func randomRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
