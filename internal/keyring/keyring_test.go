package keyring

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustKey(t *testing.T, fill byte) []byte {
	t.Helper()
	return bytes.Repeat([]byte{fill}, KeySize)
}

func mustKeyring(t *testing.T, current []byte, previous ...[]byte) *Keyring {
	t.Helper()
	k, err := New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenRoundTrip(t *testing.T) {
	k := mustKeyring(t, mustKey(t, 1))
	for _, plain := range []string{"", "x", "pizza-secret-123456", strings.Repeat("long secret ", 1000)} {
		aad := []byte("tenant-1/client-1")
		ct, id := k.Seal([]byte(plain), aad)
		if id != k.CurrentKeyID() {
			t.Fatalf("sealed with %s, current key is %s", id, k.CurrentKeyID())
		}
		if len(plain) > 3 && bytes.Contains(ct, []byte(plain)) {
			t.Fatalf("ciphertext contains the plaintext")
		}
		got, err := k.Open(ct, id, aad)
		if err != nil || string(got) != plain {
			t.Fatalf("Open = %q, %v; want %q", got, err, plain)
		}
	}
}

func TestSealIsRandomised(t *testing.T) {
	k := mustKeyring(t, mustKey(t, 1))
	a, _ := k.Seal([]byte("same"), []byte("aad"))
	b, _ := k.Seal([]byte("same"), []byte("aad"))
	if bytes.Equal(a, b) {
		t.Fatal("two seals of the same plaintext are identical: the nonce is not fresh")
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := mustKey(t, 1), mustKey(t, 2)
	before := mustKeyring(t, oldKey)
	ct, oldID := before.Seal([]byte("sealed before rotation"), []byte("row"))

	after := mustKeyring(t, newKey, oldKey)
	if after.CurrentKeyID() == oldID {
		t.Fatal("the rotated keyring still seals with the old key")
	}
	got, err := after.Open(ct, oldID, []byte("row"))
	if err != nil || string(got) != "sealed before rotation" {
		t.Fatalf("the old secret does not open after rotation: %q, %v", got, err)
	}
	ct2, newID := after.Seal([]byte("sealed after rotation"), []byte("row"))
	if newID != KeyID(newKey) || newID == oldID {
		t.Fatalf("new seals use key %s, want the new key %s", newID, KeyID(newKey))
	}
	if _, err := after.Open(ct2, newID, []byte("row")); err != nil {
		t.Fatal(err)
	}
	// Once the old key is dropped, what it sealed no longer opens, and says
	// why.
	dropped := mustKeyring(t, newKey)
	if _, err := dropped.Open(ct, oldID, []byte("row")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("opening with a dropped key: %v, want ErrUnknownKey", err)
	}
	// A secret sealed with the new key does not open under the old keyring.
	if _, err := before.Open(ct2, newID, []byte("row")); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old keyring opening a new secret: %v, want ErrUnknownKey", err)
	}
}

func TestOpenFailures(t *testing.T) {
	k := mustKeyring(t, mustKey(t, 1), mustKey(t, 2))
	ct, id := k.Seal([]byte("secret"), []byte("tenant-a/row-1"))
	tampered := bytes.Clone(ct)
	tampered[len(tampered)-1] ^= 1
	cases := []struct {
		name    string
		ct      []byte
		id      string
		aad     string
		unknown bool
	}{
		{"wrong aad (copied to another row)", ct, id, "tenant-a/row-2", false},
		{"wrong aad (another tenant)", ct, id, "tenant-b/row-1", false},
		{"no aad", ct, id, "", false},
		{"unknown key id", ct, "k000000000000", "tenant-a/row-1", true},
		{"empty key id", ct, "", "tenant-a/row-1", true},
		{"the other known key", ct, KeyID(mustKey(t, 2)), "tenant-a/row-1", false},
		{"tampered ciphertext", tampered, id, "tenant-a/row-1", false},
		{"truncated ciphertext", ct[:5], id, "tenant-a/row-1", false},
		{"empty ciphertext", nil, id, "tenant-a/row-1", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := k.Open(c.ct, c.id, []byte(c.aad))
			if err == nil {
				t.Fatalf("Open succeeded with %q", got)
			}
			if c.unknown != errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Open error %v; unknown key expected: %v", err, c.unknown)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Fatalf("error reveals the plaintext: %v", err)
			}
		})
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New accepted a %d-byte key", n)
		}
	}
	if _, err := New(mustKey(t, 1), make([]byte, 16)); err == nil {
		t.Error("New accepted a short previous key")
	}
}

func TestKeyID(t *testing.T) {
	a, b := KeyID(mustKey(t, 1)), KeyID(mustKey(t, 2))
	if a == b || a != KeyID(mustKey(t, 1)) {
		t.Fatalf("key ids not stable and distinct: %s %s", a, b)
	}
	if strings.Contains(a, hex.EncodeToString(mustKey(t, 1))[:8]) {
		t.Fatal("key id reveals the key")
	}
}

func TestParseKey(t *testing.T) {
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(250 - i) // bytes that need + and / in standard base64
	}
	for name, s := range map[string]string{
		"std":          base64.StdEncoding.EncodeToString(raw),
		"raw std":      base64.RawStdEncoding.EncodeToString(raw),
		"url":          base64.URLEncoding.EncodeToString(raw),
		"raw url":      base64.RawURLEncoding.EncodeToString(raw),
		"hex":          hex.EncodeToString(raw),
		"hex upper":    strings.ToUpper(hex.EncodeToString(raw)),
		"spaces round": "  " + base64.StdEncoding.EncodeToString(raw) + "\n",
	} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, raw) {
			t.Errorf("%s: ParseKey(%q) = %x, %v", name, s, got, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(raw[:31]),
		base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), 1)), hex.EncodeToString(raw)[:63] + "g"} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted a malformed key", s)
		}
	}
	k1, k2 := NewKey(), NewKey()
	if k1 == k2 {
		t.Fatal("NewKey repeats itself")
	}
	if _, err := ParseKey(k1); err != nil {
		t.Fatalf("NewKey's output does not parse: %v", err)
	}
}
