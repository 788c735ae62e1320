package vault

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func newVault(t *testing.T) (*Vault, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cfg", "qtc", "key")
	v, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return v, path
}

func TestDefaultKeyPath(t *testing.T) {
	tests := []struct{ xdg, home, want string }{
		{"/xdg/cfg", "/home/u", "/xdg/cfg/qtc/key"},
		{"", "/home/u", "/home/u/.config/qtc/key"},
		{"relative", "/home/u", "/home/u/.config/qtc/key"},
	}
	for _, tt := range tests {
		t.Setenv("XDG_CONFIG_HOME", tt.xdg)
		t.Setenv("HOME", tt.home)
		if got, err := DefaultKeyPath(); err != nil || got != tt.want {
			t.Errorf("DefaultKeyPath() with XDG %q = %q, %v; want %q", tt.xdg, got, err, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	v, path := newVault(t)
	tests := []struct {
		name  string
		plain []byte
		aad   string
	}{
		{"password", []byte("s3cr3t-P@ssw0rd"), "connector/prod/password"},
		{"empty", []byte{}, "connector/prod/password"},
		{"binary", []byte{0, 1, 2, 255}, "connector/x/clientSecret"},
		{"long", bytes.Repeat([]byte("secret"), 10000), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := v.Seal(tt.plain, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(sealed, "v1:") {
				t.Fatalf("sealed %q lacks v1: prefix", sealed)
			}
			if len(tt.plain) > 3 && strings.Contains(sealed, string(tt.plain)) {
				t.Fatal("sealed value contains the plaintext")
			}
			raw, _ := base64.StdEncoding.DecodeString(sealed[3:])
			if len(tt.plain) > 3 && bytes.Contains(raw, tt.plain) {
				t.Fatal("sealed bytes contain the plaintext")
			}
			again, _ := v.Seal(tt.plain, tt.aad)
			if again == sealed {
				t.Error("two seals of the same value are identical (nonce reuse)")
			}
			got, err := v.Open(sealed, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.plain) {
				t.Fatalf("Open = %q, want %q", got, tt.plain)
			}
			// A second Open of the same key file opens it too.
			v2, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := v2.Open(sealed, tt.aad); err != nil || !bytes.Equal(got, tt.plain) {
				t.Fatalf("reopened vault: %q, %v", got, err)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	v, _ := newVault(t)
	other, _ := newVault(t)
	const secret = "hunter2-very-secret"
	sealed, err := v.Seal([]byte(secret), "connector/a/password")
	if err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		raw, _ := base64.StdEncoding.DecodeString(s[3:])
		raw[i%len(raw)] ^= 0x01
		return "v1:" + base64.StdEncoding.EncodeToString(raw)
	}
	tests := []struct {
		name    string
		vault   *Vault
		sealed  string
		aad     string
		errOpen bool
	}{
		{"wrong aad", v, sealed, "connector/b/password", true},
		{"wrong field", v, sealed, "connector/a/clientSecret", true},
		{"wrong key", other, sealed, "connector/a/password", true},
		{"tampered nonce", v, flip(sealed, 0), "connector/a/password", true},
		{"tampered ciphertext", v, flip(sealed, 14), "connector/a/password", true},
		{"tampered tag", v, flip(sealed, -1+len(sealed)), "connector/a/password", true},
		{"truncated", v, sealed[:20], "connector/a/password", true},
		{"not base64", v, "v1:!!!", "connector/a/password", true},
		{"no prefix", v, sealed[3:], "connector/a/password", false},
		{"plaintext", v, secret, "connector/a/password", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.vault.Open(tt.sealed, tt.aad)
			if err == nil {
				t.Fatalf("Open succeeded: %q", got)
			}
			if tt.errOpen && !errors.Is(err, ErrOpen) {
				t.Errorf("error %v is not ErrOpen", err)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q leaks the plaintext", err)
			}
		})
	}
}

func TestKeyFile(t *testing.T) {
	_, path := newVault(t)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Errorf("key file mode %o size %d", fi.Mode().Perm(), fi.Size())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("key dir mode %o", di.Mode().Perm())
	}
	key, _ := os.ReadFile(path)

	tests := []struct {
		name  string
		setup func(p string) error
		want  string
	}{
		{"group readable", func(p string) error {
			if err := os.WriteFile(p, key, 0o600); err != nil {
				return err
			}
			return os.Chmod(p, 0o640)
		}, "permissions"},
		{"world readable", func(p string) error {
			if err := os.WriteFile(p, key, 0o600); err != nil {
				return err
			}
			return os.Chmod(p, 0o604)
		}, "permissions"},
		{"too short", func(p string) error { return os.WriteFile(p, key[:16], 0o600) }, "16 bytes"},
		{"too long", func(p string) error { return os.WriteFile(p, append(key, '\n'), 0o600) }, "33 bytes"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "regular"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "key")
			if err := tt.setup(p); err != nil {
				t.Fatal(err)
			}
			_, err := Open(p)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name the path and %q", err, tt.want)
			}
			if strings.Contains(err.Error(), string(key)) {
				t.Error("error leaks the key")
			}
		})
	}
}

func TestConcurrentCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key")
	var wg sync.WaitGroup
	vaults := make([]*Vault, 8)
	for i := range vaults {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := Open(path)
			if err != nil {
				t.Error(err)
				return
			}
			vaults[i] = v
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	sealed, _ := vaults[0].Seal([]byte("x"), "a")
	for i, v := range vaults {
		if _, err := v.Open(sealed, "a"); err != nil {
			t.Errorf("vault %d uses another key: %v", i, err)
		}
	}
}
